"""
What a new user hits in their first hour (issue 10), in memory: messages
that say what is wrong, volumes that keep containers next to them, networks
created on the next node when one refuses, node names in every list.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import ContainerConfig, NoResources, Scheduler, filters_for, strategy_for
from swarmd.scheduler.registry import filter_names
from swarmd.testing.scheduler import GIB, inspect_container, make_node


def _config(**host_config):
    return ContainerConfig.from_create_body({"Image": "busybox", "HostConfig": host_config})


def _scheduler():
    return Scheduler(strategy_for("spread"), filters_for(filter_names()))


class NoResourcesMessageTests(SynchronousTestCase):
    """
    "no resources available to schedule container" keeps classic Swarm's
    line first and then says which resource is short where, and by how much.
    """

    def test_cpu_shares_read_as_cpus(self):
        """--cpu-shares 512 on 2-CPU nodes: 512 CPUs asked, the largest node has 2."""
        nodes = [make_node("n1", cpus=2), make_node("n2", cpus=2)]
        e = self.assertRaises(NoResources, _scheduler().rank, _config(CpuShares=512), nodes)
        lines = str(e).split("\n")
        self.assertEqual(lines[0], "no resources available to schedule container")
        self.assertEqual(lines[1], "--cpu-shares 512 asks for 512 CPUs (classic Swarm reads "
                                   "CpuShares as a CPU count); the largest node has 2")
        self.assertEqual(lines[2], "CPUs short on n1 by 510 (2 of 2 free), "
                                   "n2 by 510 (2 of 2 free)")
        self.assertEqual(len(lines), 3)

    def test_cpus_taken(self):
        """Nodes big enough but busy: the most free on one node is named, nodes closest first."""
        nodes = [make_node("n1", cpus=4, containers=[inspect_container("a", cpu_shares=768)]),
                 make_node("n2", cpus=4, containers=[inspect_container("b", cpu_shares=512)])]
        e = self.assertRaises(NoResources, _scheduler().rank, _config(CpuShares=3), nodes)
        self.assertEqual(str(e).split("\n")[1:], [
            "--cpu-shares 3 asks for 3 CPUs (classic Swarm reads CpuShares as a CPU count); "
            "the largest node has 4, the most free on one node is 2",
            "CPUs short on n2 by 1 (2 of 4 free), n1 by 2 (1 of 4 free)"])

    def test_memory(self):
        """A memory request too big: sizes for people, and only the short resource is named."""
        nodes = [make_node("n1", memory=2 * GIB,
                           containers=[inspect_container("a", memory=GIB // 2)])]
        e = self.assertRaises(NoResources, _scheduler().rank,
                              _config(Memory=4 * GIB, CpuShares=1), nodes)
        self.assertEqual(str(e).split("\n")[1:], [
            "--memory asks for 4 GiB; the largest node has 2 GiB",
            "memory short on n1 by 2.5 GiB (1.5 GiB of 2 GiB free)"])

    def test_each_node_short_of_something(self):
        """One node lacks CPUs, the other memory: each resource's line names its own node."""
        nodes = [make_node("cpu-poor", cpus=1, memory=8 * GIB),
                 make_node("mem-poor", cpus=8, memory=GIB)]
        e = self.assertRaises(NoResources, _scheduler().rank,
                              _config(Memory=2 * GIB, CpuShares=2), nodes)
        self.assertEqual(str(e).split("\n")[1:], [
            "--cpu-shares 2 asks for 2 CPUs (classic Swarm reads CpuShares as a CPU count); "
            "the largest node has 8",
            "CPUs short on cpu-poor by 1 (1 of 1 free)",
            "--memory asks for 2 GiB; the largest node has 8 GiB",
            "memory short on mem-poor by 1 GiB (1 GiB of 1 GiB free)"])

    def test_many_nodes(self):
        """With many short nodes, five are named and the rest counted."""
        nodes = [make_node("n%02d" % (i,), cpus=2) for i in range(12)]
        e = self.assertRaises(NoResources, _scheduler().rank, _config(CpuShares=4), nodes)
        self.assertEqual(str(e).split("\n")[2],
                         "CPUs short on n00 by 2 (2 of 2 free), n01 by 2 (2 of 2 free), "
                         "n02 by 2 (2 of 2 free), n03 by 2 (2 of 2 free), "
                         "n04 by 2 (2 of 2 free), and 7 more nodes")
