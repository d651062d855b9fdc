"""
Tests for L{swarmd.cluster.engine}: states, failure counting, the refresh
loop's timing and backoff, and event-driven refreshes, with a L{Clock}.
"""

import random

from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster._events_follower import time_to_since
from swarmd.cluster.engine import (
    HEALTHY,
    PENDING,
    SPEC_FIELDS,
    SPEC_UPDATE_INTERVAL,
    UNHEALTHY,
    Engine,
    EngineListener,
    EngineOptions,
)
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.testing.stubengine import StubClient, inspect


class RecordingListener(EngineListener):
    def __init__(self):
        self.states = []
        self.events = []
        self.changes = []

    def engine_state_changed(self, engine, old, new):
        self.states.append((old, new))

    def engine_event(self, engine, event):
        self.events.append(event)

    def container_changed(self, engine, old, new):
        self.changes.append((old and old.id, new and new.id))


def make_engine(client=None, **options):
    client = client or StubClient()
    clock = Clock()
    listener = RecordingListener()
    opts = EngineOptions(**dict(dict(refresh_min=30.0, refresh_max=60.0, failure_retry=3),
                                **options))
    engine = Engine(client, clock, opts, listener=listener, random=random.Random(7))
    return engine, client, clock, listener


class ConnectTests(SynchronousTestCase):
    """
    The first connection.
    """

    def test_connect_loads_state_and_turns_healthy(self):
        """A reachable engine goes pending -> healthy with specs, labels and containers loaded."""
        engine, client, clock, listener = make_engine()
        client.containers["c1"] = inspect("c1", "web")
        self.assertEqual(engine.state, PENDING)
        result = self.successResultOf(engine.start())
        self.assertTrue(result)
        self.assertEqual(engine.state, HEALTHY)
        self.assertEqual(engine.id, "ID-n1|127.0.0.1:2375")
        self.assertEqual(engine.name, "n1")
        self.assertEqual(engine.labels, {
            "node": "n1", "storage": "ssd", "storagedriver": "overlay2",
            "kernelversion": "6.1", "operatingsystem": "Debian", "ostype": "linux"})
        self.assertEqual(list(engine.containers), ["c1"])
        self.assertEqual(engine.images[0]["RepoTags"], ["busybox:latest"])
        self.assertEqual(listener.states, [(PENDING, HEALTHY)])
        self.assertEqual([e["Action"] for e in listener.events], ["engine_connect"])
        engine.stop()

    def test_events_resume_from_engine_time(self):
        """The events stream opens from the engine's own clock before the first listing."""
        engine, client, clock, listener = make_engine()
        self.successResultOf(engine.start())
        self.assertEqual(client.streams[0].since, "1795860000.500000000")
        engine.stop()

    def test_unreachable_stays_pending(self):
        """An engine that cannot be reached stays pending, with the error recorded."""
        client = StubClient()
        client.down = True
        engine, client, clock, listener = make_engine(client)
        self.assertFalse(self.successResultOf(engine.start()))
        self.assertEqual(engine.state, PENDING)
        self.assertIn("connection refused", engine.error)
        self.assertEqual(listener.events, [])
        engine.stop()

    def test_pending_retried_by_refresh_loop(self):
        """A pending engine is connected by a later run of the refresh loop."""
        client = StubClient()
        client.down = True
        engine, client, clock, listener = make_engine(client)
        engine.start()
        client.down = False
        clock.advance(60 * 4)
        self.assertEqual(engine.state, HEALTHY)
        engine.stop()


