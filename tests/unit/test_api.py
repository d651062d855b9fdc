"""
Tests for L{swarmd.api.app.DockerAPI} in memory: C{StubTreq} over the Klein
resource, a cluster of in-memory engines driven by a Clock.
"""

import json
from urllib.parse import quote

from treq.testing import StubTreq
from twisted.trial.unittest import SynchronousTestCase

from swarmd import API_VERSION
from swarmd.api.app import DockerAPI
from swarmd.api.site import DockerSite
from swarmd.engine import EngineUnreachable
from swarmd.testing.stubengine import inspect
from tests.unit.test_cluster import make_cluster


class APITestCase(SynchronousTestCase):
    """
    A manager API over two in-memory engines.
    """

    def setUp(self):
        self.cluster, self.clients, self.clock, _ = make_cluster(n=2)
        self.clock.advance(1795860000)
        self.api = DockerAPI(self.cluster, self.clock, strategy="spread",
                             filters=["health", "port"])
        self.stub = StubTreq(self.api.resource())

    def request(self, method, path, body=None, headers=None):
        """
        @return: C{(status, headers, decoded body)}.
        """
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = self.successResultOf(self.stub.request(
            method, "http://swarm" + path, data=data, headers=headers))
        content = self.successResultOf(response.content())
        try:
            decoded = json.loads(content) if content else None
        except ValueError:
            decoded = content
        return response.code, response.headers, decoded

    def add(self, address, cid, name, **kw):
        self.clients[address].containers[cid] = inspect(cid, name, **kw)
        self.successResultOf(self.cluster.engines[address].refresh_containers())


