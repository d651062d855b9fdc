"""
L{Scheduler}: filters, then a strategy, with the soft-expression retry.
"""

from __future__ import annotations

import attr
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.scheduler.errors import NoHealthyNode, NoMatchingNode, SchedulerError

__all__ = ["Decision", "Scheduler"]


@attr.s(frozen=True, auto_attribs=True)
class Decision:
    """
    What the scheduler decided for one container, and how: the numbers its
    caller logs (the scheduler itself stays pure).

    @ivar nodes: the nodes that can take the container, best first
        (empty when none can).
    @ivar candidates: how many nodes were offered.
    @ivar removed: C{(filter name, nodes it removed)} for each filter run,
        in order (the last pass: without soft expressions if they were
        dropped).
    @ivar soft_dropped: C{True} when no node satisfied the soft (C{~})
        expressions and they were ignored.
    """

    nodes: tuple
    candidates: int
    removed: tuple
    soft_dropped: bool = False


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

    def _filter(self, config, nodes, soft, removed):
        candidates = list(nodes)
        for index, node_filter in enumerate(self.filters):
            before = len(candidates)
            candidates = node_filter.filter(config, candidates, soft)
            removed.append((node_filter.name, before - len(candidates)))
            if not candidates:
                if node_filter.name == "health":
                    raise NoHealthyNode()
                conditions = [texts for texts in (
                    f.expressions(config) for f in self.filters[:index + 1]) if texts]
                notes = _volume_notes(config) if any(
                    f.name == "dependency" for f in self.filters[:index + 1]) else ()
                raise NoMatchingNode(node_filter.name, conditions, notes)
        return candidates

    def _rank(self, config, nodes, soft, removed):
        return self.strategy.rank(config, self._filter(config, nodes, soft, removed))

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
        return list(self.decide(config, nodes).nodes)

    def decide(self, config, nodes):
        """
        Rank the nodes as L{rank} does, and say how.

        @return: a L{Decision} with at least one node.
        @raise SchedulerError: as L{rank}, with a C{decision} attribute: the
            L{Decision} (no nodes) saying which filter removed how many.
        """
        # Where its volumes are is judged over every node given, before any
        # filter (a volume on a node that is down still ties the container),
        # unless the caller looked over more nodes already.
        if config.volume_nodes is None:
            config = config.locate_volumes(nodes)
        count = len(nodes)
        removed: list = []
        try:
            return Decision(tuple(self._rank(config, nodes, True, removed)), count,
                            tuple(removed))
        except SchedulerError as e:
            if not config.has_soft:
                e.decision = Decision((), count, tuple(removed))
                raise
            self._log.debug("no node satisfies the soft expressions ({error}); "
                            "trying without them", error=str(e))
        removed = []
        try:
            ranked = self._rank(config, nodes, False, removed)
        except SchedulerError as e:
            e.decision = Decision((), count, tuple(removed), soft_dropped=True)
            raise
        return Decision(tuple(ranked), count, tuple(removed), soft_dropped=True)

    def select(self, config, nodes):
        """
        @return: the best L{Node} for C{config}, C{rank(config, nodes)[0]}.
        @raise SchedulerError: as L{rank}.
        """
        return self.rank(config, nodes)[0]
