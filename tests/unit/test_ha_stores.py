"""
The leader key in real stores: L{swarmd.ha.stores} providers pass the
L{ILeaderStore} suite against a real etcd (and the other stores) started on
loopback ports.
"""

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from swarmd.discovery._etcd_client import EtcdV3Client
from swarmd.ha.stores import (
    NOT_SUPPORTED,
    EtcdLeaderStore,
    NoLeaderStore,
    leader_key,
    leader_store_for,
)
from swarmd.testing.ha.conformance import make_ileaderstore_tests
from swarmd.testing.kvstores.etcd import start_etcd


class _EtcdFixture:
    """
    One real etcd for the test; every store a manager of its own (its own
    client, so its own connections).
    """

    ttl = 2.0

    def __init__(self, testcase):
        self.testcase = testcase
        self.etcd = start_etcd(testcase)

    def make_store(self):
        client = EtcdV3Client([self.etcd.address], reactor)
        store = EtcdLeaderStore(client, leader_key("ha-test"), owns_client=True)
        self.testcase.addCleanup(store.close)
        return store

    def advance(self, seconds):
        return deferLater(reactor, seconds, lambda: None)


class EtcdLeaderStoreTests(make_ileaderstore_tests(_EtcdFixture)):
    """etcd v3's leader key passes the ILeaderStore suite against a real etcd."""

    async def test_key_layout(self):
        """The key is classic Swarm's <prefix>/docker/swarm/leader, holding the address."""
        store = self.fixture.make_store()
        await store.acquire("10.1.2.3:3376", self.fixture.ttl)
        import base64

        answer = self.fixture.etcd.call("/v3/kv/range", {
            "key": base64.b64encode(b"/ha-test/docker/swarm/leader").decode()})
        self.assertEqual(base64.b64decode(answer["kvs"][0]["value"]), b"10.1.2.3:3376")
        self.assertEqual(int(answer["kvs"][0]["lease"]), store.lease)

    async def test_deleted_key_is_lost_leadership(self):
        """A key deleted behind the primary's back makes its next renewal fail."""
        from swarmd.ha import LeadershipLost

        store = self.fixture.make_store()
        await store.acquire("a:1", self.fixture.ttl)
        import base64

        self.fixture.etcd.call("/v3/kv/deleterange", {
            "key": base64.b64encode(b"/ha-test/docker/swarm/leader").decode()})
        with self.assertRaises(LeadershipLost):
            await store.renew()


class LeaderStoreForTests(TestCase):
    """
    Which discoveries can hold a leader key.
    """

    def test_static_discoveries_refused(self):
        """nodes:// and file:// get classic Swarm's refusal."""
        for url in ("nodes://127.0.0.1:2375", "file:///etc/cluster", "127.0.0.1:2375"):
            with self.assertRaises(NoLeaderStore) as caught:
                leader_store_for(url, object())
            self.assertEqual(str(caught.exception), NOT_SUPPORTED)

    def test_etcd_v2_refused(self):
        """etcd's v2 API cannot hold the v3 lease the election needs."""
        class V2:
            api = "v2"
        with self.assertRaises(NoLeaderStore):
            leader_store_for("etcd://127.0.0.1:2379/p", V2())

    def test_etcd_key(self):
        """The etcd store's key sits under the discovery's prefix."""
        class V3:
            api = "v3"
            client = object()
        store = leader_store_for("etcd://127.0.0.1:2379/swarm", V3())
        self.assertEqual(store.key, "/swarm/docker/swarm/leader")
        store = leader_store_for("etcd://127.0.0.1:2379", V3())
        self.assertEqual(store.key, "/docker/swarm/leader")


