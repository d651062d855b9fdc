"""
The scale benchmark's measurements against a lab of real engines, each
request paired in the same run with the same request sent straight to one
engine.

    python bench/real.py [--engines 3] [--calls 300] [--creates 50]

Prints a table (direct, through swarmd, ratio) and, as its last line, one
JSON object with the ratios (swarmd / direct latency) and the manager's RSS
and idle CPU.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from _common import ProcessMeter, creates, percentiles, timed_gets  # noqa: E402

from swarmd.testing.lab import Lab  # noqa: E402
from swarmd.testing.manager import ManagerProcess  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--engines", type=int, default=3)
    parser.add_argument("--containers", type=int, default=10,
                        help="running containers per engine before measuring")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--creates", type=int, default=50)
    parser.add_argument("--idle", type=float, default=10.0)
    options = parser.parse_args(argv)

    lab = Lab(n=options.engines).start()
    manager = None
    try:
        for engine in lab.engines:
            for i in range(options.containers):
                engine.docker("run", "-d", "--name", "seed%02d" % i, "busybox", "sleep", "600")
        started = time.monotonic()
        manager = ManagerProcess(lab.discovery()).start(healthy=options.engines)
        healthy_s = time.monotonic() - started
        meter = ProcessMeter(manager.process.pid)
        time.sleep(2)
        idle_cpu = meter.cpu_percent(options.idle)

        direct = ("127.0.0.1", lab.engines[0].port)
        swarm = ("127.0.0.1", manager.port)
        rows = []
        for label, path in (("info", "/v1.41/info"), ("ps -a", "/v1.41/containers/json?all=1"),
                            ("inspect", "/v1.41/containers/seed00/json")):
            if label == "inspect":
                # Through the manager the name must be unique cluster-wide.
                swarm_path = "/v1.41/containers/%s/seed00/json" % (lab.engines[0].name,)
            else:
                swarm_path = path
            d = percentiles(timed_gets(*direct, path, options.calls))
            s = percentiles(timed_gets(*swarm, swarm_path, options.calls))
            rows.append((label, d, s))
        d = percentiles(creates(*direct, options.creates, "direct", cmd=("true",)))
        s = percentiles(creates(*swarm, options.creates, "swarm", cmd=("true",)))
        rows.append(("create+start", d, s))
        rss = meter.rss_mb()

        print("engines %d, %d containers each; all healthy after %.2f s" % (
            options.engines, options.containers, healthy_s))
        print("%-14s %24s %24s %8s" % ("ms p50/p90/p99", "direct", "swarmd", "p50 x"))
        summary = {"engines": options.engines, "healthy_s": round(healthy_s, 2)}
        for label, d, s in rows:
            print("%-14s %8.2f %7.2f %7.2f %8.2f %7.2f %7.2f %8.2f" % (
                label, d[0], d[1], d[2], s[0], s[1], s[2], s[0] / d[0]))
            key = label.replace(" -a", "").replace("+start", "")
            summary[key + "_ratio"] = round(s[0] / d[0], 3)
        print("manager RSS %.0f MB, idle CPU %.1f %%" % (rss, idle_cpu))
        summary.update(rss_mb=round(rss, 1), idle_cpu_pct=round(idle_cpu, 2))
        print(json.dumps(summary))
    finally:
        if manager is not None:
            manager.cleanup()
        lab.stop()


if __name__ == "__main__":
    main()
