"""
Tests for L{swarmd.api.proxy.relay_body}: an engine's answer streamed to the
client, gathered a reactor turn at a time.
"""

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.test.proto_helpers import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone
from twisted.web.test.requesthelper import DummyRequest

from swarmd.api.proxy import FLUSH_SIZE, relay_body


class _Response:
    """
    An engine response whose body the test feeds by hand.
    """

    def __init__(self):
        self.protocol = None

    def deliverBody(self, protocol):
        self.protocol = protocol
        protocol.makeConnection(StringTransport())


class _Request(DummyRequest):
    def __init__(self):
        DummyRequest.__init__(self, [b""])
        self.channel = object()
        self.writes = []

    def write(self, data):
        self.writes.append(data)

    def registerProducer(self, producer, streaming):
        # DummyRequest only knows pull producers (it loops on them).
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None


class RelayTests(SynchronousTestCase):
    """
    What reaches the client, and when.
    """

    def setUp(self):
        self.clock = Clock()
        self.request = _Request()
        self.response = _Response()
        self.done = relay_body(self.request, self.response, self.clock)
        self.protocol = self.response.protocol
        # The head goes at once (an empty write), before any body.
        self.assertEqual(self.request.writes, [b""])
        del self.request.writes[:]

    def test_one_write_per_turn(self):
        """Pieces arriving in one reactor turn reach the client as one write, at its end."""
        for i in range(100):
            self.protocol.dataReceived(b"line %02d\n" % (i,))
        self.assertEqual(self.request.writes, [])
        self.clock.advance(0)
        self.assertEqual(self.request.writes,
                         [b"".join(b"line %02d\n" % (i,) for i in range(100))])
        self.protocol.dataReceived(b"later\n")
        self.clock.advance(0)
        self.assertEqual(self.request.writes[1:], [b"later\n"])

    def test_large_bursts_written_as_they_fill(self):
        """A burst over FLUSH_SIZE is written without waiting for the turn's end."""
        piece = b"x" * 1000
        count = FLUSH_SIZE // len(piece) + 1
        for _ in range(count):
            self.protocol.dataReceived(piece)
        self.assertEqual([len(w) for w in self.request.writes], [count * len(piece)])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_end_flushes_before_done(self):
        """The body's end writes what is left, then fires with the byte count."""
        self.protocol.dataReceived(b"tail")
        self.protocol.connectionLost(Failure(ResponseDone()))
        self.assertEqual(self.request.writes, [b"tail"])
        self.assertEqual(self.successResultOf(self.done), 4)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_client_gone_drops_pending(self):
        """Nothing is written to a client whose connection was lost."""
        self.protocol.dataReceived(b"late")
        self.request._disconnected = True
        self.clock.advance(0)
        self.assertEqual(self.request.writes, [])

    def test_without_clock_writes_at_once(self):
        """With no clock every piece is written as it comes."""
        request = _Request()
        response = _Response()
        relay_body(request, response)
        response.protocol.dataReceived(b"a")
        response.protocol.dataReceived(b"b")
        self.assertEqual(request.writes, [b"", b"a", b"b"])
