"""
Tests for L{swarmd._loop.JitteredLoop}.
"""

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd._loop import JitteredLoop


class JitteredLoopTests(SynchronousTestCase):
    """
    The wait is drawn anew after every run and counted from its end.
    """

    def test_waits_drawn_per_run(self):
        """Each run happens one freshly drawn wait after the previous one."""
        clock = Clock()
        waits = iter([5.0, 2.0, 7.0, 1.0])
        times = []
        loop = JitteredLoop(lambda: times.append(clock.seconds()), lambda: next(waits), clock)
        loop.start()
        clock.pump([1.0] * 14)
        self.assertEqual(times, [5.0, 7.0, 14.0])
        loop.stop()

    def test_wait_counts_from_end_of_slow_run(self):
        """A run that takes time pushes the next one back by that time."""
        clock = Clock()
        running = []
        times = []

        def run():
            times.append(clock.seconds())
            running.append(Deferred())
            return running[-1]

        loop = JitteredLoop(run, lambda: 10.0, clock)
        loop.start()
        clock.advance(10)
        clock.advance(25)
        self.assertEqual(times, [10.0])
        running[0].callback(None)
        clock.advance(9.9)
        self.assertEqual(times, [10.0])
        clock.advance(0.1)
        self.assertEqual(times, [10.0, 45.0])
        loop.stop()

    def test_errors_do_not_stop_the_loop(self):
        """A run that raises is logged; the loop goes on."""
        clock = Clock()
        calls = []

        def run():
            calls.append(1)
            raise ValueError("bad run")

        loop = JitteredLoop(run, lambda: 1.0, clock)
        loop.start()
        clock.pump([1.0] * 3)
        self.assertEqual(len(calls), 3)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 3)
        self.assertTrue(loop.running)
        loop.stop()
        self.assertFalse(loop.running)

    def test_start_now(self):
        """With now=True the first run is immediate."""
        clock = Clock()
        calls = []
        loop = JitteredLoop(lambda: calls.append(clock.seconds()), lambda: 3.0, clock)
        loop.start(now=True)
        self.assertEqual(calls, [0.0])
        loop.stop()
