"""
Image routes.
"""

from swarmd.api._routing import EngineRouting
from swarmd.api.errors import DockerError


class ImageRoutes(EngineRouting):
    """
    C{/images/...}
    """

    def images_viz(self, request, version=None):
        raise DockerError(501, "Not supported in clustering mode.")
