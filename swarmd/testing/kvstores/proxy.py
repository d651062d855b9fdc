"""
A TCP proxy on a loopback port that a test cuts and restores, to make a
store unreachable (connections refused, open ones dropped) without
stopping it.
"""

from __future__ import annotations

from twisted.internet.protocol import ClientFactory, Factory, Protocol

__all__ = ["CutProxy"]


class _Back(Protocol):
    def connectionMade(self):
        self.factory.front.back = self
        self.factory.front.transport.resumeProducing()
        for data in self.factory.front.waiting:
            self.transport.write(data)
        self.factory.front.waiting = []

    def dataReceived(self, data):
        self.factory.front.transport.write(data)

    def connectionLost(self, reason):
        self.factory.front.transport.loseConnection()


class _BackFactory(ClientFactory):
    protocol = _Back

    def __init__(self, front):
        self.front = front

    def clientConnectionFailed(self, connector, reason):
        self.front.transport.loseConnection()


class _Front(Protocol):
    def connectionMade(self):
        self.back = None
        self.waiting = []
        self.factory.proxy._connections.add(self)
        self.transport.pauseProducing()
        host, port = self.factory.proxy.target
        self.factory.proxy.reactor.connectTCP(host, port, _BackFactory(self))

    def dataReceived(self, data):
        if self.back is None:
            self.waiting.append(data)
        else:
            self.back.transport.write(data)

    def connectionLost(self, reason):
        self.factory.proxy._connections.discard(self)
        if self.back is not None:
            self.back.transport.loseConnection()


class CutProxy:
    """
    Forward 127.0.0.1:C{port} to C{target}.

    @ivar port: the port it listens on (kept across cuts).
    @ivar address: C{127.0.0.1:port}.
    """

    def __init__(self, target, reactor=None):
        """
        @param target: C{(host, port)} to forward to.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.target = target
        self._connections = set()
        self._listening = None
        self.port = 0

    def start(self):
        factory = Factory.forProtocol(_Front)
        factory.proxy = self
        self._listening = self.reactor.listenTCP(self.port, factory, interface="127.0.0.1")
        self.port = self._listening.getHost().port
        self.address = f"127.0.0.1:{self.port}"
        return self

    def cut(self):
        """
        Refuse new connections and drop the open ones.
        """
        if self._listening is not None:
            self._listening.stopListening()
            self._listening = None
        for connection in list(self._connections):
            connection.transport.abortConnection()
            if connection.back is not None:
                connection.back.transport.abortConnection()

    def restore(self):
        """
        Accept connections again, on the same port.
        """
        if self._listening is None:
            self.start()

    def stop(self):
        self.cut()
