"""
Hijacked requests (attach, exec start, attach/ws): the client's connection
is taken over and spliced, byte for byte, to a connection opened to the
engine.

Twisted has no public API for taking a connection away from its HTTP
channel; L{take_over} leans on a few internals of
L{twisted.web.http.HTTPChannel} (its buffered pipelined data, its producer
registration) and keeps them in this one module.
"""

import socket
from typing import Any

from OpenSSL.SSL import Error as TLSError
from OpenSSL.SSL import WantReadError, ZeroReturnError
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.tcp import Connection
from twisted.protocols.policies import ProtocolWrapper
from twisted.protocols.tls import TLSMemoryBIOProtocol
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from swarmd.api._half_open import HalfOpenClients, connection_failed, tcp_transport
from swarmd.api._send_now import send_now
from swarmd.api.proxy import HOP_BY_HOP
from swarmd.engine import EngineError, EngineUnreachable, host_header
from swarmd.engine.endpoints import connect_protocol

#: Largest response head accepted from an engine.
MAX_HEAD = 64 * 1024

#: Seconds an engine may take to answer a hijacked request.
HEAD_TIMEOUT = 60

#: Seconds an engine's refusal body may take to arrive (one without a
#: Content-Length lasts until the engine closes).
ERROR_BODY_TIMEOUT = 10

#: Bytes the engine's connection is read by at once, once spliced (Twisted's
#: transports read 64 KB): fewer reads when output piled up while the
#: manager was busy.  Each read allocates a bytes object of this size first:
#: 112 KB is what the attach benchmark was measured with, under glibc's
#: default mmap threshold (128 KB, over which each read would cost an
#: C{mmap}, page faults and an C{munmap}) for a process that did not fix it.
ENGINE_READ_SIZE = 112 * 1024

#: Seconds the engine's connection goes unread after a small read that came
#: within L{BULK_SECONDS} of the previous one, so what the engine writes
#: meanwhile is relayed in one read and one send instead of one per write.
#: dockerd writes an attach stream 4 KB at a time: a relay that keeps up
#: reads, sends and wakes the client every few of them (the sixth pass of
#: issue 17 in C{bench/README.md}).  A read after a quiet moment is never held:
#: interactive output waits at most this long, and only behind output that
#: came in the same instant.
HOLD_SECONDS = 0.001

#: Reads closer together than this make a stream a bulk one.
BULK_SECONDS = 0.002

#: A read of this many bytes or more is not held after: the engine writes
#: faster than a hold would gain (a hold must never cap the throughput).
SMALL_READ = 64 * 1024

#: Statuses after which the connection carries the raw stream.
HIJACK_STATUSES = (101, 200)

#: Hop-by-hop headers that ARE forwarded on a hijack: they ask the engine to
#: upgrade the connection, and the client's choice must reach it.
_UPGRADE_HEADERS = frozenset([b"connection", b"upgrade"])


class _Hijacked(Resource):
    """
    What a Klein handler returns once the connection is taken over: the
    request is never finished by the web server.
    """

    isLeaf = True

    def render(self, request):
        return NOT_DONE_YET


HIJACKED = _Hijacked()


class HijackCounters:
    """
    Live and total counts of hijacked connections (for tests and metrics).
    """

    def __init__(self):
        self.open = 0
        self.total = 0


counters = HijackCounters()

#: The spliced clients that closed their side (see L{_half_open}).
half_open = HalfOpenClients()


def build_request(method, path, headers, host, body):
    """
    The bytes of the request sent to the engine.

    @param headers: the client's L{Headers}.
    """
    lines = [b"%s %s HTTP/1.1" % (method, path), b"Host: " + host.encode("ascii")]
    for name, values in headers.getAllRawHeaders():
        lower = name.lower()
        if lower in HOP_BY_HOP and lower not in _UPGRADE_HEADERS:
            continue
        for value in values:
            lines.append(name + b": " + value)
    if body:
        lines.append(b"Content-Length: %d" % (len(body),))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def parse_head(head):
    """
    Parse an HTTP response head.

    @return: C{(status, headers)} with lower-cased header names.
    @raise ValueError: when it is not an HTTP/1.x response head.
    """
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError("not an HTTP response: %r" % (lines[0][:80],))
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return status, headers


