"""
L{ManagerMetrics}: one manager's metrics, in a registry of their own, kept
current as the cluster reports (the counts of containers by node and state
and the resources they reserve follow the cluster's index), and read at
scrape time with one walk over the engines.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import attr
from prometheus_client import CollectorRegistry, Counter, Histogram
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.metrics._definitions import (
    API_BUCKETS,
    CONTAINER_STATES,
    EVENT_TYPES,
    METHODS,
    REFRESH_BUCKETS,
    SCHEDULING_BUCKETS,
    UNMATCHED,
    meaning,
)
from swarmd.metrics._exposition import render_pieces
from swarmd.metrics._observers import ClusterObserver, TimedScheduler, outcome

__all__ = ["ManagerMetrics"]


def _node(engine):
    return engine.name or engine.address


def _state(container):
    state = container.info.get("State")
    status = state.get("Status") if isinstance(state, dict) else None
    return status if status in CONTAINER_STATES else "unknown"


def _reservation(container):
    host = container.info.get("HostConfig")
    if not isinstance(host, dict):
        return 0, 0
    shares = host.get("CpuShares") or 0
    memory = host.get("Memory") or 0
    return (shares if isinstance(shares, int) else 0,
            memory if isinstance(memory, int) else 0)



class ManagerMetrics(ClusterObserver):
    """
    The metrics of one manager, in a registry of their own.

    @ivar registry: the L{CollectorRegistry} holding them.
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster, election=None, hijacks=None, api=None,
                 timer=time.perf_counter, cooperator=None):
        """
        @param cluster: the L{swarmd.cluster.Cluster}; its index, engines
            and scheduler report to these metrics from now on (L{attach}).
        @param election: the manager's L{swarmd.ha.election.Election}, or
            L{None} when not replicated.
        @param hijacks: the hijack counters (C{open} and C{total}), by
            default L{swarmd.api.hijack.counters}.
        @param api: the L{swarmd.api.app.DockerAPI}, for its C{/events}
            subscribers, or L{None}.
        @param timer: seconds, for latencies (a monotonic clock).
        @param cooperator: a L{twisted.internet.task.Cooperator} that
            formats scrapes piece by piece (L{cooperator}); L{None}: each
            is formatted at once.
        """
        if hijacks is None:
            from swarmd.api.hijack import counters as hijacks
        self.cluster = cluster
        self.election = election
        self.api = api
        self.timer = timer
        self.cooperator = cooperator
        self._hijacks = hijacks
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self._decisions = Counter("swarm_scheduling_decisions", meaning("scheduling_decisions"),
                                  ["outcome"], registry=registry)
        self._decision_seconds = Histogram(
            "swarm_scheduling_duration_seconds", meaning("scheduling_duration_seconds"),
            ["outcome"], buckets=SCHEDULING_BUCKETS, registry=registry)
        self._requests = Counter("swarm_api_requests", meaning("api_requests"),
                                 ["route", "method", "code"], registry=registry)
        self._request_seconds = Histogram(
            "swarm_api_request_duration_seconds", meaning("api_request_duration_seconds"),
            ["route", "method"], buckets=API_BUCKETS, registry=registry)
        self._events = Counter("swarm_events_relayed", meaning("events_relayed"), ["type"],
                               registry=registry)
        self._engine_errors = Counter("swarm_engine_errors", meaning("engine_errors"),
                                      ["node", "kind"], registry=registry)
        self._refresh_seconds = Histogram(
            "swarm_engine_refresh_duration_seconds", meaning("engine_refresh_duration_seconds"),
            ["outcome"], buckets=REFRESH_BUCKETS, registry=registry)
        self._discovery_errors = Counter("swarm_discovery_errors", meaning("discovery_errors"),
                                         registry=registry)
        # (engine, state) -> containers; engine -> Counter of CPU shares
        # values; engine -> memory bytes reserved.
        self._containers: collections.Counter[tuple[Any, str]] = collections.Counter()
        self._shares: dict[Any, collections.Counter[int]] = {}
        self._memory: collections.Counter[Any] = collections.Counter()
        self.attach(cluster)

    # -- wiring ----------------------------------------------------------------------

    def attach(self, cluster):
        """
        Have C{cluster}'s index, engines and scheduler report here, and
        count what its index holds already (the only walk over the
        containers).
        """
        for container in cluster.containers:
            self.container_indexed(container, 1)
        cluster.containers.on_change = self.container_indexed
        cluster.metrics = self
        if not isinstance(cluster.scheduler, TimedScheduler):
            cluster.scheduler = TimedScheduler(cluster.scheduler, self)

    # -- what the cluster reports ----------------------------------------------------

    def container_indexed(self, container, delta):
        """
        The cluster's index gained (C{delta} 1) or lost (-1) C{container}.
        """
        engine = container.engine
        key = (engine, _state(container))
        count = self._containers[key] + delta
        if count:
            self._containers[key] = count
        else:
            del self._containers[key]
        shares, memory = _reservation(container)
        if shares:
            counts = self._shares.setdefault(engine, collections.Counter())
            counts[shares] += delta
            if not counts[shares]:
                del counts[shares]
                if not counts:
                    del self._shares[engine]
        if memory:
            self._memory[engine] += delta * memory
            if not self._memory[engine]:
                del self._memory[engine]

    def engine_failed(self, engine, error):
        from swarmd.engine import EngineUnreachable

        kind = "unreachable" if isinstance(error, EngineUnreachable) else "error"
        self._engine_errors.labels(_node(engine), kind).inc()

    def engine_refreshed(self, engine, seconds, ok):
        self._refresh_seconds.labels("ok" if ok else "failed").observe(seconds)

    def discovery_failed(self, failure):
        self._discovery_errors.inc()

    def event_published(self, event):
        kind = event.get("Type") if isinstance(event, dict) else None
        self._events.labels(kind if kind in EVENT_TYPES else "other").inc()

    def scheduled(self, error, seconds):
        outcome_ = outcome(error)
        self._decisions.labels(outcome_).inc()
        self._decision_seconds.labels(outcome_).observe(seconds)

    def request_done(self, request, seconds):
        """
        Count an answered API request.

        @param request: the L{twisted.web.server.Request}, its
            C{route_template} set if a route matched.
        """
        route = getattr(request, "route_template", None) or UNMATCHED
        method = request.method.decode("ascii", "replace") if request.method else ""
        if method not in METHODS:
            method = "other"
        self._requests.labels(route, method, str(request.code)).inc()
        self._request_seconds.labels(route, method).observe(seconds)

    # -- reading -----------------------------------------------------------------------

    def exposition(self):
        """
        @return: the metrics in Prometheus's text format, C{bytes}.
        """
        return self.render(self.read())

    def read(self):
        """
        Read what the scrape-time gauges show, as plain data: one walk over
        the engines and the kept counts, in the reactor's thread (they
        change there).

        @return: a L{_Reading} for L{render}.
        """
        states = collections.Counter(e.state for e in self.cluster.engines.values())
        # Nodes are labelled by name; two engines of one name add up (a
        # scrape with two series of one label set would be refused).
        containers: collections.Counter[tuple[str, str]] = collections.Counter()
        for (engine, state), count in self._containers.items():
            containers[_node(engine), state] += count
        resources: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0, 0])
        for engine in self.cluster.engines.values():
            if not engine.id:
                # Never connected: no specs yet.
                continue
            totals = resources[_node(engine)]
            totals[0] += engine.total_cpus
            if engine.cpus:
                # As Engine.used_cpus: each container's shares turned back
                # into CPUs, rounded down one by one.
                totals[1] += sum(count * (value * engine.cpus // 1024)
                                 for value, count in self._shares.get(engine, {}).items())
            totals[2] += engine.total_memory
            totals[3] += self._memory.get(engine, 0)
        return _Reading(
            states=states, containers=containers, resources=dict(resources),
            hijacks=(self._hijacks.open, self._hijacks.total),
            subscribers=getattr(self.api, "event_listeners", 0) or 0,
            primary=None if self.election is None else self.election.is_primary())

    def render(self, reading):
        """
        Format the metrics at once.

        @param reading: what L{read} returned.
        @return: Prometheus's text format, C{bytes}.
        """
        return b"".join(self.render_pieces(reading))

    def render_pieces(self, reading, size=None):
        """
        Format the metrics piece by piece, so the reactor can serve other
        requests between pieces (L{InstrumentedRoot} runs it with
        L{cooperator}): at 1,000 engines the whole takes tens of
        milliseconds.

        @param reading: what L{read} returned (the pieces show that
            moment, whatever changes in between).
        @param size: samples per piece at most (L{swarmd.metrics._exposition.CHUNK} by default).
        @return: an iterator of C{bytes}; joined, Prometheus's text format.
        """
        return render_pieces(self.registry, reading, size)



@attr.s(frozen=True, auto_attribs=True)
class _Reading:
    """
    What the scrape-time gauges show (L{ManagerMetrics.read}).
    """

    states: collections.Counter
    containers: collections.Counter
    resources: dict
    hijacks: tuple
    subscribers: int
    primary: bool | None

