"""
Tests for L{swarmd.cli}, the C{swarm} console script.
"""

import io
import os
import subprocess
import sys

from twisted.internet.defer import Deferred, fail, maybeDeferred, succeed
from twisted.internet.task import Clock
from twisted.logger import LogLevel
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from swarmd import _log, cli, tap
from swarmd.config import ListConfig, ManageConfig
from swarmd.discovery import DiscoveryError

ROOT = FilePath(__file__).parent().parent().parent()
URL = "nodes://127.0.0.1:2375,127.0.0.1:2376"


class FakeDiscovery:
    def __init__(self, result):
        self._result = result

    def fetch(self):
        return self._result


class RunTests(SynchronousTestCase):
    """
    Tests for L{cli.run} with twistd, the reactor and discovery stubbed.
    """

    def setUp(self):
        level = _log.get_level()
        name = {v: k for k, v in reversed(list(_log.LEVELS.items()))}[level]
        self.addCleanup(_log.set_level, name)
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.twistd_calls = []
        self.twistd_status = 0
        self.clock = Clock()
        self.built = []
        self.fetch_result = lambda: succeed(["127.0.0.1:2375", "127.0.0.1:2376"])

    def twistd(self, args):
        self.twistd_calls.append(args)
        return self.twistd_status

    def react(self, main):
        """
        Run main on a Clock; the fetch must finish without time passing
        unless the test advanced the clock itself.
        """
        d = maybeDeferred(main, self.clock)
        self.clock.advance(60)
        return self.successResultOf(d)

    def discovery_for(self, url, **settings):
        self.built.append((url, settings))
        return FakeDiscovery(self.fetch_result())

    def swarm(self, argv, environ=None):
        return cli.run(
            argv,
            environ={} if environ is None else environ,
            out=self.out,
            err=self.err,
            react=self.react,
            twistd=self.twistd,
            discovery_for=self.discovery_for,
        )

    def test_manage_runs_twistd(self):
        """
        swarm manage runs twistd in the foreground, without a PID file, with
        the same arguments, and exits with its status.
        """
        self.twistd_status = 7
        argv = ["--debug", "manage", "-H", "tcp://127.0.0.1:4000", URL]
        self.assertEqual(self.swarm(argv), 7)
        self.assertEqual(self.twistd_calls, [["--nodaemon", "--pidfile=", "swarm", *argv]])
        self.assertEqual(self.err.getvalue(), "")

    def test_join_runs_twistd(self):
        """
        swarm join (and its alias j) runs twistd too.
        """
        for command in ("join", "j"):
            argv = [command, "--addr", "127.0.0.1:2375", URL]
            self.assertEqual(self.swarm(argv), 0)
            self.assertEqual(self.twistd_calls[-1], ["--nodaemon", "--pidfile=", "swarm", *argv])

    def test_usage_error(self):
        """
        A usage error is one line on stderr, what is wrong and a pointer to
        the command's help, and status 2; twistd does not run.
        """
        self.assertEqual(self.swarm(["manage", "--stratgy", "spread", URL]), 2)
        self.assertEqual(
            self.err.getvalue(),
            "swarm: option --stratgy not recognized. See 'swarm manage --help'.\n",
        )
        self.assertEqual(self.twistd_calls, [])

    def test_usage_error_with_pointer(self):
        """
        A message that already points to help is not given a second pointer.
        """
        self.assertEqual(self.swarm(["join", "--addr", "h:1"]), 2)
        self.assertEqual(
            self.err.getvalue(),
            "swarm: discovery required to join a cluster. See 'swarm join --help'.\n",
        )

    def test_global_usage_error(self):
        """
        A usage error before any command points to the global help.
        """
        self.assertEqual(self.swarm(["--log-level", "loud", "list", URL]), 2)
        self.assertIn("invalid --log-level 'loud'", self.err.getvalue())
        self.assertEqual(self.swarm([]), 2)
        self.assertTrue(self.err.getvalue().endswith(". See 'swarm --help'.\n"))
        self.assertEqual(len(self.err.getvalue().splitlines()), 2)

    def test_create(self):
        """
        swarm create without a token service (no SWARM_TOKEN_URL) says how to
        run one, in one line, and exits 1.
        """
        self.assertEqual(self.swarm(["create"]), 1)
        self.assertTrue(self.err.getvalue().startswith(
            "swarm create: token discovery needs a token service"))
        self.assertEqual(len(self.err.getvalue().splitlines()), 1)
        self.assertEqual(self.twistd_calls, [])

    def test_list(self):
        """
        swarm list prints the entries, one a line, and exits 0; the
        discovery gets the timeout as heartbeat and the options.
        """
        argv = ["list", "--timeout", "2s", "--discovery-opt", "kv.path=p", URL]
        self.assertEqual(self.swarm(argv), 0)
        self.assertEqual(self.out.getvalue(), "127.0.0.1:2375\n127.0.0.1:2376\n")
        self.assertEqual(
            self.built,
            [(URL, {"heartbeat": 2.0, "options": (("kv.path", "p"),), "clock": self.clock})],
        )
        self.assertEqual(self.twistd_calls, [])

    def test_list_env(self):
        """
        swarm list reads SWARM_DISCOVERY.
        """
        self.assertEqual(self.swarm(["l"], {"SWARM_DISCOVERY": URL}), 0)
        self.assertEqual(self.built[0][0], URL)

    def test_list_failure(self):
        """
        A failed fetch gives status 1 and the message on stderr.
        """
        self.fetch_result = lambda: fail(DiscoveryError("failed to read '/x': no such file"))
        self.assertEqual(self.swarm(["list", URL]), 1)
        self.assertEqual(self.err.getvalue(), "swarm list: failed to read '/x': no such file\n")
        self.assertEqual(self.out.getvalue(), "")

    def test_list_timeout(self):
        """
        A fetch that does not answer within --timeout gives status 1.
        """
        self.fetch_result = Deferred
        self.assertEqual(self.swarm(["list", "--timeout", "5s", URL]), 1)
        self.assertIn("Timed out after 5s", self.err.getvalue())

    def test_list_discovery_refused(self):
        """
        A discovery that cannot be built gives status 1 and its message.
        """

        def refuse(url, **settings):
            raise DiscoveryError("file discovery needs an absolute path")

        self.discovery_for = refuse
        self.assertEqual(self.swarm(["list", URL]), 1)
        self.assertEqual(
            self.err.getvalue(), "swarm list: file discovery needs an absolute path\n"
        )

    def test_list_log_level(self):
        """
        swarm list applies --log-level (and --debug) before running.
        """
        self.swarm(["-l", "error", "list", URL])
        self.assertEqual(_log.get_level(), LogLevel.error)
        self.swarm(["--debug", "list", URL])
        self.assertEqual(_log.get_level(), LogLevel.debug)

    def test_help(self):
        """
        --help prints the usage and exits 0.
        """
        stdout = io.StringIO()
        self.patch(sys, "stdout", stdout)
        with self.assertRaises(SystemExit) as caught:
            self.swarm(["--help"])
        self.assertIn(caught.exception.code, (0, None))
        self.assertIn("manage", stdout.getvalue())


