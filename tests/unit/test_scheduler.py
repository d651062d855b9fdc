"""
Tests for L{swarmd.scheduler.Scheduler}: filters then strategy, the soft
retry, classic Swarm's failure messages, and the filter registry.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.config import DEFAULT_FILTERS
from swarmd.scheduler import (
    ContainerConfig,
    HealthFilter,
    NoHealthyNode,
    NoMatchingNode,
    NoResources,
    Scheduler,
    SchedulerError,
    UnknownFilter,
    filter_names,
    filters_for,
    register_filter,
    register_strategy,
    registry,
    strategy_for,
)
from swarmd.testing.nodes import (
    GIB,
    FakeFilter,
    FakeStrategy,
    inspect_container,
    make_node,
    sample_nodes,
)


def config(*env, **body):
    body.setdefault("Image", "busybox")
    body["Env"] = list(env)
    return ContainerConfig.from_create_body(body, "new")


def names(nodes):
    return [n.name for n in nodes]


def default_scheduler(strategy="spread"):
    return Scheduler(strategy_for(strategy), filters_for(DEFAULT_FILTERS))


class PipelineTests(SynchronousTestCase):
    """
    Filters run in order on what the previous ones kept; the strategy ranks the rest.
    """

    def test_order(self):
        """
        Each filter sees the previous one's output and the strategy the last one's.
        """
        first = FakeFilter("first", keep=lambda n: n.name != "n1")
        second = FakeFilter("second", keep=lambda n: n.name != "n2")
        strategy = FakeStrategy(key=lambda n: -int(n.name[1:]))
        scheduler = Scheduler(strategy, [first, second])
        request = config()
        ranked = scheduler.rank(request, sample_nodes())
        self.assertEqual(names(ranked), ["n5", "n4", "n3"])
        self.assertEqual(first.calls, [(request, ["n1", "n2", "n3", "n4", "n5"], True)])
        self.assertEqual(second.calls, [(request, ["n2", "n3", "n4", "n5"], True)])
        self.assertEqual(strategy.calls, [(request, ["n3", "n4", "n5"])])

    def test_select(self):
        """
        select gives the first ranked node.
        """
        scheduler = Scheduler(FakeStrategy(key=lambda n: n.name[::-1]), [])
        self.assertEqual(scheduler.select(config(), sample_nodes()).name, "n1")

    def test_default_filters(self):
        """
        With every filter, a plain request avoids the unhealthy and the full node.
        """
        ranked = default_scheduler().rank(config(), sample_nodes())
        self.assertEqual(sorted(names(ranked)), ["n1", "n2", "n5"])

    def test_spread_places_on_emptiest(self):
        """
        Spread sends a memory request to the node with the most free memory.
        """
        self.assertEqual(default_scheduler().select(
            config(HostConfig={"Memory": GIB}), sample_nodes()).name, "n5")

    def test_binpack_places_on_fullest(self):
        """
        Binpack sends a memory request to the fullest node with room.
        """
        self.assertEqual(default_scheduler("binpack").select(
            config(HostConfig={"Memory": GIB}), sample_nodes()).name, "n2")

    def test_inputs_unchanged(self):
        """
        Ranking changes neither the node list nor the request.
        """
        nodes = sample_nodes()
        order = list(nodes)
        request = config("constraint:storage==~ssd")
        body = repr(request.body)
        default_scheduler().rank(request, nodes)
        self.assertEqual(nodes, order)
        self.assertEqual(repr(request.body), body)


class MessageTests(SynchronousTestCase):
    """
    Failures carry classic Swarm's messages.
    """

    def test_no_healthy_node(self):
        """
        When the health filter leaves nothing: "No healthy node available in the cluster".
        """
        nodes = [make_node("a", healthy=False)]
        e = self.assertRaises(NoHealthyNode, default_scheduler().rank, config(), nodes)
        self.assertEqual(str(e), "No healthy node available in the cluster")
        self.assertIsInstance(e, SchedulerError)

    def test_no_nodes(self):
        """
        An empty cluster has no healthy node.
        """
        self.assertRaises(NoHealthyNode, default_scheduler().rank, config(), [])

    def test_no_nodes_without_filters(self):
        """
        Without filters an empty cluster has no resources.
        """
        e = self.assertRaises(NoResources, Scheduler(strategy_for("spread"), []).rank,
                              config(), [])
        self.assertEqual(str(e), "no resources available to schedule container")

    def test_conditions_listed(self):
        """
        Conditions of the filters up to the failing one are listed, one group each.
        """
        request = config("constraint:storage==nvme", "constraint:zone==~a",
                         "whitelist:node==n1",
                         HostConfig={"PortBindings": {"80/tcp": [{"HostPort": "8081"}]}})
        e = self.assertRaises(NoMatchingNode, default_scheduler().rank, request,
                              sample_nodes())
        self.assertEqual(
            str(e),
            "Unable to find a node that satisfies the following conditions "
            "\n[port 8081 (Bridge mode)]"
            "\n[available container slots]"
            "\n[storage==nvme zone==a]")
        self.assertEqual(e.filter_name, "constraint")

    def test_affinity_and_whitelist_conditions_show_softness(self):
        """
        Affinities and whitelists are listed with (soft=true|false), as classic Swarm does.
        """
        request = config("affinity:container==~web", "affinity:image==busybox",
                         "whitelist:node==n9")
        e = self.assertRaises(NoMatchingNode, default_scheduler().rank, request,
                              sample_nodes())
        self.assertEqual(
            str(e),
            "Unable to find a node that satisfies the following conditions "
            "\n[available container slots]"
            "\n[container==web (soft=true) image==busybox (soft=false)]"
            "\n[node==n9 (soft=false)]")
        self.assertEqual(e.filter_name, "whitelist")

    def test_health_not_first(self):
        """
        Only the health filter's own failure gets the "No healthy node" message.
        """
        scheduler = Scheduler(strategy_for("spread"),
                              [FakeFilter("picky", keep=lambda n: False, texts=["picky"]),
                               HealthFilter()])
        e = self.assertRaises(NoMatchingNode, scheduler.rank, config(), sample_nodes())
        self.assertEqual(str(e), NoMatchingNode.PREFIX + "\n[picky]")

    def test_failing_filter_without_conditions(self):
        """
        A failing filter with no conditions of its own lists those before it.
        """
        scheduler = Scheduler(strategy_for("spread"), [
            FakeFilter("a", texts=["cond a"]), FakeFilter("b", keep=lambda n: False),
            FakeFilter("c", texts=["cond c"])])
        e = self.assertRaises(NoMatchingNode, scheduler.rank, config(), sample_nodes())
        self.assertEqual(str(e), NoMatchingNode.PREFIX + "\n[cond a]")

    def test_no_resources(self):
        """
        A request no node can hold gives the strategy's message.
        """
        e = self.assertRaises(NoResources, default_scheduler().rank,
                              config(HostConfig={"CpuShares": 64}), sample_nodes())
        self.assertEqual(str(e).split("\n")[0], "no resources available to schedule container")


class SoftTests(SynchronousTestCase):
    """
    Soft expressions are tried first and dropped when nothing satisfies them.
    """

    def test_soft_honoured(self):
        """
        A satisfiable soft constraint decides the placement.
        """
        ranked = default_scheduler().rank(config("constraint:storage==~hdd"), sample_nodes())
        self.assertEqual(names(ranked), ["n2"])

    def test_soft_dropped(self):
        """
        An unsatisfiable soft constraint is ignored on the second pass.
        """
        ranked = default_scheduler().rank(config("constraint:storage==~nvme"), sample_nodes())
        self.assertEqual(sorted(names(ranked)), ["n1", "n2", "n5"])

    def test_passes(self):
        """
        The filters see soft=True first, then soft=False after a failure.
        """
        recorder = FakeFilter("recorder")
        scheduler = Scheduler(strategy_for("spread"),
                              [recorder] + filters_for(["constraint"]))
        scheduler.rank(config("constraint:storage==~nvme"), sample_nodes())
        self.assertEqual([soft for _, _, soft in recorder.calls], [True, False])

    def test_no_second_pass_without_soft(self):
        """
        Without soft expressions a failure is final after one pass.
        """
        recorder = FakeFilter("recorder")
        scheduler = Scheduler(strategy_for("spread"),
                              [recorder] + filters_for(["constraint"]))
        self.assertRaises(NoMatchingNode, scheduler.rank,
                          config("constraint:storage==nvme"), sample_nodes())
        self.assertEqual(len(recorder.calls), 1)

    def test_soft_then_no_room(self):
        """
        A soft affinity to a node without room falls back to the others.
        """
        nodes = [make_node("full", memory=GIB, containers=[
                     inspect_container("web", memory=GIB)]),
                 make_node("free", memory=4 * GIB)]
        request = config("affinity:container==~web", HostConfig={"Memory": GIB})
        self.assertEqual(names(default_scheduler().rank(request, nodes)), ["free"])

    def test_hard_failure_after_soft(self):
        """
        When the hard pass fails too, its message (soft conditions listed) is the answer.
        """
        request = config("constraint:storage==~ssd", "constraint:zone==c")
        e = self.assertRaises(NoMatchingNode, default_scheduler().rank, request,
                              sample_nodes())
        self.assertTrue(str(e).endswith("\n[storage==ssd zone==c]"), str(e))


class FilterRegistryTests(SynchronousTestCase):
    """
    filters_for builds filters from --filter names.
    """

    def test_defaults(self):
        """
        The built-in filters are classic Swarm's seven, in the default order.
        """
        self.assertEqual(filter_names(), list(DEFAULT_FILTERS))
        self.assertEqual([f.name for f in filters_for(DEFAULT_FILTERS)], list(DEFAULT_FILTERS))

    def test_order_kept(self):
        """
        Filters come in the order named.
        """
        self.assertEqual([f.name for f in filters_for(["whitelist", "health"])],
                         ["whitelist", "health"])
        self.assertEqual(filters_for([]), [])

    def test_unknown(self):
        """
        An unknown name is a ValueError naming it.
        """
        e = self.assertRaises(UnknownFilter, filters_for, ["health", "nope"])
        self.assertIsInstance(e, ValueError)
        self.assertIn("'nope'", str(e))

    def test_register(self):
        """
        New filters and strategies can be registered by name.
        """
        self.addCleanup(registry._FILTERS.pop, "fake", None)
        self.addCleanup(registry._STRATEGIES.pop, "fake", None)
        register_filter("fake", lambda: FakeFilter("fake"))
        register_strategy("fake", lambda: FakeStrategy("fake"))
        self.assertEqual([f.name for f in filters_for(["fake"])], ["fake"])
        self.assertEqual(strategy_for("fake").name, "fake")
        self.assertIn("fake", filter_names())
