"""
What a new user hits in their first hour (issue 10), in memory: messages
that say what is wrong, volumes that keep containers next to them, networks
created on the next node when one refuses, node names in every list.
"""

import json

from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone

from swarmd.scheduler import ContainerConfig, NoResources, Scheduler, filters_for, strategy_for
from swarmd.scheduler.registry import filter_names
from swarmd.testing.memory import MemoryManager
from swarmd.testing.nodes import GIB, inspect_container, make_node
from tests.unit.test_api_networks import N1, N2, ObjectsAPITestCase
from tests.unit.test_engine_long_answers import Collect


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


def _with_volumes(node, *names):
    return node.evolve(volumes=frozenset(names))


def _mounting(*binds, mounts=(), env=()):
    return ContainerConfig.from_create_body({
        "Image": "busybox", "Env": list(env),
        "HostConfig": {"Binds": list(binds), "Mounts": list(mounts)}})


class VolumeDependencyTests(SynchronousTestCase):
    """
    A container naming a volume that only some nodes hold runs on one of
    them, as one naming a container with --volumes-from does.
    """

    def setUp(self):
        # Spread would take the empty n1 first.
        self.nodes = [make_node("n1"),
                      _with_volumes(make_node("n2", containers=[inspect_container("a")]),
                                    "vol2"),
                      _with_volumes(make_node("n3", containers=[inspect_container("b")]),
                                    "vol2", "vol3")]

    def chosen(self, config, nodes=None):
        return [node.name for node in _scheduler().rank(config, nodes or self.nodes)]

    def test_bind_ties_to_holders(self):
        """-v vol2:/d goes to a node holding vol2 only, never to n1."""
        self.assertEqual(self.chosen(_mounting("vol2:/d")), ["n2", "n3"])
        self.assertEqual(self.chosen(_mounting("vol2:/d:ro", "vol3:/e")), ["n3"])

    def test_mount_ties_to_holders(self):
        """--mount source=vol3 (a volume mount) ties the same way; bind mounts and paths do not."""
        config = _mounting("/host:/h", mounts=[
            {"Type": "volume", "Source": "vol3", "Target": "/d"},
            {"Type": "bind", "Source": "/tmp", "Target": "/t"}])
        self.assertEqual(self.chosen(config), ["n3"])

    def test_nowhere_or_everywhere_is_anywhere(self):
        """A volume no node holds, or every node holds, leaves the choice to the strategy."""
        self.assertEqual(self.chosen(_mounting("new:/d"))[0], "n1")
        nodes = [_with_volumes(node, "vol2") for node in self.nodes]
        self.assertEqual(self.chosen(_mounting("vol2:/d"), nodes)[0], "n1")

    def test_other_drivers_do_not_tie(self):
        """A volume of another driver is not the local one the nodes hold."""
        config = ContainerConfig.from_create_body({
            "Image": "busybox", "HostConfig": {"Binds": ["vol3:/d"], "VolumeDriver": "nfs"}})
        self.assertEqual(self.chosen(config)[0], "n1")

    def test_constraint_forbids(self):
        """A constraint keeping the container off the volume's nodes is refused, saying why."""
        from swarmd.scheduler import NoMatchingNode

        e = self.assertRaises(NoMatchingNode, _scheduler().rank,
                              _mounting("vol3:/d", env=["constraint:node==n1"]), self.nodes)
        self.assertEqual(str(e).split("\n"), [
            "Unable to find a node that satisfies the following conditions ",
            "[available container slots]",
            "[volume=vol3 (on n3)]",
            "[node==n1]",
            "volume vol3 exists on n3 only: a container using it must run there (elsewhere "
            "it would get a new, empty vol3); use <node>/vol3 to choose another node's"])

    def test_holder_down(self):
        """A volume whose only node is down is not replaced by an empty one elsewhere."""
        from swarmd.scheduler import NoMatchingNode

        nodes = [self.nodes[0], self.nodes[1].evolve(healthy=False, health_indicator=0),
                 self.nodes[2]]
        e = self.assertRaises(NoMatchingNode, _scheduler().rank, _mounting("vol2:/d"),
                              [nodes[0], nodes[1]])
        self.assertIn("[volume=vol2 (on n2)]", str(e))
        self.assertEqual(self.chosen(_mounting("vol2:/d"), nodes), ["n3"])

    def test_node_prefix_chooses(self):
        """-v n1/vol3:/d (pinned through the API) goes to n1 although vol3 is on n3."""
        from swarmd.api._networks_placement import pin_create_body

        class Engine:
            def __init__(self, name):
                self.name, self.id, self.networks = name, name + "-id", []

        body = pin_create_body({"Image": "busybox", "HostConfig": {"Binds": ["n1/vol3:/d"]}},
                               [Engine("n1"), Engine("n2"), Engine("n3")])
        config = ContainerConfig.from_create_body(body)
        self.assertEqual(self.chosen(config), ["n1"])
        self.assertNotIn("SwarmPinnedVolumes", config.body)
        self.assertEqual(config.engine_body(4)["HostConfig"]["Binds"], ["vol3:/d"])
        self.assertNotIn("SwarmPinnedVolumes", config.add_affinity("image==busybox").body)
        self.assertEqual(config.add_affinity("image==busybox").volumes, [])


