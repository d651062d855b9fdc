"""
Tests for L{swarmd.api.fastlane}: the fast routes answer exactly as the
Klein routes do, and everything else still reaches Klein.
"""

import json

from treq.testing import StubTreq
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import NOT_DONE_YET

from swarmd.api.fastlane import FastLane
from swarmd.testing.memory import MemoryManager

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]

#: Headers whose value may differ between two answers made a moment apart.
_VOLATILE = (b"Date",)


class LaneTests(SynchronousTestCase):
    """
    The same requests through the fast lane and through Klein alone.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.klein = StubTreq(self.manager.api.app.resource())
        for name, node in (("web", "n1"), ("db", "n2")):
            code, _, content = self.successResultOf(self.manager.request(
                "POST", "/containers/create?name=" + name,
                {"Image": "busybox", "Cmd": ["sleep", "300"], "Env": ["constraint:node==" + node]}))
            self.assertEqual(code, 201, content)
        self.successResultOf(self.manager.request("POST", "/containers/web/start"))
        # The same name on both nodes, made behind the manager's back.
        for address in ADDRESSES:
            self.manager.engines.engines[address].create({"Image": "busybox"}, "twin")
        for _ in range(2):
            # Their events reach the manager, which inspects them.
            self.manager.clock.advance(1)
            self.manager.engines.flush()

    def both(self, method, path):
        """
        @return: the answers of both lanes, C{(status, headers, body)} each.
        """
        answers = []
        for stub in (self.manager.stub, self.klein):
            response = self.manager.settle(stub.request(method, "http://swarm" + path))
            response = self.successResultOf(response)
            body = self.successResultOf(self.manager.settle(response.content()))
            headers = sorted((name, values) for name, values in
                             response.headers.getAllRawHeaders() if name not in _VOLATILE)
            answers.append((response.code, headers, body))
        return answers

    def test_fast_routes_answer_as_klein(self):
        """Every fast route, versioned or not, answers as its Klein route: status, headers, body."""
        web = self.manager.cluster.container("web").id
        paths = ["/_ping", "/v1.41/_ping", "/version", "/v1.24/version", "/info",
                 "/containers/json", "/v1.41/containers/json?all=1&limit=2",
                 "/containers/json?filters=" + json.dumps({"status": ["running"]}),
                 "/containers/web/json", "/v1.41/containers/n2/db/json",
                 "/containers/%s/json" % (web[:10],)]
        for path in paths:
            fast, klein = self.both("GET", path)
            self.assertEqual(fast[0], 200, (path, fast[2]))
            if path.endswith("/info"):
                # The node table shows times: compare what does not move.
                self.assertEqual(json.loads(fast[2])["Containers"],
                                 json.loads(klein[2])["Containers"])
                continue
            self.assertEqual(fast, klein, path)

    def test_errors_answer_as_klein(self):
        """Unknown, ambiguous, bad versions and bad filters are the same Docker errors."""
        for path, status in (("/containers/ghost/json", 404), ("/containers/twin/json", 400),
                             ("/v9.99/info", 400), ("/v1.0/_ping", 400),
                             ("/containers/json?filters=%7Bbad", 400),
                             ("/containers/json?limit=x", 400)):
            fast, klein = self.both("GET", path)
            self.assertEqual(fast[0], status, (path, fast[2]))
            self.assertEqual(fast, klein, path)
            self.assertIn("message", json.loads(fast[2]))

    def test_later_answer_takes_the_fast_lane(self):
        """An answer waiting for an engine (a list refreshing a node) comes in both lanes."""
        manager = MemoryManager(ADDRESSES, refresh_on_node_filter=True)
        self.addCleanup(manager.stop)
        calls = manager.engines.engines[ADDRESSES[1]].record_calls()
        path = "/containers/json?all=1&filters=" + json.dumps({"node": ["n2"]})
        answers = []
        for stub in (manager.stub, StubTreq(manager.api.app.resource())):
            response = self.successResultOf(manager.settle(stub.request(
                "GET", "http://swarm" + path)))
            answers.append((response.code,
                            self.successResultOf(manager.settle(response.content()))))
        self.assertEqual(answers[0], answers[1])
        self.assertEqual(answers[0][0], 200)
        self.assertEqual(len([c for c in calls if c[1] == "/containers/json"]), 2)

    def test_client_leaving_cancels(self):
        """A client that leaves before a later answer cancels it; nothing is written after."""
        from twisted.web.test.requesthelper import DummyRequest

        manager = MemoryManager(ADDRESSES, refresh_on_node_filter=True)
        self.addCleanup(manager.stop)
        manager.engines.engines[ADDRESSES[1]].latency = 30
        request = DummyRequest([b""])
        request.method = b"GET"
        request.path = b"/containers/json"
        request.args = {b"filters": [json.dumps({"node": ["n2"]}).encode()]}
        result = manager.api.resource().render(request)
        self.assertEqual(result, NOT_DONE_YET)
        # What Request.connectionLost does: mark it, fail notifyFinish().
        request._disconnected = True
        request.processingFailed(Failure(ConnectionDone("client gone")))
        manager.clock.advance(60)
        manager.engines.flush()
        self.assertEqual((request.written, request.finished), ([], 0))

    def test_match(self):
        """Only the fast routes, their methods and plain paths take the fast lane."""
        lane = FastLane(self.manager.api, None)
        self.assertEqual(lane.match(b"GET", b"/v1.41/containers/n1/web/json"),
                         ("containers.container_json", {"name": "n1/web", "version": "1.41"}))
        self.assertEqual(lane.match(b"GET", b"/containers/json"),
                         ("containers.containers_json", {"version": None}))
        for method, path in ((b"POST", b"/containers/web/json"),
                             (b"GET", b"/containers/w%2Fb/json"),
                             (b"GET", b"/containers/web/logs"), (b"DELETE", b"/_ping"),
                             (b"GET", b"/v1.41/images/json"), (b"GET", b"/containers/\xff/json")):
            self.assertIsNone(lane.match(method, path), (method, path))

    def test_other_routes_reach_klein(self):
        """Routes outside the fast lane, and unknown ones, are Klein's."""
        code, _, content = self.successResultOf(self.manager.request("GET", "/images/json"))
        self.assertEqual(code, 200)
        code, _, content = self.successResultOf(self.manager.request("GET", "/nowhere"))
        self.assertEqual((code, json.loads(content)), (404, {"message": "page not found"}))
        code, _, content = self.successResultOf(self.manager.request("POST", "/_ping"))
        self.assertEqual((code, json.loads(content)), (404, {"message": "page not found"}))
