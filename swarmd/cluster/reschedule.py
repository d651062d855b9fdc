"""
L{RescheduleWatchdog}: containers with the C{on-node-failure} reschedule
policy (C{-e reschedule:on-node-failure}, or the label
C{com.docker.swarm.reschedule-policies=["on-node-failure"]}) are created
again elsewhere when their node has been unhealthy for a grace period.

Classic Swarm's watchdog did it on the first C{engine_disconnect}, and
its users were bitten: a node that came back kept its copy next to the
new one, and a failed create lost the name.  Here:

  - a node must stay unhealthy for the grace period
    (C{--cluster-opt swarm.reschedule-grace}) first;
  - the new copy gets the same name, config, labels and Swarm ID
    (C{com.docker.swarm.id}) on a node the scheduler accepts that holds no
    copy of it, and is started if the old one was running;
  - the old copy is kept out of the cluster's index meanwhile (one
    C{docker ps} line, one owner of the name), and put back if the create
    fails, to be tried again on the next check;
  - the engines are the source of truth: a Swarm ID with a copy on a
    healthy engine other than the failed node's is never created again
    (a manager restarted after a rescheduling finds the new copy there),
    and when copies of one Swarm ID meet on healthy engines (the node came
    back) the newest one stays and the others are removed, never the new
    one.

The watchdog is a service: the manager that owns scheduling starts it (a
replica of a replicated manager would not).
"""

import json

from twisted.application.service import Service
from twisted.internet.defer import DeferredList, inlineCallbacks, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.cluster.engine import UNHEALTHY
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.scheduler import SWARM_ID_LABEL, ContainerConfig
from swarmd.scheduler.config import LABELS

#: The label holding a container's reschedule policies.
POLICY_LABEL = LABELS["reschedule"]

#: The policy the watchdog acts on.
ON_NODE_FAILURE = "on-node-failure"

#: The grace period, in refresh intervals (the longest), when none is given.
GRACE_REFRESH_INTERVALS = 3

#: Seconds at most between two tries of a rescheduling that keeps failing.
MAX_RETRY_DELAY = 60.0


def default_grace(refresh_max):
    """
    @param refresh_max: the engines' longest refresh interval, in seconds.
    @return: the default grace period: a few refresh intervals.
    """
    return GRACE_REFRESH_INTERVALS * refresh_max


def wants_rescheduling(container):
    """
    @return: whether C{container} has the C{on-node-failure} policy.
    """
    text = container.labels.get(POLICY_LABEL)
    if not text:
        return False
    try:
        policies = json.loads(text)
    except ValueError:
        return False
    return isinstance(policies, list) and ON_NODE_FAILURE in policies


def recreate_body(container):
    """
    The create body of a new copy of C{container}: its engine's C{Config}
    (labels, Swarm ID included) with its C{HostConfig}, CPU shares turned
    back into the CPUs the scheduler reserves.

    @return: a new C{dict}.
    """
    info = container.full_info()
    body = dict(info.get("Config") or {})
    host_config = dict(info.get("HostConfig") or {})
    shares = host_config.get("CpuShares") or 0
    cpus = container.engine.cpus
    host_config["CpuShares"] = shares * cpus // 1024 if shares and cpus else 0
    body["HostConfig"] = host_config
    return body


def _newest(copies):
    """
    The newest of the copies of one Swarm ID: reschedulings only ever make
    newer ones, so it is the last one made.
    """
    return max(copies, key=lambda c: (c.created, c.id))


