"""
Tests for the network routes of L{swarmd.api.app.DockerAPI} in memory, and
for the pure pieces behind them (L{swarmd.api._networks_view},
L{swarmd.api._networks_placement}, L{swarmd.api._fanout}).

The engines are L{ObjectsClient}s: the in-memory engines of
L{swarmd.testing.stubengine} plus networks and volumes served over real HTTP
parsing (C{RequestTraversalAgent}), so the manager's raw engine calls run
as they do against dockerd.
"""

import hashlib
import itertools
import json
import random
import re
from urllib.parse import parse_qs, quote

from treq.testing import RequestTraversalAgent, StubTreq
from twisted.internet.defer import fail
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import readBody
from twisted.web.resource import Resource

from swarmd.api._fanout import combine_failures, prune_targets
from swarmd.api._networks_placement import node_constraint, pin_create_body
from swarmd.api._networks_view import (
    NetworkEntry,
    cluster_networks,
    find_network,
    find_network_on,
    merge_inspects,
    network_filter,
    networks_in_use,
    unique_networks,
)
from swarmd.api.app import DockerAPI
from swarmd.api.errors import DockerError
from swarmd.cluster import Cluster, EngineOptions
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.engine.client import BytesProducer
from swarmd.scheduler import ContainerConfig, Scheduler, filters_for, strategy_for
from swarmd.testing.fakediscovery import FakeDiscovery
from swarmd.testing.stubengine import StubClient, inspect

ALL_FILTERS = ["health", "port", "containerslots", "dependency", "affinity", "constraint",
               "whitelist"]

_serial = itertools.count(1)


def _digest(*parts):
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


class FakeAPIError(Exception):
    def __init__(self, status, message):
        Exception.__init__(self, status, message)
        self.status = status
        self.message = message


class _EngineResource(Resource):
    """
    The HTTP face of an L{ObjectsClient}: its network and volume routes.
    """

    isLeaf = True

    def __init__(self, client):
        Resource.__init__(self)
        self.client = client

    def render(self, request):
        path = re.sub(r"^/v\d+\.\d+", "", request.path.decode())
        method = request.method.decode()
        body = request.content.read() if request.content is not None else b""
        query = {k.decode(): v[-1].decode() for k, v in request.args.items()}
        self.client.requests.append((method, path, query, body))
        try:
            status, answer = self.client.handle(method, path, query, body)
        except FakeAPIError as e:
            status, answer = e.status, {"message": e.message}
        request.setResponseCode(status)
        if answer is None:
            return b""
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(answer).encode() + b"\n"


