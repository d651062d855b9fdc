"""
The manager's cyclic garbage collector: L{FreezeSurvivors} moves the
objects that outlive a slow full collection out of its reach, and
L{TimedFullCollections} runs full collections on a timer instead of when an
allocation happens to cross CPython's thresholds.

A manager's heap is mostly long-lived: engines, their cached containers,
their events streams, the scheduler's node views, C{/info}'s node blocks.
CPython's full collection walks every object it tracks, and it comes again
each time a quarter as many objects as the last one left have survived the
young generations: at 5,000 engines one such walk took 300-450 ms, once
every ~50 creates, and those were the creates' p99.  What survives a full
collection is long-lived by definition: after a slow one the survivors are
frozen (C{gc.freeze}), so later full collections walk only what is newer.

The price: a cycle among frozen objects that later becomes garbage is
never freed (objects freed by reference counting still are).  The engine
cache has paid it since engines' first reads were frozen the same way; it
is what an engine that leaves discovery may leave behind.  The largest such
leak measured was the pooled connections of engines' refresh pings (a
closed Twisted client connection is a cycle): at 5,000 idle engines the
frozen objects grew by ~50,000 a minute and RSS by ~11 MB a minute, until
pings kept their connections (L{swarmd.engine.client.READ_IDLE_TIMEOUT}):
~1,900 objects and ~0.5 MB a minute after (15 minutes, held manager).
"""

import gc
import time

from twisted.application.service import Service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from swarmd._log import observer

#: A full collection longer than this (seconds) freezes its survivors.
#: Each full collection walks about a quarter more than the one before
#: (CPython starts one when the survivors of the young generations reach a
#: quarter of what the last one left), so no later one takes much longer.
SLOW_COLLECTION = 0.02

#: Seconds between two full collections (L{TimedFullCollections}).
FULL_COLLECTION_INTERVAL = 10.0

#: The oldest generation's threshold while full collections are timed: out
#: of reach (CPython counts young collections against it).
_NEVER = 2 ** 31 - 1


class TimedFullCollections(Service):
    """
    While running, CPython starts no full collection by itself; one runs
    every C{interval} seconds instead.  The young generations are collected
    as before, so the short-lived cycles (a request's, ~49 objects) still go
    at once.

    CPython starts a full collection from whichever allocation finds a
    quarter more objects survived the young generations than the last one
    left: during a run of creates at 1,000 engines, every ~0.5 s (every ~30
    creates), each one 5-70 ms, so that a few creates in a hundred waited
    behind one; at 5,000 engines, while engines connect, every second,
    35-220 ms each.  On a timer, a run of creates meets one every
    C{interval} seconds.
    """

    def __init__(self, clock, interval=FULL_COLLECTION_INTERVAL, collector=gc):
        """
        @param clock: the reactor the collections are scheduled with.
        @param collector: the C{gc} module (tests give a double).
        """
        self._clock = clock
        self._interval = interval
        self._gc = collector
        self._thresholds = None
        self._loop = None

    def startService(self):
        Service.startService(self)
        self._thresholds = self._gc.get_threshold()
        young, middle = self._thresholds[:2]
        self._gc.set_threshold(young, middle, _NEVER)
        self._loop = LoopingCall(self._gc.collect, 2)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=False)

    def stopService(self):
        Service.stopService(self)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
        if self._thresholds is not None:
            self._gc.set_threshold(*self._thresholds)
            self._thresholds = None


class FreezeSurvivors(Service):
    """
    While running, watch the collector's full collections; after one that
    took longer than C{slow} seconds, freeze every object it left (on the
    next reactor turn, outside the collector).

    @ivar freezes: how many times the survivors were frozen.
    """

    _log = Logger(observer=observer)

    def __init__(self, clock, slow=SLOW_COLLECTION, collector=gc, timer=time.perf_counter):
        """
        @param clock: the reactor the freeze is scheduled with.
        @param collector: the C{gc} module (tests give a double).
        @param timer: the clock collections are timed with.
        """
        self._clock = clock
        self._slow = slow
        self._gc = collector
        self._timer = timer
        self._started = None
        self._pending = None
        self.freezes = 0

    def startService(self):
        Service.startService(self)
        if self._collected not in self._gc.callbacks:
            self._gc.callbacks.append(self._collected)

    def stopService(self):
        Service.stopService(self)
        if self._collected in self._gc.callbacks:
            self._gc.callbacks.remove(self._collected)
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None

    def _collected(self, phase, info):
        """
        The collector's callback: times each full collection.
        """
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = self._timer()
            return
        if self._started is None:
            return
        took, self._started = self._timer() - self._started, None
        if took >= self._slow and (self._pending is None or not self._pending.active()):
            self._pending = self._clock.callLater(0, self._freeze, took)

    def _freeze(self, took):
        # Not gc.get_freeze_count(): it walks every frozen object (at 5,000
        # engines, twice that took 475 ms).
        self._pending = None
        self._gc.freeze()
        self.freezes += 1
        self._log.debug("a full collection took {ms:.0f} ms: its survivors are frozen",
                        ms=took * 1e3)
