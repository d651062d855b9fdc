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
