"""
Tests for L{swarmd.tap}: the C{twistd swarm} command line.
"""

import io
import os
import subprocess
import sys

import attr
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python import usage
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

import swarmd
from swarmd import _log
from swarmd._checks import check_address, check_host
from swarmd._exit import USAGE_STATUS, ExitStatus
from swarmd._goflags import parse_bool
from swarmd.config import (
    DEFAULT_FILTERS,
    ClusterOptions,
    CreateConfig,
    JoinConfig,
    ListConfig,
    ManageConfig,
    TLSOptions,
)
from swarmd.tap import Options, makeService

ROOT = FilePath(__file__).parent().parent().parent()
URL = "nodes://127.0.0.1:2375,127.0.0.1:2376"


def _accept(url):
    """
    A discovery check that accepts every URL.
    """


def parse(args, environ=None, check_url=_accept):
    """
    Parse a C{swarm} command line with no environment variables unless given.

    @return: the parsed L{Options}.
    """
    options = Options(environ={} if environ is None else environ, check_url=check_url)
    options.parseOptions(args)
    return options


def config(args, environ=None):
    """
    @return: the settings object the command line builds.
    """
    return parse(args, environ).subOptions.config


class _ErrorMixin:
    def assertUsageError(self, args, expected, environ=None):
        """
        Parsing C{args} fails with a one-line L{usage.UsageError} containing
        C{expected}.
        """
        with self.assertRaises(usage.UsageError, msg=repr(args)) as caught:
            parse(args, environ)
        message = str(caught.exception)
        self.assertIn(expected, message, repr(args))
        self.assertNotIn("\n", message, repr(args))
        return message


class HelpersTests(SynchronousTestCase):
    """
    Tests for the value checks of L{swarmd.tap}.
    """

    def test_parse_bool(self):
        """
        parse_bool reads what Go's strconv.ParseBool reads, and nothing else.
        """
        for text in ("1", "t", "T", "TRUE", "true", "True"):
            self.assertIs(parse_bool(text), True, text)
        for text in ("0", "f", "F", "FALSE", "false", "False"):
            self.assertIs(parse_bool(text), False, text)
        for text in ("", "yes", "no", "on", "tRuE", " 1"):
            self.assertIsNone(parse_bool(text), text)

    def test_check_address(self):
        """
        check_address accepts host:port with a port of 1..65535 only.
        """
        for good in ("10.0.0.1:2375", "node-1.example.com:1", "[::1]:65535", "h_x:80"):
            self.assertTrue(check_address(good), good)
        for bad in (
            "10.0.0.1",
            "10.0.0.1:",
            ":2375",
            "h:0",
            "h:65536",
            "h:port",
            "h:-1",
            "a:b:1",
            "::1:2375",
            "[::1]2375",
            "tcp://h:1",
            "h/x:1",
            "",
        ):
            self.assertFalse(check_address(bad), bad)

    def test_check_host(self):
        """
        check_host accepts tcp://host:port and unix:///path, adding tcp:// to
        a bare host:port as classic Swarm does.
        """
        for given, expected in [
            ("tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375"),
            ("tcp://0.0.0.0:0", "tcp://0.0.0.0:0"),
            ("tcp://:4000", "tcp://:4000"),
            ("tcp://[::1]:4000", "tcp://[::1]:4000"),
            ("127.0.0.1:4000", "tcp://127.0.0.1:4000"),
            (":4000", "tcp://:4000"),
            ("unix:///var/run/swarm.sock", "unix:///var/run/swarm.sock"),
        ]:
            self.assertEqual(check_host(given), expected, given)

    def test_check_host_refused(self):
        """
        check_host refuses other schemes, missing or bad ports and relative
        unix paths with a UsageError naming the value.
        """
        for bad in (
            "http://127.0.0.1:2375",
            "fd://",
            "tcp://127.0.0.1",
            "tcp://127.0.0.1:99999",
            "tcp://127.0.0.1:x",
            "tcp://a:b:1",
            "unix://relative.sock",
            "unix://",
            "unix:///",
            "127.0.0.1",
        ):
            with self.assertRaises(usage.UsageError, msg=bad) as caught:
                check_host(bad)
            self.assertIn(repr(bad), str(caught.exception))


class GlobalOptionsTests(_ErrorMixin, SynchronousTestCase):
    """
    Tests for the global flags and the commands of L{Options}.
    """

    def test_command_aliases(self):
        """
        Each command has a one-letter alias and builds its settings type.
        """
        for name, alias, kind, args in [
            ("manage", "m", ManageConfig, [URL]),
            ("join", "j", JoinConfig, ["--advertise", "127.0.0.1:2375", URL]),
            ("list", "l", ListConfig, [URL]),
            ("create", "c", CreateConfig, []),
        ]:
            for spelling in (name, alias):
                options = parse([spelling, *args])
                self.assertEqual(options.subCommand, name)
                self.assertIsInstance(options.subOptions.config, kind)

    def test_defaults(self):
        """
        Without global flags: no debug, level info, not experimental.
        """
        for args in (["manage", URL], ["list", URL], ["create"]):
            settings = config(args)
            self.assertEqual((settings.debug, settings.log_level), (False, "info"))
        self.assertFalse(config(["manage", URL]).experimental)

    def test_debug(self):
        """
        --debug (also spelled -debug or --debug=true) turns debug on.
        """
        for flag in ("--debug", "-debug", "--debug=true", "--debug=1", "-debug=T"):
            self.assertTrue(config([flag, "list", URL]).debug, flag)

    def test_debug_env(self):
        """
        DEBUG turns debug on when it reads as true; --debug=false wins over it.
        """
        for value, expected in [
            ("1", True),
            ("true", True),
            ("T", True),
            ("0", False),
            ("false", False),
            ("yes", False),
            ("", False),
        ]:
            self.assertIs(config(["list", URL], {"DEBUG": value}).debug, expected, value)
        self.assertFalse(config(["--debug=false", "list", URL], {"DEBUG": "1"}).debug)

    def test_log_level(self):
        """
        --log-level and -l take every classic level, in any case.
        """
        for level in ("debug", "info", "warn", "warning", "error", "fatal", "panic"):
            self.assertEqual(config(["--log-level", level, "list", URL]).log_level, level)
            self.assertEqual(config(["-l", level.upper(), "list", URL]).log_level, level)
        self.assertEqual(config(["-l=error", "list", URL]).log_level, "error")
        self.assertEqual(config(["--log-level=warn", "create"]).log_level, "warn")

    def test_log_level_refused(self):
        """
        An unknown level is a usage error listing the levels.
        """
        message = self.assertUsageError(["-l", "verbose", "create"], "invalid --log-level")
        self.assertIn("debug, info, warn, error, fatal, panic", message)

    def test_experimental(self):
        """
        --experimental reaches the manage settings.
        """
        self.assertTrue(config(["--experimental", "manage", URL]).experimental)

    def test_no_command(self):
        """
        A command is required.
        """
        self.assertUsageError([], "no command given")
        self.assertUsageError(["--debug"], "no command given")

    def test_unknown_command(self):
        """
        An unknown command is refused.
        """
        self.assertUsageError(["deploy"], "Unknown command: deploy")

    def test_global_flag_after_command(self):
        """
        Global flags go before the command, as in classic Swarm.
        """
        self.assertUsageError(["list", "--debug", URL], "option --debug not recognized")

    def test_unknown_flags(self):
        """
        Unknown flags, and abbreviations Go would not accept, are refused.
        """
        self.assertUsageError(["--verbose", "create"], "option --verbose not recognized")
        self.assertUsageError(["--deb", "create"], "option --deb not recognized")
        self.assertUsageError(["-x", "create"], "option -x not recognized")

    def test_bad_boolean(self):
        """
        A boolean flag given a non-boolean value is refused.
        """
        self.assertUsageError(["--debug=maybe", "create"], "invalid boolean value 'maybe'")

    def _output(self, args):
        out = io.StringIO()
        self.patch(sys, "stdout", out)
        with self.assertRaises(SystemExit) as caught:
            parse(args)
        self.assertIn(caught.exception.code, (0, None))
        return out.getvalue()

    def test_version(self):
        """
        --version and -v print swarmd's version and exit 0.
        """
        for flag in ("--version", "-v"):
            self.assertIn(f"swarm version {swarmd.__version__}", self._output([flag]))

    def test_help(self):
        """
        --help and -h list every command with its alias.
        """
        for flag in ("--help", "-h"):
            text = self._output([flag])
            for name, alias in [
                ("manage", "m"),
                ("join", "j"),
                ("list", "l"),
                ("create", "c"),
                ("help", "h"),
            ]:
                self.assertIn(f"{name}", text)
                self.assertRegex(text, rf"\n +{name} +\({alias}\) ")
            self.assertIn("--log-level", text)

    def test_help_command(self):
        """
        The help command prints the commands, or one command's flags.
        """
        self.assertIn("join", self._output(["help"]))
        text = self._output(["help", "manage"])
        self.assertIn("--engine-refresh-min-interval", text)
        self.assertIn("Usage: swarm manage", text)
        self.assertIn("--timeout", self._output(["h", "l"]))
        self.assertIn("--engine-refresh-min-interval", self._output(["manage", "--help"]))

    def test_help_unknown_topic(self):
        """
        Help on an unknown command is a usage error.
        """
        self.assertUsageError(["help", "deploy"], "No help topic for 'deploy'")


