"""
Consul discovery against L{FakeConsul}, an in-process fake written from
Consul's documented HTTP API (no Consul server can be installed here):
the conformance suite over loopback, sessions with a TTL that delete their
keys, blocking queries, garbage; and the fake's own documented behaviour.
"""

from __future__ import annotations

import json

from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import Agent, HTTPConnectionPool

from swarmd.discovery import DiscoveryError, discovery_for
from swarmd.discovery._consul import ConsulDiscovery
from swarmd.testing.conformance.discovery import make_idiscovery_tests
from swarmd.testing.kvstores.consul import FakeConsul
from swarmd.testing.kvstores.fixtures import real_source

PREFIX = "swarmtest/docker/swarm/nodes/"


def serve(testcase, clock=None):
    consul = FakeConsul(clock=clock or reactor)
    port = consul.listen()
    testcase.addCleanup(consul.stop)
    return consul, port


def consul_fixture(testcase, entries):
    consul, port = serve(testcase)

    def make(address, clock):
        return ConsulDiscovery([address], "swarmtest", 1.0, 10.0, (), clock, reactor=reactor)

    _, source = real_source(testcase, ("127.0.0.1", port), entries, make,
                            lambda values: consul.set_entries(PREFIX, values))
    return source


class ConsulConformanceTests(make_idiscovery_tests(consul_fixture, real=True)):
    """
    Consul discovery behaves as every IDiscovery does (against the fake).
    """


class ConsulURLTests(SynchronousTestCase):
    """
    consul:// URLs and options.
    """

    def test_layout(self):
        """
        The key of an address is classic Swarm's, kv.path changes its middle.
        """
        provider = discovery_for("consul://127.0.0.1:8500/swarm", clock=Clock())
        self.assertEqual(provider.key("h:1"), "swarm/docker/swarm/nodes/h:1")
        provider = discovery_for("consul://127.0.0.1:8500/swarm", options=[("kv.path", "n")],
                                 clock=Clock())
        self.assertEqual(provider.key("h:1"), "swarm/n/h:1")

    def test_unknown_option(self):
        """
        An unknown option is refused.
        """
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for("consul://127.0.0.1:8500/p", options=[("kv.ttl", "1")], clock=Clock())
        self.assertIn("unknown discovery option 'kv.ttl' for consul", str(caught.exception))


class ConsulSessionTests(TestCase):
    """
    Registration with sessions; the fake's sessions and blocking queries run
    on a Clock, its HTTP on loopback.
    """

    async def test_session_ttl_deletes_key(self):
        """
        register acquires the key with a session; renewing keeps it; a
        session not renewed within its TTL goes and its key with it; the
        next register makes a new session.
        """
        clock = Clock()
        consul, port = serve(self, clock)
        provider = ConsulDiscovery([f"127.0.0.1:{port}"], "swarmtest", 1.0, 3.0, (), Clock(),
                                   reactor=reactor)
        self.addCleanup(provider.close)
        await provider.register("127.0.0.1:2375")
        session = provider._session
        self.assertEqual(consul.sessions[session].ttl, 10.0)  # raised to Consul's minimum
        self.assertEqual(consul.kv[PREFIX + "127.0.0.1:2375"]["Session"], session)
        clock.advance(9)
        await provider.register("127.0.0.1:2375")
        clock.advance(9)
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        clock.advance(1.5)
        self.assertEqual(await provider.fetch(), [])
        await provider.register("127.0.0.1:2375")
        self.assertNotEqual(provider._session, session)
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])

    async def test_garbage(self):
        """
        A server answering HTML is one clear DiscoveryError.
        """
        consul, port = serve(self)
        consul.garbage = True
        provider = ConsulDiscovery([f"127.0.0.1:{port}"], "p", 1.0, 10.0, (), Clock(),
                                   reactor=reactor)
        self.addCleanup(provider.close)
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn("answered garbage", str(e))
        else:
            self.fail("fetch did not fail")


