"""
Proxy overhead: the same requests sent straight to a real engine and through
swarmd, in one run.

    python bench/proxy.py [--requests 500] [--megabytes 200] [--runs 3] [--creates 20]
                          [--only inspect,ps,logs,attach,create]

Measures inspect and ps latency (p50/p99, one keep-alive connection per
side, the two sides alternating request by request),
logs throughput (a container that wrote N MB), attach throughput (a
container writing N MB to an attached client, each side twice per run in
ABBA order, the container logging nothing: with the default json-file
driver dockerd would also write each of its 200 MB of zero bytes as
"\u0000", 1.2 GB per read, and the page cache's writeback then slowed
whichever reads came later) and create+start of a
container that keeps running (p50 of --creates pairs, the two sides
alternating), --runs times on the same engine.  Prints each run's table,
each ratio of every run with their median, and the targets (issue 17:
inspect <= 1.05x direct, ps <= 0.5x, logs >= 0.98x, attach >= 1.0x,
create <= 1.2x) judged on the medians, then as its last line one JSON
object of the median ratios: inspect_ratio, ps_ratio, create_ratio
(swarmd / direct latency, p50), logs_ratio and attach_ratio (swarmd /
direct throughput).  Each invocation is also appended to
bench/results/proxy.jsonl.
"""

import argparse
import json
import os
import socket
import statistics
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import creates, paired_gets, percentiles  # noqa: E402

from swarmd.testing.lab import Lab  # noqa: E402
from swarmd.testing.manager import ManagerProcess  # noqa: E402

RESULTS = os.path.join(HERE, "results", "proxy.jsonl")

#: Seconds any socket read may wait before the benchmark gives up.
READ_TIMEOUT = 120

#: Requests sent before measuring (connection set-up, caches).
WARMUP = 20


def read_head(sock):
    """
    Read an HTTP response head.

    @return: C{(status, bytes after the head)}.
    @raise RuntimeError: for a connection closed before the head ended.
    """
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the answer's head: %r" % (head[:200],))
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def wait_until_known(manager_url, names, timeout=60):
    """
    Wait until the manager's cache holds every container of C{names}.
    """
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(manager_url + "/containers/json?all=1", timeout=10) as f:
            known = {n.rsplit("/", 1)[-1] for c in json.load(f) for n in c["Names"]}
        if set(names) <= known:
            return
        if time.monotonic() > deadline:
            raise RuntimeError("the manager does not know %s" % (sorted(set(names) - known),))
        time.sleep(0.1)


def read_stream(host, port, request):
    """
    Send a raw request and read the answer to the end.

    @return: C{(body bytes count, seconds)} from the first byte sent.
    """
    sock = socket.create_connection((host, port), timeout=READ_TIMEOUT)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    started = time.perf_counter()
    sock.sendall(request)
    status, rest = read_head(sock)
    if status != 200:
        raise RuntimeError("%r answered %d: %r" % (request.split(b"\r\n")[0], status, rest))
    total = len(rest)
    buffer = bytearray(1 << 20)
    while True:
        n = sock.recv_into(buffer)
        if not n:
            break
        total += n
    elapsed = time.perf_counter() - started
    sock.close()
    return total, elapsed


def logs_throughput(host, port, name):
    # HTTP/1.0: the body comes unchunked until the connection closes.
    request = ("GET /v1.41/containers/%s/logs?stdout=1 HTTP/1.0\r\nHost: x\r\n"
               "Connection: close\r\n\r\n" % (name,)).encode()
    size, seconds = read_stream(host, port, request)
    return size / seconds / 1e6, size


