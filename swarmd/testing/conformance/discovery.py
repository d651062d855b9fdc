"""
The conformance suite every L{IDiscovery} provider must pass, built from a
fixture describing one provider's source (L{DiscoverySource});
L{swarmd.testing.fakediscovery.FakeDiscovery} passes it too, so it stays
honest.
"""

from __future__ import annotations

from collections.abc import Callable

import attr
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from swarmd.discovery import (
    DiscoveryError,
    DiscoveryNotSupported,
    IDiscovery,
    IDiscoveryWatch,
)

__all__ = ["CHANGED", "ENTRIES", "DiscoverySource", "make_idiscovery_tests"]


@attr.s(auto_attribs=True, kw_only=True, frozen=True)
class DiscoverySource:
    """
    What a fixture of L{make_idiscovery_tests} sets up: a provider over a
    source holding the requested entries, and handles on that source.

    @ivar provider: the L{IDiscovery} under test.
    @ivar clock: the L{Clock} the provider schedules on.
    @ivar change: called with a new address list, makes the source hold
        it (and recover if it was failing); L{None} for a static source,
        whose change tests are then skipped.
    @ivar fail_reads: makes the source's reads fail until the next
        C{change}; L{None} if the source cannot fail, whose failure tests
        are then skipped.
    @ivar poll: seconds of C{clock} after which a watch sees a change (the
        heartbeat of a polling provider; 0 for one that pushes).
    @ivar can_register: whether C{register} is expected to work;
        otherwise it must fail with L{DiscoveryNotSupported}.
    @ivar synced: for a provider doing real I/O (a real store): returns
        whether every running watch of the provider has seen what the
        source holds now (its last change, or its failure).  The suite
        then runs the reactor (and fast-forwards C{clock}) until it does,
        instead of expecting everything to happen on C{clock} alone.
    @ivar key_order: the source lists entries in key order (a key-value
        store): expected lists are sorted.
    """

    provider: object
    clock: Clock
    change: Callable[[list], None] | None = None
    fail_reads: Callable[[], None] | None = None
    poll: float = 0.0
    can_register: bool = False
    synced: Callable[[], bool] | None = None
    key_order: bool = False


#: The entries the suite asks fixtures for: canonical, one of each kind.
ENTRIES = ["127.0.0.1:2375", "[::1]:2376", "unix:///var/run/docker.sock"]

#: What the suite changes sources to.
CHANGED = ["127.0.0.1:2376", "127.0.0.1:2375"]


class _Recorder:
    """
    A watcher that records what it is given.
    """

    def __init__(self):
        self.lists = []
        self.failures = []

    def callback(self, entries):
        self.lists.append(entries)

    def errback(self, failure):
        self.failures.append(failure)


class _DiscoveryCase:
    """
    What the tests stand on: the source from the fixture, and ways to
    let it settle and watch it.

    @ivar _fixture: the suite's fixture (see L{make_idiscovery_tests}).
    """

    _fixture = None
    _source = None

    async def source(self, entries=ENTRIES):
        source = self._fixture(self, list(entries))
        if isinstance(source, Deferred):
            source = await source
        self._source = source
        return source

    def expect(self, entries):
        """
        @return: C{entries} as the source lists them.
        """
        if self._source is not None and self._source.key_order:
            return sorted(entries)
        return list(entries)

    async def settle(self, source, rounds=1):
        """
        Let C{rounds} polls of C{source} happen (and, for a real
        source, its watches catch up).
        """
        source.clock.advance(0)
        for _ in range(rounds):
            source.clock.advance(source.poll)
            if source.synced is not None:
                await _caught_up(source)

    def watch(self, source):
        recorder = _Recorder()
        watch = source.provider.watch(recorder.callback, recorder.errback)
        return recorder, watch

    def needs_change(self, source):
        self.assertIsNotNone(
            source.change, "the fixture of a changing source must give change(); "
            "pass static=True for a provider whose source never changes")

    def needs_failure(self, source):
        self.assertIsNotNone(
            source.fail_reads, "the fixture of a source that can fail must give "
            "fail_reads(); pass static=True for one that cannot")


