"""
Tests for L{swarmd.api.hijack}: a client's connection to a Klein front
(routed as the manager routes attach and exec start) spliced to a raw fake
engine, both on real loopback sockets with the reactor, since the module
leans on Twisted's internals (the HTTP channel's buffers and producer, the
transports' half-close) that only real connections exercise.

The fake engine here is a bare protocol the tests drive byte by byte: it
answers C{101} and writes a raw stream, refuses, or stays silent, as each
test needs.
"""

import hashlib
import json

import treq
from klein import Klein
from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred, gatherResults, inlineCallbacks
from twisted.internet.endpoints import (
    TCP4ClientEndpoint,
    TCP4ServerEndpoint,
    connectProtocol,
)
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock, deferLater
from twisted.internet.testing import StringTransport
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import HTTPConnectionPool
from zope.interface import implementer

from swarmd.api import hijack as hijack_module
from swarmd.api._half_open import CHECK_SECONDS, HalfOpenClients, connection_failed
from swarmd.api._send_now import send_now
from swarmd.api.errors import write_error
from swarmd.api.hijack import BULK_SECONDS, HOLD_SECONDS, SMALL_READ, HeldReads, counters, hijack
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.testing.conformance.engine import HijackedStream, http_request
from swarmd.testing.memory import TrackingSite

#: The path the front asks the engine for.
ENGINE_PATH = b"/v1.41/containers/c0ffee/attach?stream=1&stdin=1&stdout=1"

#: The head a Docker engine answers an upgraded attach with.
UPGRADED = (b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")


@implementer(IHalfCloseableProtocol)
class RawEngine(Protocol):
    """
    The engine's side: reads one request (head and body), then whatever
    comes after it as stdin.

    @ivar requested: fires with C{(head, body)} once the request is in.
    @ivar stdin_closed: fires when the peer closed its writing side (or the
        whole connection).
    @ivar lost: fires when the connection is gone.
    """

    def __init__(self):
        self.buffer = b""
        self.head = None
        self.body = None
        self.stdin = b""
        self.requested = Deferred()
        self.stdin_closed = Deferred()
        self.lost = Deferred()
        self._waits = []

    def dataReceived(self, data):
        if self.head is not None:
            self.stdin += data
            self._check()
            return
        self.buffer += data
        head, found, rest = self.buffer.partition(b"\r\n\r\n")
        if not found:
            return
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(rest) < length:
            return
        self.head, self.body, self.stdin = head, rest[:length], rest[length:]
        self.requested.callback((self.head, self.body))
        self._check()

    def _check(self):
        for size, d in list(self._waits):
            if len(self.stdin) >= size:
                self._waits.remove((size, d))
                d.callback(self.stdin)

    def wait_stdin(self, size):
        """
        @return: a L{Deferred} firing once C{size} bytes of stdin came.
        """
        d = Deferred()
        self._waits.append((size, d))
        self._check()
        return d

    def end(self):
        """
        End the stream as dockerd does: close the writing side only (the
        connection closes once the peer closed its side too).
        """
        self.ended = True
        self.transport.loseWriteConnection()

    def readConnectionLost(self):
        if not self.stdin_closed.called:
            self.stdin_closed.callback(None)
        if getattr(self, "ended", False):
            self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        if not self.stdin_closed.called:
            self.stdin_closed.callback(None)
        if not self.lost.called:
            self.lost.callback(None)


class EngineServer(Factory):
    """
    Listens for the front's connections; C{connections} fires with each
    L{RawEngine} in turn.
    """

    def __init__(self):
        self.engines = []
        self._waiting = []

    def buildProtocol(self, addr):
        engine = RawEngine()
        self.engines.append(engine)
        if self._waiting:
            self._waiting.pop(0).callback(engine)
        return engine

    def next_engine(self):
        """
        @return: a L{Deferred} firing with the next connection's
            L{RawEngine} (or the last one made, if it is not claimed yet).
        """
        d = Deferred()
        claimed = getattr(self, "_claimed", 0)
        if claimed < len(self.engines):
            d.callback(self.engines[claimed])
        else:
            self._waiting.append(d)
        self._claimed = claimed + 1
        return d


class RecordingEndpoint:
    """
    An endpoint to the fake engine that remembers the protocols it
    connected (the front's side of each engine connection).
    """

    def __init__(self, port):
        self._endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port)
        self.protocols = []

    def connect(self, factory):
        def connected(protocol):
            self.protocols.append(protocol)
            return protocol

        return self._endpoint.connect(factory).addCallback(connected)


