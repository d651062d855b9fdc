"""
Tests for swarmd's logs (L{swarmd._log}): the stable event names and fields
of engine state changes, discovery changes, scheduling decisions and API
errors, the JSON format, and how C{--log-format} reaches twistd.
"""

import io
import json
import os
import shutil
import signal
import tempfile

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import Logger, formatEvent, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from swarmd import _log
from swarmd.api.app import DockerAPI
from swarmd.scheduler import ContainerConfig, Scheduler, filters_for, strategy_for
from swarmd.scheduler.errors import NoMatchingNode
from swarmd.testing.nodes import sample_nodes
from tests.unit.test_cluster import ALL_FILTERS, config, make_cluster


def named(events, name):
    """
    @return: the events of C{events} whose stable name is C{name}.
    """
    return [e for e in events if e.get(_log.EVENT_FIELD) == name]


class LoggedTestCase(SynchronousTestCase):
    """
    Collects every event logged while a test runs, at the level it sets.
    """

    def setUp(self):
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        level = _log.get_level()
        self.addCleanup(_log._predicate.setLogLevelForNamespace, None, level)


class ClusterEventTests(LoggedTestCase):
    """
    Engine state and discovery changes, and scheduling decisions, logged by
    the cluster.
    """

    def test_discovery_and_engine_state(self):
        """Each address discovery names is logged as joined, each engine's Pending -> Healthy."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        joined = named(self.events, _log.DISCOVERY_CHANGE)
        self.assertEqual([(e["address"], e["change"]) for e in joined],
                         [("127.0.0.1:2376", "joined"), ("127.0.0.1:2377", "joined")])
        states = named(self.events, _log.ENGINE_STATE)
        self.assertEqual(sorted((e["engine"], e["address"], e["old"], e["new"])
                                for e in states),
                         [("n1", "127.0.0.1:2376", "Pending", "Healthy"),
                          ("n2", "127.0.0.1:2377", "Pending", "Healthy")])

    def test_discovery_left(self):
        """An address discovery drops is logged as left."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        discovery.set_entries(["127.0.0.1:2376"])
        clock.advance(0)
        left = [e for e in named(self.events, _log.DISCOVERY_CHANGE) if e["change"] == "left"]
        self.assertEqual([e["address"] for e in left], ["127.0.0.1:2377"])

    def test_scheduled(self):
        """A placement names the container, the node, the candidates and each filter's count."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        engine, _ = self.successResultOf(cluster.create_container(
            config("web", Env=["constraint:node==n2"])))
        [event] = named(self.events, _log.SCHEDULE)
        self.assertEqual((event["container"], event["node"], event["address"]),
                         ("web", "n2", "127.0.0.1:2377"))
        self.assertEqual((event["candidates"], event["left"]), (2, 1))
        self.assertEqual(event["removed"], [[name, 1 if name == "constraint" else 0]
                                            for name in ALL_FILTERS])
        self.assertEqual(event["swarm_id"], cluster.container("web").swarm_id)
        self.assertFalse(event["soft_dropped"])
        self.assertEqual(event["log_level"].name, "info")

    def test_refused(self):
        """No node fits: the warning says which filter removed how many nodes, and why."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        self.failureResultOf(cluster.create_container(
            config("web", Env=["constraint:node==n9"])))
        [event] = named(self.events, _log.SCHEDULE_FAILED)
        self.assertEqual((event["container"], event["candidates"]), ("web", 2))
        self.assertEqual(event["removed"][-1], ["constraint", 2])
        self.assertIn("node==n9", event["error"])
        self.assertIn("constraint removed 2", formatEvent(event))
        self.assertEqual(named(self.events, _log.SCHEDULE), [])


class DecisionTests(SynchronousTestCase):
    """
    L{Scheduler.decide}: the numbers the cluster logs.
    """

    def test_counts(self):
        """Each filter's count of removed nodes, in order; rank() gives the same nodes."""
        scheduler = Scheduler(strategy_for("spread"), filters_for(["health", "constraint"]))
        nodes = sample_nodes()
        wanted = ContainerConfig.from_create_body(
            {"Image": "busybox", "Env": ["constraint:storage==ssd"]}, None)
        decision = scheduler.decide(wanted, nodes)
        healthy = [n for n in nodes if n.healthy]
        ssd = [n for n in healthy if n.labels.get("storage") == "ssd"]
        self.assertEqual(decision.candidates, len(nodes))
        self.assertEqual(decision.removed, (("health", len(nodes) - len(healthy)),
                                            ("constraint", len(healthy) - len(ssd))))
        self.assertEqual(list(decision.nodes), scheduler.rank(wanted, nodes))

    def test_refusal_carries_decision(self):
        """A refusal's decision has no nodes and names the filter that removed the rest."""
        scheduler = Scheduler(strategy_for("spread"), filters_for(["health", "constraint"]))
        nodes = sample_nodes()
        wanted = ContainerConfig.from_create_body(
            {"Image": "busybox", "Env": ["constraint:node==nowhere"]}, None)
        error = self.assertRaises(NoMatchingNode, scheduler.decide, wanted, nodes)
        healthy = len([n for n in nodes if n.healthy])
        self.assertEqual(error.decision.nodes, ())
        self.assertEqual(error.decision.removed[-1], ("constraint", healthy))

    def test_soft_dropped(self):
        """When soft expressions are dropped the decision says so."""
        scheduler = Scheduler(strategy_for("spread"), filters_for(["health", "constraint"]))
        wanted = ContainerConfig.from_create_body(
            {"Image": "busybox", "Env": ["constraint:node==~nowhere"]}, None)
        decision = scheduler.decide(wanted, sample_nodes())
        self.assertTrue(decision.soft_dropped)
        self.assertEqual(decision.removed[-1], ("constraint", 0))