class _ZKFixture:
    """
    One real ZooKeeper; every store a manager with its own session.
    """

    ttl = 2.0

    def __init__(self, testcase):
        from swarmd.testing.kvstores.zookeeper import start_zookeeper

        self.testcase = testcase
        self.zk = start_zookeeper(testcase)

    def make_store(self):
        from swarmd.ha.stores import ZKLeaderStore
        from swarmd.testing.kvstores.proxy import CutProxy

        # Each manager reaches ZooKeeper through a proxy that can cut it off.
        host, port = self.zk.address.split(":")
        proxy = CutProxy((host, int(port))).start()
        self.testcase.addCleanup(proxy.stop)
        store = ZKLeaderStore([proxy.address], leader_key("ha-test"), reactor)
        store.proxy = proxy
        self.testcase.addCleanup(store.close)
        return store

    def silence(self, store):
        store.proxy.cut()
        return deferLater(reactor, 0, lambda: None)

    def restore(self, store):
        store.proxy.restore()
        return deferLater(reactor, 0, lambda: None)

    def advance(self, seconds):
        return deferLater(reactor, seconds, lambda: None)


class ZKLeaderStoreTests(make_ileaderstore_tests(_ZKFixture)):
    """ZooKeeper's leader node passes the ILeaderStore suite against a real ZooKeeper."""

    async def test_node_is_ephemeral_with_address(self):
        """The key is an ephemeral znode at <prefix>/docker/swarm/leader holding the address."""
        store = self.fixture.make_store()
        await store.acquire("10.1.2.3:3376", self.fixture.ttl)
        client = self.fixture.zk.client(self)
        data, stat = client.get("/ha-test/docker/swarm/leader")
        self.assertEqual(data, b"10.1.2.3:3376")
        self.assertNotEqual(stat.ephemeralOwner, 0)

    async def test_short_granted_session_refused(self):
        """A server granting a shorter session than the TTL makes the campaign fail, saying so."""
        from swarmd.discovery._errors import DiscoveryError

        store = self.fixture.make_store()
        # The test server caps sessions at 600 s: ask for more.
        with self.assertRaises(DiscoveryError) as caught:
            await store.acquire("a:1", 900.0)
        self.assertIn("shorter than --replication-ttl", str(caught.exception))


class _ConsulFixture:
    """
    The fake Consul (Consul's documented HTTP API; no real Consul can be
    installed here), its sessions on a Clock, served over loopback.
    """

    ttl = 10.0

    def __init__(self, testcase):
        from twisted.internet.task import Clock

        from swarmd.testing.kvstores.consul import FakeConsul

        self.testcase = testcase
        self.clock = Clock()
        self.consul = FakeConsul(self.clock)
        self.port = self.consul.listen(reactor)
        testcase.addCleanup(self.consul.stop)

    def make_store(self):
        from swarmd.discovery._consul import ConsulClient
        from swarmd.ha.stores import ConsulLeaderStore

        client = ConsulClient(["127.0.0.1:%d" % (self.port,)], reactor)
        self.testcase.addCleanup(client.close)
        return ConsulLeaderStore(client, leader_key("ha-test"))

    def advance(self, seconds):
        self.clock.advance(seconds)
        return deferLater(reactor, 0, lambda: None)


class ConsulLeaderStoreTests(make_ileaderstore_tests(_ConsulFixture)):
    """Consul's leader key passes the ILeaderStore suite against the fake Consul."""

    async def test_key_holds_address_under_session(self):
        """The key is <prefix>/docker/swarm/leader, its value the address, locked by a session."""
        store = self.fixture.make_store()
        await store.acquire("10.1.2.3:3376", self.fixture.ttl)
        entry = self.fixture.consul.kv["ha-test/docker/swarm/leader"]
        self.assertEqual((entry["Value"], entry["Session"]), ("10.1.2.3:3376", store.session))

    async def test_short_ttl_refused(self):
        """A TTL under Consul's 10 s minimum is refused with a clear message."""
        from swarmd.discovery._errors import DiscoveryError

        with self.assertRaises(DiscoveryError) as caught:
            await self.fixture.make_store().acquire("a:1", 5.0)
        self.assertIn("at least 10 s", str(caught.exception))
