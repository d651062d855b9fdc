"""
Tests for L{swarmd.cluster.containers} and L{swarmd.cluster.index}.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster.containers import (
    Container,
    human_duration,
    node_json,
    parse_time,
    state_string,
)
from swarmd.cluster.index import AmbiguousContainer, ContainerIndex

NOW = 1795860000.0  # 2026-11-28T10:00:00Z


class FakeEngine:
    def __init__(self, name, address="127.0.0.1:2375"):
        self.name = name
        self.address = address
        self.id = "ID%s|%s" % (name, address)


def info(cid, name, status="running", swarm_id=None, **extra):
    labels = {"com.docker.swarm.id": swarm_id} if swarm_id else {}
    data = {
        "Id": cid,
        "Name": "/" + name,
        "Created": "2026-11-28T09:00:00.5Z",
        "Path": "sleep",
        "Args": ["300", "a b"],
        "Image": "sha256:1234",
        "State": {"Status": status, "Running": status in ("running", "paused"),
                  "Paused": status == "paused", "ExitCode": 0,
                  "StartedAt": "2026-11-28T09:55:00Z", "FinishedAt": "0001-01-01T00:00:00Z"},
        "Config": {"Image": "busybox", "Labels": labels},
        "HostConfig": {"NetworkMode": "default"},
        "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
                                      "53/udp": None},
                            "Networks": {"bridge": {"NetworkID": "n1"}}},
        "Mounts": [],
    }
    data.update(extra)
    return data


class TimeTests(SynchronousTestCase):
    """
    Timestamps and Docker's human durations.
    """

    def test_parse_time(self):
        """RFC 3339 with nanoseconds parses; Docker's zero time is None."""
        self.assertEqual(parse_time("2026-11-28T10:00:00Z"), NOW)
        self.assertAlmostEqual(parse_time("2026-11-28T10:00:00.250000000Z"), NOW + 0.25)
        self.assertIsNone(parse_time("0001-01-01T00:00:00Z"))
        self.assertIsNone(parse_time(""))
        self.assertIsNone(parse_time("yesterday"))

    def test_human_duration(self):
        """Durations read the way docker ps prints them."""
        cases = [(0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"),
                 (60, "About a minute"), (150, "2 minutes"), (3600, "About an hour"),
                 (3 * 3600, "3 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks"),
                 (90 * 86400, "3 months"), (800 * 86400, "2 years")]
        for seconds, text in cases:
            self.assertEqual(human_duration(seconds), text, seconds)

    def test_state_strings(self):
        """Running, paused, exited and created containers get Docker's status text."""
        running = info("a", "x")["State"]
        self.assertEqual(state_string(running, NOW), "Up 5 minutes")
        paused = dict(running, Paused=True)
        self.assertEqual(state_string(paused, NOW), "Up 5 minutes (Paused)")
        exited = {"Status": "exited", "Running": False, "ExitCode": 3,
                  "StartedAt": "2026-11-28T09:00:00Z", "FinishedAt": "2026-11-28T09:59:57Z"}
        self.assertEqual(state_string(exited, NOW), "Exited (3) 3 seconds ago")
        created = {"Status": "created", "StartedAt": "0001-01-01T00:00:00Z"}
        self.assertEqual(state_string(created, NOW), "Created")
        healthy = dict(running, Health={"Status": "healthy"})
        self.assertEqual(state_string(healthy, NOW), "Up 5 minutes (healthy)")

    def test_state_strings_edges(self):
        """
        The texts with no start or finish time, restarts, health states
        Docker words differently, removal and death.
        """
        running = info("a", "x")["State"]
        cases = [
            (dict(running, StartedAt=""), "Up Less than a second"),
            (dict(running, StartedAt="", Paused=True), "Up Less than a second (Paused)"),
            (dict(running, Restarting=True, ExitCode=2), "Restarting (2) 5 minutes ago"),
            (dict(running, Restarting=True, ExitCode=2, FinishedAt="2026-11-28T09:59:30Z"),
             "Restarting (2) 30 seconds ago"),
            (dict(running, Health={"Status": "starting"}), "Up 5 minutes (health: starting)"),
            (dict(running, Health={"Status": "none"}), "Up 5 minutes"),
            ({"Status": "removing", "Running": False}, "Removal In Progress"),
            ({"Status": "exited", "Dead": True, "StartedAt": "2026-11-28T09:00:00Z"}, "Dead"),
            ({"Status": "exited", "Running": False, "StartedAt": "2026-11-28T09:00:00Z",
              "FinishedAt": "0001-01-01T00:00:00Z"}, ""),
        ]
        for state, text in cases:
            self.assertEqual(state_string(state, NOW), text, state)


class SummaryTests(SynchronousTestCase):
    """
    The /containers/json entry derived from an inspect answer.
    """

    def test_summary_fields(self):
        """Names, command, ports, state and status come out as dockerd lists them."""
        c = Container(FakeEngine("n1"), info("abc", "web"))
        s = c.summary(NOW)
        self.assertEqual(s["Id"], "abc")
        self.assertEqual(s["Names"], ["/web"])
        self.assertEqual(s["Image"], "busybox")
        self.assertEqual(s["ImageID"], "sha256:1234")
        self.assertEqual(s["Command"], "sleep 300 'a b'")
        self.assertEqual(s["Created"], int(NOW) - 3600)
        self.assertEqual(s["State"], "running")
        self.assertEqual(s["Status"], "Up 5 minutes")
        self.assertEqual(sorted(s["Ports"], key=lambda p: p["PrivatePort"]), [
            {"PrivatePort": 53, "Type": "udp"},
            {"PrivatePort": 80, "Type": "tcp", "IP": "0.0.0.0", "PublicPort": 8080}])
        self.assertEqual(s["NetworkSettings"], {"Networks": {"bridge": {"NetworkID": "n1"}}})

    def test_summary_is_a_copy(self):
        """Changing a returned summary does not change the cached one."""
        c = Container(FakeEngine("n1"), info("abc", "web"))
        c.summary(NOW)["Names"].append("/x")
        c.summary(NOW)["Ports"][0]["IP"] = "10.0.0.1"
        self.assertEqual(c.summary(NOW)["Names"], ["/web"])
        self.assertNotIn("10.0.0.1", [p.get("IP") for p in c.summary(NOW)["Ports"]])


class IndexTests(SynchronousTestCase):
    """
    Finding containers the way classic Swarm does.
    """

    def setUp(self):
        self.n1, self.n2 = FakeEngine("n1", "127.0.0.1:1"), FakeEngine("n2", "127.0.0.1:2")
        self.index = ContainerIndex()
        self.web = Container(self.n1, info("aaaa1111bbbb2222", "web", swarm_id="s" * 64))
        self.db1 = Container(self.n1, info("cccc3333", "db"))
        self.db2 = Container(self.n2, info("cccc4444", "db"))
        for c in (self.web, self.db1, self.db2):
            self.index.replace(None, c)

    def test_by_id_prefix_and_swarm_id(self):
        """Exact IDs, unique prefixes and Swarm IDs all find the container."""
        self.assertIs(self.index.lookup("aaaa1111bbbb2222"), self.web)
        self.assertIs(self.index.lookup("aaaa11"), self.web)
        self.assertIs(self.index.lookup("s" * 64), self.web)
        self.assertIs(self.index.lookup("sss"), self.web)

    def test_by_name_forms(self):
        """name, /name, node/name and nodeID/name all work."""
        self.assertIs(self.index.lookup("web"), self.web)
        self.assertIs(self.index.lookup("/web"), self.web)
        self.assertIs(self.index.lookup("n2/db"), self.db2)
        self.assertIs(self.index.lookup("/n1/db"), self.db1)

    def test_ambiguous(self):
        """A name or prefix matching containers on two nodes is ambiguous."""
        self.assertRaises(AmbiguousContainer, self.index.lookup, "db")
        self.assertRaises(AmbiguousContainer, self.index.lookup, "cccc")

    def test_missing(self):
        """Unknown references find nothing."""
        self.assertIsNone(self.index.lookup("nope"))
        self.assertIsNone(self.index.lookup(""))
        self.assertIsNone(self.index.lookup("n3/db"))

    def test_replace_and_remove(self):
        """Renaming through replace moves the name; removing forgets everything."""
        renamed = Container(self.n1, info("aaaa1111bbbb2222", "site", swarm_id="s" * 64))
        self.index.replace(self.web, renamed)
        self.assertIsNone(self.index.lookup("web"))
        self.assertIs(self.index.lookup("site"), renamed)
        self.index.replace(renamed, None)
        self.assertIsNone(self.index.lookup("aaaa1111bbbb2222"))
        self.assertIsNone(self.index.lookup("s" * 64))
        self.assertEqual(len(self.index), 2)


class _ListedEngine(FakeEngine):
    def __init__(self, name):
        FakeEngine.__init__(self, name)
        self.ip = "10.0.0.1"
        self.healthy = True
        self.specs_revision = 1
        self.cpus, self.memory, self.labels = 2, 1024, {}


def _entry(container, now):
    """
    The container's whole list entry at C{now}: its head and tail joined.
    """
    return b"".join(container.listing_parts(now))


class ListingCacheTests(SynchronousTestCase):
    """
    A container's list entry is kept until its status text can change: the
    kept bytes are always the ones a fresh encoding gives.
    """

    def check_times(self, data, times):
        engine = _ListedEngine("n1")
        kept = Container(engine, data)
        for now in times:
            fresh = Container(engine, data)
            self.assertEqual(_entry(kept, now), _entry(fresh, now), now)

    def test_stable_until(self):
        """
        L{stable_until} never passes a change of L{human_duration} (checked
        second by second over three days, and around the years).
        """
        from swarmd.cluster.containers import stable_until

        elapsed = -3
        while elapsed < 3 * 86400:
            until = stable_until(elapsed)
            self.assertGreater(until, elapsed)
            text = human_duration(elapsed)
            for second in range(elapsed, until):
                self.assertEqual(human_duration(second), text, second)
            elapsed = until
        for elapsed in (2 * 365 * 86400 - 7200, 730 * 86400 + 1800, 10 ** 9):
            self.assertGreater(stable_until(elapsed), elapsed)

    def test_running(self):
        """
        Up for seconds, minutes, hours, days: the kept entry follows.
        """
        started = NOW - 5
        times = [started + s / 4.0 for s in range(0, 4 * 200)]
        times += [started + 3000 + s for s in range(0, 4 * 3600, 7)]
        times += [started + 86400 * 3 + s for s in range(0, 7200, 13)]
        self.check_times(info("abc", "web"), [t for t in times if t >= NOW - 300])

    def test_exited_restarting_paused(self):
        """
        The other time-dependent statuses and the constant ones.
        """
        base = info("abc", "web")
        exited = dict(base, State={"Status": "exited", "Running": False, "ExitCode": 3,
                                   "StartedAt": "2026-11-28T09:00:00Z",
                                   "FinishedAt": "2026-11-28T09:59:00Z"})
        restarting = dict(base, State={"Status": "restarting", "Running": True,
                                       "Restarting": True, "ExitCode": 1,
                                       "StartedAt": "2026-11-28T08:00:00Z",
                                       "FinishedAt": "2026-11-28T09:59:50Z"})
        paused = info("abc", "web", status="paused")
        created = dict(base, State={"Status": "created", "Running": False, "ExitCode": 0,
                                    "StartedAt": "0001-01-01T00:00:00Z",
                                    "FinishedAt": "0001-01-01T00:00:00Z"})
        times = [NOW + s * 0.7 for s in range(0, 6000)]
        for data in (exited, restarting, paused, created):
            self.check_times(data, times)

    def test_host_down_and_specs(self):
        """
        A node going down or renamed changes the entry at once.
        """
        engine = _ListedEngine("n1")
        c = Container(engine, info("abc", "web"))
        self.assertIn(b'"Status":"Up 5 minutes"', _entry(c, NOW))
        engine.healthy = False
        self.assertIn(b'"Status":"Host Down"', _entry(c, NOW + 1))
        engine.healthy = True
        engine.name = "n2"
        engine.specs_revision += 1
        entry = _entry(c, NOW + 2)
        self.assertIn(b'"Names":["/n2/web"]', entry)
        self.assertIn(b'"Status":"Up 5 minutes"', entry)

    def test_newest_first(self):
        """
        The index keeps its containers newest first, ties in the order they
        joined, and sorts again when one joins or leaves.
        """
        engine = FakeEngine("n1")
        index = ContainerIndex()
        old = Container(engine, info("a", "old", Created="2026-11-28T08:00:00Z"))
        new = Container(engine, info("b", "new", Created="2026-11-28T09:00:00Z"))
        tie = Container(engine, info("c", "tie", Created="2026-11-28T09:00:00Z"))
        for c in (old, new, tie):
            index.replace(None, c)
        self.assertEqual(index.newest_first(), [new, tie, old])
        newest = Container(engine, info("d", "newest", Created="2026-11-28T09:30:00Z"))
        index.replace(None, newest)
        self.assertEqual(index.newest_first(), [newest, new, tie, old])
        index.replace(new, None)
        self.assertEqual(index.newest_first(), [newest, tie, old])


class RawInspectTests(SynchronousTestCase):
    """
    The engine's own bytes are kept when they are compact JSON.
    """

    def test_raw_kept(self):
        """
        Compact bytes are served as the engine sent them (its escapes kept).
        """
        data = info("abc", "web")
        raw = b'{"Id":"abc","Name":"/web","X":"\\u003c"}\n'
        c = Container(_ListedEngine("n1"), data, raw)
        self.assertTrue(c.inspect_bytes().endswith(b',"Id":"abc","Name":"/web","X":"\\u003c"}\n'))

    def test_raw_spaced(self):
        """
        Bytes with spaces around HostIp are encoded again, so the HostIp
        rewrite still finds them.
        """
        data = info("abc", "web")
        raw = b'{"Id": "abc", "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0"}]}}}'
        c = Container(_ListedEngine("n1"), data, raw)
        self.assertIn(b'"HostIp":"10.0.0.1"', c.inspect_bytes())
        self.assertEqual(c.full_info(), data)


class NodeObjectTests(SynchronousTestCase):
    """
    The C{Node} object of inspect answers is encoded once per change of the
    engine's specs.
    """

    def node(self, engine):
        return json.loads(Container(engine, info("abc", "web")).inspect_bytes())["Node"]

    def test_follows_specs(self):
        """
        The same engine gives the same bytes; new specs (a new name, new
        labels) show at once.
        """
        engine = _ListedEngine("n1")
        self.assertIs(node_json(engine), node_json(engine))
        self.assertEqual(self.node(engine), {
            "ID": engine.id, "IP": "10.0.0.1", "Addr": "127.0.0.1:2375", "Name": "n1",
            "Cpus": 2, "Memory": 1024, "Labels": {}})
        engine.name, engine.labels = "renamed", {"zone": "b"}
        engine.specs_revision += 1
        self.assertEqual((self.node(engine)["Name"], self.node(engine)["Labels"]),
                         ("renamed", {"zone": "b"}))

    def test_engines_apart(self):
        """
        Two engines never share an encoding.
        """
        one, two = _ListedEngine("n1"), _ListedEngine("n2")
        self.assertEqual((self.node(one)["Name"], self.node(two)["Name"]), ("n1", "n2"))


class SharedStringsTests(SynchronousTestCase):
    """
    Cached containers share their keys and short strings.
    """

    def test_shared_between_answers(self):
        """Two answers decoded apart share keys and short values, not IDs; values are kept."""
        import json

        answer = json.dumps(info("a" * 64, "web"))
        first = Container(_ListedEngine("n1"), json.loads(answer))
        second = Container(_ListedEngine("n1"), json.loads(answer))
        self.assertEqual(first.info, second.info)
        key = next(k for k in first.info["State"] if k == "Status")
        self.assertIs(key, next(k for k in second.info["State"] if k == "Status"))
        self.assertIs(first.info["State"]["Status"], second.info["State"]["Status"])
        self.assertIsNot(first.info["Id"], second.info["Id"])
        self.assertEqual(first.full_info(), json.loads(answer))
