"""
Fixtures of L{swarmd.testing.conformance.discovery.make_idiscovery_tests} over real
stores: the provider talks to the store through a L{CutProxy} (cut by
C{fail_reads}, restored by C{change}); timers run on a L{Clock}, I/O on the
reactor.
"""

from __future__ import annotations

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater

from swarmd.testing.conformance.discovery import DiscoverySource
from swarmd.testing.kvstores.proxy import CutProxy

__all__ = ["StoreState", "real_source"]


class StoreState:
    """
    What the store holds for the watches to catch up with: its index after
    the fixture's last change, or that it is cut.
    """

    def __init__(self, provider, proxy):
        self.provider = provider
        self.proxy = proxy
        self.target = 0
        self.cut = False

    def changed(self, index):
        self.proxy.restore()
        self.cut = False
        self.target = max(self.target, index)

    def fail(self):
        self.proxy.cut()
        self.cut = True

    def synced(self):
        watches = [w for w in self.provider._watches if not w.stopped]
        if self.cut:
            return all(w.failing for w in watches)
        return all(not w.failing and w.index >= self.target for w in watches)


def real_source(testcase, target, entries, make_provider, write, can_register=True,
                key_order=True):
    """
    Build a L{DiscoverySource} over a real store.

    @param target: C{(host, port)} of the store.
    @param entries: what the store holds at first (written now).
    @param make_provider: called with the proxy's C{host:port} and the
        L{Clock}, returns the provider.
    @param write: called with a list of entries, makes the store hold them
        (blocking) and returns the store's index after the write.
    @param key_order: the store lists entries in key order.
    """
    proxy = CutProxy(target).start()
    clock = Clock()
    provider = make_provider(proxy.address, clock)
    state = StoreState(provider, proxy)
    state.changed(write(entries))

    def cleanup():
        for watch in provider._watches:
            watch.stop()
        proxy.stop()
        d = provider.close()
        d.addCallback(lambda ignored: deferLater(reactor, 0.05, lambda: None))
        return d

    testcase.addCleanup(cleanup)

    def change(entries):
        state.changed(write(entries))

    return state, DiscoverySource(
        provider=provider, clock=clock, change=change, fail_reads=state.fail,
        can_register=can_register, synced=state.synced, key_order=key_order)
