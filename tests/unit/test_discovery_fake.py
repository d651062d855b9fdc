"""
Tests for L{swarmd.testing.fakediscovery.FakeDiscovery}: it passes the same
suite as the real providers, and its test handles work.
"""

from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from swarmd.discovery import DiscoveryError, DiscoveryNotSupported
from swarmd.testing.conformance.discovery import DiscoverySource, make_idiscovery_tests
from swarmd.testing.fakediscovery import FakeDiscovery


def fake_fixture(testcase, entries):
    """
    A FakeDiscovery on a Clock, holding C{entries}.
    """
    clock = Clock()
    fake = FakeDiscovery(entries, clock=clock)
    return DiscoverySource(
        provider=fake, clock=clock, change=fake.set_entries,
        fail_reads=lambda: fake.fail("source down"), can_register=True,
    )


def clockless_fixture(testcase, entries):
    """
    A FakeDiscovery without a clock (first callback inside watch), holding
    C{entries}.
    """
    fake = FakeDiscovery(entries)
    return DiscoverySource(
        provider=fake, clock=Clock(), change=fake.set_entries,
        fail_reads=lambda: fake.fail(DiscoveryError("source down")), can_register=True,
    )


def unregistering_fixture(testcase, entries):
    """
    A FakeDiscovery that cannot register, like a static provider.
    """
    clock = Clock()
    fake = FakeDiscovery(entries, clock=clock, can_register=False)
    return DiscoverySource(
        provider=fake, clock=clock, change=fake.set_entries,
        fail_reads=lambda: fake.fail("source down"),
    )


class FakeConformanceTests(make_idiscovery_tests(fake_fixture)):
    """
    FakeDiscovery on a clock passes the IDiscovery suite.
    """


class ClocklessFakeConformanceTests(make_idiscovery_tests(clockless_fixture)):
    """
    FakeDiscovery without a clock passes the IDiscovery suite.
    """


class UnregisteringFakeConformanceTests(make_idiscovery_tests(unregistering_fixture)):
    """
    FakeDiscovery with can_register=False passes the IDiscovery suite.
    """


class FakeDiscoveryTests(SynchronousTestCase):
    """
    The handles FakeDiscovery gives tests.
    """

    def setUp(self):
        self.clock = Clock()
        self.fake = FakeDiscovery(["127.0.0.1:2375"], clock=self.clock)
        self.lists = []
        self.failures = []

    def watch(self):
        return self.fake.watch(self.lists.append, self.failures.append)

    def test_clockless_calls_back_inside_watch(self):
        """
        Without a clock, the first callback comes inside watch().
        """
        fake = FakeDiscovery(["127.0.0.1:2375"])
        fake.watch(self.lists.append, self.failures.append)
        self.assertEqual(self.lists, [["127.0.0.1:2375"]])

    def test_clock_defers_first_callback(self):
        """
        With a clock, the first callback waits for its next turn.
        """
        self.watch()
        self.assertEqual(self.lists, [])
        self.clock.advance(0)
        self.assertEqual(self.lists, [["127.0.0.1:2375"]])

    def test_set_entries_pushes_at_once(self):
        """
        set_entries calls watchers back at once, de-duplicated.
        """
        self.watch()
        self.clock.advance(0)
        self.fake.set_entries(["a:1", "b:2", "a:1"])
        self.assertEqual(self.lists, [["127.0.0.1:2375"], ["a:1", "b:2"]])
        self.assertEqual(self.fake.entries, ["a:1", "b:2"])

    def test_set_entries_before_first_callback(self):
        """
        A change before the first callback is delivered as the first list,
        once.
        """
        self.watch()
        self.fake.set_entries(["a:1"])
        self.clock.advance(0)
        self.assertEqual(self.lists, [["a:1"]])

    def test_fail_reasons(self):
        """
        fail takes a message (wrapped in DiscoveryError), an exception or a
        Failure, and fetch fails with it until set_entries.
        """
        self.watch()
        self.clock.advance(0)
        self.fake.fail("etcd is down")
        self.fake.fail(RuntimeError("boom"))
        self.fake.fail(Failure(DiscoveryNotSupported("nope")))
        self.assertEqual(
            [(f.type, f.getErrorMessage()) for f in self.failures],
            [(DiscoveryError, "etcd is down"), (RuntimeError, "boom"),
             (DiscoveryNotSupported, "nope")],
        )
        self.failureResultOf(self.fake.fetch(), DiscoveryNotSupported)
        self.fake.set_entries(["a:1"])
        self.assertEqual(self.successResultOf(self.fake.fetch()), ["a:1"])

    def test_watching(self):
        """
        watching counts running watches.
        """
        first, second = self.watch(), self.watch()
        self.assertEqual(self.fake.watching, 2)
        first.stop()
        first.stop()
        self.assertEqual(self.fake.watching, 1)
        second.stop()
        self.assertEqual(self.fake.watching, 0)

    def test_register_records(self):
        """
        register records each address and fires with None.
        """
        self.assertIsNone(self.successResultOf(self.fake.register("10.0.0.1:2375")))
        self.successResultOf(self.fake.register("10.0.0.1:2375"))
        self.assertEqual(self.fake.registered, ["10.0.0.1:2375", "10.0.0.1:2375"])

    def test_register_error(self):
        """
        register fails with register_error when it is set, still recording.
        """
        self.fake.register_error = DiscoveryError("etcd is down")
        failure = self.failureResultOf(self.fake.register("10.0.0.1:2375"), DiscoveryError)
        self.assertEqual(failure.getErrorMessage(), "etcd is down")
        self.assertEqual(self.fake.registered, ["10.0.0.1:2375"])

    def test_cannot_register(self):
        """
        With can_register false, register fails with DiscoveryNotSupported.
        """
        self.fake.can_register = False
        self.failureResultOf(self.fake.register("10.0.0.1:2375"), DiscoveryNotSupported)

    def test_scheme(self):
        """
        The scheme can be chosen, e.g. to stand in for etcd.
        """
        self.assertEqual(FakeDiscovery(scheme="etcd").scheme, "etcd")
        self.assertEqual(self.fake.scheme, "fake")
