"""
Addresses, the vocabulary every area shares: C{host:port} (an IPv4
address, a host name, or C{[v6]:port}) and C{unix:///absolute/path}.

Discovery checks the entries it lists, the engine client dials them, the
command line checks C{--advertise}, and the scheduler reads a node's host
IP from them; all of them split an address here, the way Go's
C{net.SplitHostPort} does, with its error messages (which classic Swarm
showed): C{address 10.0.0.1: missing port in address}.
"""

from __future__ import annotations

__all__ = [
    "UNIX_PREFIX",
    "AddressError",
    "address_host",
    "parse_port",
    "split_address",
    "split_host_port",
]

#: The prefix of a unix socket address.
UNIX_PREFIX = "unix://"


class AddressError(ValueError):
    """
    An address that does not split; the message reads like Go's
    C{net.SplitHostPort} one: C{address <address>: <why>}.
    """


def _error(address: str, why: str) -> AddressError:
    return AddressError(f"address {address}: {why}")


def split_host_port(address: str) -> tuple[str, str]:
    """
    Split C{host:port} or C{[host]:port} the way Go's C{net.SplitHostPort}
    does, with its error messages.

    @param address: the text to split.
    @return: C{(host, port)}, brackets removed from the host; either may
        be empty (C{":2375"}, C{"host:"}).
    @raise AddressError: C{address ...: missing port in address}, C{too
        many colons}, C{missing ']'}, C{unexpected '['} or C{unexpected
        ']'}.
    """
    colon = address.rfind(":")
    if colon < 0:
        raise _error(address, "missing port in address")
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise _error(address, "missing ']' in address")
        if end + 1 == len(address):
            raise _error(address, "missing port in address")
        if end + 1 != colon:
            if address[end + 1] == ":":
                raise _error(address, "too many colons in address")
            raise _error(address, "missing port in address")
        host = address[1:end]
        rest_host, rest_port = 1, end + 1
    else:
        host = address[:colon]
        if ":" in host:
            raise _error(address, "too many colons in address")
        rest_host, rest_port = 0, 0
    if "[" in address[rest_host:]:
        raise _error(address, "unexpected '[' in address")
    if "]" in address[rest_port:]:
        raise _error(address, "unexpected ']' in address")
    return host, address[colon + 1:]


def parse_port(text: str) -> int | None:
    """
    @param text: the port part of an address.
    @return: the port number if C{text} is ASCII digits (leading zeros
        allowed) naming one of 1..65535, else L{None}.
    """
    if not text.isascii() or not text.isdigit():
        return None
    port = int(text)
    return port if 0 < port <= 65535 else None


def split_address(address: str):
    """
    Split an engine address.

    @param address: C{"host:port"}, C{"[v6]:port"} or C{"unix:///path"}.
    @return: C{("unix", path, None)} or C{("tcp", host, port)}, brackets
        removed from the host.
    @raise ValueError: when the address has neither form (an
        L{AddressError} for a C{host:port} that does not split).
    """
    if address.startswith(UNIX_PREFIX):
        path = address[len(UNIX_PREFIX):]
        if not path.startswith("/"):
            raise ValueError("unix address needs an absolute path: %r" % (address,))
        return ("unix", path, None)
    host, port = split_host_port(address)
    if not host:
        raise _error(address, "missing host in address")
    try:
        number = int(port)
    except ValueError:
        raise _error(address, "invalid port %r" % (port,)) from None
    if not 0 < number < 65536:
        raise _error(address, "invalid port %r" % (port,))
    return ("tcp", host, number)


def address_host(address: str) -> str:
    """
    The host part of an address, leniently: a scheme (C{tcp://}) and a
    path are dropped, brackets of an IPv6 host removed, and an address
    without a port is its own host.  Never raises.

    @param address: C{host:port}, C{[v6]:port}, C{tcp://host:port/...},
        or a bare host.
    @return: the host as a C{str}; C{"127.0.0.1"} for a unix socket
        (C{unix://...} or an absolute path) and for C{localhost} (other
        names are not resolved).
    """
    if address.startswith(UNIX_PREFIX) or address.startswith("/"):
        return "127.0.0.1"
    if "://" in address:
        address = address.split("://", 1)[1]
    address = address.split("/", 1)[0]
    if address.startswith("["):
        host = address[1:].split("]", 1)[0]
    else:
        host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    return "127.0.0.1" if host == "localhost" else host
