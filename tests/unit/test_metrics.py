"""
The manager's Prometheus metrics (L{swarmd.metrics}), in memory: a manager
over fake engines with its metrics served at C{/metrics}, read back with
prometheus-client's own parser.
"""

import collections
import json
import os

from prometheus_client.parser import text_string_to_metric_families
from treq.testing import StubTreq
from twisted.python.failure import Failure
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase

from swarmd import metrics as _metrics
from swarmd.cluster.engine import Engine
from swarmd.cluster.index import ContainerIndex
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.metrics import METRICS, ManagerMetrics, _exposition, metrics_site, reference
from swarmd.testing.memory import MemoryManager

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]

DOCS = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "docs", "metrics.md")

MIB = 1024 * 1024


def parse(text):
    """
    @return: C{{metric family name: family}} of an exposition.
    """
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(families, sample_name):
    """
    @return: C{{frozenset of label items: value}} of every sample of that
        name.
    """
    found = {}
    for family in families.values():
        for sample in family.samples:
            if sample.name == sample_name:
                found[frozenset(sample.labels.items())] = sample.value
    return found


def value(families, sample_name, **labels):
    """
    @return: the value of one sample, or L{None} when absent.
    """
    return samples(families, sample_name).get(frozenset(labels.items()))


class MetricsTestCase(SynchronousTestCase):
    """
    A manager over two fake engines (C{n1}, C{n2}) with its metrics.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES, metrics=True)
        self.addCleanup(self.manager.stop)
        self.clock = self.manager.clock
        self.cluster = self.manager.cluster
        self.metrics = self.manager.metrics
        self.assertEqual(len(self.cluster.healthy_engines()), 2)

    def request(self, method, path, body=None):
        return self.successResultOf(self.manager.request(method, path, body))

    def scrape(self):
        code, headers, content = self.request("GET", "/metrics")
        self.assertEqual(code, 200, content)
        self.assertTrue(headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain"))
        return parse(content.decode("utf-8"))

    def create(self, name, node=None, start=True, status=201, **body):
        body = dict({"Image": "busybox", "Cmd": ["sleep", "300"]}, **body)
        if node:
            body["Env"] = ["constraint:node==" + node]
        code, _, content = self.request("POST", "/v1.41/containers/create?name=" + name, body)
        self.assertEqual(code, status, content)
        if start and status == 201:
            code, _, content = self.request("POST", "/v1.41/containers/%s/start" % (name,))
            self.assertEqual(code, 204, content)
        return json.loads(content) if content else None

    def walked(self):
        """
        Containers by (node, state) and reserved CPUs and memory by node,
        counted by walking the index and the engines (what a scrape must
        not do).
        """
        containers = collections.Counter()
        for container in self.cluster.containers:
            containers[container.engine.name, container.info["State"]["Status"]] += 1
        reserved = {e.name: (e.used_cpus, e.used_memory) for e in self.cluster.engines.values()}
        return containers, reserved

    def assert_counts_match_walk(self, families):
        containers, reserved = self.walked()
        self.assertEqual(
            {(dict(k)["node"], dict(k)["state"]): v
             for k, v in samples(families, "swarm_containers").items()},
            dict(containers))
        for node, (cpus, memory) in reserved.items():
            self.assertEqual(value(families, "swarm_node_cpus_reserved", node=node), cpus)
            self.assertEqual(value(families, "swarm_node_memory_reserved_bytes", node=node),
                             memory)


class ContainerMetricsTests(MetricsTestCase):
    """
    Containers by node and state and reserved resources follow the cache.
    """

    def test_containers_by_node_and_state(self):
        """Containers created on each node appear by node and state."""
        self.create("aa", node="n1")
        self.create("bb", node="n1")
        self.create("cc", node="n2", start=False)
        families = self.scrape()
        self.assertEqual(samples(families, "swarm_containers"), {
            frozenset({"node": "n1", "state": "running"}.items()): 2,
            frozenset({"node": "n2", "state": "created"}.items()): 1,
        })

    def test_state_changes_and_removal(self):
        """A stop moves a container to exited; a remove drops it; zero series go."""
        self.create("aa", node="n1")
        self.create("bb", node="n1")
        code, _, content = self.request("POST", "/containers/aa/stop?t=1")
        self.assertEqual(code, 204, content)
        code, _, content = self.request("DELETE", "/containers/bb?force=1")
        self.assertEqual(code, 204, content)
        families = self.scrape()
        self.assertEqual(samples(families, "swarm_containers"), {
            frozenset({"node": "n1", "state": "exited"}.items()): 1,
        })
        self.assert_counts_match_walk(families)

    def test_reserved_resources(self):
        """Reserved CPUs and memory per node match the engines' own sums."""
        # CpuShares asks for CPUs, as in classic Swarm (--cpu-shares 2:
        # two CPUs, sent to the engine as shares).
        self.create("aa", node="n1", HostConfig={"Memory": 64 * MIB, "CpuShares": 2})
        self.create("bb", node="n1", HostConfig={"Memory": 32 * MIB})
        self.create("cc", node="n2", HostConfig={"CpuShares": 1})
        families = self.scrape()
        n1 = self.cluster.engine("n1")
        n2 = self.cluster.engine("n2")
        self.assertEqual(value(families, "swarm_node_memory_reserved_bytes", node="n1"),
                         96 * MIB)
        self.assertEqual(value(families, "swarm_node_memory_reserved_bytes", node="n2"), 0)
        self.assertEqual(value(families, "swarm_node_cpus_reserved", node="n1"), 2)
        self.assertEqual(value(families, "swarm_node_cpus_reserved", node="n2"), 1)
        self.assertEqual(value(families, "swarm_node_cpus", node="n1"), n1.total_cpus)
        self.assertEqual(value(families, "swarm_node_memory_bytes", node="n2"),
                         n2.total_memory)
        self.assertGreater(n1.total_memory, 0)
        self.assert_counts_match_walk(families)

    def test_engine_leaving_drops_its_containers(self):
        """An engine leaving discovery takes its containers and resources out."""
        self.create("aa", node="n1", HostConfig={"Memory": 64 * MIB})
        self.create("bb", node="n2", HostConfig={"Memory": 64 * MIB})
        self.cluster.set_addresses([ADDRESSES[1]])
        families = self.scrape()
        self.assertEqual(samples(families, "swarm_containers"), {
            frozenset({"node": "n2", "state": "running"}.items()): 1,
        })
        self.assertIsNone(value(families, "swarm_node_memory_reserved_bytes", node="n1"))
        self.assertEqual(value(families, "swarm_node_memory_reserved_bytes", node="n2"),
                         64 * MIB)
        self.assertEqual(value(families, "swarm_engines", state="Healthy"), 1)

    def test_superseded_container_not_counted(self):
        """A container kept out of the index (supersede) is not counted; restored, it is."""
        self.create("aa", node="n1")
        container = self.cluster.container("aa")
        self.cluster.supersede(container)
        self.assertEqual(samples(self.scrape(), "swarm_containers"), {})
        self.cluster.restore(container)
        self.assertEqual(samples(self.scrape(), "swarm_containers"), {
            frozenset({"node": "n1", "state": "running"}.items()): 1,
        })

    def test_attach_counts_existing_containers(self):
        """Metrics attached to a cluster that already caches containers count them."""
        self.create("aa", node="n1")
        self.create("bb", node="n2", start=False)
        late = ManagerMetrics(self.cluster)
        families = parse(late.exposition().decode("utf-8"))
        self.assertEqual(samples(families, "swarm_containers"), {
            frozenset({"node": "n1", "state": "running"}.items()): 1,
            frozenset({"node": "n2", "state": "created"}.items()): 1,
        })

    def test_scrape_walks_no_container(self):
        """A scrape reads the kept counts: it never iterates the index or an engine's containers."""
        for index in range(5):
            self.create("c%d" % (index,), HostConfig={"Memory": 8 * MIB, "CpuShares": 1})

        def walked(*args):
            raise AssertionError("a scrape walked the containers")

        self.patch(ContainerIndex, "__iter__", walked)
        self.patch(Engine, "used_cpus", property(walked))
        self.patch(Engine, "used_memory", property(walked))
        families = parse(self.metrics.exposition().decode("utf-8"))
        self.assertEqual(sum(samples(families, "swarm_containers").values()), 5)
        self.assertEqual(sum(samples(families, "swarm_node_memory_reserved_bytes").values()),
                         40 * MIB)


