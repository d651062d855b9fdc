"""
Pathological regular expressions against a real manager over real engines
(issue 9 item 1).

Python's backtracking C{re} took 5.8 s for C{docker ps -a --filter
'name=^(a+)+$'} over a container named with 27 C{a}s and an C{X}, each more
C{a} doubling it, and every other client (C{/_ping}) waited behind it.  The
container here has 60: with backtracking these tests would never finish
(there is no timing assertion); with RE2 every answer comes, right.
"""

import json
import socket
import threading
from urllib.parse import quote

from swarmd.testing.functional import ManagerTestCase

#: The container's name: 60 a's and an X.
NAME = "a" * 60 + "X"

#: Patterns a backtracking engine is exponential on against NAME.
PATHOLOGICAL = ["^(a+)+$", "(a|aa)+$", "(a|a)+$", "^(a|aa|aaa)*$"]


def _get(port, path):
    """
    One HTTP/1.0 GET to the manager on a raw socket.

    @param port: the manager's TCP port on 127.0.0.1, or the C{str} path
        of an engine's unix socket.
    @return: C{(status, body bytes)}.
    """
    if isinstance(port, str):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(120)
        s.connect(port)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
    with s:
        s.sendall(b"GET " + path.encode("ascii") + b" HTTP/1.0\r\nHost: swarm\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def _ps_path(pattern):
    return "/v1.41/containers/json?all=1&filters=" + quote(json.dumps({"name": [pattern]}))


class HostileRegexTests(ManagerTestCase):
    """
    Pathological filters and expressions through a manager on a 2-engine lab.
    """

    def setUp(self):
        ManagerTestCase.setUp(self)
        self.docker("create", "--name", NAME, "-e", "constraint:node==n1", "busybox", "true")

    def test_filters_and_ping_together(self):
        """
        Pathological ps filters sent at once with /_ping: every one answers,
        the ping OK and the filters an empty list (the engine's answer).
        """
        port = self.manager.port
        paths = [_ps_path(p) for p in PATHOLOGICAL for _ in range(3)]
        answers = {}

        def fetch(key, path):
            answers[key] = _get(port, path)

        threads = [threading.Thread(target=fetch, args=(i, path))
                   for i, path in enumerate(paths)]
        threads.append(threading.Thread(target=fetch, args=("ping", "/_ping")))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(answers["ping"], (200, b"OK"))
        for i, path in enumerate(paths):
            status, body = answers[i]
            self.assertEqual((status, json.loads(body)), (200, []), path)

    def test_same_answers_as_the_engine(self):
        """The manager lists what the engine lists for pathological and matching name filters."""
        engine = self.lab.engines[0]
        for pattern, expected in [("^(a+)+$", []), ("^(a+)+X$", [NAME]), ("(a|aa)+$", [])]:
            args = ["ps", "-a", "--format", "{{.Names}}", "--filter", "name=" + pattern]
            direct = engine.docker(*args).stdout.split()
            through = self.docker(*args).stdout.split()
            self.assertEqual(direct, expected, pattern)
            self.assertEqual([n.split("/")[-1] for n in through], expected, pattern)

    def test_refused_pattern(self):
        """A pattern RE2 (Go) refuses is a 400 naming it."""
        status, body = _get(self.manager.port, _ps_path("(?=a)"))
        self.assertEqual(status, 400)
        self.assertIn("(?=a)", json.loads(body)["message"])

    def test_pathological_expressions(self):
        """
        constraint:node==/^(a+)+$/ matches no node; an affinity /^(a+)+X$/
        follows the 61-character container, /^(a+)+$/ finds none.
        """
        done = self.docker("run", "-d", "-e", "constraint:node==/^(a+)+$/", "busybox",
                           "true", ok=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("Unable to find a node", done.stderr)
        done = self.docker("run", "-d", "-e", "affinity:container==/^(a+)+$/", "busybox",
                           "true", ok=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("Unable to find a node", done.stderr)
        self.docker("create", "--name", "follower", "-e", "affinity:container==/^(a+)+X$/",
                    "busybox", "true")
        self.assertEqual(self.node_of("follower"), "n1")
        self.assertEqual(_get(self.manager.port, "/_ping"), (200, b"OK"))


class FilterAndLabelTests(ManagerTestCase):
    """
    ps filters and scheduling labels through a manager on real engines
    (issue 9 item 4, issue 15 items 5 and 6).
    """

    def test_is_task(self):
        """
        ps --filter is-task=true lists the containers labelled
        com.docker.swarm.task, false the others (classic Swarm's filter).
        """
        self.docker("create", "--name", "task", "--label", "com.docker.swarm.task=",
                    "busybox", "true")
        self.docker("create", "--name", "plain", "busybox", "true")

        def names(value):
            done = self.docker("ps", "-a", "--format", "{{.Names}}", "--filter",
                               "is-task=" + value, ok=False)
            return done.returncode, sorted(n.split("/")[-1] for n in done.stdout.split())

        self.assertEqual(names("true"), (0, ["task"]))
        self.assertEqual(names("false"), (0, ["plain"]))
        code, _ = names("maybe")
        self.assertNotEqual(code, 0)

    def test_dockerd_refusals(self):
        """
        The filters a real dockerd refuses are refused by the manager with
        its words (a 400; dockerd 20.10 answers some of them with a 500).
        """
        engine = self.lab.engines[0]
        for value in [{"health": ["x"]}, {"is-task": ["maybe"]}, {"publish": ["x/y/z"]},
                      {"name": 5}, {"label": [5]}, {"name": {"x": 5}}, [1],
                      {"exited": ["x"]}, {"expose": ["80-70"]}]:
            path = "/v1.41/containers/json?filters=" + quote(json.dumps(value))
            status, body = _get(self.manager.port, path)
            direct_status, direct_body = _get(engine.socket, path)
            self.assertIn(direct_status, (400, 500), value)
            self.assertEqual((status, json.loads(body)), (400, json.loads(direct_body)), value)
        # Malformed JSON: the manager's message is "invalid filter: " and Go's.
        for text in ["{bad", '{"a":[1 2]}', '["a\\!b"]', "NaN", '{"a":tru}', "[1.5.3]", "{"]:
            path = "/v1.41/containers/json?filters=" + quote(text)
            status, body = _get(self.manager.port, path)
            direct_status, direct_body = _get(engine.socket, path)
            self.assertEqual((status, json.loads(body)["message"]),
                             (400, "invalid filter: " + json.loads(direct_body)["message"]),
                             text)
        path = "/v1.41/containers/json?filters=null"
        self.assertEqual(_get(engine.socket, path), (200, b"[]\n"))
        status, body = _get(self.manager.port, path)
        self.assertEqual((status, json.loads(body)), (200, []))

    def test_label_with_a_shell_backslash(self):
        """
        A constraints label with a backslash a shell left is refused, naming
        the cause (classic Swarm ignored the label and placed the container
        anywhere: a deliberate difference).
        """
        done = self.docker("run", "-d", "--label",
                           'com.docker.swarm.constraints=["container\\!=c1"]', "busybox",
                           "true", ok=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn('com.docker.swarm.constraints=["container\\!=c1"]', done.stderr)
        self.assertIn("A shell left a backslash before !", done.stderr)
        self.assertEqual(self.docker("ps", "-aq").stdout, "")
