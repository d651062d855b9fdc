"""
Tests for L{swarmd._malloc}: glibc's mmap threshold and the periodic
C{malloc_trim}, with a C library double and a L{Clock}.
"""

import platform

from twisted.internet.task import Clock
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from swarmd._malloc import (
    M_MMAP_THRESHOLD,
    M_TRIM_THRESHOLD,
    MMAP_THRESHOLD,
    TRIM_INTERVAL,
    GiveBackFreed,
    fix_thresholds,
)


class FakeLibC:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


def _missing():
    raise OSError("libc.so.6: cannot open shared object file")


class MmapThresholdTests(SynchronousTestCase):
    def test_fixed(self):
        """mallopt(M_MMAP_THRESHOLD, 32 MB) and mallopt(M_TRIM_THRESHOLD, 64 MB) are called."""
        libc = FakeLibC()
        self.assertTrue(fix_thresholds(lambda: libc))
        self.assertEqual(libc.calls, [("mallopt", M_MMAP_THRESHOLD, 32 * 1024 * 1024),
                                      ("mallopt", M_TRIM_THRESHOLD, 64 * 1024 * 1024)])
        self.assertEqual(MMAP_THRESHOLD, 32 * 1024 * 1024)

    def test_no_glibc(self):
        """Without glibc (no library, or no mallopt) nothing happens."""
        self.assertFalse(fix_thresholds(_missing))
        self.assertFalse(fix_thresholds(object))

    def test_real(self):
        """With glibc the real call succeeds."""
        if platform.libc_ver()[0] != "glibc":
            raise SkipTest("not glibc")
        self.assertTrue(fix_thresholds())


class GiveBackFreedTests(SynchronousTestCase):
    def test_trims_every_interval(self):
        """
        malloc_trim(0) runs every interval while the service runs (not at
        start), and no more once it stopped.
        """
        clock, libc = Clock(), FakeLibC()
        service = GiveBackFreed(clock, load=lambda: libc)
        service.startService()
        self.assertEqual(libc.calls, [])
        clock.advance(TRIM_INTERVAL)
        clock.advance(TRIM_INTERVAL)
        self.assertEqual(libc.calls, [("malloc_trim", 0)] * 2)
        service.stopService()
        clock.advance(TRIM_INTERVAL * 3)
        self.assertEqual(len(libc.calls), 2)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_no_glibc(self):
        """Without glibc the service schedules nothing."""
        clock = Clock()
        for load in (_missing, object):
            service = GiveBackFreed(clock, load=load)
            service.startService()
            self.assertEqual(clock.getDelayedCalls(), [])
            service.stopService()

    def test_real(self):
        """With glibc the real malloc_trim runs."""
        if platform.libc_ver()[0] != "glibc":
            raise SkipTest("not glibc")
        clock = Clock()
        service = GiveBackFreed(clock, interval=1.0)
        service.startService()
        self.addCleanup(service.stopService)
        clock.advance(1.0)
        self.assertTrue(service._loop.running)
