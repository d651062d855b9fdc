"""
Debian's docker-compose 1.29 through the manager, in front of real engines
(issue 10: what a new user hits in their first hour).

Compose puts every service of a project on the project's own network
(C{<project>_default}, a local bridge network): the manager creates it on
one node, and a container naming a network only one node holds must run
there, so the whole project lands on that node.  With C{network_mode:
bridge} each container is placed on its own and the project spreads; a
project volume is then made on every node (compose creates it by its bare
name) and inspected by its bare name before every C{up}.
"""

import json
import os
import shutil
import subprocess
import tempfile
from urllib.parse import quote

from swarmd.testing.functional import ManagerTestCase

COMPOSE = "/usr/bin/docker-compose"

#: Two services on compose's default project network.
DEFAULT_NETWORK = """\
version: "3"
services:
  web:
    image: busybox
    command: sh -c "echo web says hello; sleep 300"
  cache:
    image: busybox
    command: sh -c "echo cache says hello; sleep 300"
"""

#: The same on each engine's default bridge, with a project volume.
BRIDGE = """\
version: "3"
services:
  web:
    image: busybox
    command: sh -c "echo web says hello; sleep 300"
    network_mode: bridge
  db:
    image: busybox
    command: sh -c "echo db says hello > /data/hello; cat /data/hello; sleep 300"
    network_mode: bridge
    volumes:
      - data:/data
volumes:
  data:
"""


class ComposeTests(ManagerTestCase):
    """
    docker-compose up, up --scale, ps, logs and down against the manager.
    """

    def setUp(self):
        ManagerTestCase.setUp(self)
        if not os.path.exists(COMPOSE):
            self.skipTest("docker-compose is not installed (run .ci/setup)")
        self.project_dir = tempfile.mkdtemp(prefix="swarmd-compose-")
        self.addCleanup(shutil.rmtree, self.project_dir, True)

    def compose(self, project, text, *args, ok=True, env=None):
        """
        Run docker-compose on the manager for a project.

        @param text: the compose file.
        @return: the L{subprocess.CompletedProcess}.
        """
        path = os.path.join(self.project_dir, project + ".yml")
        with open(path, "w") as f:
            f.write(text)
        environ = dict(os.environ, DOCKER_HOST=self.manager.docker_host,
                       COMPOSE_INTERACTIVE_NO_CLI="1", **(env or {}))
        environ.pop("DOCKER_CONTEXT", None)
        done = subprocess.run([COMPOSE, "-p", project, "-f", path, *args],
                              capture_output=True, text=True, timeout=180, env=environ,
                              cwd=self.project_dir)
        if ok and done.returncode != 0:
            self.fail("docker-compose %s failed (%d): %s%s" % (
                " ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def nodes(self, project):
        """
        @return: C{{container name: node}} of the project's containers.
        """
        listed = self.manager.get("/containers/json?all=1&filters=" + quote(json.dumps(
            {"label": ["com.docker.compose.project=" + project]})))
        return {c["Names"][0].rsplit("/", 1)[1]: c["Names"][0].split("/")[1] for c in listed}

    def remove_volume_everywhere(self, name):
        for engine in self.lab.engines:
            engine.docker("volume", "rm", "-f", name, check=False)

    def test_default_network_keeps_project_on_one_node(self):
        """up, up --scale web=3, ps, logs and down: every container on the network's node."""
        self.compose("onenode", DEFAULT_NETWORK, "up", "-d")
        placed = self.nodes("onenode")
        self.assertEqual(sorted(placed), ["onenode_cache_1", "onenode_web_1"])
        self.assertEqual(len(set(placed.values())), 1, placed)
        node = set(placed.values()).pop()
        networks = self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertIn(node + "/onenode_default", networks)

        self.compose("onenode", DEFAULT_NETWORK, "up", "-d", "--scale", "web=3")
        placed = self.nodes("onenode")
        self.assertEqual(sorted(placed), ["onenode_cache_1", "onenode_web_1",
                                          "onenode_web_2", "onenode_web_3"])
        self.assertEqual(set(placed.values()), {node})

        ps = self.compose("onenode", DEFAULT_NETWORK, "ps").stdout
        for name in placed:
            line = [row for row in ps.splitlines() if row.startswith(name + " ")]
            self.assertEqual(len(line), 1, ps)
            self.assertIn(" Up", line[0])

        logs = self.compose("onenode", DEFAULT_NETWORK, "logs", "--no-color").stdout
        self.assertEqual(logs.count("web says hello"), 3, logs)
        self.assertEqual(logs.count("cache says hello"), 1, logs)

        self.compose("onenode", DEFAULT_NETWORK, "down")
        self.assertEqual(self.nodes("onenode"), {})
        networks = self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertNotIn(node + "/onenode_default", networks)

    def test_bridge_network_spreads(self):
        """network_mode: bridge spreads the project; a project volume survives a second up."""
        self.addCleanup(self.remove_volume_everywhere, "spread_data")
        self.compose("spread", BRIDGE, "up", "-d")
        # A second up (compose inspects its volume by its bare name first).
        self.compose("spread", BRIDGE, "up", "-d", "--scale", "web=3")
        placed = self.nodes("spread")
        self.assertEqual(sorted(placed), ["spread_db_1", "spread_web_1", "spread_web_2",
                                          "spread_web_3"])
        self.assertEqual(set(placed.values()), {"n1", "n2"})
        volumes = self.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertIn("n1/spread_data", volumes)
        self.assertIn("n2/spread_data", volumes)
        logs = self.compose("spread", BRIDGE, "logs", "--no-color", "db").stdout
        self.assertIn("db says hello", logs)
        self.compose("spread", BRIDGE, "down", "-v")
        self.assertEqual(self.nodes("spread"), {})
        volumes = self.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertNotIn("n1/spread_data", volumes)

    def test_api_version(self):
        """Compose 1.29 (docker-py 5) speaks API 1.41, the manager's; auto negotiates to it."""
        done = self.compose("version", DEFAULT_NETWORK, "--verbose", "ps",
                            env={"COMPOSE_API_VERSION": "auto"})
        self.assertIn("ApiVersion=1.41", done.stderr)
        done = self.compose("version", DEFAULT_NETWORK, "ps")
        self.assertEqual(done.stdout.split(), ["Name", "Command", "State", "Ports",
                                               "-" * 30])
