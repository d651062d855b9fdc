"""
The leader key in each store that can hold one (L{ILeaderStore}
providers), built from the manager's discovery: C{etcd://} (v3), C{zk://}
and C{consul://}.  The key is classic Swarm's
C{<prefix>/docker/swarm/leader}; its value the primary's C{--advertise}.
"""

import logging
import math
import re

from twisted.internet.defer import inlineCallbacks, returnValue, succeed
from twisted.python.failure import Failure
from zope.interface import implementer

from swarmd.discovery._etcd_client import b64, unb64
from swarmd.discovery._zk import _is as zk_error_is
from swarmd.ha._interfaces import ILeaderStore
from swarmd.ha.errors import LeadershipLost

__all__ = ["LEADER_PATH", "ConsulLeaderStore", "EtcdLeaderStore", "NoLeaderStore", "ZKLeaderStore",
           "leader_store_for"]

#: Classic Swarm's C{leaderElectionPath}, under the discovery's prefix.
LEADER_PATH = "docker/swarm/leader"

#: Consul's shortest session TTL, seconds.
CONSUL_MIN_TTL = 10.0

#: Classic Swarm's refusal, word for word.
NOT_SUPPORTED = "Leader election is only supported with consul, etcd and zookeeper discovery."


class NoLeaderStore(ValueError):
    """
    The discovery cannot hold a leader key.
    """


def leader_key(prefix):
    """
    @param prefix: the discovery URL's prefix (maybe empty).
    @return: the leader key, without leading slash.
    """
    return "/".join(part for part in (prefix.strip("/"), LEADER_PATH) if part)


@implementer(ILeaderStore)
class EtcdLeaderStore:
    """
    The leader key in etcd v3: a put under a lease of the TTL, created only
    if absent (a transaction comparing the key's create revision with 0),
    kept alive by renewals that also check the key still carries this
    manager's lease.

    @ivar lease: the lease of the last successful L{acquire}, or L{None}.
    """

    def __init__(self, client, key, owns_client=False):
        """
        @param client: an L{swarmd.discovery._etcd_client.EtcdV3Client}.
        @param key: the leader key (a leading C{/} is added, as for the
            engines' keys).
        @param owns_client: close the client in L{close} (not when it is the
            discovery's own).
        """
        self.client = client
        self.key = "/" + key.lstrip("/")
        self._owns = owns_client
        self.lease = None

    def _read(self):
        op = {"request_range": {"key": b64(self.key)}}
        d = self.client.txn(success=[op])
        return d.addCallback(self._kv_of)

    @staticmethod
    def _kv_of(answer):
        responses = answer.get("responses") or [{}]
        kvs = (responses[0].get("response_range") or {}).get("kvs") or []
        return kvs[0] if kvs else None

    @inlineCallbacks
    def acquire(self, value, ttl):
        kv = yield self._read()
        holder = unb64(kv.get("value")) if kv else None
        if holder is not None and holder != value:
            returnValue(holder)
        # Whole seconds, rounded up: the store must keep the key at least as
        # long as the election counts on.
        lease, _ = yield self.client.lease_grant(math.ceil(ttl))
        key = b64(self.key)
        if holder is None:
            compare = {"key": key, "target": "CREATE", "result": "EQUAL", "create_revision": "0"}
        else:
            # Our own address under a lease we lost track of: take it back.
            compare = {"key": key, "target": "VALUE", "result": "EQUAL", "value": b64(value)}
        answer = yield self.client.txn(
            compare=[compare], success=[self.client.put_op(self.key, value, lease)],
            failure=[{"request_range": {"key": key}}])
        if answer.get("succeeded"):
            self.lease = lease
            returnValue(value)
        yield self.client.lease_revoke(lease)
        kv = self._kv_of(answer)
        returnValue(unb64(kv.get("value")) if kv else None)

    @inlineCallbacks
    def renew(self):
        lease = self.lease
        if lease is None:
            raise LeadershipLost("no lease held on %s" % (self.key,))
        left = yield self.client.lease_keepalive(lease)
        if left <= 0:
            raise LeadershipLost("lease %x on %s expired" % (lease, self.key))
        kv = yield self._read()
        if kv is None or int(kv.get("lease", 0)) != lease:
            raise LeadershipLost("%s is no longer held by lease %x" % (self.key, lease))

    @inlineCallbacks
    def resign(self):
        lease, self.lease = self.lease, None
        if lease is not None:
            yield self.client.lease_revoke(lease)

    def leader(self):
        d = self._read()
        return d.addCallback(lambda kv: unb64(kv.get("value")) if kv else None)

    def close(self):
        if self._owns:
            return self.client.close()
        return succeed(None)


