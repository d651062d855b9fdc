"""
Tests for L{swarmd._gc.FreezeSurvivors}, with a collector double and a
fake timer, then with the real collector.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd._gc import SLOW_COLLECTION, FreezeSurvivors


class FakeCollector:
    def __init__(self):
        self.callbacks = []
        self.frozen = 0
        self.objects = 0

    def freeze(self):
        self.frozen += 1

    def collect(self, generation, seconds, timer):
        """
        Run the callbacks of a collection of C{generation} taking
        C{seconds} of C{timer}.
        """
        for callback in list(self.callbacks):
            callback("start", {"generation": generation})
        timer.now += seconds
        for callback in list(self.callbacks):
            callback("stop", {"generation": generation, "collected": 0, "uncollectable": 0})


class Timer:
    now = 100.0

    def __call__(self):
        return self.now


class FreezeSurvivorsTests(SynchronousTestCase):
    def setUp(self):
        self.gc = FakeCollector()
        self.timer = Timer()
        self.service = FreezeSurvivors(collector=self.gc, timer=self.timer)
        self.service.startService()
        self.addCleanup(lambda: self.service.running and self.service.stopService())

    def test_slow_full_collection_freezes(self):
        """As a full collection slower than the threshold ends, its survivors are frozen."""
        self.gc.collect(2, SLOW_COLLECTION + 0.01, self.timer)
        self.assertEqual((self.gc.frozen, self.service.freezes), (1, 1))

    def test_fast_or_young_collections_do_not(self):
        """A quick full collection, or a slow young one, freezes nothing."""
        self.gc.collect(2, SLOW_COLLECTION / 2, self.timer)
        self.gc.collect(1, 1.0, self.timer)
        self.gc.collect(0, 1.0, self.timer)
        self.assertEqual(self.gc.frozen, 0)

    def test_each_slow_one(self):
        """Each slow full collection freezes what it left."""
        self.gc.collect(2, 1.0, self.timer)
        self.gc.collect(2, 1.0, self.timer)
        self.assertEqual((self.gc.frozen, self.service.freezes), (2, 2))

    def test_stopped_service_lets_go(self):
        """A stopped service leaves the collector's callbacks."""
        self.service.stopService()
        self.assertEqual(self.gc.callbacks, [])
        self.gc.collect(2, 1.0, self.timer)
        self.assertEqual(self.gc.frozen, 0)

    def test_started_twice_one_callback(self):
        """Starting again does not add a second callback."""
        self.service.stopService()
        self.service.startService()
        self.service.startService()
        self.assertEqual(len(self.gc.callbacks), 1)

    def test_real_collector(self):
        """
        With the real collector, the callback is installed and removed; a
        slow-enough collection freezes at once, so garbage made after it is
        not frozen: the next collection frees it.
        """
        import gc
        import weakref

        class Cycle:
            pass

        service = FreezeSurvivors(slow=0.0)
        service.startService()
        self.addCleanup(gc.unfreeze)
        try:
            self.assertIn(service._collected, gc.callbacks)
            gc.collect()
            self.assertEqual(service.freezes, 1)
            made = Cycle()
            made.itself = made
            alive = weakref.ref(made)
            del made
            gc.collect()
            self.assertIsNone(alive())
        finally:
            service.stopService()
        self.assertNotIn(service._collected, gc.callbacks)
