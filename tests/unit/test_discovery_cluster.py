"""
What the manager does while its discovery fails: it keeps the engines it
knows, says so in its log and in the node table of C{docker info}, and
follows the discovery again when it answers.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api.info import node_table
from tests.unit.test_cluster import make_cluster


class DiscoveryOutageTests(SynchronousTestCase):
    """
    A discovery outage seen from the cluster.
    """

    def test_outage_keeps_engines_and_shows_error(self):
        """
        A failing discovery leaves the engines in place and adds a
        Discovery Error row; recovery with the same list clears it.
        """
        cluster, clients, clock, discovery = make_cluster(n=2)
        self.assertIsNone(cluster.discovery_error)
        discovery.fail("cannot reach etcd (127.0.0.1:2379: connection refused)")
        self.assertEqual(sorted(cluster.engines), ["127.0.0.1:2376", "127.0.0.1:2377"])
        self.assertEqual(cluster.discovery_error,
                         "cannot reach etcd (127.0.0.1:2379: connection refused)")
        rows = dict(node_table(cluster, "spread", ["health"]))
        self.assertEqual(rows["Discovery Error"],
                         "cannot reach etcd (127.0.0.1:2379: connection refused) "
                         "(serving the last known nodes)")
        discovery.set_entries(list(discovery.entries))
        self.assertIsNone(cluster.discovery_error)
        self.assertNotIn("Discovery Error", dict(node_table(cluster, "spread", ["health"])))

    def test_outage_then_new_engine(self):
        """
        After an outage, a changed list adds its new engine and clears the
        error.
        """
        cluster, clients, clock, discovery = make_cluster(n=1)
        discovery.fail("etcd is down")
        discovery.set_entries(["127.0.0.1:2376", "127.0.0.1:2377"])
        clock.advance(0)
        self.assertEqual(sorted(cluster.engines), ["127.0.0.1:2376", "127.0.0.1:2377"])
        self.assertIsNone(cluster.discovery_error)
