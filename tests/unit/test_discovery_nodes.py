"""
Tests for L{swarmd.discovery.NodesDiscovery}: C{nodes://} and bare lists.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.discovery import (
    DiscoveryError,
    DiscoveryNotSupported,
    NodesDiscovery,
    discovery_for,
)
from swarmd.testing.conformance.discovery import DiscoverySource, make_idiscovery_tests


def nodes_fixture(testcase, entries):
    """
    A nodes:// URL listing C{entries}.
    """
    clock = Clock()
    provider = discovery_for("nodes://" + ",".join(entries), clock=clock)
    return DiscoverySource(provider=provider, clock=clock)


def bare_fixture(testcase, entries):
    """
    A bare list (no scheme) of C{entries}.
    """
    clock = Clock()
    provider = discovery_for(",".join(entries), clock=clock)
    return DiscoverySource(provider=provider, clock=clock)


class NodesConformanceTests(make_idiscovery_tests(nodes_fixture, static=True)):
    """
    nodes:// passes the IDiscovery suite.
    """


class BareListConformanceTests(make_idiscovery_tests(bare_fixture, static=True)):
    """
    A bare list passes the IDiscovery suite.
    """


class NodesDiscoveryTests(SynchronousTestCase):
    """
    What is particular to nodes://.
    """

    def setUp(self):
        self.clock = Clock()

    def make(self, url):
        return discovery_for(url, clock=self.clock)

    def test_scheme_and_type(self):
        """
        nodes:// and bare lists both build a NodesDiscovery with scheme nodes.
        """
        for url in ("nodes://10.0.0.1:2375", "10.0.0.1:2375", "unix:///run/e1.sock"):
            provider = self.make(url)
            self.assertIsInstance(provider, NodesDiscovery)
            self.assertEqual(provider.scheme, "nodes")

    def test_ranges_ipv6_unix_dedup(self):
        """
        The list expands ranges, keeps IPv6 and unix entries, trims spaces
        and drops duplicates in order.
        """
        provider = self.make(
            "nodes://10.0.0.[1:3]:2375, [::1]:2375 ,unix:///run/e1.sock,10.0.0.2:2375,"
            "unix:///run/e2.sock"
        )
        self.assertEqual(
            self.successResultOf(provider.fetch()),
            ["10.0.0.1:2375", "10.0.0.2:2375", "10.0.0.3:2375", "[::1]:2375",
             "unix:///run/e1.sock", "unix:///run/e2.sock"],
        )

    def test_bare_unix_list(self):
        """
        A bare list may start with a unix:// entry.
        """
        provider = self.make("unix:///run/e1.sock,unix:///run/e2.sock,127.0.0.1:2375")
        self.assertEqual(self.successResultOf(provider.fetch()),
                         ["unix:///run/e1.sock", "unix:///run/e2.sock", "127.0.0.1:2375"])

    def test_watch_next_turn(self):
        """
        watch does not call back inside watch(), but on the next clock turn.
        """
        seen = []
        self.make("nodes://10.0.0.1:2375").watch(seen.append, seen.append)
        self.assertEqual(seen, [])
        self.clock.advance(0)
        self.assertEqual(seen, [["10.0.0.1:2375"]])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_bad_entry_hint(self):
        """
        A bad entry is refused with Go's message and a hint about the
        discovery kind, as classic Swarm's nodes discovery does.
        """
        with self.assertRaises(DiscoveryError) as caught:
            self.make("abcdef0123456789")
        self.assertEqual(
            str(caught.exception),
            "address abcdef0123456789: missing port in address, please check you are "
            "using the correct discovery (nodes://host:port,..., file:///path, ...)",
        )

    def test_empty_item(self):
        """
        An empty item between commas is an error.
        """
        with self.assertRaises(DiscoveryError) as caught:
            self.make("nodes://10.0.0.1:2375,,10.0.0.2:2375")
        self.assertIn("empty address", str(caught.exception))

    def test_empty_list(self):
        """
        nodes:// with nothing after it is an error.
        """
        with self.assertRaises(DiscoveryError) as caught:
            self.make("nodes://")
        self.assertEqual(str(caught.exception),
                         "nodes discovery needs engine addresses: nodes://host:port,host:port")

    def test_register_message(self):
        """
        register fails with DiscoveryNotSupported saying why.
        """
        failure = self.failureResultOf(
            self.make("nodes://10.0.0.1:2375").register("10.0.0.9:2375"),
            DiscoveryNotSupported,
        )
        self.assertEqual(failure.getErrorMessage(),
                         "nodes discovery cannot register engines: list them in the "
                         "nodes:// URL")

    def test_direct_construction(self):
        """
        NodesDiscovery takes a list of entries directly.
        """
        provider = NodesDiscovery(["10.0.0.[1:2]:2375"], self.clock)
        self.assertEqual(provider.entries, ["10.0.0.1:2375", "10.0.0.2:2375"])
        with self.assertRaises(DiscoveryError):
            NodesDiscovery([], self.clock)
