"""
L{JitteredLoop}: a L{LoopingCall} whose wait is chosen anew after every run.
"""

from twisted.internet.defer import maybeDeferred
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import observer


class JitteredLoop:
    """
    Run a function repeatedly, waiting C{next_wait()} seconds between the end
    of one run and the start of the next.

    Errors of the function are logged and swallowed: one failed run never
    stops the loop (a bare L{LoopingCall} dies on its first error).

    @ivar runs: how many runs have finished.
    """

    _log = Logger(observer=observer)

    def __init__(self, function, next_wait, clock, name="loop"):
        """
        @param function: called with no arguments; may return a L{Deferred}.
        @param next_wait: called with no arguments after each run (and at
            start); returns the seconds to wait.
        @param clock: the L{IReactorTime} that drives the loop.
        @param name: used in log messages.
        """
        self._function = function
        self._next_wait = next_wait
        self._name = name
        self._call = LoopingCall(self._run)
        self._call.clock = clock
        self.runs = 0

    @property
    def running(self):
        return self._call.running

    def start(self, now=False):
        """
        Start looping; the first run is after one wait unless C{now}.
        """
        self._call.start(self._next_wait(), now=now)

    def stop(self):
        """
        Stop looping.  A run in progress finishes, but no other starts.
        """
        if self._call.running:
            self._call.stop()

    def _run(self):
        d = maybeDeferred(self._function)
        d.addErrback(self._failed)
        d.addBoth(self._rearm)
        return d

    def _failed(self, failure):
        self._log.failure("{loop} run failed", failure, loop=self._name)

    def _rearm(self, _):
        self.runs += 1
        # The next run is exactly one fresh wait after this one ended:
        # LoopingCall schedules ``interval - (now - starttime) % interval``.
        self._call.interval = self._next_wait()
        self._call.starttime = self._call.clock.seconds()
