"""
The states of an engine in the cluster, as classic Swarm names them.
"""

PENDING = "Pending"
HEALTHY = "Healthy"
UNHEALTHY = "Unhealthy"
DISCONNECTED = "Disconnected"