class StubEngine:
    """
    What L{hijack} needs of a cluster's engine.
    """

    def __init__(self, port):
        self.address = "127.0.0.1:%d" % (port,)
        self.client = type("Client", (), {})()
        self.client.endpoint = RecordingEndpoint(port)
        self.api = self.client
        self.failures = []
        self.successes = 0

    def failed(self, error):
        self.failures.append(error)

    def succeeded(self):
        self.successes += 1


class Front:
    """
    A Klein front routing C{/hijack} as the manager routes attach.
    """

    app = Klein()

    def __init__(self, engine):
        self.engine = engine

    @app.route("/hijack", methods=["POST", "GET"])
    def attach(self, request):
        body = request.content.read() if request.content is not None else b""
        return ensureDeferred(hijack(request, self.engine, ENGINE_PATH, body))

    @app.handle_errors(EngineError)
    def _engine_error(self, request, failure):
        return write_error(request, failure.value.status, failure.value.message)

    @app.handle_errors(EngineUnreachable)
    def _unreachable(self, request, failure):
        return write_error(request, 500, str(failure.value))


@implementer(IPushProducer)
class Flood:
    """
    Write C{total} bytes to a transport as fast as it takes them, noting
    when it pauses this producer.
    """

    def __init__(self, transport, total, chunk=64 * 1024):
        self.transport = transport
        self.remaining = total
        self.chunk = b"x" * chunk
        self.paused = False
        self.pauses = 0
        self.written = 0
        transport.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self):
        self.paused = True
        self.pauses += 1

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.remaining > 0:
            data = self.chunk[:self.remaining]
            self.remaining -= len(data)
            self.written += len(data)
            self.transport.write(data)
        if self.remaining <= 0 and not self.paused:
            self.transport.unregisterProducer()

    def stopProducing(self):
        self.remaining = 0