class ObjectsClient(StubClient):
    """
    An in-memory engine with networks and volumes, reachable both through
    the bookkeeping calls (C{list_networks}, C{list_volumes}) and through
    raw C{request}s as dockerd answers them.

    @ivar networks: network ID to network C{dict} (with C{Containers}).
    @ivar volumes: volume name to volume C{dict}.
    @ivar requests: C{(method, path, query, body)} of every raw request.
    """

    def __init__(self, address="127.0.0.1:2375", name="n1", clock=None, **kw):
        StubClient.__init__(self, address, name=name, clock=clock, **kw)
        self.name = name
        self.networks = {}
        self.volumes = {}
        self.requests = []
        for predefined, driver in (("bridge", "bridge"), ("host", "host"), ("none", "null")):
            self.add_network(predefined, driver=driver)
        self._agent = RequestTraversalAgent(_EngineResource(self))

    # -- state helpers --------------------------------------------------------

    def add_network(self, name, driver="bridge", scope="local", labels=None, network_id=None):
        network_id = network_id or _digest(self.name, name, str(next(_serial)))
        self.networks[network_id] = {
            "Name": name, "Id": network_id, "Scope": scope, "Driver": driver,
            "Labels": labels or {}, "Containers": {}, "Options": {},
        }
        return network_id

    def add_volume(self, name, driver="local", labels=None, scope="local"):
        self.volumes[name] = {"Name": name, "Driver": driver, "Scope": scope,
                              "Labels": labels, "Mountpoint": "/var/lib/docker/volumes/"
                              + name + "/_data"}

    def network(self, reference):
        for network in self.networks.values():
            if reference in (network["Id"], network["Name"]):
                return network
        found = [n for n in self.networks.values() if n["Id"].startswith(reference)]
        if len(found) == 1:
            return found[0]
        raise FakeAPIError(404, "network %s not found" % (reference,))

    def container_info(self, reference):
        for info in self.containers.values():
            if reference in (info["Id"], info["Name"].lstrip("/")):
                return info
        return None

    def mounting(self, volume):
        return [info["Id"] for info in self.containers.values()
                if any(m.get("Name") == volume for m in info.get("Mounts") or [])]

    # -- IEngineClient ------------------------------------------------------------

    def list_networks(self):
        listed = [dict(n, Containers={}) for n in self.networks.values()]
        return self._answer("list_networks", listed)

    def list_volumes(self):
        return self._answer("list_volumes", [dict(v) for v in self.volumes.values()])

    def request(self, method, path, headers=None, body=None, timeout=None):
        if isinstance(method, str):
            method = method.encode()
        if isinstance(path, str):
            path = path.encode()
        if self.down:
            self.calls.append("request")
            return fail(EngineUnreachable(self.address, "connection refused"))
        if isinstance(body, bytes):
            body = BytesProducer(body)
        return self._agent.request(method, b"http://engine" + path, headers, body)

    # -- the engine's routes ------------------------------------------------------

    def handle(self, method, path, query, body):
        data = json.loads(body) if body else {}
        filters = json.loads(query.get("filters") or "{}")
        route = (method, path)
        if route == ("POST", "/networks/create"):
            return self._create_network(data)
        if route == ("POST", "/networks/prune"):
            return self._prune_networks(filters)
        if route == ("POST", "/volumes/create"):
            return self._create_volume(data)
        if route == ("POST", "/volumes/prune"):
            return self._prune_volumes(filters)
        match = re.match(r"^/networks/([^/]+)(?:/(connect|disconnect))?$", path)
        if match:
            network = self.network(match.group(1))
            action = match.group(2)
            if method == "GET" and action is None:
                return 200, network
            if method == "DELETE" and action is None:
                return self._delete_network(network)
            if method == "POST" and action:
                return self._attach(network, action, data)
        match = re.match(r"^/volumes/([^/]+)$", path)
        if match:
            name = match.group(1)
            if name not in self.volumes:
                raise FakeAPIError(404, "get %s: no such volume" % (name,))
            if method == "GET":
                return 200, self.volumes[name]
            if method == "DELETE":
                users = self.mounting(name)
                if users and query.get("force") not in ("1", "true"):
                    raise FakeAPIError(409, "remove %s: volume is in use - [%s]" % (
                        name, ", ".join(users)))
                del self.volumes[name]
                return 204, None
        raise FakeAPIError(404, "page not found")

    def _create_network(self, data):
        name = data.get("Name") or ""
        if "/" in name or not name:
            raise FakeAPIError(400, "invalid name: %r" % (name,))
        if any(n["Name"] == name for n in self.networks.values()):
            raise FakeAPIError(409, "network with name %s already exists" % (name,))
        network_id = self.add_network(name, driver=data.get("Driver") or "bridge",
                                      labels=data.get("Labels"))
        return 201, {"Id": network_id, "Warning": ""}

    def _delete_network(self, network):
        if network["Name"] in ("bridge", "host", "none"):
            raise FakeAPIError(403, "%s is a pre-defined network and cannot be removed"
                               % (network["Name"],))
        if network["Containers"]:
            raise FakeAPIError(403, "error while removing network: network %s id %s has "
                                    "active endpoints" % (network["Name"], network["Id"]))
        del self.networks[network["Id"]]
        return 204, None

    def _attach(self, network, action, data):
        reference = data.get("Container") or ""
        info = self.container_info(reference)
        if info is None:
            if action == "disconnect" and data.get("Force"):
                raise FakeAPIError(404, "endpoint %s not found" % (reference,))
            raise FakeAPIError(404, "No such container: %s" % (reference,))
        attached = info["NetworkSettings"].setdefault("Networks", {})
        if action == "connect":
            if info["Id"] in network["Containers"]:
                raise FakeAPIError(403, "endpoint with name %s already exists in network %s"
                                   % (info["Name"].lstrip("/"), network["Name"]))
            network["Containers"][info["Id"]] = {"Name": info["Name"].lstrip("/")}
            attached[network["Name"]] = {"NetworkID": network["Id"]}
        else:
            if info["Id"] not in network["Containers"]:
                raise FakeAPIError(403, "container %s is not connected to network %s"
                                   % (info["Id"], network["Name"]))
            del network["Containers"][info["Id"]]
            attached.pop(network["Name"], None)
        return 200, None

    def _prune_networks(self, filters):
        for key in filters:
            if key not in ("label", "until"):
                raise FakeAPIError(400, "Invalid filter '%s'" % (key,))
        deleted = []
        for network in list(self.networks.values()):
            if network["Name"] in ("bridge", "host", "none") or network["Containers"]:
                continue
            labels = network["Labels"] or {}
            if not all(term.partition("=")[0] in labels for term in filters.get("label", [])):
                continue
            del self.networks[network["Id"]]
            deleted.append(network["Name"])
        return 200, {"NetworksDeleted": deleted}

    def _create_volume(self, data):
        name = data.get("Name") or _digest(self.name, "anonymous", str(next(_serial)))
        if "/" in name:
            raise FakeAPIError(400, "create %s: includes invalid characters for a local "
                                    "volume name" % (name,))
        if name not in self.volumes:
            self.add_volume(name, driver=data.get("Driver") or "local",
                            labels=data.get("Labels"))
        return 201, self.volumes[name]

    def _prune_volumes(self, filters):
        for key in filters:
            if key != "label":
                raise FakeAPIError(400, "Invalid filter '%s'" % (key,))
        deleted = []
        for name in sorted(self.volumes):
            if self.mounting(name):
                continue
            del self.volumes[name]
            deleted.append(name)
        return 200, {"VolumesDeleted": deleted, "SpaceReclaimed": 100 * len(deleted)}


