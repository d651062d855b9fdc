"""
An in-memory key-value store holding one leader key under a lease, on a
clock: what etcd, ZooKeeper and Consul do for leader election, with knobs
for the failures an election must survive (a store that is down, slow or
that never answers).
"""

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionRefusedError
from zope.interface import implementer

from swarmd.ha import ILeaderStore, LeadershipLost

__all__ = ["MemoryLeaderBackend", "MemoryLeaderStore"]


class MemoryLeaderBackend:
    """
    The store's server side: one key, its value, the lease that owns it and
    when that lease ends.

    @ivar down: every call fails at once as if the store refused connections.
    @ivar hang: every call gets no answer at all (a hung store).
    @ivar delay: seconds before a call reaches the store, and again before
        its answer reaches the caller.
    """

    def __init__(self, clock, key="/docker/swarm/leader"):
        self.clock = clock
        self.key = key
        self.holder = None
        self.value = None
        self.expires = 0.0
        self.down = False
        self.hang = False
        self.delay = 0.0
        self._leases = 0

    def new_lease_id(self):
        self._leases += 1
        return self._leases

    def current(self):
        """
        @return: C{(value, lease)} of the holder, or C{(None, None)} once
            its lease ended.
        """
        if self.holder is not None and self.clock.seconds() >= self.expires:
            self.holder = self.value = None
        return self.value, self.holder

    def run(self, operation, back=0.0):
        """
        Run C{operation} on the store as a remote call would: failing when
        down, never answering when hung, after C{delay} each way (and
        C{back} more seconds on the way back).
        """
        if self.down:
            return fail(ConnectionRefusedError("store is down"))
        if self.hang:
            return Deferred()
        if not self.delay and not back:
            try:
                return succeed(operation())
            except Exception:
                return fail()
        d = Deferred()

        def reach():
            try:
                result = operation()
            except Exception as e:
                self.clock.callLater(self.delay + back, d.errback, e)
            else:
                self.clock.callLater(self.delay + back, d.callback, result)

        self.clock.callLater(self.delay, reach)
        return d


@implementer(ILeaderStore)
class MemoryLeaderStore:
    """
    One manager's handle on a L{MemoryLeaderBackend}.

    @ivar cut: this manager's calls never reach the store (a partition).
    @ivar answer_delay: extra seconds before answers reach this manager.
    """

    def __init__(self, backend):
        self.backend = backend
        self.key = backend.key
        self._lease = None
        self._ttl = None
        self.closed = False
        self.cut = False
        self.answer_delay = 0.0

    def _run(self, operation):
        if self.cut:
            return Deferred()
        return self.backend.run(operation, self.answer_delay)

    def acquire(self, value, ttl):
        def operation():
            backend = self.backend
            held, _ = backend.current()
            if held is None or held == value:
                self._lease = backend.new_lease_id()
                self._ttl = ttl
                backend.holder, backend.value = self._lease, value
                backend.expires = backend.clock.seconds() + ttl
                return value
            return held
        return self._run(operation)

    def renew(self):
        def operation():
            backend = self.backend
            _, holder = backend.current()
            if self._lease is None or holder != self._lease:
                raise LeadershipLost("lease %s no longer holds %s" % (self._lease, self.key))
            backend.expires = backend.clock.seconds() + self._ttl
        return self._run(operation)

    def resign(self):
        def operation():
            backend = self.backend
            _, holder = backend.current()
            if self._lease is not None and holder == self._lease:
                backend.holder = backend.value = None
            self._lease = None
        return self._run(operation)

    def leader(self):
        return self._run(lambda: self.backend.current()[0])

    def close(self):
        self.closed = True
        return succeed(None)
