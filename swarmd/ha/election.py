"""
Leader election between managers (C{swarm manage --replication}).

Every manager runs one L{Election}.  It campaigns for the leader key of
the store (L{ILeaderStore}) with its advertised address; the one holding
the key is the primary and renews the key's lease every C{interval}
seconds; the others are replicas and read the key as often, so they learn a
new primary, and one of them takes the key over once the store let the
old primary's lease expire.

No split brain: the lease a primary relies on is counted on this manager's
own clock from the moment it SENT the request that created or renewed it
(the store's lease can only have started later, so it ends later), minus a
margin for clock drift.  A primary whose renewals do not get through steps
down when that count runs out, whatever the store says or fails to say, and
L{Election.is_primary} checks the clock on every call, so a manager that was
frozen (SIGSTOP, a long GC pause) past its lease never acts as primary for
even one request after it wakes: it steps down, then campaigns again.
"""

from twisted.internet.defer import CancelledError, Deferred, TimeoutError, maybeDeferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.ha.errors import LeadershipLost

__all__ = ["PRIMARY", "REPLICA", "Election"]

PRIMARY = "primary"
REPLICA = "replica"

#: Share of the TTL kept in reserve against clock drift between this
#: manager and the store.
DRIFT_SHARE = 0.1

#: Renewals a primary keeps under way at once against a slow store.
MAX_RENEWALS_IN_FLIGHT = 3


