"""
How the manager's C library allocator holds memory (glibc; elsewhere
nothing is changed).

The manager builds large answers anew when what they show changed: a 25 MB
C{docker ps -a} at 1,000 engines, 1-5 MB C{/info}.  glibc maps each block
over its mmap threshold on its own, and a fresh mapping's pages fault in,
zeroed by the kernel, as the answer is written: joining a 25 MB answer took
10-12 ms so, against 1.5 ms in memory the heap already holds.  Under the
threshold, blocks come from the heap and reuse its pages; but glibc keeps
what is freed there.  Left to itself the threshold rises to the largest
block freed (up to 32 MB), and a manager that served a burst of large
answers held that memory for good (~140 MB at 1,000 engines after the
scale benchmark's load, on 255 MB idle).

So the manager fixes the threshold at glibc's largest (L{fix_thresholds}:
answers up to 32 MB reuse the heap's pages), keeps glibc from giving back
the top of the heap as soon as an answer there is freed (its trim
threshold, else the next answer faults its pages in again), and gives the
freed pages back every few seconds instead (L{GiveBackFreed},
C{malloc_trim}): a burst of large answers reuses its memory while it lasts
and does not keep it after.  Larger answers (a 122 MB C{ps -a} at 5,000
engines) are mapped on their own, as before.
"""

from twisted.application.service import Service
from twisted.internet.task import LoopingCall

#: glibc's C{M_MMAP_THRESHOLD} parameter of C{mallopt}, and the value the
#: manager fixes it at: glibc's largest on 64-bit systems
#: (C{DEFAULT_MMAP_THRESHOLD_MAX}).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024

#: glibc's C{M_TRIM_THRESHOLD} parameter, and the value the manager fixes it
#: at: the free top of the heap is given back at once only past two of the
#: largest blocks it holds.
M_TRIM_THRESHOLD = -1
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

#: Seconds between two C{malloc_trim} calls.  One took 2.6 ms with a 25 MB
#: block just freed (micro-benchmark), 0.1-0.5 ms in a manager held at 5,000
#: engines.
TRIM_INTERVAL = 10.0


def _libc():
    import ctypes

    return ctypes.CDLL("libc.so.6")


def fix_thresholds(load=_libc):
    """
    Fix glibc's mmap threshold at L{MMAP_THRESHOLD} (which also stops it
    moving by itself) and its trim threshold at L{TRIM_THRESHOLD}.

    @param load: loads the C library (tests give a double).
    @return: whether both were fixed (not on a C library other than glibc).
    """
    try:
        libc = load()
        return (bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
                and bool(libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)))
    except (OSError, AttributeError):
        return False


class GiveBackFreed(Service):
    """
    While running, give the pages the allocator holds free back to the
    system every C{interval} seconds (glibc's C{malloc_trim}: every arena,
    not only the top of the heap).  Does nothing without glibc.
    """

    def __init__(self, clock, interval=TRIM_INTERVAL, load=_libc):
        """
        @param clock: the reactor the calls are scheduled with.
        @param load: loads the C library (tests give a double).
        """
        self._clock = clock
        self._interval = interval
        self._load = load
        self._loop = None

    def startService(self):
        Service.startService(self)
        try:
            trim = self._load().malloc_trim
        except (OSError, AttributeError):
            return
        self._loop = LoopingCall(trim, 0)
        self._loop.clock = self._clock
        self._loop.start(self._interval, now=False)

    def stopService(self):
        Service.stopService(self)
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
