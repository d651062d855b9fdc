"""
The L{usage.Options} of each C{swarm} command, one module a command; the
top level (L{swarmd.tap.Options}) and C{help} are in L{swarmd.tap}.
"""

from swarmd.options._command import Command, DiscoveryCommand
from swarmd.options.create import CreateOptions
from swarmd.options.join import JoinOptions
from swarmd.options.list import ListOptions
from swarmd.options.manage import ManageOptions
from swarmd.options.token_service import TokenServiceOptions

__all__ = [
    "Command",
    "CreateOptions",
    "DiscoveryCommand",
    "JoinOptions",
    "ListOptions",
    "ManageOptions",
    "TokenServiceOptions",
]
