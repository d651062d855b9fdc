"""
L{Cluster}: the engines discovery names, their cached containers, the
pending creations and the event hub the API streams from.
"""

import collections
import random as _random
import re
from typing import Any

from twisted.internet.defer import DeferredSemaphore
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import (
    DISCOVERY_CHANGE,
    DISCOVERY_ERROR,
    ENGINE_STATE,
    observer,
)
from swarmd.cluster._listing_warmer import ListingWarmer
from swarmd.cluster.containers import Container
from swarmd.cluster.creation import Creations, PendingContainer, normalize_name
from swarmd.cluster.engine import Engine, EngineListener, EngineOptions
from swarmd.cluster.errors import ClusterError
from swarmd.cluster.index import ContainerIndex
from swarmd.metrics import ClusterObserver
from swarmd.references import image_matches
from swarmd.scheduler import Node

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

#: Seconds between two updates of the node views in the background (see
#: Cluster._fresh_views).
VIEWS_INTERVAL = 2.0


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
        self._random = random or _random.Random()
        self.engines = {}
        self.containers = ContainerIndex()
        #: The containers being created (L{Creations}).
        self.creations = Creations(self, clock, create_retry)
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
        # IDs of cached containers kept out of the index: stale copies of
        # rescheduled containers (see supersede).
        self._superseded = set()
        # Called with an engine's address when it changes: see watch_views.
        self._view_watchers: list = []
        # Address -> engine, of the engines with calls under way: the ones
        # _watch_engines looks at (see engine_busy).
        self._busy: dict = {}
        self._watcher = LoopingCall(self._watch_engines)
        self._watcher.clock = clock
        self._viewer = LoopingCall(self._fresh_views)
        self._viewer.clock = clock
        #: Makes the list entries of containers as they come (see
        #: L{swarmd.cluster._listing_warmer}).
        self._warmer = ListingWarmer(clock)
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
        if not self._viewer.running:
            self._viewer.start(VIEWS_INTERVAL, now=False)

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
        if self._viewer.running:
            self._viewer.stop()
        self._warmer.stop()
        self.creations.stop()
        closing = [self._remove_engine(address) for address in list(self.engines)]
        return DeferredList([d for d in closing if d is not None], consumeErrors=True)

    def _watch_engines(self):
        """
        Look for hung engines (L{Engine.watch}) among those with calls under
        way (they said so: L{engine_busy}), and stop watching those that
        have none left; one engine's error never stops the loop.

        Looking at every engine instead, 2.5 times a second, took 4 ms a
        time at 5,000 engines, and up to 20 ms with cold caches.
        """
        busy = self._busy
        for address, engine in list(busy.items()):
            if address not in self.engines or self.engines[address] is not engine:
                # It left (or another took its address).
                del busy[address]
                continue
            try:
                watched = engine.watch()
            except Exception:
                self._log.failure("watching engine {address} failed", address=address)
                continue
            if not watched and busy.get(address) is engine:
                del busy[address]

    def engine_busy(self, engine):
        address = engine.address
        if self.engines.get(address) is engine:
            self._busy[address] = engine

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
        self._view_changed(address)
        return engine.start()

    def _remove_engine(self, address):
        engine = self.engines.pop(address, None)
        self._views.pop(address, None)
        self._busy.pop(address, None)
        self._node_list = None
        if engine is None:
            return None
        self._view_changed(address)
        engine.stop()
        for container in list(engine.containers.values()):
            self.containers.replace(container, None)
        self.creations.engine_left(engine)
        return engine.api.close()

    @property
    def pending(self):
        """
        C{dict} of Swarm ID to the L{PendingContainer} of each container
        being created.
        """
        return self.creations.pending

    @property
    def create_retry(self):
        """
        How often a failed create is retried elsewhere.
        """
        return self.creations.create_retry

    @create_retry.setter
    def create_retry(self, value):
        self.creations.create_retry = value

    def create_container(self, config, auth=None, avoid=()):
        """
        Place and create a container: L{Creations.create}.
        """
        return self.creations.create(config, auth, avoid)

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
        if new is not None:
            self._warmer.add(new)
            if new.swarm_id:
                self.creations.drop(new.swarm_id, engine)

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

    def watch_views(self, changed):
        """
        Have C{changed} called with an engine's address each time what the
        cluster knows of it may have changed (its containers, lists, state,
        health), and when it joins or leaves: so a watcher can look again
        at what changed alone instead of at every engine.

        @param changed: a callable taking the address.
        """
        self._view_watchers.append(changed)

    def _view_changed(self, address):
        for changed in self._view_watchers:
            changed(address)

    def engine_view_changed(self, engine):
        self._changed.add(engine.address)
        self._view_changed(engine.address)

    def nodes(self):
        """
        The scheduler's view of every engine, pending creations included.

        One view per engine is kept between decisions and rebuilt only when
        the engine's state changed (its C{revision}); a health change or a
        pending container only makes a cheap copy.  Engines tell the cluster
        when they change, so only those are looked at again.

        @return: a new C{list} of L{swarmd.scheduler.Node}, in engine order.
        """
        nodes = list(self._fresh_views())
        if self.pending:
            positions = self._positions
            for entry in self.pending.values():
                position = positions.get(entry.engine.address)
                if position is not None:
                    nodes[position] = nodes[position].with_container(entry.info)
        return nodes

    def _fresh_views(self):
        """
        The kept list of node views, those of the engines that changed since
        made again.  Also run every L{VIEWS_INTERVAL} seconds, so the views
        are ready before a create needs them: at 5,000 engines the first
        create after a start built every view (5,000 nodes, 150,000
        containers), and the next full collection walked them all (94-122
        ms), two of a run's slowest creates.

        @return: the kept C{list}, which the caller must not change.
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
        return node_list

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
