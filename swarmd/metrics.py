"""
The manager's Prometheus metrics, written by C{prometheus-client}.

One L{ManagerMetrics} per manager, with a registry of its own (never the
client's global default: several managers in one process, tests among them,
do not mix their numbers).  What changes all the time is kept current as it
changes, so a scrape costs a walk over the engines, never over the
containers:

  - the cluster's L{ContainerIndex} reports every container it gains or
    loses (L{ManagerMetrics.container_indexed}); counts by node and state
    and the CPUs and memory containers reserve on each node follow it;
  - the cluster reports engine errors, refresh runs, discovery errors and
    relayed events (L{ClusterObserver}); L{TimedScheduler} counts and
    times each scheduling decision;
  - L{InstrumentedRoot} in front of the API counts requests by the route
    template the handler was found by (C{request.route_template}, set by
    both of the API's lanes), never by the raw path.

A scrape is read at once (L{ManagerMetrics.read}: the kept counts and one
walk over the engines) and formatted piece by piece between other requests
(L{ManagerMetrics.render_pieces}, run by a L{cooperator}).

L{METRICS} documents every metric; C{docs/metrics.md} is written from it
(L{reference}) and a test checks both against the registry.
"""

from __future__ import annotations

import collections
import time
from typing import Any

import attr
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from swarmd._log import observer

__all__ = ["METRICS", "ClusterObserver", "InstrumentedRoot", "ManagerMetrics", "MetricsPage",
           "TimedScheduler", "cooperator", "metrics_site", "reference"]

#: The path metrics are served on.
METRICS_PATH = b"/metrics"

#: Container states as Docker names them (anything else counts as
#: C{unknown}, so an engine cannot make up label values).
CONTAINER_STATES = frozenset(["created", "restarting", "running", "removing", "paused",
                              "exited", "dead"])

#: Event types as Docker names them (others count as C{other}).
EVENT_TYPES = frozenset(["container", "image", "network", "volume", "daemon", "plugin",
                         "service", "node", "secret", "config", "builder", "swarm"])

#: HTTP methods counted by name (others count as C{other}).
METHODS = frozenset(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])

#: The route label of a request no route matched (a 404, a request refused
#: before routing, one a replica tunnelled to the primary).
UNMATCHED = "unmatched"

#: Engine states (L{swarmd.cluster.engine}), each always reported.
ENGINE_STATES = ("Pending", "Healthy", "Unhealthy", "Disconnected")

#: Buckets of the API latency histogram, in seconds: the cache answers in
#: well under a millisecond, creates and proxied calls take up to seconds.
API_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
               5.0, 10.0, 30.0)

#: Buckets of the scheduling latency histogram, in seconds (a decision over
#: 1,000 nodes takes a few milliseconds).
SCHEDULING_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                      0.25, 1.0)

#: Buckets of the engine refresh histogram, in seconds.
REFRESH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

#: Samples formatted in one go when a scrape is formatted piece by piece
#: (about 3 ms of the reactor's time each).
CHUNK = 250

