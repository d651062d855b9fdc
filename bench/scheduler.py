"""
What one container create costs the manager, at 10, 100 and 1,000 engines.

Each size is a real L{Cluster} of real L{Engine}s over in-memory engine
clients (30 containers each: realistic inspect dicts, some publishing host
ports, some stopped, labels, CPU and memory reservations; engine labels and
images), connected through the engines' own connect and refresh code.  All
seven filters run, with spread and then binpack.

Cases:

  - create: the manager's whole synchronous share of one create, timed from
    the request body's bytes to the engine call: the body parsed into a
    L{ContainerConfig}, the name checked cluster-wide, L{Cluster.nodes}
    (one cached view per engine; the engine that took the previous create
    changed since, so its view is rebuilt; L{IN_FLIGHT} earlier creates are
    still pending and added to their node's view), filters and strategy,
    the engine body and the pending entry.  Between two creates (not timed)
    the oldest create in flight is answered, inspected into the cache and
    then removed again, so every decision sees the same cluster.
  - rank: filters and strategy alone, on views built once (the figure this
    bench printed before it timed the whole create).

The request publishes a port, reserves memory and CPU, and has a
constraint, an anti-affinity and a soft image affinity.

Prints a table of p50/p99/max wall-clock milliseconds (and the p99 of the
thread's CPU time, which a busy machine does not inflate) and, as its last
line, one JSON object C{{"p99_ms": {"10": ..., "100": ..., "1000": ...}}}:
for each size the wall-clock create p99 of the worse strategy::

    PYTHONPATH=. python bench/scheduler.py [--runs N] [--sizes 10,100,1000]
        [--profile STRATEGY:SIZE]
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import random
import sys
import time

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock

from swarmd.cluster import Cluster, EngineOptions
from swarmd.config import DEFAULT_FILTERS
from swarmd.scheduler import ContainerConfig, Scheduler, filters_for, strategy_for
from swarmd.testing.fakediscovery import FakeDiscovery
from swarmd.testing.nodes import GIB, image_summary, inspect_container
from swarmd.testing.stubengine import StubClient

CONTAINERS_PER_NODE = 30
IMAGES = ["busybox", "redis:7", "nginx:1.25", "postgres:16", "team/api:2.3", "team/worker:2.3"]

#: Creates answered by no engine yet when the next one is placed.
IN_FLIGHT = 4

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
REQUEST_BYTES = json.dumps(REQUEST).encode("utf-8")


def engine_state(index, rng):
    """
    The state of one engine: its info answer, containers and images.
    """
    name = "node-%04d" % (index,)
    containers = {}
    for i in range(CONTAINERS_PER_NODE):
        image = rng.choice(IMAGES)
        ports = None
        if i % 5 == 0:
            ports = {"80/tcp": str(8000 + i), "443/tcp": str(9000 + i)}
        elif i % 7 == 0:
            ports = {"6379/tcp": [("127.0.0.1", str(16000 + i))]}
        info = inspect_container(
            "%s-app-%02d" % (name, i), image=image,
            labels={"com.example.team": rng.choice(["core", "data", "web"]),
                    "com.example.tier": rng.choice(["front", "back"]),
                    "com.docker.swarm.id": "%064x" % (index * 1000 + i)},
            env=["APP_ENV=production", "LOG_LEVEL=info"],
            cpu_shares=rng.choice([0, 0, 0, 64]),  # 64 shares = 1 CPU of 16
            memory=rng.choice([0, 64, 128, 256]) * 1024 * 1024,
            ports=ports, running=i % 6 != 0)
        containers[info["Id"]] = info
    info = {
        "ID": "%036X" % (index,), "Name": name, "NCPU": 16, "MemTotal": 64 * GIB,
        "Driver": "overlay2", "KernelVersion": "6.1.0-18-amd64",
        "OperatingSystem": "Debian GNU/Linux 12 (bookworm)", "OSType": "linux",
        "Labels": ["storage=%s" % ("ssd" if index % 3 else "hdd"),
                   "zone=zone-%d" % (index % 4), "containerslots=64"],
        "SystemTime": "2024-05-01T10:00:00.000000000Z",
    }
    return info, containers, [image_summary(image) for image in IMAGES]


class BenchClient(StubClient):
    """
    An engine client answering at once from memory, except creates: those
    wait in L{waiting} until the bench answers them.
    """

    def __init__(self, address, state, waiting):
        StubClient.__init__(self, address)
        self.info_answer, self.containers, self.summaries = state
        self.images = {tag.rsplit(":", 1)[0] for summary in self.summaries
                       for tag in summary.get("RepoTags") or ()}
        self.waiting = waiting
        self._ids = 0

    def list_images(self):
        return succeed(self.summaries)

    def create_container(self, body, name=None, auth=None):
        d = Deferred()
        self.waiting.append((self, d, body, name))
        return d

    def answer(self, d, body, name):
        """
        Create the container for real: it is inspected into the cache.

        @return: its ID.
        """
        self._ids += 1
        cid = "%032x%032x" % (id(self), self._ids)
        host = body["HostConfig"]
        info = inspect_container(name, id=cid, image=body["Image"], labels=body["Labels"],
                                 cpu_shares=host.get("CpuShares") or 0,
                                 memory=host.get("Memory") or 0, running=False)
        self.containers[cid] = info
        d.callback({"Id": cid, "Warnings": []})
        return cid


def make_cluster(size, strategy, rng):
    """
    A connected cluster of C{size} in-memory engines.

    @return: C{(cluster, clients, waiting)}.
    """
    clock = Clock()
    states = {"10.%d.%d.2:2375" % (i // 250, i % 250): engine_state(i, rng)
              for i in range(size)}
    waiting = collections.deque()
    clients = {}

    def factory(address):
        clients[address] = BenchClient(address, states[address], waiting)
        return clients[address]

    discovery = FakeDiscovery(clock=clock)
    cluster = Cluster(clock, discovery, factory,
                      Scheduler(strategy_for(strategy), filters_for(DEFAULT_FILTERS)),
                      EngineOptions(overcommit=0.05), random=random.Random(1))
    cluster.start()
    discovery.set_entries(list(states))
    clock.advance(0)
    healthy = len(cluster.healthy_engines())
    if healthy != size:
        raise SystemExit("only %d of %d engines connected" % (healthy, size))
    return cluster, clients, waiting


def settle_one(cluster, waiting, outcomes):
    """
    Answer the oldest create in flight, then remove its container again.
    """
    client, d, body, name = waiting.popleft()
    cid = client.answer(d, body, name)
    result = outcomes.pop(name)
    if not isinstance(result, tuple) or result[1]["Id"] != cid or not cluster.container(name):
        raise SystemExit("create of %s failed or was not cached: %r" % (name, result))
    engine = result[0]
    del client.containers[cid]
    engine.forget_container(cid)


def one_create(cluster, run, outcomes):
    """
    The timed part: parse the request, place it, record it as pending.
    """
    name = "api-%06d" % (run,)
    config = ContainerConfig.from_create_body(json.loads(REQUEST_BYTES), name)
    d = cluster.create_container(config)
    d.addBoth(lambda result: outcomes.__setitem__(name, result))
    return name


def measure_create(cluster, waiting, runs):
    """
    @return: sorted C{list}s of create times in milliseconds: wall clock,
        and CPU time of this thread (what other processes on a busy
        machine do not inflate).
    """
    outcomes = {}
    times, cpu_times = [], []
    warmup = IN_FLIGHT + 20
    for run in range(warmup + runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        name = one_create(cluster, run, outcomes)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - start_cpu
        if name in outcomes:
            result = outcomes[name]
            raise SystemExit("create %s did not reach an engine: %s" % (
                name, getattr(result, "value", result)))
        if run >= warmup:
            times.append(elapsed * 1000.0)
            cpu_times.append(cpu * 1000.0)
        if len(waiting) > IN_FLIGHT:
            settle_one(cluster, waiting, outcomes)
        if run == warmup - 1:
            gc.collect()
    while waiting:
        settle_one(cluster, waiting, outcomes)
    if cluster.pending:
        raise SystemExit("creates left pending: %d" % (len(cluster.pending),))
    times.sort()
    cpu_times.sort()
    return times, cpu_times


def measure_rank(cluster, runs):
    """
    @return: a sorted C{list} of filter+strategy times on fixed views.
    """
    config = ContainerConfig.from_create_body(REQUEST, "api")
    nodes = cluster.nodes()
    scheduler = cluster.scheduler
    chosen = scheduler.select(config, nodes)
    if chosen.labels["storage"] != "ssd":
        raise SystemExit("wrong placement on %s" % (chosen.name,))
    gc.collect()
    times, cpu_times = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        scheduler.rank(config, nodes)
        times.append((time.perf_counter() - start) * 1000.0)
        cpu_times.append((time.thread_time() - start_cpu) * 1000.0)
    times.sort()
    cpu_times.sort()
    return times, cpu_times


def percentile(times, fraction):
    return times[min(len(times) - 1, int(round(fraction * (len(times) - 1))))]


def profile(strategy, size, runs):
    """
    Print a cProfile of C{runs} creates (settling included).
    """
    import cProfile
    import pstats

    cluster, clients, waiting = make_cluster(size, strategy, random.Random(42))
    profiler = cProfile.Profile()
    profiler.enable()
    measure_create(cluster, waiting, runs)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--runs", type=int, default=0,
                        help="creates per case (default: 2000 / 1000 / 500 by size)")
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--profile", default="",
                        help="STRATEGY:SIZE: profile creates instead of timing them")
    args = parser.parse_args(argv)
    if args.profile:
        strategy, _, size = args.profile.partition(":")
        profile(strategy, int(size), args.runs or 200)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")]
    worst = {}
    print("%-8s %6s %-7s %6s %9s %9s %9s %9s" % ("strategy", "nodes", "case", "runs",
                                                  "p50 ms", "p99 ms", "max ms", "cpu p99"))
    for size in sizes:
        runs = args.runs or {10: 2000, 100: 1000}.get(size, 500)
        for strategy in ("spread", "binpack"):
            cluster, clients, waiting = make_cluster(size, strategy, random.Random(42))
            for case in ("create", "rank"):
                if case == "create":
                    times, cpu_times = measure_create(cluster, waiting, runs)
                else:
                    times, cpu_times = measure_rank(cluster, runs)
                p50, p99 = percentile(times, 0.50), percentile(times, 0.99)
                if case == "create":
                    worst[size] = max(worst.get(size, 0.0), p99)
                print("%-8s %6d %-7s %6d %9.3f %9.3f %9.3f %9.3f" % (
                    strategy, size, case, len(times), p50, p99, times[-1],
                    percentile(cpu_times, 0.99)))
                sys.stdout.flush()
            cluster.stop()
            del cluster, clients, waiting
            gc.collect()
    print(json.dumps({"p99_ms": {str(size): round(worst[size], 3) for size in sizes}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