#: Every flag of the reference, per command, each spelling.
REFERENCE_FLAGS = {
    "manage": [
        "strategy",
        "filter",
        "f",
        "host",
        "H",
        "replication",
        "replication-ttl",
        "advertise",
        "addr",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "engine-refresh-min-interval",
        "engine-refresh-max-interval",
        "engine-failure-retry",
        "engine-refresh-retry",
        "heartbeat",
        "api-enable-cors",
        "cors",
        "cluster-driver",
        "c",
        "cluster-opt",
        "discovery-opt",
        "refresh-on-node-filter",
        "container-name-refresh-filter",
        "help",
        "h",
    ],
    "join": ["advertise", "addr", "heartbeat", "ttl", "delay", "discovery-opt", "help", "h"],
    "list": ["timeout", "discovery-opt", "help", "h"],
    "create": ["help", "h"],
}


class ReferenceTests(SynchronousTestCase):
    """
    Every flag of classic Swarm's reference is known.
    """

    def test_every_flag(self):
        """
        Each command knows every flag spelling of the reference.
        """
        top = Options(environ={}, check_url=_accept)
        for name, flags in REFERENCE_FLAGS.items():
            factory = [c for c in top.subCommands if c[0] == name][0][2]
            options = factory()
            for flag in flags:
                known = set(options.synonyms) | set(options._aliases)
                self.assertIn(flag, known, f"{name} --{flag}")

    def test_global_flags(self):
        """
        The global level knows --debug, --log-level/-l, --experimental,
        --help/-h and --version/-v.
        """
        top = Options(environ={}, check_url=_accept)
        for flag in ("debug", "log-level", "l", "experimental", "help", "h", "version", "v"):
            self.assertIn(flag, top.synonyms, flag)


#: (flags, changes to ManageConfig(discovery=URL)) for swarm manage.
MANAGE_FLAGS = [
    ([], {}),
    (["--strategy", "spread"], {}),
    (["--strategy", "binpack"], {"strategy": "binpack"}),
    (["--strategy=binpacking"], {"strategy": "binpack"}),
    (["-strategy", "random"], {"strategy": "random"}),
    (["-f", "health"], {"filters": ("health",)}),
    (
        ["-f", "constraint", "--filter", "affinity", "-f=port"],
        {"filters": ("constraint", "affinity", "port")},
    ),
    (["-fdependency"], {"filters": ("dependency",)}),
    (["-H", "tcp://0.0.0.0:4000"], {"hosts": ("tcp://0.0.0.0:4000",)}),
    (
        ["--host", "tcp://127.0.0.1:4000", "-H", "unix:///run/swarm.sock"],
        {"hosts": ("tcp://127.0.0.1:4000", "unix:///run/swarm.sock")},
    ),
    (["-H=127.0.0.1:4000"], {"hosts": ("tcp://127.0.0.1:4000",)}),
    (["-Htcp://[::1]:4000"], {"hosts": ("tcp://[::1]:4000",)}),
    (["--advertise", "10.0.0.1:4000"], {"advertise": "10.0.0.1:4000"}),
    (["--addr=manager-1:3376"], {"advertise": "manager-1:3376"}),
    (["--replication=false"], {}),
    (["--replication-ttl", "30s"], {"replication_ttl": 30.0}),
    (["--replication-ttl", "1m"], {"replication_ttl": 60.0}),
    (
        ["--engine-refresh-min-interval", "10s", "--engine-refresh-max-interval", "10s"],
        {"engine_refresh_min_interval": 10.0, "engine_refresh_max_interval": 10.0},
    ),
    (["--engine-refresh-min-interval", "5"], {"engine_refresh_min_interval": 5.0}),
    (["--engine-refresh-max-interval=2m"], {"engine_refresh_max_interval": 120.0}),
    (["--engine-refresh-min-interval", "500ms"], {"engine_refresh_min_interval": 0.5}),
    (["--engine-failure-retry", "5"], {"engine_failure_retry": 5}),
    (["--engine-failure-retry", "1"], {"engine_failure_retry": 1}),
    (["--engine-refresh-retry", "3"], {}),
    (["--engine-relist-interval", "5m"], {"engine_relist_interval": 300.0}),
    (["--engine-relist-interval=0"], {"engine_relist_interval": 0.0}),
    (["--heartbeat", "1s"], {"heartbeat": 1.0}),
    (["--heartbeat", "90"], {"heartbeat": 90.0}),
    (["--api-enable-cors"], {"cors": True}),
    (["--cors"], {"cors": True}),
    (["-cors=true"], {"cors": True}),
    (["--cors=false"], {}),
    (["--cors", "--cors=false"], {}),
    (["--cors=false", "--api-enable-cors"], {"cors": True}),
    (["--tls=false"], {}),
    (["-c", "swarm"], {}),
    (["--cluster-driver=swarm"], {}),
    (["--cluster-opt", "swarm.overcommit=0.1"], {"cluster_opts": ClusterOptions(overcommit=0.1)}),
    (["--cluster-opt", "swarm.overcommit=0"], {"cluster_opts": ClusterOptions(overcommit=0.0)}),
    (["--cluster-opt", "swarm.overcommit=-0.5"], {"cluster_opts": ClusterOptions(overcommit=-0.5)}),
    (
        ["--cluster-opt", "swarm.createretry=2", "--cluster-opt", "swarm.overcommit=1"],
        {"cluster_opts": ClusterOptions(overcommit=1.0, create_retry=2)},
    ),
    (["--cluster-opt=swarm.createretry=0"], {"cluster_opts": ClusterOptions(create_retry=0)}),
    (
        ["--discovery-opt", "kv.path=a/b", "--discovery-opt", "kv.certfile=/x.pem"],
        {"discovery_opts": (("kv.path", "a/b"), ("kv.certfile", "/x.pem"))},
    ),
    (["--discovery-opt", "kv.path=a=b"], {"discovery_opts": (("kv.path", "a=b"),)}),
    (["--discovery-opt", "kv.path="], {"discovery_opts": (("kv.path", ""),)}),
    (["--refresh-on-node-filter"], {"refresh_on_node_filter": True}),
    (
        ["--container-name-refresh-filter", "swarm-agent"],
        {"container_name_refresh_filter": "swarm-agent"},
    ),
]

