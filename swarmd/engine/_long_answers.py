"""
Long engine answers (logs, stats, exports) read on a connection of their
own, with our own framing.

dockerd flushes a log stream a line at a time: a chunk of HTTP per line,
58 bytes each in the benchmark.  Twisted's HTTP client decodes chunks one
state-machine step and one callback at a time; relaying 116 MB of logs, its
decoder was 61 % of the manager's CPU (py-spy, C{bench/proxy.py}), and the
manager the bottleneck of the stream.  L{ChunkedDecoder} walks a whole read
at once and hands the relay the payload of every chunk in it as one string.

The connection is opened for the one request and closed after it
(C{Connection: close}): these answers last seconds to hours, a connection
kept for them would sit idle in no pool.
"""

import re
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone, ResponseFailed, ResponseNeverReceived
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IResponse
from zope.interface import implementer

from swarmd.engine.endpoints import connect_protocol

#: Largest response head accepted from an engine.
MAX_HEAD = 64 * 1024

#: Longest chunk-size line accepted (size and extensions).
MAX_SIZE_LINE = 1024

#: A chunk size: hex digits only (Python's C{int(x, 16)} would also take
#: C{0x10}, C{+10} and C{1_0}).
_HEX = re.compile(rb"[0-9a-fA-F]{1,15}\Z")


class ChunkedDecoder:
    """
    Decode a chunked body as it arrives (RFC 9112, section 7.1).

    @ivar done: whether the last chunk and the trailer section were read.
    """

    def __init__(self):
        self.done = False
        self._buffer = b""
        self._left = 0      # payload bytes of the current chunk still to come
        self._crlf = 0      # bytes of the CRLF after a chunk's payload to skip
        self._trailers = False

    def feed(self, data):
        """
        @param data: the next bytes of the body.
        @return: C{(payload, rest)}: the payload bytes those carried, and
            what came after the body's end (C{b""} until then).
        @raise ValueError: on bytes that are not a chunked body.
        """
        buffer = self._buffer + data if self._buffer else data
        self._buffer = b""
        end = len(buffer)
        position = 0
        out = []
        while position < end:
            if self._left:
                take = min(self._left, end - position)
                out.append(buffer[position:position + take])
                position += take
                self._left -= take
                if not self._left:
                    self._crlf = 2
                continue
            if self._crlf:
                expected = b"\r\n"[2 - self._crlf:]
                got = buffer[position:position + len(expected)]
                if not expected.startswith(got):
                    raise ValueError("chunk not followed by CRLF")
                position += len(got)
                self._crlf -= len(got)
                continue
            eol = buffer.find(b"\r\n", position)
            if eol < 0:
                if end - position > MAX_SIZE_LINE:
                    raise ValueError("chunk size line too long")
                self._buffer = buffer[position:]
                break
            line = buffer[position:eol]
            position = eol + 2
            if self._trailers:
                if not line:
                    self.done = True
                    return b"".join(out), buffer[position:]
                continue
            if line.isalnum() and len(line) < 16 and line[1:2] not in (b"x", b"X"):
                # The common case, without a regular expression: plain hex
                # digits (int() refuses other letters).
                size = int(line, 16)
            else:
                size = _size(line)
            if not size:
                self._trailers = True
                continue
            stop = position + size
            if stop + 2 <= end:
                # The common case: the whole chunk is in this read.
                if buffer[stop:stop + 2] != b"\r\n":
                    raise ValueError("chunk not followed by CRLF")
                out.append(buffer[position:stop])
                position = stop + 2
            else:
                self._left = size
        return b"".join(out), b""


def _size(line):
    """
    @param line: a chunk-size line, without its CRLF.
    @return: the chunk's size.
    @raise ValueError: when it is not a chunk size.
    """
    if _HEX.match(line) is None:
        size = line.split(b";", 1)[0].strip(b" \t")
        if _HEX.match(size) is None:
            raise ValueError("bad chunk size %r" % (line[:40],))
        line = size
    return int(line, 16)


def build_request(method, path, host, headers=None, body=None):
    """
    The bytes of a request asking the engine to close the connection after
    its answer.

    @param headers: a L{Headers} to send along (hop-by-hop ones already
        removed), or L{None}.
    @param body: C{bytes} or L{None}.
    """
    lines = [b"%s %s HTTP/1.1" % (method, path), b"Host: " + host,
             b"Connection: close"]
    if headers is not None:
        for name, values in headers.getAllRawHeaders():
            if name.lower() in (b"host", b"connection", b"content-length"):
                continue
            lines.extend(name + b": " + value for value in values)
    if body:
        lines.append(b"Content-Length: %d" % (len(body),))
    return b"\r\n".join(lines) + b"\r\n\r\n" + (body or b"")


def parse_head(head):
    """
    @param head: a response head, without its final empty line.
    @return: C{(status, phrase, headers)}: C{int}, C{bytes}, L{Headers}.
    @raise ValueError: when it is not an HTTP/1.x response head.
    """
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ValueError("not an HTTP response: %r" % (lines[0][:80],))
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise ValueError("bad header line %r" % (line[:80],))
        headers.addRawHeader(name, value.strip(b" \t"))
    return int(parts[1]), parts[2] if len(parts) > 2 else b"", headers


@implementer(IResponse)
class StreamedResponse:
    """
    An engine's answer read by L{StreamProtocol}: the parts of L{IResponse}
    a relay uses (C{code}, C{phrase}, C{headers}, C{length},
    C{deliverBody}).
    """

    version = (b"HTTP", 1, 1)
    request = None
    previousResponse = None

    def __init__(self, protocol, code, phrase, headers, length):
        self._protocol = protocol
        self.code = code
        self.phrase = phrase
        self.headers = headers
        self.length = length

    def deliverBody(self, protocol):
        self._protocol.deliver(protocol)

    def setPreviousResponse(self, response):
        self.previousResponse = response