@implementer(IHalfCloseableProtocol)
class _EngineSide(Protocol):
    """
    The connection to the engine: collects the response head (and, on an
    error answer, its body), then hands bytes straight to its peer.
    """

    # A TCP (or TLS) transport: write, abortConnection, loseConnection.
    transport: Any

    def __init__(self):
        self.head: Deferred[bytes] = Deferred()
        self.peer: _ClientSide | None = None
        #: The engine's reads once spliced, when they may be held.
        self.reads: HeldReads | None = None
        self._buffer = b""
        self._want = None

    def dataReceived(self, data):
        if self.peer is not None:
            send_now(self.peer.transport, data)
            if self.reads is not None:
                self.reads.relayed(len(data))
            return
        self._buffer += data
        if not self.head.called:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD:
                    self.transport.abortConnection()
                return
            head, self._buffer = self._buffer[:end + 4], self._buffer[end + 4:]
            self.head.callback(head)
        self._check_want(False)

    def take_buffer(self):
        """
        @return: the bytes received after the head so far (and forget them).
        """
        data, self._buffer = self._buffer, b""
        return data

    def read_body(self, length):
        """
        @return: a L{Deferred} firing with up to C{length} body bytes, once
            they arrived or the engine closed the connection.
        """
        d: Deferred[bytes] = Deferred()
        self._want = (length, d)
        self._check_want(False)
        return d

    def _check_want(self, closed):
        if self._want is None:
            return
        length, d = self._want
        if closed or len(self._buffer) >= length:
            self._want = None
            d.callback(self.take_buffer()[:length])

    def readConnectionLost(self):
        # The engine is done writing (the container's output ended).
        if self.peer is not None:
            self.peer.transport.loseConnection()
        else:
            self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self.reads is not None:
            self.reads.cancel()
        if not self.head.called:
            self.head.errback(reason)
        if self.peer is not None:
            self.peer.transport.loseConnection()
        self._check_want(True)


@implementer(IPushProducer)
class HeldReads:
    """
    The reads of a spliced engine connection, as the client's connection
    sees them (its producer): paused while the client's buffer is full, as
    Twisted would pause the transport itself, and also for
    L{HOLD_SECONDS} after a small read in a bulk stream (L{relayed}).
    Reading resumes only once neither asks for the pause.
    """

    def __init__(self, transport, clock):
        """
        @param transport: the engine's connection (TCP or TLS).
        @param clock: an L{IReactorTime} for the holds.
        """
        self._transport = transport
        self._clock = clock
        self._full = False
        self._hold = None
        self._last = None

    @property
    def held(self):
        """
        Whether a hold is under way.
        """
        return self._hold is not None

    def relayed(self, size):
        """
        A read of C{size} bytes was relayed: hold the next one if the
        stream is a bulk one and the read was small.
        """
        now = self._clock.seconds()
        bulk = self._last is not None and now - self._last < BULK_SECONDS
        self._last = now
        if bulk and size < SMALL_READ and self._hold is None:
            self._transport.pauseProducing()
            self._hold = self._clock.callLater(HOLD_SECONDS, self._release)

    def _release(self):
        self._hold = None
        if not self._full:
            self._transport.resumeProducing()

    def cancel(self):
        """
        Drop a hold under way (the connection is gone).
        """
        if self._hold is not None:
            # Still pending: _release clears it before anything else.
            self._hold.cancel()
            self._hold = None

    def pauseProducing(self):
        self._full = True
        self._transport.pauseProducing()

    def resumeProducing(self):
        self._full = False
        if self._hold is None:
            self._transport.resumeProducing()

    def stopProducing(self):
        self.cancel()
        self._transport.stopProducing()


@implementer(IHalfCloseableProtocol)
class _ClientSide(Protocol):
    """
    The client's connection once taken over.
    """

    # The client's TCP (or TLS) transport, taken over from the web server.
    transport: Any

    def __init__(self, engine_side):
        self.engine = engine_side

    def dataReceived(self, data):
        send_now(self.engine.transport, data)

    def readConnectionLost(self):
        if connection_failed(self.transport):
            # A reset taken for a half-close (see _half_open): the client
            # is gone.
            self.transport.abortConnection()
            return
        # stdin closed: pass the half-close on to the engine.
        half_close(self.engine.transport)
        if not isinstance(self.transport, ProtocolWrapper):
            # Twisted no longer reads it (TLS's own transport still does).
            half_open.add(self.transport)

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        counters.open -= 1
        half_open.discard(self.transport)
        self.engine.transport.loseConnection()


