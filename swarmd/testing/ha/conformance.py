"""
The L{ILeaderStore} conformance suite: every leader store provider (the
in-memory fake, etcd, ZooKeeper, Consul) passes the same tests.

    class EtcdLeaderStoreTests(make_ileaderstore_tests(EtcdFixture)):
        pass

A fixture is built with the test case; it has C{make_store()} (a new
manager's store on the same leader key, closed by the fixture), C{ttl}
(short, in seconds) and C{advance(seconds)} (a L{Deferred} firing once that
much time passed for the store: a L{Clock} advanced, or real time slept).
It may have C{silence(store)} and C{restore(store)}: cut that manager off
the store and let it back (a store whose client keeps its lease alive by
itself, as ZooKeeper's sessions do, lets the key go only then).
"""

from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from swarmd.ha import ILeaderStore, LeadershipLost

__all__ = ["make_ileaderstore_tests"]


def make_ileaderstore_tests(fixture_factory):
    """
    @param fixture_factory: called with the test case; returns the fixture.
    @return: a L{TestCase} subclass to inherit from.
    """

    class ILeaderStoreTests(TestCase):

        def setUp(self):
            self.fixture = fixture_factory(self)

        async def silence(self, store):
            silence = getattr(self.fixture, "silence", None)
            if silence is not None:
                await silence(store)

        async def restore(self, store):
            restore = getattr(self.fixture, "restore", None)
            if restore is not None:
                await restore(store)

        def test_interface(self):
            """The store provides ILeaderStore."""
            self.assertTrue(verifyObject(ILeaderStore, self.fixture.make_store()))

        async def test_free_key_is_taken(self):
            """The first manager to campaign for a free key holds it."""
            store = self.fixture.make_store()
            self.assertEqual(await store.acquire("10.0.0.1:2375", self.fixture.ttl),
                             "10.0.0.1:2375")
            self.assertEqual(await store.leader(), "10.0.0.1:2375")

        async def test_held_key_names_holder(self):
            """A second manager is told who holds the key, and does not get it."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            await first.acquire("a:1", self.fixture.ttl)
            self.assertEqual(await second.acquire("b:2", self.fixture.ttl), "a:1")
            self.assertEqual(await second.leader(), "a:1")

        async def test_renew_keeps_key(self):
            """Renewals keep the key past its TTL."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            ttl = self.fixture.ttl
            await first.acquire("a:1", ttl)
            for _ in range(3):
                await self.fixture.advance(ttl / 2.0)
                await first.renew()
            self.assertEqual(await second.acquire("b:2", ttl), "a:1")

        async def test_lease_expires(self):
            """Without renewals the key is freed after its TTL and another manager takes it."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            ttl = self.fixture.ttl
            await first.acquire("a:1", ttl)
            await self.silence(first)
            await self.fixture.advance(ttl * 2.5)
            self.assertEqual(await second.acquire("b:2", ttl), "b:2")

        async def test_renew_after_loss_fails(self):
            """A manager whose lease expired and whose key was taken cannot renew it."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            ttl = self.fixture.ttl
            await first.acquire("a:1", ttl)
            await self.silence(first)
            await self.fixture.advance(ttl * 2.5)
            await second.acquire("b:2", ttl)
            await self.restore(first)
            with self.assertRaises(LeadershipLost):
                await first.renew()
            self.assertEqual(await first.leader(), "b:2")

        async def test_resign_frees_key(self):
            """Resigning frees the key at once for another manager."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            await first.acquire("a:1", self.fixture.ttl)
            await first.resign()
            self.assertIsNone(await second.leader())
            self.assertEqual(await second.acquire("b:2", self.fixture.ttl), "b:2")

        async def test_resign_of_non_holder_keeps_key(self):
            """A manager that does not hold the key resigning leaves the holder alone."""
            first, second = self.fixture.make_store(), self.fixture.make_store()
            await first.acquire("a:1", self.fixture.ttl)
            await second.acquire("b:2", self.fixture.ttl)
            await second.resign()
            self.assertEqual(await second.leader(), "a:1")

        async def test_own_value_taken_back(self):
            """A key holding this manager's own address (a lease it lost track of) is taken back."""
            first, again = self.fixture.make_store(), self.fixture.make_store()
            await first.acquire("a:1", self.fixture.ttl)
            self.assertEqual(await again.acquire("a:1", self.fixture.ttl), "a:1")
            await again.renew()
            self.assertEqual(await again.leader(), "a:1")

    return ILeaderStoreTests
