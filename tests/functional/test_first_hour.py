"""
What a new user hits in their first hour (issue 10), with the docker CLI
against a manager over real engines: messages that say what is short,
containers kept next to their volumes, names as ps shows them.
"""

from swarmd.testing.functional import ManagerTestCase


class FirstHourTests(ManagerTestCase):
    """
    The docker CLI through the manager over a 2-engine lab.
    """

    def remove_volume(self, name):
        self.lab.clean()
        for engine in self.lab.engines:
            engine.docker("volume", "rm", "-f", name, check=False)

    def test_no_resources_says_what_is_short(self):
        """--cpu-shares 512: classic's line, then 512 CPUs asked and the largest node's CPUs."""
        done = self.docker("run", "-d", "--cpu-shares", "512", "busybox", "true", ok=False)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("no resources available to schedule container\n--cpu-shares 512 asks "
                      "for 512 CPUs (classic Swarm reads CpuShares as a CPU count); the "
                      "largest node has ", done.stderr)
        self.assertIn("CPUs short on n", done.stderr)

    def test_container_follows_its_volume(self):
        """volume create n2/vol2; run -v vol2:/d lands on n2 every time and sees the same data."""
        self.addCleanup(self.remove_volume, "vol2")
        self.docker("volume", "create", "n2/vol2")
        self.docker("run", "--rm", "-v", "vol2:/d", "busybox", "sh", "-c", "echo kept > /d/f")
        for index in range(3):
            name = "reader%d" % (index,)
            self.docker("run", "-d", "--name", name, "-v", "vol2:/d", "busybox",
                        "sleep", "300")
            self.assertEqual(self.node_of(name), "n2")
        self.assertEqual(self.docker("exec", "reader0", "cat", "/d/f").stdout, "kept\n")
        refused = self.docker("run", "-d", "-e", "constraint:node==n1", "-v", "vol2:/d",
                              "busybox", "true", ok=False)
        self.assertIn("volume vol2 exists on n2 only", refused.stderr)

    def test_stats_name_as_ps(self):
        """docker stats shows n2/web, as docker ps does."""
        self.docker("run", "-d", "--name", "web", "-e", "constraint:node==n2", "busybox",
                    "sleep", "300")
        ps = self.docker("ps", "--format", "{{.Names}}").stdout.split()
        stats = self.docker("stats", "--no-stream", "--format", "{{.Name}}").stdout.split()
        self.assertEqual(ps, ["n2/web"])
        self.assertEqual(stats, ["n2/web"])

    def test_volume_create_prints_what_it_did(self):
        """volume create vol1 prints vol1 (made on every node); n1/vol3 prints n1/vol3."""
        self.addCleanup(self.remove_volume, "vol1")
        self.addCleanup(self.remove_volume, "vol3")
        self.assertEqual(self.docker("volume", "create", "vol1").stdout, "vol1\n")
        self.assertEqual(self.docker("volume", "create", "n1/vol3").stdout, "n1/vol3\n")
        listed = self.docker("volume", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertEqual(sorted(v for v in listed if v.split("/")[1] in ("vol1", "vol3")),
                         ["n1/vol1", "n1/vol3", "n2/vol1"])

    def test_network_create_tries_next_node(self):
        """network create on a subnet n1 already uses: n1 refuses, the network is made on n2."""
        # A container on n2 makes spread try n1 first.
        self.docker("run", "-d", "--name", "busy", "-e", "constraint:node==n2", "busybox",
                    "sleep", "300")
        self.docker("network", "create", "--subnet", "10.199.0.0/24", "n1/taken")
        refused = self.lab.engine("n1").docker("network", "create", "--subnet",
                                               "10.199.0.0/24", "probe", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.docker("network", "create", "--subnet", "10.199.0.0/24", "front")
        names = self.lab.engine("n2").docker("network", "ls", "--format",
                                             "{{.Name}}").stdout.split()
        self.assertIn("front", names)
        log = self.manager.log()
        self.assertIn("network front refused by n1", log)
