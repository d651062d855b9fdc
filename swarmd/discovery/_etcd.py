"""
C{etcd://host:port[,host:port...]/prefix}: engines registered in etcd.

etcd v3 is spoken over its HTTP/JSON gateway (C{/v3/...}, keys and values
base64) with treq: no Twisted client of etcd's gRPC API is maintained, and
the gateway ships with every etcd since 3.3, so the manager needs nothing
but HTTP.  A node registers by putting its key under a lease of C{--ttl},
kept alive every C{--heartbeat}; a manager reads the prefix once, then
follows a watch stream from the next revision, and after an error resumes
from the revision it last saw (or reads again if etcd compacted it away).

C{--discovery-opt etcd.api=v2} uses etcd's v2 API (C{/v2/keys}, keys with
a TTL, long-polled C{?wait=true}) and classic Swarm's libkv layout, so that
swarmd and classic Swarm nodes and managers can share one etcd (started
with C{--enable-v2}).

The clients of etcd's APIs are in L{swarmd.discovery._etcd_client}
(L{EtcdV3Client} is also what the leader election builds on), the watches
in L{swarmd.discovery._etcd_watch}.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks
from zope.interface import implementer

from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._etcd_client import EtcdV2Client, EtcdV3Client, WatchEvent, prefix_end
from swarmd.discovery._etcd_watch import V2Watch, V3Watch, entries_of
from swarmd.discovery._interfaces import IDiscovery
from swarmd.discovery._kv import KVDiscovery, reactor_for
from swarmd.discovery._registry import register_backend

__all__ = ["EtcdDiscovery", "EtcdV2Client", "EtcdV3Client", "WatchEvent", "prefix_end"]


@implementer(IDiscovery)
class EtcdDiscovery(KVDiscovery):
    """
    Engines registered in etcd, v3 (default) or v2 (C{etcd.api=v2}).

    @ivar client: the L{EtcdV3Client} or L{EtcdV2Client}.
    @ivar key_prefix: the directory of the engines' keys, with a trailing
        slash (v3) or without (v2).
    """

    scheme = "etcd"

    def __init__(self, endpoints, prefix, heartbeat, ttl, options, clock, reactor=None):
        """
        See L{KVDiscovery.__init__}; C{etcd.api} is the one option of etcd's
        own.

        @param reactor: the reactor connections are made with (C{clock}
            unless given, if it is a reactor; the global one otherwise).
        @raise DiscoveryError: for bad options.
        """
        super().__init__(endpoints, prefix, heartbeat, ttl, options, clock, extra=("etcd.api",))
        api = self.options.extra.get("etcd.api", "v3")
        if api not in ("v2", "v3"):
            raise DiscoveryError(f"etcd.api is v2 or v3, not {api!r}")
        self.api = api
        reactor = reactor_for(clock, reactor)
        policy = self.options.policy()
        # An EtcdV3Client or an EtcdV2Client: callers check self.api.
        self.client: Any
        if api == "v3":
            self.client = EtcdV3Client(endpoints, reactor, policy)
            self.key_prefix = "/" + self.options.path + "/"
        else:
            self.client = EtcdV2Client(endpoints, reactor, policy)
            self.key_prefix = self.options.path
        self._lease = None

    def describe(self):
        return f"etcd{'' if self.api == 'v3' else ' (v2)'} at {','.join(self.endpoints)}"

    def __repr__(self):
        return f"<EtcdDiscovery {self.api} {','.join(self.endpoints)} {self.key_prefix}>"

    def key(self, address):
        """
        @return: the key of an engine's address.
        """
        if self.api == "v3":
            return self.key_prefix + address
        # v2 keys are paths: a unix:///path address is one key, not a tree.
        return self.key_prefix + "/" + quote(address, safe=":")

    def fetch(self):
        if self.api == "v3":
            d = self.client.range_prefix(self.key_prefix)
            d.addCallback(lambda result: entries_of({kv.key: kv.value for kv in result[0]}))
        else:
            d = self.client.list(self.key_prefix)
            d.addCallback(lambda result: entries_of(result[0]))
        return d

    @property
    def watch_kind(self):  # type: ignore[override]
        """
        The watch of the API spoken.
        """
        return V3Watch if self.api == "v3" else V2Watch

    @inlineCallbacks
    def register(self, address):
        if self.api == "v2":
            yield self.client.set(self.key(address), address, ttl=self.ttl)
            return
        if self._lease is not None:
            lease = self._lease
            remaining = yield self.client.lease_keepalive(lease)
            if remaining > 0 and lease == self._lease:
                return
            if lease == self._lease:
                self._lease = None
        lease, _ = yield self.client.lease_grant(self.ttl)
        yield self.client.put(self.key(address), address, lease=lease)
        self._lease = lease


register_backend("etcd", EtcdDiscovery.from_url)