class SchedulingMetricsTests(MetricsTestCase):
    """
    Scheduling decisions by outcome, with their latency.
    """

    def test_failed_schedule_counted(self):
        """A create no node fits counts one no_matching_node decision; placed ones scheduled."""
        self.create("aa")
        self.create("bb")
        self.create("nowhere", node="n9", status=500)
        families = self.scrape()
        self.assertEqual(value(families, "swarm_scheduling_decisions_total",
                               outcome="scheduled"), 2)
        self.assertEqual(value(families, "swarm_scheduling_decisions_total",
                               outcome="no_matching_node"), 1)
        self.assertEqual(value(families, "swarm_scheduling_duration_seconds_count",
                               outcome="scheduled"), 2)
        self.assertEqual(value(families, "swarm_scheduling_duration_seconds_count",
                               outcome="no_matching_node"), 1)

    def test_no_healthy_node(self):
        """With every engine unhealthy, a create counts a no_healthy_node decision."""
        for engine in self.cluster.engines.values():
            engine._set_state("Unhealthy")
        self.create("aa", status=500)
        families = self.scrape()
        self.assertEqual(value(families, "swarm_scheduling_decisions_total",
                               outcome="no_healthy_node"), 1)
        self.assertEqual(value(families, "swarm_engines", state="Unhealthy"), 2)
        self.assertEqual(value(families, "swarm_engines", state="Healthy"), 0)

    def test_scheduler_attributes_pass_through(self):
        """The timed scheduler reads and writes the scheduler's own attributes."""
        scheduler = self.cluster.scheduler
        self.assertIsInstance(scheduler, _metrics.TimedScheduler)
        self.assertEqual(scheduler.strategy.name, "spread")
        filters = scheduler.filters
        scheduler.filters = filters[:1]
        self.assertEqual(scheduler._scheduler.filters, filters[:1])


