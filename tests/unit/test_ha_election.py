"""
Leader election (L{swarmd.ha.election}) on the in-memory leader store and a
L{Clock}: one primary at a time, whatever the store does.
"""

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from swarmd.ha import PRIMARY, REPLICA, Election, IElectionListener
from swarmd.testing.ha.conformance import make_ileaderstore_tests
from swarmd.testing.ha.fake import MemoryLeaderBackend, MemoryLeaderStore


class _MemoryFixture:
    ttl = 6.0

    def __init__(self, testcase):
        self.clock = Clock()
        self.backend = MemoryLeaderBackend(self.clock)

    def make_store(self):
        return MemoryLeaderStore(self.backend)

    def advance(self, seconds):
        self.clock.advance(seconds)
        return succeed(None)


class MemoryLeaderStoreTests(make_ileaderstore_tests(_MemoryFixture)):
    """The in-memory leader store passes the ILeaderStore suite."""


@implementer(IElectionListener)
class _Recorder:
    def __init__(self):
        self.changes = []

    def role_changed(self, role, primary):
        self.changes.append((role, primary))


class ElectionTests(TestCase):
    """
    Elections of one to three managers over a shared fake store.
    """

    TTL = 6.0

    def setUp(self):
        self.clock = Clock()
        self.backend = MemoryLeaderBackend(self.clock)
        self.elections = []

    def manager(self, address, start=True, clock=None):
        election = Election(MemoryLeaderStore(self.backend), address, self.TTL,
                            clock or self.clock)
        recorder = _Recorder()
        election.add_listener(recorder)
        election.recorder = recorder
        self.elections.append(election)
        if start:
            election.start()
        return election

    def primaries(self):
        # A frozen manager (its own clock standing still) acts on nothing.
        return [e.address for e in self.elections
                if e._clock is self.clock and e.is_primary()]

    def run_for(self, seconds, step=0.25):
        """
        Advance the clock in small steps, checking at every step that no two
        managers act as primary.
        """
        for _ in range(int(seconds / step)):
            self.clock.advance(step)
            self.assertLessEqual(len(self.primaries()), 1, self.primaries())

    def test_single_manager_becomes_primary(self):
        """A lone manager takes the free key at once and tells its listener."""
        a = self.manager("a:1")
        self.assertTrue(a.is_primary())
        self.assertEqual(a.role, PRIMARY)
        self.assertEqual(a.known_primary(), "a:1")
        self.assertEqual(a.recorder.changes, [(PRIMARY, "a:1")])

    def test_primary_keeps_key_by_renewing(self):
        """A primary renews its lease and stays primary well past one TTL."""
        a = self.manager("a:1")
        self.run_for(self.TTL * 5)
        self.assertTrue(a.is_primary())
        self.assertEqual(a.term, 1)

    def test_two_candidates_at_once(self):
        """Two managers starting together: exactly one primary, the other knows it."""
        self.manager("a:1")
        b = self.manager("b:2")
        self.run_for(self.TTL)
        self.assertEqual(self.primaries(), ["a:1"])
        self.assertEqual(b.role, REPLICA)
        self.assertEqual(b.known_primary(), "a:1")
        self.assertEqual(b.recorder.changes, [(REPLICA, "a:1")])

    def test_failover_after_primary_dies(self):
        """When the primary stops renewing, a replica takes over within TTL plus one interval."""
        a, b = self.manager("a:1"), self.manager("b:2")
        self.clock.advance(1)
        a._loop.stop()  # a dies without resigning
        died = self.clock.seconds()
        while not b.is_primary():
            self.clock.advance(0.25)
            self.assertLessEqual(len(self.primaries()), 1)
            self.assertLess(self.clock.seconds() - died, 2 * self.TTL)
        self.assertLessEqual(self.clock.seconds() - died, self.TTL + b.interval)
        self.assertFalse(a.is_primary())

    def test_clean_stop_hands_over_fast(self):
        """A primary that stops resigns, so a replica takes over at its next turn."""
        a, b = self.manager("a:1"), self.manager("b:2")
        self.clock.advance(1)
        a.stop()
        self.assertIsNone(self.backend.current()[0])
        self.clock.advance(b.interval)
        self.assertTrue(b.is_primary())

    def test_lease_lost_while_serving(self):
        """A primary whose store stops answering steps down before its lease can end."""
        a = self.manager("a:1")
        self.manager("b:2")
        self.clock.advance(1)
        self.backend.hang = True
        lost = self.clock.seconds()
        self.run_for(self.TTL)
        self.assertFalse(a.is_primary())
        # It stepped down before the store could have let the lease go.
        self.assertIn((REPLICA, None), a.recorder.changes)
        self.backend.hang = False
        self.run_for(self.TTL * 2)
        self.assertEqual(len(self.primaries()), 1)
        self.assertGreater(self.clock.seconds(), lost)

    def test_store_down_steps_down_in_time(self):
        """With the store refusing every call, the primary gives up by its own clock."""
        a = self.manager("a:1")
        renewed_at = self.clock.seconds()
        self.backend.down = True
        self.clock.advance(self.TTL * (1 - 0.1) - 0.01)
        self.assertTrue(a.is_primary())
        self.clock.advance(0.02)
        self.assertFalse(a.is_primary())
        # the store still holds its key: the step-down came first
        self.assertLess(self.clock.seconds(), renewed_at + self.TTL)

    def test_store_flapping(self):
        """A store going down and up again every few seconds never yields two primaries."""
        self.manager("a:1"), self.manager("b:2"), self.manager("c:3")
        for i in range(20):
            self.backend.down = i % 2 == 1
            self.run_for(self.TTL * 0.6)
        self.backend.down = False
        self.run_for(self.TTL * 2)
        self.assertEqual(len(self.primaries()), 1)

    def test_slow_store_flapping(self):
        """A slow store with answers arriving late never yields two primaries."""
        self.manager("a:1"), self.manager("b:2")
        for delay in (0.5, 2.0, 3.5, 0.1, 5.0, 0.0):
            self.backend.delay = delay
            self.run_for(self.TTL * 1.5)
        self.run_for(self.TTL * 2)
        self.assertEqual(len(self.primaries()), 1)

    def test_renewal_answering_after_lease_ran_out(self):
        """A renewal whose answer arrives after the lease ran out does not keep the primary."""
        a = self.manager("a:1")
        self.backend.delay = self.TTL  # every call takes a whole TTL each way
        self.run_for(self.TTL * 3)
        self.assertFalse(a.is_primary())

    def test_grant_answering_too_late_is_not_primary(self):
        """A campaign whose grant arrives after the granted lease could have ended is ignored."""
        self.backend.delay = self.TTL
        a = self.manager("a:1")
        self.run_for(self.TTL * 3)
        self.assertFalse(a.is_primary())
        self.backend.delay = 0.0
        self.run_for(self.TTL * 3)
        self.assertTrue(a.is_primary())

    def test_frozen_primary_wakes_as_replica(self):
        """A primary frozen past its lease (SIGSTOP) is not primary for one moment after waking."""
        own = Clock()
        a = self.manager("a:1", clock=own)
        b = self.manager("b:2")
        self.clock.advance(1)
        own.advance(1)
        self.assertTrue(a.is_primary())
        # Freeze a: its clock stands still, none of its timers run.
        self.run_for(self.TTL * 2)
        self.assertTrue(b.is_primary())
        # a wakes: time has jumped, its timers have not run yet, and it
        # already refuses to act as primary.
        own.rightNow = self.clock.seconds()
        self.assertFalse(a.is_primary())
        for _ in range(int(self.TTL * 2 / 0.25)):
            own.advance(0.25)
            self.clock.advance(0.25)
            self.assertEqual(self.primaries(), ["b:2"])
        self.assertEqual(a.known_primary(), "b:2")

    def test_late_answers_count_from_sending(self):
        """A renewal counts from when it was sent: slow answers to the primary never overlap."""
        a = self.manager("a:1")
        self.manager("b:2")
        self.clock.advance(1)
        self.assertTrue(a.is_primary())
        # Answers take half a TTL to reach a; its renewals still get
        # through, so it stays primary...
        a.store.answer_delay = self.TTL * 0.5
        self.run_for(self.TTL * 2, step=0.05)
        self.assertTrue(a.is_primary())
        # ...until they no longer reach the store: b takes over once the
        # store let a's lease go, and a has stepped down by then.
        a.store.cut = True
        self.run_for(self.TTL * 3, step=0.05)
        self.assertEqual(self.primaries(), ["b:2"])

    def test_restarted_manager_takes_back_own_key(self):
        """A manager restarted while its key is alive takes it back instead of waiting for it."""
        a = self.manager("a:1")
        a._loop.stop()
        again = self.manager("a:1")
        self.assertTrue(again.is_primary())

    def test_replica_learns_new_primary(self):
        """Replicas follow a change of primary."""
        a, b, c = self.manager("a:1"), self.manager("b:2"), self.manager("c:3")
        self.clock.advance(1)
        a.stop()
        self.run_for(self.TTL)
        new = self.primaries()[0]
        other = c if new == "b:2" else b
        self.assertEqual(other.known_primary(), new)

    def test_wait_for_primary(self):
        """wait_for_primary fires when one becomes known, or with None after its timeout."""
        self.backend.down = True
        b = self.manager("b:2")
        results = []
        b.wait_for_primary(2.0).addCallback(results.append)
        self.clock.advance(2.5)
        self.assertEqual(results, [None])
        self.backend.down = False
        a = self.manager("a:1", start=False)
        b.wait_for_primary(30.0).addCallback(results.append)
        self.backend.down = False
        # b itself campaigns and wins: it is its own primary.
        self.clock.advance(b.interval)
        self.assertEqual(results[-1], b.known_primary())
        self.assertIsNotNone(results[-1])
        self.assertFalse(a.is_primary())

    def test_stop_closes_store(self):
        """Stopping an election closes its store and leaves nothing on the clock."""
        a = self.manager("a:1")
        a.stop()
        self.assertTrue(a.store.closed)
        self.assertEqual(self.clock.getDelayedCalls(), [])