class APIErrorTests(LoggedTestCase):
    """
    API errors: status, route and, for a 5xx, an incident ID in both the log
    and the answer.
    """

    def setUp(self):
        super().setUp()
        self.cluster, self.clients, self.clock, _ = make_cluster(n=2)
        from treq.testing import StubTreq

        self.api = DockerAPI(self.cluster, self.clock)
        self.stub = StubTreq(self.api.resource())

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        response = self.successResultOf(self.stub.request(method, "http://swarm" + path,
                                                          data=data))
        return response.code, json.loads(self.successResultOf(response.content()))

    def test_server_error_incident(self):
        """A 5xx carries an incident ID that the warning logged with its route also names."""
        status, body = self.request("POST", "/v1.41/containers/create?name=web",
                                    {"Image": "busybox", "Env": ["constraint:node==n9"]})
        self.assertEqual(status, 500)
        [event] = named(self.events, _log.API_ERROR)
        self.assertEqual(body["incident"], event["incident"])
        self.assertEqual(len(body["incident"]), 12)
        self.assertEqual((event["status"], event["method"], event["path"], event["route"]),
                         (500, "POST", "/v1.41/containers/create", "/containers/create"))
        self.assertEqual(event["error"], body["message"])
        self.assertEqual(event["log_level"].name, "warn")

    def test_client_error_at_debug(self):
        """A 4xx is logged at debug only, without an incident; the body stays Docker's."""
        status, body = self.request("GET", "/containers/nope/json")
        self.assertEqual((status, body), (404, {"message": "No such container: nope"}))
        self.assertEqual(named(self.events, _log.API_ERROR), [])
        _log.set_level("debug")
        self.request("GET", "/containers/nope/json")
        [event] = named(self.events, _log.API_ERROR)
        self.assertEqual((event["status"], event["path"], event["route"], event["incident"]),
                         (404, "/containers/nope/json", "/containers/{name}/json", None))
        self.assertEqual(event["log_level"].name, "debug")

    def test_internal_error_incident(self):
        """An internal error's incident is in the body and in the logged failure."""
        def broken(request, **kwargs):
            raise ZeroDivisionError("oops")

        self.api.handlers["system.ping"] = broken
        status, body = self.request("GET", "/_ping")
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)
        self.assertEqual(status, 500)
        [event] = named(self.events, _log.API_ERROR)
        self.assertEqual(body, {"message": "internal error (incident %s)" % event["incident"],
                                "incident": event["incident"]})
        self.assertEqual(event["path"], "/_ping")
        self.assertIsNotNone(event["log_failure"])


class JSONFormatTests(SynchronousTestCase):
    """
    C{--log-format json}: one JSON object a line.
    """

    def test_lines(self):
        """Each event is one line of plain JSON with its fields, text and level."""
        out = io.StringIO()
        log = Logger(observer=_log.json_lines_observer(out), namespace="t")
        log.info("engine {engine} {old} -> {new}", engine="n1", old="Pending", new="Healthy",
                 swarmd_event=_log.ENGINE_STATE)
        log.warn("multi\nline {x}", x=[1, 2])
        lines = out.getvalue().splitlines()
        self.assertEqual(len(lines), 2)
        first, second = (json.loads(line) for line in lines)
        self.assertEqual((first["swarmd_event"], first["engine"], first["level"], first["text"]),
                         (_log.ENGINE_STATE, "n1", "info", "engine n1 Pending -> Healthy"))
        self.assertEqual((second["level"], second["text"], second["x"]),
                         ("warn", "multi\nline [1, 2]", [1, 2]))

    def test_log_file(self):
        """A named --logfile is written (and rotated on SIGUSR1, as twistd does)."""
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(folder, f)) for f in os.listdir(folder)]
                        and os.rmdir(folder))
        handlers = []
        path = os.path.join(folder, "swarmd.log")
        observer = _log.json_observer_for(
            path, nodaemon=False, install_signal=lambda *args: handlers.append(args))
        Logger(observer=observer).info("hello {who}", who="you")
        with open(path) as f:
            [line] = f.read().splitlines()
        self.assertEqual(json.loads(line)["text"], "hello you")
        self.assertEqual(len(handlers), 1)

    def test_stdout_needs_foreground(self):
        """A daemon cannot log to stdout, as twistd says."""
        self.assertRaises(SystemExit, _log.json_observer_for, "-", nodaemon=False)