#: (flags, environment, expected message) for swarm manage.
MANAGE_ERRORS = [
    ([], {}, "discovery required to manage a cluster. See 'swarm manage --help'."),
    ([URL, "nodes://other:1"], {}, "too many arguments"),
    ([URL, "--strategy", "fastest"], {}, "strategy not supported: 'fastest'"),
    ([URL, "--strategy", "Spread"], {}, "strategy not supported: 'Spread'"),
    ([URL, "-f", "memory"], {}, "filter not supported: 'memory'"),
    ([URL, "-f", "health,port"], {}, "filter not supported: 'health,port'"),
    ([URL, "-H", "http://127.0.0.1:2375"], {}, "invalid --host 'http://127.0.0.1:2375'"),
    ([URL, "-H", "tcp://127.0.0.1"], {}, "invalid --host"),
    ([URL, "-H", "tcp://127.0.0.1:70000"], {}, "invalid --host"),
    ([URL, "-H", "unix://swarm.sock"], {}, "absolute path"),
    ([URL], {"SWARM_HOST": "ssh://h"}, "invalid --host 'ssh://h'"),
    (
        [URL, "--advertise", "manager"],
        {},
        "--advertise should be of the form ip:port or hostname:port",
    ),
    ([URL, "--addr", "h:0"], {}, "--advertise should be of the form"),
    ([URL, "--addr", "h:65536"], {}, "--advertise should be of the form"),
    ([URL], {"SWARM_ADVERTISE": "nope"}, "--advertise should be of the form"),
    (
        [URL, "--replication"],
        {},
        "--advertise address must be provided when using --leader-election",
    ),
    ([URL, "--replication", "--addr", "h:1"], {}, "Leader election is only supported with"),
    (
        ["etcd://127.0.0.1:2379/swarm", "--replication", "--addr", "h:1",
         "--discovery-opt", "etcd.api=v2"],
        {},
        "Leader election needs etcd's v3 API",
    ),
    (
        ["consul://127.0.0.1:8500/swarm", "--replication", "--addr", "h:1",
         "--replication-ttl", "5s"],
        {},
        "--replication-ttl should be at least 10s with consul discovery",
    ),
    ([URL, "--replication-ttl", "0"], {}, "--replication-ttl should be a positive"),
    ([URL, "--replication-ttl", "20"], {}, None),
    ([URL, "--replication-ttl", "soon"], {}, "invalid --replication-ttl"),
    (
        [URL, "--engine-refresh-min-interval", "0"],
        {},
        "min refresh interval should be a positive number",
    ),
    (
        [URL, "--engine-refresh-min-interval", "-1s"],
        {},
        "min refresh interval should be a positive number",
    ),
    (
        [URL, "--engine-refresh-min-interval", "90s"],
        {},
        "max refresh interval cannot be less than min refresh interval",
    ),
    (
        [URL, "--engine-refresh-min-interval", "60s", "--engine-refresh-max-interval", "59s"],
        {},
        "max refresh interval cannot be less than min refresh interval",
    ),
    ([URL, "--engine-refresh-min-interval", "abc"], {}, "invalid --engine-refresh-min-interval"),
    ([URL, "--engine-refresh-max-interval", "1y"], {}, "invalid --engine-refresh-max-interval"),
    (
        [URL, "--engine-refresh-retry", "4"],
        {},
        "--engine-refresh-retry is deprecated. Use --engine-failure-retry",
    ),
    (
        [URL, "--engine-refresh-retry", "0"],
        {},
        "--engine-refresh-retry is deprecated. Use --engine-failure-retry",
    ),
    ([URL, "--engine-refresh-retry", "x"], {}, "invalid --engine-refresh-retry 'x'"),
    ([URL, "--engine-failure-retry", "0"], {}, "invalid failure retry count"),
    ([URL, "--engine-failure-retry", "-1"], {}, "invalid failure retry count"),
    ([URL, "--engine-failure-retry", "2.5"], {}, "invalid --engine-failure-retry '2.5'"),
    ([URL, "--engine-relist-interval", "-1s"], {}, "--engine-relist-interval can not be negative"),
    ([URL, "--engine-relist-interval", "often"], {}, "invalid --engine-relist-interval"),
    ([URL, "--heartbeat", "500ms"], {}, "--heartbeat should be at least one second"),
    ([URL, "--heartbeat", "0"], {}, "--heartbeat should be at least one second"),
    ([URL, "--heartbeat", "often"], {}, "invalid --heartbeat"),
    ([URL, "-c", "mesos-experimental"], {}, 'unsupported cluster "mesos-experimental"'),
    ([URL, "--cluster-driver", "kubernetes"], {}, 'unsupported cluster "kubernetes"'),
    (
        [URL, "--cluster-opt", "swarm.overcommit"],
        {},
        "--cluster-opt must contain key=value strings",
    ),
    ([URL, "--cluster-opt", "=1"], {}, "--cluster-opt must contain key=value strings"),
    (
        [URL, "--cluster-opt", "swarm.overcommit=-1"],
        {},
        "swarm.overcommit should be larger than -1, -1.000000 is invalid",
    ),
    (
        [URL, "--cluster-opt", "swarm.overcommit=-2"],
        {},
        "swarm.overcommit should be larger than -1, -2.000000 is invalid",
    ),
    ([URL, "--cluster-opt", "swarm.overcommit=lots"], {}, "invalid swarm.overcommit 'lots'"),
    ([URL, "--cluster-opt", "swarm.overcommit=nan"], {}, "invalid swarm.overcommit 'nan'"),
    ([URL, "--cluster-opt", "swarm.overcommit=inf"], {}, "invalid swarm.overcommit 'inf'"),
    (
        [URL, "--cluster-opt", "swarm.createretry=-1"],
        {},
        "swarm.createretry can not be negative, -1 is invalid",
    ),
    ([URL, "--cluster-opt", "swarm.createretry=1.5"], {}, "invalid swarm.createretry '1.5'"),
    (
        [URL, "--cluster-opt", "swarm.refreshminperiod=1s"],
        {},
        "unknown --cluster-opt 'swarm.refreshminperiod'",
    ),
    ([URL, "--cluster-opt", "mesos.address=1.2.3.4"], {}, "unknown --cluster-opt 'mesos.address'"),
    (
        [URL, "--cluster-opt", "swarm.createretry=1", "--cluster-opt", "swarm.createretry=2"],
        {},
        "--cluster-opt swarm.createretry given more than once",
    ),
    ([URL, "--discovery-opt", "kv.path"], {}, "--discovery-opt must contain key=value strings"),
    ([URL, "--tls"], {}, "--tlscert and --tlskey must be provided when using --tls"),
    ([URL, "--tlsverify"], {}, "--tlscert and --tlskey must be provided when using --tls"),
    (
        [URL, "--tls", "--tlscert", "c.pem"],
        {},
        "--tlscert and --tlskey must be provided when using --tls",
    ),
    (
        [URL, "--tlscert", "c.pem", "--tlskey", "k.pem"],
        {},
        "require the use of either --tls or --tlsverify",
    ),
    ([URL, "--tlscacert", "ca.pem"], {}, "require the use of either --tls or --tlsverify"),
    ([URL, "--tls=maybe"], {}, "invalid boolean value 'maybe' for --tls"),
    ([URL, "--strat", "binpack"], {}, "option --strat not recognized"),
    ([URL, "--timeout", "1s"], {}, "option --timeout not recognized"),
    ([URL, "--strategy"], {}, "requires argument"),
    ([URL, "-Z"], {}, "option -Z not recognized"),
]


