"""
L{ListingWarmer}: the list entries of containers that joined the cache,
encoded in the background in short slices, so the first container list
after a start does not encode them all in one reactor turn.

Each container's entry in C{GET /containers/json} is kept once made
(L{swarmd.cluster.containers.Container.listing_parts}), and a container
read again after a change is a new object.  Made on demand, the first list
after a start made 30,000 entries in 0.7-0.9 s and 150,000 in 3.0-6.7 s
(by machine), the reactor serving nothing else meanwhile; made here as containers come,
the same work is spread over the start, a few milliseconds at a time.
"""

from collections import deque
from time import perf_counter

from twisted.logger import Logger

from swarmd._log import observer

#: Seconds of encoding per slice at most.
SLICE_SECONDS = 0.004

#: Seconds between two slices: the reactor is free at least half the time
#: while a backlog lasts.
PAUSE_SECONDS = 0.005


class ListingWarmer:
    """
    Makes the list entries of the containers it is given, in the order they
    came, a slice at a time.  A container whose entry was made meanwhile, or
    that its engine's cache no longer holds (read again, or gone), is
    skipped; one whose entry cannot be made is logged and skipped.
    """

    _log = Logger(observer=observer)

    def __init__(self, clock, timer=perf_counter):
        """
        @param clock: an L{IReactorTime}: schedules the slices, and its
            C{seconds()} is the time the entries' statuses are made for.
        @param timer: measures a slice's work (the process's clock).
        """
        self._clock = clock
        self._timer = timer
        self._queue: deque = deque()
        self._call = None

    def __len__(self):
        return len(self._queue)

    def add(self, container):
        """
        Make C{container}'s entry soon.
        """
        self._queue.append(container)
        if self._call is None:
            self._call = self._clock.callLater(0, self._slice)

    def stop(self):
        """
        Drop the backlog and the next slice.
        """
        self._queue.clear()
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _slice(self):
        self._call = None
        queue, timer = self._queue, self._timer
        now = self._clock.seconds()
        deadline = timer() + SLICE_SECONDS
        while queue:
            container = queue.popleft()
            if (container.listing_until() == 0.0
                    and container.engine.containers.get(container.id) is container):
                try:
                    container.listing_parts(now)
                except Exception:
                    self._log.failure("making the list entry of {container}",
                                      container=container)
                if timer() >= deadline:
                    break
        if queue:
            self._call = self._clock.callLater(PAUSE_SECONDS, self._slice)
