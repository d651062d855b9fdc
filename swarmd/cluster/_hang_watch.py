"""
Telling a hung engine (a stopped process whose sockets still accept) from a
quiet one: the calls under way its client records, and a ping with no time
bound once it went silent.
"""

from twisted.internet.defer import CancelledError
from twisted.logger import Logger
from twisted.python.failure import Failure

from swarmd._log import observer
from swarmd.cluster._states import PENDING, UNHEALTHY
from swarmd.engine import EngineUnreachable, ICallRecord


class HangWatch:
    """
    The hang detection of one L{swarmd.cluster.engine.Engine}, which owns
    it and sets its C{stalled} flag through it.

    @ivar probe: the L{Deferred} of the ping under way, or L{None}.
    """

    _log = Logger(observer=observer)

    def __init__(self, engine, clock):
        self._engine = engine
        self._clock = clock
        self.probe = None
        self._probe_sent = None
        self._probe_failures = 0

    def stop(self):
        """
        Cancel the ping under way, if any.
        """
        if self.probe is not None:
            probe, self.probe = self.probe, None
            probe.cancel()

    def check(self):
        """
        Look for a hung engine (e.g. a stopped process whose sockets still
        accept): called often (a fraction of C{ping_timeout}) by the
        cluster.

        An engine silent for L{stall_after} while one of its calls is under
        way counts one failure at once, is marked C{stalled} (the scheduler
        then places nothing on it) and gets a ping with no time bound; every
        C{ping_timeout} after that without an answer counts one more
        failure, so it is unhealthy within C{failure_retry} times
        C{ping_timeout} after it went silent.  Any answer (the ping's
        included) ends it: L{Engine.succeeded}.
        """
        engine = self._engine
        if engine._stopped or engine.state == PENDING:
            return
        now = self._clock.seconds()
        timeout = engine.options.ping_timeout
        if self.probe is not None:
            due = int((now - self._probe_sent) / timeout)
            while self._probe_failures < due and self.probe is not None:
                self._probe_failures += 1
                engine.failed(EngineUnreachable(
                    engine.address, "no answer to a ping for %.1fs" % (now - self._probe_sent,)))
            return
        if not ICallRecord.providedBy(engine.client) or not engine.client.outstanding:
            return
        oldest = next(iter(engine.client.outstanding.values()))
        silent_since = max(oldest, engine.client.answered_at or oldest)
        if now - silent_since < self.stall_after:
            return
        if not engine.stalled:
            engine.stalled = True
            self._log.warn("engine {engine} ({address}) silent for {seconds:.1f}s with calls "
                           "under way: no new containers placed on it",
                           engine=engine.name, address=engine.address, seconds=now - silent_since)
            engine._listener.engine_view_changed(engine)
        engine.failed(EngineUnreachable(
            engine.address, "a call unanswered for %.1fs" % (now - oldest,)))
        self._send_probe(silent_since + self.stall_after)

    @property
    def stall_after(self):
        """
        Seconds of silence with a call under way after which the engine
        counts as stalled: half the ping timeout.
        """
        engine = self._engine
        return engine.options.ping_timeout / 2

    def _send_probe(self, sent):
        """
        Ping the engine with no time bound: its answer, whenever it comes,
        says the engine is back.

        @param sent: when the probe counts as sent (the moment the silence
            passed L{stall_after}), so further failures fall every
            C{ping_timeout} after it.
        """
        engine = self._engine
        self._probe_sent = sent
        self._probe_failures = 0
        d = self.probe = engine.client.request("GET", "/_ping", timeout=None)

        def answered(response):
            # The body is read so the connection goes back to the pool.
            from twisted.web.client import readBody

            return readBody(response).addErrback(lambda _: None)

        def done(result):
            if self.probe is d:
                self.probe = None
            if isinstance(result, Failure):
                if result.check(EngineUnreachable):
                    engine.failed(result.value)
                elif not result.check(CancelledError):
                    self._log.failure("ping of engine {address} failed", result,
                                      address=engine.address)
                return None
            healed = engine.state == UNHEALTHY
            engine.succeeded()
            if healed:
                # What changed while it was hung is read now, not at the
                # next (backed off) refresh.
                engine.refresh()
            return None

        d.addCallback(answered)
        d.addBoth(done)