class SystemTests(APITestCase):
    """
    /_ping, /version, /info.
    """

    def test_ping_versioned_and_not(self):
        """/_ping answers OK with and without a /vX.Y prefix."""
        for path in ("/_ping", "/v1.41/_ping", "/v1.24/_ping"):
            status, headers, body = self.request("GET", path)
            self.assertEqual((status, body), (200, b"OK"), path)

    def test_version(self):
        """/version names swarm and the API version the CLI negotiates to."""
        status, headers, body = self.request("GET", "/version")
        self.assertEqual(status, 200)
        self.assertEqual(body["ApiVersion"], API_VERSION)
        self.assertTrue(body["Version"].startswith("swarm/"))

    def test_info_node_table(self):
        """/info has cluster totals and one block of classic rows per node."""
        self.add("127.0.0.1:2376", "c1", "web")
        self.add("127.0.0.1:2377", "c2", "db", status="exited")
        status, headers, body = self.request("GET", "/info")
        self.assertEqual(status, 200)
        self.assertEqual((body["Containers"], body["ContainersRunning"],
                          body["ContainersStopped"]), (2, 1, 1))
        self.assertEqual(body["NCPU"], 8)
        rows = body["SystemStatus"]
        self.assertEqual(rows[:4], [["Role", "primary"], ["Strategy", "spread"],
                                    ["Filters", "health, port"], ["Nodes", "2"]])
        block = rows[4:14]
        self.assertEqual(block[0], [" n1", "127.0.0.1:2376"])
        self.assertEqual([key.strip() for key, _ in block[1:]], [
            "└ ID", "└ Status", "└ Containers", "└ Reserved CPUs", "└ Reserved Memory",
            "└ Labels", "└ Error", "└ UpdatedAt", "└ ServerVersion"])
        values = dict((k.strip(), v) for k, v in block[1:])
        self.assertEqual(values["└ ID"], "ID-n1|127.0.0.1:2376")
        self.assertEqual(values["└ Status"], "Healthy")
        self.assertEqual(values["└ Containers"], "1 (1 Running, 0 Paused, 0 Stopped)")
        self.assertEqual(values["└ Reserved CPUs"], "0 / 4")
        self.assertEqual(values["└ Reserved Memory"], "0 B / 8.4 GiB")
        self.assertIn("node=n1", values["└ Labels"])
        self.assertEqual(values["└ Error"], "(none)")
        self.assertEqual(values["└ ServerVersion"], "20.10")

    def test_info_follows_changes(self):
        """Totals and rows kept between /info calls follow each change of a node."""
        self.add("127.0.0.1:2376", "c1", "web")
        first = self.request("GET", "/info")[2]
        self.assertEqual(self.request("GET", "/info")[2]["SystemStatus"], first["SystemStatus"])
        self.add("127.0.0.1:2377", "c2", "db", status="exited")
        second = self.request("GET", "/info")[2]
        self.assertEqual((second["Containers"], second["ContainersStopped"]), (2, 1))
        values = dict((k.strip(), v) for k, v in second["SystemStatus"][14:24])
        self.assertEqual(values["└ Containers"], "1 (0 Running, 0 Paused, 1 Stopped)")
        self.cluster.engines["127.0.0.1:2377"].forget_container("c2")
        third = self.request("GET", "/info")[2]
        self.assertEqual((third["Containers"], third["ContainersStopped"]), (1, 0))
        self.assertEqual(third["SystemStatus"], first["SystemStatus"])

    def test_info_updated_at_follows_refreshes(self):
        """A refresh changes a node's UpdatedAt row alone; its other rows are kept as they were."""
        engine = self.cluster.engines["127.0.0.1:2376"]
        before = self.request("GET", "/info")[2]["SystemStatus"]
        block = engine._info_block
        engine.updated_at = 1795867200.0
        after = self.request("GET", "/info")[2]["SystemStatus"]
        self.assertEqual(after[12], ["  └ UpdatedAt", "2026-11-28T12:00:00Z"])
        self.assertEqual(after[:12] + after[13:], before[:12] + before[13:])
        self.assertIs(engine._info_block, block)

    def test_info_updated_at_by_second(self):
        """
        Nodes refreshed within one second show the same UpdatedAt, to the
        second; a node never refreshed shows Go's zero time.
        """
        one, two = (self.cluster.engines[a] for a in ("127.0.0.1:2376", "127.0.0.1:2377"))
        one.updated_at, two.updated_at = 1795867200.1, 1795867200.9
        rows = self.request("GET", "/info")[2]["SystemStatus"]
        self.assertEqual((rows[12], rows[22]), (["  └ UpdatedAt", "2026-11-28T12:00:00Z"],) * 2)
        one.updated_at, two.updated_at = 1795867201.0, None
        rows = self.request("GET", "/info")[2]["SystemStatus"]
        self.assertEqual((rows[12][1], rows[22][1]), ("2026-11-28T12:00:01Z",
                                                      "0001-01-01T00:00:00Z"))

    def test_info_order_follows_names(self):
        """A node renamed (its specs read again) moves to its place; a node added is listed."""
        first = self.request("GET", "/info")[2]["SystemStatus"]
        self.assertEqual((first[4][0], first[14][0]), (" n1", " n2"))
        engine = self.cluster.engines["127.0.0.1:2376"]
        engine.name = "zz"
        engine.specs_revision += 1
        second = self.request("GET", "/info")[2]["SystemStatus"]
        self.assertEqual((second[4][0], second[14][0]), (" n2", " zz"))

    def test_headers_on_every_answer(self):
        """The site sets Api-Version and Docker's headers on answers and on errors."""
        from twisted.internet.testing import StringTransport

        site = DockerSite(self.api.resource())
        for path, status in ((b"/_ping", b"200"), (b"/nope", b"404")):
            channel = site.buildProtocol(None)
            transport = StringTransport()
            channel.makeConnection(transport)
            channel.dataReceived(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            head = transport.value().split(b"\r\n\r\n")[0]
            self.assertTrue(head.startswith(b"HTTP/1.1 " + status), head)
            self.assertIn(b"Api-Version: " + API_VERSION.encode(), head)
            self.assertIn(b"Ostype: linux", head)
            self.assertIn(b"Docker-Experimental: false", head)
            self.assertIn(b"Server: swarmd/", head)
            channel.connectionLost(None)

    def test_cors(self):
        """With CORS on, answers allow any origin and OPTIONS is answered 200."""
        from twisted.internet.testing import StringTransport

        site = DockerSite(self.api.resource(), cors=True)
        channel = site.buildProtocol(None)
        transport = StringTransport()
        channel.makeConnection(transport)
        channel.dataReceived(b"OPTIONS /containers/json HTTP/1.1\r\nHost: x\r\n\r\n")
        head = transport.value().split(b"\r\n\r\n")[0]
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertIn(b"Access-Control-Allow-Origin: *", head)
        channel.connectionLost(None)


class ErrorTests(APITestCase):
    """
    Errors are Docker JSON with the right status.
    """

    def assertError(self, method, path, status, text, body=None):
        code, headers, decoded = self.request(method, path, body=body)
        self.assertEqual(code, status, path)
        self.assertEqual(headers.getRawHeaders("content-type"), ["application/json"], path)
        self.assertIn(text, decoded["message"], path)

    def test_unknown_route(self):
        """Unknown paths and methods are a JSON 404 'page not found'."""
        self.assertError("GET", "/v1.41/nothing/here", 404, "page not found")
        self.assertError("PATCH", "/containers/json", 404, "page not found")
        self.assertError("GET", "/vX/info", 404, "page not found")

    def test_versions_refused(self):
        """Client versions above ours or below the minimum are refused like dockerd."""
        self.assertError("GET", "/v1.99/info", 400, "client version 1.99 is too new")
        self.assertError("GET", "/v1.5/info", 400, "too old")

    def test_unknown_container(self):
        """An unknown container is a 404 naming it."""
        self.assertError("GET", "/containers/ghost/json", 404, "No such container: ghost")
        self.assertError("POST", "/containers/ghost/start", 404, "No such container: ghost")
        self.assertError("DELETE", "/containers/ghost", 404, "No such container: ghost")

    def test_ambiguous_container(self):
        """A name on two nodes is ambiguous: 400 listing both."""
        self.add("127.0.0.1:2376", "a1", "twin")
        self.add("127.0.0.1:2377", "b1", "twin")
        self.assertError("GET", "/containers/twin/json", 400, "n1/twin, n2/twin")

    def test_bad_bodies(self):
        """Malformed JSON, non-objects, empty and oversized bodies are refused."""
        self.assertError("POST", "/containers/create", 400, "invalid JSON", b"{nope")
        self.assertError("POST", "/containers/create", 400,
                         "cannot unmarshal array into Go value", b"[1]")
        self.assertError("POST", "/containers/create", 400, "empty", b"")
        self.assertError("POST", "/containers/create", 413, "larger than",
                         b'{"Image": "' + b"x" * (5 * 1024 * 1024) + b'"}')

    def test_bad_expressions(self):
        """A bad constraint is a 400 naming it; nothing reaches an engine."""
        self.assertError("POST", "/containers/create", 400, "constraint:storage=ssd",
                         {"Image": "busybox", "Env": ["constraint:storage=ssd"]})
        self.assertEqual([c for c in self.clients.values()
                          if "create_container" in c.calls], [])

    def test_bad_filters(self):
        """Malformed or unknown list filters are a 400."""
        self.assertError("GET", "/containers/json?filters=%7Bbad", 400, "invalid filter")
        self.assertError("GET", "/containers/json?filters=%7B%22color%22%3A%5B%22x%22%5D%7D",
                         400, "Invalid filter 'color'")
        self.assertError("GET", "/containers/json?limit=many", 400, "limit")

    def test_not_supported_yet(self):
        """Routes not served yet say so with a 501."""
        self.assertError("GET", "/images/viz", 501, "Not supported in clustering mode")

    def test_dead_engine(self):
        """A container on an unreachable engine gives a 500 saying so, and counts a failure."""
        self.add("127.0.0.1:2376", "c1", "web")
        self.clients["127.0.0.1:2376"].down = True
        self.assertError("POST", "/containers/web/start", 500, "cannot reach engine")
        self.assertEqual(self.cluster.engines["127.0.0.1:2376"].failures, 1)


class ContainerListTests(APITestCase):
    """
    /containers/json from the cache.
    """

    def setUp(self):
        APITestCase.setUp(self)
        self.add("127.0.0.1:2376", "a" * 64, "web", labels={"tier": "front"})
        self.add("127.0.0.1:2377", "b" * 64, "db", status="exited")

    def names(self, query=""):
        status, headers, body = self.request("GET", "/containers/json" + query)
        self.assertEqual(status, 200)
        return [c["Names"][0] for c in body]

    def test_running_only_by_default(self):
        """Without all=1 only running containers, named /node/name."""
        self.assertEqual(self.names(), ["/n1/web"])
        self.assertEqual(sorted(self.names("?all=1")), ["/n1/web", "/n2/db"])

    def test_filters(self):
        """name, label, status and node filters select containers."""
        def f(filters):
            return "?all=1&filters=" + quote(json.dumps(filters))

        self.assertEqual(self.names(f({"name": ["we"]})), ["/n1/web"])
        self.assertEqual(self.names(f({"label": ["tier=front"]})), ["/n1/web"])
        self.assertEqual(self.names(f({"status": ["exited"]})), ["/n2/db"])
        self.assertEqual(self.names(f({"node": ["n2"]})), ["/n2/db"])
        self.assertEqual(self.names("?filters=" + quote(json.dumps({"status": {"exited": True}}))),
                         ["/n2/db"])

    def test_limit(self):
        """limit keeps the newest containers, stopped ones included even without all (ps -n)."""
        self.assertEqual(len(self.names("?all=1&limit=1")), 1)
        info = inspect("c" * 64, "late", status="exited")
        info["Created"] = "2026-11-28T11:00:00.000000000Z"
        self.clients["127.0.0.1:2377"].containers[info["Id"]] = info
        self.successResultOf(self.cluster.engines["127.0.0.1:2377"].refresh_containers())
        self.assertEqual(self.names("?limit=1"), ["/n2/late"])
        self.assertEqual(sorted(self.names("?limit=5")), ["/n1/web", "/n2/db", "/n2/late"])
        self.assertEqual(self.names("?limit=0"), ["/n1/web"])

    def test_unhealthy_node_host_down(self):
        """Containers of an unhealthy node show 'Host Down'."""
        engine = self.cluster.engines["127.0.0.1:2376"]
        for _ in range(3):
            engine.failed(EngineUnreachable(engine.address, "down"))
        status, headers, body = self.request("GET", "/containers/json")
        self.assertEqual(body[0]["Status"], "Host Down")


class ContainerLifecycleTests(APITestCase):
    """
    create, inspect, start, delete through the manager.
    """

    def test_create_start_inspect_delete(self):
        """A container is scheduled, started, inspected with its Node, then removed."""
        status, headers, body = self.request(
            "POST", "/v1.41/containers/create?name=web", {"Image": "busybox"})
        self.assertEqual(status, 201)
        cid = body["Id"]
        self.assertEqual(body["Warnings"], [])
        status, headers, body = self.request("POST", "/containers/web/start")
        self.assertEqual(status, 204)
        status, headers, body = self.request("GET", "/containers/web/json")
        self.assertEqual(status, 200)
        self.assertEqual(body["Id"], cid)
        self.assertEqual(body["Node"]["Name"], self.cluster.container("web").engine.name)
        self.assertEqual(body["State"]["Running"], True)
        status, headers, body = self.request("DELETE", "/containers/web")
        self.assertEqual(status, 409)
        status, headers, body = self.request("DELETE", "/containers/web?force=1")
        self.assertEqual(status, 204)
        self.assertIsNone(self.cluster.container("web"))

    def test_create_duplicate_name(self):
        """A second create with a taken name is a 409 with Docker's message."""
        self.request("POST", "/containers/create?name=web", {"Image": "busybox"})
        status, headers, body = self.request("POST", "/containers/create?name=web",
                                             {"Image": "busybox"})
        self.assertEqual(status, 409)
        self.assertIn('The container name "/web" is already in use', body["message"])

    def test_create_by_node_name_lookup(self):
        """node/name and ID prefixes reach the container."""
        status, headers, body = self.request("POST", "/containers/create?name=web",
                                             {"Image": "busybox"})
        node = self.cluster.container("web").engine.name
        for reference in (node + "/web", body["Id"][:10]):
            code, _, inspected = self.request("GET", "/containers/%s/json" % (reference,))
            self.assertEqual((code, inspected["Id"]), (200, body["Id"]))

    def test_no_resources(self):
        """A memory request no node can hold is a 500 with the classic message."""
        status, headers, body = self.request(
            "POST", "/containers/create", {"Image": "busybox",
                                           "HostConfig": {"Memory": 1024 ** 4}})
        self.assertEqual(status, 500)
        self.assertEqual(body["message"].split("\n")[0],
                         "no resources available to schedule container")
        self.assertIn("memory short on", body["message"])


class InspectCacheTests(APITestCase):
    """
    inspect is served from the cache while events keep it exact.
    """

    def test_cached_while_events_flow(self):
        """With the events stream open, inspect asks the engine nothing."""
        self.add("127.0.0.1:2376", "c1", "web")
        client = self.clients["127.0.0.1:2376"]
        before = client.calls.count("inspect_container")
        status, headers, body = self.request("GET", "/containers/web/json")
        self.assertEqual((status, body["Id"], body["Node"]["Name"]), (200, "c1", "n1"))
        self.assertEqual(client.calls.count("inspect_container"), before)

    def test_live_without_events(self):
        """Without an events stream the engine is asked, and the answer is its latest."""
        self.add("127.0.0.1:2376", "c1", "web")
        client = self.clients["127.0.0.1:2376"]
        engine = self.cluster.engines["127.0.0.1:2376"]
        engine.events_follower.stream.stop()
        client.containers["c1"]["State"]["Status"] = "exited"
        client.containers["c1"]["State"]["Running"] = False
        before = client.calls.count("inspect_container")
        status, headers, body = self.request("GET", "/containers/web/json")
        self.assertEqual(body["State"]["Status"], "exited")
        self.assertEqual(client.calls.count("inspect_container"), before + 1)

    def test_zero_ip_rewritten(self):
        """A port bound on 0.0.0.0 is shown on the node's IP."""
        self.add("127.0.0.1:2376", "c1", "web")
        info = self.clients["127.0.0.1:2376"].containers["c1"]
        info["NetworkSettings"]["Ports"] = {"80/tcp": [{"HostIp": "0.0.0.0",
                                                       "HostPort": "8080"}]}
        self.successResultOf(self.cluster.engines["127.0.0.1:2376"].refresh_container("c1"))
        status, headers, body = self.request("GET", "/containers/web/json")
        self.assertEqual(body["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"], "127.0.0.1")
        self.assertEqual(info["NetworkSettings"]["Ports"]["80/tcp"][0]["HostIp"], "0.0.0.0")
