"""
Schemes of classic Swarm that swarmd recognises but does not serve yet.

Their URLs fail with L{DiscoveryNotSupported}; a provider that registers
one of these schemes with L{register_backend} replaces the placeholder.
"""

from swarmd.discovery._registry import register_planned

#: Classic Swarm's discovery schemes not served yet: none (token, consul,
#: etcd and zk have their providers).
PLANNED: tuple[str, ...] = ()

for _scheme in PLANNED:
    register_planned(_scheme)
