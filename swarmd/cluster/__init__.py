"""
The cluster: engines named by discovery, their cached state and health,
pending creations and the event hub.
"""

from swarmd.cluster.cluster import Cluster, PendingContainer
from swarmd.cluster.containers import Container
from swarmd.cluster.engine import (
    DISCONNECTED,
    HEALTHY,
    PENDING,
    UNHEALTHY,
    Engine,
    EngineListener,
    EngineOptions,
)
from swarmd.cluster.errors import ClusterError, CreateOutcomeUnknown
from swarmd.cluster.index import AmbiguousContainer, ContainerIndex

__all__ = [
    "Cluster", "ClusterError", "CreateOutcomeUnknown", "PendingContainer", "Container",
    "Engine", "EngineListener", "EngineOptions", "PENDING", "HEALTHY", "UNHEALTHY",
    "DISCONNECTED", "AmbiguousContainer", "ContainerIndex",
]