def half_close(transport):
    """
    Close the writing side of a connection only (stdin ended), keeping it
    readable.  Over TLS that is a close_notify alert without closing, as
    Go's C{tls.Conn.CloseWrite} does.
    """
    if isinstance(transport, TLSMemoryBIOProtocol):
        if transport._tlsConnection is None:
            return
        # Small writes wait in an aggregator: they must go before the alert.
        aggregator = getattr(transport, "_aggregator", None)
        if aggregator is not None:
            aggregator.flush()
        if transport._appSendBuffer:
            transport._unbufferPendingWrites()
        try:
            transport._tlsConnection.shutdown()
        except TLSError:
            pass
        transport._flushSendBIO()
        return
    close_write = getattr(transport, "loseWriteConnection", None)
    if close_write is not None:
        close_write()
    else:
        transport.loseConnection()


def allow_half_close(transport):
    """
    Let a TLS connection stay writable after the peer's close_notify (Go's
    C{CloseWrite}: the docker CLI sends it as soon as stdin ends, and still
    reads the container's output).  Twisted's TLS layer would otherwise
    shut the whole connection down.  The wrapped protocol hears
    C{readConnectionLost} instead.  Plain transports need nothing.
    """
    if not isinstance(transport, TLSMemoryBIOProtocol):
        return
    tls = transport
    state = {"read_closed": False}

    def flush_receive():
        while not tls._lostTLSConnection:
            try:
                data = tls._tlsConnection.recv(2 ** 15)
            except WantReadError:
                break
            except ZeroReturnError:
                if _sent_close(tls):
                    # Both sides closed: finish as Twisted would.
                    tls._shutdownTLS()
                    tls._tlsShutdownFinished(None)
                elif not state["read_closed"]:
                    state["read_closed"] = True
                    reader = getattr(tls.wrappedProtocol, "readConnectionLost", None)
                    if reader is not None:
                        reader()
                break
            except TLSError:
                tls._tlsShutdownFinished(Failure())
            else:
                if not tls._aborted:
                    ProtocolWrapper.dataReceived(tls, data)
        tls._flushSendBIO()

    tls._flushReceiveBIO = flush_receive  # type: ignore[method-assign]


def _sent_close(tls):
    # SSL_SENT_SHUTDOWN is 1, SSL_RECEIVED_SHUTDOWN is 2.
    return bool(tls._tlsConnection.get_shutdown() & 1)


def take_over(request, protocol):
    """
    Take the client's connection away from the HTTP server and give it to
    C{protocol}.

    @return: the bytes the client already sent after its request (pipelined
        stdin), which the caller must deliver.
    """
    channel = request.channel
    transport = channel.transport
    channel.setTimeout(None)
    leftover = b"".join(getattr(channel, "_dataBuffer", []))
    channel._dataBuffer = []
    transport.unregisterProducer()
    if isinstance(transport, ProtocolWrapper):
        transport.wrappedProtocol = protocol
    else:
        transport.protocol = protocol
    protocol.makeConnection(transport)
    transport.resumeProducing()
    return leftover


async def hijack(request, engine, path, body=b""):
    """
    Run one hijacked request: open a connection to C{engine}, send it the
    client's request at C{path}, and splice both connections once the engine
    answered with a raw stream.

    Whatever ends it early (the client leaving, an engine error, a
    cancellation) closes the connection to the engine.

    @return: L{HIJACKED} once spliced; on an engine error answer, raises
        L{EngineError} with its status and message (answered normally).
    """
    from twisted.internet import reactor

    try:
        engine_side = await connect_protocol(engine.api.endpoint, _EngineSide())
    except CancelledError:
        raise
    except Exception as e:
        error = EngineUnreachable(engine.address, str(e) or e.__class__.__name__)
        engine.failed(error)
        raise error from None
    engine.succeeded()
    try:
        return await _splice(request, engine, engine_side, path, body, reactor)
    except BaseException:
        engine_side.transport.abortConnection()
        raise


