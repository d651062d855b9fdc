"""
Tests for L{swarmd.cluster._listing_warmer}: on a L{Clock}, with a timer
the tests move, so a slice's length is exact.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster._listing_warmer import PAUSE_SECONDS, SLICE_SECONDS, ListingWarmer
from swarmd.cluster.containers import Container
from tests.unit.test_cluster_containers import NOW, _ListedEngine, info


class CostlyContainer(Container):
    """
    A container whose entry takes C{cost} seconds of the test's timer to
    make, and that counts how often it was made.
    """

    def __init__(self, engine, data, timer, cost):
        Container.__init__(self, engine, data)
        self._timer, self._cost = timer, cost
        self.made = 0

    def listing_parts(self, now):
        self.made += 1
        self._timer.now += self._cost
        return Container.listing_parts(self, now)


class Timer:
    """
    A clock for a slice's work that moves only when a container's entry is
    made.
    """

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class ListingWarmerTests(SynchronousTestCase):
    """
    L{ListingWarmer} makes the entries a list would make, in slices, and
    only those still wanted.
    """

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.timer = Timer()
        self.warmer = ListingWarmer(self.clock, self.timer)
        self.engine = _ListedEngine("n1")
        self.engine.containers = {}

    def container(self, number, cost=0.0):
        made = CostlyContainer(self.engine, info("%064x" % number, "c%d" % number),
                               self.timer, cost)
        self.engine.containers[made.id] = made
        return made

    def test_made_on_next_turn(self):
        """An added container's entry is made on the next turn, as a list would make it."""
        container = self.container(1)
        self.warmer.add(container)
        self.assertEqual(container.made, 0)
        self.clock.advance(0)
        self.assertEqual(container.made, 1)
        self.assertNotEqual(container.listing_until(), 0.0)
        fresh = Container(self.engine, container.info)
        self.assertEqual(container.listing_parts(NOW), fresh.listing_parts(NOW))
        self.assertEqual(container.made, 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_slices(self):
        """A backlog is made a slice at a time, each at most SLICE_SECONDS, a pause between."""
        cost = SLICE_SECONDS / 4
        containers = [self.container(n, cost) for n in range(10)]
        for container in containers:
            self.warmer.add(container)
        self.clock.advance(0)
        self.assertEqual([c.made for c in containers], [1] * 4 + [0] * 6)
        self.assertEqual(len(self.warmer), 6)
        [pause] = self.clock.getDelayedCalls()
        self.assertAlmostEqual(pause.getTime() - self.clock.seconds(), PAUSE_SECONDS, places=6)
        self.clock.advance(PAUSE_SECONDS)
        self.assertEqual([c.made for c in containers], [1] * 8 + [0] * 2)
        self.clock.advance(PAUSE_SECONDS)
        self.assertEqual([c.made for c in containers], [1] * 10)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_made_ones_skipped(self):
        """A container whose entry a list already made is not made again."""
        container = self.container(1)
        container.listing_parts(NOW)
        self.warmer.add(container)
        self.clock.advance(0)
        self.assertEqual(container.made, 1)

    def test_superseded_skipped(self):
        """A container read again (or gone) before its turn is skipped."""
        old = self.container(1)
        self.warmer.add(old)
        new = self.container(1)
        gone = self.container(2)
        self.warmer.add(gone)
        del self.engine.containers[gone.id]
        self.warmer.add(new)
        self.clock.advance(0)
        self.assertEqual((old.made, gone.made, new.made), (0, 0, 1))

    def test_failure_skipped(self):
        """An entry that cannot be made is logged and skipped; the others are made."""
        broken, fine = self.container(1), self.container(2)
        broken.listing_parts = lambda now: 1 / 0
        self.warmer.add(broken)
        self.warmer.add(fine)
        self.clock.advance(0)
        self.assertEqual(fine.made, 1)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self):
        """Stopping drops the backlog and the next slice."""
        containers = [self.container(n, SLICE_SECONDS) for n in range(3)]
        for container in containers:
            self.warmer.add(container)
        self.clock.advance(0)
        self.warmer.stop()
        self.assertEqual(len(self.warmer), 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual([c.made for c in containers], [1, 0, 0])
        self.warmer.add(containers[1])
        self.clock.advance(0)
        self.assertEqual(containers[1].made, 1)
