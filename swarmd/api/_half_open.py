"""
Hijacked client connections whose client closed its side (stdin ended):
Twisted stops reading such a connection and watches it only while it has
bytes to send, so a reset or a failed keep-alive probe after that goes
unnoticed as long as the container stays silent, and with it the
connection to the engine.  L{HalfOpenClients} looks at them now and then.

A reset can also be mistaken for a half-close: under load, about one
aborted attach in a thousand reached the protocol as C{readConnectionLost}
(the reactor's clean end of the client's side) while the socket still held
its C{ECONNRESET}.  Twisted reads an epoll hang-up without input as such an
end; which way the kernel got there was not pinned down.
L{connection_failed} tells them apart.
"""

import socket

from twisted.internet.task import LoopingCall
from twisted.protocols.policies import ProtocolWrapper

#: Seconds between two looks at the half-open client connections: a client
#: that vanished is dropped at most this long after its socket failed (a
#: reset, or the keep-alive probes left unanswered).
CHECK_SECONDS = 10

#: Linux's C{TCP_CLOSE} state, the first byte of C{TCP_INFO}.
_TCP_CLOSE = 7


def tcp_transport(transport):
    """
    @return: the transport under C{transport}'s wrappers (TLS), if any: the
        one holding the socket.
    """
    while isinstance(transport, ProtocolWrapper):
        transport = transport.transport
    return transport


def _socket_of(transport):
    handle = getattr(tcp_transport(transport), "getHandle", lambda: None)()
    return handle if isinstance(handle, socket.socket) else None


def connection_failed(transport):
    """
    @param transport: a TCP transport (under TLS, if any).
    @return: whether its socket holds an error (a reset, a keep-alive
        timeout) or its connection is closed both ways: either way the peer
        is gone.  C{False} for a transport without a TCP socket.
    """
    handle = _socket_of(transport)
    if handle is None or handle.fileno() < 0:
        return False
    try:
        if handle.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            return True
        if hasattr(socket, "TCP_INFO"):
            return handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == _TCP_CLOSE
    except OSError:
        return True
    return False


class HalfOpenClients:
    """
    The client connections that closed their side: every L{CHECK_SECONDS},
    one whose socket failed is aborted (its protocol then closes the
    engine's connection), one already closed is forgotten.  The loop runs
    only while there is one to look at.
    """

    def __init__(self, clock=None):
        """
        @param clock: an L{IReactorTime} (the reactor if C{None}).
        """
        self._clock = clock
        self._transports = set()
        self._loop = None

    def __len__(self):
        return len(self._transports)

    def add(self, transport):
        """
        Look at C{transport} from now on, until it closes.
        """
        self._transports.add(transport)
        if self._loop is None:
            if self._clock is None:
                from twisted.internet import reactor

                self._clock = reactor
            self._loop = LoopingCall(self.check)
            self._loop.clock = self._clock
            self._loop.start(CHECK_SECONDS, now=False)

    def discard(self, transport):
        """
        Stop looking at C{transport} (it closed).
        """
        self._transports.discard(transport)
        self._stop_if_idle()

    def check(self):
        """
        Abort the connections whose socket failed, forget the closed ones.
        """
        for transport in list(self._transports):
            if getattr(transport, "disconnected", False):
                self._transports.discard(transport)
            elif connection_failed(transport):
                self._transports.discard(transport)
                transport.abortConnection()
        self._stop_if_idle()

    def _stop_if_idle(self):
        if not self._transports and self._loop is not None:
            self._loop.stop()
            self._loop = None
