"""
Classic Swarm parity against real engines (issue 15): what a classic
Swarm user would see differently, each test saying which classic
behaviour it checks.
"""

import os
import tempfile

from swarmd.testing.functional import ManagerTestCase


class SaveTests(ManagerTestCase):
    """
    docker save of several images through the manager.
    """

    def tag_on(self, node, tag):
        self.lab.engine(node).docker("tag", "busybox", tag)
        self.addCleanup(self.lab.engine(node).docker, "rmi", tag, check=False)

    def test_no_engine_holds_all(self):
        """
        Classic Swarm: 'Unable to find a healthy engine containing all images: [a b]' (a
        404); swarmd then says what each node lacks.
        """
        self.tag_on("n1", "only1:1")
        self.tag_on("n2", "only2:1")
        with tempfile.TemporaryDirectory() as folder:
            done = self.docker("save", "-o", os.path.join(folder, "images.tar"), "only1:1",
                               "only2:1", ok=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("Unable to find a healthy engine containing all images: "
                      "[only1:1 only2:1]", done.stderr)
        self.assertIn("n1 lacks only2:1", done.stderr)
        self.assertIn("n2 lacks only1:1", done.stderr)

    def test_one_engine_holds_all(self):
        """Classic Swarm: a save goes to a healthy engine holding every image named."""
        self.tag_on("n2", "only2:1")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "images.tar")
            self.docker("save", "-o", path, "busybox", "only2:1")
            self.assertGreater(os.path.getsize(path), 0)


class ObjectLabelTests(ManagerTestCase):
    """
    Whitelists and constraints in the labels of volume and network create.
    """

    def engine_volumes(self, node):
        return self.lab.engine(node).docker("volume", "ls", "-q").stdout.split()

    def test_volume_whitelist(self):
        """
        Classic Swarm: volume create --label com.docker.swarm.whitelists=["node==n2|n3"]
        makes it on n2 (and n3) only.
        """
        self.addCleanup(self.lab.engine("n2").docker, "volume", "rm", "-f", "wl", check=False)
        self.addCleanup(self.lab.engine("n1").docker, "volume", "rm", "-f", "wl", check=False)
        out = self.docker("volume", "create", "--label",
                          'com.docker.swarm.whitelists=["node==n2|n3"]', "wl").stdout.strip()
        self.assertEqual(out, "n2/wl")
        self.assertNotIn("wl", self.engine_volumes("n1"))
        self.assertIn("wl", self.engine_volumes("n2"))

    def test_network_constraint(self):
        """Classic Swarm: a constraints label on network create chooses the network's node."""
        self.docker("network", "create", "--label", 'com.docker.swarm.constraints=["node==n1"]',
                    "onn1")
        names = self.lab.engine("n1").docker("network", "ls", "--format",
                                             "{{.Name}}").stdout.split()
        self.assertIn("onn1", names)