class RequestMetricsTests(MetricsTestCase):
    """
    API requests by route template, method and status.
    """

    def test_requests_by_route_template(self):
        """Requests count by route template, never by raw path, from both lanes."""
        self.create("web", node="n1")
        self.request("GET", "/containers/json")
        self.request("GET", "/v1.41/containers/json")
        self.request("GET", "/containers/web/json")
        self.request("GET", "/v1.41/containers/n1/web/json")
        self.request("GET", "/containers/missing/json")
        self.request("GET", "/containers/web/top")
        self.request("GET", "/no/such/route")
        families = self.scrape()
        requests = samples(families, "swarm_api_requests_total")

        def count(route, method, code):
            return requests.get(frozenset({"route": route, "method": method,
                                           "code": str(code)}.items()))

        self.assertEqual(count("/containers/json", "GET", 200), 2)
        self.assertEqual(count("/containers/{name}/json", "GET", 200), 2)
        self.assertEqual(count("/containers/{name}/json", "GET", 404), 1)
        self.assertEqual(count("/containers/create", "POST", 201), 1)
        self.assertEqual(count("/containers/{name}/start", "POST", 204), 1)
        self.assertEqual(count("/containers/{name}/top", "GET", 200), 1)
        self.assertEqual(count("unmatched", "GET", 404), 1)
        routes = {dict(labels)["route"] for labels in requests}
        for route in routes:
            self.assertNotIn("web", route)
            self.assertNotIn("missing", route)
        self.assertEqual(
            value(families, "swarm_api_request_duration_seconds_count",
                  route="/containers/json", method="GET"), 2)

    def test_unknown_methods_bounded(self):
        """A made-up method is counted as other, not by its name."""
        self.request("BREW", "/containers/json")
        requests = samples(self.scrape(), "swarm_api_requests_total")
        methods = {dict(labels)["method"] for labels in requests}
        self.assertIn("other", methods)
        self.assertNotIn("BREW", methods)

    def test_scrape_counted(self):
        """A scrape counts itself under the /metrics route."""
        self.scrape()
        families = self.scrape()
        self.assertEqual(value(families, "swarm_api_requests_total", route="/metrics",
                               method="GET", code="200"), 1)

    def test_metrics_methods(self):
        """POST /metrics is a Docker-style 405; HEAD has no body."""
        code, _, content = self.request("POST", "/metrics")
        self.assertEqual(code, 405)
        self.assertIn("message", json.loads(content))
        code, _, content = self.request("HEAD", "/metrics")
        self.assertEqual((code, content), (200, b""))