class RescheduleWatchdog(Service):
    """
    Reschedules the containers of nodes that stay unhealthy, and removes
    their stale copies when the nodes come back.

    @ivar grace: seconds a node stays unhealthy before its containers are
        rescheduled.
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster, clock, grace, interval=None):
        """
        @param cluster: the L{swarmd.cluster.Cluster}.
        @param clock: the reactor (time and the check loop).
        @param grace: see L{grace}.
        @param interval: seconds between checks; by default a quarter of
            the grace period, between 0.5 and 5 s.
        """
        self.cluster = cluster
        self.grace = grace
        self._clock = clock
        self._interval = interval if interval is not None else max(0.5, min(grace / 4, 5.0))
        self._down_since = {}
        self._busy = set()
        # Swarm ID -> (clock time, delay) of the next try after a failed
        # create: the delay doubles, up to MAX_RETRY_DELAY.
        self._retry = {}
        # Address -> (engine, its containers with the policy), for the
        # engines that hold any; kept up to date by _look_again.
        self._holding: dict = {}
        # Addresses of the engines that changed (or joined, or left) since
        # the last look: all of them at first.
        self._changed = set(cluster.engines)
        cluster.watch_views(self._changed.add)
        self._loop = LoopingCall(self.check)
        self._loop.clock = clock

    def startService(self):
        Service.startService(self)
        self._down_since.clear()
        # What was down before a stop is found again, with a new grace.
        self._changed.update(self.cluster.engines)
        self._loop.start(self._interval, now=False)

    def stopService(self):
        Service.stopService(self)
        if self._loop.running:
            self._loop.stop()

    # -- the check --------------------------------------------------------------

    def check(self):
        """
        One pass: note which nodes are down since when, reschedule what
        waited long enough, remove stale copies.

        @return: a L{Deferred} firing when the pass is done; it never fails.
        """
        d = self._check()
        d.addErrback(lambda f: self._log.failure("rescheduling check failed", f))
        return d

    @inlineCallbacks
    def _check(self):
        self._look_again()
        now = self._clock.seconds()
        engines = self.cluster.engines
        due = [engine for address, since in list(self._down_since.items())
               if now - since >= self.grace and (engine := engines.get(address)) is not None]
        copies = self._scan()
        for engine in due:
            for container in self._with_policy(engine):
                made = yield self._reschedule(
                    container, copies.get(container.swarm_id, [container]))
                if made is not None:
                    copies = self._scan()
        yield self.remove_stale(copies)

    def _look_again(self):
        """
        Look at the engines that changed since the last look (the cluster
        names them, see L{Cluster.watch_views}): which are down since when,
        and which of their containers have a Swarm ID and the policy.

        A check costs what changed, not the cluster's size: at 5,000
        engines, looking at every engine on every check (its state, then
        its entry here) blocked the reactor 15-30 ms each time.
        """
        if not self._changed:
            return
        # (The same set: the cluster holds its add method.)
        changed = list(self._changed)
        self._changed.clear()
        now = self._clock.seconds()
        for address in changed:
            engine = self.cluster.engines.get(address)
            if engine is None:
                self._down_since.pop(address, None)
                self._holding.pop(address, None)
                continue
            if engine.state == UNHEALTHY:
                self._down_since.setdefault(address, now)
            else:
                self._down_since.pop(address, None)
            found = [c for c in list(engine.containers.values())
                     if c.swarm_id and wants_rescheduling(c)]
            if found:
                self._holding[address] = (engine, found)
            else:
                self._holding.pop(address, None)

    def _with_policy(self, engine):
        """
        The containers C{engine} caches that have a Swarm ID and the policy.

        @return: a C{list} the caller must not change.
        """
        self._look_again()
        held = self._holding.get(engine.address)
        if held is None or held[0] is not engine:
            return []
        return held[1]

    def _scan(self):
        """
        The copies the engines cache (hidden ones included) of every Swarm
        ID with the policy, from the engines that hold any.

        @return: a C{dict} of Swarm ID to a C{list} of L{Container}s.
        """
        self._look_again()
        copies: dict = {}
        for _, found in self._holding.values():
            for container in found:
                copies.setdefault(container.swarm_id, []).append(container)
        return copies

    @staticmethod
    def _usable(engine):
        return engine.healthy and not engine.stalled

    # -- rescheduling -------------------------------------------------------------

    @inlineCallbacks
    def _reschedule(self, container, copies):
        """
        Reschedule one container of a node that is down, unless a newer or
        a live copy exists.

        @param copies: every copy of its Swarm ID (itself included).
        @return: a L{Deferred} firing with the new copy's ID, or L{None}.
        """
        swarm_id = container.swarm_id
        if swarm_id in self._busy:
            return None
        failed = container.engine
        if _newest(copies) is not container or any(
                c.engine is not failed and self._usable(c.engine) for c in copies):
            # Rescheduled already (maybe by a manager before a restart): the
            # newest copy is the one; this one is stale.
            if not self.cluster.superseded(container):
                self.cluster.supersede(container)
            return None
        now = self._clock.seconds()
        retry = self._retry.get(swarm_id)
        if retry is not None and now < retry[0]:
            return None
        self._busy.add(swarm_id)
        try:
            result = yield self._create_copy(container, failed, copies)
        finally:
            self._busy.discard(swarm_id)
        if result is None:
            delay = min(MAX_RETRY_DELAY, retry[1] * 2 if retry else self._interval)
            self._retry[swarm_id] = (self._clock.seconds() + delay, delay)
        else:
            self._retry.pop(swarm_id, None)
        return result

    @inlineCallbacks
    def _create_copy(self, container, failed, copies):
        try:
            config = ContainerConfig.from_create_body(recreate_body(container),
                                                      container.name or None)
        except Exception as e:
            self._log.error("Failed to reschedule container {id}: {error}",
                            id=container.id, error=str(e))
            return None
        # Its name is free for the new copy, its line gone from listings.
        self.cluster.supersede(container)
        avoid = {c.engine.address for c in copies}
        try:
            engine, answer = yield self.cluster.create_container(config, avoid=avoid)
        except Exception as e:
            self.cluster.restore(container)
            self._log.error("Failed to reschedule container {id}: {error}",
                            id=container.id, error=str(e))
            return None
        new_id = answer["Id"]
        self._log.info("Rescheduled container {id} from {old} to {new} as {new_id}",
                       id=container.id, old=failed.name, new=engine.name, new_id=new_id)
        self._emit(engine, new_id, container, failed)
        if container.running:
            self._log.info("Container {id} was running, starting container {new_id}",
                           id=container.id, new_id=new_id)
            try:
                yield engine.api.start_container(new_id)
            except (EngineError, EngineUnreachable) as e:
                self._log.error("Failed to start rescheduled container {new_id}: {error}",
                                new_id=new_id, error=str(e))
            try:
                yield engine.refresh_container(new_id)
            except (EngineError, EngineUnreachable):
                pass
        return new_id

    def _emit(self, engine, new_id, old, failed):
        """
        Tell C{/events} clients: a C{container} event C{reschedule} of the
        new copy, naming the node and container it replaces.
        """
        now = self._clock.seconds()
        attributes = {
            "name": old.name,
            "image": (old.info.get("Config") or {}).get("Image") or "",
            SWARM_ID_LABEL: old.swarm_id,
            "rescheduled.from.node": failed.name,
            "rescheduled.from.id": old.id,
        }
        self.cluster.engine_event(engine, {
            "status": "reschedule", "id": new_id, "from": attributes["image"],
            "Type": "container", "Action": "reschedule",
            "Actor": {"ID": new_id, "Attributes": attributes}, "scope": "local",
            "time": int(now), "timeNano": int(now * 1e9),
        })

    # -- stale copies ---------------------------------------------------------------

    def remove_stale(self, scanned=None):
        """
        Where copies of one Swarm ID (with the policy) sit on several
        engines and the newest one (the last rescheduling's) is on a usable
        engine, remove the others that can be reached; the ones that
        cannot stay out of the index until they can.  A newest copy on a
        node that is down is left to L{_reschedule}.

        @param scanned: what L{_scan} found, if it was just called.
        @return: a L{Deferred} firing when done.
        """
        work = []
        for swarm_id, copies in (self._scan() if scanned is None else scanned).items():
            if len(copies) < 2 or swarm_id in self._busy:
                continue
            keeper = _newest(copies)
            if not self._usable(keeper.engine):
                continue
            if self.cluster.superseded(keeper):
                self.cluster.restore(keeper)
            for stale in copies:
                if stale is keeper:
                    continue
                if not self.cluster.superseded(stale):
                    self.cluster.supersede(stale)
                if self._usable(stale.engine):
                    work.append(self._remove(stale, keeper))
        if not work:
            return succeed(None)
        return DeferredList(work, consumeErrors=True)

    @inlineCallbacks
    def _remove(self, stale, keeper):
        engine = stale.engine
        self._busy.add(stale.swarm_id)
        try:
            yield engine.api.remove_container(stale.id, force=True)
        except EngineError as e:
            if e.status != 404:
                self._log.error("Failed to remove duplicate container {id} on node {node}: "
                                "{error}", id=stale.id, node=engine.name, error=str(e))
                return
        except EngineUnreachable as e:
            self._log.error("Failed to remove duplicate container {id} on node {node}: {error}",
                            id=stale.id, node=engine.name, error=str(e))
            return
        finally:
            self._busy.discard(stale.swarm_id)
        engine.forget_container(stale.id)
        self._log.info("Removed container {id} on {node}: it was rescheduled on {new} as "
                       "{new_id}", id=stale.id, node=engine.name, new=keeper.engine.name,
                       new_id=keeper.id)