async def _splice(request, engine, engine_side, path, body, clock):
    engine_side.transport.write(build_request(
        request.method, path, request.requestHeaders, host_header(engine.address), body))
    timeout = clock.callLater(HEAD_TIMEOUT, engine_side.transport.abortConnection)
    try:
        head = await engine_side.head
    except CancelledError:
        raise
    except Exception:
        raise EngineUnreachable(engine.address, "connection closed before answering") from None
    finally:
        if timeout.active():
            timeout.cancel()
    try:
        status, headers = parse_head(head)
    except ValueError as e:
        raise EngineError(502, "engine %s: %s" % (engine.address, e)) from None
    if status not in HIJACK_STATUSES:
        # A refusal without a length ends when the engine closes: bound it.
        cut = clock.callLater(ERROR_BODY_TIMEOUT, engine_side.transport.abortConnection)
        try:
            body = await engine_side.read_body(_error_length(headers))
        finally:
            if cut.active():
                cut.cancel()
        engine_side.transport.loseConnection()
        raise EngineError.from_body(status, body)
    if _client_gone(request):
        # The client left while the engine was answering.
        engine_side.transport.loseConnection()
        return HIJACKED
    client_side, leftover = _take_client(request, engine_side)
    client = client_side.transport
    client.write(head)
    pending = engine_side.take_buffer()
    if pending:
        client.write(pending)
    engine_side.peer = client_side
    engine_side.reads = HeldReads(engine_side.transport, clock)
    _splice_both(client, engine_side, leftover, engine_side.reads)
    return HIJACKED


def _client_gone(request):
    return getattr(request, "_disconnected", False) or request.channel is None \
        or request.channel.transport is None


def _take_client(request, other_side):
    """
    Take the client's connection over for a splice with C{other_side}.

    @return: C{(the client's new protocol, pipelined bytes it already
        sent)}.
    """
    client_side = _ClientSide(other_side)
    counters.open += 1
    counters.total += 1
    leftover = take_over(request, client_side)
    client = client_side.transport
    allow_half_close(client)
    allow_half_close(other_side.transport)
    keep_alive(client)
    return client_side, leftover


def _splice_both(client, other_side, leftover, reads=None):
    # Back-pressure both ways: a slow reader pauses the other side's reads
    # (through C{reads}, the L{HeldReads} of the other side, if given).
    set_read_size(other_side.transport, ENGINE_READ_SIZE)
    client.registerProducer(reads if reads is not None else other_side.transport, True)
    other_side.transport.registerProducer(client, True)
    if leftover:
        other_side.transport.write(leftover)


def set_read_size(transport, size):
    """
    Read C{transport}'s socket by up to C{size} bytes at once (under its TLS
    layer, if any).  It is also the size past which its own write buffer
    pauses its producer.
    """
    transport = tcp_transport(transport)
    if isinstance(transport, Connection):
        transport.bufferSize = size


def keep_alive(transport):
    """
    Probe an idle hijacked client connection, so one whose client vanished
    after closing its side (a FIN, indistinguishable from the docker CLI's
    end of stdin) is dropped once its peer no longer answers, instead of
    being held for as long as the container stays silent: the failed probes
    leave an error on its socket, which L{half_open} finds.
    """
    transport = tcp_transport(transport)
    handle = getattr(transport, "getHandle", lambda: None)()
    if handle is None or not hasattr(transport, "setTcpKeepAlive"):
        return
    transport.setTcpKeepAlive(True)
    for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            handle.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _error_length(headers):
    try:
        return min(int(headers.get(b"content-length", b"%d" % (MAX_HEAD,))), MAX_HEAD)
    except ValueError:
        return MAX_HEAD


async def tunnel(request, endpoint, host):
    """
    Hand the client's whole connection to another server (a replica
    manager forwarding to the primary, as classic Swarm does): connect,
    take the connection over, send the request on, and splice both ways
    from then on, whatever the other server answers; later requests on
    the same connection go to it too.

    @param endpoint: a client endpoint reaching the server.
    @param host: the C{Host} header to send.
    @return: L{HIJACKED}.
    @raise ConnectError: (or whatever the endpoint raised) when the server
        cannot be reached; nothing was taken over then.
    """
    from twisted.protocols.basic import FileSender

    server_side = await connect_protocol(endpoint, _EngineSide())
    # Its answer is spliced, never parsed: nobody waits for its head.
    server_side.head.addErrback(lambda _: None)
    if _client_gone(request):
        server_side.transport.loseConnection()
        return HIJACKED
    content = request.content
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    head = build_request(request.method, request.uri, request.requestHeaders, host, b"")
    if size:
        head = head[:-2] + b"Content-Length: %d\r\n\r\n" % (size,)
    client_side, leftover = _take_client(request, server_side)
    client = client_side.transport
    server_side.peer = client_side
    server_side.transport.write(head)
    if size:
        # The body (spooled by the web server) goes first, streamed.
        sent = FileSender().beginFileTransfer(content, server_side.transport)
        sent.addBoth(lambda _: _splice_both(client, server_side, leftover))
    else:
        _splice_both(client, server_side, leftover)
    return HIJACKED