class OtherMetricsTests(MetricsTestCase):
    """
    Events, engine errors and refreshes, discovery errors, hijacked
    sessions and the manager's role.
    """

    def test_events_relayed(self):
        """Every event published to /events subscribers is counted by type."""
        engine = self.cluster.engine("n1")
        for action in ("create", "start"):
            # The way an engine's event reaches the cluster.
            self.cluster.engine_event(engine, {"Type": "container", "Action": action,
                                               "Actor": {"ID": "c1"}})
        self.cluster.engine_event(engine, {"Type": "made-up", "Action": "x"})
        self.cluster.publish_event({"Type": "swarm", "Action": "leader_elected"})
        families = self.scrape()
        self.assertEqual(samples(families, "swarm_events_relayed_total"), {
            frozenset({"type": "container"}.items()): 2,
            frozenset({"type": "swarm"}.items()): 1,
            frozenset({"type": "other"}.items()): 1,
        })

    def test_engine_errors(self):
        """Failed engine calls count by node and kind."""
        engine = self.cluster.engine("n1")
        engine.failed(EngineUnreachable(engine.address, "connection refused"))
        engine.failed(EngineUnreachable(engine.address, "connection refused"))
        engine.failed(EngineError(500, "boom"))
        families = self.scrape()
        self.assertEqual(value(families, "swarm_engine_errors_total", node="n1",
                               kind="unreachable"), 2)
        self.assertEqual(value(families, "swarm_engine_errors_total", node="n1",
                               kind="error"), 1)
        self.assertIsNone(value(families, "swarm_engine_errors_total", node="n2",
                                kind="unreachable"))

    def test_unreachable_engine(self):
        """An engine that stops answering counts errors and failed refreshes, turns Unhealthy."""
        self.manager.engines.engines[ADDRESSES[0]].unreachable = True
        for _ in range(60):
            self.clock.advance(5)
            self.manager.engines.flush()
        families = self.scrape()
        self.assertGreater(value(families, "swarm_engine_errors_total", node="n1",
                                 kind="unreachable"), 0)
        self.assertGreater(value(families, "swarm_engine_refresh_duration_seconds_count",
                                 outcome="failed"), 0)
        self.assertEqual(value(families, "swarm_engines", state="Unhealthy"), 1)

    def test_refresh_latency(self):
        """Each engine refresh run is observed with the time it took."""
        self.clock.advance(61)
        self.manager.engines.flush()
        self.clock.advance(0)
        families = self.scrape()
        self.assertGreaterEqual(value(families, "swarm_engine_refresh_duration_seconds_count",
                                      outcome="ok"), 2)

    def test_discovery_errors(self):
        """An error of the discovery watch is counted."""
        self.cluster._discovery.fail("store unreachable")
        self.clock.advance(0)
        families = self.scrape()
        self.assertEqual(value(families, "swarm_discovery_errors_total"), 1)

    def test_hijacked_sessions(self):
        """The hijack counters appear as sessions open and opened."""
        counters = _Counters(open=3, total=7)
        metrics = ManagerMetrics(self.cluster, hijacks=counters)
        families = parse(metrics.exposition().decode("utf-8"))
        self.assertEqual(value(families, "swarm_hijacked_sessions"), 3)
        self.assertEqual(value(families, "swarm_hijacked_sessions_opened_total"), 7)

    def test_role(self):
        """With an election the role is reported (1 primary, 0 replica); without, absent."""
        election = _Election(True)
        metrics = ManagerMetrics(self.cluster, election=election)
        self.assertEqual(value(parse(metrics.exposition().decode()), "swarm_manager_primary"),
                         1)
        election.primary = False
        self.assertEqual(value(parse(metrics.exposition().decode()), "swarm_manager_primary"),
                         0)
        self.assertNotIn("swarm_manager_primary", self.scrape())

    def test_registries_apart(self):
        """Two managers' metrics do not share a registry (nor the global one)."""
        from prometheus_client import REGISTRY

        other = MemoryManager(ADDRESSES, metrics=True)
        self.addCleanup(other.stop)
        self.create("aa", node="n1")
        self.assertIsNot(other.metrics.registry, self.metrics.registry)
        self.assertEqual(samples(parse(other.metrics.exposition().decode()),
                                 "swarm_containers"), {})
        self.assertNotIn("swarm_containers",
                         {family.name for family in REGISTRY.collect()})


