"""
L{swarmd._pool}: connections to engines and stores write no log line each.
"""

from twisted.internet import reactor
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent
from twisted.web.resource import Resource
from twisted.web.server import Site

from swarmd._pool import quiet_pool


class _Hello(Resource):
    isLeaf = True

    def render(self, request):
        return b"hello"


class QuietPoolTests(TestCase):
    """
    A request through a quiet pool leaves no "Starting factory" line.
    """

    async def test_no_line_per_connection(self):
        """A pooled connection made and closed logs nothing about its factory."""
        site = Site(_Hello())
        site.noisy = False
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        pool = quiet_pool(reactor)
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        agent = Agent(reactor, pool=pool)
        url = "http://127.0.0.1:%d/" % (port.getHost().port,)
        response = await agent.request(b"GET", url.encode())
        from twisted.web.client import readBody

        self.assertEqual(await readBody(response), b"hello")
        await pool.closeCachedConnections()
        texts = [e.get("log_format", "") or "" for e in logged]
        self.assertFalse([t for t in texts if "factory" in t.lower()], texts)


class ClosedConnectionTests(TestCase):
    """
    A closed pooled connection leaves no reference cycle: reference counting
    frees it, even if the manager froze it while it was open.
    """

    async def test_no_cycle_left(self):
        """After the pool closed its connection, the collector finds none of it."""
        import gc

        site = Site(_Hello())
        site.noisy = False
        port = reactor.listenTCP(0, site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        pool = quiet_pool(reactor)
        agent = Agent(reactor, pool=pool)
        url = "http://127.0.0.1:%d/" % (port.getHost().port,)
        from twisted.web.client import readBody

        gc.collect()
        self.addCleanup(gc.set_debug, 0)
        gc.set_debug(gc.DEBUG_SAVEALL)
        for _ in range(3):
            response = await agent.request(b"GET", url.encode())
            self.assertEqual(await readBody(response), b"hello")
            await pool.closeCachedConnections()
        from twisted.internet.task import deferLater

        await deferLater(reactor, 0.05, lambda: None)
        gc.collect()
        gc.set_debug(0)
        found = sorted({type(o).__name__ for o in gc.garbage
                        if type(o).__name__ in ("Client", "Connector", "_WrappingFactory",
                                                "QuietFactory")})
        del gc.garbage[:]
        self.assertEqual(found, [])
