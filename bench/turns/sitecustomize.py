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

    import gc

    collections = {}

    def collected(phase, info):
        # Full collections, timed: "gc <start> <ms> collected=N uncollectable=N".
        if info.get("generation") != 2:
            return
        if phase == "start":
            collections["start"] = (time.time(), time.perf_counter())
            return
        began = collections.pop("start", None)
        if began is not None:
            out.write("gc %.3f %.1f collected=%d uncollectable=%d\n" % (
                began[0], (time.perf_counter() - began[1]) * 1e3, info.get("collected", 0),
                info.get("uncollectable", 0)))

    gc.callbacks.insert(0, collected)
    if os.environ.get("SWARMD_TURNS_EVAL"):
        _serve_eval(os.environ["SWARMD_TURNS_EVAL"], reactor)


def _serve_eval(path, reactor):
    """
    Experiments on a held manager: each connection to the Unix socket at
    C{path} sends Python source, run in the reactor thread; what it assigns
    to C{result} comes back as text.
    """
    import socket
    import traceback

    from twisted.internet.threads import blockingCallFromThread

    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)

    def run(source):
        scope = {}
        try:
            exec(source, scope)  # noqa: S102 (bench tooling: a socket only root reaches)
            return str(scope.get("result"))
        except Exception:
            return traceback.format_exc()

    def serve():
        while True:
            conn, _ = server.accept()
            with conn:
                data = b""
                while not data.endswith(b"\n\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(blockingCallFromThread(reactor, run, data.decode()).encode())

    threading.Thread(target=serve, name="turns-eval", daemon=True).start()


if os.environ.get("SWARMD_TURNS"):
    import atexit  # noqa: F401  (the reactor is installed by twistd later)

    def _later():
        # twistd installs its reactor after site runs: wait for the module.
        while "twisted.internet.reactor" not in sys.modules:
            time.sleep(0.05)
        time.sleep(0.5)
        _install(os.environ["SWARMD_TURNS"], float(os.environ.get("SWARMD_TURNS_MS", "15")) / 1e3)

    threading.Thread(target=_later, name="turns-install", daemon=True).start()