class ManageOptionsTests(_ErrorMixin, SynchronousTestCase):
    """
    Tests for C{swarm manage}.
    """

    def test_defaults(self):
        """
        With only a discovery, every setting is classic Swarm's default.
        """
        self.assertEqual(config(["manage", URL]), ManageConfig(discovery=URL))
        settings = config(["manage", URL])
        self.assertEqual(settings.hosts, ("tcp://127.0.0.1:2375",))
        self.assertEqual(settings.filters, DEFAULT_FILTERS)
        self.assertEqual(
            (
                settings.strategy,
                settings.replication_ttl,
                settings.engine_refresh_min_interval,
                settings.engine_refresh_max_interval,
                settings.engine_failure_retry,
                settings.heartbeat,
                settings.cluster_driver,
                settings.cluster_opts,
            ),
            ("spread", 20.0, 30.0, 60.0, 3, 60.0, "swarm", ClusterOptions(overcommit=0.05)),
        )

    def test_replication(self):
        """
        --replication with --advertise on a store-backed discovery is accepted.
        """
        for url in ("etcd://127.0.0.1:2379/swarm", "zk://127.0.0.1:2181/swarm",
                    "consul://127.0.0.1:8500/swarm"):
            settings = config(["manage", url, "--replication", "--advertise", "10.0.0.1:3376",
                               "--replication-ttl", "15s"])
            self.assertEqual((settings.replication, settings.advertise, settings.replication_ttl),
                             (True, "10.0.0.1:3376", 15.0))

    def test_flags(self):
        """
        Every flag, alias and spelling lands in ManageConfig, whether it comes
        before or after the discovery argument.
        """
        for flags, changes in MANAGE_FLAGS:
            expected = attr.evolve(ManageConfig(discovery=URL), **changes)
            self.assertEqual(config(["manage", *flags, URL]), expected, flags)
            self.assertEqual(config(["manage", URL, *flags]), expected, flags)

    def test_errors(self):
        """
        Every classic check fails with its one-line usage error.
        """
        for args, environ, expected in MANAGE_ERRORS:
            if expected is None:
                parse(["manage", *args], environ)
            else:
                self.assertUsageError(["manage", *args], expected, environ)

    def test_registered_filter_accepted(self):
        """
        -f accepts a filter registered with the scheduler, not only the defaults.
        """
        from swarmd.scheduler import registry

        self.patch(registry, "_FILTERS", dict(registry._FILTERS))
        registry.register_filter("gpu", object)
        self.assertEqual(config(["manage", "-f", "gpu", "-f", "health", URL]).filters,
                         ("gpu", "health"))
        self.assertUsageError(["manage", "-f", "gpus", URL], "filter not supported: 'gpus'")

    def test_registered_strategy_accepted(self):
        """
        --strategy is checked against the scheduler's strategy registry, as -f
        is against its filters: a registered strategy is accepted, an unknown
        one refused with the registry's names.
        """
        from swarmd.scheduler import registry

        self.patch(registry, "_STRATEGIES", dict(registry._STRATEGIES))
        registry.register_strategy("pack-gpus", object)
        self.assertEqual(config(["manage", "--strategy", "pack-gpus", URL]).strategy, "pack-gpus")
        self.assertEqual(config(["manage", "--strategy", "binpacking", URL]).strategy, "binpack")
        self.assertUsageError(
            ["manage", "--strategy", "fastest", URL],
            "strategy not supported: 'fastest' (options: spread, binpack, random, pack-gpus)",
        )

    def test_unknown_filter_lists_registry(self):
        """
        An unknown -f name is a usage error listing the registry's filters.
        """
        from swarmd.scheduler import filter_names

        self.assertUsageError(["manage", "-f", "memory", URL],
                              "(options: %s)" % (", ".join(filter_names()),))

    def test_double_dash(self):
        """
        After --, arguments are not flags.
        """
        self.assertEqual(config(["manage", "--", URL]).discovery, URL)
        self.assertUsageError(["manage", "--", URL, "--cors"], "too many arguments")

    def test_discovery_env(self):
        """
        SWARM_DISCOVERY gives the discovery when no argument does; an
        argument wins.
        """
        self.assertEqual(config(["manage"], {"SWARM_DISCOVERY": URL}).discovery, URL)
        self.assertEqual(
            config(["manage", "nodes://h:1"], {"SWARM_DISCOVERY": URL}).discovery, "nodes://h:1"
        )

    def test_host_env(self):
        """
        SWARM_HOST gives comma-separated hosts; -H replaces them.
        """
        environ = {"SWARM_HOST": "tcp://127.0.0.1:4000, unix:///run/s.sock,"}
        self.assertEqual(
            config(["manage", URL], environ).hosts,
            ("tcp://127.0.0.1:4000", "unix:///run/s.sock"),
        )
        self.assertEqual(
            config(["manage", "-H", "tcp://127.0.0.1:5000", URL], environ).hosts,
            ("tcp://127.0.0.1:5000",),
        )
        self.assertEqual(
            config(["manage", URL], {"SWARM_HOST": ""}).hosts, ("tcp://127.0.0.1:2375",)
        )

    def test_advertise_env(self):
        """
        SWARM_ADVERTISE gives --advertise; the flag wins.
        """
        environ = {"SWARM_ADVERTISE": "10.0.0.1:3376"}
        self.assertEqual(config(["manage", URL], environ).advertise, "10.0.0.1:3376")
        self.assertEqual(
            config(["manage", "--addr", "10.0.0.2:3376", URL], environ).advertise,
            "10.0.0.2:3376",
        )

    def test_debug_env(self):
        """
        DEBUG reaches ManageConfig.debug without a parent Options too.
        """
        from swarmd.tap import ManageOptions

        options = ManageOptions(environ={"DEBUG": "true"}, check_url=_accept)
        options.parseOptions([URL])
        self.assertTrue(options.config.debug)
        self.assertEqual(options.config.log_level, "info")

    def _pem_files(self):
        directory = FilePath(self.mktemp())
        directory.makedirs()
        paths = []
        for name in ("ca.pem", "cert.pem", "key.pem"):
            child = directory.child(name)
            child.setContent(b"-----BEGIN NOTHING-----\n")
            paths.append(child.path)
        return paths

    def test_tls(self):
        """
        --tls with a certificate and key, and --tlsverify with a CA too, build
        TLSOptions; --tlsverify implies --tls.
        """
        ca, cert, key = self._pem_files()
        settings = config(["manage", "--tls", "--tlscert", cert, "--tlskey", key, URL])
        self.assertEqual(
            settings.tls, TLSOptions(tls=True, verify=False, cacert=None, cert=cert, key=key)
        )
        settings = config(
            [
                "manage",
                "--tlsverify=true",
                "--tlscacert",
                ca,
                "--tlscert",
                cert,
                "--tlskey",
                key,
                URL,
            ]
        )
        self.assertEqual(
            settings.tls, TLSOptions(tls=True, verify=True, cacert=ca, cert=cert, key=key)
        )
        self.assertTrue(settings.tls.enabled)
        settings = config(
            ["manage", "--tls", "--tlscacert", ca, "--tlscert", cert, "--tlskey", key, URL]
        )
        self.assertEqual((settings.tls.verify, settings.tls.cacert), (False, ca))

    def test_tls_unreadable(self):
        """
        A TLS file that cannot be read is a usage error naming it, in
        classic Swarm's words (Go's "open PATH: REASON" inside).
        """
        ca, cert, key = self._pem_files()
        missing = cert + ".missing"
        self.assertUsageError(
            ["manage", "--tls", "--tlscert", missing, "--tlskey", key, URL],
            f"Couldn't load X509 key pair ({missing}, {key}): open {missing}: "
            "no such file or directory. Key encrypted? (--tlscert)",
        )
        self.assertUsageError(
            [
                "manage",
                "--tlsverify",
                "--tlscacert",
                missing,
                "--tlscert",
                cert,
                "--tlskey",
                key,
                URL,
            ],
            f"Couldn't read CA certificate: open {missing}: no such file or directory",
        )

    def test_negative_overcommit_warns(self):
        """
        -1 < swarm.overcommit < 0 is accepted with a warning, as classic Swarm.
        """
        events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        config(["manage", "--cluster-opt", "swarm.overcommit=-0.25", URL])
        warnings = [e for e in events if e.get("log_level") == LogLevel.warn]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(warnings[0]["overcommit"], -0.25)
        self.assertIn("less resource", warnings[0]["log_format"])

    def test_discovery_checked(self):
        """
        The discovery URL goes through the discovery check; its refusal is the
        usage error.
        """
        seen = []

        def check(url):
            seen.append(url)
            if url.startswith("token://"):
                raise usage.UsageError("token discovery is not supported yet")

        options = Options(environ={}, check_url=check)
        options.parseOptions(["manage", URL])
        self.assertEqual(seen, [URL])
        with self.assertRaises(usage.UsageError) as caught:
            Options(environ={}, check_url=check).parseOptions(["manage", "token://abc"])
        self.assertEqual(str(caught.exception), "token discovery is not supported yet")

    def test_real_discovery_check(self):
        """
        By default the URL is checked by swarmd.discovery.check_url, whose
        DiscoveryError becomes the usage error.
        """
        from swarmd.discovery import DiscoveryError, check_url

        with self.assertRaises(DiscoveryError) as caught:
            check_url("bogus://x")
        options = Options(environ={})
        options.parseOptions(["manage", URL])
        self.assertEqual(options.subOptions.config.discovery, URL)
        with self.assertRaises(usage.UsageError) as refused:
            Options(environ={}).parseOptions(["manage", "bogus://x"])
        self.assertEqual(str(refused.exception), str(caught.exception))