class Election:
    """
    One manager's campaign for the leader key.

    @ivar role: L{PRIMARY} or L{REPLICA}.
    @ivar primary: the primary's address as last known (this manager's own
        while it is primary), or L{None}.
    @ivar term: how many times this manager became primary.
    """

    _log = Logger(observer=observer)

    def __init__(self, store, address, ttl, clock, interval=None):
        """
        @param store: an L{ILeaderStore}.
        @param address: this manager's C{--advertise} address.
        @param ttl: the lease's length in seconds (C{--replication-ttl}).
        @param clock: an L{IReactorTime}.
        @param interval: seconds between two renewals (or, for a replica,
            two reads of the key); a third of C{ttl} by default, so a
            primary gets three tries before its lease runs out.
        """
        self.store = store
        self.address = address
        self.ttl = float(ttl)
        self.interval = float(interval) if interval else self.ttl / 3.0
        # Step down this long before the lease can have ended.
        self.margin = self.ttl * DRIFT_SHARE
        self._clock = clock
        self.role = REPLICA
        self.primary = None
        self.term = 0
        self._deadline = 0.0
        self._expiry = None
        self._renewing = 0
        self._campaigning = False
        self._listeners = []
        self._loop = LoopingCall(self._tick)
        self._loop.clock = clock
        self._waiters = []

    # -- public -------------------------------------------------------------------

    def add_listener(self, listener):
        """
        @param listener: an L{IElectionListener}; told of every change of
            role or of known primary.
        """
        self._listeners.append(listener)

    def start(self):
        """
        Campaign now, then every C{interval}.
        """
        self._loop.start(self.interval, now=True)

    def stop(self):
        """
        Stop campaigning; a primary steps down and gives the key up.

        @return: a L{Deferred} firing once the store was told and closed.
        """
        if self._loop.running:
            self._loop.stop()
        was_primary = self.role == PRIMARY
        self._step_down("manager stopping")
        d = self.store.resign() if was_primary else succeed(None)
        d.addErrback(lambda f: self._log.warn("could not give the leader key up: {error}",
                                              error=f.getErrorMessage()))
        d.addBoth(lambda _: self.store.close())
        d.addErrback(lambda _: None)
        return d

    def is_primary(self):
        """
        Whether this manager may act as primary now: it holds the key and
        the lease counted on its own clock has not run out.
        """
        if self.role != PRIMARY:
            return False
        if self._clock.seconds() >= self._deadline:
            self._step_down("its lease ran out before it could renew it")
            return False
        return True

    def known_primary(self):
        """
        @return: the address requests should go to: this manager's own while
            it is primary, another manager's, or L{None}.
        """
        if self.is_primary():
            return self.address
        if self.primary == self.address:
            return None
        return self.primary

    def wait_for_primary(self, timeout):
        """
        @return: a L{Deferred} firing with the primary's address as soon as
            one is known (at once if one is), or with L{None} after
            C{timeout} seconds.
        """
        known = self.known_primary()
        if known is not None:
            return succeed(known)
        d: Deferred = Deferred()
        self._waiters.append(d)

        def expired():
            if d in self._waiters:
                self._waiters.remove(d)
                d.callback(None)

        call = self._clock.callLater(timeout, expired)

        def done(result):
            if call.active():
                call.cancel()
            return result

        d.addBoth(done)
        return d

    # -- the campaign -------------------------------------------------------------

    def _tick(self):
        # A primary whose lease ran out steps down here and campaigns again.
        self.is_primary()
        sent = self._clock.seconds()
        if self.role == PRIMARY:
            # Renewals may overlap (a slow store answering after the next
            # turn): each counts from its own sending.
            if self._renewing >= MAX_RENEWALS_IN_FLIGHT:
                return
            self._renewing += 1
            d = self._call(self.store.renew)
            d.addCallbacks(self._renewed, self._renew_failed,
                           callbackArgs=(sent, self.term), errbackArgs=(self.term,))
            d.addErrback(lambda f: self._log.failure("leader election step failed", f))
            d.addBoth(self._renew_done)
            return
        if self._campaigning:
            return
        self._campaigning = True
        d = self._call(self.store.acquire, self.address, self.ttl)
        d.addCallbacks(self._acquired, self._acquire_failed, callbackArgs=(sent,))
        d.addErrback(lambda f: self._log.failure("leader election step failed", f))
        d.addBoth(self._campaign_done)

    def _renew_done(self, _):
        self._renewing -= 1

    def _campaign_done(self, _):
        self._campaigning = False

    def _call(self, method, *args):
        # An answer arriving after the lease could have ended is worth
        # nothing: give up on it then.
        d = maybeDeferred(method, *args)
        return d.addTimeout(self.ttl - self.margin, self._clock)

    def _lease_end(self, sent):
        return sent + self.ttl - self.margin

    def _acquired(self, holder, sent):
        now = self._clock.seconds()
        if holder == self.address:
            end = self._lease_end(sent)
            if now >= end:
                # The answer came after the lease it granted could have
                # ended: not primary; the next turn takes the key back.
                self._log.warn("leader key {key} granted too late ({late:.1f} s); retrying",
                               key=self.store.key, late=now - sent)
                return
            self._become_primary(end)
            return
        self._set_primary(holder)

    def _acquire_failed(self, failure):
        self._log.warn("cannot campaign for leader key {key}: {error}",
                       key=self.store.key, error=_describe(failure))

    def _renewed(self, _, sent, term):
        if self.role != PRIMARY or term != self.term:
            # Stepped down meanwhile: a late renewal proves nothing.
            return
        self._extend(self._lease_end(sent))

    def _renew_failed(self, failure, term):
        if self.role != PRIMARY or term != self.term:
            return
        if failure.check(LeadershipLost):
            self._step_down("the store says another manager holds the key")
            return
        left = self._deadline - self._clock.seconds()
        self._log.warn("cannot renew the leader lease ({error}); stepping down in {left:.1f} s "
                       "unless a renewal gets through", error=_describe(failure), left=left)

    # -- role changes --------------------------------------------------------------

    def _extend(self, deadline):
        self._deadline = max(self._deadline, deadline)
        if self._expiry is not None and self._expiry.active():
            self._expiry.reset(max(self._deadline - self._clock.seconds(), 0))
        else:
            self._expiry = self._clock.callLater(
                max(self._deadline - self._clock.seconds(), 0), self._expired)

    def _expired(self):
        self._expiry = None
        if self.role == PRIMARY and self._clock.seconds() >= self._deadline:
            self._step_down("its lease ran out before it could renew it")

    def _become_primary(self, deadline):
        self.term += 1
        self.role = PRIMARY
        self._deadline = 0.0
        self._extend(deadline)
        self._log.info("this manager ({address}) is now the primary (term {term})",
                       address=self.address, term=self.term)
        self._set_primary(self.address, force=True)

    def _step_down(self, why):
        if self.role != PRIMARY:
            return
        self.role = REPLICA
        self._deadline = 0.0
        if self._expiry is not None and self._expiry.active():
            self._expiry.cancel()
        self._expiry = None
        self._log.warn("this manager ({address}) stepped down as primary: {why}",
                       address=self.address, why=why)
        self.primary = None
        self._notify()

    def _set_primary(self, primary, force=False):
        if primary == self.primary and not force:
            return
        self.primary = primary
        if self.role == REPLICA:
            self._log.info("primary manager is {primary}", primary=primary or "unknown")
        self._notify()

    def _notify(self):
        known = self.known_primary()
        if known is not None:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(known)
        for listener in list(self._listeners):
            try:
                listener.role_changed(self.role, known)
            except Exception:
                self._log.failure("election listener failed")


def _describe(failure):
    if failure.check(TimeoutError, CancelledError):
        return "the store did not answer in time"
    return failure.getErrorMessage() or failure.type.__name__
