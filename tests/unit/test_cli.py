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
        A usage error is one line on stderr, a pointer to help, and status
        1; twistd does not run.
        """
        self.assertEqual(self.swarm(["manage", "--strategy", "fastest", URL]), 1)
        self.assertEqual(
            self.err.getvalue(),
            "swarm: strategy not supported: 'fastest' (options: spread, binpack, random)\n"
            "See 'swarm manage --help'.\n",
        )
        self.assertEqual(self.twistd_calls, [])

    def test_usage_error_with_pointer(self):
        """
        A message that already points to help is not given a second pointer.
        """
        self.assertEqual(self.swarm(["join", "--addr", "h:1"]), 1)
        self.assertEqual(
            self.err.getvalue(),
            "swarm: discovery required to join a cluster. See 'swarm join --help'.\n",
        )

    def test_global_usage_error(self):
        """
        A usage error before any command points to the global help.
        """
        self.assertEqual(self.swarm(["--log-level", "loud", "list", URL]), 1)
        self.assertIn("invalid --log-level 'loud'", self.err.getvalue())
        self.assertEqual(self.swarm([]), 1)
        self.assertIn("See 'swarm --help'.", self.err.getvalue())

    def test_create(self):
        """
        swarm create explains why it cannot work and exits 1.
        """
        self.assertEqual(self.swarm(["create"]), 1)
        self.assertEqual(self.err.getvalue(), tap.CREATE_REFUSAL + "\n")
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
        self.assertIn("timed out after 5s", self.err.getvalue())

    def test_list_discovery_refused(self):
        """
        A discovery that cannot be built gives status 1 and its message.
        """

        def refuse(url, **settings):
            raise DiscoveryError("file discovery needs an absolute path")

        self.discovery_for = refuse
        self.assertEqual(self.swarm(["list", URL]), 1)
        self.assertIn("swarm: file discovery needs an absolute path", self.err.getvalue())

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
        A twistd usage error prints the usage and gives status 1.
        """
        stdout = io.StringIO()
        self.patch(sys, "stdout", stdout)
        self.assertEqual(cli._twistd(["--no-such-flag", "swarm"]), 1)
        self.assertIn("swarm: option --no-such-flag not recognized", stdout.getvalue())


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
        A bad flag exits 1 with one line and no traceback.
        """
        result = self.swarm("manage", "--cluster-opt", "swarm.overcommit=-2", URL)
        self.assertEqual(result.returncode, 1)
        self.assertIn(
            "swarm: swarm.overcommit should be larger than -1, -2.000000 is invalid",
            result.stderr,
        )
        self.assertNotIn("Traceback", result.stderr + result.stdout)

    def test_create(self):
        """
        swarm create exits 1 with the refusal.
        """
        result = self.swarm("create")
        self.assertEqual((result.returncode, result.stderr), (1, tap.CREATE_REFUSAL + "\n"))

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