def make_objects_cluster(n=2):
    """
    A cluster of C{n} healthy L{ObjectsClient} engines named C{n1}...

    @return: C{(cluster, clients by address, clock)}.
    """
    clock = Clock()
    clients = {}

    def factory(address):
        index = int(address.rsplit(":", 1)[1]) - 2375
        client = ObjectsClient(address, name="n%d" % index, clock=clock)
        clients[address] = client
        return client

    discovery = FakeDiscovery(clock=clock)
    cluster = Cluster(clock, discovery, factory,
                      Scheduler(strategy_for("spread", random=random.Random(1)),
                                filters_for(ALL_FILTERS)),
                      EngineOptions(), random=random.Random(2))
    cluster.start()
    discovery.set_entries(["127.0.0.1:%d" % (2375 + i) for i in range(1, n + 1)])
    clock.advance(0)
    return cluster, clients, clock


N1, N2 = "127.0.0.1:2376", "127.0.0.1:2377"


class ObjectsAPITestCase(SynchronousTestCase):
    """
    A manager API over two L{ObjectsClient} engines, C{n1} and C{n2}.
    """

    def setUp(self):
        self.cluster, self.clients, self.clock = make_objects_cluster(n=2)
        self.api = DockerAPI(self.cluster, self.clock)
        self.stub = StubTreq(self.api.resource())
        self.n1, self.n2 = self.clients[N1], self.clients[N2]

    def request(self, method, path, body=None):
        """
        @return: C{(status, decoded body)}.
        """
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = self.successResultOf(self.stub.request(
            method, "http://swarm" + path, data=data,
            headers={"Content-Type": "application/json"}))
        content = self.successResultOf(response.content())
        return response.code, json.loads(content) if content.strip() else None

    def refresh(self):
        for engine in self.cluster.engines.values():
            self.successResultOf(engine.refresh_list("networks"))
            self.successResultOf(engine.refresh_list("volumes"))
            self.successResultOf(engine.refresh_containers(full=True))

    def run_container(self, client, cid, name, **kw):
        client.containers[cid] = inspect(cid, name, **kw)
        self.successResultOf(self.cluster.engines[client.address].refresh_containers())

    def assertError(self, method, path, status, text, body=None):
        code, answer = self.request(method, path, body)
        self.assertEqual(code, status, answer)
        self.assertIn(text, answer["message"])
        return answer["message"]


# -- pure pieces ----------------------------------------------------------------------


class _Engine:
    def __init__(self, name, networks=(), volumes=(), containers=None, healthy=True):
        self.name = name
        self.id = "ID-%s|127.0.0.1:%s" % (name, name[1:])
        self.address = "127.0.0.1:" + name[1:]
        self.networks = list(networks)
        self.volumes = list(volumes)
        self.containers = containers or {}
        self.healthy = healthy


class _Container:
    def __init__(self, info):
        self.info = info


def _net(name, network_id, scope="local", driver="bridge", labels=None):
    return {"Name": name, "Id": network_id, "Scope": scope, "Driver": driver,
            "Labels": labels or {}}


