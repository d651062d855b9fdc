"""
Tests for the volume routes of L{swarmd.api.app.DockerAPI} in memory (over
the L{ObjectsClient} engines of L{tests.unit.test_api_networks}), and for
the pure pieces behind them (L{swarmd.api._volumes_view}).
"""

import json
from urllib.parse import quote

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api._volumes_view import (
    VolumeEntry,
    cluster_volumes,
    find_volume,
    unique_volumes,
    volume_filter,
    volumes_in_use,
)
from swarmd.api.errors import DockerError
from swarmd.engine import EngineUnreachable
from tests.unit import test_api_networks
from tests.unit.test_api_networks import N1, N2, ObjectsAPITestCase, _Container, _Engine


def _vol(name, driver="local", scope="local", labels=None):
    return {"Name": name, "Driver": driver, "Scope": scope, "Labels": labels}


def _mounting(*names):
    return _Container({"Mounts": [{"Type": "volume", "Name": n} for n in names]
                       + [{"Type": "bind", "Source": "/x", "Name": ""}]})


class VolumeViewTests(SynchronousTestCase):
    """
    The merged volume list, its filters and volume lookup, over plain data.
    """

    def setUp(self):
        self.e1 = _Engine("n1", volumes=[_vol("data"), _vol("logs", labels={"keep": "yes"}),
                                         _vol("shared", driver="nfs", scope="global")],
                          containers={"c": _mounting("logs")})
        self.e2 = _Engine("n2", volumes=[_vol("data"), _vol("only2"),
                                         _vol("shared", driver="nfs", scope="global"),
                                         {"Name": "old", "Driver": "local"}])
        self.engines = [self.e1, self.e2]
        self.entries = cluster_volumes(self.engines)

    def shown(self, filters=None):
        keep = volume_filter(filters or {}, volumes_in_use(self.engines))
        return [e.shown_name for e in unique_volumes(self.entries) if keep(e)]

    def lookup(self, name):
        return {"n1": self.e1, "n2": self.e2}.get(name)

    def test_local_prefixed_global_once(self):
        """Local volumes are node/name (a Scope-less local driver too); global ones once."""
        self.assertEqual(self.shown(), ["n1/data", "n1/logs", "n2/data", "n2/old",
                                        "n2/only2", "shared"])

    def test_filters_table(self):
        """name, driver, label, dangling and node select what Docker (and classic) would."""
        table = [
            ({"name": ["data"]}, ["n1/data", "n2/data"]),
            ({"name": ["^n2/"]}, ["n2/data", "n2/old", "n2/only2"]),
            ({"driver": ["nfs"]}, ["shared"]),
            ({"label": ["keep"]}, ["n1/logs"]),
            ({"label": ["keep=no"]}, []),
            ({"dangling": ["true"]}, ["n1/data", "n2/data", "n2/old", "n2/only2", "shared"]),
            ({"dangling": ["false"]}, ["n1/logs"]),
            ({"node": ["n1"]}, ["n1/data", "n1/logs", "shared"]),
        ]
        for filters, expected in table:
            self.assertEqual(self.shown(filters), expected, filters)
        e = self.assertRaises(DockerError, volume_filter, {"dangling": ["x"]}, set())
        self.assertEqual((e.status, e.message), (400, "Invalid filter 'dangling=[x]'"))

    def test_find(self):
        """node/name and a name unique in the cluster resolve to that engine's volume."""
        self.assertIs(find_volume(self.entries, "n1/data", self.lookup).engine, self.e1)
        self.assertIs(find_volume(self.entries, "only2", self.lookup).engine, self.e2)
        self.assertEqual(find_volume(self.entries, "shared", self.lookup).name, "shared")

    def test_find_errors(self):
        """Unknown volumes are Docker's 404; a bare name on two nodes is a 400 naming both."""
        for reference in ("nope", "n1/only2", "n9/data"):
            e = self.assertRaises(DockerError, find_volume, self.entries, reference,
                                  self.lookup)
            self.assertEqual((e.status, e.message),
                             (404, "get %s: no such volume" % (reference,)))
        self.e2.volumes[0] = _vol("data", labels={"other": "1"})
        self.entries = cluster_volumes(self.engines)
        e = self.assertRaises(DockerError, find_volume, self.entries, "data", self.lookup)
        self.assertEqual(e.status, 400)
        self.assertIn("n1/data, n2/data", e.message)

    def test_find_alike(self):
        """A bare name several nodes hold alike (made everywhere) is the first node's copy."""
        self.assertIs(find_volume(self.entries, "data", self.lookup).engine, self.e1)

    def test_summary_copy(self):
        """A summary renames a local volume without touching the cached dict."""
        volume = _vol("data")
        self.assertEqual(VolumeEntry(self.e1, volume).summary()["Name"], "n1/data")
        self.assertEqual(volume["Name"], "data")