class StreamProtocol(Protocol):
    """
    One request on a connection of its own, its answer's body handed on as
    it comes (in one piece per read).

    @ivar answered: fires with a L{StreamedResponse} once the head arrived;
        fails with L{ResponseNeverReceived} if the connection ended first.
    """

    transport: Any  # a TCP, TLS or UNIX transport: also a push producer

    def __init__(self, request, bodiless=False):
        """
        @param request: the request's bytes.
        @param bodiless: whether the answer has no body whatever its head
            says (the answer to a C{HEAD}).
        """
        self._request = request
        self._bodiless = bodiless
        self.answered: Deferred[StreamedResponse] = Deferred(self._cancel)
        self._head = b""
        self._response = None
        self._framing: Any = None   # a ChunkedDecoder, an int (bytes left) or None (to close)
        self._consumer = None
        self._early = []            # body bytes that came before deliverBody
        self._outcome = None        # why the body ended, until delivered

    def _cancel(self, answered):
        if self.transport is not None:
            self.transport.abortConnection()

    def connectionMade(self):
        self.transport.write(self._request)

    def dataReceived(self, data):
        if self._response is None:
            data = self._read_head(data)
            if not data:
                return
        if self._outcome is not None or self._response is False:
            # The body ended, or the head was refused (the connection is
            # being dropped): nothing more is read.
            return
        framing = self._framing
        if framing is None:
            self._body(data)
        elif isinstance(framing, int):
            data = data[:framing]
            self._framing = framing - len(data)
            self._body(data)
            if not self._framing:
                self._end(Failure(ResponseDone()))
        else:
            try:
                payload, _ = framing.feed(data)
            except ValueError as e:
                self._end(Failure(ResponseFailed([Failure(e)])))
                return
            if payload:
                self._body(payload)
            if framing.done:
                self._end(Failure(ResponseDone()))

    def _read_head(self, data):
        """
        Gather the head; once whole, answer with the response.

        @return: the body bytes that came with it.
        """
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            if len(self._head) > MAX_HEAD:
                self.transport.abortConnection()
            return b""
        head, rest = self._head[:end], self._head[end + 4:]
        self._head = b""
        try:
            code, phrase, headers = parse_head(head)
            if 100 <= code < 200:
                # An interim answer (100 Continue): the real head follows.
                return self._read_head(rest) if rest else b""
            length = self._choose_framing(code, headers)
        except ValueError as e:
            self._response = False
            self.transport.abortConnection()
            self.answered.errback(ResponseNeverReceived([Failure(e)]))
            return b""
        self._response = StreamedResponse(self, code, phrase, headers, length)
        self.answered.callback(self._response)
        if self._framing == 0:
            self._end(Failure(ResponseDone()))
        return rest

    def _choose_framing(self, code, headers):
        """
        @return: the body's length, or L{UNKNOWN_LENGTH}.
        """
        coding = headers.getRawHeaders(b"transfer-encoding")
        lengths = headers.getRawHeaders(b"content-length")
        if code in (204, 304) or self._bodiless:
            self._framing = 0
            return 0
        if coding:
            if b",".join(coding).strip().lower() != b"chunked":
                raise ValueError("transfer coding %r" % (b",".join(coding),))
            self._framing = ChunkedDecoder()
            return UNKNOWN_LENGTH
        if lengths:
            if len(set(lengths)) != 1 or not lengths[0].isdigit():
                raise ValueError("bad Content-Length %r" % (lengths,))
            self._framing = int(lengths[0])
            return self._framing
        self._framing = None
        return UNKNOWN_LENGTH

    def _body(self, data):
        if self._consumer is not None:
            self._consumer.dataReceived(data)
        else:
            self._early.append(data)

    def _end(self, reason):
        """
        The body is over (or broke): tell the consumer, and close.
        """
        if self._outcome is not None:
            return
        self._outcome = reason
        self.transport.loseConnection()
        if self._consumer is not None:
            self._consumer.connectionLost(reason)

    def deliver(self, consumer):
        """
        Hand the body to C{consumer} (an L{IProtocol}), as
        L{IResponse.deliverBody} does.
        """
        self._consumer = consumer
        consumer.makeConnection(self.transport)
        early, self._early = self._early, []
        for data in early:
            consumer.dataReceived(data)
        if self._outcome is not None:
            consumer.connectionLost(self._outcome)

    def connectionLost(self, reason=None):
        if self._response is None:
            if not self.answered.called:
                self.answered.errback(ResponseNeverReceived([reason]))
            return
        if self._response is False or self._outcome is not None:
            return
        if self._framing is None and reason is not None and reason.check(ConnectionDone):
            # Ended by closing, as HTTP allows when no length was given.
            self._end(Failure(PotentialDataLoss()))
        else:
            self._end(Failure(ResponseFailed([reason])))


def stream_request(endpoint, method, path, host, headers=None, body=None):
    """
    Send one request to an engine on a new connection.

    @param endpoint: the engine's L{IStreamClientEndpoint}.
    @param host: the C{Host} header, C{bytes}.
    @return: a L{Deferred} firing with an L{IResponse} once its head
        arrived.  Cancelling it drops the connection.
    """
    protocol = StreamProtocol(build_request(method, path, host, headers, body),
                              bodiless=method == b"HEAD")
    connecting = connect_protocol(endpoint, protocol)

    def connected(_):
        return protocol.answered

    def cancel(d):
        connecting.cancel()
        protocol.answered.cancel()

    answered: Deferred[Any] = Deferred(cancel)
    connecting.addCallback(connected).chainDeferred(answered)
    return answered
