"""
Tests for L{swarmd.discovery._registry}: URL parsing, providers by scheme,
planned and unknown schemes, L{check_url}.
"""

from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.discovery import (
    PLANNED,
    DiscoveryError,
    DiscoveryNotSupported,
    FileDiscovery,
    NodesDiscovery,
    _registry,
    check_url,
    discovery_for,
    parse_url,
    register_backend,
    register_planned,
    schemes,
)

#: (URL, (scheme, rest))
URLS = [
    ("nodes://10.0.0.1:2375,10.0.0.2:2375", ("nodes", "10.0.0.1:2375,10.0.0.2:2375")),
    ("10.0.0.1:2375,10.0.0.2:2375", ("nodes", "10.0.0.1:2375,10.0.0.2:2375")),
    ("[::1]:2375", ("nodes", "[::1]:2375")),
    ("unix:///run/e1.sock,unix:///run/e2.sock",
     ("nodes", "unix:///run/e1.sock,unix:///run/e2.sock")),
    ("10.0.0.1:2375,unix:///run/e1.sock", ("nodes", "10.0.0.1:2375,unix:///run/e1.sock")),
    ("file:///etc/swarm/cluster", ("file", "/etc/swarm/cluster")),
    ("file://cluster", ("file", "cluster")),
    ("token://0123abcd", ("token", "0123abcd")),
    ("etcd://10.0.0.1:2379,10.0.0.2:2379/swarm", ("etcd", "10.0.0.1:2379,10.0.0.2:2379/swarm")),
    ("Consul://10.0.0.1:8500/swarm", ("consul", "10.0.0.1:8500/swarm")),
    ("zk://10.0.0.1:2181/swarm", ("zk", "10.0.0.1:2181/swarm")),
    ("bogus+x://thing", ("bogus+x", "thing")),
]


class RegistryIsolation:
    """
    Restore the registry after a test that registers schemes.
    """

    def isolate_registry(self):
        backends, planned = dict(_registry._backends), set(_registry._planned)

        def restore():
            _registry._backends.clear()
            _registry._backends.update(backends)
            _registry._planned.clear()
            _registry._planned.update(planned)

        self.addCleanup(restore)


class ParseURLTests(SynchronousTestCase):
    """
    Tests for L{parse_url}.
    """

    def test_table(self):
        """
        A URL splits into its lower-cased scheme and the rest; bare lists
        (also those with unix:// entries) are nodes.
        """
        for url, expected in URLS:
            self.assertEqual(parse_url(url), expected, url)

    def test_empty(self):
        """
        An empty URL is an error.
        """
        for url in ("", "   "):
            with self.assertRaises(DiscoveryError) as caught:
                parse_url(url)
            self.assertEqual(str(caught.exception), "empty discovery URL")