class TwistdTests(SynchronousTestCase):
    """
    How C{--log-format} reaches twistd's own options.
    """

    def test_json_names_factory(self):
        """json sets twistd's --logger to swarmd's factory, aimed at twistd's --logfile."""
        self.patch(_log, "_twistd_target", dict(_log._twistd_target))
        options = {"logger": None, "logfile": "-", "nodaemon": True}
        _log.use_for_twistd(options, "json")
        self.assertEqual(options["logger"], "swarmd._log.twistd_observer")
        self.assertEqual(_log._twistd_target,
                         {"format": "json", "logfile": "-", "nodaemon": True})

    def test_text_too(self):
        """text also names swarmd's factory (so --log-level reaches twistd's events)."""
        self.patch(_log, "_twistd_target", dict(_log._twistd_target))
        options = {"logger": None, "logfile": "/tmp/x.log", "nodaemon": False}
        _log.use_for_twistd(options, "text")
        self.assertEqual(options["logger"], "swarmd._log.twistd_observer")
        self.assertEqual(_log._twistd_target,
                         {"format": "text", "logfile": "/tmp/x.log", "nodaemon": False})

    def test_explicit_logger_and_syslog_untouched(self):
        """An explicit --logger is kept, and so is --syslog for text."""
        for options, log_format in (({"logger": "my.factory"}, "json"),
                                    ({"logger": "my.factory"}, "text"),
                                    ({"logger": None, "syslog": True}, "text")):
            before = dict(options)
            _log.use_for_twistd(options, log_format)
            self.assertEqual(options, before)

    def test_level_applies_to_every_namespace(self):
        """twistd's observer drops events below --log-level, Twisted's own included."""
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "manager.log")
        self.patch(_log, "_twistd_target", {"format": "json", "logfile": path,
                                            "nodaemon": True})
        self.patch(signal, "signal", lambda *args: None)
        level = _log.get_level()
        self.addCleanup(_log._predicate.setLogLevelForNamespace, None, level)
        _log.set_level("warn")
        observer = _log.twistd_observer()
        for namespace in ("twisted.scripts._twistd_unix.UnixAppLogger", "swarmd.x"):
            log = Logger(observer=observer, namespace=namespace)
            log.info("quiet {n}", n=namespace)
            log.warn("loud {n}", n=namespace)
        with open(path) as f:
            texts = [json.loads(line)["text"] for line in f]
        self.assertEqual(texts, ["loud twisted.scripts._twistd_unix.UnixAppLogger",
                                 "loud swarmd.x"])

    def test_parsed_under_twistd(self):
        """twistd ... swarm manage --log-format json sets twistd's logger."""
        from twisted.scripts.twistd import ServerOptions

        self.patch(_log, "_twistd_target", dict(_log._twistd_target))
        options = ServerOptions()
        options.parseOptions(["-n", "--logfile=/tmp/x.log", "swarm", "manage",
                              "--log-format", "json", "--shutdown-timeout", "3s",
                              "nodes://127.0.0.1:2375"])
        self.assertIs(options["logger"], _log.twistd_observer)
        self.assertEqual(_log._twistd_target["logfile"], "/tmp/x.log")
        config = options.subOptions.subOptions.config
        self.assertEqual((config.log_format, config.shutdown_timeout), ("json", 3.0))

    def test_bad_values_refused(self):
        """An unknown --log-format or a negative --shutdown-timeout is a usage error."""
        from twisted.python.usage import UsageError

        from swarmd.tap import Options

        for args, words in ((["manage", "--log-format", "xml"], "invalid --log-format 'xml'"),
                            (["join", "--advertise", "10.0.0.1:2375", "--log-format=yaml"],
                             "invalid --log-format 'yaml'"),
                            (["manage", "--shutdown-timeout", "-1s"],
                             "--shutdown-timeout can not be negative"),
                            (["manage", "--shutdown-timeout", "soon"],
                             "invalid --shutdown-timeout")):
            error = self.assertRaises(UsageError, Options(
                environ={}, check_url=lambda url: None).parseOptions,
                args + ["nodes://127.0.0.1:2375"])
            self.assertIn(words, str(error))

    def test_defaults(self):
        """Text logs and a 10 s grace by default; join takes --log-format too."""
        from swarmd.tap import Options

        options = Options(environ={}, check_url=lambda url: None)
        options.parseOptions(["manage", "nodes://127.0.0.1:2375"])
        config = options.subOptions.config
        self.assertEqual((config.log_format, config.shutdown_timeout), ("text", 10.0))
        options = Options(environ={}, check_url=lambda url: None)
        options.parseOptions(["join", "--advertise", "10.0.0.1:2375", "--log-format", "json",
                              "etcd://127.0.0.1:2379"])
        self.assertEqual(options.subOptions.config.log_format, "json")

