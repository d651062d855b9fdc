"""
L{FreezeSurvivors}: the manager's objects that outlive a slow full
collection of the cyclic garbage collector are moved out of its reach.

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
Closed connections unlink their cycles since (L{swarmd._pool}, and
L{swarmd.engine.endpoints} for connections of their own): unfreezing and
collecting everything of a held 5,000-engine manager found 27,662 garbage
objects stuck after its start, 187 after 5.5 idle minutes (batch reads'
connections) before that, none after.

The survivors are frozen in the collector's own callback, as the full
collection ends: the young generations are empty then, so what is frozen is
what the collection found alive.  Freezing on the next reactor turn instead
froze the garbage that turn made too: after the same burst of 300 creates,
20 C{ps -a} and 20 C{logs} at 5,000 engines, unfreezing and collecting
everything found 11 requests' cycles (408 objects) from one freeze then, one
request's (36 objects) from three freezes now.  What was alive during the
collection and dies later in a cycle (a request under way) still stays
frozen: about a request's worth per few freezes.
"""

import gc
import time

from twisted.application.service import Service

#: A full collection longer than this (seconds) freezes its survivors.
#: Each full collection walks about a quarter more than the one before
#: (CPython starts one when the survivors of the young generations reach a
#: quarter of what the last one left), so no later one takes much longer.
SLOW_COLLECTION = 0.02


class FreezeSurvivors(Service):
    """
    While running, watch the collector's full collections; after one that
    took longer than C{slow} seconds, freeze every object it left, as it
    ends.

    @ivar freezes: how many times the survivors were frozen.
    """

    def __init__(self, slow=SLOW_COLLECTION, collector=gc, timer=time.perf_counter):
        """
        @param collector: the C{gc} module (tests give a double).
        @param timer: the clock collections are timed with.
        """
        self._slow = slow
        self._gc = collector
        self._timer = timer
        self._started = None
        self.freezes = 0

    def startService(self):
        Service.startService(self)
        if self._collected not in self._gc.callbacks:
            self._gc.callbacks.append(self._collected)

    def stopService(self):
        Service.stopService(self)
        if self._collected in self._gc.callbacks:
            self._gc.callbacks.remove(self._collected)

    def _collected(self, phase, info):
        """
        The collector's callback: times each full collection, and freezes
        the survivors of a slow one.
        """
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = self._timer()
            return
        if self._started is None:
            return
        took, self._started = self._timer() - self._started, None
        if took < self._slow:
            return
        # Not gc.get_freeze_count(): it walks every frozen object (at 5,000
        # engines, twice that took 475 ms).
        # Nothing more here (no log line): this runs wherever an allocation
        # started the collection, logging's own code included.
        self._gc.freeze()
        self.freezes += 1