class VolumeRouteTests(ObjectsAPITestCase):
    """
    /volumes routes over two in-memory engines.
    """

    def names(self, query=""):
        status, answer = self.request("GET", "/v1.41/volumes" + query)
        self.assertEqual(status, 200)
        return [v["Name"] for v in answer["Volumes"]]

    def held(self):
        return {c.name: sorted(c.volumes) for c in (self.n1, self.n2)}

    def test_list(self):
        """GET /volumes merges both engines' volumes, node-prefixed, with Warnings."""
        self.n1.add_volume("a")
        self.n2.add_volume("b", labels={"x": "1"})
        self.refresh()
        status, answer = self.request("GET", "/volumes")
        self.assertEqual(sorted(answer), ["Volumes", "Warnings"])
        self.assertEqual(answer["Warnings"], [])
        self.assertEqual(self.names(), ["n1/a", "n2/b"])
        self.assertEqual(self.names("?filters=" + quote(json.dumps({"label": ["x=1"]}))),
                         ["n2/b"])
        self.assertError("GET", "/volumes?filters=" + quote('{"size": ["1"]}'), 400,
                         "Invalid filter 'size'")

    def test_list_warns_unhealthy(self):
        """A node that is not healthy is named in Warnings."""
        engine = self.cluster.engines[N2]
        for _ in range(3):
            engine.failed(EngineUnreachable(N2, "down"))
        status, answer = self.request("GET", "/volumes")
        self.assertEqual(answer["Warnings"],
                         ["node n2 is unhealthy: its volumes may be out of date"])

    def test_create_bare_everywhere(self):
        """A bare name is created on every healthy node and answered under that bare name."""
        status, answer = self.request("POST", "/v1.41/volumes/create",
                                      {"Name": "data", "Labels": {"a": "b"}})
        self.assertEqual(status, 201)
        self.assertEqual(answer["Name"], "data")
        self.assertEqual(answer["Driver"], "local")
        self.assertEqual(self.held(), {"n1": ["data"], "n2": ["data"]})
        self.assertEqual(self.names(), ["n1/data", "n2/data"])

    def test_create_skips_unhealthy(self):
        """Creating everywhere means every healthy node; the answer is from one of them."""
        engine = self.cluster.engines[N1]
        for _ in range(3):
            engine.failed(EngineUnreachable(N1, "down"))
        status, answer = self.request("POST", "/volumes/create", {"Name": "data"})
        self.assertEqual((status, answer["Name"]), (201, "n2/data"))
        self.assertEqual(self.held(), {"n1": [], "n2": ["data"]})

    def test_create_pinned(self):
        """n2/only is created on n2 alone, under its bare name."""
        status, answer = self.request("POST", "/volumes/create", {"Name": "n2/only"})
        self.assertEqual((status, answer["Name"]), (201, "n2/only"))
        self.assertEqual(json.loads(self.n2.requests[-1][3]), {"Name": "only"})
        self.assertEqual(self.held(), {"n1": [], "n2": ["only"]})
        self.assertError("POST", "/volumes/create", 404, "node n9 not found",
                         {"Name": "n9/x"})

    def test_create_anonymous(self):
        """A volume without a name goes to one node only."""
        for body in ({}, None):
            status, answer = self.request("POST", "/volumes/create", body)
            self.assertEqual(status, 201)
            node, name = answer["Name"].split("/")
            self.assertEqual(len(name), 64)
        self.assertEqual(sum(len(v) for v in self.held().values()), 2)

    def test_create_errors(self):
        """Every node failing is an error naming each; one pinned node's error passes as is."""
        self.n1.down = True
        self.n2.down = True
        message = self.assertError("POST", "/volumes/create", 500, "cannot reach",
                                   {"Name": "data"})
        self.assertIn("n1: ", message)
        self.assertIn("n2: ", message)
        self.n2.down = False
        message = self.assertError("POST", "/volumes/create", 400, "invalid characters",
                                   {"Name": "n2/a/b"})
        self.assertFalse(message.startswith("n2:"), message)
        self.assertError("POST", "/volumes/create", 400, "expected a string", {"Name": 3})

    def test_inspect(self):
        """node/name or a unique name give the engine's inspect with its own bare Name (classic)."""
        self.n1.add_volume("data")
        self.n2.add_volume("data", labels={"differs": "yes"})
        self.n2.add_volume("only")
        self.refresh()
        for reference, name in (("n1/data", "data"), ("only", "only")):
            status, answer = self.request("GET", "/v1.41/volumes/" + reference)
            self.assertEqual((status, answer["Name"]), (200, name))
            self.assertIn("Mountpoint", answer)
        self.assertError("GET", "/volumes/data", 400, "n1/data, n2/data")
        self.assertError("GET", "/volumes/nope", 404, "get nope: no such volume")

    def test_inspect_gone(self):
        """A cached volume the engine no longer has is a 404 and leaves the cache."""
        self.n1.add_volume("data")
        self.refresh()
        del self.n1.volumes["data"]
        self.assertError("GET", "/volumes/n1/data", 404, "get n1/data: no such volume")
        self.assertEqual(self.cluster.engines[N1].volumes, [])

    def test_delete_everywhere(self):
        """A bare name is removed on every node holding it; then it is a 404."""
        self.request("POST", "/volumes/create", {"Name": "data"})
        self.n2.add_volume("other")
        status, _ = self.request("DELETE", "/v1.41/volumes/data")
        self.assertEqual(status, 204)
        self.assertEqual(self.held(), {"n1": [], "n2": ["other"]})
        self.assertEqual(self.names(), ["n2/other"])
        self.assertError("DELETE", "/volumes/data", 404, "get data: no such volume")

    def test_delete_pinned(self):
        """n1/data removes only n1's copy."""
        self.request("POST", "/volumes/create", {"Name": "data"})
        self.assertEqual(self.request("DELETE", "/volumes/n1/data")[0], 204)
        self.assertEqual(self.held(), {"n1": [], "n2": ["data"]})
        self.assertError("DELETE", "/volumes/n1/data", 404, "get n1/data: no such volume")
        self.assertError("DELETE", "/volumes/n9/data", 404, "no such volume")

    def test_delete_in_use(self):
        """The engine's 409 'volume is in use' passes through; force reaches the engine."""
        self.n1.add_volume("data")
        self.run_container(self.n1, "c" * 64, "web")
        self.n1.containers["c" * 64]["Mounts"] = [{"Type": "volume", "Name": "data"}]
        message = self.assertError("DELETE", "/volumes/data", 409, "volume is in use")
        self.assertEqual(message, "remove data: volume is in use - [%s]" % ("c" * 64,))
        self.assertError("DELETE", "/volumes/n1/data", 409, "volume is in use")
        self.assertEqual(self.request("DELETE", "/volumes/data?force=1")[0], 204)
        self.assertEqual(self.n1.requests[-1][2], {"force": "1"})

    def test_delete_partly_in_use(self):
        """Removed on one node, in use on the other: a 409 naming the node that refused."""
        self.request("POST", "/volumes/create", {"Name": "data"})
        self.run_container(self.n2, "d" * 64, "db")
        self.n2.containers["d" * 64]["Mounts"] = [{"Type": "volume", "Name": "data"}]
        message = self.assertError("DELETE", "/volumes/data", 409, "in use")
        self.assertTrue(message.startswith("n2: remove data"), message)
        self.assertEqual(self.held(), {"n1": [], "n2": ["data"]})

    def test_prune(self):
        """Prune runs everywhere: names node-prefixed, space summed; node filter picks."""
        for client in (self.n1, self.n2):
            client.add_volume("a")
            client.add_volume("b")
        self.refresh()
        status, answer = self.request(
            "POST", "/volumes/prune?filters=" + quote(json.dumps({"node": ["n2"]})))
        self.assertEqual(answer, {"VolumesDeleted": ["n2/a", "n2/b"], "SpaceReclaimed": 200})
        status, answer = self.request("POST", "/v1.41/volumes/prune")
        self.assertEqual(status, 200)
        self.assertEqual(answer, {"VolumesDeleted": ["n1/a", "n1/b"], "SpaceReclaimed": 200})
        self.assertEqual(self.names(), [])
        self.assertError("POST", "/volumes/prune?filters=" + quote('{"x": ["1"]}'), 400,
                         "Invalid filter 'x'")

    def test_dangling_follows_containers(self):
        """dangling=false lists the volumes cached containers mount."""
        self.n1.add_volume("used")
        self.n1.add_volume("idle")
        self.run_container(self.n1, "c" * 64, "web")
        self.n1.containers["c" * 64]["Mounts"] = [{"Type": "volume", "Name": "used"}]
        self.refresh()
        self.assertEqual(self.names("?filters=" + quote('{"dangling": ["false"]}')),
                         ["n1/used"])
        self.assertEqual(self.names("?filters=" + quote('{"dangling": ["true"]}')),
                         ["n1/idle"])


class SimulatedEngineTests(test_api_networks.SimulatedEngineTests):
    """
    The volume list over simulated engines, through the real engine client.
    """

    def test_list_and_dangling(self):
        """Volumes the engines list are node/name; the cache follows their events."""
        for address, name in ((N1, "data"), (N2, "data"), (N2, "logs")):
            self.engines.engines[address].volumes[name] = {
                "Name": name, "Driver": "local", "Scope": "local", "Labels": None,
                "Mountpoint": "/v/" + name}
        for engine in self.cluster.engines.values():
            self.settle(engine.refresh_list("volumes"))
        status, answer = self.request("GET", "/v1.41/volumes")
        self.assertEqual(status, 200)
        self.assertEqual([v["Name"] for v in answer["Volumes"]],
                         ["n1/data", "n2/data", "n2/logs"])
        filters = quote(json.dumps({"node": ["n2"], "name": ["lo"]}))
        status, answer = self.request("GET", "/volumes?filters=" + filters)
        self.assertEqual([v["Name"] for v in answer["Volumes"]], ["n2/logs"])
