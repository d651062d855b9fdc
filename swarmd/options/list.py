"""
C{swarm list}: the flags of a one-shot listing, checked into a
L{swarmd.config.ListConfig} (run by L{swarmd.cli.one_shot}).
"""

from __future__ import annotations

from twisted.python import usage

from swarmd import config as _config
from swarmd.options._command import DiscoveryCommand

__all__ = ["ListOptions"]


class ListOptions(DiscoveryCommand):
    """
    List the nodes of a cluster: print the discovery's entries, one a line.
    """

    _verb = "list"
    _name = "list"

    optParameters = [["timeout", None, "10s", "Timeout period."]]

    def postOptions(self):
        discovery = self._discovery()
        timeout = self._duration("timeout")
        if timeout <= 0:
            raise usage.UsageError(
                f"--timeout should be a positive number (got {self['timeout']})"
            )
        settings = self._globals()
        self.config = _config.ListConfig(
            discovery=discovery,
            timeout=timeout,
            discovery_opts=self._discovery_opts(),
            debug=settings["debug"],
            log_level=settings["log_level"],
        )


#: The exit status of a usage error (as Go's flag package and most Unix
