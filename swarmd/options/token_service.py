"""
C{swarm token-service}: the flags of a token service for C{token://}
discovery, checked into a L{swarmd.config.TokenServiceConfig}.
"""

from __future__ import annotations

from twisted.python import usage

from swarmd import config as _config
from swarmd.options._command import Command

__all__ = ["TokenServiceOptions"]


class TokenServiceOptions(Command):
    """
    Run a token service for token:// discovery: Docker Hub's API, its clusters kept in --data.
    """

    _name = "token-service"
    _arguments = "[options]"

    optParameters = [
        ["listen", None, "tcp:8500:interface=127.0.0.1",
         "Where to listen: a Twisted strports description (ssl:... for TLS)."],
        ["data", None, None, "Folder the clusters are kept in (mandatory)."],
    ]

    def parseArgs(self, *args):
        if args:
            raise usage.UsageError(
                "the `token-service` command takes no arguments. " + self._help_pointer()
            )

    def postOptions(self):
        if not self["data"]:
            raise usage.UsageError("missing mandatory --data flag (the folder clusters are "
                                   "kept in)")
        from twisted.application import strports

        try:
            # Only the description is checked here: no factory yet.
            strports.service(self["listen"], None)  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError) as e:
            raise usage.UsageError(f"invalid --listen {self['listen']!r}: {e}") from None
        settings = self._globals()
        self.config = _config.TokenServiceConfig(
            listen=self["listen"], data=self["data"],
            debug=settings["debug"], log_level=settings["log_level"]
        )
