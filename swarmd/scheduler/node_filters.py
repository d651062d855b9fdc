"""
Filters on what a node is: health, container slots, constraints (labels,
C{node}) and whitelists.
"""

from __future__ import annotations

from zope.interface import implementer

from swarmd.scheduler._index import ViewIndex, keep
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
        return [node for node in nodes
                if (slots := node.slots) is None or len(node.containers) < slots]

    def expressions(self, config):
        return ["available container slots"]


def _constraint_keys(node):
    """
    What a plain constraint looks up: C{("node", ID or name)} and
    C{("label", key, value)} for each engine label.
    """
    keys: list[tuple] = [("node", node.id), ("node", node.name)]
    keys.extend(("label", key, value) for key, value in node.labels.items()
                if isinstance(value, str))
    return keys


@implementer(IFilter)
class ConstraintFilter:
    """
    Keeps nodes whose labels satisfy every constraint.  Key C{node} matches
    the node's ID or name; any other key matches the engine label of that
    name (a node without the label matches no C{==} and every C{!=}).
    """

    name = "constraint"

    def __init__(self):
        self._index = ViewIndex(keys_of=_constraint_keys)

    def filter(self, config, nodes, soft):
        kept = list(nodes)
        constraints = active(config.constraints, soft)
        if any(c.literal is not None for c in constraints):
            self._index.track(kept)
        # One pass per constraint, each over the nodes the previous ones
        # kept; a plain value (the usual case) is looked up in the index.
        for constraint in constraints:
            if not kept:
                break
            key, test, literal = constraint.key, constraint.test, constraint.literal
            if literal is not None:
                held = ("node", literal) if key == "node" else ("label", key, literal)
                # A node without the label matches every !=.
                kept = keep(kept, self._index.having(held), constraint.negated)
            elif key == "node":
                kept = [node for node in kept if test((node.id, node.name))]
            else:
                kept = [node for node in kept
                        if test(() if (value := node.labels.get(key)) is None else (value,))]
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
        kept = list(nodes)
        for whitelist in active(config.whitelists, soft):
            test = whitelist.test
            kept = [node for node in kept if test((node.name, node.id))]
        return kept

    def expressions(self, config):
        # Classic Swarm: "node==n1|n2 (soft=false)".
        return [e.condition(show_soft=True) for e in config.whitelists]