class ListNodesTests(SynchronousTestCase):
    """
    Tests for L{cli.list_nodes}.
    """

    def setUp(self):
        self.clock = Clock()
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.config = ListConfig(discovery=URL, timeout=10.0)

    def test_prints_entries(self):
        """
        The entries are printed one a line and the status is 0.
        """
        entries = ["127.0.0.1:2375", "127.0.0.1:2376", "unix:///run/docker.sock"]
        discovery = FakeDiscovery(succeed(entries))
        d = cli.list_nodes(self.config, discovery, self.clock, self.out, self.err)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(
            self.out.getvalue(), "127.0.0.1:2375\n127.0.0.1:2376\nunix:///run/docker.sock\n"
        )
        self.assertEqual(self.err.getvalue(), "")

    def test_empty(self):
        """
        An empty list prints nothing and succeeds.
        """
        d = cli.list_nodes(self.config, FakeDiscovery(succeed([])), self.clock, self.out, self.err)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(self.out.getvalue(), "")

    def test_failure(self):
        """
        A failed fetch writes its message to err and gives status 1.
        """
        d = cli.list_nodes(
            self.config,
            FakeDiscovery(fail(RuntimeError("cannot read /etc/cluster"))),
            self.clock,
            self.out,
            self.err,
        )
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(self.err.getvalue(), "swarm list: cannot read /etc/cluster\n")
        self.assertEqual(self.out.getvalue(), "")

    def test_raises(self):
        """
        A fetch that raises is a failure like any other.
        """

        class Broken:
            def fetch(self):
                raise ValueError("bad entry 'x'")

        d = cli.list_nodes(self.config, Broken(), self.clock, self.out, self.err)
        self.assertEqual(self.successResultOf(d), 1)
        self.assertIn("bad entry 'x'", self.err.getvalue())

    def test_output_error(self):
        """
        An error while printing (a closed pipe) is reported as status 1.
        """

        class ClosedPipe(io.StringIO):
            def write(self, text):
                raise BrokenPipeError(32, "Broken pipe")

        d = cli.list_nodes(
            self.config, FakeDiscovery(succeed(["h:1"])), self.clock, ClosedPipe(), self.err
        )
        self.assertEqual(self.successResultOf(d), 1)
        self.assertIn("Broken pipe", self.err.getvalue())

    def test_timeout(self):
        """
        A fetch still running after --timeout is cancelled and reported.
        """
        pending = Deferred()
        d = cli.list_nodes(self.config, FakeDiscovery(pending), self.clock, self.out, self.err)
        self.clock.advance(9.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(self.err.getvalue(), f"swarm list: Timed out after 10s reading {URL}\n")


class ListWithSharedFakeTests(SynchronousTestCase):
    """
    L{cli.list_nodes} against the project's
    L{swarmd.testing.fakediscovery.FakeDiscovery}.
    """

    def test_lists_entries(self):
        """
        The fake's entries are printed one a line.
        """
        from swarmd.testing.fakediscovery import FakeDiscovery as SharedFake

        clock = Clock()
        out, err = io.StringIO(), io.StringIO()
        discovery = SharedFake(["127.0.0.1:2375", "[::1]:2376"], clock=clock)
        d = cli.list_nodes(ListConfig(discovery=URL), discovery, clock, out, err)
        clock.advance(0)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(out.getvalue(), "127.0.0.1:2375\n[::1]:2376\n")


class ServerOptionsTests(SynchronousTestCase):
    """
    Tests for the twistd options C{swarm manage}/C{join} run with.
    """

    def test_swarm_without_plugin_scan(self):
        """
        twistd's options know the swarm command and its service maker
        without scanning twisted.plugins.
        """
        config = cli._server_options()
        config.parseOptions(["--nodaemon", "--pidfile=", "swarm", "manage", URL])
        self.assertEqual(config.subCommand, "swarm")
        self.assertIsInstance(config.subOptions, tap.Options)
        self.assertEqual(config.subOptions.subOptions.config, ManageConfig(discovery=URL))
        self.assertEqual(config["pidfile"], "")
        self.assertTrue(config["nodaemon"])
        maker = config.loadedPlugins["swarm"]
        self.assertEqual(maker.module, "swarmd.tap")

    def test_twistd_usage_error(self):
        """
        A usage error of twistd's own options is one line on stderr and
        status 2.
        """
        stderr = io.StringIO()
        self.patch(sys, "stderr", stderr)
        self.assertEqual(cli._twistd(["--no-such-flag", "swarm"]), 2)
        self.assertEqual(stderr.getvalue(), "swarm: option --no-such-flag not recognized\n")


class ConsoleScriptTests(SynchronousTestCase):
    """
    The console script run for real, in a child process.
    """

    def swarm(self, *args, timeout=120):
        directory = FilePath(self.mktemp())
        directory.makedirs()
        return subprocess.run(
            [sys.executable, "-m", "swarmd.cli", *args],
            capture_output=True,
            text=True,
            cwd=directory.path,
            env={**os.environ, "PYTHONPATH": ROOT.path},
            timeout=timeout,
        )

    def test_list(self):
        """
        swarm list prints just the entries and exits 0.
        """
        result = self.swarm("list", "nodes://127.0.0.1:[2375:2377],unix:///run/docker.sock")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout,
            "127.0.0.1:2375\n127.0.0.1:2376\n127.0.0.1:2377\nunix:///run/docker.sock\n",
        )

    def test_list_failure(self):
        """
        swarm list on an unreadable file exits 1 with the reason.
        """
        result = self.swarm("list", "file://" + FilePath(self.mktemp()).path)
        self.assertEqual(result.returncode, 1)
        self.assertIn("swarm list:", result.stderr)
        self.assertEqual(result.stdout, "")

    def test_usage_error(self):
        """
        A bad flag exits 2 with one line and no traceback.
        """
        result = self.swarm("manage", "--cluster-opt", "swarm.overcommit=-2", URL)
        self.assertEqual((result.returncode, result.stdout), (2, ""))
        self.assertEqual(
            result.stderr,
            "swarm: swarm.overcommit should be larger than -1, -2.000000 is invalid. "
            "See 'swarm manage --help'.\n",
        )

    def test_create(self):
        """
        swarm create without a token service exits 1 with one line.
        """
        result = self.swarm("create")
        self.assertEqual(result.returncode, 1)
        self.assertTrue(result.stderr.startswith(
            "swarm create: token discovery needs a token service"), result.stderr)

    def test_join_static_discovery(self):
        """
        swarm join on a static list runs twistd, reports that join cannot
        register there, and exits 1 without leaving a PID file.
        """
        result = self.swarm("join", "--advertise", "127.0.0.1:2375", "nodes://127.0.0.1:2375")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("swarm join cannot register 127.0.0.1:2375", result.stdout)
        self.assertNotIn("Traceback", result.stdout + result.stderr)

    def test_config_types(self):
        """
        The settings the console script parses are the tap's (sanity check of
        the shared parser).
        """
        options = tap.Options(environ={})
        options.parseOptions(["list", URL])
        self.assertIsInstance(options.subOptions.config, ListConfig)
