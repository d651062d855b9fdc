"""
A scrape as Prometheus's text format, and where it is served: formatted
piece by piece (L{render_pieces}, run by a L{cooperator} between other
requests), answered on C{/metrics} of every API listener
(L{InstrumentedRoot}, which also counts the API's requests) and of the
C{--metrics-addr} listener (L{metrics_site}).
"""

from __future__ import annotations

import collections

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from swarmd.api.direct import answers_directly
from swarmd.metrics._definitions import ENGINE_STATES, meaning

__all__ = ["InstrumentedRoot", "MetricsPage", "cooperator", "metrics_site", "render_pieces"]

#: The path metrics are served on.
METRICS_PATH = b"/metrics"

#: Samples formatted in one go when a scrape is formatted piece by piece
#: (about 3 ms of the reactor's time each).
CHUNK = 250


def render_pieces(registry, reading, size=None):
    """
    Format a scrape piece by piece.

    @param registry: the L{CollectorRegistry} of the counters and
        histograms.
    @param reading: the L{swarmd.metrics._manager._Reading} of the gauges.
    @param size: samples per piece at most (L{CHUNK} by default).
    @return: an iterator of C{bytes}; joined, Prometheus's text format.
    """
    size = size or CHUNK
    for family in _Families(registry, reading).collect():
        samples = family.samples
        for start in range(0, max(len(samples), 1), size):
            family.samples = samples[start:start + size]
            text = generate_latest(_One(family))
            if start:
                # The family's HELP and TYPE lines come once, first.
                text = text.split(b"\n", 2)[2]
            yield text


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
        engines = GaugeMetricFamily("swarm_engines", meaning("engines"), labels=["state"])
        states = collections.Counter(reading.states)
        for state in ENGINE_STATES:
            engines.add_metric([state], states.pop(state, 0))
        for state, count in sorted(states.items()):
            engines.add_metric([str(state)], count)
        yield engines
        containers = GaugeMetricFamily("swarm_containers", meaning("containers"),
                                       labels=["node", "state"])
        for labels, count in sorted(reading.containers.items()):
            containers.add_metric(list(labels), count)
        yield containers
        for index, name in enumerate(("node_cpus", "node_cpus_reserved", "node_memory_bytes",
                                      "node_memory_reserved_bytes")):
            family = GaugeMetricFamily("swarm_" + name, meaning(name), labels=["node"])
            for node, totals in sorted(reading.resources.items()):
                family.add_metric([node], totals[index])
            yield family
        sessions = GaugeMetricFamily("swarm_hijacked_sessions", meaning("hijacked_sessions"))
        sessions.add_metric([], reading.hijacks[0])
        yield sessions
        opened = CounterMetricFamily("swarm_hijacked_sessions_opened",
                                     meaning("hijacked_sessions_opened_total"))
        opened.add_metric([], reading.hijacks[1])
        yield opened
        subscribers = GaugeMetricFamily("swarm_event_subscribers", meaning("event_subscribers"))
        subscribers.add_metric([], reading.subscribers)
        yield subscribers
        if reading.primary is not None:
            primary = GaugeMetricFamily("swarm_manager_primary", meaning("manager_primary"))
            primary.add_metric([], 1 if reading.primary else 0)
            yield primary



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

    def answers_directly(self, method, path):
        """
        Whether a request the HTTP channel parsed itself may be rendered
        here (L{swarmd.api.direct}): not C{/metrics}, and if the API's
        resource says so.
        """
        return path != METRICS_PATH and answers_directly(self._inner, method, path)


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

