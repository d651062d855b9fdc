"""
docker-py (the Python Docker SDK) as the client of the manager.
"""

import docker
from twisted.trial.unittest import TestCase

from swarmd.testing.functional import shared_lab
from swarmd.testing.manager import shared_manager

FAST = ("--engine-refresh-min-interval", "1s", "--engine-refresh-max-interval", "2s")


class DockerPyTests(TestCase):
    """
    What a docker-py script does, through the manager.
    """

    def setUp(self):
        self.lab = shared_lab(n=2, testcase=self)
        self.addCleanup(self.lab.clean)
        self.manager = shared_manager(self.lab, FAST)
        self.client = docker.DockerClient(base_url=self.manager.docker_host, version="auto",
                                          timeout=60)
        self.addCleanup(self.client.close)

    def test_negotiates_and_reports(self):
        """version=auto negotiates 1.41; info shows the node table."""
        self.assertEqual(self.client.api.api_version, "1.41")
        info = self.client.info()
        self.assertTrue(info["ServerVersion"].startswith("swarm/"))
        keys = [key.strip() for key, _ in info["SystemStatus"]]
        self.assertEqual(keys.count("└ Status"), 2)

    def test_run_logs_exec(self):
        """run, logs, exec, stop and remove a container."""
        output = self.client.containers.run("busybox", ["echo", "from-docker-py"], remove=True)
        self.assertEqual(output, b"from-docker-py\n")
        container = self.client.containers.run("busybox", ["sh", "-c", "echo ready; sleep 300"],
                                               name="pyrunner", detach=True)
        self.addCleanup(container.remove, force=True)
        for _ in range(50):
            if b"ready" in container.logs():
                break
        self.assertIn(b"ready", container.logs())
        code, out = container.exec_run(["sh", "-c", "echo in-exec; exit 2"])
        self.assertEqual((code, out), (2, b"in-exec\n"))
        container.reload()
        self.assertEqual(container.status, "running")
        # docker-py lists, then inspects each one: names come from inspect.
        listed = self.client.containers.list()
        self.assertEqual([c.name for c in listed], ["pyrunner"])
        self.assertIn(container.attrs["Node"]["Name"], ("n1", "n2"))
        container.stop(timeout=1)
        container.reload()
        self.assertEqual(container.status, "exited")

    def test_lists_images_networks_volumes(self):
        """images, networks and volumes list through the manager."""
        tags = {tag for image in self.client.images.list() for tag in image.tags}
        self.assertIn("busybox:latest", tags)
        names = {network.name for network in self.client.networks.list()}
        self.assertTrue({"n1/bridge", "n2/bridge"} <= names, names)
        volume = self.client.volumes.create("n1/pyvolume")
        self.addCleanup(self.lab.engines[0].docker, "volume", "rm", "-f", "pyvolume",
                        check=False)
        names = {v.name for v in self.client.volumes.list()}
        self.assertIn("n1/pyvolume", names)
        self.assertTrue(volume.name.endswith("pyvolume"))

    def test_errors_are_docker_errors(self):
        """A missing container raises docker.errors.NotFound with the manager's message."""
        with self.assertRaises(docker.errors.NotFound) as caught:
            self.client.containers.get("nothing-here")
        self.assertIn("No such container", str(caught.exception))
