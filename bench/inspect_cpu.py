"""
What one cached inspect costs the manager (issue 17, the inspect ratio).

    python bench/inspect_cpu.py memory [--requests 20000]
    python bench/inspect_cpu.py real [--requests 5000] [--profile FILE] [--seconds 10]

C{memory}: the Python time of one inspect through a L{DockerSite} over an
in-memory manager (a L{StringTransport}: no sockets), answered directly by
the channel (L{swarmd.api.direct}) and by Twisted's path, twice each,
alternating.  C{real}: a manager over one real dockerd (a lab), the
manager's CPU time (from C{/proc}) per inspect sent on one keep-alive
connection, the client's p50; with C{--profile}, py-spy records the manager
at 1,000 Hz for C{--seconds} while inspects go on (C{--format raw}: read it
with C{bench/profile_top.py}).  Run it under the benchmarks lock.
"""

import argparse
import http.client
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import timed_get  # noqa: E402

PATH = "/v1.41/containers/bench00/json"


def memory(requests):
    from twisted.internet.testing import StringTransport

    from swarmd.api.site import DockerSite
    from swarmd.metrics import InstrumentedRoot
    from swarmd.testing.memory import MemoryManager

    manager = MemoryManager(["127.0.0.1:2376"], metrics=True)
    manager.request("POST", "/containers/create?name=bench00", {"Image": "busybox"})
    manager.clock.advance(1)
    manager.engines.flush()
    site = DockerSite(InstrumentedRoot(manager.api.resource(), manager.metrics))
    request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n"
               % (PATH,)).encode("ascii")
    for direct in (True, False, True, False):
        protocol = site.buildProtocol(None)
        protocol._channel.direct_answers = direct
        transport = StringTransport()
        protocol.makeConnection(transport)
        protocol.dataReceived(request)
        if not transport.value().startswith(b"HTTP/1.1 200 OK\r\n"):
            raise RuntimeError(transport.value()[:200])
        for _ in range(500):
            protocol.dataReceived(request)
            transport.clear()
        started = time.process_time()
        for _ in range(requests):
            protocol.dataReceived(request)
            transport.clear()
        print("%-8s %6.1f us a request" % ("direct" if direct else "twisted",
                                           (time.process_time() - started) / requests * 1e6))
    manager.stop()


def real(requests, profile, seconds):
    from proxy import wait_until_known

    from swarmd.testing.lab import Lab
    from swarmd.testing.manager import ManagerProcess

    lab = Lab(n=1).start()
    manager = None
    try:
        engine = lab.engines[0]
        manager = ManagerProcess(lab.discovery()).start(healthy=1)
        engine.docker("run", "-d", "--name", "bench00", "busybox", "sleep", "600")
        wait_until_known(manager.url, ["bench00"])
        pid = manager.process.pid
        connection = http.client.HTTPConnection("127.0.0.1", manager.port, timeout=60)
        for _ in range(200):
            timed_get(connection, PATH)

        def cpu():
            with open("/proc/%d/stat" % (pid,)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        before = cpu()
        latencies = sorted(timed_get(connection, PATH) for _ in range(requests))
        print("manager CPU %.1f us an inspect, client p50 %.3f ms"
              % ((cpu() - before) / requests * 1e6, latencies[requests // 2] * 1e3))
        if profile:
            spy = subprocess.Popen([
                os.path.join(os.path.dirname(sys.executable), "py-spy"), "record",
                "--pid", str(pid), "--rate", "1000", "--duration", str(seconds),
                "--format", "raw", "--output", profile, "--nonblocking"])
            while spy.poll() is None:
                timed_get(connection, PATH)
        connection.close()
    finally:
        if manager is not None:
            manager.cleanup()
        lab.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("where", choices=("memory", "real"))
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--profile", help="py-spy raw output file (real only)")
    parser.add_argument("--seconds", type=int, default=10)
    options = parser.parse_args(argv)
    if options.where == "memory":
        memory(options.requests or 20000)
    else:
        real(options.requests or 5000, options.profile, options.seconds)


if __name__ == "__main__":
    main()
