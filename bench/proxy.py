"""
Proxy overhead: the same requests sent straight to a real engine and through
swarmd, in one run.

    python bench/proxy.py [--requests 500] [--megabytes 200]

Measures inspect and ps latency (p50/p99, one keep-alive connection each),
logs throughput (a container that wrote N MB) and attach throughput (a
container writing N MB to an attached client).  Prints a table, then as its
last line one JSON object: inspect_ratio and ps_ratio (swarmd / direct
latency, p50), logs_ratio and attach_ratio (swarmd / direct throughput).
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from swarmd.testing.lab import Lab  # noqa: E402
from swarmd.testing.manager import ManagerProcess  # noqa: E402


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def latencies(host, port, path, count):
    """
    C{count} GETs of C{path} on one keep-alive connection.

    @return: seconds per request.
    """
    connection = http.client.HTTPConnection(host, port, timeout=30)
    samples = []
    for _ in range(count + 20):
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError("%s answered %d" % (path, response.status))
        samples.append(time.perf_counter() - started)
    connection.close()
    return samples[20:]


def read_stream(host, port, request, head_end=b"\r\n\r\n"):
    """
    Send a raw request and read the answer to the end.

    @return: C{(body bytes count, seconds)} from the first byte sent.
    """
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    started = time.perf_counter()
    sock.sendall(request)
    total = 0
    buffer = bytearray(1 << 20)
    head = b""
    while head_end not in head:
        chunk = sock.recv(65536)
        if not chunk:
            break
        head += chunk
    total = len(head.partition(head_end)[2])
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


def attach_throughput(engine, host, port, megabytes, label):
    """
    Attach to a fresh container that writes C{megabytes} MB, start it, and
    read everything.
    """
    name = "bench-attach-%s" % (label,)
    engine.docker("rm", "-f", name, check=False)
    engine.docker("create", "--name", name, "busybox", "sh", "-c",
                  "sleep 1; head -c %d /dev/zero" % (megabytes * 1000000,))
    sock = socket.create_connection((host, port))
    sock.sendall(("POST /v1.41/containers/%s/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % (name,)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(4096)
    total = len(head.partition(b"\r\n\r\n")[2])
    engine.docker("start", name)
    started = None
    buffer = bytearray(1 << 20)
    frames = FrameCounter()
    frames.feed(head.partition(b"\r\n\r\n")[2])
    while True:
        n = sock.recv_into(buffer)
        if not n:
            break
        if started is None:
            started = time.perf_counter()
        total += n
        frames.feed(bytes(buffer[:n]))
    elapsed = time.perf_counter() - started
    sock.close()
    engine.docker("rm", "-f", name, check=False)
    return total / elapsed / 1e6, frames.payload


class FrameCounter:
    """
    Count the payload bytes of a multiplexed stream (8-byte frame headers).
    """

    def __init__(self):
        self.payload = 0
        self._header = b""
        self._left = 0

    def feed(self, data):
        while data:
            if self._left:
                taken = min(self._left, len(data))
                self.payload += taken
                self._left -= taken
                data = data[taken:]
                continue
            needed = 8 - len(self._header)
            self._header += data[:needed]
            data = data[needed:]
            if len(self._header) == 8:
                self._left = int.from_bytes(self._header[4:8], "big")
                self._header = b""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--megabytes", type=int, default=200)
    options = parser.parse_args(argv)

    lab = Lab(n=1).start()
    manager = None
    try:
        engine = lab.engines[0]
        manager = ManagerProcess(lab.discovery()).start(healthy=1)
        direct = ("127.0.0.1", engine.port)
        swarm = ("127.0.0.1", manager.port)
        for i in range(30):
            engine.docker("run", "-d", "--name", "bench%02d" % i, "busybox", "sleep", "600")
        engine.docker("run", "--name", "bench-logs", "busybox", "sh", "-c",
                      "yes 0123456789012345678901234567890123456789012345678 | head -c %d"
                      % (options.megabytes * 1000000,))
        time.sleep(3)  # let the manager see every container

        rows = []
        results = {}
        for label, path in (("inspect", "/v1.41/containers/bench00/json"),
                            ("ps", "/v1.41/containers/json?all=1")):
            d = latencies(*direct, path, options.requests)
            s = latencies(*swarm, path, options.requests)
            results[label] = (d, s)
            rows.append((label + " p50 ms", statistics.median(d) * 1e3,
                         statistics.median(s) * 1e3))
            rows.append((label + " p99 ms", percentile(d, 0.99) * 1e3,
                         percentile(s, 0.99) * 1e3))
        logs_direct, size = logs_throughput(*direct, "bench-logs")
        logs_swarm, size_swarm = logs_throughput(*swarm, "bench-logs")
        if size_swarm != size:
            raise RuntimeError("logs through swarmd: %d bytes, direct %d" % (size_swarm, size))
        rows.append(("logs MB/s", logs_direct, logs_swarm))
        attach_direct, a1 = attach_throughput(engine, *direct, options.megabytes, "direct")
        attach_swarm, a2 = attach_throughput(engine, *swarm, options.megabytes, "swarm")
        if a1 != a2:
            raise RuntimeError("attach through swarmd: %d bytes, direct %d" % (a2, a1))
        rows.append(("attach MB/s", attach_direct, attach_swarm))

        print("%-16s %12s %12s %8s" % ("measure", "direct", "swarmd", "ratio"))
        for name, d, s in rows:
            print("%-16s %12.3f %12.3f %8.2f" % (name, d, s, s / d))
        summary = {
            "inspect_ratio": round(statistics.median(results["inspect"][1])
                                   / statistics.median(results["inspect"][0]), 3),
            "ps_ratio": round(statistics.median(results["ps"][1])
                              / statistics.median(results["ps"][0]), 3),
            "logs_ratio": round(logs_swarm / logs_direct, 3),
            "attach_ratio": round(attach_swarm / attach_direct, 3),
        }
        print(json.dumps(summary))
    finally:
        if manager is not None:
            manager.cleanup()
        lab.stop()


if __name__ == "__main__":
    main()
