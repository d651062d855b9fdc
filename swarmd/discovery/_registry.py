"""
Discovery providers by URL scheme.

A discovery URL is C{scheme://rest}; a URL without C{://} is a bare
C{nodes} list (C{a:p,b:p}), as in classic Swarm, and so is one that starts
with a unix socket entry (C{unix:///a.sock,unix:///b.sock}).

Providers plug in with L{register_backend}; schemes that are known but not
built yet are L{register_planned} and answer L{DiscoveryNotSupported} until
a real provider registers for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from swarmd.discovery._entries import UNIX_PREFIX
from swarmd.discovery._errors import DiscoveryError, DiscoveryNotSupported

__all__ = [
    "check_url",
    "discovery_for",
    "parse_url",
    "register_backend",
    "register_planned",
    "schemes",
]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")

#: Scheme -> factory.  A factory is called as C{factory(rest, heartbeat=,
#: ttl=, options=, clock=)} with the part of the URL after C{scheme://} and
#: returns an L{IDiscovery} provider; it raises L{DiscoveryError} for a URL
#: it refuses, and must not start anything (no timers, no I/O) so that
#: L{check_url} can call it.
_backends: dict[str, Callable] = {}

#: Schemes whose factory in L{_backends} only says "not supported yet".
_planned: set[str] = set()


def register_backend(scheme: str, factory: Callable) -> None:
    """
    Make C{scheme://} URLs build their provider with C{factory}.

    @param scheme: the URL scheme, lower case, e.g. C{"etcd"}.
    @param factory: called as C{factory(rest, *, heartbeat, ttl, options,
        clock)}; see L{_backends}.
    @raise ValueError: if another real provider already has C{scheme}
        (a planned placeholder is replaced).
    """
    if scheme in _backends and scheme not in _planned:
        raise ValueError(f"discovery scheme {scheme!r} is already registered")
    _planned.discard(scheme)
    _backends[scheme] = factory


def register_planned(scheme: str) -> None:
    """
    Recognise C{scheme://} URLs but refuse them with
    C{DiscoveryNotSupported("<scheme> discovery is not supported yet")},
    unless a real provider registers (or has registered) for C{scheme}.

    @param scheme: the URL scheme, lower case.
    """
    if scheme in _backends:
        return

    def not_yet(rest, **settings):
        raise DiscoveryNotSupported(
            f"{scheme} discovery is not supported yet "
            "(use nodes://host:port,... or file:///path)"
        )

    _backends[scheme] = not_yet
    _planned.add(scheme)


def schemes() -> list[str]:
    """
    @return: the sorted C{list} of recognised schemes, planned ones
        included.
    """
    return sorted(_backends)


def parse_url(url: str) -> tuple[str, str]:
    """
    Split a discovery URL into its scheme and the rest.

    @param url: C{scheme://rest}, or a bare list of entries.
    @return: C{(scheme, rest)}; C{("nodes", url)} for a bare list.
    @raise DiscoveryError: for an empty URL.
    """
    if not url or not url.strip():
        raise DiscoveryError("empty discovery URL")
    scheme, separator, rest = url.partition("://")
    if not separator or url.startswith(UNIX_PREFIX) or not _SCHEME.fullmatch(scheme):
        # No scheme: a bare list, which may hold unix:// entries.
        return "nodes", url
    return scheme.lower(), rest


def _check_options(options: Iterable) -> tuple[tuple[str, str], ...]:
    pairs = tuple(options)
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"discovery options are (key, value) pairs, not {pair!r}")
    return pairs


def discovery_for(url: str, *, heartbeat: float = 60.0, ttl: float = 180.0,
                  options: Iterable[tuple[str, str]] = (), clock=None):
    """
    Build the discovery provider for a URL.

    Nothing starts: the provider reads its source when asked
    (C{fetch}, C{watch}).

    @param url: the C{<discovery>} argument.
    @param heartbeat: seconds between polls of the source (C{--heartbeat}).
    @param ttl: seconds a registration lasts (C{--ttl}).
    @param options: C{(key, value)} pairs from C{--discovery-opt}.
    @param clock: the L{IReactorTime} the provider schedules on; the global
        reactor by default.
    @return: an L{IDiscovery} provider.
    @raise DiscoveryNotSupported: for a recognised scheme that is not built
        yet.
    @raise DiscoveryError: for an unknown scheme or a URL its provider
        refuses.
    """
    scheme, rest = parse_url(url)
    factory = _backends.get(scheme)
    if factory is None:
        raise DiscoveryError(
            f"unsupported discovery scheme {scheme!r} in {url!r} "
            f"(options: {', '.join(s + '://' for s in schemes())} "
            "or a bare host:port,... list)"
        )
    if clock is None:
        from twisted.internet import reactor as clock
    return factory(rest, heartbeat=heartbeat, ttl=ttl,
                   options=_check_options(options), clock=clock)


def check_url(url: str, options: Iterable[tuple[str, str]] = ()) -> None:
    """
    Refuse, as L{discovery_for} would, a discovery URL (or one of its
    options) that cannot be used.

    @param url: the C{<discovery>} argument.
    @param options: C{(key, value)} pairs from C{--discovery-opt}.
    @raise DiscoveryError: (or L{DiscoveryNotSupported}) with the message
        L{discovery_for} would raise.
    """
    from twisted.internet.task import Clock

    discovery_for(url, options=options, clock=Clock())