class _FetchTests:
    """
    fetch, watch and register.
    """

    async def test_interface(self):
        """
        The provider provides IDiscovery.
        """
        self.assertTrue(verifyObject(IDiscovery, (await self.source()).provider))

    async def test_scheme(self):
        """
        The provider names its URL scheme.
        """
        scheme = (await self.source()).provider.scheme
        self.assertIsInstance(scheme, str)
        self.assertTrue(scheme)

    async def test_fetch(self):
        """
        fetch fires with the source's entries, in order.
        """
        source = await self.source()
        self.assertEqual((await source.provider.fetch()), ENTRIES)

    async def test_fetch_deduplicates(self):
        """
        fetch lists each address once, where it first appears.
        """
        source = await self.source(ENTRIES + ENTRIES[:1] + ENTRIES[1:2])
        self.assertEqual((await source.provider.fetch()), ENTRIES)

    async def test_fetch_copies(self):
        """
        Changing a fetched list does not change what the provider holds.
        """
        source = await self.source()
        (await source.provider.fetch()).append("10.9.9.9:2375")
        self.assertEqual((await source.provider.fetch()), ENTRIES)

    async def test_watch_returns_watch(self):
        """
        watch returns an IDiscoveryWatch.
        """
        source = await self.source()
        _, watch = self.watch(source)
        self.addCleanup(watch.stop)
        self.assertTrue(verifyObject(IDiscoveryWatch, watch))

    async def test_watch_calls_back(self):
        """
        A watch calls back with the entries once the clock turns.
        """
        source = await self.source()
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        self.assertEqual(recorder.lists, [ENTRIES])
        self.assertEqual(recorder.failures, [])

    async def test_watch_once_while_unchanged(self):
        """
        An unchanged source gives no callback after the first.
        """
        source = await self.source()
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source, rounds=5)
        source.clock.advance(3600)
        self.assertEqual(recorder.lists, [ENTRIES])

    async def test_register(self):
        """
        register fires with None where supported, else fails with
        DiscoveryNotSupported.
        """
        source = await self.source()
        d = source.provider.register("127.0.0.1:2375")
        if source.can_register:
            self.assertIsNone(await d)
        else:
            await _fails(d, DiscoveryNotSupported)


class _StopTests:
    """
    Stopping watches, and errors of callbacks.
    """

    async def test_stop_before_first_callback(self):
        """
        A watch stopped at once never calls back.
        """
        source = await self.source()
        recorder, watch = self.watch(source)
        recorder.lists.clear()  # a clockless provider may call back inside watch
        watch.stop()
        await self.settle(source, rounds=3)
        self.assertEqual((recorder.lists, recorder.failures), ([], []))

    async def test_stop_twice(self):
        """
        Stopping a watch twice is harmless.
        """
        source = await self.source()
        _, watch = self.watch(source)
        await self.settle(source)
        watch.stop()
        watch.stop()

    async def test_stop_inside_callback(self):
        """
        A watch stopped by its own callback stops cleanly and calls
        back no more.
        """
        source = await self.source()
        lists = []
        watches = []

        def callback(entries):
            lists.append(entries)
            if watches:
                watches[0].stop()

        before = len(source.clock.getDelayedCalls())
        watches.append(source.provider.watch(callback, lambda failure: None))
        if lists:
            # Called back inside watch(), before the watch was known.
            watches[0].stop()
        await self.settle(source)
        if source.change is not None:
            source.change(CHANGED)
            await self.settle(source, rounds=2)
        self.assertEqual(lists, [ENTRIES])
        self.assertEqual(len(source.clock.getDelayedCalls()), before)

    async def test_stop_leaves_no_timers(self):
        """
        A stopped watch leaves nothing scheduled on the clock.
        """
        source = await self.source()
        before = len(source.clock.getDelayedCalls())
        _, watch = self.watch(source)
        await self.settle(source)
        self.assertFalse(watch.failing)
        watch.stop()
        self.assertEqual(len(source.clock.getDelayedCalls()), before)

    async def test_callback_error_contained(self):
        """
        A callback that raises is logged; the error does not reach the
        clock and the watch goes on.
        """
        source = await self.source()
        lists = []

        def callback(entries):
            lists.append(entries)
            raise ZeroDivisionError("watcher bug")

        watch = source.provider.watch(callback, lambda failure: None)
        self.addCleanup(watch.stop)
        await self.settle(source)
        self.assertEqual(lists, [ENTRIES])
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        if source.change is not None:
            source.change(CHANGED)
            await self.settle(source)
            self.assertEqual(lists, [ENTRIES, self.expect(CHANGED)])
            self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)