#: (flags, changes to JoinConfig(discovery=URL, advertise=ADVERTISE)).
ADVERTISE = "10.0.0.5:2375"
JOIN_FLAGS = [
    ([], {}),
    (["--heartbeat", "10s", "--ttl", "11s"], {"heartbeat": 10.0, "ttl": 11.0}),
    (["--heartbeat", "1s"], {"heartbeat": 1.0}),
    (["--ttl", "181"], {"ttl": 181.0}),
    (["--ttl=61s"], {"ttl": 61.0}),
    (["--delay", "5s"], {"delay": 5.0}),
    (["-delay=1m"], {"delay": 60.0}),
    (["--delay", "0"], {}),
    (["--discovery-opt", "kv.path=nodes"], {"discovery_opts": (("kv.path", "nodes"),)}),
]

JOIN_ERRORS = [
    ([], {}, "discovery required to join a cluster. See 'swarm join --help'."),
    ([URL], {}, "missing mandatory --advertise flag"),
    ([URL, "--advertise", ""], {}, "missing mandatory --advertise flag"),
    (
        [URL, "--advertise", "10.0.0.5"],
        {},
        "--advertise should be of the form ip:port or hostname:port",
    ),
    ([URL, "--addr", "10.0.0.5:0"], {}, "--advertise should be of the form"),
    ([URL, "--addr", "10.0.0.5:65536"], {}, "--advertise should be of the form"),
    ([URL, "--addr", "tcp://10.0.0.5:2375"], {}, "--advertise should be of the form"),
    ([URL], {"SWARM_ADVERTISE": "nope"}, "--advertise should be of the form"),
    ([URL, "--addr", ADVERTISE, "--delay", "-30s"], {}, "--delay should not be a negative number"),
    ([URL, "--addr", ADVERTISE, "--delay", "asdf"], {}, "invalid --delay"),
    ([URL, "--addr", ADVERTISE, "--heartbeat", "asdf"], {}, "invalid --heartbeat"),
    (
        [URL, "--addr", ADVERTISE, "--heartbeat", "-10s"],
        {},
        "--heartbeat should be at least one second",
    ),
    (
        [URL, "--addr", ADVERTISE, "--heartbeat", "999ms"],
        {},
        "--heartbeat should be at least one second",
    ),
    ([URL, "--addr", ADVERTISE, "--ttl", "asdf"], {}, "invalid --ttl"),
    (
        [URL, "--addr", ADVERTISE, "--ttl", "-10s"],
        {},
        "--ttl must be strictly superior to the heartbeat value",
    ),
    (
        [URL, "--addr", ADVERTISE, "--ttl", "60s"],
        {},
        "--ttl must be strictly superior to the heartbeat value",
    ),
    (
        [URL, "--addr", ADVERTISE, "--heartbeat", "2s", "--ttl", "1s"],
        {},
        "--ttl must be strictly superior to the heartbeat value",
    ),
    (
        [URL, "--addr", ADVERTISE, "--discovery-opt", "x"],
        {},
        "--discovery-opt must contain key=value",
    ),
    ([URL, "--addr", ADVERTISE, "--strategy", "spread"], {}, "option --strategy not recognized"),
    ([URL, URL, "--addr", ADVERTISE], {}, "too many arguments"),
]


