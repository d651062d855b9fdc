"""
Tests for L{swarmd.scheduler.Node} and its helpers: overcommit, host IPs,
resources in use, container and image references, held ports.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import Node, apply_overcommit, host_ip
from swarmd.testing.nodes import image_summary, inspect_container, make_node


def derived(node):
    """
    Everything a node works out from its fields.
    """
    return {
        "used": (node.used_cpus, node.used_memory),
        "slots": node.slots,
        "ids": node.container_ids,
        "names": node.container_names,
        "refs": node.container_refs,
        "tiers": node.container_label_values("tier"),
        "images": node.image_refs,
        "ports": {key: set(value) for key, value in node.host_ports.items()},
        "swarm": node.has_container("9" * 64),
    }


def fresh(node):
    """
    A new view with the same fields and nothing worked out yet.
    """
    return Node(id=node.id, name=node.name, addr=node.addr, ip=node.ip, labels=node.labels,
                total_cpus=node.total_cpus, total_memory=node.total_memory,
                containers=list(node.containers), images=node.images, healthy=node.healthy,
                health_indicator=node.health_indicator, cpus=node.cpus)


class OvercommitTests(SynchronousTestCase):
    """
    apply_overcommit computes as classic Swarm's int64 arithmetic does.
    """

    def test_table(self):
        """
        v + v * int(overcommit * 100) / 100, the division truncated toward zero.
        """
        for value, overcommit, expected in [
            (4, 0.05, 4), (20, 0.05, 21), (100, 0.05, 105), (8 << 30, 0.05, 9019431321),
            (100, 0.0, 100), (100, 1.0, 200), (100, -0.5, 50), (3, -0.5, 2),
            (100, 0.07, 107), (100, 0.29, 128), (0, 0.05, 0),
        ]:
            self.assertEqual(apply_overcommit(value, overcommit), expected, (value, overcommit))


class HostIPTests(SynchronousTestCase):
    """
    host_ip finds the host of an engine address.
    """

    def test_table(self):
        """
        TCP hosts as given, unix sockets and localhost as 127.0.0.1.
        """
        for addr, ip in [("127.0.0.1:2375", "127.0.0.1"), ("10.78.2.2:2375", "10.78.2.2"),
                         ("tcp://10.0.0.1:2376", "10.0.0.1"), ("[::1]:2375", "::1"),
                         ("unix:///run/n1/docker.sock", "127.0.0.1"),
                         ("localhost:2375", "127.0.0.1"), ("engine.lan:2375", "engine.lan"),
                         ("10.0.0.9", "10.0.0.9")]:
            self.assertEqual(host_ip(addr), ip, addr)

    def test_default(self):
        """
        A node's ip defaults to its address's host, and can be given.
        """
        self.assertEqual(Node(id="x", name="n", addr="10.0.0.5:2375").ip, "10.0.0.5")
        self.assertEqual(Node(id="x", name="n", addr="unix:///s", ip="10.1.1.1").ip, "10.1.1.1")


class ResourceTests(SynchronousTestCase):
    """
    CPUs and memory held by a node's containers.
    """

    def test_used(self):
        """
        Every container counts, any state; shares become CPUs per container, rounded down.
        """
        node = make_node("n", cpus=4, containers=[
            inspect_container("a", cpu_shares=512, memory=100),
            inspect_container("b", cpu_shares=300, memory=50, running=False),
            {"Id": "", "Name": "/p", "HostConfig": {"CpuShares": 256, "Memory": 25}},
            {"Id": "c", "HostConfig": {"CpuShares": None, "Memory": None}},
            {"Id": "d"},
        ])
        # 512*4//1024 = 2, 300*4//1024 = 1, 256*4//1024 = 1.
        self.assertEqual(node.used_cpus, 4)
        self.assertEqual(node.used_memory, 175)

    def test_defaults(self):
        """
        A bare node is healthy, empty, with its CPUs equal to its total.
        """
        node = Node(id="x", name="n", addr="127.0.0.1:1", total_cpus=8, total_memory=10)
        self.assertEqual((node.cpus, node.used_cpus, node.used_memory), (8, 0, 0))
        self.assertEqual((node.healthy, node.health_indicator), (True, 100))
        self.assertEqual((node.containers, node.images, node.labels), ([], [], {}))

    def test_with_container(self):
        """
        with_container gives a new view with one more container, the old one unchanged.
        """
        node = make_node("n", cpus=4, memory=1000)
        self.assertEqual(node.used_memory, 0)
        more = node.with_container(inspect_container("a", memory=300, cpu_shares=256,
                                                     ports={"80/tcp": "8080"}))
        self.assertEqual((more.used_memory, more.used_cpus), (300, 1))
        self.assertEqual(len(more.containers), 1)
        self.assertTrue(more.port_taken("tcp", 8080))
        self.assertEqual((node.used_memory, node.containers), (0, []))
        self.assertFalse(node.port_taken("tcp", 8080))
        self.assertEqual((more.name, more.id, more.total_memory), (node.name, node.id, 1000))


class CopyTests(SynchronousTestCase):
    """
    Copies keep what is still valid and work the rest out again.
    """

    def node(self):
        return make_node("n", cpus=4, labels={"containerslots": "9"}, containers=[
            inspect_container("a", cpu_shares=256, memory=10, labels={"tier": "front"},
                              ports={"80/tcp": "8080"})],
            images=[image_summary("busybox")])

    def test_with_container_incremental(self):
        """
        Incrementally updated values equal those of a fresh view of the same containers.
        """
        node = self.node()
        derived(node)
        for container in [
                inspect_container("b", cpu_shares=512, memory=5, labels={"tier": "back"},
                                  ports={"80/tcp": [("127.0.0.1", "8080")], "53/udp": "53"}),
                {"Id": "", "Name": "/pending", "HostConfig": {"Memory": 7, "CpuShares": 256,
                 "PortBindings": {"81/tcp": [{"HostPort": "8081"}]}},
                 "Config": {"Labels": {"com.docker.swarm.id": "9" * 64}}},
                inspect_container("c", network_mode="host", exposed=("9000/tcp",))]:
            node = node.with_container(container)
            self.assertEqual(derived(node), derived(fresh(node)))
        self.assertEqual(node.used_memory, 22)
        self.assertTrue(node.has_container("9" * 64))

    def test_with_container_lazy(self):
        """
        A node that worked nothing out gives a copy that works everything out.
        """
        node = self.node().with_container(inspect_container("b", memory=5))
        self.assertEqual(derived(node), derived(fresh(node)))

    def test_evolve_keeps_valid(self):
        """
        evolve keeps the values its changes leave valid and recomputes the others.
        """
        node = self.node()
        before = derived(node)
        sick = node.evolve(healthy=False, health_indicator=0)
        self.assertEqual((sick.healthy, sick.health_indicator), (False, 0))
        self.assertIs(sick.host_ports, node.host_ports)
        self.assertIs(sick.image_refs, node.image_refs)
        self.assertEqual(derived(sick), before)
        relabelled = node.evolve(labels={"containerslots": "1"})
        self.assertEqual(relabelled.slots, 1)
        self.assertIs(relabelled.host_ports, node.host_ports)
        emptied = node.evolve(containers=[], images=[])
        self.assertEqual(derived(emptied), derived(fresh(emptied)))
        self.assertEqual(emptied.used_memory, 0)
        same = node.evolve(containers=node.containers)
        self.assertIs(same.container_refs, node.container_refs)
        rescaled = node.evolve(cpus=8)
        self.assertEqual(rescaled.used_cpus, 2)
        self.assertEqual(node.used_cpus, 1)

    def test_orders(self):
        """
        The strategies' kept orders follow the health and the container
        count, through evolve and with_container.
        """
        node = self.node()
        count = len(node.containers)
        self.assertEqual((node.spread_order, node.binpack_order),
                         ((-100, count), (-100, -count)))
        relabelled = node.evolve(labels={"containerslots": "1"})
        self.assertIs(relabelled.spread_order, node.spread_order)
        sick = node.evolve(healthy=False, health_indicator=34)
        self.assertEqual((sick.spread_order, sick.binpack_order),
                         ((-34, count), (-34, -count)))
        grown = sick.with_container(inspect_container("b"))
        self.assertEqual((grown.spread_order, grown.binpack_order),
                         ((-34, count + 1), (-34, -count - 1)))


class ReferenceTests(SynchronousTestCase):
    """
    Names and IDs of containers, references of images.
    """

    def test_containers(self):
        """
        Inspect names lose their slash; summary Names count too; empty IDs do not.
        """
        node = make_node("n", containers=[
            inspect_container("web", id="a" * 64),
            {"Id": "", "Name": "/pending"},
            {"Id": "b" * 64, "Names": ["/other/linked", "/summary"]},
        ])
        self.assertEqual(node.container_names, {"web", "pending", "linked", "summary"})
        self.assertEqual(node.container_ids, {"a" * 64, "b" * 64})
        self.assertEqual(node.container_refs, node.container_names | node.container_ids)

    def test_labels(self):
        """
        Label values are collected per key from containers that have the label.
        """
        node = make_node("n", containers=[inspect_container("a", labels={"tier": "front"}),
                                          inspect_container("b", labels={"tier": "back"}),
                                          inspect_container("c")])
        self.assertEqual(node.container_label_values("tier"), {"front", "back"})
        self.assertEqual(node.container_label_values("missing"), set())

    def test_images(self):
        """
        IDs with and without sha256:, tags, repositories and digests; <none> skipped.
        """
        node = make_node("n", images=[
            image_summary("redis:7", id="sha256:" + "1" * 64,
                          digests=["redis@sha256:" + "2" * 64]),
            {"Id": "sha256:" + "3" * 64, "RepoTags": ["<none>:<none>"],
             "RepoDigests": ["<none>@<none>"]},
            {"Id": "", "RepoTags": None, "RepoDigests": None},
        ])
        self.assertEqual(node.image_refs, {
            "sha256:" + "1" * 64, "1" * 64, "redis:7", "redis", "redis@sha256:" + "2" * 64,
            "sha256:" + "3" * 64, "3" * 64})


class HostPortTests(SynchronousTestCase):
    """
    Host ports held by a node's containers.
    """

    def test_index(self):
        """
        Requested and published bindings count; any-address forms are recorded as "".
        """
        node = make_node("n", containers=[
            inspect_container("a", ports={"80/tcp": [("127.0.0.1", "8080")]}),
            inspect_container("b", ports={"53/udp": [("::", "53")]}, running=False),
            inspect_container("c", ports={"81/tcp": [("", "")]},
                              published={"81/tcp": [("0.0.0.0", "32768")]}),
            inspect_container("d", network_mode="host", exposed=("9000/tcp",)),
            inspect_container("e", ports={"82/tcp": "7000-7001"}),
            {"Id": "f", "NetworkSettings": {"Ports": {"83/tcp": None}}},
        ])
        self.assertEqual(node.host_ports, {
            ("tcp", 8080): {"127.0.0.1"},
            ("udp", 53): {""},
            ("tcp", 32768): {""},
            ("tcp", 9000): {""},
        })

    def test_taken(self):
        """
        A port clashes on the same address or when either side is on every interface.
        """
        node = make_node("n", containers=[
            inspect_container("a", ports={"80/tcp": [("127.0.0.1", "8080")]}),
            inspect_container("b", ports={"80/tcp": [("", "9090")]})])
        for args, taken in [(("tcp", 8080, "127.0.0.1"), True), (("tcp", 8080, "10.0.0.1"), False),
                            (("tcp", 8080), True), (("tcp", 8080, "0.0.0.0"), True),
                            (("tcp", 8080, "::"), True), (("tcp", 9090, "10.0.0.1"), True),
                            (("udp", 8080), False), (("tcp", 1), False)]:
            self.assertEqual(node.port_taken(*args), taken, args)