class _ChangeTests:
    """
    A source that changes and fails (skipped for a static one).
    """

    async def test_change_calls_back(self):
        """
        A change of the source reaches the watch within one poll.
        """
        source = await self.source()
        self.needs_change(source)
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        source.change(CHANGED)
        await self.settle(source)
        self.assertEqual(recorder.lists, [ENTRIES, self.expect(CHANGED)])

    async def test_change_seen_by_fetch(self):
        """
        fetch answers the changed list.
        """
        source = await self.source()
        self.needs_change(source)
        source.change(CHANGED)
        self.assertEqual((await source.provider.fetch()), self.expect(CHANGED))

    async def test_same_entries_no_callback(self):
        """
        Rewriting the source with the same list gives no callback.
        """
        source = await self.source()
        self.needs_change(source)
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        source.change(ENTRIES + ENTRIES[:1])
        await self.settle(source, rounds=3)
        self.assertEqual(recorder.lists, [ENTRIES])

    async def test_stop_prevents_change_callbacks(self):
        """
        After stop, changes of the source are not called back.
        """
        source = await self.source()
        self.needs_change(source)
        recorder, watch = self.watch(source)
        await self.settle(source)
        watch.stop()
        source.change(CHANGED)
        await self.settle(source, rounds=3)
        self.assertEqual(recorder.lists, [ENTRIES])

    async def test_watches_independent(self):
        """
        Stopping one watch does not stop another on the same provider.
        """
        source = await self.source()
        self.needs_change(source)
        first, first_watch = self.watch(source)
        second, second_watch = self.watch(source)
        self.addCleanup(second_watch.stop)
        await self.settle(source)
        first_watch.stop()
        source.change(CHANGED)
        await self.settle(source)
        self.assertEqual(first.lists, [ENTRIES])
        self.assertEqual(second.lists, [ENTRIES, self.expect(CHANGED)])

    async def test_fetch_fails(self):
        """
        fetch fails with DiscoveryError while the source cannot be read.
        """
        source = await self.source()
        self.needs_failure(source)
        source.fail_reads()
        await _fails(source.provider.fetch(), DiscoveryError)

    async def test_errback_then_recovery(self):
        """
        A failed read goes to the errback; the watch goes on and calls
        back once the source holds a new list.
        """
        source = await self.source()
        self.needs_failure(source)
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        source.fail_reads()
        await self.settle(source)
        self.assertTrue(recorder.failures)
        for failure in recorder.failures:
            self.assertTrue(failure.check(DiscoveryError), failure)
        self.assertEqual(recorder.lists, [ENTRIES])
        self.assertTrue(watch.failing)
        if source.change is not None:
            source.change(CHANGED)
            await self.settle(source)
            self.assertEqual(recorder.lists, [ENTRIES, self.expect(CHANGED)])
            self.assertFalse(watch.failing)

    async def test_recovery_same_entries_no_callback(self):
        """
        A source that recovers with the list it had before failing
        gives no callback.
        """
        source = await self.source()
        self.needs_failure(source)
        self.needs_change(source)
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        source.fail_reads()
        await self.settle(source)
        self.assertTrue(watch.failing)
        source.change(ENTRIES)
        await self.settle(source, rounds=2)
        self.assertEqual(recorder.lists, [ENTRIES])
        self.assertTrue(recorder.failures)
        self.assertFalse(watch.failing, "recovered with the same list, still failing")

    async def test_failure_first_then_entries(self):
        """
        A source failing from the start errbacks; its first good read
        is then called back.
        """
        source = await self.source()
        self.needs_failure(source)
        self.needs_change(source)
        source.fail_reads()
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        self.assertEqual(recorder.lists, [])
        self.assertTrue(recorder.failures)
        source.change(ENTRIES)
        await self.settle(source)
        self.assertEqual(recorder.lists, [ENTRIES])


