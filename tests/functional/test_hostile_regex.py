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

    @return: C{(status, body bytes)}.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
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