class NetworkViewTests(SynchronousTestCase):
    """
    The merged network list, its filters and network lookup, over plain data.
    """

    def setUp(self):
        self.e1 = _Engine("n1", [_net("bridge", "b1" * 32), _net("front", "f1" * 32,
                                                                 labels={"tier": "web"}),
                                 _net("mesh", "ee" * 32, scope="swarm", driver="overlay")],
                          containers={"c": _Container({"NetworkSettings": {"Networks": {
                              "front": {"NetworkID": "f1" * 32}}}})})
        self.e2 = _Engine("n2", [_net("bridge", "b2" * 32), _net("back", "ab" * 32),
                                 _net("front", "f2" * 32),
                                 _net("mesh", "ee" * 32, scope="swarm", driver="overlay")])
        self.entries = cluster_networks([self.e1, self.e2])

    def shown(self, filters=None, in_use=frozenset()):
        keep = network_filter(filters or {}, set(in_use))
        return [e.shown_name for e in unique_networks(self.entries) if keep(e)]

    def test_local_prefixed_global_once(self):
        """Local networks are node/name; a swarm-scope network with one ID shows once."""
        self.assertEqual(self.shown(), ["mesh", "n1/bridge", "n1/front", "n2/back",
                                        "n2/bridge", "n2/front"])

    def test_filters_table(self):
        """Each filter of GET /networks selects what Docker's does, plus node."""
        used = {("127.0.0.1:1", "f1" * 32)}
        table = [
            ({"name": ["front"]}, ["n1/front", "n2/front"]),
            ({"name": ["^n2/"]}, ["n2/back", "n2/bridge", "n2/front"]),
            ({"id": ["^ab"]}, ["n2/back"]),
            ({"driver": ["overlay"]}, ["mesh"]),
            ({"scope": ["swarm"]}, ["mesh"]),
            ({"label": ["tier=web"]}, ["n1/front"]),
            ({"label": ["tier=db"]}, []),
            ({"type": ["builtin"]}, ["n1/bridge", "n2/bridge"]),
            ({"type": ["custom"]}, ["mesh", "n1/front", "n2/back", "n2/front"]),
            ({"node": ["n1"]}, ["mesh", "n1/bridge", "n1/front"]),
            ({"dangling": ["true"]}, ["mesh", "n2/back", "n2/front"]),
            ({"dangling": ["0"]}, ["n1/bridge", "n1/front", "n2/bridge"]),
        ]
        for filters, expected in table:
            self.assertEqual(self.shown(filters, used), expected, filters)

    def test_bad_filter_values(self):
        """type other than custom/builtin and a non-boolean dangling are 400s."""
        for filters, text in (({"type": ["odd"]}, "'type'='odd'"),
                              ({"dangling": ["maybe"]}, "dangling"),
                              ({"dangling": ["1", "0"]}, "more than one")):
            e = self.assertRaises(DockerError, network_filter, filters, set())
            self.assertEqual(e.status, 400)
            self.assertIn(text, e.message)

    def test_find_by_each_reference(self):
        """ID, node/name, unique name, node ID/name and unique ID prefix all resolve."""
        table = [
            ("f2" * 32, "n2/front"),
            ("n1/front", "n1/front"),
            ("back", "n2/back"),
            (self.e2.id + "/back", "n2/back"),
            ("abab", "n2/back"),
            ("mesh", "mesh"),
            ("eeee", "mesh"),
            ("n2/mesh", "mesh"),
        ]
        for reference, expected in table:
            self.assertEqual(find_network(self.entries, reference).shown_name, expected,
                             reference)
        self.assertIs(find_network(self.entries, "n2/mesh").engine, self.e2)

    def test_find_errors(self):
        """Unknown is 404 'network X not found'; a name on two nodes is 400 naming both."""
        for reference in ("nope", "n3/front", "n1/back", ""):
            e = self.assertRaises(DockerError, find_network, self.entries, reference)
            self.assertEqual((e.status, e.message), (404, "network %s not found" % reference))
        e = self.assertRaises(DockerError, find_network, self.entries, "front")
        self.assertEqual(e.status, 400)
        self.assertIn("ambiguous", e.message)
        self.assertIn("n1/front, n2/front", e.message)
        e = self.assertRaises(DockerError, find_network, self.entries, "b")
        self.assertIn("ID prefix", e.message)

    def test_find_on_engine(self):
        """On the container's engine a bare name is that engine's; another node is a 400."""
        self.assertEqual(find_network_on(self.entries, self.e1, "front").id, "f1" * 32)
        self.assertEqual(find_network_on(self.entries, self.e2, "n2/front").id, "f2" * 32)
        self.assertEqual(find_network_on(self.entries, self.e2, "mesh").engine, self.e2)
        self.assertIsNone(find_network_on(self.entries, self.e1, "back"))
        e = self.assertRaises(DockerError, find_network_on, self.entries, self.e1, "n2/back")
        self.assertEqual(e.status, 400)
        self.assertIn("not on node n1", e.message)

    def test_merge_inspects(self):
        """A global network's inspect gathers containers and peers of every engine."""
        merged = merge_inspects([
            {"Name": "mesh", "Containers": {"a": {"Name": "x"}}, "Peers": [{"IP": "1"}]},
            {"Name": "mesh", "Containers": {"b": {"Name": "y"}}, "Peers": [{"IP": "1"}]},
        ])
        self.assertEqual(sorted(merged["Containers"]), ["a", "b"])
        self.assertEqual(merged["Peers"], [{"IP": "1"}])

    def test_entry_summary(self):
        """A summary renames a local network and leaves the engine's dict alone."""
        network = _net("front", "f1" * 32)
        entry = NetworkEntry(self.e1, network)
        self.assertEqual(entry.summary()["Name"], "n1/front")
        self.assertEqual(network["Name"], "front")
        self.assertTrue(NetworkEntry(self.e1, {"Name": "x", "Id": "1"}).local)


