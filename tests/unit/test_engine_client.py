"""
Tests for L{swarmd.engine.client.EngineClient}'s connections, over a real
loopback server.
"""

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.resource import Resource
from twisted.web.server import Site

from swarmd.engine import EngineClient
from swarmd.engine import client as client_module


class _Ping(Resource):
    isLeaf = True

    def render(self, request):
        return b"OK"


class _CountingSite(Site):
    """
    A site counting the connections it accepted.
    """

    noisy = False

    def __init__(self):
        Site.__init__(self, _Ping())
        self.accepted = 0

    def buildProtocol(self, addr):
        self.accepted += 1
        return Site.buildProtocol(self, addr)

    def log(self, request):
        pass


class IdleConnectionTests(TestCase):
    """
    Pooled connections are dropped by the manager before the engine's side
    would drop them under a request.
    """

    @inlineCallbacks
    def setUp(self):
        self.patch(client_module, "IDLE_TIMEOUT", 0.2)
        self.site = _CountingSite()
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(self.site)
        self.addCleanup(port.stopListening)
        self.client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(self.client.close)

    @inlineCallbacks
    def ping(self):
        response = yield self.client.request("GET", "/_ping", timeout=10)
        self.assertEqual(response.code, 200)
        yield client_module.treq.content(response)

    @inlineCallbacks
    def test_busy_connection_reused(self):
        """Calls one after the other share one connection."""
        for _ in range(3):
            yield self.ping()
        self.assertEqual(self.site.accepted, 1)

    @inlineCallbacks
    def test_idle_connection_closed(self):
        """A connection idle for IDLE_TIMEOUT is closed; the next call opens another."""
        yield self.ping()
        yield deferLater(reactor, 0.4, lambda: None)
        yield self.ping()
        self.assertEqual(self.site.accepted, 2)
