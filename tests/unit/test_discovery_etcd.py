"""
etcd discovery against a real etcd (Debian's etcd-server) started on a
loopback port: the conformance suite over the v3 gateway and the v2 API,
registration under a lease, failover between endpoints, TLS with client
certificates, bad URLs and options.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.discovery import DiscoveryError, discovery_for
from swarmd.discovery._etcd import EtcdDiscovery
from swarmd.testing.conformance.discovery import make_idiscovery_tests
from swarmd.testing.kvstores.etcd import start_etcd
from swarmd.testing.kvstores.fixtures import real_source

PREFIX = "/swarmtest/docker/swarm/nodes/"


def _b64(text):
    return base64.b64encode(text.encode()).decode()


def _v3_write(etcd):
    def write(entries):
        wanted = list(dict.fromkeys(entries))
        held = etcd.call("/v3/kv/range",
                         {"key": _b64(PREFIX), "range_end": _b64(PREFIX[:-1] + "0")})
        ops = [{"request_delete_range": {"key": kv["key"]}} for kv in held.get("kvs", [])
               if base64.b64decode(kv["key"]).decode()[len(PREFIX):] not in wanted]
        ops += [{"request_put": {"key": _b64(PREFIX + e), "value": _b64(e)}} for e in wanted]
        answer = etcd.call("/v3/kv/txn", {"success": ops})
        return int(answer["header"]["revision"])
    return write


def etcd_fixture(testcase, entries):
    etcd = start_etcd(testcase)
    write = _v3_write(etcd)

    def make(address, clock):
        return EtcdDiscovery([address], "swarmtest", 1.0, 3.0, (), clock, reactor=reactor)

    _, source = real_source(testcase, ("127.0.0.1", etcd.port), entries, make, write)
    return source


class EtcdConformanceTests(make_idiscovery_tests(etcd_fixture, real=True)):
    """
    etcd v3 discovery behaves as every IDiscovery does.
    """


def _v2_write(etcd):
    def write(entries):
        wanted = list(dict.fromkeys(entries))
        held = etcd.v2("GET", "/swarmtest/docker/swarm/nodes?recursive=true")
        index = 0

        def walk(node, found):
            for child in node.get("nodes", []):
                if child.get("dir"):
                    walk(child, found)
                else:
                    found[child["value"]] = child["key"]
            return found

        for value, key in walk(held.get("node", {}), {}).items():
            if value not in wanted:
                index = etcd.v2("DELETE", quote(key, safe="/:"))["node"]["modifiedIndex"]
        for entry in wanted:
            key = quote(quote(entry, safe=":"), safe=":")
            answer = etcd.v2("PUT", "/swarmtest/docker/swarm/nodes/" + key, {"value": entry})
            index = answer["node"]["modifiedIndex"]
        return index
    return write


def etcd_v2_fixture(testcase, entries):
    etcd = start_etcd(testcase, v2=True)
    write = _v2_write(etcd)

    def make(address, clock):
        return EtcdDiscovery([address], "swarmtest", 1.0, 3.0, (("etcd.api", "v2"),), clock,
                             reactor=reactor)

    _, source = real_source(testcase, ("127.0.0.1", etcd.port), entries, make, write)
    return source


class EtcdV2ConformanceTests(make_idiscovery_tests(etcd_v2_fixture, real=True)):
    """
    etcd v2 (classic libkv layout) discovery behaves as every IDiscovery does.
    """


class EtcdURLTests(SynchronousTestCase):
    """
    etcd:// URLs and options are checked before anything starts.
    """

    def refused(self, url, options=()):
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for(url, options=options, clock=Clock())
        return str(caught.exception)

    def test_endpoints_and_prefix(self):
        """
        Several endpoints and a prefix are read; the key layout is classic Swarm's.
        """
        provider = discovery_for("etcd://127.0.0.1:2379,127.0.0.1:2380/a/b", clock=Clock())
        self.assertEqual(provider.endpoints, ["127.0.0.1:2379", "127.0.0.1:2380"])
        self.assertEqual(provider.key("10.0.0.1:2375"), "/a/b/docker/swarm/nodes/10.0.0.1:2375")

    def test_kv_path(self):
        """
        kv.path replaces docker/swarm/nodes.
        """
        provider = discovery_for("etcd://127.0.0.1:2379/p", options=[("kv.path", "x/y")],
                                 clock=Clock())
        self.assertEqual(provider.key("h:1"), "/p/x/y/h:1")

    def test_no_host(self):
        """
        A URL without host:port is refused with the expected form.
        """
        self.assertIn("etcd://host:port", self.refused("etcd:///prefix"))

    def test_bad_port(self):
        """
        A bad port is refused.
        """
        self.assertIn("invalid port", self.refused("etcd://127.0.0.1:99999/p"))

    def test_missing_port(self):
        """
        A host without port is refused.
        """
        self.assertIn("missing port", self.refused("etcd://127.0.0.1/p"))

    def test_unknown_option(self):
        """
        An unknown --discovery-opt key is refused, naming the known ones.
        """
        message = self.refused("etcd://127.0.0.1:2379/p", [("kv.nope", "1")])
        self.assertIn("unknown discovery option 'kv.nope'", message)
        self.assertIn("kv.path", message)

    def test_bad_api(self):
        """
        etcd.api is v2 or v3.
        """
        self.assertIn("v2 or v3", self.refused("etcd://127.0.0.1:2379/p", [("etcd.api", "v4")]))

    def test_cert_without_key(self):
        """
        kv.certfile without kv.keyfile is refused.
        """
        self.assertIn("go together",
                      self.refused("etcd://127.0.0.1:2379/p", [("kv.certfile", "/x")]))

    def test_missing_ca_file(self):
        """
        An unreadable kv.cacertfile is refused with its path.
        """
        options = [("kv.cacertfile", "/nonexistent/ca.pem")]
        self.assertIn("/nonexistent/ca.pem", self.refused("etcd://127.0.0.1:2379/p", options))


class EtcdStoreTests(TestCase):
    """
    Registration, failover, TLS and garbage against a real etcd.
    """

    def provider(self, endpoints, options=(), ttl=3.0, clock=None):
        provider = EtcdDiscovery(endpoints, "swarmtest", 1.0, ttl, options,
                                 clock or Clock(), reactor=reactor)
        self.addCleanup(provider.close)
        return provider

    async def test_register_under_lease(self):
        """
        register puts the address under a lease; the next register keeps the
        same lease alive; a revoked lease is granted again.
        """
        etcd = start_etcd(self)
        provider = self.provider([etcd.address])
        await provider.register("127.0.0.1:2375")
        lease = provider._lease
        self.assertTrue(lease)
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        held = etcd.call("/v3/kv/range", {"key": _b64(PREFIX + "127.0.0.1:2375")})
        self.assertEqual(int(held["kvs"][0]["lease"]), lease)
        await provider.register("127.0.0.1:2375")
        self.assertEqual(provider._lease, lease)
        etcd.call("/v3/kv/lease/revoke", {"ID": str(lease)})
        self.assertEqual(await provider.fetch(), [])
        await provider.register("127.0.0.1:2375")
        self.assertNotEqual(provider._lease, lease)
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])

    async def test_failover(self):
        """
        With a dead first endpoint, requests go to the next one.
        """
        from swarmd.testing.kvstores._process import free_port

        etcd = start_etcd(self)
        provider = self.provider([f"127.0.0.1:{free_port()}", etcd.address])
        await provider.register("127.0.0.1:2375")
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        self.assertEqual(provider.client.http.current, 1)

    async def test_unreachable(self):
        """
        No endpoint answering is one DiscoveryError naming each endpoint.
        """
        from swarmd.testing.kvstores._process import free_port

        port = free_port()
        provider = self.provider([f"127.0.0.1:{port}"])
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn(f"cannot reach etcd (127.0.0.1:{port}: connection refused)", str(e))
        else:
            self.fail("fetch did not fail")

    async def test_tls_client_certificates(self):
        """
        An etcd demanding client certificates is reached with kv.cacertfile,
        kv.certfile and kv.keyfile; without them it is refused.
        """
        from swarmd.testing.lab._tls import make_certificates

        tls = make_certificates(self.mktemp(), [])
        etcd = start_etcd(self, tls=tls)
        options = (("kv.cacertfile", tls.ca), ("kv.certfile", tls.cert), ("kv.keyfile", tls.key))
        provider = self.provider([etcd.address], options)
        await provider.register("127.0.0.1:2375")
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        anonymous = self.provider([etcd.address], options[:1])
        with self.assertRaises(DiscoveryError):
            await anonymous.fetch()

    async def test_garbage(self):
        """
        A server answering something that is not etcd's JSON is one clear
        DiscoveryError.
        """
        from twisted.web.resource import Resource
        from twisted.web.server import Site

        class Garbage(Resource):
            isLeaf = True

            def render(self, request):
                return b"<html>not etcd</html>"

        port = reactor.listenTCP(0, Site(Garbage()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        provider = self.provider([f"127.0.0.1:{port.getHost().port}"])
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn("answered garbage", str(e))
        else:
            self.fail("fetch did not fail")


class EtcdErrorPageTests(TestCase):
    """
    An error page from something that is not etcd is one line.
    """

    async def test_html_error_one_line(self):
        """
        A multi-line HTML error answer becomes one short line.
        """
        from twisted.web.resource import ErrorPage
        from twisted.web.server import Site

        page = ErrorPage(501, "Unsupported method", "line one\nline two\n" + "x" * 300)
        port = reactor.listenTCP(0, Site(page), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        provider = EtcdDiscovery([f"127.0.0.1:{port.getHost().port}"], "p", 1.0, 3.0, (),
                                 Clock(), reactor=reactor)
        self.addCleanup(provider.close)
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn("answered 501", str(e))
            self.assertNotIn("\n", str(e))
            self.assertLess(len(str(e)), 200)
        else:
            self.fail("fetch did not fail")


class EtcdWatchRecoveryTests(TestCase):
    """
    The v3 watch after an outage: resumes from its revision, or reads again
    when etcd compacted that revision away.
    """

    async def test_compacted_while_cut(self):
        """
        Changes made while the watch is cut off and then compacted away are
        not lost: the watch reads the keys again and calls back once with
        the final list.
        """
        from twisted.internet.task import deferLater

        from swarmd.testing.kvstores.proxy import CutProxy

        etcd = start_etcd(self)
        proxy = CutProxy(("127.0.0.1", etcd.port)).start()
        self.addCleanup(proxy.stop)
        clock = Clock()
        provider = EtcdDiscovery([proxy.address], "swarmtest", 1.0, 3.0, (), clock,
                                 reactor=reactor)
        self.addCleanup(provider.close)
        write = _v3_write(etcd)
        write(["127.0.0.1:2375"])
        lists, failures = [], []
        watch = provider.watch(lists.append, failures.append)
        self.addCleanup(watch.stop)

        async def until(condition):
            for _ in range(3000):
                if condition():
                    return
                await deferLater(reactor, 0.01, lambda: None)
                if clock.getDelayedCalls():
                    clock.advance(min(c.getTime() for c in clock.getDelayedCalls())
                                  - clock.seconds())
            self.fail(f"not reached: lists {lists}, failures {failures}")

        await until(lambda: lists == [["127.0.0.1:2375"]])
        proxy.cut()
        await until(lambda: watch.failing)
        write(["127.0.0.1:2376"])
        revision = write(["127.0.0.1:2376", "127.0.0.1:2377"])
        etcd.call("/v3/kv/compaction", {"revision": str(revision)})
        proxy.restore()
        await until(lambda: len(lists) == 2 and not watch.failing)
        self.assertEqual(lists, [["127.0.0.1:2375"], ["127.0.0.1:2376", "127.0.0.1:2377"]])
        self.assertTrue(failures)


class EtcdV2LayoutTests(TestCase):
    """
    etcd.api=v2 writes what classic Swarm's join writes, and reads it.
    """

    async def test_classic_layout(self):
        """
        register puts /v2/keys/<prefix>/docker/swarm/nodes/<addr> = <addr>
        with the TTL, and a key written as classic join does is listed.
        """
        etcd = start_etcd(self, v2=True)
        provider = EtcdDiscovery([etcd.address], "swarmtest", 1.0, 7.0, (("etcd.api", "v2"),),
                                 Clock(), reactor=reactor)
        self.addCleanup(provider.close)
        await provider.register("10.0.0.1:2375")
        node = etcd.v2("GET", "/swarmtest/docker/swarm/nodes/10.0.0.1:2375")["node"]
        self.assertEqual((node["value"], node["ttl"] <= 7, node["ttl"] > 0),
                         ("10.0.0.1:2375", True, True))
        etcd.v2("PUT", "/swarmtest/docker/swarm/nodes/10.0.0.2:2375",
                {"value": "10.0.0.2:2375", "ttl": "30"})
        self.assertEqual(await provider.fetch(), ["10.0.0.1:2375", "10.0.0.2:2375"])
