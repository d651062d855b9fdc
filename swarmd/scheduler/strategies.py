"""
Placement strategies: spread, binpack and random.

Spread and binpack weigh each node that has room as classic Swarm does::

    cpuScore = (usedCpus + cpus) * 100 / totalCpus      (100 when no CPUs asked)
    memScore = (usedMemory + memory) * 100 / totalMemory  (100 when no memory asked)
    weight   = cpuScore + memScore + factor * healthIndicator

in integer arithmetic, dropping nodes where the request does not fit: used
plus asked over the total, for a resource that is asked for.  (Classic Swarm
compares the rounded-down score with 100, which lets a node go up to 1% over
its total; here a node never goes over.)  Spread (factor -10) takes the lowest weight first, ties
going to the node with fewer containers; binpack (factor +10) the highest,
ties going to more containers.  Remaining ties keep the nodes' order.
"""

from __future__ import annotations

import random as _random

from zope.interface import implementer

from swarmd.scheduler._interfaces import IStrategy
from swarmd.scheduler.errors import NoResources

__all__ = ["BinpackStrategy", "RandomStrategy", "SpreadStrategy", "weigh"]


def weigh(config, nodes, health_factor):
    """
    Weigh the nodes with room for C{config}.

    @return: a C{list} of C{(weight, container count, index, node)}.
    @raise NoResources: when no node has room.
    """
    return _weighed(config, nodes, health_factor, 1)


def _weighed(config, nodes, health_factor, sign):
    """
    L{weigh}, with the weight and the container count multiplied by
    C{sign}: the tuples then sort best first as they are (the index, unique,
    settles every tie before the nodes would be compared).
    """
    cpus = config.cpus
    memory = config.memory
    weighed = []
    append = weighed.append
    for index, node in enumerate(nodes):
        if cpus > 0:
            wanted = node.used_cpus + cpus
            total = node.total_cpus
            if wanted > total:
                continue
            score = wanted * 100 // total
        else:
            score = 100
        if memory > 0:
            wanted = node.used_memory + memory
            total = node.total_memory
            if wanted > total:
                continue
            score += wanted * 100 // total
        else:
            score += 100
        score += health_factor * node.health_indicator
        append((sign * score, sign * len(node.containers), index, node))
    if not weighed:
        raise NoResources()
    return weighed


@implementer(IStrategy)
class SpreadStrategy:
    """
    Spread containers over the nodes: least loaded first.
    """

    name = "spread"

    def rank(self, config, nodes):
        weighed = _weighed(config, nodes, -10, 1)
        weighed.sort()
        return [w[3] for w in weighed]


@implementer(IStrategy)
class BinpackStrategy:
    """
    Pack containers onto as few nodes as possible: most loaded first.
    """

    name = "binpack"

    def rank(self, config, nodes):
        weighed = _weighed(config, nodes, 10, -1)
        weighed.sort()
        return [w[3] for w in weighed]


@implementer(IStrategy)
class RandomStrategy:
    """
    Any node, at random; resources are not checked.
    """

    name = "random"

    def __init__(self, random=None):
        """
        @param random: the L{random.Random} to shuffle with (a new one by
            default).
        """
        self._random = random if random is not None else _random.Random()

    def rank(self, config, nodes):
        if not nodes:
            raise NoResources()
        ranked = list(nodes)
        self._random.shuffle(ranked)
        return ranked
