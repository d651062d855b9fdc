"""
The scheduler: where a new container goes.

Pure, in-memory logic.  A L{ContainerConfig} is parsed from a create
request; the cluster builds one L{Node} view per engine; a L{Scheduler}
runs its L{IFilter}s then its L{IStrategy} over them::

    scheduler = Scheduler(strategy_for("spread"), filters_for(DEFAULT_FILTERS))
    node = scheduler.select(ContainerConfig.from_create_body(body, name), nodes)
"""

from swarmd.scheduler._interfaces import IFilter, IStrategy
from swarmd.scheduler.config import LABELS, RESCHEDULE_POLICIES, ContainerConfig
from swarmd.scheduler.container_filters import AffinityFilter, DependencyFilter, PortFilter
from swarmd.scheduler.errors import (
    ExpressionError,
    NoHealthyNode,
    NoMatchingNode,
    NoResources,
    SchedulerError,
    UnknownFilter,
    UnknownStrategy,
)
from swarmd.scheduler.expressions import Expression, parse_expression, parse_expressions
from swarmd.scheduler.node import SWARM_ID_LABEL, Node, apply_overcommit, host_ip
from swarmd.scheduler.node_filters import (
    ConstraintFilter,
    HealthFilter,
    SlotsFilter,
    WhitelistFilter,
)
from swarmd.scheduler.registry import (
    filter_names,
    filters_for,
    register_filter,
    register_strategy,
    strategy_for,
    strategy_names,
)
from swarmd.scheduler.scheduler import Scheduler
from swarmd.scheduler.strategies import BinpackStrategy, RandomStrategy, SpreadStrategy

__all__ = [
    "LABELS",
    "RESCHEDULE_POLICIES",
    "SWARM_ID_LABEL",
    "AffinityFilter",
    "BinpackStrategy",
    "ConstraintFilter",
    "ContainerConfig",
    "DependencyFilter",
    "Expression",
    "ExpressionError",
    "HealthFilter",
    "IFilter",
    "IStrategy",
    "NoHealthyNode",
    "NoMatchingNode",
    "NoResources",
    "Node",
    "PortFilter",
    "RandomStrategy",
    "Scheduler",
    "SchedulerError",
    "SlotsFilter",
    "SpreadStrategy",
    "UnknownFilter",
    "UnknownStrategy",
    "WhitelistFilter",
    "apply_overcommit",
    "filter_names",
    "filters_for",
    "host_ip",
    "parse_expression",
    "parse_expressions",
    "register_filter",
    "register_strategy",
    "strategy_for",
    "strategy_names",
]