class MetricsListenerTests(SynchronousTestCase):
    """
    The C{--metrics-addr} listener's site and flag.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES, metrics=True)
        self.addCleanup(self.manager.stop)
        self.stub = StubTreq(metrics_site(self.manager.metrics).resource)

    def get(self, method, path):
        response = self.successResultOf(self.stub.request(method, "http://m" + path))
        return response.code, self.successResultOf(response.content())

    def test_serves_metrics(self):
        """/metrics answers the manager's metrics."""
        code, content = self.get("GET", "/metrics")
        self.assertEqual(code, 200)
        self.assertEqual(value(parse(content.decode()), "swarm_engines", state="Healthy"), 2)

    def test_nothing_else(self):
        """Any other path is a Docker-style 404: the Docker API is not served there."""
        code, content = self.get("GET", "/containers/json")
        self.assertEqual(code, 404)
        self.assertIn("message", json.loads(content))

    def test_flag(self):
        """--metrics-addr host:port reaches the config as a listening address; garbage not."""
        from swarmd.tap import ManageOptions

        options = ManageOptions()
        options.parseOptions(["--metrics-addr", "127.0.0.1:9323", "nodes://127.0.0.1:2375"])
        self.assertEqual(options.config.metrics_addr, "tcp://127.0.0.1:9323")
        options = ManageOptions()
        options.parseOptions(["nodes://127.0.0.1:2375"])
        self.assertIsNone(options.config.metrics_addr)
        self.assertRaises(UsageError, ManageOptions().parseOptions,
                          ["--metrics-addr", "ftp://x", "nodes://127.0.0.1:2375"])