class PlacementTests(SynchronousTestCase):
    """
    Create bodies naming node-local networks and volumes get pinned.
    """

    def setUp(self):
        self.engines = [
            _Engine("n1", [_net("bridge", "b1"), _net("front", "f1"),
                           _net("mesh", "m", scope="swarm")]),
            _Engine("n2", [_net("bridge", "b2"), _net("backend", "k2"), _net("front", "f2"),
                           _net("mesh", "m", scope="swarm")]),
            _Engine("n3", [_net("bridge", "b3"), _net("front", "f3")]),
        ]

    def pin(self, body):
        return pin_create_body(body, self.engines)

    def test_node_network(self):
        """--net n2/backend becomes backend with a node==n2 constraint, endpoints renamed."""
        body = {"Image": "busybox", "HostConfig": {"NetworkMode": "n2/backend"},
                "NetworkingConfig": {"EndpointsConfig": {"n2/backend": {"Aliases": ["a"]}}}}
        pinned = self.pin(body)
        self.assertEqual(pinned["HostConfig"]["NetworkMode"], "backend")
        self.assertEqual(pinned["NetworkingConfig"]["EndpointsConfig"],
                         {"backend": {"Aliases": ["a"]}})
        self.assertEqual(pinned["Env"], ["constraint:node==n2"])
        self.assertEqual(body["HostConfig"]["NetworkMode"], "n2/backend")
        config = ContainerConfig.from_create_body(pinned)
        self.assertTrue(config.has_node_constraint)

    def test_bare_names(self):
        """A bare name held by some nodes restricts to them; by all, global or builtin: not."""
        table = [
            ("backend", ["constraint:node==n2"]),
            ("front", None),
            ("mesh", None),
            ("bridge", None),
            ("host", None),
            ("container:abc", None),
            ("n9/backend", None),
        ]
        for mode, env in table:
            pinned = self.pin({"Image": "busybox", "HostConfig": {"NetworkMode": mode}})
            self.assertEqual(pinned.get("Env"), env, mode)
            self.assertEqual(pinned["HostConfig"]["NetworkMode"], mode.split("/")[-1]
                             if env else mode, mode)
        self.engines[2].networks.append(_net("backend", "k3"))
        pinned = self.pin({"Image": "busybox", "HostConfig": {"NetworkMode": "backend"}})
        self.assertEqual(pinned["Env"], ["constraint:node==/^(?:n2|n3)$/"])
        ContainerConfig.from_create_body(pinned)

    def test_volumes(self):
        """-v n1/data:/d and a volume mount n3/logs pin to those nodes; paths are untouched."""
        body = {"Image": "busybox", "Env": ["A=1"], "HostConfig": {
            "Binds": ["n1/data:/d:ro", "/host:/h", "plain:/p", "./rel:/r", "n9/x:/x"],
            "Mounts": [{"Type": "volume", "Source": "n3/logs", "Target": "/l"},
                       {"Type": "bind", "Source": "/tmp", "Target": "/t"}]}}
        pinned = self.pin(body)
        self.assertEqual(pinned["HostConfig"]["Binds"],
                         ["data:/d:ro", "/host:/h", "plain:/p", "./rel:/r", "n9/x:/x"])
        self.assertEqual(pinned["HostConfig"]["Mounts"][0]["Source"], "logs")
        self.assertEqual(pinned["Env"], ["A=1", "constraint:node==n1", "constraint:node==n3"])

    def test_nothing_to_pin(self):
        """A body without node-local references is returned as is."""
        body = {"Image": "busybox", "HostConfig": {"Binds": ["/a:/b"]}}
        self.assertIs(self.pin(body), body)

    def test_node_constraint(self):
        """One node is an exact constraint; several a regular expression of them."""
        self.assertEqual(node_constraint(["n1"]), "node==n1")
        self.assertEqual(node_constraint(["b.x", "a-1"]), r"node==/^(?:a\-1|b\.x)$/")


class FanOutTests(SynchronousTestCase):
    """
    Prune targets and how several engines' failures combine.
    """

    def test_prune_targets(self):
        """A node filter picks engines and is removed; other filters pass on."""
        engines = [_Engine("n1"), _Engine("n2")]
        self.assertEqual(prune_targets(engines, None), (engines, b""))
        chosen, query = prune_targets(engines, json.dumps({"node": ["n2"]}))
        self.assertEqual(([e.name for e in chosen], query), (["n2"], b""))
        chosen, query = prune_targets(engines, json.dumps({"node": {"n1": True},
                                                           "label": ["a"]}))
        self.assertEqual([e.name for e in chosen], ["n1"])
        self.assertEqual(parse_qs(query.decode()), {"filters": ['{"label": ["a"]}']})
        e = self.assertRaises(DockerError, prune_targets, engines, "{bad")
        self.assertEqual(e.status, 400)

    def test_combine_failures(self):
        """A shared status is kept, mixed ones are 500; each message names its node."""
        n1, n2 = _Engine("n1"), _Engine("n2")
        error = combine_failures([(n1, EngineError(409, "in use")),
                                  (n2, EngineError(409, "in use too"))])
        self.assertEqual((error.status, error.message), (409, "n1: in use\nn2: in use too"))
        error = combine_failures([(n1, EngineError(409, "in use")),
                                  (n2, EngineUnreachable("x", "refused"))])
        self.assertEqual(error.status, 500)
        self.assertIn("n2: cannot reach engine x: refused", error.message)


# -- routes -----------------------------------------------------------------------------