class VolumeCreateAnswerTests(ObjectsAPITestCase):
    """
    What POST /volumes/create answers, and so what `docker volume create`
    prints (the answer's Name).
    """

    def held(self):
        return {c.name: sorted(c.volumes) for c in (self.n1, self.n2)}

    def test_everywhere_prints_bare_name(self):
        """A bare name made on every node answers that bare name, not one node's n1/vol1."""
        status, answer = self.request("POST", "/volumes/create", {"Name": "vol1"})
        self.assertEqual((status, answer["Name"]), (201, "vol1"))
        self.assertEqual(self.held(), {"n1": ["vol1"], "n2": ["vol1"]})

    def test_pinned_prints_node(self):
        """n2/vol2 answers n2/vol2: made on n2 alone."""
        status, answer = self.request("POST", "/volumes/create", {"Name": "n2/vol2"})
        self.assertEqual((status, answer["Name"]), (201, "n2/vol2"))

    def test_some_refuse(self):
        """Made on some nodes only: an error saying where it was made and where refused."""
        self.n2.down = True
        status, answer = self.request("POST", "/volumes/create", {"Name": "vol1"})
        self.assertEqual(status, 500)
        self.assertTrue(answer["message"].startswith(
            "volume vol1 was created on n1 but not on n2:\nn2: cannot reach engine"),
            answer["message"])
        self.assertEqual(self.n1.volumes["vol1"]["Name"], "vol1")


class VolumePlacementAPITests(SynchronousTestCase):
    """
    Through the whole manager (in memory, every default filter): a
    container naming a volume lands where the volume is.
    """

    def setUp(self):
        self.manager = MemoryManager((N1, N2), filters=filter_names())
        self.addCleanup(self.manager.stop)

    def json(self, method, path, body=None, status=200):
        code, _, content = self.successResultOf(self.manager.request(
            method, path, body, {"Content-Type": "application/json"}))
        self.assertEqual(code, status, content)
        return json.loads(content) if content.strip() else None

    def node_of(self, name):
        return self.json("GET", "/containers/%s/json" % (name,))["Node"]["Name"]

    def test_volume_on_one_node(self):
        """docker volume create n2/vol2; docker run -v vol2:/d lands on n2, every time."""
        self.json("POST", "/volumes/create", {"Name": "n2/vol2"}, 201)
        for index in range(3):
            self.json("POST", "/containers/create?name=c%d" % (index,),
                      {"Image": "busybox", "Cmd": ["sleep", "60"],
                       "HostConfig": {"Binds": ["vol2:/d"]}}, 201)
            self.assertEqual(self.node_of("c%d" % (index,)), "n2")

    def test_volume_nowhere(self):
        """Volumes no node holds let containers spread (the engine makes each)."""
        nodes = set()
        for index in range(2):
            self.json("POST", "/containers/create?name=c%d" % (index,),
                      {"Image": "busybox", "HostConfig": {"Binds": ["fresh%d:/d" % (index,)]}},
                      201)
            nodes.add(self.node_of("c%d" % (index,)))
        self.assertEqual(nodes, {"n1", "n2"})

    def test_constraint_forbids(self):
        """A constraint to n1 with a volume on n2 only is a 500 that names the volume."""
        self.json("POST", "/volumes/create", {"Name": "n2/vol2"}, 201)
        answer = self.json("POST", "/containers/create",
                           {"Image": "busybox", "Env": ["constraint:node==n1"],
                            "HostConfig": {"Binds": ["vol2:/d"]}}, 500)
        self.assertIn("[volume=vol2 (on n2)]", answer["message"])
        self.assertIn("volume vol2 exists on n2 only", answer["message"])


