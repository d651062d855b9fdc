"""
Properties of placement, checked with hypothesis over random clusters and
request sequences.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from swarmd.config import DEFAULT_FILTERS
from swarmd.scheduler import (
    ContainerConfig,
    NoResources,
    Scheduler,
    SchedulerError,
    filters_for,
    strategy_for,
)
from swarmd.testing.nodes import inspect_container, make_node

MIB = 1024 ** 2

_settings = settings(max_examples=150, deadline=None)


def placed(config, node, name):
    """
    The container the cluster would record on C{node}: the engine body's
    HostConfig (CPU shares for that engine) and labels.
    """
    body = config.engine_body(node.cpus)
    container = inspect_container(name, labels=body["Labels"])
    container["HostConfig"].update(body["HostConfig"])
    return container


def place(scheduler, nodes, config, name):
    """
    Select a node, record the container there, and return the new node list
    and the chosen node's index.
    """
    chosen = scheduler.select(config, nodes)
    index = next(i for i, n in enumerate(nodes) if n is chosen)
    nodes = list(nodes)
    nodes[index] = chosen.with_container(placed(config, chosen, name))
    return nodes, index


# Memory in bytes of small totals, so that sums land near (and just over) them.
node_sizes = st.tuples(st.integers(1, 16), st.integers(100, 2000), st.sampled_from(
    [0.0, 0.05, 0.5, -0.5]))
requests = st.tuples(st.integers(0, 8), st.integers(0, 700))


class BinpackCapacityTests(SynchronousTestCase):
    """
    Binpack never reserves more than a node has.
    """

    @_settings
    @given(sizes=st.lists(node_sizes, min_size=1, max_size=5),
           sequence=st.lists(requests, min_size=1, max_size=40))
    def test_never_over_capacity(self, sizes, sequence):
        """
        No placement sequence overfills a node; "no resources" only when none has room.
        """
        nodes = [make_node("n%d" % i, addr="10.78.%d.2:2375" % i, cpus=cpus,
                           memory=memory, overcommit=overcommit)
                 for i, (cpus, memory, overcommit) in enumerate(sizes)]
        scheduler = Scheduler(strategy_for("binpack"), filters_for(DEFAULT_FILTERS))
        for step, (cpus, memory) in enumerate(sequence):
            config = ContainerConfig.from_create_body(
                {"Image": "busybox", "HostConfig": {"CpuShares": cpus, "Memory": memory}})
            try:
                nodes, _ = place(scheduler, nodes, config, "c%d" % step)
            except NoResources:
                for node in nodes:
                    self.assertTrue(
                        (cpus and node.used_cpus + cpus > node.total_cpus)
                        or (memory and node.used_memory + memory > node.total_memory))
            for node in nodes:
                self.assertLessEqual(node.used_cpus, node.total_cpus)
                self.assertLessEqual(node.used_memory, node.total_memory)


class SpreadEvennessTests(SynchronousTestCase):
    """
    Spread keeps equal nodes evenly loaded.
    """

    @_settings
    @given(count=st.integers(2, 6), placements=st.integers(1, 40),
           memory=st.sampled_from([0, 1, 64, 100]), cpus=st.sampled_from([0, 1]),
           preloaded=st.integers(0, 3))
    def test_counts_within_one(self, count, placements, memory, cpus, preloaded):
        """
        Identical requests on identical nodes keep container counts within one.
        """
        base = [inspect_container("base%d" % i) for i in range(preloaded)]
        nodes = [make_node("n%d" % i, addr="10.78.%d.2:2375" % i, cpus=64,
                           memory=8192 * MIB, containers=base) for i in range(count)]
        scheduler = Scheduler(strategy_for("spread"), filters_for(DEFAULT_FILTERS))
        config = ContainerConfig.from_create_body(
            {"Image": "busybox", "HostConfig": {"CpuShares": cpus, "Memory": memory * MIB}})
        for step in range(placements):
            nodes, _ = place(scheduler, nodes, config, "c%d" % step)
            counts = [len(n.containers) for n in nodes]
            self.assertLessEqual(max(counts) - min(counts), 1, counts)


LABEL_VALUES = {"storage": ["ssd", "hdd"], "zone": ["a", "b", "c"], "tier": ["x", "y"]}

node_labels = st.fixed_dictionaries({}, optional={
    key: st.sampled_from(values) for key, values in LABEL_VALUES.items()})


@st.composite
def expressions(draw, soft):
    """
    A constraint or affinity on the sample labels and containers.
    """
    kind = draw(st.sampled_from(["constraint", "affinity"]))
    operator = draw(st.sampled_from(["==", "!="]))
    tilde = "~" if soft else ""
    if kind == "constraint":
        key = draw(st.sampled_from(sorted(LABEL_VALUES) + ["node"]))
        values = LABEL_VALUES.get(key, ["n0", "n1", "n2", "n*"]) + ["nope", "*"]
    else:
        key = draw(st.sampled_from(["container", "role"]))
        values = ["c0", "c1", "c*", "/c[01]/", "nope"] if key == "container" else ["db", "web"]
    return "%s:%s%s%s%s" % (kind, key, operator, tilde, draw(st.sampled_from(values)))


class SoftNeverFailsTests(SynchronousTestCase):
    """
    Soft expressions are preferences: they never make a placement fail.
    """

    @_settings
    @given(labels=st.lists(node_labels, min_size=1, max_size=4),
           containers=st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["db", "web"])),
                               max_size=4),
           healthy=st.lists(st.booleans(), min_size=4, max_size=4),
           hard=st.lists(expressions(soft=False), max_size=2),
           soft=st.lists(expressions(soft=True), min_size=1, max_size=3),
           memory=st.sampled_from([0, 512, 3000]),
           strategy=st.sampled_from(["spread", "binpack"]))
    def test_soft_never_fails(self, labels, containers, healthy, hard, soft, memory,
                              strategy):
        """
        Adding soft expressions never changes success, nor widens the nodes ranked.
        """
        held = [[] for _ in labels]
        for index, (where, role) in enumerate(containers):
            if where < len(held):
                held[where].append(inspect_container("c%d" % index, labels={"role": role},
                                                     memory=1024 * MIB))
        nodes = [make_node("n%d" % i, addr="10.78.%d.2:2375" % i, labels=node_labels,
                           memory=4096 * MIB, containers=held[i], healthy=healthy[i])
                 for i, node_labels in enumerate(labels)]
        scheduler = Scheduler(strategy_for(strategy), filters_for(DEFAULT_FILTERS))
        host_config = {"Memory": memory * MIB}
        without = ContainerConfig.from_create_body(
            {"Image": "busybox", "Env": hard, "HostConfig": host_config})
        with_soft = ContainerConfig.from_create_body(
            {"Image": "busybox", "Env": hard + soft, "HostConfig": host_config})
        try:
            expected = scheduler.rank(without, nodes)
        except SchedulerError:
            expected = None
        try:
            got = scheduler.rank(with_soft, nodes)
        except SchedulerError:
            got = None
        self.assertEqual(got is None, expected is None, (hard, soft))
        if got is not None:
            self.assertTrue({n.name for n in got} <= {n.name for n in expected})