class NetworkListTests(ObjectsAPITestCase):
    """
    GET /networks from the engines' caches.
    """

    def test_list_prefixed(self):
        """Every engine's networks are listed, local ones as node/name."""
        self.n2.add_network("backend")
        self.refresh()
        status, answer = self.request("GET", "/v1.41/networks")
        self.assertEqual(status, 200)
        self.assertEqual([n["Name"] for n in answer], [
            "n1/bridge", "n1/host", "n1/none", "n2/backend", "n2/bridge", "n2/host",
            "n2/none"])
        self.assertEqual({r[0] for c in self.clients.values() for r in c.requests}, set())

    def test_list_filters(self):
        """Filters in the query select networks; unknown filters are a 400."""
        self.n2.add_network("backend", labels={"tier": "db"})
        self.refresh()
        filters = quote(json.dumps({"label": ["tier"], "type": ["custom"]}))
        status, answer = self.request("GET", "/networks?filters=" + filters)
        self.assertEqual([n["Name"] for n in answer], ["n2/backend"])
        self.assertError("GET", "/networks?filters=" + quote('{"color": ["x"]}'), 400,
                         "Invalid filter 'color'")
        self.assertError("GET", "/networks?filters=" + quote('{"type": ["x"]}'), 400, "type")

    def test_dangling_follows_containers(self):
        """A network a container is connected to is not dangling."""
        self.n1.add_network("used")
        self.n1.add_network("idle")
        self.run_container(self.n1, "c" * 64, "web")
        self.refresh()
        self.assertEqual(self.request("POST", "/networks/n1/used/connect",
                                      {"Container": "web"})[0], 200)
        filters = quote(json.dumps({"dangling": ["true"]}))
        status, answer = self.request("GET", "/networks?filters=" + filters)
        self.assertEqual([n["Name"] for n in answer], ["n1/idle"])


class NetworkInspectTests(ObjectsAPITestCase):
    """
    GET /networks/{id} answered by the engine holding it.
    """

    def setUp(self):
        ObjectsAPITestCase.setUp(self)
        self.backend = self.n2.add_network("backend")
        self.n1.add_network("front")
        self.n2.add_network("front")
        self.refresh()

    def test_by_each_reference(self):
        """node/name, unique name, ID and ID prefix give the engine's inspect, its own Name."""
        for reference in ("n2/backend", "backend", self.backend, self.backend[:12]):
            status, answer = self.request("GET", "/v1.41/networks/" + reference)
            self.assertEqual(status, 200, reference)
            self.assertEqual((answer["Id"], answer["Name"]), (self.backend, "backend"))
        self.assertEqual(self.n2.requests[-1][:2], ("GET", "/networks/" + self.backend))
        self.assertEqual(self.n1.requests, [])

    def test_query_passed_on(self):
        """verbose and scope reach the engine."""
        self.request("GET", "/networks/backend?verbose=1&scope=local")
        self.assertEqual(self.n2.requests[-1][2], {"verbose": "1", "scope": "local"})

    def test_unknown_and_ambiguous(self):
        """An unknown network is 404; a name on two nodes is 400 listing node/name choices."""
        self.assertError("GET", "/networks/nope", 404, "network nope not found")
        message = self.assertError("GET", "/networks/front", 400, "ambiguous")
        self.assertIn("n1/front, n2/front", message)

    def test_gone_on_engine(self):
        """A cached network the engine no longer has is a 404, and the cache forgets it."""
        del self.n2.networks[self.backend]
        self.assertError("GET", "/networks/n2/backend", 404, "network n2/backend not found")
        self.assertNotIn("backend", [n["Name"] for n in
                                     self.cluster.engines[N2].networks])

    def test_global_network_merged(self):
        """A swarm-scope network on both engines is inspected on both, containers merged."""
        for client, cid in ((self.n1, "a"), (self.n2, "b")):
            client.add_network("mesh", driver="overlay", scope="swarm", network_id="e" * 64)
            client.networks["e" * 64]["Containers"] = {cid * 64: {"Name": cid}}
        self.refresh()
        status, answer = self.request("GET", "/networks/mesh")
        self.assertEqual(status, 200)
        self.assertEqual(answer["Name"], "mesh")
        self.assertEqual(sorted(answer["Containers"]), ["a" * 64, "b" * 64])