class ObjectLabelPlacementTests(ObjectsAPITestCase):
    """
    Constraint, affinity and whitelist labels on volume and network
    creation choose nodes as for a container (issue 15).
    """

    def test_volume_whitelist(self):
        """Classic Swarm: a whitelists label ["node==n2|n3"] makes the volume on n2 (n3) only."""
        status, answer = self.request("POST", "/volumes/create", {
            "Name": "v", "Labels": {"com.docker.swarm.whitelists": '["node==n2|n3"]'}})
        self.assertEqual((status, answer["Name"]), (201, "n2/v"))
        self.assertEqual((sorted(self.n1.volumes), sorted(self.n2.volumes)), ([], ["v"]))

    def test_volume_constraint(self):
        """Classic Swarm: a constraints label on volume create keeps it off the other nodes."""
        status, answer = self.request("POST", "/volumes/create", {
            "Name": "v", "Labels": {"com.docker.swarm.constraints": '["node!=n2"]'}})
        self.assertEqual((status, answer["Name"]), (201, "n1/v"))
        self.assertEqual((sorted(self.n1.volumes), sorted(self.n2.volumes)), (["v"], []))

    def test_volume_labels_fit_nowhere(self):
        """A constraint no node meets is the scheduler's 500; a malformed label a 400."""
        status, answer = self.request("POST", "/volumes/create", {
            "Name": "v", "Labels": {"com.docker.swarm.constraints": '["node==n9"]'}})
        self.assertEqual(status, 500)
        self.assertIn("[node==n9]", answer["message"])
        status, answer = self.request("POST", "/volumes/create", {
            "Name": "v", "Labels": {"com.docker.swarm.constraints": "node==n9"}})
        self.assertEqual(status, 400)
        self.assertEqual((self.n1.volumes, self.n2.volumes), ({}, {}))

    def test_network_constraint(self):
        """Classic Swarm: a constraints label on network create chooses its node."""
        for target in ("n1", "n2"):
            status, answer = self.request("POST", "/networks/create", {
                "Name": "net-" + target,
                "Labels": {"com.docker.swarm.constraints": '["node==%s"]' % (target,)}})
            self.assertEqual(status, 201, answer)
        self.assertIn("net-n1", [n["Name"] for n in self.n1.networks.values()])
        self.assertIn("net-n2", [n["Name"] for n in self.n2.networks.values()])


def _refuse(status, message):
    from tests.unit.test_api_networks import FakeAPIError

    def create(data):
        raise FakeAPIError(status, message)

    return create


POOLS = "all predefined address pools have been fully subnetted"


class NetworkCreateNextNodeTests(ObjectsAPITestCase):
    """
    docker network create front (no node prefix): when the engine the
    scheduler picked refuses, the next eligible node is tried.
    """

    def names(self, client):
        return [n["Name"] for n in client.networks.values()]

    def test_next_node(self):
        """n1's exhausted address pools do not stop the network: it is made on n2."""
        self.patch(self.n1, "_create_network", _refuse(400, POOLS))
        status, answer = self.request("POST", "/networks/create",
                                      {"Name": "front", "CheckDuplicate": True})
        self.assertEqual(status, 201, answer)
        self.assertIn("front", self.names(self.n2))
        self.assertEqual(self.request("GET", "/networks/front")[0], 200)

    def test_every_node_refuses(self):
        """When every node refuses, the error names each node and its refusal."""
        self.patch(self.n1, "_create_network", _refuse(400, POOLS))
        self.n2.down = True
        status, answer = self.request("POST", "/networks/create", {"Name": "front"})
        self.assertEqual(status, 500)
        lines = answer["message"].split("\n")
        self.assertEqual(lines[0], "network front could not be created on any node:")
        self.assertEqual(sorted(line.split(":")[0] for line in lines[1:]), ["n1", "n2"])
        self.assertIn("n1: " + POOLS, lines)

    def test_one_node_names_it(self):
        """With one eligible node its refusal is named by that node."""
        self.patch(self.n1, "_create_network", _refuse(400, POOLS))
        status, answer = self.request("POST", "/networks/create", {
            "Name": "front", "Labels": {"com.docker.swarm.constraints": '["node==n1"]'}})
        self.assertEqual((status, answer["message"]), (400, "n1: " + POOLS))

    def test_name_taken_is_final(self):
        """An engine's 409 (the name is taken there) is not retried on another node."""
        taken = _refuse(409, "network with name front already exists")
        self.patch(self.n1, "_create_network", taken)
        self.patch(self.n2, "_create_network", taken)
        status, answer = self.request("POST", "/networks/create", {"Name": "front"})
        self.assertEqual(status, 409)
        creates = [r for c in (self.n1, self.n2) for r in c.requests
                   if r[:2] == ("POST", "/networks/create")]
        self.assertEqual(len(creates), 1)


