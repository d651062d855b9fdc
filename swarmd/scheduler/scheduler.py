"""
L{Scheduler}: filters, then a strategy, with the soft-expression retry.
"""

from __future__ import annotations

from twisted.logger import Logger

from swarmd._log import observer
from swarmd.scheduler.errors import NoHealthyNode, NoMatchingNode, SchedulerError

__all__ = ["Scheduler"]


def _volume_notes(config):
    """
    The lines saying why volumes tie a container to some nodes.
    """
    return ["volume %s exists on %s only: a container using it must run there (elsewhere "
            "it would get a new, empty %s); use <node>/%s to choose another node's"
            % (name, ", ".join(names), name, name)
            for name, (_, names) in sorted((config.volume_nodes or {}).items())]


class Scheduler:
    """
    Chooses nodes for containers.

    Pure and synchronous: callers serialise decisions with whatever else
    must not interleave (name checks, pending reservations).

    @ivar strategy: the L{IStrategy} ranking the nodes.
    @ivar filters: the C{list} of L{IFilter}s, applied in order.
    """

    _log = Logger(observer=observer)

    def __init__(self, strategy, filters):
        """
        @param strategy: an L{IStrategy} provider.
        @param filters: a C{list} of L{IFilter} providers, applied in order.
        """
        self.strategy = strategy
        self.filters = list(filters)

    def _filter(self, config, nodes, soft):
        candidates = list(nodes)
        for index, node_filter in enumerate(self.filters):
            candidates = node_filter.filter(config, candidates, soft)
            if not candidates:
                if node_filter.name == "health":
                    raise NoHealthyNode()
                conditions = [texts for texts in (
                    f.expressions(config) for f in self.filters[:index + 1]) if texts]
                notes = _volume_notes(config) if any(
                    f.name == "dependency" for f in self.filters[:index + 1]) else ()
                raise NoMatchingNode(node_filter.name, conditions, notes)
        return candidates

    def _rank(self, config, nodes, soft):
        return self.strategy.rank(config, self._filter(config, nodes, soft))

    def rank(self, config, nodes):
        """
        Rank the nodes that can take a container, best first.

        Filters run with soft expressions first; if that leaves no node (or
        no node with room), everything runs again without them.

        @param config: the L{swarmd.scheduler.ContainerConfig} to place.
        @param nodes: a C{list} of L{swarmd.scheduler.Node}.
        @return: a non-empty C{list} of L{Node}s, best first.
        @raise SchedulerError: L{NoHealthyNode}, L{NoMatchingNode} or
            L{NoResources} (their messages are classic Swarm's).
        """
        # Where its volumes are is judged over every node given, before any
        # filter (a volume on a node that is down still ties the container),
        # unless the caller looked over more nodes already.
        if config.volume_nodes is None:
            config = config.locate_volumes(nodes)
        try:
            return self._rank(config, nodes, soft=True)
        except SchedulerError as e:
            if not config.has_soft:
                raise
            self._log.debug("no node satisfies the soft expressions ({error}); "
                            "trying without them", error=str(e))
        return self._rank(config, nodes, soft=False)

    def select(self, config, nodes):
        """
        @return: the best L{Node} for C{config}, C{rank(config, nodes)[0]}.
        @raise SchedulerError: as L{rank}.
        """
        return self.rank(config, nodes)[0]