class NumberedFlood(Flood):
    """
    A L{Flood} whose chunks differ (each its number, repeated), so a
    stream that lost, doubled or reordered a chunk does not hash the same.

    @ivar sha: the SHA-256 of everything written so far.
    """

    def __init__(self, transport, total, chunk=64 * 1024):
        self.sha = hashlib.sha256()
        self._number = 0
        self._size = chunk
        Flood.__init__(self, transport, total, chunk)

    def resumeProducing(self):
        self.paused = False
        while not self.paused and self.remaining > 0:
            self._number += 1
            data = (b"%08d" % (self._number,) * (self._size // 8))[:self.remaining]
            self.remaining -= len(data)
            self.written += len(data)
            self.sha.update(data)
            self.transport.write(data)
        if self.remaining <= 0 and not self.paused:
            self.transport.unregisterProducer()


class Counter(Protocol):
    """
    A client that counts the bytes after the response head (a stream too
    big to keep), and hashes them.
    """

    def __init__(self):
        self.head = b""
        self.count = 0
        self.sha = hashlib.sha256()
        self._target = None

    def dataReceived(self, data):
        if b"\r\n\r\n" not in self.head:
            self.head += data
            head, found, rest = self.head.partition(b"\r\n\r\n")
            if not found:
                return
            self.head = head + found
            data = rest
        self.count += len(data)
        self.sha.update(data)
        if self._target is not None and self.count >= self._target[0]:
            target, self._target = self._target, None
            target[1].callback(self.count)

    def wait_count(self, count):
        """
        @return: a L{Deferred} firing once C{count} bytes came.
        """
        d = Deferred()
        if self.count >= count:
            d.callback(self.count)
        else:
            self._target = (count, d)
        return d

    def connectionLost(self, reason):
        if self._target is not None:
            self._target[1].errback(reason)


def _buffered(transport):
    """
    @return: the bytes a transport holds in memory, not yet sent.
    """
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class HijackTests(TestCase):
    """
    L{hijack} between a real client connection and a real engine
    connection.
    """

    timeout = 60

    @inlineCallbacks
    def setUp(self):
        self.server = EngineServer()
        engine_port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            self.server)
        self.addCleanup(engine_port.stopListening)
        self.engine = StubEngine(engine_port.getHost().port)
        self.site = TrackingSite(Front(self.engine).app.resource())
        front_port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            self.site)
        self.addCleanup(front_port.stopListening)
        self.front = front_port.getHost().port
        self.addCleanup(self._close_all)
        self.clock = Clock()
        self.patch(hijack_module, "half_open", HalfOpenClients(self.clock))

    def _close_all(self):
        self.site.drop_all()
        for engine in self.server.engines:
            if not engine.lost.called:
                engine.transport.abortConnection()
        return gatherResults([e.lost for e in self.server.engines])

    @inlineCallbacks
    def client(self, data):
        """
        Connect to the front and send C{data}.

        @return: a L{Deferred} firing with the client's L{HijackedStream}.
        """
        stream = yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.front),
                                       HijackedStream())
        self.addCleanup(stream.close)
        stream.send(data)
        return stream

    @inlineCallbacks
    def spliced(self, body=b'{"Detach":false}', extra=b""):
        """
        A client whose request the engine answered with C{101}.

        @param extra: bytes the client sends right after its request.
        @return: a L{Deferred} firing with C{(client stream, RawEngine)}.
        """
        stream = yield self.client(http_request("POST", "/hijack", body) + extra)
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.write(UPGRADED)
        yield stream.wait_head()
        return stream, engine

    @inlineCallbacks
    def test_request_forwarded(self):
        """The engine gets the path asked, its own Host, the Upgrade headers and the body."""
        stream = yield self.client(http_request("POST", "/hijack", {"Detach": False},
                                                headers=["X-Registry-Auth: token"]))
        engine = yield self.server.next_engine()
        head, body = yield engine.requested
        lines = head.split(b"\r\n")
        self.assertEqual(lines[0], b"POST " + ENGINE_PATH + b" HTTP/1.1")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        self.assertEqual(headers[b"host"], [self.engine.address.encode("ascii")])
        self.assertEqual((headers[b"connection"], headers[b"upgrade"]), ([b"Upgrade"], [b"tcp"]))
        self.assertEqual(headers[b"x-registry-auth"], [b"token"])
        self.assertEqual(headers[b"content-length"], [b"%d" % (len(body),)])
        self.assertEqual(json.loads(body), {"Detach": False})
        self.assertEqual(self.engine.successes, 1)
        yield stream.close()

    @inlineCallbacks
    def test_bytes_both_ways(self):
        """After the 101 the client gets the head and the bytes, and the engine the client's."""
        stream, engine = yield self.spliced()
        self.assertEqual(stream.received, UPGRADED)
        engine.transport.write(b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n")
        yield stream.wait_for(lambda data: data.endswith(b"hi\n"))
        stream.send(b"typed\n")
        self.assertEqual((yield engine.wait_stdin(6)), b"typed\n")
        engine.transport.write(b"more")
        yield stream.wait_for(lambda data: data.endswith(b"more"))
        self.assertEqual(stream.body, b"\x01\x00\x00\x00\x00\x00\x00\x03hi\nmore")

    @inlineCallbacks
    def test_engine_bytes_with_head(self):
        """Output the engine sends in the same packet as its head reaches the client too."""
        stream = yield self.client(http_request("POST", "/hijack", {}))
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.write(UPGRADED + b"early")
        yield stream.wait_for(lambda data: data.endswith(b"early"))
        self.assertEqual(stream.received, UPGRADED + b"early")

    @inlineCallbacks
    def test_pipelined_stdin(self):
        """Bytes the client sent right after its request reach the engine once spliced."""
        stream, engine = yield self.spliced(extra=b"ahead")
        self.assertEqual((yield engine.wait_stdin(5)), b"ahead")
        stream.send(b"+after")
        self.assertEqual((yield engine.wait_stdin(11)), b"ahead+after")

    @inlineCallbacks
    def test_client_half_close(self):
        """The client's stdin EOF reaches the engine as a half-close; output still flows."""
        stream, engine = yield self.spliced()
        stream.send(b"last")
        yield engine.wait_stdin(4)
        stream.close_write()
        yield engine.stdin_closed
        self.assertFalse(engine.lost.called)
        engine.transport.write(b"after eof")
        yield stream.wait_for(lambda data: data.endswith(b"after eof"))
        self.assertFalse(stream.ended.called)
        engine.transport.loseConnection()
        yield stream.wait_end()
        yield engine.lost
        self.assertEqual(stream.body, b"after eof")

    @inlineCallbacks
    def until(self, condition, what):
        """
        Wait (up to ~10 s) until C{condition()} holds.
        """
        for _ in range(2000):
            if condition():
                return
            yield deferLater(reactor, 0.005, lambda: None)
        self.fail("never: " + what)

    @inlineCallbacks
    def test_client_reset_after_half_close(self):
        """
        A client reset after it closed its side (no longer read by the
        manager) is found at the next look, which closes the engine's
        connection; until then both are held.
        """
        stream, engine = yield self.spliced()
        stream.close_write()
        yield engine.stdin_closed
        client_side = self.site.transports[0]
        [engine_side] = self.engine.client.endpoint.protocols
        self.assertEqual(len(hijack_module.half_open), 1)
        stream.transport.abortConnection()
        yield self.until(lambda: connection_failed(client_side), "the reset reached the front")
        yield deferLater(reactor, 0.05, lambda: None)
        self.assertFalse(engine_side.transport.disconnected)
        self.clock.advance(CHECK_SECONDS)
        yield self.until(lambda: engine_side.transport.disconnected, "the engine's closed")
        self.assertTrue(client_side.disconnected)
        self.assertEqual(len(hijack_module.half_open), 0)

    @inlineCallbacks
    def test_client_end_after_half_close_forgotten(self):
        """A half-closed client that then closes normally is no longer looked at."""
        stream, engine = yield self.spliced()
        stream.close_write()
        yield engine.stdin_closed
        self.assertEqual(len(hijack_module.half_open), 1)
        engine.transport.loseConnection()
        yield stream.wait_end()
        yield self.until(lambda: self.site.transports[0].disconnected, "the client closed")
        self.assertEqual(len(hijack_module.half_open), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    @inlineCallbacks
    def test_reset_taken_for_half_close(self):
        """
        A reset the reactor took for a clean end of the client's side (seen
        under load: C{readConnectionLost} on a socket holding its
        C{ECONNRESET}) drops both connections instead of passing a
        half-close on to the engine and holding them.
        """
        stream, engine = yield self.spliced()
        client_side = self.site.transports[0]
        [engine_side] = self.engine.client.endpoint.protocols
        # The reactor no longer reads it, as when the race happens.
        client_side.stopReading()
        stream.transport.abortConnection()
        yield self.until(lambda: connection_failed(client_side), "the reset reached the front")
        client_side.readConnectionLost(Failure(ConnectionDone()))
        yield self.until(lambda: engine_side.transport.disconnected, "the engine's closed")
        self.assertTrue(client_side.disconnected)
        self.assertEqual(len(hijack_module.half_open), 0)

    @inlineCallbacks
    def test_engine_ends_stream(self):
        """The engine closing its writing side ends the client's stream, then its own."""
        stream, engine = yield self.spliced()
        engine.transport.write(b"bye")
        engine.end()
        yield stream.wait_end()
        self.assertEqual(stream.body, b"bye")
        yield engine.lost
        self.assertTrue(self.site.transports[0].disconnected)

    @inlineCallbacks
    def test_client_leaves_after_splice(self):
        """A client dropping a spliced connection closes the engine's, and the count drops."""
        stream, engine = yield self.spliced()
        opened = counters.open
        [engine_side] = self.engine.client.endpoint.protocols
        yield stream.close()
        yield engine.stdin_closed
        for _ in range(1000):
            if engine_side.transport.disconnected and counters.open < opened:
                break
            yield deferLater(reactor, 0.01, lambda: None)
        self.assertTrue(engine_side.transport.disconnected)
        self.assertEqual(counters.open, opened - 1)

    @inlineCallbacks
    def test_client_aborts_before_head(self):
        """A client leaving before the engine answered closes the engine's connection."""
        stream = yield self.client(http_request("POST", "/hijack", {}))
        engine = yield self.server.next_engine()
        yield engine.requested
        [engine_side] = self.engine.client.endpoint.protocols
        yield stream.close()
        yield engine.stdin_closed
        self.assertTrue(engine_side.transport.disconnected)

    @inlineCallbacks
    def test_engine_error_passed_through(self):
        """An engine's JSON refusal is answered as a normal HTTP error, with its message."""
        body = b'{"message":"No such container: c0ffee"}\n'
        d = self._normal_request()
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                               b"Content-Length: %d\r\n\r\n" % (len(body),) + body)
        code, headers, content = yield d
        self.assertEqual((code, headers.getRawHeaders(b"Content-Type")),
                         (404, [b"application/json"]))
        self.assertEqual(json.loads(content), {"message": "No such container: c0ffee"})
        yield engine.lost

    @inlineCallbacks
    def test_engine_raw_error(self):
        """dockerd's raw refusal after a hijack (no length, then its end) keeps its message."""
        d = self._normal_request()
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.write(b"HTTP/1.1 409 Conflict\r\nContent-Type: "
                               b"application/vnd.docker.raw-stream\r\n\r\ncontainer c0ffee is "
                               b"paused, unpause the container before attach\r\n")
        engine.end()
        code, _, content = yield d
        self.assertEqual((code, json.loads(content)), (409, {
            "message": "container c0ffee is paused, unpause the container before attach"}))

    @inlineCallbacks
    def test_engine_raw_error_never_ending(self):
        """A refusal with no length from an engine that never closes is cut, its text kept."""
        from swarmd.api import hijack

        self.patch(hijack, "ERROR_BODY_TIMEOUT", 0.2)
        d = self._normal_request()
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.write(b"HTTP/1.1 409 Conflict\r\nContent-Type: "
                               b"application/vnd.docker.raw-stream\r\n\r\nstill here")
        code, _, content = yield d
        self.assertEqual((code, json.loads(content)), (409, {"message": "still here"}))
        yield engine.lost

    @inlineCallbacks
    def test_engine_closes_before_head(self):
        """An engine closing without an answer is a 500 naming it."""
        d = self._normal_request()
        engine = yield self.server.next_engine()
        yield engine.requested
        engine.transport.loseConnection()
        code, _, content = yield d
        self.assertEqual(code, 500)
        message = json.loads(content)["message"]
        self.assertIn(self.engine.address, message)
        self.assertIn("connection closed before answering", message)

    @inlineCallbacks
    def test_engine_unreachable(self):
        """An engine refusing the connection is a 500 and counts as its failure."""
        self.engine.client.endpoint = RecordingEndpoint(self._closed_port())
        code, _, content = yield self._normal_request()
        self.assertEqual(code, 500)
        self.assertIn("cannot reach engine", json.loads(content)["message"])
        self.assertEqual(len(self.engine.failures), 1)

    @inlineCallbacks
    def stalled(self, flood):
        """
        A hijacked stream whose client stopped reading while the engine
        floods it (C{flood(engine transport)}), until the manager paused the
        engine's side or ~10 s passed.

        @return: C{(client stream, flood, engine side, client side)}.
        """
        stream = yield connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", self.front),
                                       Counter())
        self.addCleanup(stream.transport.abortConnection)
        stream.transport.write(http_request("POST", "/hijack", {}))
        engine = yield self.server.next_engine()
        yield engine.requested
        stream.transport.pauseProducing()
        engine.transport.write(UPGRADED)
        flood = flood(engine.transport)
        [engine_side] = self.engine.client.endpoint.protocols
        client_side = self.site.transports[0]
        for _ in range(2000):
            if (flood.paused and engine_side.transport not in reactor.getReaders()
                    and not engine_side.reads.held):
                break
            yield deferLater(reactor, 0.005, lambda: None)
        return stream, flood, engine_side, client_side

    @inlineCallbacks
    def reading(self, engine_side):
        """
        Wait until no hold is under way on the engine's reads.

        @return: a L{Deferred} firing with whether the engine's connection
            is read then.
        """
        for _ in range(200):
            if not engine_side.reads.held:
                break
            yield deferLater(reactor, 0.005, lambda: None)
        return engine_side.transport in reactor.getReaders()

    @inlineCallbacks
    def test_back_pressure(self):
        """A client that does not read pauses the engine's connection instead of buffering."""
        total = 32 * 1024 * 1024
        stream, flood, engine_side, client_side = yield self.stalled(
            lambda transport: Flood(transport, total))
        self.assertTrue(flood.paused)
        self.assertNotIn(engine_side.transport, reactor.getReaders())
        self.assertLess(flood.written, total)
        self.assertLess(_buffered(client_side), 1024 * 1024)
        stream.transport.resumeProducing()
        self.assertEqual((yield stream.wait_count(total)), total)
        self.assertTrue(stream.head.startswith(b"HTTP/1.1 101 UPGRADED\r\n"))
        self.assertTrue((yield self.reading(engine_side)))

    @inlineCallbacks
    def test_back_pressure_bounded_and_in_order(self):
        """A stalled client bounds what the manager holds; every byte then arrives in order."""
        total = 16 * 1024 * 1024
        stream, flood, engine_side, client_side = yield self.stalled(
            lambda transport: NumberedFlood(transport, total, chunk=40000))
        self.assertNotIn(engine_side.transport, reactor.getReaders())
        # Paused once past the client's buffer size, by at most one read.
        self.assertLessEqual(_buffered(client_side),
                             client_side.bufferSize + hijack_module.ENGINE_READ_SIZE)
        stream.transport.resumeProducing()
        self.assertEqual((yield stream.wait_count(total)), total)
        self.assertEqual(stream.sha.hexdigest(), flood.sha.hexdigest())

    @inlineCallbacks
    def test_engine_bytes_sent_at_once(self):
        """Engine bytes go to the client's socket in the read that brought them, not queued."""
        stream, engine = yield self.spliced()
        [engine_side] = self.engine.client.endpoint.protocols
        client_side = self.site.transports[0]
        yield stream.wait_for(lambda data: data.endswith(b"\r\n\r\n"))
        for _ in range(1000):
            if client_side not in reactor.getWriters():
                break
            yield deferLater(reactor, 0.005, lambda: None)
        engine_side.dataReceived(b"at once")
        self.assertEqual(_buffered(client_side), 0)
        self.assertNotIn(client_side, reactor.getWriters())
        yield stream.wait_for(lambda data: data.endswith(b"at once"))

    @inlineCallbacks
    def test_relayed_bytes_after_queued_ones(self):
        """Bytes still queued on the client's transport leave before later relayed ones."""
        stream, engine = yield self.spliced()
        [engine_side] = self.engine.client.endpoint.protocols
        client_side = self.site.transports[0]
        client_side.write(b"queued,")
        engine_side.dataReceived(b"relayed")
        yield stream.wait_for(lambda data: data.endswith(b"relayed"))
        self.assertEqual(stream.body, b"queued,relayed")

    @inlineCallbacks
    def test_engine_read_size(self):
        """Once spliced, the engine's connection is read by ENGINE_READ_SIZE, above 64 KB."""
        stream, engine = yield self.spliced()
        [engine_side] = self.engine.client.endpoint.protocols
        self.assertEqual(engine_side.transport.bufferSize, hijack_module.ENGINE_READ_SIZE)
        self.assertGreater(hijack_module.ENGINE_READ_SIZE, 64 * 1024)
        big = b"b" * (3 * hijack_module.ENGINE_READ_SIZE)
        engine.transport.write(big)
        yield stream.wait_for(lambda data: len(data) >= len(UPGRADED) + len(big))
        self.assertEqual(stream.body, big)

    @inlineCallbacks
    def test_small_writes_relayed_whole(self):
        """
        An engine writing a stream 4 KB at a time, each write in its own
        turn (as dockerd writes attach output), gets every byte to the
        client in order whether or not reads were held, and is read again
        at the end; the client's connection pauses the engine's reads
        through their L{HeldReads}.
        """
        stream, engine = yield self.spliced()
        [engine_side] = self.engine.client.endpoint.protocols
        client_side = self.site.transports[0]
        self.assertIsInstance(engine_side.reads, HeldReads)
        self.assertIs(client_side.producer, engine_side.reads)
        sha = hashlib.sha256()
        for number in range(500):
            data = (b"%08d" % (number,)) * 513
            sha.update(data)
            engine.transport.write(data)
            yield deferLater(reactor, 0, lambda: None)
        total = 500 * 8 * 513
        yield stream.wait_for(lambda data: len(data) >= len(UPGRADED) + total)
        self.assertEqual(hashlib.sha256(stream.body).hexdigest(), sha.hexdigest())
        self.assertTrue((yield self.reading(engine_side)))

    # -- helpers ----------------------------------------------------------------------

    def _normal_request(self):
        """
        A request to the front by an ordinary HTTP client.

        @return: a L{Deferred} firing with C{(status, headers, content)}.
        """
        pool = HTTPConnectionPool(reactor, persistent=False)
        d = treq.post("http://127.0.0.1:%d/hijack" % (self.front,), data=b"{}",
                      headers={"Content-Type": "application/json"}, pool=pool)
        return d.addCallback(lambda response: treq.content(response).addCallback(
            lambda content: (response.code, response.headers, content)))

    @staticmethod
    def _closed_port():
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


