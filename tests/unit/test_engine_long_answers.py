"""
Tests for L{swarmd.engine._long_answers}: the chunk decoder, the protocol
reading one answer on its own connection, and a real HTTP server's
chunked stream read through it.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import ResponseDone, ResponseFailed, ResponseNeverReceived
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import UNKNOWN_LENGTH
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from swarmd.engine._long_answers import (
    MAX_SIZE_LINE,
    ChunkedDecoder,
    StreamProtocol,
    build_request,
    stream_request,
)


def chunked(*pieces, trailers=b""):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n" + trailers + b"\r\n"


class ChunkedDecoderTests(SynchronousTestCase):
    def test_whole(self):
        """
        A whole body in one read gives its payload, and what follows.
        """
        decoder = ChunkedDecoder()
        payload, rest = decoder.feed(chunked(b"hello ", b"world") + b"NEXT")
        self.assertEqual((payload, rest, decoder.done), (b"hello world", b"NEXT", True))

    def test_byte_at_a_time(self):
        """
        A body fed a byte at a time gives the same payload.
        """
        decoder = ChunkedDecoder()
        body = chunked(b"a" * 300, b"b", trailers=b"X-T: 1\r\n")
        out = b"".join(decoder.feed(body[i:i + 1])[0] for i in range(len(body)))
        self.assertEqual((out, decoder.done), (b"a" * 300 + b"b", True))

    def test_extensions_and_trailers(self):
        """
        Chunk extensions and trailer fields are skipped.
        """
        decoder = ChunkedDecoder()
        body = b"5;name=value\r\nhello\r\n0\r\nExpires: never\r\n\r\n"
        self.assertEqual(decoder.feed(body), (b"hello", b""))
        self.assertTrue(decoder.done)

    def test_not_done_midway(self):
        """
        Until the last chunk, the decoder is not done.
        """
        decoder = ChunkedDecoder()
        self.assertEqual(decoder.feed(b"3\r\nabc\r\n"), (b"abc", b""))
        self.assertFalse(decoder.done)

    def test_bad_sizes(self):
        """
        Sizes Python's C{int} would take but HTTP does not are refused.
        """
        for line in (b"0x10", b"+10", b"1_0", b"g", b"", b"-1", b"1 0"):
            with self.subTest(line=line):
                self.assertRaises(ValueError, ChunkedDecoder().feed, line + b"\r\n")

    def test_missing_crlf(self):
        """
        A chunk's payload must be followed by CRLF.
        """
        self.assertRaises(ValueError, ChunkedDecoder().feed, b"3\r\nabcXY")

    def test_size_line_too_long(self):
        """
        A size line that never ends is refused once over the limit.
        """
        decoder = ChunkedDecoder()
        self.assertRaises(ValueError, decoder.feed, b"1" * (MAX_SIZE_LINE + 1))

    @settings(max_examples=200, derandomize=True)
    @given(st.lists(st.binary(min_size=1, max_size=50), max_size=20), st.data())
    def test_any_split(self, pieces, data):
        """
        However a body is cut into reads, the payload comes out whole.
        """
        body = chunked(*pieces)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(body)), max_size=10)))
        decoder = ChunkedDecoder()
        out = []
        start = 0
        for cut in cuts + [len(body)]:
            out.append(decoder.feed(body[start:cut])[0])
            start = cut
        self.assertEqual((b"".join(out), decoder.done), (b"".join(pieces), True))


class Collect(Protocol):
    def __init__(self):
        self.data = []
        self.reason = None

    def dataReceived(self, data):
        self.data.append(data)

    def connectionLost(self, reason):
        self.reason = reason


class StreamProtocolTests(SynchronousTestCase):
    def answer(self, *reads, bodiless=False):
        """
        Feed C{reads} to a protocol as the engine's answer.

        @return: C{(protocol, transport, response or failure)}; the
            protocol's C{results} holds what C{answered} gave.
        """
        protocol = StreamProtocol(b"GET / HTTP/1.1\r\n\r\n", bodiless=bodiless)
        transport = StringTransport()
        protocol.makeConnection(transport)
        results = []
        protocol.answered.addBoth(results.append)
        protocol.results = results
        for data in reads:
            protocol.dataReceived(data)
        return protocol, transport, results[0] if results else None

    def test_sends_request(self):
        """
        The request is written once connected.
        """
        _, transport, _ = self.answer()
        self.assertEqual(transport.value(), b"GET / HTTP/1.1\r\n\r\n")

    def test_chunked(self):
        """
        A chunked answer: head, payload per read, L{ResponseDone}, and the
        connection closed.
        """
        protocol, transport, response = self.answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n"
            + chunked(b"one", b"two")[:10])
        self.assertEqual((response.code, response.phrase, response.length),
                         (200, b"OK", UNKNOWN_LENGTH))
        self.assertEqual(response.headers.getRawHeaders(b"x-a"), [b"b"])
        body = Collect()
        response.deliverBody(body)
        protocol.dataReceived(chunked(b"one", b"two")[10:])
        self.assertEqual(b"".join(body.data), b"onetwo")
        body.reason.trap(ResponseDone)
        self.assertTrue(transport.disconnecting)

    def test_content_length(self):
        """
        An answer with a length ends with its last byte.
        """
        protocol, _, response = self.answer(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nab")
        body = Collect()
        response.deliverBody(body)
        protocol.dataReceived(b"cdeEXTRA")
        self.assertEqual((response.length, b"".join(body.data)), (5, b"abcde"))
        body.reason.trap(ResponseDone)

    def test_until_close(self):
        """
        An answer without length or chunks lasts until the engine closes.
        """
        protocol, _, response = self.answer(b"HTTP/1.0 200 OK\r\n\r\nsome")
        body = Collect()
        response.deliverBody(body)
        protocol.dataReceived(b" more")
        self.assertIsNone(body.reason)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(b"".join(body.data), b"some more")
        body.reason.trap(PotentialDataLoss)

    def test_cut_chunked(self):
        """
        A chunked answer cut before its last chunk fails: a cut stream never
        looks complete.
        """
        protocol, _, response = self.answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
        body = Collect()
        response.deliverBody(body)
        protocol.connectionLost(Failure(ConnectionDone()))
        body.reason.trap(ResponseFailed)

    def test_bad_chunks(self):
        """
        Bytes that are not chunks fail the body and drop the connection.
        """
        protocol, transport, response = self.answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        body = Collect()
        response.deliverBody(body)
        body.reason.trap(ResponseFailed)
        self.assertTrue(transport.disconnecting)

    def test_bodiless(self):
        """
        A HEAD's answer, a 204 and a 304 end with their head.
        """
        for head, bodiless in ((b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", True),
                               (b"HTTP/1.1 204 No Content\r\n\r\n", False),
                               (b"HTTP/1.1 304 Not Modified\r\n\r\n", False)):
            with self.subTest(head=head):
                _, _, response = self.answer(head, bodiless=bodiless)
                body = Collect()
                response.deliverBody(body)
                self.assertEqual(body.data, [])
                body.reason.trap(ResponseDone)

    def test_early_body(self):
        """
        Body bytes that came before C{deliverBody} are handed over first.
        """
        protocol, _, response = self.answer(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc",
                                            b"def")
        body = Collect()
        response.deliverBody(body)
        self.assertEqual(b"".join(body.data), b"abcdef")
        body.reason.trap(ResponseDone)

    def test_interim(self):
        """
        A C{100 Continue} is skipped.
        """
        _, _, response = self.answer(b"HTTP/1.1 100 Continue\r\n\r\n"
                                     b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(response.code, 201)

    def test_bad_head(self):
        """
        A head that is not HTTP fails the answer and drops the connection.
        """
        for head in (b"SSH-2.0-x\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n",
                     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"):
            with self.subTest(head=head):
                protocol, transport, failure = self.answer(head)
                failure.trap(ResponseNeverReceived)
                self.assertTrue(transport.disconnecting)
                protocol.connectionLost(Failure(ConnectionDone()))

    def test_lost_before_head(self):
        """
        A connection that ends before the head fails the answer with
        L{ResponseNeverReceived}, once.
        """
        protocol, _, _ = self.answer(b"HTTP/1.1 2")
        protocol.connectionLost(Failure(ConnectionLost()))
        [failure] = protocol.results
        failure.trap(ResponseNeverReceived)

    def test_cancel(self):
        """
        Cancelling the answer drops the connection.
        """
        protocol, transport, _ = self.answer()
        protocol.answered.cancel()
        self.assertTrue(transport.disconnected)
        protocol.connectionLost(Failure(ConnectionLost()))
        [failure] = protocol.results
        failure.trap(CancelledError)


class BuildRequestTests(SynchronousTestCase):
    def test_request(self):
        """
        The request asks to close, carries the caller's headers but not
        their own framing or host, and a body with its length.
        """
        from twisted.web.http_headers import Headers

        headers = Headers({b"X-Registry-Auth": [b"abc"], b"Host": [b"evil"],
                           b"Content-Length": [b"99"]})
        request = build_request(b"POST", b"/x", b"docker", headers, b"body")
        head, _, body = request.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        self.assertEqual(lines[:3], [b"POST /x HTTP/1.1", b"Host: docker", b"Connection: close"])
        self.assertEqual(sorted(lines[3:]), [b"Content-Length: 4", b"X-Registry-Auth: abc"])
        self.assertEqual(body, b"body")


class _Lines(Resource):
    """
    Writes C{count} lines one C{write} each (a chunk each), as dockerd
    writes a log stream.
    """

    isLeaf = True

    def __init__(self, count):
        Resource.__init__(self)
        self.count = count

    def render_GET(self, request):
        def write(i):
            for n in range(i, min(i + 500, self.count)):
                request.write(b"line %06d\n" % (n,))
            if i + 500 < self.count:
                reactor.callLater(0, write, i + 500)
            else:
                request.finish()

        write(0)
        return NOT_DONE_YET


class OverTCPTests(TestCase):
    @inlineCallbacks
    def test_real_server(self):
        """
        Thousands of chunks from Twisted's HTTP server arrive whole through
        L{stream_request}.
        """
        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            Site(_Lines(5000)))
        self.addCleanup(port.stopListening)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        response = yield stream_request(endpoint, b"GET", b"/logs", b"docker")
        self.assertEqual(response.code, 200)
        body = Collect()
        ended = Deferred()
        body.connectionLost = lambda reason: ended.callback(reason.value)
        response.deliverBody(body)
        reason = yield ended
        self.assertIsInstance(reason, ResponseDone)
        expected = b"".join(b"line %06d\n" % (n,) for n in range(5000))
        self.assertEqual(b"".join(body.data), expected)

    @inlineCallbacks
    def test_nobody_listening(self):
        """
        An engine that cannot be reached fails the answer.
        """
        from twisted.internet.error import ConnectionRefusedError

        port = yield TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Site(Resource()))
        number = port.getHost().port
        yield port.stopListening()
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", number)
        yield self.assertFailure(stream_request(endpoint, b"GET", b"/", b"docker"),
                                 ConnectionRefusedError)
