"""
Tests for the placement strategies: the conformance suite on every provider,
then the exact ranking of spread and binpack, random's shuffle, and the
registry of names.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import (
    BinpackStrategy,
    ContainerConfig,
    NoResources,
    RandomStrategy,
    SpreadStrategy,
    UnknownStrategy,
    strategy_for,
    strategy_names,
)
from swarmd.scheduler.strategies import _weighed, weigh
from swarmd.testing.conformance.scheduler import make_istrategy_tests
from swarmd.testing.nodes import GIB, FakeStrategy, inspect_container, make_node


class SpreadInterfaceTests(make_istrategy_tests(lambda case: SpreadStrategy())):
    """
    SpreadStrategy passes the IStrategy suite.
    """


class BinpackInterfaceTests(make_istrategy_tests(lambda case: BinpackStrategy())):
    """
    BinpackStrategy passes the IStrategy suite.
    """


class RandomInterfaceTests(make_istrategy_tests(
        lambda case: RandomStrategy(random.Random(7)))):
    """
    RandomStrategy passes the IStrategy suite.
    """


class FakeInterfaceTests(make_istrategy_tests(lambda case: FakeStrategy())):
    """
    The test fake passes the IStrategy suite too.
    """


def request(cpus=0, memory=0):
    return ContainerConfig.from_create_body(
        {"Image": "busybox", "HostConfig": {"CpuShares": cpus, "Memory": memory}})


def busy(name, count, cpu_shares=0, memory=0):
    """
    C{count} containers each holding C{cpu_shares} shares and C{memory} bytes.
    """
    return [inspect_container("%s-%d" % (name, i), cpu_shares=cpu_shares, memory=memory)
            for i in range(count)]


def names(nodes):
    return [n.name for n in nodes]


class WeighTests(SynchronousTestCase):
    """
    The classic weight: cpuScore + memScore + factor * health.
    """

    def weights(self, config, nodes, factor):
        return {node.name: weight for weight, _, _, node in weigh(config, nodes, factor)}

    def test_nothing_asked(self):
        """
        Scores are 100 each when nothing is asked, whatever the load.
        """
        nodes = [make_node("a", containers=busy("a", 3, 1024, GIB)),
                 make_node("b", health_indicator=60)]
        self.assertEqual(self.weights(request(), nodes, -10), {"a": -800, "b": -400})
        self.assertEqual(self.weights(request(), nodes, 10), {"a": 1200, "b": 800})

    def test_scores(self):
        """
        (used + asked) * 100 / total for CPUs and memory, rounded down.
        """
        # 256 shares on a 4-CPU engine: 256 * 4 / 1024 = 1 CPU used.
        node = make_node("a", cpus=4, memory=8 * GIB, containers=busy("a", 1, 256, 2 * GIB))
        self.assertEqual(node.used_cpus, 1)
        self.assertEqual(node.used_memory, 2 * GIB)
        # cpu: (1 + 1) * 100 // 4 = 50; memory: (2 + 1) * 100 // 8 = 37.
        self.assertEqual(self.weights(request(1, GIB), [node], 0), {"a": 87})

    def test_too_small_or_full(self):
        """
        Nodes smaller than the request, or left over 100 by it, are dropped.
        """
        nodes = [make_node("small", cpus=1), make_node("full", cpus=4,
                                                       containers=busy("f", 1, 768)),
                 make_node("fits", cpus=4, containers=busy("g", 1, 256))]
        self.assertEqual(sorted(self.weights(request(2), nodes, 0)), ["fits"])
        self.assertRaises(NoResources, weigh, request(8), nodes, 0)

    def test_overcommit(self):
        """
        Totals include overcommit, so a node may take a little more than it has.
        """
        node = make_node("a", memory=100 * GIB, overcommit=0.05,
                         containers=busy("a", 1, memory=100 * GIB))
        self.assertEqual(node.total_memory, 105 * GIB)
        self.assertEqual(sorted(self.weights(request(memory=5 * GIB), [node], 0)), ["a"])
        self.assertRaises(NoResources, weigh, request(memory=5 * GIB + 1), [node], 0)

    def test_never_over_total(self):
        """
        A node is never left even slightly over its total (classic allowed 1% more).
        """
        node = make_node("a", cpus=200, memory=1000, containers=busy("a", 1, 1024, 1000))
        self.assertEqual(node.used_cpus, 200)
        self.assertRaises(NoResources, weigh, request(memory=1), [node], 0)
        self.assertRaises(NoResources, weigh, request(cpus=1), [node], 0)
        self.assertEqual(sorted(self.weights(request(), [node], 0)), ["a"])

    def test_message(self):
        """
        No room gives classic Swarm's message.
        """
        e = self.assertRaises(NoResources, weigh, request(1), [], 0)
        self.assertEqual(str(e), "no resources available to schedule container")


class SpreadTests(SynchronousTestCase):
    """
    Spread takes the least loaded node.
    """

    def test_fewer_containers_on_ties(self):
        """
        Equal weights go to the node with fewer containers, then keep their order.
        """
        nodes = [make_node("a", containers=busy("a", 2)), make_node("b"),
                 make_node("c", containers=busy("c", 1)), make_node("d")]
        self.assertEqual(names(SpreadStrategy().rank(request(), nodes)), ["b", "d", "c", "a"])

    def test_lowest_weight_first(self):
        """
        The node with the most room comes first, whatever its container count.
        """
        nodes = [make_node("a", containers=busy("a", 1, memory=4 * GIB)),
                 make_node("b", containers=busy("b", 3, memory=GIB // 4)),
                 make_node("c", containers=busy("c", 1, memory=2 * GIB))]
        self.assertEqual(names(SpreadStrategy().rank(request(memory=GIB), nodes)),
                         ["b", "c", "a"])

    def test_health(self):
        """
        A healthier node wins over a less loaded one (health weighs 10x).
        """
        nodes = [make_node("sick", health_indicator=67),
                 make_node("well", containers=busy("w", 4, memory=GIB))]
        self.assertEqual(names(SpreadStrategy().rank(request(memory=GIB), nodes)),
                         ["well", "sick"])


class BinpackTests(SynchronousTestCase):
    """
    Binpack takes the most loaded node that still has room.
    """

    def test_more_containers_on_ties(self):
        """
        Equal weights go to the node with more containers, then keep their order.
        """
        nodes = [make_node("a"), make_node("b", containers=busy("b", 2)),
                 make_node("c", containers=busy("c", 1)), make_node("d")]
        self.assertEqual(names(BinpackStrategy().rank(request(), nodes)), ["b", "c", "a", "d"])

    def test_fills_first(self):
        """
        The fullest node with room comes first; one without room is left out.
        """
        nodes = [make_node("half", containers=busy("h", 1, memory=4 * GIB)),
                 make_node("empty"),
                 make_node("full", containers=busy("f", 1, memory=8 * GIB))]
        self.assertEqual(names(BinpackStrategy().rank(request(memory=GIB), nodes)),
                         ["half", "empty"])

    def test_health(self):
        """
        A healthier node wins over a fuller one.
        """
        nodes = [make_node("sick", health_indicator=67,
                           containers=busy("s", 1, memory=6 * GIB)),
                 make_node("well")]
        self.assertEqual(names(BinpackStrategy().rank(request(memory=GIB), nodes)),
                         ["well", "sick"])


class KeptOrderTests(SynchronousTestCase):
    """
    For a container asking for neither CPUs nor memory, spread and binpack
    sort by the orders views keep; the ranking is the one weighing gives.
    """

    def test_same_as_weighing(self):
        """
        Over random health indicators, container counts and node orders, the
        kept-order ranking is the weighed one.
        """
        rng = random.Random(17)
        for trial in range(200):
            nodes = [make_node("n%d" % i, health_indicator=rng.choice([0, 33, 67, 100]),
                               containers=busy("n%d" % i, rng.randrange(4)))
                     for i in range(rng.randrange(1, 12))]
            config = request()
            for strategy, factor, sign in ((SpreadStrategy(), -10, 1),
                                           (BinpackStrategy(), 10, -1)):
                weighed = sorted(_weighed(config, nodes, factor, sign))
                self.assertEqual(names(strategy.rank(config, nodes)),
                                 names([w[3] for w in weighed]), (trial, strategy.name))

    def test_health_first(self):
        """
        With nothing asked, the healthier node still comes first.
        """
        nodes = [make_node("sick", health_indicator=67),
                 make_node("well", containers=busy("w", 4))]
        self.assertEqual(names(SpreadStrategy().rank(request(), nodes)), ["well", "sick"])
        self.assertEqual(names(BinpackStrategy().rank(request(), nodes)), ["well", "sick"])

    def test_no_nodes(self):
        """
        No node at all is still "no resources".
        """
        for strategy in (SpreadStrategy(), BinpackStrategy()):
            e = self.assertRaises(NoResources, strategy.rank, request(), [])
            self.assertEqual(str(e), "no resources available to schedule container")


class RandomTests(SynchronousTestCase):
    """
    Random shuffles with the random.Random it is given.
    """

    def test_shuffles_with_given_random(self):
        """
        The order is the given Random's shuffle; resources are not checked.
        """
        nodes = [make_node(str(i), cpus=1) for i in range(10)]
        expected = list(nodes)
        random.Random(3).shuffle(expected)
        ranked = RandomStrategy(random.Random(3)).rank(request(cpus=64), nodes)
        self.assertEqual(names(ranked), names(expected))
        self.assertEqual(names(nodes), [str(i) for i in range(10)])

    def test_no_nodes(self):
        """
        No node at all gives the no-resources error.
        """
        self.assertRaises(NoResources, RandomStrategy().rank, request(), [])


class RegistryTests(SynchronousTestCase):
    """
    strategy_for finds strategies by --strategy name.
    """

    def test_names(self):
        """
        spread, binpack (alias binpacking) and random exist.
        """
        self.assertEqual(strategy_names(), ["spread", "binpack", "random"])
        self.assertIsInstance(strategy_for("spread"), SpreadStrategy)
        self.assertIsInstance(strategy_for("binpack"), BinpackStrategy)
        self.assertIsInstance(strategy_for("binpacking"), BinpackStrategy)
        self.assertEqual(strategy_for("binpacking").name, "binpack")
        self.assertIsInstance(strategy_for("random"), RandomStrategy)

    def test_random_injected(self):
        """
        The random strategy uses the random.Random given to strategy_for.
        """
        nodes = [make_node(str(i)) for i in range(8)]
        one = strategy_for("random", random=random.Random(5)).rank(request(), nodes)
        two = RandomStrategy(random.Random(5)).rank(request(), nodes)
        self.assertEqual(names(one), names(two))

    def test_unknown(self):
        """
        An unknown name is a ValueError naming it.
        """
        e = self.assertRaises(UnknownStrategy, strategy_for, "roundrobin")
        self.assertIsInstance(e, ValueError)
        self.assertIn("'roundrobin'", str(e))
