"""
L{Cluster}: the engines discovery names, their cached containers, the
pending creations and the event hub the API streams from.
"""

import collections
import os
import random as _random
import re
from typing import Any

import attr
from twisted.internet.defer import DeferredSemaphore, inlineCallbacks
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import (
    DISCOVERY_CHANGE,
    DISCOVERY_ERROR,
    ENGINE_STATE,
    SCHEDULE,
    SCHEDULE_FAILED,
    observer,
)
from swarmd.cluster.containers import SWARM_ID_LABEL, Container
from swarmd.cluster.engine import Engine, EngineListener, EngineOptions
from swarmd.cluster.errors import ClusterError, CreateOutcomeUnknown, is_missing_image
from swarmd.cluster.index import ContainerIndex
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.metrics import ClusterObserver
from swarmd.references import image_matches
from swarmd.scheduler import Node, SchedulerError

#: A container name as Docker accepts it.
VALID_NAME = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+\Z")

#: How many recent events the hub keeps for C{since} replays.
EVENT_BUFFER = 4096

#: How many engines connect or refresh at once.
BOOKKEEPING_CONCURRENCY = 48

#: How many exec instances the manager remembers the engine of.
MAX_EXECS = 10000

#: Engines are watched for hangs this many times per ping timeout.
WATCHES_PER_PING_TIMEOUT = 5


@attr.s(eq=False)
class PendingContainer:
    """
    A container being created: it holds its name, resources and ports on its
    engine until the engine's cache has it.  Once the engine created it,
    C{info["Id"]} is its ID; a failed inspect then keeps the entry until a
    later refresh caches the container, completes without finding it, or
    the engine leaves.  A create whose outcome is unknown (C{unknown})
    keeps its entry until it is reconciled.
    """

    swarm_id = attr.ib()
    name = attr.ib()
    engine = attr.ib()
    info = attr.ib()
    unknown = attr.ib(default=False)


def _pending_info(swarm_id, name, body):
    """
    The inspect-like view of a container being created, for the scheduler.
    """
    config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
    return {
        "Id": "",
        "Name": "/" + name if name else "",
        "Image": "",
        "Config": config,
        "HostConfig": body.get("HostConfig") or {},
        "State": {"Status": "created", "Running": False},
        "NetworkSettings": {"Ports": {}},
        "_pending": swarm_id,
    }


def normalize_name(name):
    """
    A container name as the cluster keeps it: without the one leading C{/}
    Docker allows (C{"/web"} and C{"web"} are the same name).

    @param name: a requested name, or L{None}.
    @return: C{name} without its leading C{/} (L{None} stays L{None}).
    """
    if name and name.startswith("/"):
        return name[1:]
    return name


def new_swarm_id():
    """
    @return: a random 64-hex-digit Swarm ID.
    """
    return os.urandom(32).hex()