#: Command lines and the message classic Swarm 1.2.9's cli/ gives for each
#: (as listed in the project's reference of its flags); swarmd's message
#: must start with it, so scripts and operators grepping for it still match.
CLASSIC_MESSAGES = [
    (["create", "x"], "the `create` command takes no arguments. See 'swarm create --help'."),
    (
        ["join", "--addr", ADVERTISE],
        "discovery required to join a cluster. See 'swarm join --help'.",
    ),
    (["join", URL], "missing mandatory --advertise flag"),
    (["join", "--addr", "h", URL], "--advertise should be of the form ip:port or hostname:port"),
    (["join", "--addr", ADVERTISE, "--delay", "x", URL], "invalid --delay: "),
    (
        ["join", "--addr", ADVERTISE, "--delay", "-1s", URL],
        "--delay should not be a negative number",
    ),
    (["join", "--addr", ADVERTISE, "--heartbeat", "x", URL], "invalid --heartbeat: "),
    (
        ["join", "--addr", ADVERTISE, "--heartbeat", "500ms", URL],
        "--heartbeat should be at least one second",
    ),
    (["join", "--addr", ADVERTISE, "--ttl", "x", URL], "invalid --ttl: "),
    (
        ["join", "--addr", ADVERTISE, "--ttl", "60s", URL],
        "--ttl must be strictly superior to the heartbeat value",
    ),
    (["list"], "discovery required to list a cluster. See 'swarm list --help'."),
    (["list", "--timeout", "x", URL], "invalid --timeout: "),
    (["list", "--timeout", "0s", URL], "--timeout should be a positive number"),
    (["manage", URL, "--heartbeat", "x"], "invalid --heartbeat: "),
    (["manage", URL, "--heartbeat", "0s"], "--heartbeat should be at least one second"),
    (["manage", URL, "--discovery-opt", "x"], "--discovery-opt must contain key=value strings"),
    (
        ["manage", URL, "--replication", "--addr", ADVERTISE],
        "Leader election is only supported with consul, etcd and zookeeper discovery.",
    ),
    (["manage", URL, "--tls"], "--tlscert and --tlskey must be provided when using --tls"),
    (
        ["manage", URL, "--tlsverify", "--tlscert", "c", "--tlskey", "k"],
        "--tlscacert must be provided when using --tlsverify",
    ),
    (
        ["manage", URL, "--tlscert", "c"],
        "--tlscert, --tlskey and --tlscacert require the use of either --tls or --tlsverify",
    ),
    (
        ["manage", URL, "--tls", "--tlscert", "/nonexistent/c", "--tlskey", "/nonexistent/k"],
        "Couldn't load X509 key pair (/nonexistent/c, /nonexistent/k): ",
    ),
    (["manage", URL, "--engine-refresh-min-interval", "0s"],
     "min refresh interval should be a positive number"),
    (
        ["manage", URL, "--engine-refresh-max-interval", "10s"],
        "max refresh interval cannot be less than min refresh interval",
    ),
    (
        ["manage", URL, "--engine-refresh-retry", "2"],
        "--engine-refresh-retry is deprecated. Use --engine-failure-retry",
    ),
    (["manage", URL, "--engine-failure-retry", "0"], "invalid failure retry count"),
    (["manage"], "discovery required to manage a cluster. See 'swarm manage --help'."),
    (["manage", URL, "-c", "mesos"], 'unsupported cluster "mesos"'),
    (
        ["manage", URL, "--replication"],
        "--advertise address must be provided when using --leader-election",
    ),
    (
        ["manage", URL, "--advertise", "h"],
        "--advertise should be of the form ip:port or hostname:port",
    ),
    (["manage", URL, "--replication-ttl", "x"], "invalid --replication-ttl: "),
    (["manage", URL, "--replication-ttl", "0s"], "--replication-ttl should be a positive number"),
    (["manage", URL, "--strategy", "fast"], "strategy not supported"),
    (["manage", URL, "-f", "memory"], "filter not supported"),
]


class ClassicMessagesTests(SynchronousTestCase):
    """
    Flag errors worded as classic Swarm's, which scripts and operators grep
    for; swarmd's own detail, where it adds some, comes after.
    """

    def test_classic_first(self):
        """
        Each usage error starts with classic Swarm 1.2.9's message for the
        same mistake.
        """
        for args, classic in CLASSIC_MESSAGES:
            with self.assertRaises(usage.UsageError, msg=repr(args)) as caught:
                parse(args)
            message = str(caught.exception)
            self.assertTrue(message.startswith(classic), f"{args!r}: {message!r}")
            self.assertNotIn("\n", message)

    def test_detail_after(self):
        """
        Where swarmd adds something (the value given), it follows the classic
        text.
        """
        for args, message in [
            (
                ["manage", URL, "--engine-refresh-min-interval", "0s"],
                "min refresh interval should be a positive number "
                "(--engine-refresh-min-interval 0s)",
            ),
            (
                ["manage", URL, "--engine-refresh-min-interval", "20s",
                 "--engine-refresh-max-interval", "10s"],
                "max refresh interval cannot be less than min refresh interval "
                "(--engine-refresh-max-interval 10s, --engine-refresh-min-interval 20s)",
            ),
            (["list", "--timeout", "-1s", URL], "--timeout should be a positive number (got -1s)"),
            (
                ["manage", URL, "--heartbeat", "500ms"],
                "--heartbeat should be at least one second (got 500ms)",
            ),
        ]:
            with self.assertRaises(usage.UsageError) as caught:
                parse(args)
            self.assertEqual(str(caught.exception), message)


