"""
Placement through the real docker CLI and a real manager over real engines:
constraints, affinities, ports, strategies (issue: the scheduler).
"""


from swarmd.testing.functional import FAST_REFRESH, ManagerTestCase


class _Base(ManagerTestCase):
    """
    Helpers: find where a container landed.
    """

    def run_on(self, name, *args):
        self.docker("run", "-d", "--name", name, *args)
        return self.node_of(name)


class ConstraintTests(_Base):
    """
    Constraints and affinities given as -e entries.
    """

    def test_node_constraint(self):
        """constraint:node==n2 puts every container on n2."""
        for i in range(3):
            self.assertEqual(
                self.run_on("pin%d" % i, "-e", "constraint:node==n2", "busybox", "sleep", "300"),
                "n2")

    def test_label_constraint(self):
        """constraint:storage==ssd picks the engine labelled ssd (n1); disk picks n2."""
        self.assertEqual(self.run_on("fast", "-e", "constraint:storage==ssd", "busybox",
                                     "sleep", "300"), "n1")
        self.assertEqual(self.run_on("slow", "-e", "constraint:storage==disk", "busybox",
                                     "sleep", "300"), "n2")

    def test_constraint_entries_become_labels(self):
        """The constraint leaves Env and is kept as a com.docker.swarm label."""
        self.run_on("labelled", "-e", "constraint:storage==ssd", "-e", "KEEP=1", "busybox",
                    "sleep", "300")
        env = self.docker("inspect", "-f", "{{json .Config.Env}}", "labelled").stdout
        self.assertIn("KEEP=1", env)
        self.assertNotIn("constraint", env)
        labels = self.docker("inspect", "-f",
                             '{{index .Config.Labels "com.docker.swarm.constraints"}}',
                             "labelled").stdout.strip()
        self.assertEqual(labels, '["storage==ssd"]')

    def test_container_affinity(self):
        """affinity:container==x lands next to x, wherever x is."""
        where = self.run_on("anchor", "busybox", "sleep", "300")
        for i in range(3):
            self.assertEqual(self.run_on("follower%d" % i, "-e", "affinity:container==anchor",
                                         "busybox", "sleep", "300"), where)

    def test_impossible_constraint_classic_error(self):
        """A constraint no node meets fails with classic Swarm's message, naming it."""
        done = self.docker("run", "-d", "--name", "never", "-e", "constraint:storage==tape",
                           "busybox", "sleep", "300", ok=False)
        self.assertEqual(done.returncode, 125)
        self.assertIn("Unable to find a node that satisfies the following conditions",
                      done.stderr)
        self.assertIn("[storage==tape]", done.stderr)
        self.assertEqual(self.docker("ps", "-aq").stdout.strip(), "")

    def test_bad_expression_is_400(self):
        """A malformed expression is refused before scheduling, naming it."""
        done = self.docker("run", "-d", "-e", "constraint:storage=~ssd", "busybox", "true",
                           ok=False)
        self.assertEqual(done.returncode, 125)
        self.assertIn("storage=~ssd", done.stderr)

    def test_soft_constraint_falls_back(self):
        """A soft constraint nobody meets does not stop the container from running."""
        node = self.run_on("soft", "-e", "constraint:storage==~tape", "busybox", "sleep", "300")
        self.assertIn(node, ("n1", "n2"))

    def test_cpu_reservation_shown_and_converted(self):
        """-c 1 reserves one CPU (shown by docker info) and becomes shares on the engine."""
        self.run_on("onecpu", "-c", "1", "busybox", "sleep", "300")
        shares = int(self.docker("inspect", "-f", "{{.HostConfig.CpuShares}}",
                                 "onecpu").stdout)
        cpus = int(self.lab.engines[0].docker("info", "-f", "{{.NCPU}}").stdout)
        self.assertEqual(shares, -(-1024 // cpus))
        self.assertIn("Reserved CPUs: 1 /", self.docker("info").stdout)


class BinpackTests(_Base):
    """
    The binpack strategy.
    """

    manager_args = FAST_REFRESH + ("--strategy", "binpack")

    def test_binpack_fills_one_node_first(self):
        """With binpack, containers with memory reservations stack on one node."""
        nodes = [self.run_on("pack%d" % i, "-m", "64m", "busybox", "sleep", "300")
                 for i in range(4)]
        self.assertEqual(len(set(nodes)), 1, nodes)
        self.assertIn("Strategy: binpack", self.docker("info").stdout)


class PortTests(_Base):
    """
    The port filter, on engines that each have their own IP (network
    namespaces made by the lab).
    """

    lab_options = {"netns": True}

    def test_same_host_port_goes_to_the_other_node(self):
        """-p 8080:80 twice: the second container lands on the node where 8080 is free."""
        first = self.run_on("web1", "-p", "8080:80", "busybox", "sleep", "300")
        second = self.run_on("web2", "-p", "8080:80", "busybox", "sleep", "300")
        self.assertEqual({first, second}, {"n1", "n2"})
        done = self.docker("run", "-d", "--name", "web3", "-p", "8080:80", "busybox", "sleep",
                           "300", ok=False)
        self.assertEqual(done.returncode, 125)
        self.assertIn("Unable to find a node", done.stderr)
        ports = self.docker("port", "web1").stdout
        engine = self.lab.engine(first)
        self.assertIn(engine.tcp.rsplit(":", 1)[0] + ":8080", ports)
