"""
What the cluster and the scheduler tell the metrics: L{ClusterObserver}
(its methods, ignored by this base class) and L{TimedScheduler}, which
counts and times each scheduling decision.
"""

from __future__ import annotations

import time

__all__ = ["ClusterObserver", "TimedScheduler", "outcome"]


class ClusterObserver:
    """
    What the cluster and scheduler tell the metrics.  This base class
    ignores everything (a cluster without metrics).
    """

    def engine_failed(self, engine, error):
        """
        A call to C{engine} failed with C{error}.
        """

    def engine_refreshed(self, engine, seconds, ok):
        """
        One refresh run of C{engine} took C{seconds}; C{ok} says whether
        it completed.
        """

    def discovery_failed(self, failure):
        """
        The discovery watch reported an error.
        """

    def event_published(self, event):
        """
        C{event} went to the C{/events} subscribers.
        """

    def scheduled(self, error, seconds):
        """
        A scheduling decision took C{seconds}; C{error} is the
        L{swarmd.scheduler.SchedulerError} it ended with, or L{None}.
        """



def outcome(error):
    """
    @return: the C{outcome} label of a decision that ended with C{error}.
    """
    if error is None:
        return "scheduled"
    from swarmd.scheduler.errors import NoHealthyNode, NoMatchingNode, NoResources

    for kind, name in ((NoHealthyNode, "no_healthy_node"), (NoMatchingNode, "no_matching_node"),
                       (NoResources, "no_resources")):
        if isinstance(error, kind):
            return name
    return "error"



class TimedScheduler:
    """
    A L{swarmd.scheduler.Scheduler} whose decisions for containers
    (C{select}, C{decide}) are counted and timed; everything else is the
    scheduler's own.
    """

    def __init__(self, scheduler, observer):
        """
        @param scheduler: the L{swarmd.scheduler.Scheduler}.
        @param observer: the L{ClusterObserver} told of each decision.
        """
        object.__setattr__(self, "_scheduler", scheduler)
        object.__setattr__(self, "_observer", observer)

    def __getattr__(self, name):
        return getattr(self._scheduler, name)

    def __setattr__(self, name, value):
        setattr(self._scheduler, name, value)

    def _timed(self, decide, config, nodes):
        from swarmd.scheduler import SchedulerError

        timer = getattr(self._observer, "timer", time.perf_counter)
        started = timer()
        try:
            result = decide(config, nodes)
        except SchedulerError as e:
            self._observer.scheduled(e, timer() - started)
            raise
        self._observer.scheduled(None, timer() - started)
        return result

    def select(self, config, nodes):
        return self._timed(self._scheduler.select, config, nodes)

    def decide(self, config, nodes):
        return self._timed(self._scheduler.decide, config, nodes)

