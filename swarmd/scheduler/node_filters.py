"""
Filters on what a node is: health, container slots, constraints (labels,
C{node}) and whitelists.
"""

from __future__ import annotations

from zope.interface import implementer

from swarmd.scheduler._interfaces import IFilter

__all__ = ["ConstraintFilter", "HealthFilter", "SlotsFilter", "WhitelistFilter"]


def active(expressions, soft):
    """
    @return: the expressions that count: all of them when C{soft}, else the
        hard ones.
    """
    return expressions if soft else [e for e in expressions if not e.soft]


@implementer(IFilter)
class HealthFilter:
    """
    Keeps healthy nodes.  When none is left the scheduler answers "No healthy
    node available in the cluster".
    """

    name = "health"

    def filter(self, config, nodes, soft):
        return [node for node in nodes if node.healthy]

    def expressions(self, config):
        return []


@implementer(IFilter)
class SlotsFilter:
    """
    Keeps nodes with fewer containers (any state, pending included) than
    their engine label C{containerslots}; a node without that label, or with
    a value that is not an integer, has no limit.
    """

    name = "containerslots"

    def filter(self, config, nodes, soft):
        kept = []
        for node in nodes:
            slots = node.slots
            if slots is None or len(node.containers) < slots:
                kept.append(node)
        return kept

    def expressions(self, config):
        return ["available container slots"]


@implementer(IFilter)
class ConstraintFilter:
    """
    Keeps nodes whose labels satisfy every constraint.  Key C{node} matches
    the node's ID or name; any other key matches the engine label of that
    name (a node without the label matches no C{==} and every C{!=}).
    """

    name = "constraint"

    def filter(self, config, nodes, soft):
        constraints = active(config.constraints, soft)
        if not constraints:
            return list(nodes)
        kept = []
        for node in nodes:
            labels = node.labels
            for constraint in constraints:
                key = constraint.key
                if key == "node":
                    values = (node.id, node.name)
                else:
                    value = labels.get(key)
                    values = () if value is None else (value,)
                if not constraint.test(values):
                    break
            else:
                kept.append(node)
        return kept

    def expressions(self, config):
        # Classic Swarm: key, operator and value, soft ones included
        # without their "~".
        return [e.condition() for e in config.constraints]


@implementer(IFilter)
class WhitelistFilter:
    """
    Keeps nodes named by every whitelist, e.g. C{whitelist:node==n1|n2}: the
    value lists node names or IDs separated by C{|} (each may be a glob), or
    is one C{/regex/}.  C{!=} keeps the nodes not listed.  As in classic
    Swarm, the key is not looked at.
    """

    name = "whitelist"

    def filter(self, config, nodes, soft):
        whitelists = active(config.whitelists, soft)
        if not whitelists:
            return list(nodes)
        return [node for node in nodes
                if all(w.test((node.name, node.id)) for w in whitelists)]

    def expressions(self, config):
        # Classic Swarm: "node==n1|n2 (soft=false)".
        return [e.condition(show_soft=True) for e in config.whitelists]
