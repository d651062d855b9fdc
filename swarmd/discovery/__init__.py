"""
Node discovery: where the manager learns its engines' addresses.

Build a provider from the C{<discovery>} argument with L{discovery_for};
C{nodes://} (or a bare C{host:port,...} list), C{file://}, C{etcd://},
C{zk://}, C{consul://} and C{token://} are served.  New providers plug in with L{register_backend}.
"""

from swarmd.discovery._consul import ConsulDiscovery
from swarmd.discovery._entries import (
    expand_range,
    normalize_address,
    parse_entries,
    parse_entry,
    split_host_port,
)
from swarmd.discovery._errors import DiscoveryError, DiscoveryNotSupported
from swarmd.discovery._etcd import EtcdDiscovery
from swarmd.discovery._file import FileDiscovery, parse_file_content
from swarmd.discovery._interfaces import IDiscovery, IDiscoveryWatch
from swarmd.discovery._nodes import NodesDiscovery
from swarmd.discovery._planned import PLANNED
from swarmd.discovery._registry import (
    check_url,
    discovery_for,
    parse_url,
    register_backend,
    register_planned,
    schemes,
)
from swarmd.discovery._token import TokenDiscovery, create_token
from swarmd.discovery._zk import ZKDiscovery

__all__ = [
    "PLANNED",
    "ConsulDiscovery",
    "DiscoveryError",
    "DiscoveryNotSupported",
    "EtcdDiscovery",
    "FileDiscovery",
    "IDiscovery",
    "IDiscoveryWatch",
    "NodesDiscovery",
    "TokenDiscovery",
    "check_url",
    "create_token",
    "discovery_for",
    "expand_range",
    "normalize_address",
    "parse_entries",
    "parse_entry",
    "parse_file_content",
    "parse_url",
    "register_backend",
    "register_planned",
    "schemes",
    "split_host_port",
    "ZKDiscovery",
]
