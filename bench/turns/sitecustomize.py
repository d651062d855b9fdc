"""
Long reactor turns of a benchmarked manager, with what ran in them: put
this directory on the manager's C{PYTHONPATH} and name a file in
C{SWARMD_TURNS} (C{bench/scale.py --turns FILE} does both).

A watcher thread looks at the reactor thread every millisecond; once a turn
(from the end of one poll to the start of the next) has run longer than
C{SWARMD_TURNS_MS} (default 15 ms), it writes the turn's start, the time
so far and the reactor thread's stack, at most once every 10 ms of that turn,
so a long turn shows each of the calls it spent its time in.  Lines:

    turn <start, time.time()> <ms so far> <frames, innermost first>

Bench tooling only: nothing of it is in the product.
"""

import os
import sys
import threading
import time


def _install(path, threshold):
    from twisted.internet import reactor

    state = {"start": None}
    main = threading.main_thread().ident
    poll = reactor.doIteration

    def doIteration(delay):
        state["start"] = None
        try:
            poll(delay)
        finally:
            state["start"] = time.monotonic()

    reactor.doIteration = doIteration
    out = open(path, "a", buffering=1)

    def watch():
        last = None
        while True:
            time.sleep(0.001)
            start = state["start"]
            if start is None:
                continue
            ran = time.monotonic() - start
            if ran < threshold:
                continue
            if last is not None and last[0] == start and ran - last[1] < 0.010:
                continue
            frame = sys._current_frames().get(main)
            if frame is None or state["start"] != start:
                continue
            frames = []
            while frame is not None and len(frames) < 14:
                code = frame.f_code
                frames.append("%s:%s:%d" % (os.path.basename(code.co_filename),
                                            code.co_qualname, frame.f_lineno))
                frame = frame.f_back
            last = (start, ran)
            out.write("turn %.3f %.1f %s\n" % (time.time() - ran, ran * 1e3,
                                               " < ".join(frames)))

    threading.Thread(target=watch, name="turns", daemon=True).start()


if os.environ.get("SWARMD_TURNS"):
    import atexit  # noqa: F401  (the reactor is installed by twistd later)

    def _later():
        # twistd installs its reactor after site runs: wait for the module.
        while "twisted.internet.reactor" not in sys.modules:
            time.sleep(0.05)
        time.sleep(0.5)
        _install(os.environ["SWARMD_TURNS"], float(os.environ.get("SWARMD_TURNS_MS", "15")) / 1e3)

    threading.Thread(target=_later, name="turns-install", daemon=True).start()