class SpecsTests(SynchronousTestCase):
    """
    Re-reads of an engine's specs (C{GET /info}).
    """

    def test_same_specs_change_nothing(self):
        """
        A re-read whose kept fields are the same (the engine's clock and
        counts moved) keeps the engine's revisions and its kept info.
        """
        engine, client, clock, listener = make_engine()
        self.successResultOf(engine.start())
        revisions, info = (engine.revision, engine.specs_revision), engine.info
        client.info_answer = dict(client.info_answer, SystemTime="2026-11-28T10:05:00Z",
                                  Containers=12, NGoroutines=80)
        self.successResultOf(engine.update_specs())
        self.assertEqual((engine.revision, engine.specs_revision), revisions)
        self.assertIs(engine.info, info)
        self.assertEqual(set(engine.info), set(SPEC_FIELDS) & set(client.info_answer))
        engine.stop()

    def test_changed_specs_bump(self):
        """
        A re-read with a new label or CPU count updates the specs and bumps
        both revisions.
        """
        engine, client, clock, listener = make_engine()
        self.successResultOf(engine.start())
        revision, specs = engine.revision, engine.specs_revision
        client.info_answer = dict(client.info_answer, NCPU=client.info_answer["NCPU"] + 2,
                                  Labels=client.info_answer["Labels"] + ["zone=b"])
        self.successResultOf(engine.update_specs())
        self.assertEqual(engine.cpus, client.info_answer["NCPU"])
        self.assertEqual(engine.labels["zone"], "b")
        self.assertGreater(engine.revision, revision)
        self.assertEqual(engine.specs_revision, specs + 1)
        engine.stop()

    def test_reread_every_interval(self):
        """
        A healthy engine's specs are read again once SPEC_UPDATE_INTERVAL
        passed, and a change is picked up by the refresh loop.
        """
        engine, client, clock, listener = make_engine()
        self.successResultOf(engine.start())
        client.info_answer = dict(client.info_answer, Labels=["node=n1", "zone=c"])
        clock.advance(SPEC_UPDATE_INTERVAL + 61)
        self.assertEqual(engine.labels["zone"], "c")
        engine.stop()


class HealthTests(SynchronousTestCase):
    """
    Failure counting and the healthy <-> unhealthy transitions.
    """

    def setUp(self):
        self.engine, self.client, self.clock, self.listener = make_engine()
        self.successResultOf(self.engine.start())
        self.addCleanup(self.engine.stop)

    def test_unhealthy_after_retry_failures(self):
        """Three connection failures in a row turn a healthy engine unhealthy."""
        error = EngineUnreachable("x", "refused")
        self.engine.failed(error)
        self.engine.failed(error)
        self.assertEqual(self.engine.state, HEALTHY)
        self.assertEqual(self.engine.health_indicator, 34)
        self.engine.failed(error)
        self.assertEqual(self.engine.state, UNHEALTHY)
        self.assertEqual(self.engine.health_indicator, 0)
        self.assertEqual(self.listener.events[-1]["Action"], "engine_disconnect")

    def test_engine_errors_do_not_count(self):
        """An engine that answers with an error status is still reachable."""
        for _ in range(5):
            self.engine.failed(EngineError(500, "boom"))
        self.assertEqual(self.engine.state, HEALTHY)
        self.assertEqual(self.engine.failures, 0)
        self.assertEqual(self.engine.error, "boom")

    def test_success_recovers(self):
        """One success after unhealthiness resets the count and reconnects."""
        for _ in range(3):
            self.engine.failed(EngineUnreachable("x", "refused"))
        self.engine.succeeded()
        self.assertEqual(self.engine.state, HEALTHY)
        self.assertEqual(self.engine.failures, 0)
        self.assertEqual(self.engine.error, "")
        self.assertEqual([e["Action"] for e in self.listener.events],
                         ["engine_connect", "engine_disconnect", "engine_reconnect"])

    def test_leaving_says_engine_disconnect(self):
        """A healthy engine leaving says engine_disconnect once; stopping again is quiet."""
        self.engine.stop()
        self.engine.stop()
        self.assertEqual([e["Action"] for e in self.listener.events],
                         ["engine_connect", "engine_disconnect"])

    def test_unhealthy_engine_leaving_is_quiet(self):
        """An unhealthy engine already said engine_disconnect: leaving adds no second one."""
        for _ in range(3):
            self.engine.failed(EngineUnreachable("x", "refused"))
        self.engine.stop()
        self.assertEqual([e["Action"] for e in self.listener.events],
                         ["engine_connect", "engine_disconnect"])

    def test_refresh_failures_turn_unhealthy_then_recover(self):
        """Refresh runs against a dead engine count failures; when it is back it heals."""
        self.client.down = True
        self.clock.advance(61)
        self.clock.advance(61)
        self.clock.advance(61)
        self.assertEqual(self.engine.state, UNHEALTHY)
        self.client.down = False
        for _ in range(10):
            self.clock.advance(61)
        self.assertEqual(self.engine.state, HEALTHY)