#: Every metric: C{(name as exposed, type, labels, meaning)}.  Counters
#: are exposed with C{_total}, histograms as C{_bucket}, C{_sum} and
#: C{_count} series.
METRICS = (
    ("swarm_engines", "gauge", ("state",),
     "Engines discovery names, by state (Pending, Healthy, Unhealthy, Disconnected)."),
    ("swarm_containers", "gauge", ("node", "state"),
     "Containers the manager caches, by node and Docker state (created, running, paused, "
     "restarting, removing, exited, dead; unknown for anything else). Series of zero are "
     "left out."),
    ("swarm_node_cpus", "gauge", ("node",),
     "CPUs of a node the scheduler may reserve (overcommit applied), as docker info shows."),
    ("swarm_node_cpus_reserved", "gauge", ("node",),
     "CPUs reserved on a node by its containers (CPU shares turned back into CPUs)."),
    ("swarm_node_memory_bytes", "gauge", ("node",),
     "Memory of a node the scheduler may reserve (overcommit applied), in bytes."),
    ("swarm_node_memory_reserved_bytes", "gauge", ("node",),
     "Memory reserved on a node by its containers' limits, in bytes."),
    ("swarm_scheduling_decisions_total", "counter", ("outcome",),
     "Scheduling decisions by outcome: scheduled, no_healthy_node, no_matching_node, "
     "no_resources, error."),
    ("swarm_scheduling_duration_seconds", "histogram", ("outcome",),
     "Time the scheduler took to decide (filters and strategy), by outcome."),
    ("swarm_api_requests_total", "counter", ("route", "method", "code"),
     "API requests answered, by route template (e.g. /containers/{name}/json, the same with "
     "or without /vX.Y; unmatched when no route matched or a replica forwarded the request to "
     "the primary), method (other for unknown ones) and HTTP status."),
    ("swarm_api_request_duration_seconds", "histogram", ("route", "method"),
     "Time from a request's arrival to the end of its answer, by route template and method; "
     "streams (logs -f, events, attach) count until they end."),
    ("swarm_hijacked_sessions", "gauge", (),
     "Hijacked connections open (attach, exec start), in this process."),
    ("swarm_hijacked_sessions_opened_total", "counter", (),
     "Hijacked connections opened since the process started."),
    ("swarm_events_relayed_total", "counter", ("type",),
     "Events published to /events subscribers (engines' and the manager's own), by Docker "
     "event type (other for unknown ones)."),
    ("swarm_event_subscribers", "gauge", (),
     "Clients streaming /events now."),
    ("swarm_engine_errors_total", "counter", ("node", "kind"),
     "Failed calls to engines by node (its name, or its address before the first "
     "connection) and kind: unreachable (no answer) or error (an error answer to the "
     "manager's own bookkeeping)."),
    ("swarm_engine_refresh_duration_seconds", "histogram", ("outcome",),
     "Time of one run of an engine's refresh loop, by outcome (ok or failed)."),
    ("swarm_discovery_errors_total", "counter", (),
     "Errors of the discovery watch."),
    ("swarm_manager_primary", "gauge", (),
     "1 when this manager is the primary, 0 when a replica; only with --replication."),
)


class ClusterObserver:
    """
    What the cluster and scheduler tell the metrics.  This base class
    ignores everything (a cluster without metrics).
    """

    def engine_failed(self, engine, error):
        """
        A call to C{engine} failed with C{error}.
        """

    def engine_refreshed(self, engine, seconds, ok):
        """
        One refresh run of C{engine} took C{seconds}; C{ok} says whether
        it completed.
        """

    def discovery_failed(self, failure):
        """
        The discovery watch reported an error.
        """

    def event_published(self, event):
        """
        C{event} went to the C{/events} subscribers.
        """

    def scheduled(self, error, seconds):
        """
        A scheduling decision took C{seconds}; C{error} is the
        L{swarmd.scheduler.SchedulerError} it ended with, or L{None}.
        """


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


