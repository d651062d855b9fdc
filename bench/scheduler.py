"""
Scheduler decision latency.

Builds clusters of 10, 100 and 1,000 engines with 30 containers each
(realistic inspect dicts: some publishing host ports, some stopped, labels,
CPU and memory reservations; engine labels and images), then times one
placement decision with all seven filters and spread, then binpack:

  - warm: the nodes are built once and every decision runs on them (each
    node's indexes were computed by the first decision), as the cluster
    sees them when it keeps one view per engine between decisions;
  - one-new: as warm, but one node's view is rebuilt before each decision
    (one engine changed since the last one: its indexes are recomputed);
  - cold: fresh views of every node for every decision (every index is
    recomputed: 30 containers walked per node).

The request publishes a port, reserves memory and CPU, and has a
constraint, an anti-affinity and a soft image affinity.

Prints a table of p50/p99 in milliseconds and, as its last line, one JSON
object C{{"p99_ms": {"10": ..., "100": ..., "1000": ...}}} with the warm
spread p99::

    PYTHONPATH=. python bench/scheduler.py [--runs N] [--sizes 10,100,1000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time

from swarmd.config import DEFAULT_FILTERS
from swarmd.scheduler import ContainerConfig, Node, Scheduler, filters_for, strategy_for
from swarmd.testing.scheduler import GIB, image_summary, inspect_container

CONTAINERS_PER_NODE = 30
IMAGES = ["busybox", "redis:7", "nginx:1.25", "postgres:16", "team/api:2.3", "team/worker:2.3"]


def engine(index, rng):
    """
    The state of one engine: its fields and the inspect dicts of its containers.
    """
    name = "node-%04d" % (index,)
    containers = []
    for i in range(CONTAINERS_PER_NODE):
        image = rng.choice(IMAGES)
        ports = None
        if i % 5 == 0:
            ports = {"80/tcp": str(8000 + i), "443/tcp": str(9000 + i)}
        elif i % 7 == 0:
            ports = {"6379/tcp": [("127.0.0.1", str(16000 + i))]}
        containers.append(inspect_container(
            "%s-app-%02d" % (name, i), image=image,
            labels={"com.example.team": rng.choice(["core", "data", "web"]),
                    "com.example.tier": rng.choice(["front", "back"]),
                    "com.docker.swarm.id": "%064x" % (index * 1000 + i)},
            env=["APP_ENV=production", "LOG_LEVEL=info"],
            cpu_shares=rng.choice([0, 0, 0, 64]),  # 64 shares = 1 CPU of 16
            memory=rng.choice([0, 64, 128, 256]) * 1024 * 1024,
            ports=ports, running=i % 6 != 0))
    return {
        "id": "%036X|10.%d.%d.2:2375" % (index, index // 250, index % 250),
        "name": name,
        "addr": "10.%d.%d.2:2375" % (index // 250, index % 250),
        "labels": {"storagedriver": "overlay2", "kernelversion": "6.1.0-18-amd64",
                   "operatingsystem": "Debian GNU/Linux 12 (bookworm)", "ostype": "linux",
                   "storage": "ssd" if index % 3 else "hdd",
                   "zone": "zone-%d" % (index % 4), "containerslots": "64"},
        "cpus": 16,
        "memory": 64 * GIB,
        "containers": containers,
        "images": [image_summary(image) for image in IMAGES],
    }


def views(engines):
    """
    Fresh L{Node} views, as the cluster builds them for each decision.
    """
    return [Node(id=e["id"], name=e["name"], addr=e["addr"], labels=e["labels"],
                 total_cpus=e["cpus"] + e["cpus"] * 5 // 100,
                 total_memory=e["memory"] + e["memory"] * 5 // 100, cpus=e["cpus"],
                 containers=e["containers"], images=e["images"], healthy=True,
                 health_indicator=100)
            for e in engines]


REQUEST = {
    "Image": "team/api:2.3",
    "Env": ["APP_ENV=production", "constraint:storage==ssd",
            "affinity:container!=node-0000-app-00", "affinity:image==~team/api:2.3"],
    "Labels": {"com.example.team": "core"},
    "ExposedPorts": {"8080/tcp": {}},
    "HostConfig": {"CpuShares": 1, "Memory": 512 * 1024 * 1024,
                   "PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                   "NetworkMode": "default"},
}


MODES = ("warm", "one-new", "cold")


def measure(scheduler, config, engines, runs, mode):
    """
    @return: a sorted C{list} of decision times in milliseconds.
    """
    nodes = views(engines)
    scheduler.rank(config, nodes)
    times = []
    gc.collect()
    for run in range(runs):
        if mode == "cold":
            nodes = views(engines)
        elif mode == "one-new":
            index = run % len(engines)
            nodes[index] = views(engines[index:index + 1])[0]
        start = time.perf_counter()
        scheduler.rank(config, nodes)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return times


def percentile(times, fraction):
    return times[min(len(times) - 1, int(round(fraction * (len(times) - 1))))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=0,
                        help="decisions per case (default: 2000 / 1000 / 200 by size)")
    parser.add_argument("--sizes", default="10,100,1000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rng = random.Random(42)
    config = ContainerConfig.from_create_body(REQUEST, "api")
    results = {}
    print("%-8s %6s %-7s %6s %9s %9s %9s" % ("strategy", "nodes", "views", "runs",
                                              "p50 ms", "p99 ms", "max ms"))
    for size in sizes:
        engines = [engine(i, rng) for i in range(size)]
        runs = args.runs or {10: 2000, 100: 1000}.get(size, 500)
        for strategy in ("spread", "binpack"):
            scheduler = Scheduler(strategy_for(strategy), filters_for(DEFAULT_FILTERS))
            chosen = scheduler.select(config, views(engines))
            if chosen.labels["storage"] != "ssd":
                raise SystemExit("wrong placement on %s" % (chosen.name,))
            for mode in MODES:
                count = runs if mode != "cold" else max(20, runs // 5)
                times = measure(scheduler, config, engines, count, mode)
                p50, p99 = percentile(times, 0.50), percentile(times, 0.99)
                results[(strategy, size, mode)] = p99
                print("%-8s %6d %-7s %6d %9.3f %9.3f %9.3f" % (
                    strategy, size, mode, count, p50, p99, times[-1]))
        sys.stdout.flush()
    print(json.dumps({"p99_ms": {str(size): round(results[("spread", size, "warm")], 3)
                                 for size in sizes}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
