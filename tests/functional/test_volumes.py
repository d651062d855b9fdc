"""
Volumes through the manager with the real docker CLI over a lab of two real
engines (issue 4: C{docker volume ls/create/inspect/rm/prune}).
"""


from swarmd.testing.functional import ManagerTestCase


class VolumeCLITests(ManagerTestCase):
    """
    C{docker volume ...} against the manager; each engine checked directly.
    """

    def setUp(self):
        # Cleanups run last-in first-out: volumes go after the containers
        # using them (lab.clean) are gone.
        self.addCleanup(self._remove_volumes)
        ManagerTestCase.setUp(self)

    def _remove_volumes(self):
        for engine in self.lab.engines:
            if engine.running():
                engine.docker("volume", "prune", "-f", check=False, timeout=60)

    def engine_volumes(self, name):
        """
        @return: the volume names engine C{name} itself lists.
        """
        out = self.lab.engine(name).docker("volume", "ls", "--format", "{{.Name}}").stdout
        return sorted(out.split())

    def listed(self, *args):
        return sorted(self.docker("volume", "ls", "--format", "{{.Name}}", *args).stdout.split())

    def test_create_on_every_node(self):
        """volume create data makes data on both nodes, prints data, lists n1/data, n2/data."""
        out = self.docker("volume", "create", "data").stdout.strip()
        self.assertEqual(out, "data")
        self.assertEqual(self.engine_volumes("n1"), ["data"])
        self.assertEqual(self.engine_volumes("n2"), ["data"])
        self.assertEqual(self.listed(), ["n1/data", "n2/data"])

    def test_create_pinned_to_node(self):
        """docker volume create n1/only makes only on n1."""
        out = self.docker("volume", "create", "n1/only").stdout.strip()
        self.assertEqual(out, "n1/only")
        self.assertEqual(self.engine_volumes("n1"), ["only"])
        self.assertEqual(self.engine_volumes("n2"), [])

    def test_ls_with_filters(self):
        """docker volume ls lists every node's volumes; node and label filters select."""
        self.docker("volume", "create", "--label", "tier=db", "n2/tagged")
        self.docker("volume", "create", "n1/plain")
        self.assertEqual(self.listed(), ["n1/plain", "n2/tagged"])
        self.assertEqual(self.listed("--filter", "node=n1"), ["n1/plain"])
        self.assertEqual(self.listed("--filter", "label=tier=db"), ["n2/tagged"])
        self.assertEqual(self.listed("--filter", "name=tagged"), ["n2/tagged"])

    def test_inspect(self):
        """
        docker volume inspect works by node/name, by a name only one node holds (the engine's
        answer byte for byte, its own Name, as classic Swarm), by a name every node holds alike
        (the first node's: docker-compose inspects its volumes so); differing copies are
        ambiguous.
        """
        self.docker("volume", "create", "n2/only")
        direct = self.lab.engine("n2").docker("volume", "inspect", "only").stdout
        for reference in ("n2/only", "only"):
            self.assertEqual(self.docker("volume", "inspect", reference).stdout, direct,
                             reference)
        self.docker("volume", "create", "both")
        self.assertEqual(self.docker("volume", "inspect", "both").stdout,
                         self.lab.engine("n1").docker("volume", "inspect", "both").stdout)
        self.docker("volume", "create", "--label", "a=1", "n1/differ")
        self.docker("volume", "create", "n2/differ")
        ambiguous = self.docker("volume", "inspect", "differ", ok=False)
        self.assertIn("n1/differ, n2/differ", ambiguous.stderr)
        missing = self.docker("volume", "inspect", "nowhere", ok=False)
        self.assertIn("no such volume", missing.stderr)

    def test_rm_removes_every_copy(self):
        """docker volume rm data removes it on both nodes; n1/x removes only n1's."""
        self.docker("volume", "create", "data")
        self.docker("volume", "create", "keep")
        self.docker("volume", "rm", "data")
        self.assertEqual(self.engine_volumes("n1"), ["keep"])
        self.assertEqual(self.engine_volumes("n2"), ["keep"])
        self.docker("volume", "rm", "n1/keep")
        self.assertEqual(self.engine_volumes("n1"), [])
        self.assertEqual(self.engine_volumes("n2"), ["keep"])
        gone = self.docker("volume", "rm", "data", ok=False)
        self.assertIn("no such volume", gone.stderr)

    def test_rm_in_use_is_refused(self):
        """Removing a volume a container uses gives the engine's 'volume is in use'."""
        self.docker("volume", "create", "n1/busy")
        self.lab.engine("n1").docker("run", "-d", "--name", "user", "-v", "busy:/d",
                                     "busybox", "sleep", "300")
        refused = self.docker("volume", "rm", "busy", ok=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("volume is in use", refused.stderr)
        self.assertEqual(self.engine_volumes("n1"), ["busy"])

    def test_prune(self):
        """docker volume prune -f removes unused volumes on every node, node-prefixed."""
        self.docker("volume", "create", "spare")
        self.docker("volume", "create", "n2/kept")
        self.lab.engine("n2").docker("run", "-d", "--name", "keeper", "-v", "kept:/d",
                                     "busybox", "sleep", "300")
        out = self.docker("volume", "prune", "-f").stdout
        self.assertIn("n1/spare", out)
        self.assertIn("n2/spare", out)
        self.assertNotIn("kept", out)
        self.assertIn("Total reclaimed space", out)
        self.assertEqual(self.engine_volumes("n1"), [])
        self.assertEqual(self.engine_volumes("n2"), ["kept"])

    def test_run_with_node_volume(self):
        """docker run -v n1/only:/d lands on n1 and mounts n1's volume only."""
        self.docker("volume", "create", "n1/only")
        self.docker("run", "-d", "--name", "mounter", "-v", "n1/only:/d", "busybox",
                    "sleep", "300")
        node = self.docker("inspect", "-f", "{{.Node.Name}}", "mounter").stdout.strip()
        self.assertEqual(node, "n1")
        mounts = self.lab.engine("n1").docker(
            "inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", "mounter").stdout.strip()
        self.assertEqual(mounts, "only")
