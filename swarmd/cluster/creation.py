"""
Containers being created: placement by the scheduler, the create on the
chosen engine, the pending entries holding a name and resources until the
engine's cache has the container, and creates whose outcome is unknown
until they are reconciled.
"""

import os
from typing import Any

import attr
from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from swarmd._log import SCHEDULE, SCHEDULE_FAILED, observer
from swarmd.cluster.containers import SWARM_ID_LABEL
from swarmd.cluster.engine import Engine
from swarmd.cluster.errors import ClusterError, CreateOutcomeUnknown, is_missing_image
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.scheduler import SchedulerError


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


class Creations:
    """
    The creates of one L{swarmd.cluster.Cluster}.

    @ivar pending: C{dict} of Swarm ID to the L{PendingContainer} of each
        container being created.
    @ivar create_retry: how often a failed create is retried elsewhere.
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster, clock, create_retry=0):
        """
        @param cluster: the cluster whose engines, nodes and names the
            creates use.
        """
        self._cluster = cluster
        self._clock = clock
        self.create_retry = create_retry
        self.pending = {}
        # Swarm ID -> the DelayedCall of the follow-up that settles a
        # pending entry whose container was created but not inspected.
        self._settling = {}
        # Swarm ID -> (engine, name, DelayedCall or None) of the creates
        # whose outcome is unknown, until reconciled.
        self._unknown: dict[Any, tuple[Engine, Any, Any]] = {}

    def stop(self):
        """
        Cancel every follow-up and reconciliation.
        """
        for call in self._settling.values():
            if call.active():
                call.cancel()
        self._settling.clear()
        for _, _, call in self._unknown.values():
            if call is not None and call.active():
                call.cancel()
        self._unknown.clear()

    def engine_left(self, engine):
        """
        Forget the pending creations on an engine that left the cluster.
        """
        for swarm_id, pending in list(self.pending.items()):
            if pending.engine is engine:
                self.drop(swarm_id, engine)

    @inlineCallbacks
    def create(self, config, auth=None, avoid=()):
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
            self._cluster.check_name(config.name)
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
                and image and self._cluster.has_image(image)):
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
            self._cluster.check_name(name)
        swarm_id = config.body.get("Labels", {}).get(SWARM_ID_LABEL) or new_swarm_id()
        config.body.setdefault("Labels", {})[SWARM_ID_LABEL] = swarm_id
        if swarm_id in self.pending:
            raise ClusterError("a container with Swarm ID %s is being created" % (swarm_id,),
                               409)
        try:
            nodes = self._cluster.nodes()
            # Where its volumes are counts every node, failed ones too.
            located = (placement or config).locate_volumes(nodes)
            if failed:
                nodes = [n for n in nodes if n.addr not in failed]
            decision = self._cluster.scheduler.decide(located, nodes)
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
        engine = self._cluster.engines.get(node.addr)
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
            self.drop(swarm_id, engine)
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
            self.drop(swarm_id, engine)
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

    def drop(self, swarm_id, engine):
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
        container (L{Cluster.container_changed}), when a completed refresh did not
        find it, or when the engine leaves the cluster.
        """
        if swarm_id not in self.pending or swarm_id in self._settling:
            return
        self._settling[swarm_id] = self._clock.callLater(
            self._cluster.options.refresh_min, self._settle, swarm_id, engine)

    def _settle(self, swarm_id: Any, engine: Engine) -> Any:
        del self._settling[swarm_id]
        entry = self.pending.get(swarm_id)
        if entry is None or entry.engine is not engine:
            return None
        if self._cluster.engines.get(engine.address) is not engine:
            self.drop(swarm_id, engine)
            return None
        if not engine.healthy:
            self._settle_later(swarm_id, engine)
            return None

        def refreshed(_):
            # A complete listing after the create that did not cache it:
            # the container is gone from the engine.
            self.drop(swarm_id, engine)

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
            self._cluster.options.ping_timeout, self._reconcile_soon, swarm_id))

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
        if self._cluster.engines.get(engine.address) is not engine:
            del self._unknown[swarm_id]
            self.drop(swarm_id, engine)
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
            self.drop(swarm_id, engine)
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
            self.drop(swarm_id, engine)
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
            self.drop(swarm_id, engine)
        self._log.warn("create of {name} on {engine} had happened ({id}); adopted it: the "
                       "name is taken", name=label, engine=engine.name, id=container_id)
        return "adopted"

    def _rival(self, swarm_id, name, engine, container_id):
        """
        Another container of the cluster with this Swarm ID, or holding
        this name.

        @return: a description of it, or L{None}.
        """
        for container in self._cluster.containers:
            if container.id == container_id:
                continue
            if container.swarm_id == swarm_id:
                return "container %s on %s" % (container.id[:12], container.engine.name)
            if name and container.name == name:
                return "container %s on %s" % (container.id[:12], container.engine.name)
        return None


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