class _NegotiatedTimeout(logging.Handler):
    """
    Reads the session timeout a ZooKeeper server granted from kazoo's own
    log line (kazoo keeps no other record of it; the server clamps a
    requested timeout to its C{min/maxSessionTimeout}).
    """

    _LINE = re.compile(r"negotiated session timeout: (\d+)")

    def __init__(self):
        logging.Handler.__init__(self, level=1)
        self.seconds = None

    def emit(self, record):
        try:
            found = self._LINE.search(record.getMessage())
        except Exception:  # noqa: BLE001 - a record we cannot format
            return
        if found:
            self.seconds = int(found.group(1)) / 1000.0


@implementer(ILeaderStore)
class ZKLeaderStore:
    """
    The leader key in ZooKeeper: an ephemeral znode of this manager's own
    session, whose timeout is the TTL.  ZooKeeper deletes it once the
    session expires, C{ttl} after the last request the server got from
    this manager; a renewal is a request (it proves the session alive when
    the server answered) that also checks the node is still this session's.

    A server that grants a shorter session than asked (C{ttl} above its
    C{maxSessionTimeout}) would let the node go before the election expects:
    the campaign then fails, saying so, and this manager never becomes
    primary.
    """

    def __init__(self, endpoints, key, reactor, options=None):
        from swarmd.discovery._zk import ZKClient

        self.key = "/" + key.lstrip("/")
        self._endpoints = endpoints
        self._reactor = reactor
        self._options = options
        self._make = ZKClient
        self.client = None
        self._timeout = _NegotiatedTimeout()
        self._owner = None

    def _client(self, ttl):
        if self.client is None:
            # kazoo logs the granted timeout at its BLATHER level (5).
            logger = logging.getLogger("swarmd.ha.zk.%x" % (id(self),))
            logger.propagate = False
            logger.setLevel(1)
            logger.addHandler(self._timeout)
            self.client = self._make(self._endpoints, self._reactor, ttl, self._options,
                                     logger=logger)
        return self.client

    @inlineCallbacks
    def acquire(self, value, ttl):
        from swarmd.discovery._errors import DiscoveryError

        client = self._client(ttl)
        yield client.connect()
        granted = self._timeout.seconds
        if granted is not None and granted < ttl:
            raise DiscoveryError(
                "ZooKeeper granted a session of %g s, shorter than --replication-ttl %g s: "
                "lower the TTL or raise the server's maxSessionTimeout" % (granted, ttl))
        for _ in range(2):
            try:
                yield client.create(self.key, value.encode("utf-8"), ephemeral=True,
                                    makepath=True)
            except DiscoveryError:
                failure = Failure()
                if not zk_error_is(failure, "NodeExistsError"):
                    raise
            else:
                self._owner = client.session_id
                returnValue(value)
            try:
                data, stat = yield client.get(self.key)
            except DiscoveryError:
                failure = Failure()
                if zk_error_is(failure, "NoNodeError"):
                    continue
                raise
            holder = data.decode("utf-8", "replace")
            if holder != value:
                returnValue(holder)
            if stat.ephemeralOwner == client.session_id:
                self._owner = client.session_id
                returnValue(value)
            # Our own address from a session we lost: take it back.
            try:
                yield client.delete(self.key)
            except DiscoveryError:
                failure = Failure()
                if not zk_error_is(failure, "NoNodeError"):
                    raise
        returnValue(None)

    @inlineCallbacks
    def renew(self):
        client = self.client
        if client is None or self._owner is None:
            raise LeadershipLost("no leader node held on %s" % (self.key,))
        stat = yield client.exists(self.key)
        if client.session_id != self._owner:
            raise LeadershipLost("the ZooKeeper session holding %s expired" % (self.key,))
        if stat is None or stat.ephemeralOwner != self._owner:
            raise LeadershipLost("%s is no longer held by this manager's session" % (self.key,))

    @inlineCallbacks
    def resign(self):
        from swarmd.discovery._errors import DiscoveryError

        owner, self._owner = self._owner, None
        client = self.client
        if owner is None or client is None or client.session_id != owner:
            return
        try:
            stat = yield client.exists(self.key)
            if stat is not None and stat.ephemeralOwner == owner:
                yield client.delete(self.key)
        except DiscoveryError:
            pass

    @inlineCallbacks
    def leader(self):
        from swarmd.discovery._errors import DiscoveryError

        client = self._client(20.0)
        try:
            data, _ = yield client.get(self.key)
        except DiscoveryError:
            failure = Failure()
            if zk_error_is(failure, "NoNodeError"):
                returnValue(None)
            raise
        returnValue(data.decode("utf-8", "replace"))

    def close(self):
        client, self.client = self.client, None
        if client is None:
            return succeed(None)
        return client.close()


