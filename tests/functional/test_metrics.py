"""
The manager's C{/metrics} after a real run: the docker CLI against a real
manager over real engines, the metrics read back with prometheus-client's
own parser and checked against what the run did.
"""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from swarmd.testing.functional import FAST_REFRESH, ManagerTestCase
from swarmd.testing.manager import free_port

MIB = 1024 * 1024

#: The --metrics-addr listener of this module's manager (a manager of its
#: own: shared managers are keyed by their flags).
METRICS_PORT = free_port()


def parse(text):
    """
    @return: C{{(sample name, frozenset of labels): value}}.
    """
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] = sample.value
    return found


def get(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0)


class MetricsTests(ManagerTestCase):
    """
    C{/metrics} on the API listener and on C{--metrics-addr}.
    """

    manager_args = FAST_REFRESH + ("--metrics-addr", "127.0.0.1:%d" % (METRICS_PORT,))

    def scrape(self, url=None):
        url = url or self.manager.url + "/metrics"
        context = self.manager.ssl_context() if url.startswith("https") else None
        with urllib.request.urlopen(url, timeout=10, context=context) as answer:
            self.assertTrue(answer.headers["Content-Type"].startswith("text/plain"))
            return parse(answer.read().decode("utf-8"))

    def test_run_counted(self):
        """Containers created on each node, their memory and a failed schedule are in /metrics."""
        before = self.scrape()
        for name, node in (("m1", "n1"), ("m2", "n1"), ("m3", "n2")):
            self.docker("run", "-d", "--name", name, "-m", "16m", "-e",
                        "constraint:node==" + node, "busybox", "sleep", "300")
        failed = self.docker("run", "-d", "--name", "m4", "-e", "constraint:node==nowhere",
                             "busybox", "sleep", "300", ok=False)
        self.assertNotEqual(failed.returncode, 0)
        after = self.scrape()

        def delta(name, **labels):
            return get(after, name, **labels) - get(before, name, **labels)

        self.assertEqual(delta("swarm_containers", node="n1", state="running"), 2)
        self.assertEqual(delta("swarm_containers", node="n2", state="running"), 1)
        self.assertEqual(delta("swarm_node_memory_reserved_bytes", node="n1"), 32 * MIB)
        self.assertEqual(delta("swarm_node_memory_reserved_bytes", node="n2"), 16 * MIB)
        self.assertEqual(delta("swarm_scheduling_decisions_total", outcome="scheduled"), 3)
        self.assertEqual(delta("swarm_scheduling_decisions_total",
                               outcome="no_matching_node"), 1)
        self.assertEqual(delta("swarm_scheduling_duration_seconds_count",
                               outcome="no_matching_node"), 1)
        creates = {labels: v for (name, labels), v in after.items()
                   if name == "swarm_api_requests_total"
                   and dict(labels)["route"] == "/containers/create"}
        self.assertEqual(delta("swarm_api_requests_total", route="/containers/create",
                               method="POST", code="201"), 3, creates)
        self.assertEqual(delta("swarm_api_requests_total", route="/containers/create",
                               method="POST", code="500"), 1, creates)
        self.assertEqual(delta("swarm_api_requests_total", route="/containers/{name}/start",
                               method="POST", code="204"), 3)
        self.assertEqual(get(after, "swarm_engines", state="Healthy"), 2)
        # No container ID or name in any label.
        ids = self.docker("ps", "-aq", "--no-trunc").stdout.split()
        for _, labels in after:
            for _, value in labels:
                self.assertNotIn(value, ids)
                self.assertNotIn(value, ("m1", "m2", "m3", "m4"))

    def test_counts_match_ps(self):
        """Containers by node and state add up to what docker ps -a lists."""
        self.docker("run", "-d", "--name", "p1", "busybox", "sleep", "300")
        self.docker("create", "--name", "p2", "busybox", "true")
        listed = self.docker("ps", "-a", "--format", "{{.Names}} {{.State}}").stdout.split("\n")
        expected = {}
        for line in filter(None, listed):
            name, state = line.split()
            node = name.split("/")[0]
            expected[node, state] = expected.get((node, state), 0) + 1
        found = {(dict(labels)["node"], dict(labels)["state"]): v
                 for (name, labels), v in self.scrape().items() if name == "swarm_containers"}
        self.assertEqual(found, expected)

    def test_metrics_addr(self):
        """--metrics-addr serves the same metrics and nothing of the Docker API."""
        found = self.scrape("http://127.0.0.1:%d/metrics" % (METRICS_PORT,))
        self.assertEqual(get(found, "swarm_engines", state="Healthy"), 2)
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/containers/json" % (METRICS_PORT,),
                                   timeout=10)
        except urllib.error.HTTPError as e:
            self.assertEqual(e.code, 404)
        else:
            self.fail("the metrics listener served the Docker API")
