"""
Engine addresses as discovery lists them.

An entry is C{host:port} (an IPv4 address, a host name, or C{[v6]:port}) or
C{unix:///absolute/path} (swarmd's extension for local labs, kept verbatim).
A C{host:port} entry may hold one range C{[start:end]} anywhere, expanded
inclusively as classic Swarm's C{discovery.Generate} does::

    10.0.0.[10:12]:2375  ->  10.0.0.10:2375 10.0.0.11:2375 10.0.0.12:2375

Errors read like Go's C{net.SplitHostPort} ones, which classic Swarm showed:
C{address 10.0.0.1: missing port in address}.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from swarmd.address import UNIX_PREFIX, AddressError, parse_port
from swarmd.address import split_host_port as address_split_host_port
from swarmd.discovery._errors import DiscoveryError

__all__ = [
    "MAX_RANGE",
    "UNIX_PREFIX",
    "expand_range",
    "normalize_address",
    "parse_entries",
    "parse_entry",
    "split_host_port",
]

#: The most addresses one range may expand to.
MAX_RANGE = 65536

_GROUP = re.compile(r"\[([^\[\]]*)\]")
_RANGE = re.compile(r"([0-9]+):([0-9]+)")
_HOST_NAME = re.compile(r"[A-Za-z0-9._-]+")


def _error(address, why):
    return DiscoveryError(f"address {address}: {why}")


def split_host_port(address: str) -> tuple[str, str]:
    """
    Split C{host:port} or C{[host]:port} as L{swarmd.address.split_host_port}
    does (Go's C{net.SplitHostPort}, with its error messages).

    @param address: the text to split.
    @return: C{(host, port)}, brackets removed from the host.
    @raise DiscoveryError: C{address ...: missing port in address}, C{too
        many colons}, C{missing ']'}, C{unexpected '['} or C{unexpected
        ']'}.
    """
    try:
        return address_split_host_port(address)
    except AddressError as e:
        raise DiscoveryError(str(e)) from None


def _is_ipv6(text):
    try:
        return isinstance(ipaddress.ip_address(text.split("%", 1)[0]), ipaddress.IPv6Address)
    except ValueError:
        return False


def _check_unix(entry):
    path = entry[len(UNIX_PREFIX):]
    if not path.startswith("/") or path.strip("/") == "":
        raise _error(entry, "a unix socket address is unix:///absolute/path")
    return entry


def normalize_address(entry: str) -> str:
    """
    Check one address (no range) and return its canonical form.

    C{host:port} entries come back as C{host:port} (C{[v6]:port} for IPv6
    hosts) with the port written without leading zeros; C{unix://} entries
    come back verbatim.

    @param entry: the address.
    @return: the canonical address.
    @raise DiscoveryError: if C{entry} is not a valid engine address.
    """
    if entry.startswith(UNIX_PREFIX):
        return _check_unix(entry)
    if "://" in entry:
        raise _error(entry, "unexpected scheme in address (want host:port or unix:///path)")
    host, port = split_host_port(entry)
    if not port:
        raise _error(entry, "missing port in address")
    if parse_port(port) is None:
        raise _error(entry, f"invalid port {port!r} (want 1-65535)")
    if not host:
        raise _error(entry, "missing host in address")
    if entry.startswith("["):
        if not _is_ipv6(host):
            raise _error(entry, f"invalid IPv6 address {host!r}")
        return f"[{host}]:{int(port)}"
    if not _HOST_NAME.fullmatch(host):
        raise _error(entry, f"invalid host {host!r}")
    return f"{host}:{int(port)}"


def expand_range(entry: str) -> list[str]:
    """
    Expand the one C{[start:end]} range of C{entry}, inclusively.

    An C{entry} without a range comes back alone; so does a C{unix://}
    entry, whose path is taken verbatim.  A leading C{[v6]} host is not a
    range.

    @param entry: an entry, maybe with a range.
    @return: a C{list} of entries, in increasing order of the range.
    @raise DiscoveryError: for a malformed range (not two decimal numbers,
        start after end, more than L{MAX_RANGE} values) or more than one
        range.
    """
    if entry.startswith(UNIX_PREFIX):
        return [entry]
    groups = []
    for match in _GROUP.finditer(entry):
        if match.start() == 0 and not _RANGE.fullmatch(match.group(1)):
            # [v6]:port - the host, not a range.
            continue
        groups.append(match)
    if not groups:
        return [entry]
    if len(groups) > 1:
        raise _error(entry, "more than one range (use one [start:end] per entry)")
    match = groups[0]
    numbers = _RANGE.fullmatch(match.group(1))
    if numbers is None:
        raise _error(entry, f"invalid range {match.group(0)!r} (want [start:end], "
                            "two decimal numbers)")
    start, end = int(numbers.group(1)), int(numbers.group(2))
    if start > end:
        raise _error(entry, f"invalid range {match.group(0)!r} (start after end)")
    if end - start + 1 > MAX_RANGE:
        raise _error(entry, f"range {match.group(0)!r} is too large "
                            f"(at most {MAX_RANGE} addresses)")
    head, tail = entry[:match.start()], entry[match.end():]
    return [f"{head}{value}{tail}" for value in range(start, end + 1)]


def parse_entry(entry: str) -> list[str]:
    """
    Expand and check one entry.

    @param entry: an entry, maybe with a range; surrounding spaces are
        ignored.
    @return: the C{list} of canonical addresses it stands for.
    @raise DiscoveryError: for a bad range or a bad address.
    """
    entry = entry.strip()
    if not entry:
        raise DiscoveryError("empty address (want host:port or unix:///path)")
    return [normalize_address(address) for address in expand_range(entry)]


def parse_entries(entries: Iterable[str]) -> list[str]:
    """
    Expand, check and de-duplicate entries, keeping their order.

    @param entries: entries, maybe with ranges.
    @return: the C{list} of canonical addresses, each once, in first-seen
        order.
    @raise DiscoveryError: for the first bad entry.
    """
    seen: dict[str, None] = {}
    for entry in entries:
        for address in parse_entry(entry):
            seen.setdefault(address, None)
    return list(seen)
