"""
Volume routes.
"""

from swarmd.api._routing import EngineRouting


class VolumeRoutes(EngineRouting):
    """
    C{/volumes/...}
    """
