"""
The real docker CLI against a real C{twistd swarm manage} in front of a lab
of two real engines (issue: a working manager in front of real engines).
"""

import json
import urllib.error
import urllib.request

from swarmd.testing.functional import ManagerTestCase


class ManagerCLITests(ManagerTestCase):
    """
    Everyday docker commands through the manager.
    """

    def names(self, *args):
        out = self.docker("ps", "--format", "{{.Names}}", *args).stdout
        return sorted(out.split())

    def test_info_lists_both_nodes_healthy_with_labels(self):
        """docker info shows the classic node table: 2 healthy nodes with their labels."""
        out = self.docker("info").stdout
        self.assertIn("Nodes: 2", out)
        self.assertEqual(out.count("└ Status: Healthy"), 2)
        blocks = out.split("  n")
        for name, storage in (("n1", "ssd"), ("n2", "disk")):
            block = [b for b in blocks if b.startswith(name[1:] + ": 127.0.0.1:")]
            self.assertEqual(len(block), 1, out)
            labels = [line for line in block[0].splitlines() if "└ Labels:" in line][0]
            self.assertIn("node=%s" % (name,), labels)
            self.assertIn("storage=%s" % (storage,), labels)
        self.assertIn("Strategy: spread", out)
        self.assertIn("Server Version: swarm/", out)

    def test_version_negotiated(self):
        """The CLI negotiates API 1.41 with the manager and shows its version."""
        out = self.docker("version", "--format", "{{.Server.APIVersion}} {{.Server.Version}}")
        self.assertEqual(out.stdout.split()[0], "1.41")
        self.assertTrue(out.stdout.split()[1].startswith("swarm/"))

    def test_run_ps_shows_node_prefix(self):
        """A container run through the manager is listed as nodeName/name."""
        # One-letter names are refused by Docker itself (and so by us).
        self.docker("run", "-d", "--name", "xx", "busybox", "sleep", "300")
        names = self.names()
        self.assertEqual(len(names), 1)
        self.assertRegex(names[0], r"^n[12]/xx$")
        node = self.docker("inspect", "-f", "{{.Node.Name}}", "xx").stdout.strip()
        self.assertEqual(names[0], node + "/xx")
        raw = self.manager.get("/containers/json")
        self.assertEqual(raw[0]["Names"], ["/" + names[0]])
        refused = self.docker("run", "-d", "--name", "x", "busybox", ok=False)
        self.assertIn("Invalid container name (x)", refused.stderr)

    def test_logs_stop_start_rm(self):
        """logs, stop, start and rm -f work on the container's node."""
        self.docker("run", "-d", "--name", "talker", "busybox", "sh", "-c",
                    "echo hello; echo oops >&2; sleep 300")
        self.assertIn("hello", self._wait_logs("talker", "hello"))
        done = self.docker("logs", "talker")
        self.assertIn("oops", done.stderr)
        self.docker("stop", "-t", "1", "talker")
        status = self.docker("ps", "-a", "--format", "{{.Status}}", "--filter",
                             "name=talker").stdout
        self.assertTrue(status.startswith("Exited"), status)
        self.assertEqual(self.names(), [])
        self.docker("start", "talker")
        self.assertEqual([n.split("/")[1] for n in self.names()], ["talker"])
        self.docker("rm", "-f", "talker")
        self.assertEqual(self.names("-a"), [])
        gone = self.docker("inspect", "talker", ok=False)
        self.assertNotEqual(gone.returncode, 0)
        self.assertIn("No such", gone.stderr)

    def _wait_logs(self, name, text):
        import time

        for _ in range(50):
            out = self.docker("logs", name).stdout
            if text in out:
                return out
            time.sleep(0.1)
        return out

    def test_logs_follow_streams_until_exit(self):
        """docker logs -f streams lines as they come and ends when the container stops."""
        self.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c",
                    "for i in 1 2 3; do echo line$i; sleep 0.3; done")
        done = self.docker("logs", "-f", "counter", timeout=30)
        self.assertEqual(done.stdout.split(), ["line1", "line2", "line3"])

    def test_duplicate_name_is_409(self):
        """A name used on any node is refused cluster-wide with a conflict."""
        self.docker("run", "-d", "--name", "dup", "busybox", "sleep", "300")
        done = self.docker("run", "-d", "--name", "dup", "busybox", "sleep", "300", ok=False)
        self.assertEqual(done.returncode, 125)
        self.assertIn("Conflict", done.stderr)
        request = urllib.request.Request(
            self.manager.url + "/v1.41/containers/create?name=dup", method="POST",
            data=json.dumps({"Image": "busybox"}).encode(),
            headers={"Content-Type": "application/json"})
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(caught.exception.code, 409)
        self.assertIn("already in use", json.load(caught.exception)["message"])
        self.assertEqual(len(self.names()), 1)

    def test_containers_spread_over_both_nodes(self):
        """Several containers land on both nodes."""
        for i in range(4):
            self.docker("run", "-d", "--name", "spread%d" % i, "busybox", "sleep", "300")
        nodes = {name.split("/")[0] for name in self.names()}
        self.assertEqual(nodes, {"n1", "n2"})

    def test_run_attached_returns_exit_code(self):
        """docker run (attached) prints the output and returns the container's exit code."""
        done = self.docker("run", "--rm", "busybox", "sh", "-c", "echo out; exit 3", ok=False)
        self.assertEqual(done.returncode, 3)
        self.assertEqual(done.stdout.strip(), "out")

    def test_run_interactive_stdin_half_close(self):
        """docker run -i: stdin reaches the container, its end closes stdin, output follows."""
        done = self.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo after-eof",
                           input="line one\nline two\n")
        self.assertEqual(done.stdout.split("\n")[:3], ["line one", "line two", "after-eof"])

    def test_errors_are_docker_json(self):
        """Unknown routes, unknown containers and bad JSON get {"message"} with the status."""
        cases = [
            ("GET", "/v1.41/nope", None, 404, "page not found"),
            ("GET", "/containers/nosuch/json", None, 404, "No such container: nosuch"),
            ("POST", "/containers/create", b"{not json", 400, "invalid JSON"),
            # dockerd's own words for a body that is not an object.
            ("POST", "/containers/create", b"[]", 400, "cannot unmarshal array into Go value"),
            ("GET", "/v9.99/info", None, 400, "too new"),
            ("GET", "/containers/json?filters=%7Bbad", None, 400, "invalid filter"),
        ]
        for method, path, body, status, text in cases:
            request = urllib.request.Request(self.manager.url + path, method=method, data=body)
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=10)
            self.assertEqual(caught.exception.code, status, path)
            self.assertEqual(caught.exception.headers["Content-Type"], "application/json")
            self.assertIn(text, json.load(caught.exception)["message"], path)
