"""
Network routes.
"""

from swarmd.api._routing import EngineRouting


class NetworkRoutes(EngineRouting):
    """
    C{/networks/...}
    """