class CooperatorTests(SynchronousTestCase):
    """
    With a cooperator (as C{swarm manage} has), a scrape is read at once
    and formatted piece by piece, one piece per reactor turn.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES, metrics=True)
        self.addCleanup(self.manager.stop)
        self.clock = self.manager.clock
        self.manager.metrics.cooperator = _metrics.cooperator(self.clock)
        self.patch(_exposition, "CHUNK", 3)

    def test_pieces_between_requests(self):
        """Other requests are answered between pieces; the whole equals a scrape at once."""
        metrics = self.manager.metrics
        reading = metrics.read()
        whole = metrics.render(reading)
        self.assertEqual(b"".join(metrics.render_pieces(reading, size=3)), whole)
        self.assertGreater(len(list(metrics.render_pieces(reading, size=3))),
                           len(list(metrics.render_pieces(reading, size=1000))))
        answer = self.manager.stub.request("GET", "http://swarm/metrics")
        self.assertNoResult(answer)
        self.clock.advance(0)
        self.clock.advance(0)
        self.assertNoResult(answer)
        # A request while the scrape is being formatted is answered at once.
        ping = self.manager.stub.request("GET", "http://swarm/_ping")
        self.assertEqual(self.successResultOf(ping).code, 200)
        self.assertNoResult(answer)
        # What changes after the reading is not in this scrape.
        self.manager.cluster.set_addresses([ADDRESSES[0]])
        for _ in range(1000):
            self.clock.advance(0)
        self.manager.stub.flush()
        response = self.successResultOf(answer)
        self.assertEqual(response.code, 200)
        families = parse(self.successResultOf(response.content()).decode())
        self.assertEqual(value(families, "swarm_engines", state="Healthy"), 2)

    def test_pieces_parse_as_one(self):
        """Pieces of one family carry its HELP and TYPE lines once."""
        text = self.manager.metrics.render(self.manager.metrics.read()).decode()
        for name, _, _, _ in METRICS:
            self.assertLessEqual(text.count("# TYPE %s " % (name,)), 1, name)
        parse(text)

    def test_failure(self):
        """A formatting failure is a Docker-style 500, logged."""
        def broken(reading, size=3):
            yield b"# partial\n"
            raise RuntimeError("no")

        self.patch(self.manager.metrics, "render_pieces", broken)
        answer = self.manager.stub.request("GET", "http://swarm/metrics")
        for _ in range(10):
            self.clock.advance(0)
        self.manager.stub.flush()
        response = self.successResultOf(answer)
        self.assertEqual(response.code, 500)
        self.assertIn("message", json.loads(self.successResultOf(response.content())))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class ReferenceTests(SynchronousTestCase):
    """
    L{METRICS} (and so docs/metrics.md) says exactly what the registry holds.
    """

    def test_metrics_match_registry(self):
        """Every metric the registry exposes is in METRICS with its type and labels, and back."""
        manager = MemoryManager(ADDRESSES)
        self.addCleanup(manager.stop)
        code, _, content = self.successResultOf(manager.request(
            "POST", "/containers/create?name=xx", {"Image": "busybox"}))
        self.assertEqual(code, 201, content)
        metrics = ManagerMetrics(manager.cluster, election=_Election(True), api=manager.api)
        # Give every labelled metric a sample so its labels show.
        metrics.scheduled(None, 0.001)
        metrics.event_published({"Type": "container"})
        metrics.engine_failed(manager.cluster.engine("n1"), EngineError(500, "x"))
        metrics.engine_refreshed(manager.cluster.engine("n1"), 0.1, True)
        metrics.discovery_failed(Failure(Exception("x")))
        metrics.request_done(_Request(), 0.01)
        exposed = {}
        for family in text_string_to_metric_families(metrics.exposition().decode()):
            if family.name.endswith("_created") and family.type == "gauge":
                # When each counter and histogram series started (the
                # parser reads them as gauges of their own).
                continue
            labels = set()
            for sample in family.samples:
                labels.update(k for k in sample.labels if k != "le")
            name = family.name + "_total" if family.type == "counter" else family.name
            exposed[name] = (family.type, tuple(sorted(labels)))
        documented = {name: (kind, tuple(sorted(labels)))
                      for name, kind, labels, _ in METRICS}
        self.maxDiff = None
        self.assertEqual(exposed, documented)

    def test_docs_current(self):
        """docs/metrics.md is what reference() writes (python -m swarmd.metrics)."""
        with open(DOCS, encoding="utf-8") as f:
            self.assertEqual(f.read(), reference())

    def test_every_metric_documented(self):
        """The reference page has a row for every metric, with its labels."""
        page = reference()
        for name, kind, labels, meaning in METRICS:
            self.assertIn("| `%s` | %s | %s |" % (
                name, kind, ", ".join("`%s`" % (label,) for label in labels) or "-"), page)
            self.assertTrue(meaning)


class _Counters:
    def __init__(self, open, total):
        self.open = open
        self.total = total


class _Election:
    def __init__(self, primary):
        self.primary = primary

    def is_primary(self):
        return self.primary


class _Request:
    method = b"GET"
    code = 200
    route_template = "/_ping"