class RefreshLoopTests(SynchronousTestCase):
    """
    The refresh loop's timing.
    """

    def test_wait_within_interval(self):
        """Each wait is between the min and max interval while the engine is fine."""
        engine, client, clock, listener = make_engine()
        waits = [engine._next_wait() for _ in range(200)]
        self.assertTrue(all(30.0 <= w < 60.0 for w in waits))
        self.assertGreater(max(waits) - min(waits), 10)

    def test_backoff_multiplies_wait(self):
        """Failures beyond the retry count multiply the wait by (failures - retry + 1)."""
        engine, client, clock, listener = make_engine(refresh_min=10.0, refresh_max=10.0)
        engine.failures = 5
        self.assertEqual(engine._next_wait(), 30.0)
        engine.failures = 10 ** 6
        self.assertEqual(engine._next_wait(), 10.0 * 1001)

    def test_loop_refreshes_on_schedule(self):
        """With equal min and max the engine is re-listed exactly every interval."""
        engine, client, clock, listener = make_engine(refresh_min=5.0, refresh_max=5.0,
                                                      relist_interval=0)
        self.successResultOf(engine.start())
        before = client.calls.count("list_containers")
        clock.advance(4.9)
        self.assertEqual(client.calls.count("list_containers"), before)
        clock.advance(0.1)
        self.assertEqual(client.calls.count("list_containers"), before + 1)
        clock.advance(5)
        self.assertEqual(client.calls.count("list_containers"), before + 2)
        engine.stop()
        clock.advance(50)
        self.assertEqual(client.calls.count("list_containers"), before + 2)

    def test_lists_reread_now_and_then(self):
        """With events flowing, images/networks/volumes are re-read one run in five."""
        engine, client, clock, listener = make_engine(refresh_min=5.0, refresh_max=5.0,
                                                      relist_interval=0)
        self.successResultOf(engine.start())
        images, containers = client.calls.count("list_images"), client.calls.count(
            "list_containers")
        clock.pump([5.0] * 10)
        self.assertEqual(client.calls.count("list_containers") - containers, 10)
        self.assertEqual(client.calls.count("list_images") - images, 2)
        client.events = lambda *a, **k: fail(EngineUnreachable("x", "no events"))
        client.streams[-1].done.errback(EngineUnreachable("x", "reset"))
        before = client.calls.count("list_images")
        clock.advance(5.0)
        self.assertEqual(client.calls.count("list_images"), before + 1)
        engine.stop()

    def test_one_failing_run_does_not_stop_loop(self):
        """An unexpected error in one run is logged and the loop goes on."""
        engine, client, clock, listener = make_engine(refresh_min=5.0, refresh_max=5.0,
                                                      relist_interval=0)
        self.successResultOf(engine.start())
        original = client.list_containers
        client.list_containers = lambda all=True, filters=None: fail(RuntimeError("oops"))
        clock.advance(5)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        client.list_containers = original
        client.containers["c9"] = inspect("c9", "late")
        clock.advance(5)
        self.assertIn("c9", engine.containers)
        engine.stop()

    def test_refresh_drops_and_adds(self):
        """A periodic refresh picks up new containers and drops vanished ones."""
        engine, client, clock, listener = make_engine(refresh_min=5.0, refresh_max=5.0,
                                                      relist_interval=0)
        client.containers["c1"] = inspect("c1", "one")
        self.successResultOf(engine.start())
        del client.containers["c1"]
        client.containers["c2"] = inspect("c2", "two")
        clock.advance(5)
        self.assertEqual(list(engine.containers), ["c2"])
        self.assertIn(("c1", None), listener.changes)
        engine.stop()

    def test_changed_summary_reinspected(self):
        """A container whose listed state differs from the cache is inspected again."""
        engine, client, clock, listener = make_engine(refresh_min=5.0, refresh_max=5.0,
                                                      relist_interval=0)
        client.containers["c1"] = inspect("c1", "one")
        self.successResultOf(engine.start())
        client.containers["c1"] = inspect("c1", "one", status="exited")
        clock.advance(5)
        self.assertEqual(engine.containers["c1"].status, "exited")