class DiscoveryForTests(RegistryIsolation, SynchronousTestCase):
    """
    Tests for L{discovery_for}, L{check_url} and the scheme registry.
    """

    def test_schemes(self):
        """
        nodes, file and classic Swarm's other four schemes are recognised,
        and none is a placeholder any more.
        """
        self.assertEqual(schemes(), ["consul", "etcd", "file", "nodes", "token", "zk"])
        self.assertEqual(PLANNED, ())

    def test_served(self):
        """
        nodes:// and bare lists give NodesDiscovery, file:// FileDiscovery,
        with the given heartbeat and clock.
        """
        clock = Clock()
        self.assertIsInstance(discovery_for("nodes://h:1", clock=clock), NodesDiscovery)
        self.assertIsInstance(discovery_for("h:1,h:2", clock=clock), NodesDiscovery)
        provider = discovery_for("file:///etc/cluster", heartbeat=5.0, clock=clock)
        self.assertIsInstance(provider, FileDiscovery)
        self.assertEqual(provider.heartbeat, 5.0)
        provider.watch(lambda entries: None, lambda failure: None)
        self.assertEqual(len(clock.getDelayedCalls()), 1)

    def test_default_clock(self):
        """
        Without a clock, the provider schedules on the global reactor.
        """
        provider = discovery_for("nodes://h:1")
        self.assertIs(provider._clock, reactor)

    def test_planned_not_supported(self):
        """
        A planned scheme answers DiscoveryNotSupported saying it is not
        supported yet; check_url says the same.
        """
        self.isolate_registry()
        register_planned("mesos")
        for scheme in ("mesos",):
            url = f"{scheme}://10.0.0.1:1234/swarm"
            message = (f"{scheme} discovery is not supported yet "
                       "(use nodes://host:port,... or file:///path)")
            with self.assertRaises(DiscoveryNotSupported) as caught:
                discovery_for(url, clock=Clock())
            self.assertEqual(str(caught.exception), message)
            with self.assertRaises(DiscoveryNotSupported) as checked:
                check_url(url)
            self.assertEqual(str(checked.exception), message)

    def test_unknown_scheme(self):
        """
        An unknown scheme is a DiscoveryError (not DiscoveryNotSupported)
        naming it and listing the known ones.
        """
        for url in ("bogus://x", "tcp://10.0.0.1:2375"):
            with self.assertRaises(DiscoveryError) as caught:
                check_url(url)
            self.assertNotIsInstance(caught.exception, DiscoveryNotSupported)
            scheme = url.split("://")[0]
            self.assertEqual(
                str(caught.exception),
                f"unsupported discovery scheme {scheme!r} in {url!r} (options: consul://, "
                "etcd://, file://, nodes://, token://, zk:// or a bare host:port,... list)",
            )

    def test_check_url_accepts(self):
        """
        check_url accepts what discovery_for builds, without reading files
        or scheduling anything.
        """
        for url in ("nodes://10.0.0.[1:3]:2375", "10.0.0.1:2375", "unix:///run/e.sock",
                    "file:///does/not/exist/yet"):
            self.assertIsNone(check_url(url))

    def test_check_url_refuses_entries(self):
        """
        check_url refuses a list with a bad entry, with the provider's
        message.
        """
        with self.assertRaises(DiscoveryError) as caught:
            check_url("nodes://10.0.0.[3:1]:2375")
        self.assertIn("invalid range '[3:1]' (start after end)", str(caught.exception))

    def test_options_passed(self):
        """
        A factory gets the rest of the URL, heartbeat, ttl, options and
        clock.
        """
        self.isolate_registry()
        calls = []

        def factory(rest, **settings):
            calls.append((rest, settings))
            return "provider"

        register_backend("kv", factory)
        clock = Clock()
        result = discovery_for("kv://10.0.0.1:1/p", heartbeat=2.0, ttl=9.0,
                               options=[("kv.path", "x")], clock=clock)
        self.assertEqual(result, "provider")
        self.assertEqual(calls, [("10.0.0.1:1/p", {"heartbeat": 2.0, "ttl": 9.0,
                                                   "options": (("kv.path", "x"),),
                                                   "clock": clock})])

    def test_bad_options(self):
        """
        Options must be (key, value) pairs.
        """
        with self.assertRaises(TypeError):
            discovery_for("nodes://h:1", options=["kv.path=x"], clock=Clock())

    def test_new_backend_replaces_planned(self):
        """
        A provider registered for a planned scheme replaces the placeholder,
        and a later register_planned does not undo it.
        """
        self.isolate_registry()
        register_planned("mesos")
        register_backend("mesos", lambda rest, **settings: ("mesos", rest))
        register_planned("mesos")
        self.assertEqual(discovery_for("mesos://h:2379/p", clock=Clock()), ("mesos", "h:2379/p"))

    def test_duplicate_backend(self):
        """
        Registering a second real provider for a scheme is refused.
        """
        self.isolate_registry()
        with self.assertRaises(ValueError) as caught:
            register_backend("nodes", lambda rest, **settings: None)
        self.assertEqual(str(caught.exception), "discovery scheme 'nodes' is already registered")

    def test_new_planned_scheme(self):
        """
        register_planned makes a new scheme known but not supported.
        """
        self.isolate_registry()
        register_planned("mesos")
        self.assertIn("mesos", schemes())
        with self.assertRaises(DiscoveryNotSupported):
            check_url("mesos://x")
