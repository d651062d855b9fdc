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

A container that asks for neither CPUs nor memory fits every node and
weighs C{200 + factor * healthIndicator} on each: both strategies then sort
the nodes by an order each view keeps (L{Node.spread_order},
L{Node.binpack_order}), worked out once per view rather than once per
decision (at 5,000 nodes, weighing every node took most of a decision:
4.7-10 ms, against 0.35 ms for the sort on kept orders).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable
from operator import attrgetter
from typing import Any

from zope.interface import implementer

from swarmd.scheduler._interfaces import IStrategy
from swarmd.scheduler.errors import NoResources

__all__ = ["BinpackStrategy", "RandomStrategy", "SpreadStrategy", "shortages", "weigh"]

#: How many short nodes a "no resources" message names per resource.
SHOWN_NODES = 5


def _size(count):
    """
    Bytes for people: C{"1.95 GiB"}, C{"512 MiB"}, C{"100 B"}.
    """
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2),
                       ("KiB", 1024)):
        if count >= size:
            return "%.3g %s" % (count / size, unit)
    return "%d B" % (count,)


def _short_nodes(asked, nodes, total_of, used_of, show):
    """
    The line naming the nodes without room for C{asked} of one resource.

    @return: C{(line, shortfalls)}, C{line} L{None} when every node has room.
    """
    short = []
    for node in nodes:
        total, used = total_of(node), used_of(node)
        if used + asked > total:
            free = max(total - used, 0)
            short.append((asked - free, node.name, free, total))
    if not short:
        return None
    short.sort()
    shown = ["%s by %s (%s of %s free)" % (name, show(missing), show(free), show(total))
             for missing, name, free, total in short[:SHOWN_NODES]]
    if len(short) > SHOWN_NODES:
        shown.append("and %d more node%s" % (len(short) - SHOWN_NODES,
                                             "s" if len(short) - SHOWN_NODES > 1 else ""))
    return ", ".join(shown)


def shortages(config, nodes):
    """
    Why no node has room for C{config}, for the lines after classic Swarm's
    "no resources available to schedule container": for each resource asked
    for, what was asked, the largest node's total (and the most any node has
    free, when that is what falls short), then the nodes short of it, by
    how much (closest to fitting first, at most L{SHOWN_NODES} named).

    @param config: the L{swarmd.scheduler.ContainerConfig} that did not fit.
    @param nodes: the L{swarmd.scheduler.Node}s it was weighed on.
    @return: a C{list} of lines (empty when there is no node at all).
    """
    if not nodes:
        return []
    lines = []
    resources: list[tuple[Any, Callable, Callable, Callable, str, str]] = [
        (config.cpus, lambda n: n.total_cpus, lambda n: n.used_cpus, str,
         "--cpu-shares %d asks for %d CPU%s (classic Swarm reads CpuShares as a CPU "
         "count)" % (config.cpus, config.cpus, "" if config.cpus == 1 else "s"),
         "CPUs short on "),
        (config.memory, lambda n: n.total_memory, lambda n: n.used_memory, _size,
         "--memory asks for %s" % (_size(config.memory),), "memory short on "),
    ]
    for asked, total_of, used_of, show, what, prefix in resources:
        if asked <= 0:
            continue
        listed = _short_nodes(asked, nodes, total_of, used_of, show)
        if listed is None:
            continue
        largest = max(total_of(node) for node in nodes)
        line = "%s; the largest node has %s" % (what, show(largest))
        most_free = max(max(total_of(node) - used_of(node), 0) for node in nodes)
        if largest >= asked > most_free:
            line += ", the most free on one node is %s" % (show(most_free),)
        lines.append(line)
        lines.append(prefix + listed)
    return lines


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
    weighed: list[tuple] = []
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
        raise NoResources(shortages(config, nodes))
    return weighed


_SPREAD_ORDER = attrgetter("spread_order")
_BINPACK_ORDER = attrgetter("binpack_order")


def _asks_nothing(config):
    """
    Whether C{config} reserves neither CPUs nor memory: L{_weighed} then
    keeps every node and weighs it by its health alone.
    """
    return config.cpus <= 0 and config.memory <= 0


def _by_kept_order(config, nodes, order):
    """
    L{_weighed}'s ranking for a config that L{_asks_nothing}: the nodes
    sorted by C{order} (stable, so remaining ties keep the nodes' order as
    the index does there).
    """
    if not nodes:
        raise NoResources(shortages(config, nodes))
    return sorted(nodes, key=order)


@implementer(IStrategy)
class SpreadStrategy:
    """
    Spread containers over the nodes: least loaded first.
    """

    name = "spread"

    def rank(self, config, nodes):
        if _asks_nothing(config):
            return _by_kept_order(config, nodes, _SPREAD_ORDER)
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
        if _asks_nothing(config):
            return _by_kept_order(config, nodes, _BINPACK_ORDER)
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
