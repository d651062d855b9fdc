"""
Tests for L{swarmd.engine.client.EngineClient}'s connections, over a real
loopback server.
"""

from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
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
    Pooled connections for calls that change something are dropped by the
    manager before the engine's side would drop them under a request; those
    for calls Twisted sends again (GET, HEAD) are kept across refreshes.
    """

    @inlineCallbacks
    def setUp(self):
        self.patch(client_module, "IDLE_TIMEOUT", 0.2)
        # Far from the 0.4 s waits below: a loaded machine only lengthens them.
        self.patch(client_module, "READ_IDLE_TIMEOUT", 2.0)
        self.site = _CountingSite()
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(self.site)
        self.addCleanup(port.stopListening)
        self.client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(self.client.close)

    @inlineCallbacks
    def call(self, method="GET"):
        response = yield self.client.request(method, "/_ping", timeout=10)
        self.assertEqual(response.code, 200)
        yield client_module.treq.content(response)

    @inlineCallbacks
    def test_busy_connection_reused(self):
        """Calls one after the other share one connection."""
        for method in ("GET", "GET", "HEAD", "GET"):
            yield self.call(method)
        self.assertEqual(self.site.accepted, 1)

    @inlineCallbacks
    def test_idle_connection_closed(self):
        """
        A connection of POSTs idle for IDLE_TIMEOUT is closed; the next
        POST opens another.
        """
        yield self.call("POST")
        yield deferLater(reactor, 0.4, lambda: None)
        yield self.call("POST")
        self.assertEqual(self.site.accepted, 2)

    @inlineCallbacks
    def test_read_connection_kept_longer(self):
        """
        GETs reuse a connection idle for longer than IDLE_TIMEOUT (a
        refresh's ping does not connect again), until READ_IDLE_TIMEOUT.
        """
        yield self.call("GET")
        yield deferLater(reactor, 0.4, lambda: None)
        yield self.call("GET")
        self.assertEqual(self.site.accepted, 1)
        yield deferLater(reactor, 2.2, lambda: None)
        yield self.call("GET")
        self.assertEqual(self.site.accepted, 2)

    @inlineCallbacks
    def test_close_drops_both(self):
        """
        L{EngineClient.close} closes the idle connections of both kinds.
        """
        yield self.call("GET")
        yield self.call("POST")
        self.assertEqual(self.site.accepted, 2)
        yield self.client.close()
        yield self.call("GET")
        yield self.call("POST")
        self.assertEqual(self.site.accepted, 4)


class _DropSecond(Protocol):
    """
    An engine that answers the first request of each connection and drops
    the connection when the second arrives (a server closing an idle
    connection as the client reuses it).
    """

    def connectionMade(self):
        self.factory.connections += 1
        self._requests = 0
        self._data = b""

    def dataReceived(self, data):
        self._data += data
        while b"\r\n\r\n" in self._data:
            head, _, self._data = self._data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self._data = self._data[length:]
            self._requests += 1
            if self._requests > 1:
                self.transport.loseConnection()
                return
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")


class ReusedConnectionClosedTests(TestCase):
    """
    What keeping GET connections longer risks: the server closing one as a
    GET is sent on it.  The pool sends the GET again on a new connection.
    """

    @inlineCallbacks
    def setUp(self):
        factory = Factory.forProtocol(_DropSecond)
        factory.connections = 0
        self.factory = factory
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        self.client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(self.client.close)

    @inlineCallbacks
    def test_get_sent_again(self):
        """A GET on a connection the server drops is retried, and answered."""
        for _ in range(2):
            response = yield self.client.request("GET", "/_ping", timeout=10)
            self.assertEqual((yield client_module.treq.content(response)), b"OK")
        self.assertEqual(self.factory.connections, 2)


class _Raw(Resource):
    """
    Answers C{/containers/<id>/json} with a chunked body (no length), 404
    for C{gone}.
    """

    isLeaf = True

    def render(self, request):
        name = request.path.split(b"/")[-2]
        if name == b"gone":
            request.setResponseCode(404)
            return b'{"message":"No such container: gone"}\n'
        request.write(b'{"Id":"')
        request.write(name + b'",')
        request.write(b'"Name":"/x"}\n')
        request.finish()
        from twisted.web.server import NOT_DONE_YET

        return NOT_DONE_YET


class PipelinedInspectTests(TestCase):
    """
    L{EngineClient.inspect_containers} sends every inspect on one
    connection and answers each container in order.
    """

    @inlineCallbacks
    def serve(self, resource):
        site = _CountingSite()
        site.resource = resource
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(client.close)
        return site, client

    @inlineCallbacks
    def test_fake_engine(self):
        """
        The answers are the ones single inspects give, in the order asked,
        a gone container's 404 in its place, all over one connection.
        """
        from swarmd.engine import EngineError
        from swarmd.testing.fakeengine import FakeEngine, serve

        engine = FakeEngine(reactor, name="n1")
        ids = []
        for index in range(5):
            cid, _ = engine.create({"Image": "busybox", "Cmd": ["true"]}, "c%d" % (index,))
            ids.append(cid)
        front = yield serve(engine, "127.0.0.1:0", reactor)
        self.addCleanup(front.stopListening)
        client = EngineClient(front.address, reactor)
        self.addCleanup(client.close)
        yield client.version()
        asked = ids[3:] + ["nosuch"] + ids[:3]
        answers = yield client.inspect_containers(asked)
        self.assertEqual(len(answers), 6)
        self.assertIsInstance(answers[2], EngineError)
        self.assertEqual(answers[2].status, 404)
        for cid, answer in zip(asked, answers, strict=True):
            if cid == "nosuch":
                continue
            single = yield client.inspect_container(cid)
            self.assertEqual(answer, single)

    @inlineCallbacks
    def test_chunked(self):
        """
        Chunked answers (dockerd's for bodies over 2 KB) are read whole.
        """
        from swarmd.engine import EngineError

        site, client = yield self.serve(_Raw())
        answers = yield client.inspect_containers(["a", "gone", "b"])
        self.assertEqual(answers[0], {"Id": "a", "Name": "/x"})
        self.assertIsInstance(answers[1], EngineError)
        self.assertEqual(answers[1].status, 404)
        self.assertEqual(answers[2], {"Id": "b", "Name": "/x"})
        self.assertEqual(site.accepted, 1)

    @inlineCallbacks
    def test_closed_early(self):
        """
        A connection that ends before every answer came fails the call as
        an unreachable engine.
        """
        from swarmd.engine import EngineUnreachable

        class Closer(Protocol):
            def dataReceived(self, data):
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                self.transport.loseConnection()

        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            Factory.forProtocol(Closer))
        self.addCleanup(port.stopListening)
        client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(client.close)
        yield self.assertFailure(client.inspect_containers(["a", "b"]), EngineUnreachable)

    @inlineCallbacks
    def test_garbage(self):
        """
        An answer that is not HTTP fails the call with a 502.
        """
        from swarmd.engine import EngineError

        class Garbage(Protocol):
            def dataReceived(self, data):
                self.transport.write(b"SSH-2.0-OpenSSH\r\n\r\n")

        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            Factory.forProtocol(Garbage))
        self.addCleanup(port.stopListening)
        client = EngineClient("127.0.0.1:%d" % (port.getHost().port,), reactor)
        self.addCleanup(client.close)
        failure = yield self.assertFailure(client.inspect_containers(["a"]), EngineError)
        self.assertEqual(failure.status, 502)

    @inlineCallbacks
    def test_get_many(self):
        """
        L{EngineClient.get_many} answers what the single calls answer, an
        error answer in its slot.
        """
        from swarmd.engine import EngineError
        from swarmd.testing.fakeengine import FakeEngine, serve

        engine = FakeEngine(reactor, name="n1")
        front = yield serve(engine, "127.0.0.1:0", reactor)
        self.addCleanup(front.stopListening)
        client = EngineClient(front.address, reactor)
        self.addCleanup(client.close)
        yield client.version()
        images, missing, networks, volumes = yield client.get_many(
            ["/images/json", "/images/nosuch/json", "/networks", "/volumes"])
        self.assertEqual(images, (yield client.list_images()))
        self.assertEqual(networks, (yield client.list_networks()))
        self.assertEqual(volumes["Volumes"] or [], (yield client.list_volumes()))
        self.assertIsInstance(missing, EngineError)
        self.assertEqual(missing.status, 404)