class JoinOptionsTests(_ErrorMixin, SynchronousTestCase):
    """
    Tests for C{swarm join}.
    """

    def test_defaults(self):
        """
        With a discovery and --advertise, the rest is classic Swarm's
        defaults: heartbeat 60s, ttl 180s, no delay.
        """
        settings = config(["join", "--advertise", ADVERTISE, URL])
        self.assertEqual(settings, JoinConfig(discovery=URL, advertise=ADVERTISE))
        self.assertEqual((settings.heartbeat, settings.ttl, settings.delay), (60.0, 180.0, 0.0))

    def test_flags(self):
        """
        Every join flag lands in JoinConfig, before or after the discovery.
        """
        for flags, changes in JOIN_FLAGS:
            expected = attr.evolve(JoinConfig(discovery=URL, advertise=ADVERTISE), **changes)
            self.assertEqual(config(["join", "--addr", ADVERTISE, *flags, URL]), expected, flags)
            self.assertEqual(config(["j", URL, *flags, "--advertise", ADVERTISE]), expected, flags)

    def test_advertise_forms(self):
        """
        --advertise takes IPv4, hostnames and [IPv6] with a port.
        """
        for address in ("10.0.0.5:2375", "node-1.lan:2376", "[fe80::1]:2375", "h:65535"):
            self.assertEqual(config(["join", "--addr", address, URL]).advertise, address)

    def test_env(self):
        """
        SWARM_ADVERTISE and SWARM_DISCOVERY fill in for the flag and the
        argument; the command line wins; DEBUG turns debug on.
        """
        environ = {"SWARM_ADVERTISE": ADVERTISE, "SWARM_DISCOVERY": URL, "DEBUG": "1"}
        settings = config(["join"], environ)
        self.assertEqual(
            (settings.advertise, settings.discovery, settings.debug), (ADVERTISE, URL, True)
        )
        settings = config(["join", "--addr", "h:1", "nodes://x:1"], environ)
        self.assertEqual((settings.advertise, settings.discovery), ("h:1", "nodes://x:1"))

    def test_errors(self):
        """
        Every classic join check fails with its one-line usage error.
        """
        for args, environ, expected in JOIN_ERRORS:
            self.assertUsageError(["join", *args], expected, environ)


class ListOptionsTests(_ErrorMixin, SynchronousTestCase):
    """
    Tests for C{swarm list}.
    """

    def test_defaults(self):
        """
        The timeout defaults to 10s.
        """
        self.assertEqual(config(["list", URL]), ListConfig(discovery=URL, timeout=10.0))

    def test_flags(self):
        """
        --timeout and --discovery-opt land in ListConfig, before or after the
        discovery; SWARM_DISCOVERY stands in for the argument.
        """
        for flags, changes in [
            (["--timeout", "3s"], {"timeout": 3.0}),
            (["--timeout=500ms"], {"timeout": 0.5}),
            (["-timeout", "2"], {"timeout": 2.0}),
            (["--discovery-opt", "kv.path=p"], {"discovery_opts": (("kv.path", "p"),)}),
        ]:
            expected = attr.evolve(ListConfig(discovery=URL), **changes)
            self.assertEqual(config(["list", *flags, URL]), expected, flags)
            self.assertEqual(config(["l", URL, *flags]), expected, flags)
            self.assertEqual(config(["l", *flags], {"SWARM_DISCOVERY": URL}), expected, flags)

    def test_errors(self):
        """
        A missing discovery and a non-positive or bad timeout are refused.
        """
        for args, expected in [
            ([], "discovery required to list a cluster. See 'swarm list --help'."),
            ([URL, "--timeout", "0"], "--timeout should be a positive number"),
            ([URL, "--timeout", "-1s"], "--timeout should be a positive number"),
            ([URL, "--timeout", "soon"], "invalid --timeout"),
            ([URL, "--heartbeat", "1s"], "option --heartbeat not recognized"),
            ([URL, "--discovery-opt", "kv.path"], "--discovery-opt must contain key=value"),
        ]:
            self.assertUsageError(["list", *args], expected)


class CreateOptionsTests(_ErrorMixin, SynchronousTestCase):
    """
    Tests for C{swarm create}.
    """

    def test_config(self):
        """
        create builds a CreateConfig carrying the global settings.
        """
        self.assertEqual(config(["create"]), CreateConfig())
        self.assertEqual(
            config(["--debug", "-l", "error", "c"]), CreateConfig(debug=True, log_level="error")
        )

    def test_arguments_refused(self):
        """
        create takes no arguments and no flags, as classic Swarm.
        """
        self.assertUsageError(
            ["create", "token://x"],
            "the `create` command takes no arguments. See 'swarm create --help'.",
        )
        self.assertUsageError(["create", "--timeout", "1s"], "option --timeout not recognized")


class ExitStatusTests(SynchronousTestCase):
    """
    Tests for L{ExitStatus}.
    """

    def test_fail(self):
        """
        fail registers one exit handler, which exits with the last code.
        """
        handlers = []
        exits = []
        status = ExitStatus(register=handlers.append, exit=exits.append)
        self.assertIsNone(status.code)
        status.fail(3)
        status.fail(2)
        self.assertEqual(len(handlers), 1)
        handlers[0]()
        self.assertEqual(exits, [2])

    def test_not_failed(self):
        """
        Without a failure nothing is registered.
        """
        handlers = []
        ExitStatus(register=handlers.append, exit=self.fail)
        self.assertEqual(handlers, [])

    def test_process_exit_code(self):
        """
        In a real process the status overrides a clean sys.exit(0), and
        output written before is not lost.
        """
        code = (
            "import sys\n"
            "from swarmd._exit import ExitStatus\n"
            "ExitStatus().fail(3)\n"
            "sys.stdout.write('written')\n"
            "sys.exit(0)\n"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": ROOT.path},
            timeout=60,
        )
        self.assertEqual((result.returncode, result.stdout), (3, "written"))


class FakeReactor:
    """
    Records C{stop}; runs C{callWhenRunning} calls at once.
    """

    def __init__(self):
        self.stopped = 0

    def callWhenRunning(self, f, *args, **kwargs):
        f(*args, **kwargs)

    def stop(self):
        self.stopped += 1


