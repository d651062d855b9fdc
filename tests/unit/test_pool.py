"""
L{swarmd._pool}: connections to engines and stores write no log line each,
and are freed by reference counting once closed.
"""

import gc

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Site

from swarmd._pool import quiet_pool
from swarmd.engine import EngineClient


class _Hello(Resource):
    isLeaf = True

    def render(self, request):
        return b"hello"


class _PoolTestCase(TestCase):
    """
    A quiet pool in front of a loopback server answering C{hello}.
    """

    def setUp(self):
        site = Site(_Hello())
        site.noisy = False
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.pool = quiet_pool(reactor)
        self.agent = Agent(reactor, pool=self.pool)
        self.url = ("http://127.0.0.1:%d/" % (port.getHost().port,)).encode()

    async def hello(self):
        """One request through the pool, then its connections closed."""
        response = await self.agent.request(b"GET", self.url)
        self.assertEqual(await readBody(response), b"hello")
        await self.pool.closeCachedConnections()


class QuietPoolTests(_PoolTestCase):
    """
    A request through a quiet pool leaves no "Starting factory" line.
    """

    async def test_no_line_per_connection(self):
        """A pooled connection made and closed logs nothing about its factory."""
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        await self.hello()
        texts = [e.get("log_format", "") or "" for e in logged]
        self.assertFalse([t for t in texts if "factory" in t.lower()], texts)


class ClosedConnectionTests(_PoolTestCase):
    """
    A closed pooled connection leaves no reference cycle: reference counting
    frees it, even if the manager froze it while it was open.
    """

    async def test_no_cycle_left(self):
        """After the pool closed its connection, the collector finds none of it."""
        gc.collect()
        self.addCleanup(gc.set_debug, 0)
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(3):
            await self.hello()
        await deferLater(reactor, 0.05, lambda: None)
        gc.collect()
        gc.set_debug(0)
        found = sorted({type(o).__name__ for o in gc.garbage
                        if type(o).__name__ in ("Client", "Connector", "_WrappingFactory",
                                                "QuietFactory")})
        del gc.garbage[:]
        self.assertEqual(found, [])


class _Json(Resource):
    isLeaf = True

    def render(self, request):
        request.setHeader(b"Content-Type", b"application/json")
        return b"{}"


class OneConnectionTests(TestCase):
    """
    A connection of its own (an engine client's pipelined batch read, as
    attach, exec and long answers make) leaves no reference cycle once
    closed either.
    """

    async def test_no_cycle_left(self):
        """After a batch read's connection closed, the collector finds none of it."""
        site = Site(_Json())
        site.noisy = False
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(client.close)
        gc.collect()
        self.addCleanup(gc.set_debug, 0)
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(3):
            self.assertEqual(await client.get_many(["/info", "/version"]), [{}, {}])
        await deferLater(reactor, 0.05, lambda: None)
        gc.collect()
        gc.set_debug(0)
        found = sorted({type(o).__name__ for o in gc.garbage
                        if type(o).__name__ in ("Client", "Connector", "_WrappingFactory",
                                                "_OneProtocol", "PipelinedGets")})
        del gc.garbage[:]
        self.assertEqual(found, [])
