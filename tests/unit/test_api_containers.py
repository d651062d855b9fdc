"""
Container routes through the manager, in memory: C{StubTreq} over the
manager's resource, fake engines behind in-memory agents, a Clock.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.conformance.engine import demux
from swarmd.testing.memory import MemoryManager

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]


class MemoryAPITestCase(SynchronousTestCase):
    """
    A manager over two fake engines, all in memory.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.clock = self.manager.clock
        self.engines = self.manager.engines
        self.cluster = self.manager.cluster
        self.assertEqual(len(self.cluster.healthy_engines()), 2)

    def request(self, method, path, body=None):
        """
        @return: C{(status, headers, content bytes)}.
        """
        return self.successResultOf(self.manager.request(method, path, body))

    def json(self, method, path, body=None, status=200):
        code, headers, content = self.request(method, path, body)
        self.assertEqual(code, status, content)
        return json.loads(content) if content.strip() else None

    def run_container(self, name, cmd, node=None, start=True):
        body = {"Image": "busybox", "Cmd": cmd}
        if node:
            body["Env"] = ["constraint:node==" + node]
        answer = self.json("POST", "/v1.41/containers/create?name=" + name, body, 201)
        if start:
            code, _, content = self.request("POST", "/v1.41/containers/%s/start" % (name,))
            self.assertEqual(code, 204, content)
        return answer["Id"]


class ProxiedRouteTests(MemoryAPITestCase):
    """
    Routes proxied to the container's engine.
    """

    def test_logs(self):
        """logs are proxied from the container's engine, frames intact."""
        self.run_container("talker", ["sh", "-c", "echo hello; echo oops >&2"])
        code, headers, content = self.request(
            "GET", "/v1.41/containers/talker/logs?stdout=1&stderr=1")
        self.assertEqual(code, 200)
        self.assertEqual(demux(content), [(1, b"hello\n"), (2, b"oops\n")])
        code, headers, content = self.request("GET", "/containers/talker/logs?stdout=1")
        self.assertEqual(demux(content), [(1, b"hello\n")])

    def test_stop_refreshes_cache(self):
        """stop reaches the engine and the manager's list shows it exited at once."""
        self.run_container("sleeper", ["sleep", "300"], node="n2")
        self.assertEqual(len(self.json("GET", "/containers/json")), 1)
        code, _, _ = self.request("POST", "/containers/n2/sleeper/stop?t=1")
        self.assertEqual(code, 204)
        self.assertEqual(self.json("GET", "/containers/json"), [])
        listed = self.json("GET", "/containers/json?all=1")
        self.assertEqual(listed[0]["State"], "exited")
        self.assertEqual(listed[0]["Names"], ["/n2/sleeper"])

    def test_pause_unpause_kill_restart(self):
        """pause, unpause, kill and restart change the state the manager reports."""
        self.run_container("cycler", ["sleep", "300"])

        def state():
            return self.json("GET", "/containers/cycler/json")["State"]["Status"]

        for action, expected in (("pause", "paused"), ("unpause", "running"),
                                 ("kill", "exited"), ("restart", "running")):
            code, _, content = self.request("POST", "/containers/cycler/" + action)
            self.assertEqual(code, 204, content)
            self.assertEqual(state(), expected, action)
            self.assertEqual(self.cluster.container("cycler").status, expected, action)

    def test_long_stop_waits_for_the_engine(self):
        """A stop whose grace period passes a minute waits for the engine and costs no health."""
        self.run_container("stubborn", ["sleep", "300"], node="n1")
        engine = self.cluster.container("stubborn").engine
        start = self.clock.seconds()
        d = self.manager.stub.request("POST", "http://swarm/containers/stubborn/stop?t=90")
        self.manager.settle(d, step=1.0)
        self.assertEqual(self.successResultOf(d).code, 204)
        self.assertGreaterEqual(self.clock.seconds() - start, 90)
        self.assertEqual((engine.failures, engine.healthy), (0, True))
        self.assertEqual(self.cluster.container("stubborn").status, "exited")

    def test_stop_timeout_from_config(self):
        """Without t, the container's own StopTimeout sets how long the manager waits."""
        body = {"Image": "busybox", "Cmd": ["sleep", "300"], "StopTimeout": 100}
        self.json("POST", "/containers/create?name=patient", body, 201)
        self.assertEqual(self.request("POST", "/containers/patient/start")[0], 204)
        start = self.clock.seconds()
        d = self.manager.stub.request("POST", "http://swarm/containers/patient/stop")
        self.manager.settle(d, step=1.0)
        self.assertEqual(self.successResultOf(d).code, 204)
        self.assertGreaterEqual(self.clock.seconds() - start, 100)

    def test_silent_engine_times_out(self):
        """An engine that never answers a proxied call gives a 500 after a minute, counted."""
        self.run_container("quiet", ["sleep", "300"], node="n1")
        engine = self.cluster.container("quiet").engine
        self.engines.engines["127.0.0.1:2376"].latency = 3600
        d = self.manager.stub.request("GET", "http://swarm/containers/quiet/top")
        self.manager.settle(d, step=1.0)
        response = self.successResultOf(d)
        self.assertEqual(response.code, 500)
        self.assertIn("timed out", json.loads(self.successResultOf(response.content()))[
            "message"])
        # The refresh loop's own calls time out meanwhile too.
        self.assertGreaterEqual(engine.failures, 1)

    def test_engine_errors_pass_through(self):
        """An engine's refusal keeps its status and message."""
        self.run_container("idle", ["sleep", "300"], start=False)
        code, headers, content = self.request("POST", "/containers/idle/pause")
        self.assertEqual(code, 409)
        self.assertIn("is not running", json.loads(content)["message"])

    def test_wait(self):
        """wait answers the exit code once the container stops."""
        self.run_container("quitter", ["sh", "-c", "exit 7"])
        answer = self.json("POST", "/containers/quitter/wait")
        self.assertEqual(answer["StatusCode"], 7)

    def test_top(self):
        """top lists the container's processes."""
        self.run_container("topped", ["sleep", "300"])
        answer = self.json("GET", "/containers/topped/top")
        self.assertEqual(answer["Processes"][0][-1], "sleep 300")

    def test_inspect_has_node(self):
        """inspect is the engine's answer plus a Node object."""
        cid = self.run_container("inspected", ["sleep", "300"], node="n1")
        answer = self.json("GET", "/containers/inspected/json")
        self.assertEqual(answer["Id"], cid)
        self.assertEqual(answer["Node"]["Name"], "n1")
        self.assertEqual(answer["Node"]["Addr"], "127.0.0.1:2376")

    def test_unreachable_engine(self):
        """A container whose engine dropped off gives a Docker error, not a hang."""
        self.run_container("stranded", ["sleep", "300"], node="n1")
        self.engines.engines["127.0.0.1:2376"].unreachable = True
        code, headers, content = self.request("POST", "/containers/stranded/stop")
        self.assertEqual(code, 500)
        self.assertIn("127.0.0.1:2376", json.loads(content)["message"])