class MakeServiceTests(SynchronousTestCase):
    """
    Tests for L{makeService}.
    """

    def setUp(self):
        level = _log.get_level()
        name = {v: k for k, v in reversed(list(_log.LEVELS.items()))}[level]
        self.addCleanup(_log.set_level, name)
        self.reactor = FakeReactor()
        self.handlers = []
        self.exits = []
        self.status = ExitStatus(register=self.handlers.append, exit=self.exits.append)
        self.built = []

    def _discovery_for(self, result):
        def discovery_for(url, **settings):
            self.built.append((url, settings))
            return result

        return discovery_for

    def _one_shot(self, status):
        """
        Replace L{swarmd.cli.one_shot} by a recorder answering C{status}.

        @return: the list of configs it is called with.
        """
        import swarmd.cli

        calls = []

        def one_shot(config, discovery_for=None):
            calls.append((config, discovery_for))
            return status

        self.patch(swarmd.cli, "one_shot", one_shot)
        return calls

    def test_one_shot(self):
        """
        list and create are not services: makeService runs them through
        swarmd.cli.one_shot (as twistd's parseOptions already does) and exits
        with their status, after setting the log level.
        """
        calls = self._one_shot(3)
        discovery_for = self._discovery_for(None)
        for args in (["-l", "error", "create"], ["-l", "error", "list", URL]):
            options = parse(args)
            with self.assertRaises(SystemExit) as caught:
                makeService(
                    options, reactor=self.reactor, status=self.status, discovery_for=discovery_for
                )
            self.assertEqual(caught.exception.code, 3)
            self.assertEqual(calls[-1], (options.subOptions.config, discovery_for))
            self.assertEqual(_log.get_level(), LogLevel.error)

    def test_debug_level(self):
        """
        --debug sets the level to debug whatever --log-level says.
        """
        self._one_shot(1)
        self.assertRaises(
            SystemExit,
            makeService,
            parse(["--debug", "-l", "error", "create"]),
            reactor=self.reactor,
            status=self.status,
        )
        self.assertEqual(_log.get_level(), LogLevel.debug)

    def test_manage(self):
        """
        manage hands its settings and the reactor to
        swarmd.manager.make_manager_service.
        """
        import swarmd.manager

        calls = []
        sentinel = object()

        def make(config, reactor=None, status=None):
            calls.append((config, reactor, status))
            return sentinel

        self.patch(swarmd.manager, "make_manager_service", make)
        options = parse(["manage", "--strategy", "binpack", URL])
        self.assertIs(makeService(options, reactor=self.reactor, status=self.status), sentinel)
        self.assertEqual(calls, [(options.subOptions.config, self.reactor, self.status)])

    def test_join(self):
        """
        join builds the discovery with heartbeat and ttl and returns a
        JoinService on the reactor.
        """
        from swarmd.join import JoinService

        options = parse(["join", "--addr", ADVERTISE, "--heartbeat", "5s", "--ttl", "20s", URL])
        clock = Clock()
        service = makeService(
            options, reactor=clock, status=self.status, discovery_for=self._discovery_for(None)
        )
        self.assertIsInstance(service, JoinService)
        self.assertEqual(service.config, options.subOptions.config)
        self.assertEqual(
            self.built, [(URL, {"heartbeat": 5.0, "ttl": 20.0, "options": (), "clock": clock})]
        )

    def test_discovery_refused(self):
        """
        A discovery that cannot be built ends the process with its message.
        """
        from swarmd.discovery import DiscoveryError

        def refuse(url, **settings):
            raise DiscoveryError("consul discovery is not supported yet")

        options = parse(["join", "--addr", ADVERTISE, URL])
        with self.assertRaises(SystemExit) as caught:
            makeService(options, reactor=self.reactor, discovery_for=refuse)
        self.assertEqual(caught.exception.code, "swarm: consul discovery is not supported yet")


def _twistd_command():
    """
    @return: the argument list that runs twistd: the C{twistd} script next
        to this Python (the venv's), else twistd's entry point through
        C{python -c}.
    """
    script = FilePath(sys.executable).sibling("twistd")
    if script.exists():
        return [sys.executable, script.path]
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]


class TwistdTests(SynchronousTestCase):
    """
    C{twistd swarm} run for real: usage errors, help, the one-shot commands
    and exit statuses.
    """

    def _twistd(self, *args, flags=("--nodaemon", "--pidfile=")):
        """
        Run twistd with C{flags} then C{args}, in an empty directory of its
        own, from the project root.

        @return: the L{subprocess.CompletedProcess}; its C{directory}
            attribute is the L{FilePath} it ran in.
        """
        directory = FilePath(self.mktemp())
        directory.makedirs()
        result = subprocess.run(
            [*_twistd_command(), *flags, *args],
            capture_output=True,
            text=True,
            cwd=directory.path,
            env={**os.environ, "PYTHONPATH": ROOT.path},
            timeout=120,
        )
        result.directory = directory
        return result

    def test_usage_errors(self):
        """
        Every command's usage error is one line on stderr saying what is
        wrong and where help is, with exit status 2: no usage dump, nothing
        on stdout, no traceback, nothing left behind even when twistd would
        daemonize.
        """
        cases = [
            (
                ["manage", "--stratgy", "spread", URL],
                "twistd swarm: option --stratgy not recognized. "
                "See 'twistd swarm manage --help'.",
            ),
            (
                ["manage", "--engine-refresh-retry", "4", URL],
                "twistd swarm: --engine-refresh-retry is deprecated. Use "
                "--engine-failure-retry. See 'twistd swarm manage --help'.",
            ),
            (
                ["join", URL],
                "twistd swarm: missing mandatory --advertise flag. "
                "See 'twistd swarm join --help'.",
            ),
            (
                ["list"],
                "twistd swarm: discovery required to list a cluster. "
                "See 'twistd swarm list --help'.",
            ),
            (
                ["create", "token"],
                "twistd swarm: the `create` command takes no arguments. "
                "See 'twistd swarm create --help'.",
            ),
            (["deploy"], "twistd swarm: Unknown command: deploy. See 'twistd swarm --help'."),
            (
                [],
                "twistd swarm: no command given: use manage, join, list or create. "
                "See 'twistd swarm --help'.",
            ),
            (
                ["help", "deploy"],
                "twistd swarm: No help topic for 'deploy'. See 'twistd swarm --help'.",
            ),
        ]
        for args, line in cases:
            result = self._twistd("swarm", *args, flags=())
            self.assertEqual(
                (result.returncode, result.stdout, result.stderr),
                (USAGE_STATUS, "", line + "\n"),
                args,
            )
            self.assertEqual(result.directory.listdir(), [], args)

    def test_help(self):
        """
        --help prints one clean usage line (the command as typed), then the
        flags, and exits 0.
        """
        for args, line in [
            (["manage", "--help"], "Usage: twistd [options] swarm manage [options] <discovery>"),
            (["help", "list"], "Usage: twistd [options] swarm list [options] <discovery>"),
            (["--help"], "Usage: twistd [options] swarm [options] COMMAND [arg...]"),
        ]:
            result = self._twistd("swarm", *args)
            self.assertEqual((result.returncode, result.stderr), (0, ""), args)
            self.assertEqual(result.stdout.splitlines()[0], line, args)
            self.assertEqual(result.stdout.count("Usage:"), 1, args)
        self.assertIn("--strategy", self._twistd("swarm", "manage", "--help").stdout)

    def test_list_whatever_twistd_flags(self):
        """
        twistd swarm list prints only the entries on stdout and exits 0,
        whatever twistd flags are given: it never daemonizes, and leaves no
        log or PID file.
        """
        for flags in (
            (),
            ("-n",),
            ("--nodaemon", "--logfile=-"),
            ("--logfile", "swarm.log", "--pidfile", "swarm.pid"),
        ):
            result = self._twistd("swarm", "list", URL, flags=flags)
            self.assertEqual(
                (result.returncode, result.stdout, result.stderr),
                (0, "127.0.0.1:2375\n127.0.0.1:2376\n", ""),
                flags,
            )
            self.assertEqual(result.directory.listdir(), [], flags)

    def test_create(self):
        """
        twistd swarm create without a token service (no SWARM_TOKEN_URL)
        says how to run one on stderr, in one line, and exits 1, without
        daemonizing.
        """
        result = self._twistd("swarm", "create", flags=())
        self.assertEqual((result.returncode, result.stdout), (1, ""))
        self.assertTrue(result.stderr.startswith(
            "swarm create: token discovery needs a token service"), result.stderr)
        self.assertEqual(len(result.stderr.splitlines()), 1)
        self.assertEqual(result.directory.listdir(), [])

    def test_list_failure_exit_status(self):
        """
        twistd swarm list exits 1 when the discovery cannot be read.
        """
        missing = FilePath(self.mktemp()).path
        result = self._twistd("swarm", "list", "--timeout", "5s", "file://" + missing)
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertIn("swarm list:", result.stderr)
        self.assertEqual(result.stdout, "")