def _outcome(error):
    if error is None:
        return "scheduled"
    from swarmd.scheduler.errors import NoHealthyNode, NoMatchingNode, NoResources

    for kind, name in ((NoHealthyNode, "no_healthy_node"), (NoMatchingNode, "no_matching_node"),
                       (NoResources, "no_resources")):
        if isinstance(error, kind):
            return name
    return "error"


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
        self._decisions = Counter("swarm_scheduling_decisions", _help("scheduling_decisions"),
                                  ["outcome"], registry=registry)
        self._decision_seconds = Histogram(
            "swarm_scheduling_duration_seconds", _help("scheduling_duration_seconds"),
            ["outcome"], buckets=SCHEDULING_BUCKETS, registry=registry)
        self._requests = Counter("swarm_api_requests", _help("api_requests"),
                                 ["route", "method", "code"], registry=registry)
        self._request_seconds = Histogram(
            "swarm_api_request_duration_seconds", _help("api_request_duration_seconds"),
            ["route", "method"], buckets=API_BUCKETS, registry=registry)
        self._events = Counter("swarm_events_relayed", _help("events_relayed"), ["type"],
                               registry=registry)
        self._engine_errors = Counter("swarm_engine_errors", _help("engine_errors"),
                                      ["node", "kind"], registry=registry)
        self._refresh_seconds = Histogram(
            "swarm_engine_refresh_duration_seconds", _help("engine_refresh_duration_seconds"),
            ["outcome"], buckets=REFRESH_BUCKETS, registry=registry)
        self._discovery_errors = Counter("swarm_discovery_errors", _help("discovery_errors"),
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
        outcome = _outcome(error)
        self._decisions.labels(outcome).inc()
        self._decision_seconds.labels(outcome).observe(seconds)

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
        @param size: samples per piece at most (L{CHUNK} by default).
        @return: an iterator of C{bytes}; joined, Prometheus's text format.
        """
        size = size or CHUNK
        for family in _Families(self.registry, reading).collect():
            samples = family.samples
            for start in range(0, max(len(samples), 1), size):
                family.samples = samples[start:start + size]
                text = generate_latest(_One(family))
                if start:
                    # The family's HELP and TYPE lines come once, first.
                    text = text.split(b"\n", 2)[2]
                yield text


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


class _One:
    """
    A collector of one metric family.
    """

    def __init__(self, family):
        self._family = family

    def collect(self):
        return [self._family]


class _Families:
    """
    A collector of one scrape: the registry's counters and histograms
    (without the C{_created} series: they double the series of the text
    format and Prometheus does not need them) and the gauges of a
    L{_Reading}.
    """

    def __init__(self, registry, reading):
        self._registry = registry
        self._reading = reading

    def collect(self):
        for family in self._registry.collect():
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family
        reading = self._reading
        engines = GaugeMetricFamily("swarm_engines", _help("engines"), labels=["state"])
        states = collections.Counter(reading.states)
        for state in ENGINE_STATES:
            engines.add_metric([state], states.pop(state, 0))
        for state, count in sorted(states.items()):
            engines.add_metric([str(state)], count)
        yield engines
        containers = GaugeMetricFamily("swarm_containers", _help("containers"),
                                       labels=["node", "state"])
        for labels, count in sorted(reading.containers.items()):
            containers.add_metric(list(labels), count)
        yield containers
        for index, name in enumerate(("node_cpus", "node_cpus_reserved", "node_memory_bytes",
                                      "node_memory_reserved_bytes")):
            family = GaugeMetricFamily("swarm_" + name, _help(name), labels=["node"])
            for node, totals in sorted(reading.resources.items()):
                family.add_metric([node], totals[index])
            yield family
        sessions = GaugeMetricFamily("swarm_hijacked_sessions", _help("hijacked_sessions"))
        sessions.add_metric([], reading.hijacks[0])
        yield sessions
        opened = CounterMetricFamily("swarm_hijacked_sessions_opened",
                                     _help("hijacked_sessions_opened_total"))
        opened.add_metric([], reading.hijacks[1])
        yield opened
        subscribers = GaugeMetricFamily("swarm_event_subscribers", _help("event_subscribers"))
        subscribers.add_metric([], reading.subscribers)
        yield subscribers
        if reading.primary is not None:
            primary = GaugeMetricFamily("swarm_manager_primary", _help("manager_primary"))
            primary.add_metric([], 1 if reading.primary else 0)
            yield primary


class TimedScheduler:
    """
    A L{swarmd.scheduler.Scheduler} whose decisions for containers
    (C{select}, C{decide}) are counted and timed; everything else is the
    scheduler's own.
    """

    def __init__(self, scheduler, observer):
        """
        @param scheduler: the L{swarmd.scheduler.Scheduler}.
        @param observer: the L{ClusterObserver} told of each decision.
        """
        object.__setattr__(self, "_scheduler", scheduler)
        object.__setattr__(self, "_observer", observer)

    def __getattr__(self, name):
        return getattr(self._scheduler, name)

    def __setattr__(self, name, value):
        setattr(self._scheduler, name, value)

    def _timed(self, decide, config, nodes):
        from swarmd.scheduler import SchedulerError

        timer = getattr(self._observer, "timer", time.perf_counter)
        started = timer()
        try:
            result = decide(config, nodes)
        except SchedulerError as e:
            self._observer.scheduled(e, timer() - started)
            raise
        self._observer.scheduled(None, timer() - started)
        return result

    def select(self, config, nodes):
        return self._timed(self._scheduler.select, config, nodes)

    def decide(self, config, nodes):
        return self._timed(self._scheduler.decide, config, nodes)


def _help(name):
    """
    The meaning of C{swarm_<name>} from L{METRICS}.
    """
    full = "swarm_" + name
    for exposed, _, _, meaning in METRICS:
        if exposed == full or exposed == full + "_total":
            return meaning
    raise KeyError(name)


def _write_metrics(metrics, request):
    """
    Answer a request for the metrics: read at once, then formatted piece by
    piece by L{ManagerMetrics.cooperator} if set, between other requests
    (at 1,000 engines the whole takes tens of milliseconds no request need
    wait for), else at once.
    """
    from swarmd.api.errors import write_error

    if request.method not in (b"GET", b"HEAD"):
        request.setHeader(b"Allow", b"GET, HEAD")
        return write_error(request, 405, "only GET and HEAD read /metrics")
    request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode("ascii"))
    reading = metrics.read()
    if metrics.cooperator is None:
        body = metrics.render(reading)
        return b"" if request.method == b"HEAD" else body
    pieces = []

    def gone():
        return request.finished or getattr(request, "_disconnected", False)

    def work():
        for piece in metrics.render_pieces(reading):
            if gone():
                return
            pieces.append(piece)
            yield None

    def write(_):
        if gone():
            return
        if request.method != b"HEAD":
            request.write(b"".join(pieces))
        request.finish()

    def failed(failure):
        metrics._log.failure("formatting the metrics failed", failure)
        if not gone():
            request.write(write_error(request, 500, "formatting the metrics failed"))
            request.finish()

    metrics.cooperator.cooperate(work()).whenDone().addCallbacks(write, failed)
    return NOT_DONE_YET


def cooperator(clock):
    """
    The cooperator a manager formats scrapes with: one piece per reactor
    turn, I/O served in between.

    @param clock: the reactor.
    @return: a L{twisted.internet.task.Cooperator}.
    """
    from twisted.internet.task import Cooperator

    return Cooperator(terminationPredicateFactory=lambda: (lambda: True),
                      scheduler=lambda f: clock.callLater(0, f))


class InstrumentedRoot(Resource):
    """
    The manager's root resource: answers C{/metrics} itself and counts
    every other request on its way to the API.
    """

    isLeaf = True

    def __init__(self, inner, metrics):
        """
        @param inner: the API's root resource (a leaf).
        @param metrics: the L{ManagerMetrics}.
        """
        Resource.__init__(self)
        self._inner = inner
        self._metrics = metrics

    def render(self, request):
        metrics = self._metrics
        started = metrics.timer()

        def done(_):
            metrics.request_done(request, metrics.timer() - started)

        request.notifyFinish().addBoth(done)
        if request.path == METRICS_PATH:
            request.route_template = "/metrics"
            return _write_metrics(metrics, request)
        return self._inner.render(request)


class MetricsPage(Resource):
    """
    The root of the C{--metrics-addr} listener: C{/metrics} and nothing
    else.
    """

    isLeaf = True

    def __init__(self, metrics):
        Resource.__init__(self)
        self._metrics = metrics

    def render(self, request):
        if request.path != METRICS_PATH:
            from swarmd.api.errors import write_error

            return write_error(request, 404, "page not found: metrics are at /metrics")
        return _write_metrics(self._metrics, request)


def metrics_site(metrics):
    """
    The site of the C{--metrics-addr} listener: L{MetricsPage}, quiet (no
    log line per scrape).

    @param metrics: the L{ManagerMetrics}.
    @return: a L{twisted.web.server.Site}.
    """
    from twisted.web.server import Site

    class _QuietSite(Site):
        noisy = False
        displayTracebacks = False

        def log(self, request):
            pass

    return _QuietSite(MetricsPage(metrics))


def reference():
    """
    The metrics reference page (C{docs/metrics.md}), from L{METRICS}.

    @return: Markdown text.
    """
    lines = [
        "# Metrics reference",
        "",
        "<!-- Written by swarmd.metrics.reference(); tests/unit/test_metrics.py fails when",
        "     it differs from the registry or from this page. Regenerate with:",
        "     python -m swarmd.metrics > docs/metrics.md -->",
        "",
        "`swarm manage` serves its metrics in Prometheus's text format at `/metrics` on every",
        "API listener (`-H`, behind the same TLS), and, with `--metrics-addr host:port`, on a",
        "plain-HTTP listener of its own that serves nothing else (keep it on loopback or a",
        "private network). Each manager reports its own numbers: scrape every manager of a",
        "replicated set.",
        "",
        "Labels are bounded: `node` is a node's name (its address before it first",
        "connected), `route` a route template of the API, never a raw path; no label holds a",
        "container ID. Counts of containers and reserved resources are kept current as the",
        "manager's cache changes, so a scrape walks the engines, never the containers.",
        "",
        "Example scrape configuration:",
        "",
        "```yaml",
        "scrape_configs:",
        "  - job_name: swarm",
        "    static_configs:",
        "      - targets: ['127.0.0.1:9323']   # --metrics-addr 127.0.0.1:9323",
        "```",
        "",
        "| Metric | Type | Labels | Meaning |",
        "|---|---|---|---|",
    ]
    for name, kind, labels, meaning in METRICS:
        lines.append("| `%s` | %s | %s | %s |" % (
            name, kind, ", ".join("`%s`" % (label,) for label in labels) or "-", meaning))
    lines += [
        "",
        "Histograms are exposed as `<name>_bucket{le=...}`, `<name>_sum` and `<name>_count`",
        "(no `_created` series: they would double the series and Prometheus does not need",
        "them).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference(), end="")