class SendNowTests(SynchronousTestCase):
    """
    L{send_now} on transports that are not a socket connection of Twisted's.
    """

    def test_other_transport_written(self):
        """A transport that is not a TCP or UNIX connection gets a plain write."""
        transport = StringTransport()
        send_now(transport, b"one")
        send_now(transport, b"two")
        self.assertEqual(transport.value(), b"onetwo")

    def test_wrapped_transport_written(self):
        """A wrapper (TLS is one) is written through, never past to its socket."""
        below = StringTransport()
        wrapper = ProtocolWrapper(WrappingFactory(Factory.forProtocol(Protocol)), Protocol())
        wrapper.makeConnection(below)
        send_now(wrapper, b"through")
        self.assertEqual(below.value(), b"through")


class HeldReadsTests(SynchronousTestCase):
    """
    L{HeldReads}: holds in bulk streams, and back-pressure, on one
    transport's reads.
    """

    def setUp(self):
        self.clock = Clock()
        self.transport = StringTransport()
        self.reads = HeldReads(self.transport, self.clock)

    def bulk(self, size=4104):
        """
        Two reads of C{size} bytes, close together.
        """
        self.reads.relayed(size)
        self.clock.advance(BULK_SECONDS / 4)
        self.reads.relayed(size)

    def test_first_read_not_held(self):
        """A read after a quiet moment (here the first) is relayed and reading goes on."""
        self.reads.relayed(10)
        self.assertFalse(self.reads.held)
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_reads_apart_not_held(self):
        """Small reads further apart than BULK_SECONDS (typing, a prompt) are never held."""
        for _ in range(5):
            self.reads.relayed(10)
            self.clock.advance(BULK_SECONDS * 1.5)
        self.assertFalse(self.reads.held)
        self.assertEqual(self.transport.producerState, "producing")

    def test_small_read_in_bulk_held(self):
        """A small read soon after another pauses reading for HOLD_SECONDS, then it resumes."""
        self.bulk()
        self.assertTrue(self.reads.held)
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(HOLD_SECONDS * 0.9)
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(HOLD_SECONDS * 0.1)
        self.assertFalse(self.reads.held)
        self.assertEqual(self.transport.producerState, "producing")

    def test_large_read_not_held(self):
        """A read of SMALL_READ bytes or more is not held after, however close."""
        self.bulk(SMALL_READ)
        self.assertFalse(self.reads.held)
        self.assertEqual(self.transport.producerState, "producing")

    def test_back_pressure_outlasts_hold(self):
        """A full client buffer keeps reading paused past the hold's end, until it drains."""
        self.bulk()
        self.reads.pauseProducing()
        self.clock.advance(HOLD_SECONDS)
        self.assertFalse(self.reads.held)
        self.assertEqual(self.transport.producerState, "paused")
        self.reads.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")

    def test_hold_outlasts_back_pressure(self):
        """A client buffer drained during a hold resumes reading only at the hold's end."""
        self.bulk()
        self.reads.pauseProducing()
        self.reads.resumeProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.clock.advance(HOLD_SECONDS)
        self.assertEqual(self.transport.producerState, "producing")

    def test_back_pressure_alone(self):
        """Without a hold, the client's pause and resume reach the transport as they come."""
        self.reads.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        self.reads.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")

    def test_cancel(self):
        """A cancelled hold (its connection gone) leaves no call pending."""
        self.bulk()
        self.reads.cancel()
        self.assertFalse(self.reads.held)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop_producing(self):
        """The client's connection gone stops the transport and drops the hold."""
        self.bulk()
        self.reads.stopProducing()
        self.assertEqual(self.transport.producerState, "stopped")
        self.assertEqual(self.clock.getDelayedCalls(), [])