def attach_read(host, port, name, start):
    """
    Attach to the created container C{name}, start it (C{start(name)}), and
    read its multiplexed output to the end.

    The clock runs from the first byte after the start to the end of the
    stream (the container's start is not the relay's work).

    @return: C{(bytes read, seconds, payload bytes in the frames)}.
    """
    sock = socket.create_connection((host, port), timeout=READ_TIMEOUT)
    try:
        sock.sendall(("POST /v1.41/containers/%s/attach?stream=1&stdout=1 HTTP/1.1\r\n"
                      "Host: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                      % (name,)).encode())
        status, rest = read_head(sock)
        if status not in (101, 200):
            raise RuntimeError("attach to %s at port %d answered %d: %r"
                               % (name, port, status, rest))
        total = len(rest)
        frames = FrameCounter()
        frames.feed(rest)
        start(name)
        started = None
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        while True:
            n = sock.recv_into(buffer)
            if not n:
                break
            if started is None:
                started = time.perf_counter()
            total += n
            frames.feed(view[:n])
        elapsed = time.perf_counter() - started
    finally:
        sock.close()
    return total, elapsed, frames.payload


class FrameCounter:
    """
    Count the payload bytes of a multiplexed stream (8-byte frame headers),
    in time linear in the bytes fed, whatever the size of each read (the
    previous version sliced the rest of a read at every frame: quadratic in
    the read's size, so it charged more to whichever side delivered larger
    reads).
    """

    def __init__(self):
        self.payload = 0
        self._header = b""
        self._left = 0

    def feed(self, data):
        """
        @param data: the next bytes of the stream (C{bytes} or a
            C{memoryview}).
        """
        position, end = 0, len(data)
        while position < end:
            if self._left:
                taken = min(self._left, end - position)
                self.payload += taken
                self._left -= taken
                position += taken
                continue
            needed = 8 - len(self._header)
            self._header += bytes(data[position:position + needed])
            position += needed
            if len(self._header) == 8:
                self._left = int.from_bytes(self._header[4:8], "big")
                self._header = b""


MEASURES = ("inspect", "ps", "logs", "attach", "create")

# (summary key, table row, target, whether a median meets it)
TARGETS = (
    ("inspect_ratio", "inspect p50 ms", "<= 1.05", lambda r: r <= 1.05),
    ("ps_ratio", "ps p50 ms", "<= 0.5", lambda r: r <= 0.5),
    ("logs_ratio", "logs MB/s", ">= 0.98", lambda r: r >= 0.98),
    ("attach_ratio", "attach MB/s", ">= 1.0", lambda r: r >= 1.0),
    ("create_ratio", "create p50 ms", "<= 1.2", lambda r: r <= 1.2),
)


def measures(text):
    chosen = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in chosen if name not in MEASURES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError("measures are some of %s, not %r"
                                         % (",".join(MEASURES), text))
    return chosen


def measure(engine, direct, swarm, options, manager_url, run):
    """
    One run: every measure straight to the engine and through swarmd.

    @return: C{[(name, direct, swarmd)]}.
    """
    rows = []
    only = options.only
    for label, path in (("inspect", "/v1.41/containers/bench00/json"),
                        ("ps", "/v1.41/containers/json?all=1")):
        if label not in only:
            continue
        # The two sides alternate request by request (both see the same
        # load from the rest of the machine), after a warm-up.
        direct_samples, swarm_samples = paired_gets([direct, swarm], path, options.requests,
                                                    warmup=WARMUP, timeout=READ_TIMEOUT)
        d = percentiles(direct_samples)
        s = percentiles(swarm_samples)
        rows.append((label + " p50 ms", d[0], s[0]))
        rows.append((label + " p99 ms", d[2], s[2]))
    if "logs" in only:
        rows.append(measure_logs(direct, swarm))
    if "attach" in only:
        rows.append(measure_attach(engine, direct, swarm, options, manager_url, run))
    if "create" in only:
        rows.append(measure_creates(direct, swarm, options, run))
    return rows


def measure_logs(direct, swarm):
    logs_direct, size = logs_throughput(*direct, "bench-logs")
    logs_swarm, size_swarm = logs_throughput(*swarm, "bench-logs")
    if size_swarm != size:
        raise RuntimeError("logs through swarmd: %d bytes, direct %d" % (size_swarm, size))
    return ("logs MB/s", logs_direct, logs_swarm)


#: The order of the attach reads in even runs (odd runs swap the sides).
ATTACH_ORDER = ("direct", "swarmd", "swarmd", "direct")


def measure_attach(engine, direct, swarm, options, manager_url, run):
    """
    Attach throughput: each side reads a fresh container's C{--megabytes}
    MB twice per run, in ABBA order (direct, swarmd, swarmd, direct in even
    runs, swarmd, direct, direct, swarmd in odd ones), so a load change in
    the machine during the run weighs on both sides alike instead of on
    whichever came second.  Both sides read the same way (one socket,
    1 MB C{recv_into}, the same frame counting) and must get every payload
    byte.  A side's figure is its bytes over its seconds, both reads summed.
    The four containers are created (and known to the manager) before the
    first read, so the reads follow each other closely; they log nothing
    (C{--log-driver none}), so the figure is the attach stream's, not the
    disk's (see the module's docstring).
    """
    order = ATTACH_ORDER if run % 2 == 0 else tuple(
        "swarmd" if side == "direct" else "direct" for side in ATTACH_ORDER)
    addresses = {"direct": direct, "swarmd": swarm}
    names = ["bench-attach-%d-%d-%s" % (run, i, side) for i, side in enumerate(order)]
    for name in names:
        engine.docker("rm", "-f", name, check=False)
        engine.docker("create", "--name", name, "--log-driver", "none", "busybox", "sh", "-c",
                      "sleep 1; head -c %d /dev/zero" % (options.megabytes * 1000000,))
    # Made behind the manager's back: wait until its events brought them in.
    wait_until_known(manager_url, names)
    sums = {side: [0, 0.0] for side in addresses}

    def start(name):
        engine.docker("start", name)

    try:
        for name, side in zip(names, order, strict=True):
            size, seconds, payload = attach_read(*addresses[side], name, start)
            if payload != options.megabytes * 1000000:
                raise RuntimeError("attach through %s: %d payload bytes, not %d"
                                   % (side, payload, options.megabytes * 1000000))
            sums[side][0] += size
            sums[side][1] += seconds
    finally:
        for name in names:
            engine.docker("rm", "-f", name, check=False)
    return ("attach MB/s",) + tuple(sums[side][0] / sums[side][1] / 1e6
                                    for side in ("direct", "swarmd"))


def measure_creates(direct, swarm, options, run):
    # create+start of a container that keeps running, alternating sides.
    made_direct, made_swarm = [], []
    for i in range(options.creates):
        made_direct += creates(*direct, 1, "cd%d-%03d-" % (run, i), cmd=("sleep", "600"))
        made_swarm += creates(*swarm, 1, "cs%d-%03d-" % (run, i), cmd=("sleep", "600"))
    return ("create p50 ms", percentiles(made_direct)[0], percentiles(made_swarm)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3,
                        help="measurement runs (each printed, then the medians)")
    parser.add_argument("--creates", type=int, default=20,
                        help="create+start pairs per side and run")
    parser.add_argument("--only", type=measures, default=MEASURES,
                        help="comma-separated measures to run, of: " + ",".join(MEASURES))
    options = parser.parse_args(argv)

    lab = Lab(n=1).start()
    manager = None
    try:
        engine = lab.engines[0]
        manager = ManagerProcess(lab.discovery()).start(healthy=1)
        direct = ("127.0.0.1", engine.port)
        swarm = ("127.0.0.1", manager.port)
        names = ["bench%02d" % i for i in range(30)]
        for name in names:
            engine.docker("run", "-d", "--name", name, "busybox", "sleep", "600")
        engine.docker("run", "--name", "bench-logs", "busybox", "sh", "-c",
                      "yes 0123456789012345678901234567890123456789012345678 | head -c %d"
                      % (options.megabytes * 1000000,))
        wait_until_known(manager.url, names + ["bench-logs"])

        runs = []
        for run in range(options.runs):
            rows = measure(engine, direct, swarm, options, manager.url, run)
            runs.append(rows)
            print("run %d" % (run + 1,))
            print("%-16s %12s %12s %8s" % ("measure", "direct", "swarmd", "ratio"))
            for name, d, s in rows:
                print("%-16s %12.3f %12.3f %8.2f" % (name, d, s, s / d))
        print("ratios of each run and their median (swarmd / direct)")
        summary = {}
        for name in [row[0] for row in runs[0]]:
            each = [s / d for rows in runs for rname, d, s in rows if rname == name]
            median = statistics.median(each)
            print("%-16s %s   median %.3f" % (name, "  ".join("%.3f" % r for r in each), median))
            summary[name] = (each, median)
        result = {key: round(summary[row][1], 3) for key, row, _, _ in TARGETS
                  if row in summary}
        for key, _row, target, met in TARGETS:
            if key not in result:
                continue
            print("target %-14s %-7s %s (median of %d runs)" % (
                key, target, "met" if met(result[key]) else "MISSED", len(runs)))
        os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(dict(result, requests=options.requests, only=list(options.only),
                                    megabytes=options.megabytes,
                                    when=time.strftime("%Y-%m-%dT%H:%M:%S"),
                                    runs=[{name: [round(d, 3), round(s, 3)]
                                           for name, d, s in rows} for rows in runs])) + "\n")
        print(json.dumps(result))
    finally:
        if manager is not None:
            manager.cleanup()
        lab.stop()


if __name__ == "__main__":
    main()