class NetworkCreateTests(ObjectsAPITestCase):
    """
    POST /networks/create: pinned, scheduled, conflicts.
    """

    def create(self, name, **body):
        body["Name"] = name
        body.setdefault("CheckDuplicate", True)
        return self.request("POST", "/v1.41/networks/create", body)

    def names(self, client):
        return sorted(n["Name"] for n in client.networks.values())

    def test_pinned(self):
        """n2/backend is created on n2 only, under its bare name, and listed at once."""
        status, answer = self.create("n2/backend", Labels={"a": "b"})
        self.assertEqual(status, 201)
        self.assertEqual(sorted(answer), ["Id", "Warning"])
        self.assertIn("backend", self.names(self.n2))
        self.assertNotIn("backend", self.names(self.n1))
        self.assertEqual(json.loads(self.n2.requests[-1][3]),
                         {"Name": "backend", "Labels": {"a": "b"}, "CheckDuplicate": True})
        names = [n["Name"] for n in self.request("GET", "/networks")[1]]
        self.assertIn("n2/backend", names)
        self.assertEqual(self.request("GET", "/networks/" + answer["Id"])[1]["Name"],
                         "backend")

    def test_scheduled(self):
        """A bare name lands on exactly one node, chosen by the scheduler."""
        status, answer = self.create("front")
        self.assertEqual(status, 201)
        holders = [c.name for c in (self.n1, self.n2) if "front" in self.names(c)]
        self.assertEqual(len(holders), 1)
        self.assertEqual(self.request("GET", "/networks/%s/front" % (holders[0],))[1]["Name"],
                         "front")

    def test_scheduler_skips_unhealthy(self):
        """A network never lands on an unhealthy node, even without the health filter."""
        self.cluster.scheduler.filters = []
        engine = self.cluster.engines[N1]
        for _ in range(3):
            engine.failed(EngineUnreachable(N1, "down"))
        for i in range(4):
            self.assertEqual(self.create("net%d" % i)[0], 201)
        self.assertEqual([n for n in self.names(self.n1) if n.startswith("net")], [])
        engine = self.cluster.engines[N2]
        for _ in range(3):
            engine.failed(EngineUnreachable(N2, "down"))
        self.assertError("POST", "/networks/create", 500, "No healthy node",
                         {"Name": "stray"})
        self.assertNotIn("stray", self.names(self.n1) + self.names(self.n2))

    def test_conflicts(self):
        """A name taken on the pinned node is the engine's 409; a bare taken name is a 409."""
        self.create("n1/front")
        message = self.assertError("POST", "/networks/create", 409, "already exists",
                                   {"Name": "n1/front", "CheckDuplicate": True})
        self.assertEqual(message, "network with name front already exists")
        self.assertError("POST", "/networks/create", 409,
                         "network with name front already exists",
                         {"Name": "front", "CheckDuplicate": True})

    def test_bad_requests(self):
        """No name, an unknown node or an unhealthy node are refused with Docker JSON."""
        self.assertError("POST", "/networks/create", 400, "name is required", {})
        self.assertError("POST", "/networks/create", 404, "node n9 not found",
                         {"Name": "n9/x"})
        engine = self.cluster.engines[N2]
        for _ in range(3):
            engine.failed(EngineUnreachable(N2, "down"))
        self.assertError("POST", "/networks/create", 500, "node n2 is not healthy",
                         {"Name": "n2/x"})

    def test_no_healthy_node(self):
        """With no healthy node the scheduler's message comes back as a 500."""
        for engine in self.cluster.engines.values():
            for _ in range(3):
                engine.failed(EngineUnreachable(engine.address, "down"))
        self.assertError("POST", "/networks/create", 500, "No healthy node",
                         {"Name": "front"})


class NetworkConnectTests(ObjectsAPITestCase):
    """
    POST /networks/{id}/connect and /disconnect on the container's engine.
    """

    def setUp(self):
        ObjectsAPITestCase.setUp(self)
        self.backend = self.n2.add_network("backend")
        self.n1.add_network("front")
        self.n2.add_network("front")
        self.run_container(self.n2, "c" * 64, "web")
        self.refresh()

    def networks_of(self, name):
        container = self.cluster.container(name)
        return sorted(container.info["NetworkSettings"].get("Networks") or {})

    def test_connect_disconnect(self):
        """The engine of the container connects it; cache and container are fresh after."""
        for reference in ("n2/backend", "front"):
            status, answer = self.request("POST", "/v1.41/networks/%s/connect" % reference,
                                          {"Container": "web", "EndpointConfig": {}})
            self.assertEqual((status, answer), (200, None), reference)
        self.assertEqual(self.networks_of("web"), ["backend", "front"])
        method, path, query, body = self.n2.requests[-1]
        self.assertEqual(json.loads(body), {"Container": "c" * 64, "EndpointConfig": {}})
        self.assertEqual(self.n1.requests, [])
        status, answer = self.request("POST", "/networks/backend/disconnect",
                                      {"Container": "n2/web", "Force": False})
        self.assertEqual(status, 200)
        self.assertEqual(self.networks_of("web"), ["front"])

    def test_errors(self):
        """Unknown container 404, network of another node 400, engine errors pass through."""
        self.assertError("POST", "/networks/front/connect", 404, "No such container: ghost",
                         {"Container": "ghost"})
        self.n1.add_network("only1")
        self.refresh()
        self.assertError("POST", "/networks/n1/only1/connect", 400, "not on node n2",
                         {"Container": "web"})
        self.assertError("POST", "/networks/nope/connect", 404, "network nope not found",
                         {"Container": "web"})
        self.request("POST", "/networks/backend/connect", {"Container": "web"})
        self.assertError("POST", "/networks/backend/connect", 403, "already exists",
                         {"Container": "web"})
        self.assertError("POST", "/networks/backend/connect", 400, "container name",
                         {"Container": ""})

    def test_force_disconnect_unknown_container(self):
        """Force-disconnecting a container unknown to the cluster goes to the network's engine."""
        self.assertError("POST", "/networks/n2/backend/disconnect", 404,
                         "endpoint gone not found", {"Container": "gone", "Force": True})
        self.assertEqual(self.n2.requests[-1][1], "/networks/%s/disconnect" % self.backend)


