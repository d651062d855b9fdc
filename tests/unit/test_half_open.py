"""
Tests for L{swarmd.api._half_open}: on real loopback TCP sockets (a reset,
a half-close), with a L{Clock} driving the looks.
"""

import socket
import struct
import time

from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.trial.unittest import SynchronousTestCase

from swarmd.api._half_open import CHECK_SECONDS, HalfOpenClients, connection_failed


class SocketTransport:
    """
    What L{HalfOpenClients} uses of a TCP transport, over a real socket.
    """

    def __init__(self, handle):
        self.handle = handle
        self.disconnected = False
        self.aborted = 0

    def getHandle(self):
        return self.handle

    def abortConnection(self):
        self.aborted += 1


class HalfOpenTestCase(SynchronousTestCase):
    """
    Makes loopback connections and breaks their peers.
    """

    def connection(self):
        """
        @return: C{(our socket, the peer's socket)}, connected over loopback.
        """
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        peer = socket.create_connection(listener.getsockname())
        self.addCleanup(peer.close)
        ours, _ = listener.accept()
        self.addCleanup(ours.close)
        return ours, peer

    def reset(self, peer, ours):
        """
        Abort C{peer} (a reset, as a killed client's kernel sends) and wait
        until C{ours} got it.
        """
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        self._until(ours, 7)

    def _until(self, ours, state):
        deadline = time.monotonic() + 10
        while ours.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] != state:
            self.assertLess(time.monotonic(), deadline, "the socket never got there")
            time.sleep(0.001)


class ConnectionFailedTests(HalfOpenTestCase):
    """
    L{connection_failed} tells a gone peer from a live or half-closed one.
    """

    def test_live(self):
        """A connection both sides hold has not failed."""
        ours, _ = self.connection()
        self.assertFalse(connection_failed(SocketTransport(ours)))

    def test_reset(self):
        """A connection its peer reset has failed."""
        ours, peer = self.connection()
        self.reset(peer, ours)
        self.assertTrue(connection_failed(SocketTransport(ours)))

    def test_reset_error_taken(self):
        """A reset connection whose error was already read has failed all the same."""
        ours, peer = self.connection()
        self.reset(peer, ours)
        self.assertEqual(ours.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR), 104)
        self.assertTrue(connection_failed(SocketTransport(ours)))

    def test_half_closed(self):
        """A peer that closed its side only (stdin ended) has not failed."""
        ours, peer = self.connection()
        peer.shutdown(socket.SHUT_WR)
        self._until(ours, 8)  # CLOSE_WAIT
        self.assertFalse(connection_failed(SocketTransport(ours)))

    def test_wrapped(self):
        """A wrapped transport (TLS) is judged by the TCP socket under it."""
        ours, peer = self.connection()
        self.reset(peer, ours)
        wrapper = ProtocolWrapper(WrappingFactory(Factory()), Protocol())
        wrapper.makeConnection(SocketTransport(ours))
        self.assertTrue(connection_failed(wrapper))

    def test_no_socket(self):
        """A transport without a socket (in memory) has not failed."""
        self.assertFalse(connection_failed(object()))

    def test_closed_socket(self):
        """A socket already closed is not looked at."""
        ours, _ = self.connection()
        ours.close()
        self.assertFalse(connection_failed(SocketTransport(ours)))


class HalfOpenClientsTests(HalfOpenTestCase):
    """
    L{HalfOpenClients} aborts the failed connections every
    L{CHECK_SECONDS}, and runs only while it has some to look at.
    """

    def setUp(self):
        self.clock = Clock()
        self.clients = HalfOpenClients(self.clock)

    def test_failed_aborted(self):
        """A connection reset after it was added is aborted at the next look, not before."""
        ours, peer = self.connection()
        transport = SocketTransport(ours)
        self.clients.add(transport)
        self.reset(peer, ours)
        self.clock.advance(CHECK_SECONDS - 0.1)
        self.assertEqual(transport.aborted, 0)
        self.clock.advance(0.1)
        self.assertEqual(transport.aborted, 1)
        self.assertEqual(len(self.clients), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_live_kept(self):
        """A live connection is looked at again and again, never aborted."""
        ours, peer = self.connection()
        live = SocketTransport(ours)
        self.clients.add(live)
        for _ in range(3):
            self.clock.advance(CHECK_SECONDS)
        self.assertEqual(live.aborted, 0)
        self.assertEqual(len(self.clients), 1)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_only_failed_aborted(self):
        """Of a live and a reset connection, the reset one alone is aborted."""
        live_socket, _ = self.connection()
        dead_socket, peer = self.connection()
        live, dead = SocketTransport(live_socket), SocketTransport(dead_socket)
        self.clients.add(live)
        self.clients.add(dead)
        self.reset(peer, dead_socket)
        self.clock.advance(CHECK_SECONDS)
        self.assertEqual((live.aborted, dead.aborted), (0, 1))
        self.assertEqual(len(self.clients), 1)

    def test_disconnected_forgotten(self):
        """A connection that closed meanwhile is forgotten, not aborted, and the loop stops."""
        ours, _ = self.connection()
        transport = SocketTransport(ours)
        self.clients.add(transport)
        transport.disconnected = True
        self.clock.advance(CHECK_SECONDS)
        self.assertEqual(transport.aborted, 0)
        self.assertEqual(len(self.clients), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_discard_stops(self):
        """Discarding the last connection stops the looks; adding one starts them again."""
        ours, _ = self.connection()
        transport = SocketTransport(ours)
        self.clients.add(transport)
        self.clients.discard(transport)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.clients.add(transport)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)

    def test_discard_unknown(self):
        """Discarding a connection never added changes nothing."""
        self.clients.discard(SocketTransport(None))
        self.assertEqual(len(self.clients), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