class RelistTests(SynchronousTestCase):
    """
    While the events stream is open a refresh run pings the engine; the
    containers are listed again every C{relist_interval}, after the stream
    was reopened, and after a connection failure.
    """

    def start(self, **options):
        options = dict(dict(refresh_min=5.0, refresh_max=5.0, relist_interval=60.0), **options)
        engine, client, clock, listener = make_engine(**options)
        self.successResultOf(engine.start())
        self.addCleanup(engine.stop)
        client.calls[:] = []
        return engine, client, clock

    def test_runs_ping_while_events_flow(self):
        """Eleven runs within the interval: eleven pings, no list of any kind."""
        engine, client, clock = self.start()
        clock.pump([5.0] * 11)
        self.assertEqual(client.calls, ["ping"] * 11)
        self.assertEqual(engine.updated_at, clock.seconds())

    def test_relisted_every_interval(self):
        """The run once the interval has passed lists everything, then pings again."""
        engine, client, clock = self.start()
        clock.pump([5.0] * 12)
        self.assertEqual(client.calls[11:], ["list_containers", "list_images",
                                             "list_networks", "list_volumes"])
        client.calls[:] = []
        clock.pump([5.0] * 11)
        self.assertEqual(client.calls, ["ping"] * 11)

    def test_default_interval(self):
        """By default the safety re-list comes every RELIST_INTERVAL seconds."""
        from swarmd.cluster.engine import RELIST_INTERVAL

        self.assertEqual(EngineOptions().relist_interval, RELIST_INTERVAL)
        self.assertEqual(RELIST_INTERVAL, 600.0)
        engine, client, clock = self.start(relist_interval=RELIST_INTERVAL)
        clock.pump([5.0] * 119)
        self.assertEqual(set(client.calls), {"ping", "info"})
        clock.advance(5.0)
        self.assertEqual(client.calls[-4:][0], "list_containers")
        self.assertEqual(client.calls.count("list_containers"), 1)

    def test_changes_seen_through_events(self):
        """A container created between two pings is cached from its event, not a list."""
        engine, client, clock = self.start()
        client.containers["c5"] = inspect("c5", "new")
        client.streams[-1].callback({"Type": "container", "Action": "create", "id": "c5",
                                     "Actor": {"ID": "c5"}, "timeNano": 1795860001000000000})
        clock.pump([5.0] * 3)
        self.assertIn("c5", engine.containers)
        self.assertNotIn("list_containers", client.calls)

    def test_relisted_after_stream_reopened(self):
        """A stream that broke and was opened again: the next run lists (a gap to fill)."""
        engine, client, clock = self.start()
        client.streams[-1].done.errback(EngineUnreachable("x", "reset"))
        clock.advance(1.0)
        self.assertEqual(client.calls, ["events"])
        client.containers["c6"] = inspect("c6", "unseen")
        clock.advance(4.0)
        self.assertEqual(client.calls[1], "list_containers")
        self.assertIn("c6", engine.containers)
        client.calls[:] = []
        clock.pump([5.0] * 3)
        self.assertEqual(client.calls, ["ping"] * 3)

    def test_stream_that_ended_is_a_gap_too(self):
        """A stream the engine ended cleanly is reopened, then the next run lists."""
        engine, client, clock = self.start()
        client.streams[-1].done.callback(None)
        clock.advance(5.0)
        self.assertEqual(client.calls[:2], ["events", "list_containers"])

    def test_relisted_after_connection_failure(self):
        """A ping that cannot connect counts a failure; the next run lists again."""
        engine, client, clock = self.start()
        client.down = True
        clock.advance(5.0)
        self.assertEqual((client.calls, engine.failures), (["ping"], 1))
        client.down = False
        clock.advance(5.0)
        self.assertEqual(client.calls[1], "list_containers")
        self.assertEqual(engine.failures, 0)

    def test_failed_list_asked_again(self):
        """A re-list whose answer is an error is tried again on the next run."""
        engine, client, clock = self.start()
        original = client.list_containers
        client.list_containers = lambda all=True, filters=None: fail(EngineError(500, "busy"))
        clock.pump([5.0] * 12)
        self.assertFalse(engine.reads.listed_at)
        client.list_containers = original
        client.calls[:] = []
        clock.advance(5.0)
        self.assertEqual(client.calls[0], "list_containers")

    def test_specs_run_needs_no_ping(self):
        """A run that re-reads the specs (every 300 s) has its answer: no ping besides."""
        engine, client, clock = self.start(relist_interval=3600.0)
        clock.pump([5.0] * 61)
        self.assertEqual(client.calls.count("info"), 1)
        self.assertEqual(client.calls.count("ping"), 60)

    def test_stream_closed_lists_every_run(self):
        """With no events stream at all, every run lists, as classic Swarm."""
        engine, client, clock = self.start()
        client.events = lambda *a, **k: fail(EngineUnreachable("x", "no events"))
        client.streams[-1].done.errback(EngineUnreachable("x", "reset"))
        clock.pump([5.0] * 3)
        self.assertEqual(client.calls.count("list_containers"), 3)