@implementer(ILeaderStore)
class ConsulLeaderStore:
    """
    The leader key in Consul: acquired under a session of the TTL (behavior
    C{delete}, no lock delay), renewed with the session; Consul ends a
    session no sooner than its TTL after the last renewal, so counting the
    TTL from a renewal's sending is on the safe side.  Consul refuses
    sessions under 10 s.

    Tested against a fake that follows Consul's documented HTTP API, not a
    real Consul (none can be installed here).
    """

    def __init__(self, client, key):
        """
        @param client: the discovery's L{swarmd.discovery._consul.ConsulClient}
            (shared: not closed here).
        @param key: the leader key, without leading slash.
        """
        self.client = client
        self.key = key.lstrip("/")
        self.session = None

    @inlineCallbacks
    def _entry(self):
        entries, _ = yield self.client.list(self.key)
        for entry in entries:
            if entry.get("Key") == self.key:
                returnValue(entry)
        returnValue(None)

    @inlineCallbacks
    def acquire(self, value, ttl):
        from swarmd.discovery._errors import DiscoveryError

        if ttl < CONSUL_MIN_TTL:
            raise DiscoveryError("consul sessions last at least 10 s: "
                                 "--replication-ttl must be 10s or more")
        entry = yield self._entry()
        held = entry is not None and entry.get("Session")
        if held and entry.get("Value") != value:
            returnValue(entry.get("Value"))
        if held and held != self.session:
            # Our own address under a session we lost track of.
            yield self.client.destroy_session(held)
        session = yield self.client.create_session(math.ceil(ttl), behavior="delete",
                                                   lock_delay="0s")
        acquired = yield self.client.put(self.key, value, acquire=session)
        if acquired:
            self.session = session
            returnValue(value)
        yield self.client.destroy_session(session)
        entry = yield self._entry()
        returnValue(entry.get("Value") if entry is not None and entry.get("Session") else None)

    @inlineCallbacks
    def renew(self):
        session = self.session
        if session is None:
            raise LeadershipLost("no session holds %s" % (self.key,))
        alive = yield self.client.renew_session(session)
        if not alive:
            raise LeadershipLost("the consul session holding %s ended" % (self.key,))
        entry = yield self._entry()
        if entry is None or entry.get("Session") != session:
            raise LeadershipLost("%s is no longer held by this manager's session" % (self.key,))

    @inlineCallbacks
    def resign(self):
        session, self.session = self.session, None
        if session is not None:
            # Behavior "delete": the key goes with the session.
            yield self.client.destroy_session(session)

    @inlineCallbacks
    def leader(self):
        entry = yield self._entry()
        returnValue(entry.get("Value") if entry is not None and entry.get("Session") else None)

    def close(self):
        return succeed(None)


def leader_store_for(url, discovery):
    """
    The leader key in the store of a manager's discovery.

    @param url: the discovery URL (its prefix is the leader key's).
    @param discovery: the manager's L{IDiscovery} for C{url} (its store
        client is shared).
    @return: an L{ILeaderStore}.
    @raise NoLeaderStore: for a discovery without a store that can hold
        one (classic Swarm's message).
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("etcd", "zk", "consul"):
        raise NoLeaderStore(NOT_SUPPORTED)
    from swarmd.discovery._kv import parse_endpoints

    _, prefix = parse_endpoints(scheme, rest)
    key = leader_key(prefix)
    if scheme == "etcd":
        if getattr(discovery, "api", "v3") != "v3":
            raise NoLeaderStore("leader election needs etcd's v3 API, not etcd.api=v2")
        return EtcdLeaderStore(discovery.client, key)
    if scheme == "zk":
        from twisted.internet import reactor

        return ZKLeaderStore(discovery.endpoints, key, reactor, discovery.options)
    return ConsulLeaderStore(discovery.client, key)
