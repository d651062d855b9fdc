"""
The scale simulator: many fake engines in one process, each on its own
loopback address (C{127.0.X.Y:2375}), with realistic state, for the scale
benchmark (C{bench/scale.py}).

    python -m swarmd.testing.simulator --engines 1000 --containers 30

It prints C{READY <nodes:// discovery>} once every engine listens, then
serves until it is killed.  The engines are
L{swarmd.testing.fakeengine.FakeEngine}s, which pass the engine conformance
suite a real dockerd passes.
"""

import argparse
import gc
import random
import resource
import sys

from twisted.internet.defer import gatherResults

from swarmd.testing.fakeengine import FakeEngine, FakeRegistry, serve

#: Engines per /24 of loopback addresses.
PER_SUBNET = 250


def address_of(index, port=2375, subnet_base=1):
    """
    The loopback address of engine C{index} (0-based): C{127.0.X.Y:port},
    250 engines per C{X}, C{Y} from 1.
    """
    subnet, host = divmod(index, PER_SUBNET)
    return "127.0.%d.%d:%d" % (subnet_base + subnet, host + 1, port)


def discovery_url(engines, port=2375, subnet_base=1):
    """
    A C{nodes://} URL naming C{engines} simulated engines with one range per
    subnet, e.g. C{nodes://127.0.1.[1:250]:2375,127.0.2.[1:250]:2375}.
    """
    return "nodes://" + ",".join(discovery_entries(engines, port, subnet_base))


def discovery_entries(engines, port=2375, subnet_base=1):
    """
    The discovery entries (with ranges) of C{engines} simulated engines.
    """
    entries = []
    for subnet in range((engines + PER_SUBNET - 1) // PER_SUBNET):
        count = min(PER_SUBNET, engines - subnet * PER_SUBNET)
        host = "[1:%d]" % (count,) if count > 1 else "1"
        entries.append("127.0.%d.%s:%d" % (subnet_base + subnet, host, port))
    return entries


def populate(engine, containers, rng):
    """
    Give an engine C{containers} containers: most running, some exited,
    some with labels, memory reservations and published ports.
    """
    for index in range(containers):
        host_config = {}
        if index % 3 == 0:
            host_config["Memory"] = 64 * 1024 * 1024
        if index % 10 == 0:
            host_config["PortBindings"] = {"80/tcp": [{"HostPort": str(10000 + index)}]}
        body = {
            "Image": "busybox",
            "Cmd": ["sleep", "100000000"],
            "Labels": {"app": "app%d" % (index % 7,), "tier": rng.choice(["web", "db"])},
            "HostConfig": host_config,
        }
        if "PortBindings" in host_config:
            body["ExposedPorts"] = {"80/tcp": {}}
        container_id, _ = engine.create(body, "%s-c%02d" % (engine.name, index))
        if index % 6 != 5:
            engine.start(container_id)


def build_engines(clock, engines, containers, seed=0, first=0):
    """
    Make the simulated engines (not yet listening).

    @param first: the index of the first engine in the whole simulated
        cluster (several simulator processes share one): names and seeds
        follow it.
    @return: a C{list} of L{FakeEngine}.
    """
    rng = random.Random(seed * 7919 + first)
    registry = FakeRegistry()
    made = []
    for index in range(first, first + engines):
        name = "sim%04d" % (index + 1,)
        engine = FakeEngine(
            clock, name=name, registry=registry, seed=seed * 100003 + index,
            port_conflicts=False,
            labels=["node=" + name, "storage=" + ("ssd" if index % 2 else "disk"),
                    "zone=" + "abc"[index % 3]],
            ncpu=rng.choice([2, 4, 8, 16]), mem_total=rng.choice([4, 8, 16, 32]) * 1024 ** 3)
        populate(engine, containers, rng)
        made.append(engine)
    return made


def raise_file_limit():
    """
    Allow as many open files as the hard limit permits (each engine listens
    and the manager keeps connections to each).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv=None, reactor=None):
    parser = argparse.ArgumentParser(description="Serve many simulated Docker engines.")
    parser.add_argument("--engines", type=int, default=1000)
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--port", type=int, default=2375)
    parser.add_argument("--subnet-base", type=int, default=1,
                        help="first X of the 127.0.X.Y addresses (1..254)")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args(argv)
    if reactor is None:
        from twisted.internet import reactor
    raise_file_limit()
    # Engines of a simulator serving from 127.0.X.1 on are numbered as if
    # every subnet below X were served too (several simulator processes
    # then make one cluster of uniquely named engines).
    first = (options.subnet_base - 1) * PER_SUBNET
    engines = build_engines(reactor, options.engines, options.containers, options.seed, first)
    # The simulator stands in for dockerd, whose collector runs beside its
    # requests: its own full collections (a heap of up to 2,500 engines,
    # or, once that is frozen, ever more frequent walks of what came
    # after) stalled the manager's creates and took CPU from the manager.
    # What was built is frozen and no full collection runs after it: a
    # benchmark's minutes of cyclic garbage are left to the process's end.
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 2 ** 31 - 1)

    def listening(ports):
        print("READY " + discovery_url(options.engines, options.port, options.subnet_base),
              flush=True)

    def failed(failure):
        print("FAILED %s" % (failure.getErrorMessage(),), flush=True)
        reactor.stop()

    def start():
        listens = [serve(engine, address_of(i, options.port, options.subnet_base), reactor)
                   for i, engine in enumerate(engines)]
        gatherResults(listens, consumeErrors=True).addCallbacks(listening, failed)

    reactor.callWhenRunning(start)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
