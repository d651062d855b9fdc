"""
C{nodes://a:p,b:p} (or a bare C{a:p,b:p}): a fixed list of engines.
"""

from __future__ import annotations

from twisted.internet.defer import fail, succeed
from zope.interface import implementer

from swarmd.discovery._deliver import deliver
from swarmd.discovery._entries import parse_entries
from swarmd.discovery._errors import DiscoveryError, DiscoveryNotSupported
from swarmd.discovery._interfaces import IDiscovery, IDiscoveryWatch
from swarmd.discovery._registry import register_backend

__all__ = ["NodesDiscovery"]

_HINT = (
    ", please check you are using the correct discovery "
    "(nodes://host:port,..., file:///path, ...)"
)


@implementer(IDiscoveryWatch)
class _OnceWatch:
    """
    Call back once, on the next reactor turn, unless stopped first.
    """

    #: A static list never fails.
    failing = False

    def __init__(self, clock, callback, entries, what):
        self._call = clock.callLater(0, self._fire, callback, entries, what)

    def _fire(self, callback, entries, what):
        self._call = None
        deliver(callback, entries, what)

    def stop(self):
        if self._call is not None:
            self._call.cancel()
            self._call = None


@implementer(IDiscovery)
class NodesDiscovery:
    """
    A static list of engine addresses.

    C{fetch} answers the list; C{watch} calls back once with it and then
    never again; C{register} is not supported.

    @ivar entries: the canonical, de-duplicated addresses.
    """

    scheme = "nodes"

    def __init__(self, entries, clock):
        """
        @param entries: entries (ranges allowed); at least one.
        @param clock: the L{IReactorTime} the one callback is scheduled on.
        @raise DiscoveryError: for a bad entry or an empty list.
        """
        try:
            self.entries = parse_entries(entries)
        except DiscoveryError as e:
            raise DiscoveryError(f"{e}{_HINT}") from None
        if not self.entries:
            raise DiscoveryError("no engine address in the nodes discovery" + _HINT)
        self._clock = clock

    @classmethod
    def from_url(cls, rest, *, heartbeat, ttl, options, clock):
        """
        The registry's factory: C{rest} is the comma-separated list after
        C{nodes://} (or the whole bare URL).
        """
        if not rest.strip():
            raise DiscoveryError(
                "nodes discovery needs engine addresses: nodes://host:port,host:port"
            )
        return cls(rest.split(","), clock)

    def __repr__(self):
        return f"<NodesDiscovery {','.join(self.entries)}>"

    def fetch(self):
        return succeed(list(self.entries))

    def watch(self, callback, errback):
        return _OnceWatch(self._clock, callback, list(self.entries), "nodes")

    def register(self, address):
        return fail(DiscoveryNotSupported(
            "nodes discovery cannot register engines: list them in the nodes:// URL"
        ))


register_backend("nodes", NodesDiscovery.from_url)
