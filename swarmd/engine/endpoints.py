"""
Engine addresses and the client endpoints that reach them.

An engine address is C{host:port} (TCP, optionally wrapped in TLS) or
C{unix:///path/to/docker.sock}; it is split by L{swarmd.address}.
"""

from twisted.internet.abstract import isIPAddress, isIPv6Address
from twisted.internet.endpoints import (
    HostnameEndpoint,
    TCP4ClientEndpoint,
    TCP6ClientEndpoint,
    UNIXClientEndpoint,
    wrapClientTLS,
)
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.protocol import Factory

from swarmd._pool import unlink_closed
from swarmd.address import UNIX_PREFIX, split_address

__all__ = ["UNIX_PREFIX", "address_ip", "engine_endpoint", "host_header", "split_address"]


def address_ip(address):
    """
    The IP (or host name) a client reaches the engine's host at.

    @return: the host of a TCP address, C{"127.0.0.1"} for a unix socket.
    """
    kind, host, _ = split_address(address)
    return "127.0.0.1" if kind == "unix" else host


def host_header(address):
    """
    The C{Host} header (and URL authority) used for requests to an engine.
    """
    kind, host, port = split_address(address)
    if kind == "unix":
        return "docker"
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


def engine_endpoint(reactor, address, tls=None, timeout=5.0):
    """
    A client endpoint reaching one engine.

    @param tls: L{None} for plain connections, or a callable taking the host
        name and returning an C{IOpenSSLClientConnectionCreator}.
    @param timeout: connect timeout in seconds.
    """
    kind, host, port = split_address(address)
    if kind == "unix":
        return UNIXClientEndpoint(reactor, host, timeout=timeout)
    # IP literals need no name resolution: plain TCP endpoints are much
    # cheaper to connect with than HostnameEndpoint (it matters at 1,000
    # engines).
    endpoint: IStreamClientEndpoint
    if isIPAddress(host):
        endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
    elif isIPv6Address(host):
        endpoint = TCP6ClientEndpoint(reactor, host, port, timeout=timeout)
    else:
        endpoint = HostnameEndpoint(reactor, host, port, timeout=timeout)
    if tls is not None:
        endpoint = wrapClientTLS(tls(host), endpoint)
    return endpoint


class _OneProtocol(Factory):
    """
    The factory of one connection (Twisted's C{connectProtocol} logs
    "Starting factory" and "Stopping factory" at info for each: two lines
    per attach, exec or long answer), which unlinks its connection's cycle
    once it closed (L{swarmd._pool.unlink_closed}): an attach, a C{logs -f}
    or a batch read frozen while open (L{swarmd._gc.FreezeSurvivors}) is
    then still freed.  Before, at 5,000 idle engines, the batch reads of
    the engines' refreshes left ~3 such connections a minute in the frozen
    generation (9 objects each), never freed.
    """

    noisy = False

    def __init__(self, protocol):
        self._protocol = protocol

    def buildProtocol(self, addr):
        return self._protocol

    def doStop(self):
        # Called once the connection is lost (through the endpoint's
        # wrapping factory), after the connector and transport did their part.
        super().doStop()
        protocol, self._protocol = self._protocol, None
        unlink_closed(getattr(protocol, "transport", None))


def connect_protocol(endpoint, protocol):
    """
    Connect C{protocol} through C{endpoint}, quietly.

    @return: a L{Deferred} firing with C{protocol} once connected.
    """
    return endpoint.connect(_OneProtocol(protocol))
