"""
C{swarm join}: the flags of a node agent, checked into a
L{swarmd.config.JoinConfig}.
"""

from __future__ import annotations

from twisted.python import usage

from swarmd import config as _config
from swarmd.options._command import LOG_FORMAT_PARAMETER, DiscoveryCommand

__all__ = ["JoinOptions"]


class JoinOptions(DiscoveryCommand):
    """
    Join a docker cluster: register this engine's address with the discovery
    service every heartbeat.
    """

    _verb = "join"
    _name = "join"
    _aliases = {"addr": "advertise"}

    optParameters = [
        ["heartbeat", None, "60s", "Period between each heartbeat."],
        ["ttl", None, "180s", "Expiration of the ephemeral node; must exceed --heartbeat."],
        [
            "delay",
            None,
            "0s",
            "Add a random delay in [0s,delay] to avoid synchronized registration.",
        ],
        LOG_FORMAT_PARAMETER,
    ]

    def __init__(self, environ=None, check_url=None):
        super().__init__(environ=environ, check_url=check_url)
        self["advertise"] = None

    def opt_advertise(self, value):
        """
        Address of the Docker engine joining the cluster, host:port (mandatory; alias --addr; env
        SWARM_ADVERTISE).
        """
        self["advertise"] = value

    def postOptions(self):
        discovery = self._discovery()
        given = self["advertise"]
        if not (given if given is not None else self._environ.get("SWARM_ADVERTISE")):
            raise usage.UsageError("missing mandatory --advertise flag")
        advertise = self._advertise(given)

        delay = self._duration("delay")
        if delay < 0:
            raise usage.UsageError(
                f"--delay should not be a negative number (got {self['delay']})"
            )
        heartbeat = self._heartbeat()
        ttl = self._duration("ttl")
        if ttl <= heartbeat:
            raise usage.UsageError(
                "--ttl must be strictly superior to the heartbeat value "
                f"(--ttl {self['ttl']}, --heartbeat {self['heartbeat']})"
            )

        settings = self._globals()
        self.config = _config.JoinConfig(
            discovery=discovery,
            advertise=advertise,
            heartbeat=heartbeat,
            ttl=ttl,
            delay=delay,
            discovery_opts=self._discovery_opts(),
            log_format=self._log_format(),
            debug=settings["debug"],
            log_level=settings["log_level"],
        )