class EventTests(SynchronousTestCase):
    """
    Events drive targeted refreshes and are forwarded.
    """

    def setUp(self):
        self.engine, self.client, self.clock, self.listener = make_engine()
        self.successResultOf(self.engine.start())
        self.addCleanup(self.engine.stop)
        self.stream = self.client.streams[-1]

    def event(self, action, cid, nano):
        return {"Type": "container", "Action": action, "status": action, "id": cid,
                "Actor": {"ID": cid, "Attributes": {}}, "time": nano // 10 ** 9,
                "timeNano": nano}

    def test_start_event_inspects(self):
        """A container event refreshes that container from the engine."""
        self.client.containers["c5"] = inspect("c5", "new")
        self.stream.callback(self.event("create", "c5", 1795860001000000000))
        self.assertIn("c5", self.engine.containers)
        self.assertEqual(self.listener.events[-1]["Action"], "create")

    def test_create_event_of_cached_container(self):
        """A create event for a container already cached asks the engine nothing."""
        self.client.containers["c5"] = inspect("c5", "new")
        self.successResultOf(self.engine.refresh_container("c5"))
        calls = len(self.client.calls)
        self.stream.callback(self.event("create", "c5", 1795860001000000000))
        self.assertEqual(len(self.client.calls), calls)
        self.assertEqual(self.listener.events[-1]["Action"], "create")
        self.stream.callback(self.event("start", "c5", 1795860002000000000))
        self.assertEqual(self.client.calls[calls:], ["inspect_container"])

    def test_destroy_event_drops(self):
        """A destroy event removes the container from the cache without a call."""
        self.client.containers["c5"] = inspect("c5", "new")
        self.stream.callback(self.event("create", "c5", 1795860001000000000))
        calls = len(self.client.calls)
        self.stream.callback(self.event("destroy", "c5", 1795860002000000000))
        self.assertNotIn("c5", self.engine.containers)
        self.assertEqual(len(self.client.calls), calls)

    def test_duplicate_event_dropped(self):
        """An event replayed after a reconnect is not forwarded twice."""
        event = self.event("start", "c5", 1795860001000000000)
        self.stream.callback(event)
        self.stream.callback(dict(event))
        self.assertEqual([e["Action"] for e in self.listener.events].count("start"), 1)

    def test_stale_inspect_discarded(self):
        """An inspect answer overtaken by a later destroy event does not resurrect it."""
        pending = Deferred()
        self.client.inspect_container = lambda cid: pending
        d = self.engine.refresh_container("c7")
        self.stream.callback(self.event("destroy", "c7", 1795860003000000000))
        pending.callback(inspect("c7", "ghost"))
        self.assertIsNone(self.successResultOf(d))
        self.assertNotIn("c7", self.engine.containers)

    def test_answers_in_order(self):
        """Two refreshes answered in the order sent: each applies, the last wins."""
        first, second = Deferred(), Deferred()
        answers = [first, second]
        self.client.inspect_container = lambda cid: answers.pop(0)
        d = self.engine.refresh_container("c8")
        self.stream.callback(self.event("start", "c8", 1795860004000000000))
        first.callback(inspect("c8", "new", status="created"))
        self.assertEqual(self.successResultOf(d).status, "created")
        second.callback(inspect("c8", "new"))
        self.assertEqual(self.engine.containers["c8"].status, "running")

    def test_late_answer_never_goes_back(self):
        """An answer to an older refresh coming after a newer one is thrown away."""
        first, second = Deferred(), Deferred()
        answers = [first, second]
        self.client.inspect_container = lambda cid: answers.pop(0)
        d = self.engine.refresh_container("c9")
        self.stream.callback(self.event("start", "c9", 1795860005000000000))
        second.callback(inspect("c9", "known"))
        first.callback(inspect("c9", "known", status="created"))
        self.assertEqual(self.successResultOf(d).status, "running")
        self.assertEqual(self.engine.containers["c9"].status, "running")

    def test_stream_reopened_from_last_event(self):
        """A broken stream is reopened after the retry wait, resuming at the last event."""
        self.stream.callback(self.event("start", "c5", 1795860001000000123))
        self.stream.done.errback(EngineUnreachable("x", "reset"))
        self.assertEqual(self.engine.failures, 1)
        opened = len(self.client.streams)
        self.clock.advance(1.0)
        self.assertEqual(len(self.client.streams), opened + 1)
        self.assertEqual(self.client.streams[-1].since, "1795860001.000000123")

    def test_image_event_refreshes_images(self):
        """An image event re-reads the image list."""
        before = self.client.calls.count("list_images")
        self.stream.callback({"Type": "image", "Action": "pull", "Actor": {"ID": "busybox"},
                              "timeNano": 1795860001000000000})
        self.assertEqual(self.client.calls.count("list_images"), before + 1)


