"""
Tests for the scheduling filters: the conformance suite on every provider,
then table tests of each filter.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import (
    AffinityFilter,
    ConstraintFilter,
    ContainerConfig,
    DependencyFilter,
    HealthFilter,
    PortFilter,
    SlotsFilter,
    WhitelistFilter,
)
from swarmd.testing.conformance.scheduler import make_ifilter_tests
from swarmd.testing.nodes import FakeFilter, image_summary, inspect_container, make_node

# -- conformance ----------------------------------------------------------------------


class HealthFilterInterfaceTests(make_ifilter_tests(lambda case: HealthFilter())):
    """
    HealthFilter passes the IFilter suite.
    """


class PortFilterInterfaceTests(make_ifilter_tests(lambda case: PortFilter())):
    """
    PortFilter passes the IFilter suite.
    """


class SlotsFilterInterfaceTests(make_ifilter_tests(lambda case: SlotsFilter())):
    """
    SlotsFilter passes the IFilter suite.
    """


class DependencyFilterInterfaceTests(make_ifilter_tests(lambda case: DependencyFilter())):
    """
    DependencyFilter passes the IFilter suite.
    """


class AffinityFilterInterfaceTests(make_ifilter_tests(lambda case: AffinityFilter())):
    """
    AffinityFilter passes the IFilter suite.
    """


class ConstraintFilterInterfaceTests(make_ifilter_tests(lambda case: ConstraintFilter())):
    """
    ConstraintFilter passes the IFilter suite.
    """


class WhitelistFilterInterfaceTests(make_ifilter_tests(lambda case: WhitelistFilter())):
    """
    WhitelistFilter passes the IFilter suite.
    """


class FakeFilterInterfaceTests(make_ifilter_tests(
        lambda case: FakeFilter(keep=lambda n: n.name != "n2",
                                soft_keep=lambda n: n.name != "n3", texts=["fake"]))):
    """
    The test fake passes the IFilter suite too.
    """


# -- helpers --------------------------------------------------------------------------


def config(env=(), **body):
    """
    A parsed create request for busybox with C{env} and body keys.
    """
    body.setdefault("Image", "busybox")
    body["Env"] = list(env)
    return ContainerConfig.from_create_body(body, "new")


def kept(node_filter, request, nodes, soft=True):
    return [n.name for n in node_filter.filter(request, nodes, soft)]


class FilterTestCase(SynchronousTestCase):
    """
    Table-driven checks of one filter.
    """

    def check(self, node_filter, nodes, table):
        """
        @param table: C{(env or config, soft, expected names)} rows.
        """
        for request, soft, expected in table:
            if not isinstance(request, ContainerConfig):
                request = config(request)
            self.assertEqual(kept(node_filter, request, nodes, soft), expected,
                             (request.body, soft))


# -- health and slots -----------------------------------------------------------------


class HealthFilterTests(FilterTestCase):
    """
    The health filter keeps healthy nodes only.
    """

    def test_keeps_healthy(self):
        """
        Unhealthy nodes are dropped, the others kept in order.
        """
        nodes = [make_node("a"), make_node("b", healthy=False), make_node("c")]
        self.assertEqual(kept(HealthFilter(), config(), nodes), ["a", "c"])

    def test_none_healthy(self):
        """
        No healthy node gives an empty list, and no conditions to list.
        """
        self.assertEqual(kept(HealthFilter(), config(), [make_node("a", healthy=False)]), [])
        self.assertEqual(HealthFilter().expressions(config()), [])


class SlotsFilterTests(FilterTestCase):
    """
    The containerslots filter caps containers per node by engine label.
    """

    def test_slots(self):
        """
        A node with containerslots=N takes containers while it has fewer than N.
        """
        two = [inspect_container("a"), inspect_container("b", running=False)]
        nodes = [
            make_node("free"),
            make_node("full", labels={"containerslots": "2"}, containers=two),
            make_node("room", labels={"containerslots": "3"}, containers=two),
            make_node("zero", labels={"containerslots": "0"}),
            make_node("bad", labels={"containerslots": "many"}, containers=two),
            make_node("signed", labels={"containerslots": "+2"}, containers=two),
        ]
        self.assertEqual(kept(SlotsFilter(), config(), nodes), ["free", "room", "bad"])

    def test_pending_count(self):
        """
        Containers being created (no ID yet) take slots too.
        """
        pending = {"Id": "", "Name": "/p", "HostConfig": {}, "Config": {}}
        node = make_node("n", labels={"containerslots": "1"}, containers=[pending])
        self.assertEqual(kept(SlotsFilter(), config(), [node]), [])

    def test_expressions(self):
        """
        The condition listed is classic Swarm's text.
        """
        self.assertEqual(SlotsFilter().expressions(config()), ["available container slots"])


# -- constraint and whitelist ---------------------------------------------------------


class ConstraintFilterTests(FilterTestCase):
    """
    Constraints on engine labels, built-in labels and the node itself.
    """

    def setUp(self):
        self.nodes = [
            make_node("n1", id="ID1|127.0.0.1:1", labels={"storage": "ssd", "zone": "eu-1"}),
            make_node("n2", id="ID2|127.0.0.1:2", labels={"storage": "hdd", "zone": "us-1",
                                                          "operatingsystem": "Ubuntu 22.04"}),
            make_node("n3", id="ID3|127.0.0.1:3", labels={"zone": "eu-2"}),
        ]

    def test_labels(self):
        """
        ==, != (nodes without the label are "not equal"), globs and regexes on labels.
        """
        self.check(ConstraintFilter(), self.nodes, [
            ([], True, ["n1", "n2", "n3"]),
            (["constraint:storage==ssd"], True, ["n1"]),
            (["constraint:storage!=ssd"], True, ["n2", "n3"]),
            (["constraint:storage==*"], True, ["n1", "n2"]),
            (["constraint:zone==eu-*"], True, ["n1", "n3"]),
            (["constraint:zone==/^us/"], True, ["n2"]),
            (["constraint:zone==eu-*", "constraint:storage==ssd"], True, ["n1"]),
            (["constraint:storage==nvme"], True, []),
            (["constraint:missing!=x"], True, ["n1", "n2", "n3"]),
        ])

    def test_builtin_labels(self):
        """
        Built-in labels filled in by the cluster are constrained like engine labels.
        """
        self.check(ConstraintFilter(), self.nodes, [
            (["constraint:storagedriver==overlay2"], True, ["n1", "n2", "n3"]),
            (["constraint:ostype==linux"], True, ["n1", "n2", "n3"]),
            (["constraint:operatingsystem==Ubuntu*"], True, ["n2"]),
            (["constraint:kernelversion==6.1.*"], True, ["n1", "n2", "n3"]),
            (["constraint:kernelversion==5.*"], True, []),
        ])

    def test_node_key(self):
        """
        The key node matches the node's name or its ID, never a label named node.
        """
        labelled = make_node("n4", id="ID4|x", labels={"node": "n1"})
        self.check(ConstraintFilter(), self.nodes + [labelled], [
            (["constraint:node==n2"], True, ["n2"]),
            (["constraint:node==ID3|127.0.0.1:3"], True, ["n3"]),
            (["constraint:node!=n1"], True, ["n2", "n3", "n4"]),
            (["constraint:node==n[13]"], True, ["n1", "n3"]),
            (["constraint:node==/ID[12]/"], True, ["n1", "n2"]),
        ])

    def test_soft(self):
        """
        Soft constraints count only when soft is true.
        """
        self.check(ConstraintFilter(), self.nodes, [
            (["constraint:storage==~ssd"], True, ["n1"]),
            (["constraint:storage==~ssd"], False, ["n1", "n2", "n3"]),
            (["constraint:storage==~nvme"], True, []),
            (["constraint:storage==~nvme", "constraint:zone==us-1"], False, ["n2"]),
        ])

    def test_expressions(self):
        """
        Constraints are listed as classic's key==value, soft ones without their ~.
        """
        request = config(["constraint:storage==ssd", "constraint:zone!=~us*"])
        self.assertEqual(ConstraintFilter().expressions(request),
                         ["storage==ssd", "zone!=us*"])


class WhitelistFilterTests(FilterTestCase):
    """
    Whitelists name the nodes a container may go to.
    """

    def setUp(self):
        self.nodes = [make_node("n1", id="ID1|a"), make_node("n2", id="ID2|b"),
                      make_node("n3", id="ID3|c")]

    def test_whitelist(self):
        """
        Names or IDs separated by |, globs, regexes and != for the others.
        """
        self.check(WhitelistFilter(), self.nodes, [
            ([], True, ["n1", "n2", "n3"]),
            (["whitelist:node==n1|n3"], True, ["n1", "n3"]),
            (["whitelist:node==ID2|b"], True, ["n2"]),
            (["whitelist:node==n*"], True, ["n1", "n2", "n3"]),
            (["whitelist:node==/[23]$/"], True, ["n2", "n3"]),
            (["whitelist:node!=n1|n3"], True, ["n2"]),
            (["whitelist:node==n9"], True, []),
            (["whitelist:host==n2"], True, ["n2"]),
            (["whitelist:node==n1|n2", "whitelist:node==n2|n3"], True, ["n2"]),
            (["whitelist:node==~n9"], True, []),
            (["whitelist:node==~n9"], False, ["n1", "n2", "n3"]),
        ])

    def test_expressions(self):
        """
        Whitelists are listed as classic's key==value (soft=...).
        """
        request = config(["whitelist:node==n1|n2", "whitelist:node!=~n3"])
        self.assertEqual(WhitelistFilter().expressions(request),
                         ["node==n1|n2 (soft=false)", "node!=n3 (soft=true)"])


# -- affinity -------------------------------------------------------------------------


class AffinityFilterTests(FilterTestCase):
    """
    Affinities to containers, images and container labels.
    """

    def setUp(self):
        self.nodes = [
            make_node("n1", containers=[
                inspect_container("web", id="a" * 64, labels={"tier": "front", "app": "shop"}),
                inspect_container("old", running=False, labels={"tier": "batch"}),
            ], images=[image_summary("busybox"), image_summary("nginx:1.25",
                                                               id="sha256:" + "e" * 64)]),
            make_node("n2", containers=[
                inspect_container("db", id="b" * 64, labels={"tier": "back"}),
            ], images=[image_summary("registry.local:5000/team/redis:7",
                                     digests=["registry.local:5000/team/redis@sha256:"
                                              + "d" * 64])]),
            make_node("n3", containers=[{"Id": "", "Name": "/pending",
                                         "Config": {"Labels": {"tier": "front"}},
                                         "HostConfig": {}}]),
        ]

    def test_container(self):
        """
        container matches names (any state, pending included) and IDs.
        """
        self.check(AffinityFilter(), self.nodes, [
            ([], True, ["n1", "n2", "n3"]),
            (["affinity:container==web"], True, ["n1"]),
            (["affinity:container==old"], True, ["n1"]),
            (["affinity:container==pending"], True, ["n3"]),
            (["affinity:container==" + "b" * 64], True, ["n2"]),
            (["affinity:container==bbbb*"], True, ["n2"]),
            (["affinity:container==/^(web|db)$/"], True, ["n1", "n2"]),
            (["affinity:container!=web"], True, ["n2", "n3"]),
            (["affinity:container==nope"], True, []),
        ])

    def test_image(self):
        """
        image matches IDs (with or without sha256:), repo:tag, repository and digests.
        """
        self.check(AffinityFilter(), self.nodes, [
            (["affinity:image==busybox"], True, ["n1"]),
            (["affinity:image==busybox:latest"], True, ["n1"]),
            (["affinity:image==nginx:1.25"], True, ["n1"]),
            (["affinity:image==nginx:1.24"], True, []),
            (["affinity:image==sha256:" + "e" * 64], True, ["n1"]),
            (["affinity:image==" + "e" * 64], True, ["n1"]),
            (["affinity:image==registry.local:5000/team/redis"], True, ["n2"]),
            (["affinity:image==registry.local:5000/team/redis:7"], True, ["n2"]),
            (["affinity:image==registry.local:5000/team/redis@sha256:" + "d" * 64],
             True, ["n2"]),
            (["affinity:image==*redis*"], True, ["n2"]),
            (["affinity:image!=busybox"], True, ["n2", "n3"]),
        ])

    def test_labels(self):
        """
        Any other key matches that label on the node's containers.
        """
        self.check(AffinityFilter(), self.nodes, [
            (["affinity:tier==front"], True, ["n1", "n3"]),
            (["affinity:tier==batch"], True, ["n1"]),
            (["affinity:tier!=front"], True, ["n2"]),
            (["affinity:app==*"], True, ["n1"]),
            (["affinity:app!=shop"], True, ["n2", "n3"]),
            (["affinity:tier==front", "affinity:app==shop"], True, ["n1"]),
        ])

    def test_soft(self):
        """
        Soft affinities count only when soft is true.
        """
        self.check(AffinityFilter(), self.nodes, [
            (["affinity:container==~db"], True, ["n2"]),
            (["affinity:container==~db"], False, ["n1", "n2", "n3"]),
            (["affinity:container==~nope", "affinity:tier==front"], False, ["n1", "n3"]),
        ])

    def test_expressions(self):
        """
        Affinities are listed as classic's key==value (soft=...), without the ~.
        """
        request = config(["affinity:container==web", "affinity:image!=~redis"])
        self.assertEqual(AffinityFilter().expressions(request),
                         ["container==web (soft=false)", "image!=redis (soft=true)"])


# -- dependency -----------------------------------------------------------------------


class DependencyFilterTests(FilterTestCase):
    """
    --volumes-from, --link and --net=container: need their containers on the node.
    """

    def setUp(self):
        self.nodes = [
            make_node("n1", id="E1|a", containers=[
                inspect_container("data", id="d" * 64, running=False),
                inspect_container("db", id="c" * 64)]),
            make_node("n2", id="E2|b", containers=[inspect_container("db", id="f" * 64)]),
            make_node("n3", id="E3|c", containers=[
                inspect_container("proxy", id="1234567890ab" + "0" * 52,
                                  labels={"com.docker.swarm.id": "9" * 64})]),
        ]

    def test_dependencies(self):
        """
        Each kind of dependency, by name, /name, node/name, ID, short ID or prefix.
        """
        hc = lambda **kw: config(HostConfig=kw)  # noqa: E731
        self.check(DependencyFilter(), self.nodes, [
            (hc(), True, ["n1", "n2", "n3"]),
            (hc(VolumesFrom=["data"]), True, ["n1"]),
            (hc(VolumesFrom=["data:ro"]), True, ["n1"]),
            (hc(Links=["db:database"]), True, ["n1", "n2"]),
            (hc(Links=["/db:/new/database"]), True, ["n1", "n2"]),
            (hc(Links=["db:db"], VolumesFrom=["data"]), True, ["n1"]),
            (hc(NetworkMode="container:proxy"), True, ["n3"]),
            (hc(NetworkMode="container:1234567890ab"), True, ["n3"]),
            (hc(NetworkMode="container:" + "1234567890ab" + "0" * 52), True, ["n3"]),
            (hc(NetworkMode="container:" + "9" * 64), True, ["n3"]),
            (hc(Links=["n2/db:db"]), True, ["n2"]),
            (hc(VolumesFrom=["ddd"]), True, ["n1"]),
            (hc(VolumesFrom=["nothing"]), True, []),
            (hc(NetworkMode="bridge"), True, ["n1", "n2", "n3"]),
        ])

    def test_ambiguous_prefix(self):
        """
        An ID prefix shared by two containers of a node names neither.
        """
        node = make_node("n", containers=[inspect_container("a", id="ab" + "0" * 62),
                                          inspect_container("b", id="ab" + "1" * 62)])
        self.assertFalse(node.has_container("ab"))
        self.assertTrue(node.has_container("ab0"))

    def test_expressions(self):
        """
        Dependencies are listed as the docker run flags that made them.
        """
        request = config(HostConfig={"VolumesFrom": ["data:ro"], "Links": ["db:database"],
                                     "NetworkMode": "container:proxy"})
        self.assertEqual(DependencyFilter().expressions(request),
                         ["--volumes-from=data:ro", "--link=db:database",
                          "--net=container:proxy"])


# -- ports ----------------------------------------------------------------------------


def bridge(*bindings):
    """
    A request publishing C{(container port, host ip, host port)} bindings.
    """
    ports = {}
    for key, ip, port in bindings:
        ports.setdefault(key, []).append({"HostIp": ip, "HostPort": port})
    return config(HostConfig={"PortBindings": ports})


def host(*exposed):
    return config(ExposedPorts={key: {} for key in exposed}, HostConfig={"NetworkMode": "host"})


class PortFilterTests(FilterTestCase):
    """
    Host ports may be used once per host address.
    """

    def nodes(self, **containers):
        """
        One node per keyword, each on its own IP, holding the given containers.
        """
        return [make_node(name, addr="10.78.%d.2:2375" % (i,), containers=held)
                for i, (name, held) in enumerate(containers.items(), 1)]

    def test_running_and_stopped(self):
        """
        A host port bound by a running, stopped or pending container is taken.
        """
        nodes = self.nodes(
            run=[inspect_container("a", ports={"80/tcp": "8080"})],
            stop=[inspect_container("b", ports={"80/tcp": "8081"}, running=False)],
            pend=[{"Id": "", "Name": "/p", "Config": {},
                   "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "8082"}]}}}],
            free=[inspect_container("c", ports={"80/tcp": "9999"})],
        )
        self.check(PortFilter(), nodes, [
            (bridge(("80/tcp", "", "8080")), True, ["stop", "pend", "free"]),
            (bridge(("80/tcp", "", "8081")), True, ["run", "pend", "free"]),
            (bridge(("80/tcp", "", "8082")), True, ["run", "stop", "free"]),
            (bridge(("80/tcp", "", "8080"), ("81/tcp", "", "8081")), True, ["pend", "free"]),
            (bridge(("80/tcp", "", "")), True, ["run", "stop", "pend", "free"]),
            (config(), True, ["run", "stop", "pend", "free"]),
        ])

    def test_dynamic_ports(self):
        """
        A port the engine chose (-p 80) is taken once NetworkSettings shows it.
        """
        nodes = self.nodes(n1=[inspect_container(
            "a", ports={"80/tcp": [("", "")]}, published={"80/tcp": [("0.0.0.0", "32768")]})])
        self.check(PortFilter(), nodes, [
            (bridge(("80/tcp", "", "32768")), True, []),
            (bridge(("80/tcp", "", "32769")), True, ["n1"]),
        ])

    def test_addresses(self):
        """
        Same address clashes; different addresses do not; all interfaces clash with any.
        """
        nodes = self.nodes(
            lo=[inspect_container("a", ports={"80/tcp": [("127.0.0.1", "8080")]})],
            any=[inspect_container("b", ports={"80/tcp": [("0.0.0.0", "8080")]})],
            v6=[inspect_container("c", ports={"80/tcp": [("::", "8080")]})],
        )
        self.check(PortFilter(), nodes, [
            (bridge(("80/tcp", "127.0.0.1", "8080")), True, []),
            (bridge(("80/tcp", "127.0.0.2", "8080")), True, ["lo"]),
            (bridge(("80/tcp", "", "8080")), True, []),
            (bridge(("80/tcp", "0.0.0.0", "8080")), True, []),
            (bridge(("80/tcp", "127.0.0.1", "8081")), True, ["lo", "any", "v6"]),
        ])

    def test_protocols(self):
        """
        TCP and UDP ports of the same number do not clash.
        """
        nodes = self.nodes(n1=[inspect_container("dns", ports={"53/udp": "53"})])
        self.check(PortFilter(), nodes, [
            (bridge(("53/udp", "", "53")), True, []),
            (bridge(("53/tcp", "", "53")), True, ["n1"]),
            (bridge(("53", "", "53")), True, ["n1"]),
        ])

    def test_host_network(self):
        """
        On the host network exposed ports are the host ports, both ways.
        """
        nodes = self.nodes(
            hostnet=[inspect_container("a", network_mode="host", exposed=("9000/tcp",))],
            bridged=[inspect_container("b", ports={"80/tcp": "9001"})],
            exposed=[inspect_container("c", exposed=("9000/tcp",))],
        )
        self.check(PortFilter(), nodes, [
            (host("9000/tcp"), True, ["bridged", "exposed"]),
            (host("9001/tcp"), True, ["hostnet", "exposed"]),
            (host("9002/tcp"), True, ["hostnet", "bridged", "exposed"]),
            (bridge(("80/tcp", "", "9000")), True, ["bridged", "exposed"]),
        ])

    def test_ranges(self):
        """
        A requested range needs one free port of it.
        """
        nodes = self.nodes(n1=[inspect_container("a", ports={"80/tcp": "8000",
                                                             "81/tcp": "8001"})])
        self.check(PortFilter(), nodes, [
            (bridge(("80/tcp", "", "8000-8001")), True, []),
            (bridge(("80/tcp", "", "8000-8002")), True, ["n1"]),
            (bridge(("80/tcp", "", "8001-8000")), True, ["n1"]),
        ])

    def test_same_ip_is_one_host(self):
        """
        Nodes on the same host IP share their host ports.
        """
        nodes = [
            make_node("a", addr="127.0.0.1:23751",
                      containers=[inspect_container("web", ports={"80/tcp": "8080"})]),
            make_node("b", addr="unix:///run/b.sock"),
            make_node("c", addr="10.78.3.2:2375"),
        ]
        self.assertEqual(nodes[1].ip, "127.0.0.1")
        self.check(PortFilter(), nodes, [
            (bridge(("80/tcp", "", "8080")), True, ["c"]),
            (bridge(("80/tcp", "", "8081")), True, ["a", "b", "c"]),
        ])

    def test_expressions(self):
        """
        Ports are listed as classic Swarm lists them, per mode.
        """
        self.assertEqual(PortFilter().expressions(bridge(("80/tcp", "", "8080"),
                                                         ("80/tcp", "", ""))),
                         ["port 8080 (Bridge mode)"])
        self.assertEqual(PortFilter().expressions(host("9000/tcp")),
                         ["port 9000/tcp (Host mode)"])
        self.assertEqual(PortFilter().expressions(config()), [])
