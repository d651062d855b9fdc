"""
Tests for the listen backlog of the manager's listeners
(L{swarmd.manager.listen_backlog}): a burst of connections waits in the
kernel's queue instead of being reset.
"""

import os
import select
import socket
import tempfile

from twisted.internet import reactor
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase

from swarmd.manager import DEFAULT_BACKLOG, listen_backlog, listen_endpoint, make_manager_service
from swarmd.tap import Options

#: Connections opened at once.
BURST = 200


class ListenBacklogTests(TestCase):
    """
    L{listen_backlog} reads the kernel's cap.
    """

    def _file(self, text):
        fd, path = tempfile.mkstemp(prefix="somaxconn-", dir="/tmp")
        os.write(fd, text.encode("ascii"))
        os.close(fd)
        self.addCleanup(os.unlink, path)
        return path

    def test_reads_somaxconn(self):
        """The backlog is the number the kernel's somaxconn file holds."""
        self.assertEqual(listen_backlog(self._file("4096\n")), 4096)

    def test_unreadable(self):
        """A missing, empty, garbled or zero file gives the fallback backlog."""
        for path in ("/nonexistent/somaxconn", self._file(""), self._file("many"),
                     self._file("0")):
            self.assertEqual(listen_backlog(path), DEFAULT_BACKLOG)

    def test_capped(self):
        """A cap above what the kernel can store is brought down to 65535."""
        self.assertEqual(listen_backlog(self._file("1000000")), 65535)

    def test_every_endpoint(self):
        """TCP, IPv6 and unix listeners (TLS ones share them) get the backlog."""
        folder = tempfile.mkdtemp(prefix="swarmd-backlog-", dir="/tmp")
        self.addCleanup(os.rmdir, folder)
        for host in ("tcp://127.0.0.1:2375", "tcp://[::1]:2375",
                     "unix://" + os.path.join(folder, "s.sock")):
            self.assertEqual(listen_endpoint(reactor, host)._backlog, listen_backlog())
            self.assertEqual(listen_endpoint(reactor, host, backlog=7)._backlog, 7)


class _Collect(Protocol):
    def __init__(self):
        self.data = b""
        self.done = Deferred()

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.done.callback(self.data)


class BurstTests(TestCase):
    """
    C{BURST} connections opened at once, while the manager's reactor cannot
    accept any of them, are all established by the kernel and all answered.
    """

    def setUp(self):
        options = Options(environ={})
        options.parseOptions(["manage", "-H", "tcp://127.0.0.1:0", "nodes://127.0.0.1:1"])
        self.service = make_manager_service(options.subOptions.config, reactor)
        self.service.startService()
        self.addCleanup(self.service.stopService)

    def _port(self):
        # The API listeners live in the manager's graceful part (they are
        # drained first when it stops: swarmd.shutdown).
        for child in self.service.graceful:
            waiting = getattr(child, "_waitingForPort", None)
            if waiting is not None:
                number = Deferred()

                def seen(port, number=number):
                    number.callback(port.getHost().port)
                    return port

                waiting.addCallback(seen)
                return number
        self.fail("no listener")

    @inlineCallbacks
    def test_burst_of_connections(self):
        """200 simultaneous connections are all established and all get an answer."""
        port = yield self._port()
        sockets = []
        self.addCleanup(lambda: [s.close() for s in sockets])
        # The reactor is busy running this test: nothing is accepted until it
        # returns, so only the kernel's accept queue holds the connections.
        for _ in range(BURST):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sockets.append(s)
        established = set()
        waiting = list(sockets)
        for _ in range(50):
            if not waiting:
                break
            _, writable, _ = select.select([], waiting, [], 0.1)
            for s in writable:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    established.add(s)
                waiting.remove(s)
        self.assertEqual(len(established), BURST)
        request = b"GET /_ping HTTP/1.1\r\nHost: swarm\r\nConnection: close\r\n\r\n"
        protocols = []
        for s in sockets:
            s.setblocking(True)
            s.sendall(request)
            s.setblocking(False)
            protocol = _Collect()
            protocols.append(protocol)
            reactor.adoptStreamConnection(s.fileno(), socket.AF_INET,
                                          Factory.forProtocol(lambda p=protocol: p))
        answers = yield DeferredList([p.done for p in protocols])
        self.assertEqual(sum(1 for ok, data in answers
                             if ok and data.startswith(b"HTTP/1.1 200") and data.endswith(b"OK")),
                         BURST)