class _StaticTests:
    """
    A static source (C{nodes://}): never changes, never fails.
    """

    async def test_static_source_stays(self):
        """
        A static source calls back once, never again however long one
        waits, and fetch keeps answering the same list.
        """
        source = await self.source()
        recorder, watch = self.watch(source)
        self.addCleanup(watch.stop)
        await self.settle(source)
        source.clock.advance(24 * 3600)
        self.assertEqual(recorder.lists, [ENTRIES])
        self.assertEqual(recorder.failures, [])
        self.assertEqual((await source.provider.fetch()), ENTRIES)
        self.assertIsNone(source.change)
        self.assertIsNone(source.fail_reads)


def make_idiscovery_tests(fixture, static=False, real=False):
    """
    Build the conformance suite of L{IDiscovery}.

    @param fixture: called as C{fixture(testcase, entries)} with a
        L{SynchronousTestCase} (for C{mktemp}, C{addCleanup}) and a C{list}
        of address strings, maybe with duplicates; returns a
        L{DiscoverySource} whose source holds those entries.
    @param static: the provider's source never changes and cannot fail
        (C{nodes://}): the suite then checks that contract instead of the
        change and failure behaviour, rather than skipping those tests.
    @param real: the provider talks to a real server: the suite is then a
        L{TestCase} whose tests run the reactor, the fixture may return a
        L{Deferred}, and its source gives C{synced}.  Otherwise every
        test runs synchronously on the source's L{Clock}.
    @return: a L{SynchronousTestCase} subclass; subclass it in a test
        module to run it.
    """

    groups = (_FetchTests, _StopTests) + ((_StaticTests,) if static else (_ChangeTests,))

    class IDiscoveryTests(*groups, _DiscoveryCase, TestCase if real else SynchronousTestCase):
        """
        Behaviour every L{IDiscovery} provider shows.
        """

        _fixture = staticmethod(fixture)

    for name in [n for n in dir(IDiscoveryTests) if n.startswith("test_")]:
        setattr(IDiscoveryTests, name, _runner(getattr(IDiscoveryTests, name), real))
    return IDiscoveryTests


def _runner(test, real):
    """
    Make a test method of a coroutine function: on the reactor for a real
    source, else run to its end at once (everything it awaits must have
    fired: a provider on a L{Clock} answers synchronously).
    """

    if real:
        def run(self):
            return ensureDeferred(test(self))
    else:
        def run(self):
            results = []
            d = ensureDeferred(test(self))
            d.addBoth(results.append)
            if not results:
                d.cancel()
                self.fail(f"{test.__name__} waited for something the clock never gave")
            if isinstance(results[0], Failure):
                results[0].raiseException()

    run.__name__ = test.__name__
    run.__doc__ = test.__doc__
    return run


async def _fails(d, *types):
    """
    Await C{d}, which must fail with one of C{types}.

    @return: the L{Failure}.
    """
    try:
        result = await d
    except Exception:  # noqa: BLE001 - checked below
        failure = Failure()
        if failure.check(*types):
            return failure
        raise
    raise AssertionError(f"expected a failure of {types}, got {result!r}")


#: Seconds a real source may take to catch up before the test fails.
SYNC_TIMEOUT = 30.0


async def _caught_up(source):
    """
    Run the reactor until C{source.synced()}, fast-forwarding the source's
    clock (retries, back-offs) whenever nothing else is left to wait for.
    """
    from twisted.internet import reactor
    from twisted.internet.task import deferLater

    waited = 0.0
    step = 0.01
    while not source.synced():
        if waited > SYNC_TIMEOUT:
            raise AssertionError(f"{source.provider!r} did not catch up with its source "
                                 f"in {SYNC_TIMEOUT}s")
        await deferLater(reactor, step, lambda: None)
        waited += step
        calls = source.clock.getDelayedCalls()
        if calls:
            due = min(call.getTime() for call in calls)
            source.clock.advance(max(0.0, due - source.clock.seconds()))
