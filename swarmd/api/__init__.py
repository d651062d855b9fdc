"""
The Docker remote API of the cluster: Klein app, proxy, hijack, site.
"""

from swarmd.api.app import DockerAPI
from swarmd.api.errors import DockerError
from swarmd.api.site import DockerSite

__all__ = ["DockerAPI", "DockerError", "DockerSite"]
