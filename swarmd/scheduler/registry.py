"""
Strategies and filters by name, as C{--strategy} and C{--filter} give them.
"""

from __future__ import annotations

from swarmd.scheduler.container_filters import AffinityFilter, DependencyFilter, PortFilter
from swarmd.scheduler.errors import UnknownFilter, UnknownStrategy
from swarmd.scheduler.node_filters import (
    ConstraintFilter,
    HealthFilter,
    SlotsFilter,
    WhitelistFilter,
)
from swarmd.scheduler.strategies import BinpackStrategy, RandomStrategy, SpreadStrategy

__all__ = [
    "STRATEGY_ALIASES",
    "filter_names",
    "filters_for",
    "register_filter",
    "register_strategy",
    "strategy_for",
    "strategy_names",
]

_STRATEGIES = {
    "spread": SpreadStrategy,
    "binpack": BinpackStrategy,
    "random": RandomStrategy,
}

#: Other names a strategy answers to (old spellings, which C{--strategy}
#: accepts too).
STRATEGY_ALIASES = {"binpacking": "binpack"}

# In classic Swarm's default order.
_FILTERS = {
    "health": HealthFilter,
    "port": PortFilter,
    "containerslots": SlotsFilter,
    "dependency": DependencyFilter,
    "affinity": AffinityFilter,
    "constraint": ConstraintFilter,
    "whitelist": WhitelistFilter,
}


def strategy_names():
    """
    @return: a C{list} of the strategies' names (aliases left out).
    """
    return list(_STRATEGIES)


def filter_names():
    """
    @return: a C{list} of the filters' names, in the default order.
    """
    return list(_FILTERS)


def register_strategy(name, factory):
    """
    Make a strategy available by name.

    @param factory: called with no arguments, returns an L{IStrategy}.
    """
    _STRATEGIES[name] = factory


def register_filter(name, factory):
    """
    Make a filter available by name (appended to the default order).

    @param factory: called with no arguments, returns an L{IFilter}.
    """
    _FILTERS[name] = factory


def strategy_for(name, random=None):
    """
    @param name: C{"spread"}, C{"binpack"} (or C{"binpacking"}), C{"random"}
        or a registered name.
    @param random: the L{random.Random} of the random strategy.
    @return: a new L{IStrategy} provider.
    @raise UnknownStrategy: naming C{name} when there is no such strategy.
    """
    canonical = STRATEGY_ALIASES.get(name, name)
    factory = _STRATEGIES.get(canonical)
    if factory is None:
        raise UnknownStrategy("unknown strategy %r (choose from %s)"
                              % (name, ", ".join(_STRATEGIES)))
    if canonical == "random" and factory is RandomStrategy:
        return RandomStrategy(random)
    return factory()


def filters_for(names):
    """
    @param names: filter names, in the order they are to run.
    @return: a new C{list} of L{IFilter} providers.
    @raise UnknownFilter: naming the first unknown name.
    """
    filters = []
    for name in names:
        factory = _FILTERS.get(name)
        if factory is None:
            raise UnknownFilter("unknown filter %r (choose from %s)"
                                % (name, ", ".join(_FILTERS)))
        filters.append(factory())
    return filters
