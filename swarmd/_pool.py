"""
HTTP connection pools that do not log a line per connection (Twisted's
client factory is noisy, so every pooled connection to an engine or a
store wrote "Starting factory" and "Stopping factory" at info), and whose
closed connections are freed by reference counting.

A closed Twisted client connection is a reference cycle: its transport and
its connector point at each other, as do the connector and the endpoint's
wrapping factory.  The cyclic collector frees it, unless the manager froze
it while it was open (L{swarmd._gc.FreezeSurvivors}): then it is never
freed.  Refresh pings made one such connection each until they kept theirs
(L{swarmd.engine.client.READ_IDLE_TIMEOUT}: at 5,000 idle engines the
frozen objects grew by ~50,000 a minute); creates placed each on another
engine still make one each, closed 30 s later.
"""

from typing import Any

from twisted.web.client import HTTPConnectionPool, _HTTP11ClientFactory

__all__ = ["QuietFactory", "quiet_pool"]


class QuietFactory(_HTTP11ClientFactory):
    """
    A pool's connection factory (one per connection) without a log line per
    new connection, which unlinks its connection's cycle once it closed.
    """

    noisy = False
    _protocol = None

    def buildProtocol(self, addr):
        protocol = _HTTP11ClientFactory.buildProtocol(self, addr)
        self._protocol = protocol
        return protocol

    def doStop(self):
        # Called by the connector once its connection is lost, after the
        # connector and the transport have done their part.
        super().doStop()
        protocol, self._protocol = self._protocol, None
        unlink_closed(getattr(protocol, "transport", None))


def unlink_closed(transport):
    """
    Drop the references that keep a closed client connection of Twisted's
    in a cycle: the connector's to its transport, the wrapping factory's to
    its connector.  Nothing of an open connection is touched.

    @param transport: the connection's transport (a C{tcp.Client}), or
        L{None}.
    """
    connector = getattr(transport, "connector", None)
    if connector is None or getattr(connector, "state", None) != "disconnected":
        return
    if getattr(connector, "transport", None) is transport:
        connector.transport = None
    factory: Any = getattr(connector, "factory", None)
    if getattr(factory, "_connector", None) is connector:
        factory._connector = None


def quiet_pool(reactor, persistent=True):
    """
    @return: an L{HTTPConnectionPool} whose connections are made quietly.
    """
    pool = HTTPConnectionPool(reactor, persistent=persistent)
    pool._factory = QuietFactory
    return pool
