"""
Networks through the manager with the real docker CLI over a lab of two
real engines (issue 4: C{docker network ls/create/inspect/connect/
disconnect/rm/prune}).
"""

import json

from swarmd.testing.functional import ManagerTestCase


class NetworkCLITests(ManagerTestCase):
    """
    C{docker network ...} against the manager; each engine checked directly.
    """

    def engine_networks(self, name):
        """
        @return: the network names engine C{name} itself lists.
        """
        out = self.lab.engine(name).docker("network", "ls", "--format", "{{.Name}}").stdout
        return sorted(out.split())

    def test_ls_shows_node_prefixed_networks(self):
        """docker network ls shows each node's networks as node/name, a new one too."""
        self.docker("network", "create", "n1/listed")
        names = self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        for node in ("n1", "n2"):
            for builtin in ("bridge", "host", "none"):
                self.assertIn("%s/%s" % (node, builtin), names)
        self.assertIn("n1/listed", names)
        self.assertNotIn("n2/listed", names)
        custom = self.docker("network", "ls", "--filter", "type=custom", "--filter",
                             "node=n1", "--format", "{{.Name}}").stdout.split()
        self.assertEqual(custom, ["n1/listed"])

    def test_create_pinned_to_node(self):
        """docker network create n2/backend creates backend on n2 only."""
        created = self.docker("network", "create", "n2/backend").stdout.strip()
        self.assertIn("backend", self.engine_networks("n2"))
        self.assertNotIn("backend", self.engine_networks("n1"))
        on_engine = self.lab.engine("n2").docker(
            "network", "inspect", "-f", "{{.Id}}", "backend").stdout.strip()
        self.assertEqual(created, on_engine)
        again = self.docker("network", "create", "n2/backend", ok=False)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("network with name backend already exists", again.stderr)

    def test_create_scheduled_on_one_node(self):
        """docker network create front lands on exactly one node; a second is a conflict."""
        self.docker("network", "create", "front")
        holders = [n for n in ("n1", "n2") if "front" in self.engine_networks(n)]
        self.assertEqual(len(holders), 1)
        again = self.docker("network", "create", "front", ok=False)
        self.assertIn("already exists", again.stderr)
        holders = [n for n in ("n1", "n2") if "front" in self.engine_networks(n)]
        self.assertEqual(len(holders), 1)

    def test_inspect_by_node_name_unique_name_and_id(self):
        """
        docker network inspect works by node/name, a unique name, the ID and a short ID, and
        answers the engine's inspect byte for byte, its own Name (classic Swarm's answer).
        """
        network_id = self.docker("network", "create", "n2/probe").stdout.strip()
        direct = self.lab.engine("n2").docker("network", "inspect", "probe").stdout
        for reference in ("n2/probe", "probe", network_id, network_id[:12]):
            out = self.docker("network", "inspect", "-f", "{{.Name}} {{.Id}} {{.Driver}}",
                              reference).stdout.split()
            self.assertEqual(out, ["probe", network_id, "bridge"], reference)
            self.assertEqual(self.docker("network", "inspect", reference).stdout, direct)
        self.assertEqual(self.docker("network", "inspect", "n1/bridge").stdout,
                         self.lab.engine("n1").docker("network", "inspect", "bridge").stdout)
        ambiguous = self.docker("network", "inspect", "bridge", ok=False)
        self.assertIn("ambiguous", ambiguous.stderr)
        self.assertIn("n1/bridge", ambiguous.stderr)
        missing = self.docker("network", "inspect", "nowhere", ok=False)
        self.assertIn("network nowhere not found", missing.stderr)

    def test_connect_and_disconnect_running_container(self):
        """connect/disconnect reach the container's engine; inspect follows at once."""
        self.docker("run", "-d", "--name", "joiner", "busybox", "sleep", "300")
        node = self.docker("inspect", "-f", "{{.Node.Name}}", "joiner").stdout.strip()
        self.docker("network", "create", node + "/extra")
        self.docker("network", "connect", node + "/extra", "joiner")
        engine = self.lab.engine(node)

        def attached():
            out = engine.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                "joiner").stdout
            return sorted(json.loads(out))

        self.assertEqual(attached(), ["bridge", "extra"])
        through = self.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                              "joiner").stdout
        self.assertEqual(sorted(json.loads(through)), ["bridge", "extra"])
        containers = self.docker("network", "inspect", "-f", "{{json .Containers}}",
                                 node + "/extra").stdout
        self.assertEqual([c["Name"] for c in json.loads(containers).values()], ["joiner"])
        self.docker("network", "disconnect", "extra", "joiner")
        self.assertEqual(attached(), ["bridge"])
        other = "n2" if node == "n1" else "n1"
        self.docker("network", "create", other + "/elsewhere")
        refused = self.docker("network", "connect", other + "/elsewhere", "joiner", ok=False)
        self.assertIn("not on node " + node, refused.stderr)

    def test_rm(self):
        """docker network rm removes the network from its engine."""
        self.docker("network", "create", "n1/doomed")
        self.assertIn("doomed", self.engine_networks("n1"))
        self.docker("network", "rm", "n1/doomed")
        self.assertNotIn("doomed", self.engine_networks("n1"))
        names = self.docker("network", "ls", "--format", "{{.Name}}").stdout.split()
        self.assertNotIn("n1/doomed", names)
        gone = self.docker("network", "rm", "n1/doomed", ok=False)
        self.assertNotEqual(gone.returncode, 0)

    def test_prune(self):
        """docker network prune -f removes unused networks on every node and lists them."""
        self.docker("network", "create", "n1/spare1")
        self.docker("network", "create", "n2/spare2")
        out = self.docker("network", "prune", "-f").stdout
        self.assertIn("n1/spare1", out)
        self.assertIn("n2/spare2", out)
        self.assertNotIn("spare1", self.engine_networks("n1"))
        self.assertNotIn("spare2", self.engine_networks("n2"))

    def test_run_on_node_network(self):
        """docker run --net n2/backend puts the container on n2, attached to backend."""
        self.docker("network", "create", "n2/backend")
        for i in range(2):
            self.docker("run", "-d", "--name", "onnet%d" % i, "--net", "n2/backend",
                        "busybox", "sleep", "300")
            node = self.docker("inspect", "-f", "{{.Node.Name}}", "onnet%d" % i).stdout
            self.assertEqual(node.strip(), "n2")
        networks = self.lab.engine("n2").docker(
            "inspect", "-f", "{{json .NetworkSettings.Networks}}", "onnet0").stdout
        self.assertEqual(list(json.loads(networks)), ["backend"])