class ListAnswerTests(MemoryAPITestCase):
    """
    The container list's kept answer.
    """

    def test_kept_answer(self):
        """
        An unchanged list is served again from the kept answer: the whole
        list (C{ps -a}) from L{KeptList}, a filtered one from the last
        answer, whose entries the cyclic collector does not walk once it
        saw them (a tuple of pairs of bytes: at 150,000 containers a kept
        list was walked by every full collection); a change makes a new
        answer.
        """
        import gc

        routes = self.manager.api.containers
        self.run_container("one", ["sleep", "60"])
        whole = self.request("GET", "/v1.41/containers/json?all=1")[2]
        body = routes._whole_list._body
        running = self.request("GET", "/v1.41/containers/json")[2]
        kept = routes._last_list
        self.assertEqual(self.request("GET", "/v1.41/containers/json?all=1")[2], whole)
        self.assertEqual(self.request("GET", "/v1.41/containers/json")[2], running)
        self.assertIs(routes._whole_list._body, body)
        self.assertIs(routes._last_list, kept)
        # The entries are (head, tail) pairs: a collection untracks the
        # pairs, the next one the tuple holding them.
        gc.collect()
        gc.collect()
        self.assertFalse(gc.is_tracked(kept[0]))
        self.run_container("two", ["sleep", "60"])
        for path in ("/v1.41/containers/json?all=1", "/v1.41/containers/json"):
            names = [c["Names"][0].split("/")[-1] for c in self.json("GET", path)]
            self.assertEqual(sorted(names), ["one", "two"])
        self.assertIsNot(routes._whole_list._body, body)
        self.assertIsNot(routes._last_list, kept)


class ListRefreshTests(SynchronousTestCase):
    """
    C{--refresh-on-node-filter} and C{--container-name-refresh-filter}: a
    container list re-reads engines first.
    """

    def manager(self, **options):
        manager = MemoryManager(ADDRESSES, **options)
        self.addCleanup(manager.stop)
        self.calls = {address: manager.engines.engines[address].record_calls()
                      for address in ADDRESSES}
        return manager

    def lists(self):
        return {address: [c for c in calls if c[0] == "GET" and c[1] == "/containers/json"]
                for address, calls in self.calls.items()}

    def ps(self, manager, filters):
        from urllib.parse import quote

        code, _, content = self.successResultOf(manager.request(
            "GET", "/containers/json?all=1&filters=" + quote(json.dumps(filters))))
        self.assertEqual(code, 200, content)
        return [c["Names"][0] for c in json.loads(content)]

    def test_node_filter_refreshes_that_node(self):
        """With the flag, a node filter lists that node's containers on the engine first."""
        manager = self.manager(refresh_on_node_filter=True)
        manager.engines.engines[ADDRESSES[1]].create({"Image": "busybox", "Cmd": ["true"]},
                                                     "late")
        self.assertEqual(self.ps(manager, {"node": ["n2"]}), ["/n2/late"])
        asked = self.lists()
        self.assertEqual((len(asked[ADDRESSES[0]]), len(asked[ADDRESSES[1]])), (0, 1))

    def test_no_flag_no_refresh(self):
        """Without the flags, a filtered list is answered from the cache alone."""
        manager = self.manager()
        self.ps(manager, {"node": ["n2"]})
        self.ps(manager, {"name": ["swarm-agent"]})
        self.assertEqual(self.lists(), {address: [] for address in ADDRESSES})

    def test_name_filter_refreshes_every_node(self):
        """The configured name filter value re-reads every node; other names do not."""
        manager = self.manager(container_name_refresh_filter="swarm-agent")
        self.ps(manager, {"name": ["web"]})
        self.assertEqual(self.lists(), {address: [] for address in ADDRESSES})
        self.ps(manager, {"name": ["swarm-agent"]})
        self.assertEqual({a: len(c) for a, c in self.lists().items()},
                         {address: 1 for address in ADDRESSES})