class HelpersTests(SynchronousTestCase):
    """
    Small helpers of the engine module.
    """

    def testtime_to_since(self):
        """Docker SystemTime values become events since values with nanoseconds."""
        self.assertEqual(time_to_since("2026-11-28T10:00:00.123456789Z"),
                         "1795860000.123456789")
        self.assertEqual(time_to_since("2026-11-28T11:00:00+01:00"), "1795860000.000000000")
        self.assertIsNone(time_to_since("garbage"))

    def test_resources_with_overcommit(self):
        """Totals include the overcommit; used CPUs turn shares back into CPUs."""
        engine, client, clock, listener = make_engine(overcommit=0.5)
        client.containers["c1"] = inspect("c1", "a", shares=512, memory=1024)
        self.successResultOf(engine.start())
        self.assertEqual(engine.total_cpus, 6)
        self.assertEqual(engine.used_cpus, 2)
        self.assertEqual(engine.used_memory, 1024)
        engine.stop()


class CancelTests(SynchronousTestCase):
    """
    A call its caller gave up on is not the engine's fault; one the engine
    never answers is.
    """

    def setUp(self):
        from swarmd.testing.memory import MemoryEngines

        self.clock = Clock()
        engines = MemoryEngines(self.clock)
        self.fake = engines.add("127.0.0.1:2376", name="n1")
        self.fake.latency = 3600
        self.client = engines.client("127.0.0.1:2376")

    def test_cancelled_call_is_not_a_failure(self):
        """A cancelled request fails with CancelledError, and track() counts nothing."""
        from twisted.internet.defer import CancelledError

        engine, _, _, _ = make_engine()
        d = engine.track(self.client.request("GET", "/_ping", timeout=60))
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(engine.failures, 0)

    def test_timed_out_call_is_unreachable(self):
        """A request the engine does not answer in time is EngineUnreachable, counted."""
        engine, _, _, _ = make_engine()
        d = engine.track(self.client.request("GET", "/_ping", timeout=60))
        self.clock.advance(59)
        self.assertNoResult(d)
        self.clock.advance(1)
        failure = self.failureResultOf(d, EngineUnreachable)
        self.assertIn("timed out", str(failure.value))
        self.assertEqual(engine.failures, 1)

    def test_answer_in_time_cancels_the_timer(self):
        """An answer before the timeout leaves no timer behind."""
        self.fake.latency = 0
        d = self.client.request("GET", "/_ping", timeout=60)
        self.assertEqual(self.successResultOf(d).code, 200)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class IsolationTests(SynchronousTestCase):
    """
    One engine's failures never stop another engine's refresh loop.
    """

    def test_failing_engine_does_not_stop_the_other(self):
        """With n1 unreachable and then answering 500s, n2 keeps being refreshed on time."""
        from swarmd.testing.memory import MemoryManager

        manager = MemoryManager(["127.0.0.1:2376", "127.0.0.1:2377"])
        self.addCleanup(manager.stop)
        n1, n2 = (manager.engines.engines[a] for a in ("127.0.0.1:2376", "127.0.0.1:2377"))
        calls = n2.record_calls()
        n1.unreachable = True
        for _ in range(6):
            manager.clock.advance(60)
            manager.engines.flush()
        # A refresh run lists the containers, or pings while events flow.
        refreshes = ("/containers/json", "/_ping")
        first = len([c for c in calls if c[1] in refreshes])
        self.assertGreaterEqual(first, 5)
        n1.unreachable = False
        n1.fail(500, "boom", count=1000)
        for _ in range(6):
            manager.clock.advance(60)
            manager.engines.flush()
        second = len([c for c in calls if c[1] in refreshes])
        self.assertGreaterEqual(second - first, 5)
        cluster = manager.cluster
        self.assertEqual([e.name for e in cluster.healthy_engines()], ["n2"])
        self.assertEqual(cluster.engines["127.0.0.1:2377"].failures, 0)
