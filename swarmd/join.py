"""
C{swarm join}: keep one engine's address registered with the discovery.

After a random delay in C{[0, --delay]} (so that many nodes started together
do not register in step), the address given with C{--advertise} is
registered at once and then every C{--heartbeat}; the discovery keeps it for
C{--ttl}.  A failed registration is logged and retried at the next beat.
Static discoveries (C{nodes://}, C{file://}) cannot take registrations: that
is reported once and the service gives up.
"""

from __future__ import annotations

import random as _random

from twisted.application.service import Service
from twisted.internet.defer import CancelledError, maybeDeferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._duration import format_duration
from swarmd._log import observer

__all__ = ["JoinService"]


def _not_supported():
    """
    @return: L{swarmd.discovery.DiscoveryNotSupported}, imported when first
        needed.
    """
    from swarmd.discovery import DiscoveryNotSupported

    return DiscoveryNotSupported


class JoinService(Service):
    """
    Register C{config.advertise} with a discovery every heartbeat.

    @ivar registrations: how many registrations succeeded.
    @ivar failures: how many registrations failed (and were retried).
    @ivar fatal: the L{Failure} that made the service give up, or L{None}.
    """

    _log = Logger(observer=observer)

    def __init__(self, config, discovery, clock, random=None, on_fatal=None):
        """
        @param config: a L{swarmd.config.JoinConfig}.
        @param discovery: the L{swarmd.discovery.IDiscovery} to register
            with.
        @param clock: the L{IReactorTime} that drives the delay and the
            heartbeat.
        @param random: a L{random.Random} choosing the start delay; a new
            one by default.
        @param on_fatal: called with the L{Failure} once, when the discovery
            cannot take registrations at all (C{DiscoveryNotSupported}); the
            twistd plugin passes a callable that stops the reactor with a
            non-zero exit status.
        """
        self.config = config
        self._discovery = discovery
        self._clock = clock
        self._random = _random.Random() if random is None else random
        self._on_fatal = on_fatal
        self._delayed = None
        self._loop = None
        self._inflight = None
        self.registrations = 0
        self.failures = 0
        self.fatal = None

    def startService(self):
        super().startService()
        delay = 0.0
        if self.config.delay > 0:
            delay = self._random.uniform(0, self.config.delay)
            self._log.info(
                "Add a random delay {delay} to avoid synchronized registration",
                delay=format_duration(delay),
            )
        self._delayed = self._clock.callLater(delay, self._begin)

    def _begin(self):
        self._delayed = None
        self._log.info(
            "Registering {addr} on the discovery service {discovery} every {heartbeat}...",
            addr=self.config.advertise,
            discovery=self.config.discovery,
            heartbeat=format_duration(self.config.heartbeat),
        )
        self._loop = LoopingCall(self._register)
        self._loop.clock = self._clock
        self._loop.start(self.config.heartbeat, now=True).addErrback(
            lambda failure: self._log.failure(
                "join heartbeat loop died", failure=failure
            )
        )

    def _register(self):
        """
        Register once.  Never fails and never makes the L{LoopingCall} wait,
        so beats stay one heartbeat apart: a registration still pending at
        the next beat is cancelled, counted as a failure, and replaced.
        """
        if self._inflight is not None:
            self._inflight.cancel()
        d = maybeDeferred(self._discovery.register, self.config.advertise)
        self._inflight = d

        def done(result):
            if self._inflight is d:
                self._inflight = None
            return result

        d.addBoth(done)
        d.addCallbacks(self._registered, self._failed)

    def _registered(self, ignored):
        self.registrations += 1
        self._log.debug(
            "registered {addr} on {discovery}",
            addr=self.config.advertise,
            discovery=self.config.discovery,
        )

    def _failed(self, failure):
        if not self.running:
            # Cancelled by stopService: nothing to report.
            return
        if failure.check(_not_supported()):
            self._give_up(failure)
            return
        self.failures += 1
        if failure.check(CancelledError):
            error = (
                "no answer after one heartbeat "
                f"({format_duration(self.config.heartbeat)}), registering again"
            )
        else:
            error = failure.getErrorMessage() or failure.type.__name__
        self._log.error(
            "registering {addr} on {discovery} failed ({failures} so far): {error}",
            addr=self.config.advertise,
            discovery=self.config.discovery,
            failures=self.failures,
            error=error,
        )

    def _give_up(self, failure):
        self.fatal = failure
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._log.critical(
            "swarm join cannot register {addr} with {discovery}: {error}; "
            "join needs a discovery that takes registrations "
            "(token, consul, etcd, zk), not a static list or file",
            addr=self.config.advertise,
            discovery=self.config.discovery,
            error=failure.getErrorMessage(),
        )
        if self._on_fatal is not None:
            self._on_fatal(failure)

    def stopService(self):
        super().stopService()
        if self._delayed is not None:
            self._delayed.cancel()
            self._delayed = None
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.cancel()
        self._log.info("stopped registering {addr} on {discovery}",
                       addr=self.config.advertise, discovery=self.config.discovery)
        # A store's client holds connections (and kazoo its threads and
        # session: a ZooKeeper node leaves at once): let it go.
        close = getattr(self._discovery, "close", None)
        if close is not None:
            d = maybeDeferred(close)
            d.addErrback(lambda failure: self._log.warn(
                "closing the discovery failed: {error}", error=failure.getErrorMessage()))
            return d
        return None
