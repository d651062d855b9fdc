"""
Tests for L{swarmd.cluster.containers} and L{swarmd.cluster.index}.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster.containers import Container, human_duration, parse_time, state_string
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
