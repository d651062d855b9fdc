"""
The fake engine's side of hijacked requests (attach, exec start,
attach/ws): the HTTP server's connection is taken away from
L{twisted.web.http.HTTPChannel} and the engine writes the raw head and the
stream itself, as dockerd does once it has hijacked a Go connection.

Like dockerd, the engine ends a stream by closing its writing side only
(Go's C{CloseWrite}); the connection closes once the client closes its side
too.  The take-over leans on the same few internals of C{HTTPChannel} as
the manager's (L{swarmd.api.hijack}), on purpose written apart from it: the
fake must not borrow the code it helps to test.
"""

import base64
import hashlib
import struct

from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol
from twisted.protocols.policies import ProtocolWrapper
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

#: The content type of a raw (or multiplexed) stream.
RAW_STREAM = "application/vnd.docker.raw-stream"

_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class _Hijacked(Resource):
    """
    What a handler returns once it hijacked the request: the web server must
    neither write nor finish it.
    """

    isLeaf = True

    def render(self, request):
        return NOT_DONE_YET


HIJACKED = _Hijacked()


@implementer(IHalfCloseableProtocol)
class RawStream(Protocol):
    """
    A hijacked connection, engine side.

    @ivar on_input: called with the bytes the client sends.
    @ivar on_eof: called when the client closes its writing side (stdin
        ended).
    @ivar on_lost: callables run when the connection is gone.
    """

    def __init__(self):
        self.on_input = None
        self.on_eof = None
        self.on_lost = []
        self.read_closed = False
        self.write_closed = False
        self.lost = False

    def dataReceived(self, data):
        if self.on_input is not None:
            self.on_input(data)

    def readConnectionLost(self):
        self.read_closed = True
        if self.on_eof is not None:
            self.on_eof()
        if self.write_closed and not self.lost:
            self.transport.loseConnection()

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        self.lost = True
        hooks, self.on_lost = self.on_lost, []
        for hook in hooks:
            hook()

    def write(self, data):
        """
        Send bytes to the client (dropped once the stream was ended).
        """
        if not self.write_closed and not self.lost:
            self.transport.write(data)

    def end(self):
        """
        End the stream as dockerd does: close the writing side only.
        """
        if self.write_closed or self.lost:
            return
        self.write_closed = True
        close_write = getattr(self.transport, "loseWriteConnection", None)
        if self.read_closed or close_write is None:
            self.transport.loseConnection()
        else:
            close_write()


class WebSocketStream:
    """
    A L{RawStream} speaking the WebSocket framing of C{attach/ws}: output in
    binary frames, a close frame at the end, the client's (masked) frames as
    input.
    """

    def __init__(self, raw):
        self.raw = raw
        self.on_input = None
        self.on_eof = None
        self._buffer = b""
        raw.on_input = self._received
        raw.on_eof = lambda: self.on_eof and self.on_eof()

    @property
    def on_lost(self):
        return self.raw.on_lost

    def write(self, data):
        """
        Send C{data} in one binary frame.
        """
        self.raw.write(ws_frame(0x2, data))

    def end(self):
        """
        Send a close frame (status 1000), then end the stream.
        """
        self.raw.write(ws_frame(0x8, struct.pack(">H", 1000)))
        self.raw.end()

    def _received(self, data):
        self._buffer += data
        while True:
            frame = ws_parse(self._buffer)
            if frame is None:
                return
            opcode, payload, used = frame
            self._buffer = self._buffer[used:]
            if opcode == 0x8:
                if self.on_eof is not None:
                    self.on_eof()
            elif opcode in (0x0, 0x1, 0x2) and self.on_input is not None:
                self.on_input(payload)


def ws_accept(key):
    """
    @return: the C{Sec-WebSocket-Accept} answering a C{Sec-WebSocket-Key}.
    """
    return base64.b64encode(hashlib.sha1(key.strip() + _WS_GUID).digest())


def ws_frame(opcode, payload, mask=None):
    """
    One final WebSocket frame.

    @param mask: 4 bytes to mask it with (a client's frame), or L{None}.
    """
    head = bytes([0x80 | opcode])
    size = len(payload)
    flag = 0x80 if mask is not None else 0
    if size < 126:
        head += bytes([flag | size])
    elif size < 65536:
        head += bytes([flag | 126]) + struct.pack(">H", size)
    else:
        head += bytes([flag | 127]) + struct.pack(">Q", size)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_parse(data):
    """
    Read one WebSocket frame.

    @return: C{(opcode, unmasked payload, bytes used)}, or L{None} if
        C{data} does not hold a whole frame yet.
    """
    if len(data) < 2:
        return None
    opcode = data[0] & 0x0F
    masked = data[1] & 0x80
    size = data[1] & 0x7F
    index = 2
    if size == 126:
        if len(data) < 4:
            return None
        size = struct.unpack(">H", data[2:4])[0]
        index = 4
    elif size == 127:
        if len(data) < 10:
            return None
        size = struct.unpack(">Q", data[2:10])[0]
        index = 10
    mask = b""
    if masked:
        mask = data[index:index + 4]
        index += 4
    if len(data) < index + size:
        return None
    payload = data[index:index + size]
    if masked:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return opcode, payload, index + size


def take_over(request, protocol):
    """
    Take the request's connection away from its HTTP channel and give it to
    C{protocol}, with the bytes the client already sent after its request.

    The site keeps counting the connection (so an unreachable engine or a
    stopped port still drops it) until it is gone.
    """
    channel = request.channel
    transport = channel.transport
    site = getattr(channel, "site", None)
    channel.setTimeout(None)
    leftover = b"".join(getattr(channel, "_dataBuffer", None) or [])
    channel._dataBuffer = []
    transport.unregisterProducer()
    if isinstance(transport, ProtocolWrapper):
        original = transport.wrappedProtocol
        transport.wrappedProtocol = protocol
    else:
        original = transport.protocol
        transport.protocol = protocol
    connections = getattr(site, "connections", None)
    if connections is not None:
        protocol.on_lost.append(lambda: connections.discard(original))
    protocol.makeConnection(transport)
    transport.resumeProducing()
    if leftover:
        protocol.dataReceived(leftover)


def hijack(request, clock, run, websocket=False):
    """
    Serve a request by hijacking its connection: on the next turn of
    C{clock} (once the HTTP channel has buffered whatever the client sent
    after its request), the connection goes to a new L{RawStream} and
    C{run(stream)} writes the head and starts the stream.

    @param websocket: give C{run} a L{WebSocketStream} (the head it writes
        is the raw one; the framing starts after it).
    @return: L{HIJACKED}, for the handler to return.
    """
    def start():
        if getattr(request, "_disconnected", False) or request.channel is None:
            return
        raw = RawStream()
        take_over(request, raw)
        run(WebSocketStream(raw) if websocket else raw, raw)

    clock.callLater(0, start)
    return HIJACKED


__all__ = ["HIJACKED", "RAW_STREAM", "RawStream", "WebSocketStream", "hijack", "take_over",
           "ws_accept", "ws_frame", "ws_parse"]
