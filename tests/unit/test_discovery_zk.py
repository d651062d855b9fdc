"""
ZooKeeper discovery against a real ZooKeeper (Debian's zookeeper 3.8)
started on a loopback port: the conformance suite, ephemeral registration
that goes with its session and comes back after a session expiry, bad URLs.
"""

from __future__ import annotations

from urllib.parse import quote

from twisted.internet import reactor
from twisted.internet.task import Clock, deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.discovery import DiscoveryError, discovery_for
from swarmd.discovery._zk import ZKDiscovery
from swarmd.testing.conformance.discovery import make_idiscovery_tests
from swarmd.testing.kvstores.fixtures import real_source
from swarmd.testing.kvstores.zookeeper import start_zookeeper

DIRECTORY = "/swarmtest/docker/swarm/nodes"


def _zk_write(client):
    def write(entries):
        wanted = {quote(e, safe=":[]"): e for e in dict.fromkeys(entries)}
        client.ensure_path(DIRECTORY)
        held = set(client.get_children(DIRECTORY))
        transaction = client.transaction()
        for name in held - set(wanted):
            transaction.delete(DIRECTORY + "/" + name)
        for name, entry in wanted.items():
            if name in held:
                transaction.set_data(DIRECTORY + "/" + name, entry.encode())
            else:
                transaction.create(DIRECTORY + "/" + name, entry.encode())
        transaction.commit()
        return client.exists(DIRECTORY).cversion
    return write


def zk_fixture(testcase, entries):
    zk = start_zookeeper(testcase)
    write = _zk_write(zk.client(testcase))

    def make(address, clock):
        return ZKDiscovery([address], "swarmtest", 1.0, 4.0, (), clock, reactor=reactor)

    _, source = real_source(testcase, ("127.0.0.1", zk.port), entries, make, write)
    return source


class ZKConformanceTests(make_idiscovery_tests(zk_fixture, real=True)):
    """
    ZooKeeper discovery behaves as every IDiscovery does.
    """


class ZKURLTests(SynchronousTestCase):
    """
    zk:// URLs and options are checked before anything starts.
    """

    def test_layout(self):
        """
        Several hosts and a prefix are read; the znode is the address under
        the classic directory, a unix address percent-encoded.
        """
        provider = discovery_for("zk://127.0.0.1:2181,127.0.0.1:2182/swarm", clock=Clock())
        self.assertEqual(provider.endpoints, ["127.0.0.1:2181", "127.0.0.1:2182"])
        self.assertEqual(provider.node("10.0.0.1:2375"), "/swarm/docker/swarm/nodes/10.0.0.1:2375")
        self.assertEqual(provider.node("unix:///d.sock"),
                         "/swarm/docker/swarm/nodes/unix:%2F%2F%2Fd.sock")

    def test_unknown_option(self):
        """
        An unknown option is refused.
        """
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for("zk://127.0.0.1:2181/p", options=[("etcd.api", "v2")], clock=Clock())
        self.assertIn("unknown discovery option 'etcd.api' for zk discovery", str(caught.exception))

    def test_malformed(self):
        """
        A URL without host is refused with the expected form.
        """
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for("zk://", clock=Clock())
        self.assertIn("zk://host:port", str(caught.exception))


class ZKStoreTests(TestCase):
    """
    Ephemeral registrations against a real ZooKeeper.
    """

    def provider(self, address, ttl=4.0):
        provider = ZKDiscovery([address], "swarmtest", 1.0, ttl, (), Clock(), reactor=reactor)
        self.addCleanup(provider.close)
        return provider

    async def test_ephemeral(self):
        """
        A registration is an ephemeral znode of the session: it is listed,
        registering again keeps it, and it goes when the session closes.
        """
        zk = start_zookeeper(self)
        joiner = self.provider(zk.address)
        manager = self.provider(zk.address)
        await joiner.register("127.0.0.1:2375")
        await joiner.register("127.0.0.1:2375")
        self.assertEqual(await manager.fetch(), ["127.0.0.1:2375"])
        client = zk.client(self)
        stat = client.exists(DIRECTORY + "/127.0.0.1:2375")
        self.assertEqual(stat.ephemeralOwner, joiner.client.session_id)
        await joiner.close()
        self.assertEqual(await manager.fetch(), [])

    async def test_session_expiry_registers_again(self):
        """
        When the session expires (ZooKeeper drops it), the client gets a new
        one and the registration is made again without waiting for a beat.
        """
        zk = start_zookeeper(self)
        joiner = self.provider(zk.address, ttl=2.0)
        manager = self.provider(zk.address)
        await joiner.register("127.0.0.1:2375")
        old = joiner.client.session_id
        # Expire the session as ZooKeeper's tests do: a second client on the
        # same session ID and password, closed.
        from kazoo.client import KazooClient

        session_id, password = joiner.client._kazoo.client_id
        intruder = KazooClient(hosts=zk.address, client_id=(session_id, password))
        intruder.start(10)
        intruder.stop()
        intruder.close()
        for _ in range(300):
            if joiner.client.session_id not in (None, old) and \
                    await manager.fetch() == ["127.0.0.1:2375"]:
                break
            await deferLater(reactor, 0.05, lambda: None)
        self.assertNotEqual(joiner.client.session_id, old)
        self.assertEqual(await manager.fetch(), ["127.0.0.1:2375"])
        stat = zk.client(self).exists(DIRECTORY + "/127.0.0.1:2375")
        self.assertEqual(stat.ephemeralOwner, joiner.client.session_id)

    async def test_unreachable(self):
        """
        No ZooKeeper answering is one DiscoveryError.
        """
        from swarmd.testing.kvstores._process import free_port

        provider = self.provider(f"127.0.0.1:{free_port()}")
        provider.client.connect_timeout = 1.0
        try:
            await provider.client.connect(timeout=1.0)
        except DiscoveryError as e:
            self.assertIn("cannot reach zookeeper at 127.0.0.1:", str(e))
        else:
            self.fail("connect did not fail")