class NetworkDeleteTests(ObjectsAPITestCase):
    """
    DELETE /networks/{id} and POST /networks/prune.
    """

    def test_delete(self):
        """The engine holding the network removes it; the list forgets it at once."""
        self.n2.add_network("backend")
        self.refresh()
        status, _ = self.request("DELETE", "/v1.41/networks/n2/backend")
        self.assertEqual(status, 204)
        self.assertNotIn("backend", [n["Name"] for n in self.n2.networks.values()])
        names = [n["Name"] for n in self.request("GET", "/networks")[1]]
        self.assertNotIn("n2/backend", names)
        self.assertError("DELETE", "/networks/n2/backend", 404, "not found")

    def test_delete_errors_pass_through(self):
        """A predefined network or one in use gives the engine's 403."""
        self.assertError("DELETE", "/networks/n1/bridge", 403, "pre-defined")
        self.assertError("DELETE", "/networks/bridge", 400, "ambiguous")

    def test_prune(self):
        """Prune runs on every engine; deleted names come back as node/name."""
        self.n1.add_network("a1")
        self.n2.add_network("b2", labels={"keep": "no"})
        self.refresh()
        status, answer = self.request("POST", "/v1.41/networks/prune")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(answer["NetworksDeleted"]), ["n1/a1", "n2/b2"])
        self.assertEqual(len(self.request("GET", "/networks")[1]), 6)

    def test_prune_filters(self):
        """A node filter picks engines; other filters reach them; their 400 passes through."""
        self.n1.add_network("a1")
        self.n2.add_network("b2")
        self.refresh()
        status, answer = self.request(
            "POST", "/networks/prune?filters=" + quote(json.dumps({"node": ["n2"]})))
        self.assertEqual(answer, {"NetworksDeleted": ["n2/b2"]})
        self.assertEqual(self.n1.requests, [])
        message = self.assertError("POST", "/networks/prune?filters=" + quote(
            json.dumps({"color": ["x"]})), 400, "Invalid filter 'color'")
        self.assertIn("n1: ", message)

    def test_prune_engine_down(self):
        """An engine failing the prune makes it fail, naming the node and what was deleted."""
        self.n1.add_network("a1")
        self.refresh()
        self.n2.down = True
        message = self.assertError("POST", "/networks/prune", 500, "n2: cannot reach")
        self.assertIn("deleted: n1/a1", message)


class RawRequestTests(SynchronousTestCase):
    """
    The fake engine answers raw requests like dockerd.
    """

    def test_fake_engine_http(self):
        """ObjectsClient serves errors as Docker JSON over real HTTP parsing."""
        client = ObjectsClient()
        response = self.successResultOf(client.request("GET", "/v1.41/networks/nope"))
        self.assertEqual(response.code, 404)
        self.assertEqual(json.loads(self.successResultOf(readBody(response))),
                         {"message": "network nope not found"})


class SimulatedEngineTests(SynchronousTestCase):
    """
    The network list over simulated engines (L{swarmd.testing.memory}),
    reached through the real L{swarmd.engine.EngineClient}.
    """

    def setUp(self):
        from swarmd.testing.memory import MemoryManager

        self.manager = MemoryManager((N1, N2))
        self.addCleanup(self.manager.stop)
        self.settle = self.manager.settle
        self.engines = self.manager.engines
        self.cluster = self.manager.cluster

    def request(self, method, path, body=None):
        code, headers, content = self.successResultOf(
            self.manager.request(method, path, body))
        return code, json.loads(content)

    def test_list_and_dangling(self):
        """Both engines' networks are node/name; a running container's bridge counts as in use."""
        self.assertEqual(len(self.cluster.healthy_engines()), 2)
        status, answer = self.request("GET", "/v1.41/networks")
        self.assertEqual(status, 200)
        self.assertEqual([n["Name"] for n in answer], [
            "n1/bridge", "n1/host", "n1/none", "n2/bridge", "n2/host", "n2/none"])
        status, created = self.request(
            "POST", "/v1.41/containers/create?name=web",
            {"Image": "busybox", "Cmd": ["top"], "Env": ["constraint:node==n2"]})
        self.assertEqual(status, 201, created)
        # As dockerd, a container only joins its network when it starts.
        self.assertEqual(networks_in_use(self.cluster.engines.values()), set())
        status, _, _ = self.successResultOf(
            self.manager.request("POST", "/v1.41/containers/web/start"))
        self.assertEqual(status, 204)
        filters = quote(json.dumps({"node": ["n2"], "driver": ["bridge"]}))
        status, answer = self.request("GET", "/networks?filters=" + filters)
        self.assertEqual([n["Name"] for n in answer], ["n2/bridge"])
        used = networks_in_use(self.cluster.engines.values())
        self.assertEqual(used, {(N2, answer[0]["Id"])})