class StatsNameTests(SynchronousTestCase):
    """
    docker stats shows the container as docker ps does: n2/web.
    """

    def test_lines_split_anywhere(self):
        """The name is rewritten in every line however the engine's writes cut them."""
        from swarmd.api._stats import _Renaming

        line = b'{"read":"x","name":"/web","id":"abc"}\n'
        body = line * 3
        for cut in range(1, len(body)):
            inner = Collect()
            renaming = _Renaming(inner, b'"name":"/web"', b'"name":"/n2/web"')
            renaming.dataReceived(body[:cut])
            renaming.dataReceived(body[cut:])
            renaming.connectionLost(Failure(ResponseDone()))
            self.assertEqual(b"".join(inner.data), body.replace(b"/web", b"/n2/web"))
            self.assertIsNotNone(inner.reason)

    def test_last_line_without_newline(self):
        """A body not ending in a newline is rewritten when it ends."""
        from swarmd.api._stats import _Renaming

        inner = Collect()
        renaming = _Renaming(inner, b'"name":"/web"', b'"name":"/n2/web"')
        renaming.dataReceived(b'{"name":"/web"}')
        self.assertEqual(inner.data, [])
        renaming.connectionLost(Failure(ResponseDone()))
        self.assertEqual(inner.data, [b'{"name":"/n2/web"}'])

    def test_through_the_manager(self):
        """GET /containers/web/stats?stream=0 answers "name": "/n2/web", without a stale length."""
        manager = MemoryManager((N1, N2))
        self.addCleanup(manager.stop)
        code, _, content = self.successResultOf(manager.request(
            "POST", "/containers/create?name=web",
            {"Image": "busybox", "Cmd": ["sleep", "60"], "Env": ["constraint:node==n2"]},
            {"Content-Type": "application/json"}))
        self.assertEqual(code, 201, content)
        self.successResultOf(manager.request("POST", "/containers/web/start"))
        code, headers, content = self.successResultOf(manager.request(
            "GET", "/containers/web/stats?stream=0"))
        self.assertEqual(code, 200, content)
        self.assertEqual(json.loads(content)["name"], "/n2/web")
        self.assertFalse(headers.hasHeader(b"Content-Length"))
        code, _, content = self.successResultOf(manager.request(
            "GET", "/containers/nope/stats?stream=0"))
        self.assertEqual(code, 404)


class SaveMessageTests(SynchronousTestCase):
    """
    docker save of several images no single node holds (issue 15).
    """

    def test_classic_line_then_nodes(self):
        """
        Classic Swarm's 404 line ("Unable to find a healthy engine containing all images:
        [a b]"), then what each node lacks, nodes lacking the same grouped.
        """
        from swarmd.api._images_merge import missing_images

        lacking = [("n3", ["alpine"]), ("n1", ["alpine"]), ("n2", ["busybox"])]
        self.assertEqual(missing_images(["busybox", "alpine"], lacking).split("\n"), [
            "Unable to find a healthy engine containing all images: [busybox alpine]",
            "n1, n3 lack alpine", "n2 lacks busybox"])
        many = [("n%02d" % (i,), ["ghost"]) for i in range(8)]
        self.assertEqual(missing_images(["busybox", "ghost"], many).split("\n")[1],
                         "n00, n01, n02, n03, n04 and 3 more lack ghost")


class VolumeNamesTests(SynchronousTestCase):
    """
    Where a volume is, as the scheduler counts it: the engine's list, and
    the volumes its containers mount, those being created included.
    """

    def test_mounted_and_pending(self):
        """A container mounting vol or being created with -v vol:/d puts vol on its node."""
        mounting = dict(inspect_container("a"), Mounts=[
            {"Type": "volume", "Name": "mounted", "Driver": "local"},
            {"Type": "volume", "Name": "remote", "Driver": "nfs"},
            {"Type": "bind", "Source": "/x"}])
        pending = {"Id": "", "Name": "/b", "_pending": "swarm-id",
                   "HostConfig": {"Binds": ["pending:/d", "/host:/h"]}}
        node = make_node("n1", containers=[mounting]).evolve(volumes=frozenset(["listed"]))
        self.assertEqual(node.volume_names, {"listed", "mounted"})
        self.assertEqual(node.with_container(pending).volume_names,
                         {"listed", "mounted", "pending"})
        fresh = make_node("n1", containers=[mounting, pending])
        self.assertEqual(fresh.volume_names, {"mounted", "pending"})

    def test_two_creates_of_a_new_volume(self):
        """Two containers naming a new volume go to one node: the second follows the first."""
        manager = MemoryManager((N1, N2), filters=filter_names())
        self.addCleanup(manager.stop)
        nodes = set()
        for index in range(2):
            code, _, content = self.successResultOf(manager.request(
                "POST", "/containers/create?name=c%d" % (index,),
                {"Image": "busybox", "HostConfig": {"Binds": ["together:/d"]}},
                {"Content-Type": "application/json"}))
            self.assertEqual(code, 201, content)
            code, _, content = self.successResultOf(manager.request(
                "GET", "/containers/c%d/json" % (index,)))
            nodes.add(json.loads(content)["Node"]["Name"])
        self.assertEqual(len(nodes), 1)
