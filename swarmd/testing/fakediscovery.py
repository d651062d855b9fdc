"""
An in-memory L{IDiscovery} for other areas' unit tests.

L{FakeDiscovery} stands in for a discovery in other areas' unit tests::

    discovery = FakeDiscovery(["127.0.0.1:2375"], clock=clock)
    cluster = Cluster(clock, discovery, ...)
    cluster.start()
    clock.advance(0)                          # the first callback
    discovery.set_entries(["127.0.0.1:2376"])  # watchers called back at once
    discovery.fail("etcd is down")             # watchers' errbacks called

L{make_idiscovery_tests} builds the suite from a fixture describing one
provider's source; L{FakeDiscovery} passes it too, so it stays honest.
"""

from __future__ import annotations

from twisted.internet.defer import fail, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from swarmd.discovery import (
    DiscoveryError,
    DiscoveryNotSupported,
    IDiscovery,
    IDiscoveryWatch,
)
from swarmd.discovery._deliver import deliver

__all__ = ["FakeDiscovery"]


def _as_failure(reason):
    """
    @param reason: a L{Failure}, an exception, or a message for a
        L{DiscoveryError}.
    @return: a L{Failure}.
    """
    if isinstance(reason, Failure):
        return reason
    if isinstance(reason, BaseException):
        return Failure(reason)
    return Failure(DiscoveryError(str(reason)))


@implementer(IDiscoveryWatch)
class _FakeWatch:
    """
    One watcher of a L{FakeDiscovery}.

    @ivar last: the list last given to C{callback}, or L{None}.
    """

    def __init__(self, discovery, callback, errback):
        self._discovery = discovery
        self.callback = callback
        self.errback = errback
        self.last = None
        self.stopped = False
        self.failing = False
        self._first = None

    def _start(self, clock):
        if clock is None:
            self._push()
        else:
            self._first = clock.callLater(0, self._push)

    def _push(self):
        self._first = None
        discovery = self._discovery
        if discovery._failure is not None:
            self._fail(discovery._failure)
            return
        self.failing = False
        if discovery.entries != self.last:
            self.last = list(discovery.entries)
            deliver(self.callback, list(discovery.entries), "fake")

    def _fail(self, failure):
        self.failing = True
        deliver(self.errback, failure, "fake")

    def stop(self):
        if self._first is not None:
            self._first.cancel()
            self._first = None
        if not self.stopped:
            self.stopped = True
            self._discovery._watches.remove(self)


@implementer(IDiscovery)
class FakeDiscovery:
    """
    An in-memory discovery whose entries the test sets.

    It behaves as the real providers do: lists are de-duplicated keeping
    order; a watcher is called back with the current list first, then only
    when the list differs from the one it last got; while the source is
    failing (after L{fail}, until L{set_entries}) C{fetch} fails too.
    Entries are not checked: any strings do.

    @ivar entries: the current address list.
    @ivar registered: every address given to C{register}, in order.
    @ivar register_error: if not L{None}, the exception (or L{Failure})
        C{register} fails with.
    @ivar can_register: if false, C{register} fails with
        L{DiscoveryNotSupported}, as static providers do.
    """

    def __init__(self, entries=(), clock=None, *, scheme="fake", can_register=True):
        """
        @param entries: the initial address list.
        @param clock: if given, the first callback of each watch comes on
            the next turn of this L{IReactorTime}, as with the real
            providers; if L{None}, inside C{watch} itself.
        @param scheme: the value of C{scheme}.
        @param can_register: see L{can_register}.
        """
        self.scheme = scheme
        self.entries = list(dict.fromkeys(entries))
        self.registered = []
        self.register_error = None
        self.can_register = can_register
        self._clock = clock
        self._failure = None
        self._watches = []

    def __repr__(self):
        return f"<FakeDiscovery {self.scheme} {self.entries!r}>"

    @property
    def watching(self):
        """
        How many watches are running (started and not stopped).
        """
        return len(self._watches)

    def set_entries(self, entries):
        """
        Change the list (the source recovers if it was failing) and call
        back every watcher whose last list differs.

        @param entries: the new address list; duplicates are dropped.
        """
        self.entries = list(dict.fromkeys(entries))
        self._failure = None
        for watch in list(self._watches):
            if watch._first is None:
                watch._push()

    def fail(self, reason):
        """
        Make the source fail: every watcher's errback gets C{reason}, and
        C{fetch} fails with it until L{set_entries}.

        @param reason: a L{Failure}, an exception, or a message for a
            L{DiscoveryError}.
        """
        self._failure = _as_failure(reason)
        for watch in list(self._watches):
            if watch._first is None:
                watch._fail(self._failure)

    def fetch(self):
        if self._failure is not None:
            return fail(self._failure)
        return succeed(list(self.entries))

    def watch(self, callback, errback):
        watch = _FakeWatch(self, callback, errback)
        self._watches.append(watch)
        watch._start(self._clock)
        return watch

    def register(self, address):
        self.registered.append(address)
        if not self.can_register:
            return fail(DiscoveryNotSupported("fake discovery cannot register engines"))
        if self.register_error is not None:
            return fail(_as_failure(self.register_error))
        return succeed(None)