def watch_answer(d):
    """
    @return: a list that gets an item when C{d} has its result.
    """
    answered = []

    def note(result):
        answered.append(True)
        return result

    d.addBoth(note)
    return answered


class FakeConsulTests(TestCase):
    """
    The fake follows Consul's documented API.
    """

    def setUp(self):
        self.clock = Clock()
        self.consul, port = serve(self, self.clock)
        self.base = f"http://127.0.0.1:{port}"
        self.pool = HTTPConnectionPool(reactor, persistent=False)
        self.http = HTTPClient(Agent(reactor, pool=self.pool))

    async def get(self, path, **params):
        response = await self.http.get(self.base + path, params=params)
        body = await response.content()
        return response, body

    async def blocked(self):
        """
        Wait until the fake holds a blocking query.
        """
        while not self.consul._waiting:
            await deferLater(reactor, 0.01, lambda: None)

    async def test_missing_key_404_with_index(self):
        """
        Reading a missing key answers 404 with an X-Consul-Index.
        """
        response, _ = await self.get("/v1/kv/nothing", recurse="")
        self.assertEqual(response.code, 404)
        self.assertTrue(response.headers.getRawHeaders(b"X-Consul-Index"))

    async def test_blocking_query_wakes_on_change(self):
        """
        A read with ?index= at the current index waits for a change, then
        answers with the new index.
        """
        self.consul.put("a/x", "1")
        response, _ = await self.get("/v1/kv/a/", recurse="")
        index = int(response.headers.getRawHeaders(b"X-Consul-Index")[0])
        waiting = self.http.get(self.base + "/v1/kv/a/",
                                params={"recurse": "", "index": str(index), "wait": "60s"})
        answered = watch_answer(waiting)
        await self.blocked()
        self.assertEqual(answered, [])
        self.consul.put("a/y", "2")
        response = await waiting
        entries = json.loads(await response.content())
        self.assertEqual([e["Key"] for e in entries], ["a/x", "a/y"])
        self.assertGreater(int(response.headers.getRawHeaders(b"X-Consul-Index")[0]), index)

    async def test_blocking_query_wait_runs_out(self):
        """
        With no change, a blocking query answers when ?wait= runs out.
        """
        self.consul.put("a/x", "1")
        index = self.consul.index
        waiting = self.http.get(self.base + "/v1/kv/a/",
                                params={"recurse": "", "index": str(index), "wait": "5s"})
        answered = watch_answer(waiting)
        await self.blocked()
        self.clock.advance(4)
        await deferLater(reactor, 0.05, lambda: None)
        self.assertEqual(answered, [])
        self.clock.advance(1)
        response = await waiting
        self.assertEqual(response.code, 200)
        await response.content()

    async def test_session_ttl_bounds(self):
        """
        A session TTL under 10s is refused with 400, as Consul does.
        """
        response = await self.http.put(self.base + "/v1/session/create",
                                  json.dumps({"TTL": "5s"}).encode())
        self.assertEqual(response.code, 400)
        await response.content()

    async def test_renew_unknown_session(self):
        """
        Renewing a session that is gone answers 404.
        """
        response = await self.http.put(self.base + "/v1/session/renew/nope")
        self.assertEqual(response.code, 404)
        await response.content()


class NotConsulTests(TestCase):
    """
    A server that is not Consul is one clear error, not an empty cluster.
    """

    async def test_404_without_index(self):
        """
        A 404 without X-Consul-Index (any web server) is not 'no nodes'.
        """
        from twisted.web.resource import NoResource
        from twisted.web.server import Site

        port = reactor.listenTCP(0, Site(NoResource()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        provider = ConsulDiscovery([f"127.0.0.1:{port.getHost().port}"], "p", 1.0, 10.0, (),
                                   Clock(), reactor=reactor)
        self.addCleanup(provider.close)
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn("without X-Consul-Index", str(e))
        else:
            self.fail("fetch did not fail")
