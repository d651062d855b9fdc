"""
C{swarm create}: a one-shot token creation, checked into a
L{swarmd.config.CreateConfig} (run by L{swarmd.cli.one_shot}).
"""

from __future__ import annotations

from twisted.python import usage

from swarmd import config as _config
from swarmd.options._command import Command

__all__ = ["CreateOptions"]


class CreateOptions(Command):
    """
    Create a cluster token with the token service named by SWARM_TOKEN_URL
    (e.g. http://127.0.0.1:8500, a `swarm token-service`).
    """

    _name = "create"
    _arguments = ""

    def parseArgs(self, *args):
        if args:
            raise usage.UsageError(
                "the `create` command takes no arguments. " + self._help_pointer()
            )

    def postOptions(self):
        settings = self._globals()
        self.config = _config.CreateConfig(
            token_url=self._environ.get("SWARM_TOKEN_URL") or None,
            debug=settings["debug"], log_level=settings["log_level"]
        )