class Cluster(EngineListener):
    """
    The cluster of engines.

    @ivar engines: C{dict} of discovery address to L{Engine}.
    @ivar containers: the L{ContainerIndex} of every cached container.
    """

    _log = Logger(observer=observer)

    def __init__(self, clock, discovery, client_factory, scheduler, options=EngineOptions(),
                 create_retry=0, random=None):
        """
        @param clock: the reactor (time and scheduling).
        @param discovery: the L{swarmd.discovery.IDiscovery} naming engines.
        @param client_factory: called with an address, returns an
            L{swarmd.engine.IEngineClient}.
        @param scheduler: the L{swarmd.scheduler.Scheduler} placing containers.
        @param options: the L{EngineOptions} of every engine.
        @param create_retry: how often a failed create is retried elsewhere.
        """
        self._clock = clock
        self._discovery = discovery
        self._client_factory = client_factory
        self.scheduler = scheduler
        self.options = options
        self.create_retry = create_retry
        self._random = random or _random.Random()
        self.engines = {}
        self.containers = ContainerIndex()
        self.pending = {}
        self._subscribers = []
        self.recent_events: collections.deque[Any] = collections.deque(maxlen=EVENT_BUFFER)
        self._watch = None
        self._discovery_failure = None
        self._views = {}
        # The views of the engines that have an ID, in engine order, and the
        # position of each engine's view (None: rebuild both); the engines
        # that changed since.
        self._node_list = None
        self._positions = {}
        self._changed = set()
        self._reserved_names: collections.Counter[Any] = collections.Counter()
        self._bookkeeping = DeferredSemaphore(BOOKKEEPING_CONCURRENCY)
        self._execs = collections.OrderedDict()
        # Swarm ID -> the DelayedCall of the follow-up that settles a
        # pending entry whose container was created but not inspected.
        self._settling = {}
        # Swarm ID -> (engine, name, DelayedCall or None) of the creates
        # whose outcome is unknown, until reconciled.
        self._unknown: dict[Any, tuple[Engine, Any, Any]] = {}
        # IDs of cached containers kept out of the index: stale copies of
        # rescheduled containers (see supersede).
        self._superseded = set()
        self._watcher = LoopingCall(self._watch_engines)
        self._watcher.clock = clock
        #: Told of engine errors and refreshes, discovery errors and
        #: events (L{swarmd.metrics.ManagerMetrics.attach} sets it).
        self.metrics = ClusterObserver()

    # -- engines ------------------------------------------------------------------

    def start(self):
        """
        Start watching discovery; engines are added as it names them.
        """
        self._watch = self._discovery.watch(self.set_addresses, self._discovery_failed)
        if not self._watcher.running:
            self._watcher.start(self.options.ping_timeout / WATCHES_PER_PING_TIMEOUT,
                                now=False)

    def stop(self):
        """
        Stop watching and drop every engine.

        @return: a L{Deferred} firing once the engines' connections closed.
        """
        from twisted.internet.defer import DeferredList

        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        if self._watcher.running:
            self._watcher.stop()
        for call in self._settling.values():
            if call.active():
                call.cancel()
        self._settling.clear()
        for _, _, call in self._unknown.values():
            if call is not None and call.active():
                call.cancel()
        self._unknown.clear()
        closing = [self._remove_engine(address) for address in list(self.engines)]
        return DeferredList([d for d in closing if d is not None], consumeErrors=True)

    def _watch_engines(self):
        """
        Look for hung engines (L{Engine.watch}); one engine's error never
        stops the loop.
        """
        for engine in list(self.engines.values()):
            try:
                engine.watch()
            except Exception:
                self._log.failure("watching engine {address} failed", address=engine.address)

    def _discovery_failed(self, failure):
        self.metrics.discovery_failed(failure)
        self._discovery_failure = failure.getErrorMessage() or failure.type.__name__
        self._log.warn(
            "discovery failed: {error}; keeping the {count} known engines until it answers",
            error=self._discovery_failure, count=len(self.engines),
            swarmd_event=DISCOVERY_ERROR)

    @property
    def discovery_error(self):
        """
        The message of the discovery's failure while its source cannot be
        read (the cluster keeps its engines meanwhile), else L{None}.
        """
        if self._discovery_failure is None or self._watch is None:
            return None
        if not getattr(self._watch, "failing", True):
            return None
        return self._discovery_failure

    def set_addresses(self, addresses):
        """
        Make the engine set match C{addresses}: start new engines, stop gone
        ones.
        """
        self._discovery_failure = None
        wanted = list(dict.fromkeys(addresses))
        for address in list(self.engines):
            if address not in wanted:
                self._log.info("engine {address} left discovery", address=address,
                               change="left", swarmd_event=DISCOVERY_CHANGE)
                self._remove_engine(address)
        for address in wanted:
            if address not in self.engines:
                self._log.info("engine {address} joined discovery", address=address,
                               change="joined", swarmd_event=DISCOVERY_CHANGE)
                self._add_engine(address)

    def _add_engine(self, address):
        try:
            client = self._client_factory(address)
        except ValueError as e:
            self._log.error("ignoring engine address {address}: {error}",
                            address=address, error=str(e))
            return None
        engine = Engine(client, self._clock, self.options, listener=self,
                        random=_random.Random(self._random.random()),
                        limiter=self._bookkeeping)
        self.engines[address] = engine
        self._node_list = None
        return engine.start()

    def _remove_engine(self, address):
        engine = self.engines.pop(address, None)
        self._views.pop(address, None)
        self._node_list = None
        if engine is None:
            return None
        engine.stop()
        for container in list(engine.containers.values()):
            self.containers.replace(container, None)
        for swarm_id, pending in list(self.pending.items()):
            if pending.engine is engine:
                self._drop_pending(swarm_id, engine)
        return engine.api.close()

    def engine(self, reference):
        """
        Find an engine by name, ID or address.

        @return: the L{Engine} or L{None}.
        """
        for engine in self.engines.values():
            if reference in (engine.name, engine.id, engine.address):
                return engine
        return None

    def healthy_engines(self):
        return [e for e in self.engines.values() if e.healthy]

    # -- EngineListener -------------------------------------------------------------

    def container_changed(self, engine, old, new):
        if engine is not self.engines.get(engine.address):
            return
        if new is None:
            if old is not None:
                self._superseded.discard(old.id)
        elif new.id in self._superseded:
            # A stale copy stays out of the index whatever its engine says.
            self.containers.replace(old, None)
            return
        self.containers.replace(old, new)
        if new is not None and new.swarm_id:
            self._drop_pending(new.swarm_id, engine)

    def engine_state_changed(self, engine, old, new):
        self._log.info("engine {address} ({engine}) {old} -> {new}", address=engine.address,
                       engine=engine.name, old=old, new=new, swarmd_event=ENGINE_STATE)

    def engine_event(self, engine, event):
        self.publish_event(self.decorate_event(engine, event))

    def engine_failed(self, engine, error):
        self.metrics.engine_failed(engine, error)

    def engine_refreshed(self, engine, seconds, ok):
        self.metrics.engine_refreshed(engine, seconds, ok)

    def publish_event(self, event):
        """
        Send one event to every C{/events} subscriber and keep it for
        C{since} replays: an engine's (decorated) or the manager's own.
        """
        self.recent_events.append(event)
        self.metrics.event_published(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:
                self._log.failure("event subscriber failed")

    @staticmethod
    def decorate_event(engine, event):
        """
        Add the node's name, ID, address and IP to an engine event, as
        classic Swarm does (C{Actor.Attributes["node.*"]} and C{node}).

        @return: a new C{dict}.
        """
        event = dict(event)
        actor = dict(event.get("Actor") or {})
        attributes = dict(actor.get("Attributes") or {})
        attributes.update({
            "node.name": engine.name,
            "node.id": engine.id,
            "node.addr": engine.address,
            "node.ip": engine.ip,
        })
        actor["Attributes"] = attributes
        event["Actor"] = actor
        event["node"] = {"Name": engine.name, "Id": engine.id, "Addr": engine.address,
                         "Ip": engine.ip}
        return event

    def subscribe(self, callback):
        """
        Call C{callback(event)} for every event from now on.

        @return: a no-argument callable that unsubscribes.
        """
        self._subscribers.append(callback)

        def unsubscribe():
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # -- containers -------------------------------------------------------------------

    def container(self, reference):
        """
        Find a cached container (see L{ContainerIndex.lookup}).

        @return: the L{Container}, or L{None}.
        """
        return self.containers.lookup(reference)

    def name_owner(self, name):
        """
        The container or pending creation holding C{name}, cluster-wide.

        @param name: a container name, with or without its leading C{/}.
        @return: a L{Container}, a L{PendingContainer}, or L{None}.
        """
        name = normalize_name(name)
        for container in self.containers.named(name):
            return container
        for pending in self.pending.values():
            if pending.name and normalize_name(pending.name) == name:
                return pending
        if self._reserved_names[name]:
            return PendingContainer("(being renamed)", name, None, {})
        return None

    def reserve_name(self, name):
        """
        Hold a name while a rename is under way, so no create takes it.

        @param name: the new name, with or without its leading C{/}.
        @return: a no-argument callable that releases it.
        """
        name = normalize_name(name)
        self._reserved_names[name] += 1

        def release():
            self._reserved_names[name] -= 1
            if self._reserved_names[name] <= 0:
                del self._reserved_names[name]

        return release

    def remember_exec(self, exec_id, engine):
        """
        Note which engine an exec instance lives on (its start, resize and
        inspect go there).
        """
        self._execs[exec_id] = engine.address
        self._execs.move_to_end(exec_id)
        while len(self._execs) > MAX_EXECS:
            self._execs.popitem(last=False)

    def exec_engine(self, exec_id):
        """
        @return: the L{Engine} an exec instance lives on, or L{None}.
        """
        address = self._execs.get(exec_id)
        if address is not None and address in self.engines:
            return self.engines[address]
        for container in self.containers:
            if exec_id in (container.info.get("ExecIDs") or ()):
                return container.engine
        return None

    def supersede(self, container):
        """
        Keep a container out of the index (lookups, names, listings) while
        its engine still caches it: the stale copy of a rescheduled
        container, until it is removed.
        """
        self._superseded.add(container.id)
        self.containers.replace(container, None)

    def restore(self, container):
        """
        Undo L{supersede}: the container is indexed again if its engine
        still caches it.
        """
        self._superseded.discard(container.id)
        engine = self.engines.get(container.engine.address)
        current = engine.containers.get(container.id) if engine is not None else None
        if current is not None:
            self.containers.replace(current, current)

    def superseded(self, container):
        """
        @return: whether L{supersede} keeps C{container} out of the index.
        """
        return container.id in self._superseded

    def check_name(self, name):
        """
        Check a requested name: valid as Docker has it, and free cluster-wide
        (C{"/web"} and C{"web"} are one name).

        @param name: the name as requested, with or without its leading C{/}.
        @raise ClusterError: 400 for an invalid name, 409 when it is taken.
        """
        if not VALID_NAME.match(name):
            raise ClusterError(
                "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                % (name,), 400)
        owner = self.name_owner(name)
        if owner is not None:
            owner_id = owner.id if isinstance(owner, Container) else owner.swarm_id
            raise ClusterError(
                'Conflict. The container name "/%s" is already in use by container "%s". '
                "You have to remove (or rename) that container to be able to reuse that name."
                % (normalize_name(name), owner_id), 409)

    def engine_view_changed(self, engine):
        self._changed.add(engine.address)

    def nodes(self):
        """
        The scheduler's view of every engine, pending creations included.

        One view per engine is kept between decisions and rebuilt only when
        the engine's state changed (its C{revision}); a health change or a
        pending container only makes a cheap copy.  Engines tell the cluster
        when they change, so only those are looked at again.

        @return: a new C{list} of L{swarmd.scheduler.Node}, in engine order.
        """
        node_list = self._node_list
        if node_list is not None and self._changed:
            positions = self._positions
            for address in self._changed:
                engine = self.engines.get(address)
                position = positions.get(address)
                if engine is None:
                    continue
                if position is None:
                    if engine.id:
                        # Newly connected: it joins the list.
                        node_list = None
                        break
                    continue
                node_list[position] = self._view(engine, self._views.get(address))
        if node_list is None:
            node_list, positions = [], {}
            for address, engine in self.engines.items():
                if engine.id:
                    positions[address] = len(node_list)
                    node_list.append(self._view(engine, self._views.get(address)))
            self._node_list, self._positions = node_list, positions
        self._changed.clear()
        nodes = list(node_list)
        if self.pending:
            positions = self._positions
            for entry in self.pending.values():
                position = positions.get(entry.engine.address)
                if position is not None:
                    nodes[position] = nodes[position].with_container(entry.info)
        return nodes

    def _view(self, engine, cached):
        """
        Build (or, after a health change alone, copy) the view of an engine
        and keep it with what it depends on: C{(revision, state, failures,
        healthy, view)}.  A L{stalled<Engine.stalled>} engine is shown
        unhealthy, so nothing new is placed on it.
        """
        healthy = engine.healthy and not engine.stalled
        key = (engine.revision, engine.state, engine.failures, healthy)
        if cached is not None and cached[:4] == key:
            return cached[4]
        if cached is not None and cached[0] == engine.revision:
            view = cached[4].evolve(healthy=healthy,
                                    health_indicator=engine.health_indicator)
        else:
            view = Node(
                id=engine.id, name=engine.name, addr=engine.address, ip=engine.ip,
                labels=engine.labels, total_cpus=engine.total_cpus,
                total_memory=engine.total_memory, cpus=engine.cpus,
                containers=[c.info for c in engine.containers.values()],
                images=engine.images, healthy=healthy,
                health_indicator=engine.health_indicator,
                volumes=local_volume_names(engine.volumes))
        self._views[engine.address] = key + (view,)
        return view

    def has_image(self, reference):
        """
        @return: whether any engine holds an image matching C{reference}.
        """
        return any(image_matches(image, reference)
                   for engine in self.engines.values() for image in engine.images)

    @inlineCallbacks
    def create_container(self, config, auth=None, avoid=()):
        """
        Place and create a container.

        When the image is missing where the container was placed and cannot
        be pulled there, it is placed again next to the image (an
        C{image==} affinity) if some node has it.  Engine failures are
        retried up to C{create_retry} times, each time on a node that has
        not failed this create yet.

        @param config: the parsed L{swarmd.scheduler.ContainerConfig}.
        @param auth: the client's C{X-Registry-Auth} header, or L{None}.
        @param avoid: addresses of engines the container must not go to.
        @return: a L{Deferred} firing with C{(engine, create_answer)}.
        @raise ClusterError: 400/409 for a bad or taken name, 500 when no node
            fits; L{EngineError} or L{EngineUnreachable} from the engine.
        """
        if config.name:
            # Validate the name as given, then keep it in one form: "/web"
            # and "web" are one name for every check and pending entry.
            self.check_name(config.name)
            if normalize_name(config.name) != config.name:
                config = attr.evolve(config, name=normalize_name(config.name))
        failed = set(avoid)
        try:
            result = yield self._create_once(config, auth, failed=failed)
            return result
        except (EngineError, EngineUnreachable, ClusterError) as first:
            error = first
        retries = 0
        image = config.body.get("Image") or ""
        if (is_missing_image(error) and not config.has_node_constraint
                and image and self.has_image(image)):
            self._log.info("image {image} missing where scheduled; placing it where it is",
                           image=image)
            retries += 1
            try:
                result = yield self._create_once(
                    config, auth, placement=config.add_affinity("image==" + image),
                    failed=set(avoid))
                return result
            except (EngineError, EngineUnreachable, ClusterError) as e:
                error = e
        while retries < self.create_retry and _retryable(error):
            retries += 1
            self._log.warn("failed to create container: {error}, retrying", error=str(error))
            try:
                result = yield self._create_once(config, auth, failed=failed)
                return result
            except (EngineError, EngineUnreachable, ClusterError) as e:
                error = e
        raise error

    @inlineCallbacks
    def _create_once(self, config, auth, placement=None, failed=None):
        """
        One placement and create.

        @param placement: the config to place by, when it differs from the
            one created (an extra image affinity that the container must not
            keep in its labels).
        @param failed: addresses of engines that failed this create before
            (not used again); an engine failing now is added.
        """
        name = config.name
        if name:
            self.check_name(name)
        swarm_id = config.body.get("Labels", {}).get(SWARM_ID_LABEL) or new_swarm_id()
        config.body.setdefault("Labels", {})[SWARM_ID_LABEL] = swarm_id
        if swarm_id in self.pending:
            raise ClusterError("a container with Swarm ID %s is being created" % (swarm_id,),
                               409)
        try:
            nodes = self.nodes()
            # Where its volumes are counts every node, failed ones too.
            located = (placement or config).locate_volumes(nodes)
            if failed:
                nodes = [n for n in nodes if n.addr not in failed]
            decision = self.scheduler.decide(located, nodes)
        except SchedulerError as e:
            self._log_refusal(name, swarm_id, e)
            raise ClusterError(str(e), 500) from None
        node = decision.nodes[0]
        self._log.info("scheduled {container} on {node}: {left} of {candidates} nodes fit "
                       "({filters})", container=name or swarm_id, swarm_id=swarm_id,
                       node=node.name, address=node.addr, candidates=decision.candidates,
                       left=len(decision.nodes), filters=_removed_text(decision.removed),
                       removed=[list(pair) for pair in decision.removed],
                       soft_dropped=decision.soft_dropped, swarmd_event=SCHEDULE)
        engine = self.engines.get(node.addr)
        if engine is None:
            raise ClusterError("error creating container: node %s left" % (node.name,))
        body = config.engine_body(engine.cpus)
        entry = self.pending[swarm_id] = PendingContainer(
            swarm_id, name, engine, _pending_info(swarm_id, name, body))
        try:
            answer = yield engine.create_container(body, name, auth)
        except CreateOutcomeUnknown:
            # The entry keeps holding the name and resources until the
            # engine says whether the container exists.
            entry.unknown = True
            if failed is not None:
                failed.add(engine.address)
            self._track_unknown(swarm_id, engine, name)
            raise
        except Exception as e:
            self._drop_pending(swarm_id, engine)
            if isinstance(e, EngineUnreachable) and failed is not None:
                failed.add(engine.address)
            elif (isinstance(e, EngineError) and failed is not None and e.status >= 500
                  and not is_missing_image(e)):
                failed.add(engine.address)
            raise
        # The container exists on the engine: its entry keeps holding the
        # name, resources and ports until the engine's cache has it.
        entry.info["Id"] = answer["Id"]
        try:
            yield engine.refresh_container(answer["Id"])
        except Exception as e:
            self._log.warn("created {id} on {engine} but cannot inspect it yet: {error}",
                           id=answer["Id"], engine=engine.name, error=str(e))
            self._settle_later(swarm_id, engine)
            if not isinstance(e, (EngineError, EngineUnreachable)):
                raise
        else:
            # Cached (container_changed dropped the entry), or already gone.
            self._drop_pending(swarm_id, engine)
        return engine, answer

    def _log_refusal(self, name, swarm_id, error):
        """
        Log that no node could take a container, and which filter removed
        how many nodes (when the scheduler said).
        """
        decision = error.decision
        self._log.warn("cannot schedule {container}: {error} ({filters}, of {candidates} "
                       "nodes)", container=name or swarm_id, swarm_id=swarm_id,
                       error=str(error),
                       candidates=decision.candidates if decision else None,
                       filters=_removed_text(decision.removed) if decision else "",
                       removed=[list(p) for p in decision.removed] if decision else [],
                       soft_dropped=decision.soft_dropped if decision else False,
                       swarmd_event=SCHEDULE_FAILED)

    def _drop_pending(self, swarm_id, engine):
        """
        Forget a pending creation on C{engine} (and its follow-up, if any).
        """
        entry = self.pending.get(swarm_id)
        if entry is None or entry.engine is not engine:
            return
        del self.pending[swarm_id]
        call = self._settling.pop(swarm_id, None)
        if call is not None and call.active():
            call.cancel()

    def _settle_later(self, swarm_id, engine):
        """
        A container was created but its inspect failed: refresh the engine's
        containers after its refresh interval, and again until a refresh
        completes.  The pending entry goes when the cache holds the
        container (L{container_changed}), when a completed refresh did not
        find it, or when the engine leaves the cluster.
        """
        if swarm_id not in self.pending or swarm_id in self._settling:
            return
        self._settling[swarm_id] = self._clock.callLater(
            self.options.refresh_min, self._settle, swarm_id, engine)

    def _settle(self, swarm_id: Any, engine: Engine) -> Any:
        del self._settling[swarm_id]
        entry = self.pending.get(swarm_id)
        if entry is None or entry.engine is not engine:
            return None
        if self.engines.get(engine.address) is not engine:
            self._drop_pending(swarm_id, engine)
            return None
        if not engine.healthy:
            self._settle_later(swarm_id, engine)
            return None

        def refreshed(_):
            # A complete listing after the create that did not cache it:
            # the container is gone from the engine.
            self._drop_pending(swarm_id, engine)

        def failed(failure):
            failure.trap(EngineError, EngineUnreachable)
            self._log.info("refresh of {engine} failed ({error}); still holding the "
                           "resources of {id}", engine=engine.name,
                           error=failure.getErrorMessage(), id=entry.info["Id"])
            self._settle_later(swarm_id, engine)

        d = engine.refresh_containers()
        d.addCallbacks(refreshed, failed)
        d.addErrback(lambda f: self._log.failure("settling a pending container failed", f))
        return d

    # -- creates whose outcome is unknown ---------------------------------------------

    def _track_unknown(self, swarm_id, engine, name):
        self._log.warn("create of {name} on {engine} ({address}) got no answer: it may exist "
                       "there; reconciling once the engine answers", name=name or swarm_id,
                       engine=engine.name, address=engine.address)
        self._unknown[swarm_id] = (engine, name, None)
        self._reconcile_later(swarm_id)

    def _reconcile_later(self, swarm_id):
        engine, name, call = self._unknown[swarm_id]
        if call is not None and call.active():
            return
        self._unknown[swarm_id] = (engine, name, self._clock.callLater(
            self.options.ping_timeout, self._reconcile_soon, swarm_id))

    def _reconcile_soon(self, swarm_id):
        d = self.reconcile_unknown(swarm_id)
        d.addErrback(lambda f: self._log.failure("reconciling create {id} failed", f,
                                                 id=swarm_id))

    @inlineCallbacks
    def reconcile_unknown(self, swarm_id):
        """
        Settle a create whose outcome was unknown, once its engine answers:
        the container is looked for by its Swarm ID on the engine itself.
        Found, it is adopted (cached: its name is taken) unless another
        container of the cluster has its Swarm ID or its name, in which
        case it is removed; not found, its name and resources are let go.
        The log says which.  While the engine does not answer, it is tried
        again every ping timeout.

        @return: a L{Deferred} firing with C{"adopted"}, C{"removed"},
            C{"absent"}, C{"gone"} (the engine left), or L{None} (not yet).
        """
        entry = self._unknown.get(swarm_id)
        if entry is None:
            return None
        engine, name, call = entry
        if call is not None and call.active():
            call.cancel()
        self._unknown[swarm_id] = (engine, name, None)
        label = name or swarm_id
        if self.engines.get(engine.address) is not engine:
            del self._unknown[swarm_id]
            self._drop_pending(swarm_id, engine)
            self._log.info("create of {name} on {engine}: the engine left the cluster; "
                           "nothing to reconcile", name=label, engine=engine.name)
            return "gone"
        if not engine.healthy or engine.stalled:
            self._reconcile_later(swarm_id)
            return None
        try:
            found = yield engine.api.list_containers(
                all=True, filters={"label": ["%s=%s" % (SWARM_ID_LABEL, swarm_id)]})
        except (EngineError, EngineUnreachable) as e:
            self._log.info("cannot reconcile create of {name} on {engine} yet: {error}",
                           name=label, engine=engine.name, error=str(e))
            self._reconcile_later(swarm_id)
            return None
        if swarm_id not in self._unknown:
            return None
        found = [c for c in found or [] if (c.get("Labels") or {}).get(SWARM_ID_LABEL)
                 == swarm_id]
        if not found:
            del self._unknown[swarm_id]
            self._drop_pending(swarm_id, engine)
            self._log.info("create of {name} on {engine} had not happened: its name and "
                           "resources are free", name=label, engine=engine.name)
            return "absent"
        container_id = found[0]["Id"]
        rival = self._rival(swarm_id, name, engine, container_id)
        if rival is not None:
            try:
                yield engine.api.remove_container(container_id, force=True)
            except EngineError as e:
                if e.status != 404:
                    self._log.info("cannot remove orphan {id} on {engine} yet: {error}",
                                   id=container_id, engine=engine.name, error=str(e))
                    self._reconcile_later(swarm_id)
                    return None
            except EngineUnreachable as e:
                self._log.info("cannot remove orphan {id} on {engine} yet: {error}",
                               id=container_id, engine=engine.name, error=str(e))
                self._reconcile_later(swarm_id)
                return None
            del self._unknown[swarm_id]
            engine.forget_container(container_id)
            self._drop_pending(swarm_id, engine)
            self._log.warn("create of {name} on {engine} had happened ({id}); removed it: "
                           "{rival} holds its Swarm ID or name", name=label, engine=engine.name,
                           id=container_id, rival=rival)
            return "removed"
        del self._unknown[swarm_id]
        entry = self.pending.get(swarm_id)
        if entry is not None and entry.engine is engine:
            entry.info["Id"] = container_id
        try:
            yield engine.refresh_container(container_id)
        except (EngineError, EngineUnreachable):
            # The refresh loop caches it; the entry holds its name meanwhile.
            self._settle_later(swarm_id, engine)
        else:
            self._drop_pending(swarm_id, engine)
        self._log.warn("create of {name} on {engine} had happened ({id}); adopted it: the "
                       "name is taken", name=label, engine=engine.name, id=container_id)
        return "adopted"

    def _rival(self, swarm_id, name, engine, container_id):
        """
        Another container of the cluster with this Swarm ID, or holding
        this name.

        @return: a description of it, or L{None}.
        """
        for container in self.containers:
            if container.id == container_id:
                continue
            if container.swarm_id == swarm_id:
                return "container %s on %s" % (container.id[:12], container.engine.name)
            if name and container.name == name:
                return "container %s on %s" % (container.id[:12], container.engine.name)
        return None


def local_volume_names(volumes):
    """
    @param volumes: an engine's C{/volumes} list.
    @return: the C{frozenset} of the names of those that exist on that
        engine alone (C{Scope} C{local}; without a C{Scope}, the C{local}
        driver).
    """
    return frozenset(
        volume["Name"] for volume in volumes or ()
        if isinstance(volume, dict) and isinstance(volume.get("Name"), str)
        and (volume.get("Scope") or ("local" if (volume.get("Driver") or "local") == "local"
                                     else "global")) == "local")


def _removed_text(removed):
    """
    @param removed: C{(filter, count)} pairs of a
        L{swarmd.scheduler.scheduler.Decision}.
    @return: e.g. C{"health removed 1, constraint removed 2"}, or
        C{"no filter removed any"}.
    """
    words = ["%s removed %d" % (name, count) for name, count in removed if count]
    return ", ".join(words) or "no filter removed any"


def _retryable(error):
    if isinstance(error, CreateOutcomeUnknown):
        # Created elsewhere too, it could run twice.
        return False
    if isinstance(error, ClusterError):
        return error.status >= 500
    if isinstance(error, EngineError):
        return error.status >= 500
    return True
