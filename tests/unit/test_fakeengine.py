"""
Tests for L{swarmd.testing.fakeengine}: the engine conformance suite run
against a fake served on a unix socket, then the fake's own behaviour
(process model, events, registry, filters, faults, follow) with a Clock.
"""

import io
import json
import os
import shutil
import tarfile
import tempfile

import treq
from treq.testing import StubTreq
from twisted.internet import reactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web._newclient import ResponseNeverReceived

from swarmd.engine import EngineClient, EngineError, EngineUnreachable
from swarmd.testing.conformance.engine import demux, make_iengine_tests
from swarmd.testing.fakeengine import (
    BUSYBOX_ID,
    FakeAPIError,
    FakeEngine,
    FakeEngineAPI,
    FakeRegistry,
    Filters,
    serve,
)
from swarmd.testing.fakeengine._images import BUSYBOX_SIZE

#: A start time for the test clocks (2026-11-28T12:00:00Z).
T0 = 1795867200


#: The registry host the conformance suite's fake engine pushes to.
FAKE_REGISTRY_HOST = "127.0.0.1:5999"


def fake_fixture(testcase):
    """
    A fake engine on a unix socket in a fresh folder, and a client to it;
    its registry also serves L{FAKE_REGISTRY_HOST}.
    """
    folder = tempfile.mkdtemp(prefix="fake-", dir="/tmp")
    testcase.addCleanup(shutil.rmtree, folder, True)
    engine = FakeEngine(reactor, name="fake1", labels=["storage=ssd"],
                        registry=FakeRegistry(hosts=(FAKE_REGISTRY_HOST,)))

    def served(port):
        testcase.addCleanup(port.stopListening)
        client = EngineClient(port.address, reactor)
        testcase.addCleanup(client.close)
        return client

    return serve(engine, "unix://" + os.path.join(folder, "docker.sock"), reactor).addCallback(
        served)


class FakeEngineConformance(make_iengine_tests(
        fake_fixture, registry=lambda testcase: FAKE_REGISTRY_HOST)):
    """
    The fake engine, served on a unix socket, passes the engine suite.
    """


def clocked(**kwargs):
    """
    @return: C{(clock, engine)}: a fake engine on a Clock set to L{T0}.
    """
    clock = Clock()
    clock.advance(T0)
    kwargs.setdefault("seed", 1)
    return clock, FakeEngine(clock, name="n1", **kwargs)


def actions(engine, kind="container"):
    """
    @return: the actions of the kept events of one type, oldest first.
    """
    return [e.action for e in engine.events if e.type == kind]


class ProcessTests(SynchronousTestCase):
    """
    What containers run, on the engine's clock.
    """

    def run_cmd(self, cmd, **config):
        clock, engine = clocked()
        body = {"Image": "busybox", "Cmd": cmd}
        body.update(config)
        cid, _ = engine.create(body, name="c1")
        engine.start(cid)
        return clock, engine, engine.containers[cid]

    def test_echo_output_after_start(self):
        """echo writes its line and exits 0 on the next turn of the clock, not inside start."""
        clock, engine, container = self.run_cmd(["echo", "hello", "world"])
        self.assertEqual(container.status, "running")
        clock.advance(0)
        self.assertEqual((container.status, container.exit_code), ("exited", 0))
        self.assertEqual([e[1:] for e in container.logs], [(1, b"hello world\n")])

    def test_sleep_ends_on_clock(self):
        """sleep 5 runs for 5 seconds of the engine's clock, then exits 0."""
        clock, engine, container = self.run_cmd(["sleep", "5"])
        clock.advance(4.9)
        self.assertEqual(container.status, "running")
        clock.advance(0.1)
        self.assertEqual((container.status, container.exit_code), ("exited", 0))

    def test_script_steps(self):
        """sh -c runs its statements in order, sleeping between them."""
        clock, engine, container = self.run_cmd(["sh", "-c", "echo a; sleep 2; echo b >&2; exit 4"])
        clock.advance(0)
        self.assertEqual([e[1:] for e in container.logs], [(1, b"a\n")])
        clock.advance(2)
        self.assertEqual([e[1:] for e in container.logs], [(1, b"a\n"), (2, b"b\n")])
        self.assertEqual(container.exit_code, 4)

    def test_script_unknown_command(self):
        """An unknown command in a script prints sh's error and gives 127."""
        clock, engine, container = self.run_cmd(["sh", "-c", "nosuch"])
        clock.advance(0)
        self.assertEqual(container.logs[0][1:], (2, b"sh: nosuch: not found\n"))
        self.assertEqual(container.exit_code, 127)

    def test_sh_without_stdin_exits(self):
        """Plain sh with no open stdin exits 0 at once, as on a real engine; with -i it stays."""
        clock, engine, container = self.run_cmd(["sh"])
        clock.advance(0)
        self.assertEqual((container.status, container.exit_code), ("exited", 0))
        clock, engine, container = self.run_cmd(["sh"], OpenStdin=True, Tty=True)
        clock.advance(1000)
        self.assertEqual(container.status, "running")

    def test_image_command_used(self):
        """Without Cmd the image's (sh) runs, and Config.Cmd shows it."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox", "OpenStdin": True}, name="c1")
        inspected = engine.inspect(cid)
        self.assertEqual((inspected["Path"], inspected["Config"]["Cmd"]), ("sh", ["sh"]))

    def test_command_not_found(self):
        """A command missing from the image fails start with runc's 400 and exit code 127."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox", "Cmd": ["nosuchcmd"]}, name="c1")
        error = self.assertRaises(FakeAPIError, engine.start, cid)
        self.assertEqual(error.status, 400)
        self.assertIn('exec: "nosuchcmd": executable file not found in $PATH', error.message)
        state = engine.inspect(cid)["State"]
        self.assertEqual((state["Status"], state["ExitCode"]), ("created", 127))
        self.assertIn("nosuchcmd", state["Error"])

    def test_stop_waits_timeout(self):
        """stop sends SIGTERM (ignored), then SIGKILL after the timeout: 137."""
        clock, engine, container = self.run_cmd(["sleep", "300"])
        d = engine.stop("c1", 10)
        clock.advance(9.9)
        self.assertNoResult(d)
        self.assertEqual(container.status, "running")
        clock.advance(0.1)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(container.exit_code, 137)
        self.assertEqual(actions(engine)[-4:], ["kill", "kill", "die", "stop"])
        signals = [e.attributes["signal"] for e in engine.events if e.action == "kill"]
        self.assertEqual(signals, ["15", "9"])

    def test_stop_with_init(self):
        """With Init, SIGTERM ends the process at once: 143."""
        clock, engine, container = self.run_cmd(["sleep", "300"], HostConfig={"Init": True})
        d = engine.stop("c1", 10)
        self.assertIs(self.successResultOf(d), True)
        self.assertEqual(container.exit_code, 143)
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_stop_default_timeout(self):
        """Without t, stop uses the container's StopTimeout, else 10 seconds."""
        clock, engine, container = self.run_cmd(["sleep", "300"], StopTimeout=3)
        d = engine.stop("c1")
        clock.advance(3)
        self.successResultOf(d)
        clock, engine, container = self.run_cmd(["sleep", "300"])
        d = engine.stop("c1")
        clock.advance(9)
        self.assertNoResult(d)
        clock.advance(1)
        self.successResultOf(d)

    def test_stop_not_running(self):
        """stop of a container that is not running fires False (dockerd's 304)."""
        clock, engine = clocked()
        engine.create({"Image": "busybox", "Cmd": ["true"]}, name="c1")
        self.assertIs(self.successResultOf(engine.stop("c1")), False)

    def test_stop_paused_unpauses(self):
        """Stopping a paused container: kill 15, unpause, then kill 9 and die after t."""
        clock, engine, container = self.run_cmd(["sleep", "300"])
        engine.pause("c1")
        d = engine.stop("c1", 1)
        clock.advance(1)
        self.successResultOf(d)
        self.assertEqual(actions(engine)[-6:], ["pause", "kill", "unpause", "kill", "die", "stop"])

    def test_pause_freezes_time(self):
        """A paused sleep does not progress; unpaused it ends after the rest of its time."""
        clock, engine, container = self.run_cmd(["sleep", "10"])
        clock.advance(4)
        engine.pause("c1")
        clock.advance(100)
        self.assertEqual(container.status, "paused")
        engine.unpause("c1")
        clock.advance(5.9)
        self.assertEqual(container.status, "running")
        clock.advance(0.1)
        self.assertEqual(container.status, "exited")

    def test_kill_other_signal_ignored(self):
        """A signal other than SIGKILL leaves a PID 1 without Init running."""
        clock, engine, container = self.run_cmd(["sleep", "300"])
        engine.kill("c1", "SIGUSR1")
        self.assertEqual(container.status, "running")
        self.assertEqual(engine.events[-1].attributes["signal"], "10")

    def test_restart_events(self):
        """restart of a running container: the stop events, then start and restart."""
        clock, engine, container = self.run_cmd(["sleep", "300"])
        d = engine.restart("c1", 0)
        clock.advance(0)
        self.successResultOf(d)
        self.assertEqual(actions(engine), ["create", "start", "kill", "kill", "die", "stop",
                                           "start", "restart"])
        self.assertEqual(container.status, "running")

    def test_auto_remove(self):
        """AutoRemove destroys the container when it exits."""
        clock, engine, container = self.run_cmd(["true"], HostConfig={"AutoRemove": True})
        clock.advance(0)
        self.assertEqual(engine.containers, {})
        self.assertEqual(actions(engine)[-2:], ["die", "destroy"])

    def test_wait_conditions(self):
        """wait fires on exit (not-running), on the next exit, or on removal."""
        clock, engine, container = self.run_cmd(["sleep", "1"])
        running = engine.wait("c1")
        removed = engine.wait("c1", "removed")
        clock.advance(1)
        self.assertEqual(self.successResultOf(running), {"Error": None, "StatusCode": 0})
        self.assertNoResult(removed)
        next_exit = engine.wait("c1", "next-exit")
        self.assertNoResult(next_exit)
        engine.remove("c1")
        self.assertEqual(self.successResultOf(removed)["StatusCode"], 0)
        self.assertEqual(self.successResultOf(next_exit)["StatusCode"], 0)

    def test_wait_cancel(self):
        """A cancelled wait is forgotten by the container."""
        clock, engine, container = self.run_cmd(["sleep", "300"])
        d = engine.wait("c1")
        d.cancel()
        self.failureResultOf(d)
        self.assertIsNone(container.waiters)

    def test_network_and_ports(self):
        """A running bridged container gets an IP and its published ports; stopped, none."""
        clock, engine, container = self.run_cmd(
            ["sleep", "300"], ExposedPorts={"80/tcp": {}, "99/tcp": {}},
            HostConfig={"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})
        inspected = engine.inspect("c1")["NetworkSettings"]
        self.assertEqual(inspected["IPAddress"], "172.17.0.2")
        self.assertEqual(inspected["MacAddress"], "02:42:ac:11:00:02")
        self.assertEqual(inspected["Ports"], {
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                       {"HostIp": "::", "HostPort": "8080"}],
            "99/tcp": None})
        summary = engine.list_containers()[0]
        self.assertEqual(summary["Ports"], [
            {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
            {"PrivatePort": 99, "Type": "tcp"}])
        engine.kill("c1")
        self.assertEqual(engine.inspect("c1")["NetworkSettings"]["Ports"], {})
        self.assertEqual(engine.list_containers(all=True)[0]["Ports"], [])

    def test_port_conflict(self):
        """A taken host port fails start with dockerd's 500 and frees nothing else."""
        clock, engine = clocked()
        bind = {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}
        for name in ("a1", "a2"):
            engine.create({"Image": "busybox", "Cmd": ["sleep", "9"], "HostConfig": bind},
                          name=name)
        engine.start("a1")
        error = self.assertRaises(FakeAPIError, engine.start, "a2")
        self.assertEqual(error.status, 500)
        self.assertIn("Bind for 0.0.0.0:8080 failed: port is already allocated", error.message)
        engine.kill("a1")
        self.assertTrue(engine.start("a2"))

    def test_port_conflicts_off(self):
        """With port_conflicts=False (like the lab's engines), the same port starts twice."""
        clock, engine = clocked(port_conflicts=False)
        bind = {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}
        for name in ("a1", "a2"):
            engine.create({"Image": "busybox", "Cmd": ["sleep", "9"], "HostConfig": bind},
                          name=name)
            engine.start(name)
        self.assertEqual(engine.counts()[1], 2)


class ContainerAPITests(SynchronousTestCase):
    """
    Names, refusals and list shapes of the Python API.
    """

    def test_generated_names_unique(self):
        """Containers created without a name get distinct adjective_surname names."""
        clock, engine = clocked()
        names = {engine.inspect(engine.create({"Image": "busybox"})[0])["Name"]
                 for _ in range(50)}
        self.assertEqual(len(names), 50)
        for name in names:
            self.assertRegex(name, r"^/[a-z]+_[a-z]+\d*$")

    def test_refusals(self):
        """Empty config, small memory, unknown network: dockerd's statuses and messages."""
        clock, engine = clocked()
        cases = [
            ({}, 400, "Config cannot be empty in order to create a container"),
            ({"Image": "busybox", "HostConfig": {"Memory": 1000}}, 400,
             "Minimum memory limit allowed is 6MB"),
            ({"Image": "nosuch"}, 404, "No such image: nosuch:latest"),
            ({"Image": "busybox", "HostConfig": {"NetworkMode": "mynet"}}, 404,
             "network mynet not found"),
        ]
        for body, status, message in cases:
            error = self.assertRaises(FakeAPIError, engine.create, body, "c1")
            self.assertEqual((error.status, error.message), (status, message))

    def test_remove_paused(self):
        """Removing a paused container without force is 409 with dockerd's paused message."""
        clock, engine = clocked()
        engine.create({"Image": "busybox", "Cmd": ["sleep", "9"]}, name="c1")
        engine.start("c1")
        engine.pause("c1")
        error = self.assertRaises(FakeAPIError, engine.remove, "c1")
        self.assertEqual(error.status, 409)
        self.assertIn("You cannot remove a paused container", error.message)

    def test_rename(self):
        """rename moves the name, keeps lookups right and logs oldName; errors as dockerd."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox"}, name="old")
        engine.create({"Image": "busybox"}, name="taken")
        engine.rename("old", "new")
        self.assertEqual(engine.find("new").id, cid)
        self.assertRaises(FakeAPIError, engine.find, "old")
        self.assertEqual(engine.events[-1].attributes["oldName"], "/old")
        self.assertEqual(engine.events[-1].attributes["name"], "new")
        for name, status, text in [("new", 400, "same name as its current name"),
                                   ("x", 400, "Invalid container name (/x)"),
                                   ("taken", 409, "Error when allocating new name: Conflict."),
                                   ("", 400, "Neither old nor new names may be empty")]:
            error = self.assertRaises(FakeAPIError, engine.rename, "new", name)
            self.assertEqual(error.status, status)
            self.assertIn(text, error.message)

    def test_ambiguous_prefix(self):
        """An ID prefix matching two containers is dockerd's 500."""
        clock, engine = clocked()
        ids = [engine.create({"Image": "busybox"})[0] for _ in range(40)]
        firsts = [i[0] for i in ids]
        shared = [c for c in set(firsts) if firsts.count(c) > 1][0]
        error = self.assertRaises(FakeAPIError, engine.find, shared)
        self.assertEqual((error.status, error.message),
                         (500, "Multiple IDs found with provided prefix: " + shared))

    def test_top(self):
        """top lists the process with ps' default titles; with Init, docker-init first."""
        clock, engine = clocked()
        engine.create({"Image": "busybox", "Cmd": ["sleep", "300"],
                       "HostConfig": {"Init": True}}, name="c1")
        engine.start("c1")
        top = engine.top("c1")
        self.assertEqual(top["Titles"], ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME",
                                         "CMD"])
        self.assertEqual([p[-1] for p in top["Processes"]],
                         ["/sbin/docker-init -- sleep 300", "sleep 300"])
        self.assertEqual(top["Processes"][0][4], "12:00")
        self.assertEqual(actions(engine)[-1], "top")

    def test_status_text(self):
        """The Status column reads as docker ps shows it over time."""
        clock, engine = clocked()
        engine.create({"Image": "busybox", "Cmd": ["sleep", "300"]}, name="c1")
        self.assertEqual(engine.list_containers(all=True)[0]["Status"], "Created")
        engine.start("c1")
        clock.advance(75)
        self.assertEqual(engine.list_containers()[0]["Status"], "Up About a minute")
        engine.pause("c1")
        self.assertEqual(engine.list_containers()[0]["Status"], "Up About a minute (Paused)")
        engine.unpause("c1")
        engine.kill("c1")
        clock.advance(7200)
        self.assertEqual(engine.list_containers(all=True)[0]["Status"],
                         "Exited (137) 2 hours ago")

    def test_list_order_limit(self):
        """Lists are newest first; limit takes the newest and implies all."""
        clock, engine = clocked()
        for name in ("c1", "c2", "c3"):
            engine.create({"Image": "busybox"}, name=name)
            clock.advance(1)
        self.assertEqual([c["Names"] for c in engine.list_containers(all=True)],
                         [["/c3"], ["/c2"], ["/c1"]])
        self.assertEqual([c["Names"] for c in engine.list_containers(limit=2)],
                         [["/c3"], ["/c2"]])
        self.assertEqual(engine.list_containers(), [])

    def test_list_filters(self):
        """name (regexp), exited, ancestor, before/since filters select as dockerd."""
        clock, engine = clocked()
        for name, cmd in (("web1", ["true"]), ("web2", ["false"]), ("db", ["sleep", "9"])):
            engine.create({"Image": "busybox", "Cmd": cmd}, name=name)
            engine.start(name)
            clock.advance(1)

        def names(**filters):
            listed = engine.list_containers(all=True, filters=Filters(
                {k: set(v) for k, v in filters.items()}))
            return sorted(c["Names"][0] for c in listed)

        self.assertEqual(names(name=["^web"]), ["/web1", "/web2"])
        self.assertEqual(names(name=["^/db$"]), ["/db"])
        self.assertEqual(names(exited=["1"]), ["/web2"])
        self.assertEqual(names(ancestor=["busybox"]), ["/db", "/web1", "/web2"])
        self.assertEqual(names(ancestor=[BUSYBOX_ID]), ["/db", "/web1", "/web2"])
        self.assertEqual(names(before=["db"]), ["/web1", "/web2"])
        self.assertEqual(names(since=["web1"]), ["/db", "/web2"])
        self.assertEqual(names(status=["running"]), ["/db"])

    def test_filter_validation(self):
        """Bad keys, statuses and exit codes are refused with dockerd's statuses."""
        clock, engine = clocked()
        for values, status, message in [
                ({"bogus": {"x"}}, 400, "Invalid filter 'bogus'"),
                ({"status": {"bogus"}}, 400, "Invalid filter 'status=bogus'"),
                ({"exited": {"x"}}, 500, 'strconv.Atoi: parsing "x": invalid syntax')]:
            error = self.assertRaises(FakeAPIError, engine.list_containers,
                                      filters=Filters(values))
            self.assertEqual((error.status, error.message), (status, message))

    def test_filters_parse(self):
        """Both filter encodings parse; malformed JSON is dockerd's 500."""
        self.assertEqual(Filters.parse('{"a": ["x", "y"]}').values, {"a": {"x", "y"}})
        self.assertEqual(Filters.parse('{"a": {"x": true, "y": false}}').values, {"a": {"x"}})
        error = self.assertRaises(FakeAPIError, Filters.parse, "notjson")
        self.assertEqual(error.status, 500)

    def test_volumes(self):
        """Anonymous volumes are made at create and removed with v; named ones stay."""
        clock, engine = clocked()
        engine.create({"Image": "busybox", "Volumes": {"/data": {}},
                       "HostConfig": {"Binds": ["keep:/keep"]}}, name="c1")
        volumes = engine.list_volumes()["Volumes"]
        self.assertEqual(len(volumes), 2)
        self.assertIn("keep", [v["Name"] for v in volumes])
        mounts = engine.inspect("c1")["Mounts"]
        self.assertEqual(sorted(m["Destination"] for m in mounts), ["/data", "/keep"])
        engine.remove("c1", volumes=True)
        self.assertEqual([v["Name"] for v in engine.list_volumes()["Volumes"]], ["keep"])
        self.assertEqual(actions(engine, "volume"), ["create", "create", "destroy"])

    def test_info_counts(self):
        """info counts containers by state, and carries the engine's identity."""
        clock, engine = clocked(labels={"storage": "ssd"}, ncpu=8, mem_total=2 ** 34)
        for name in ("r1", "p1", "s1"):
            engine.create({"Image": "busybox", "Cmd": ["sleep", "9"]}, name=name)
        engine.start("r1")
        engine.start("p1")
        engine.pause("p1")
        info = engine.info()
        self.assertEqual((info["Containers"], info["ContainersRunning"],
                          info["ContainersPaused"], info["ContainersStopped"]), (3, 1, 1, 1))
        self.assertEqual((info["Name"], info["Labels"], info["NCPU"], info["MemTotal"]),
                         ("n1", ["storage=ssd"], 8, 2 ** 34))
        self.assertEqual(info["ServerVersion"], "20.10.24-fake")
        self.assertRegex(info["ID"], r"^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$")

    def test_seeded_ids(self):
        """The same seed gives the same engine and container IDs."""
        first = clocked(seed=7)[1]
        second = clocked(seed=7)[1]
        self.assertEqual(first.id, second.id)
        self.assertEqual(first.create({"Image": "busybox"})[0],
                         second.create({"Image": "busybox"})[0])


class EventTests(SynchronousTestCase):
    """
    The events an engine keeps and streams.
    """

    def test_event_shape(self):
        """A container event has dockerd's fields, attributes sorted, labels included."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox", "Labels": {"z": "1", "a": "2"}}, name="c1")
        shown = engine.past_events(since=0)[-1]
        self.assertEqual(list(shown), ["status", "id", "from", "Type", "Action", "Actor",
                                       "scope", "time", "timeNano"])
        self.assertEqual(shown["Actor"], {"ID": cid, "Attributes": {
            "a": "2", "image": "busybox", "name": "c1", "z": "1"}})
        self.assertEqual(list(shown["Actor"]["Attributes"]), ["a", "image", "name", "z"])
        self.assertEqual((shown["time"], shown["timeNano"]), (T0, T0 * 10 ** 9))

    def test_network_events(self):
        """Start and exit connect and disconnect the bridge, as dockerd reports."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox", "Cmd": ["true"]}, name="c1")
        engine.start(cid)
        clock.advance(0)
        network = [e for e in engine.past_events(since=0) if e["Type"] == "network"]
        self.assertEqual([e["Action"] for e in network], ["connect", "disconnect"])
        self.assertEqual(network[0]["Actor"]["Attributes"],
                         {"container": cid, "name": "bridge", "type": "bridge"})
        self.assertNotIn("status", network[0])

    def test_time_strictly_increasing(self):
        """Events at the same instant still get increasing timeNano."""
        clock, engine = clocked()
        for name in ("c1", "c2", "c3"):
            engine.create({"Image": "busybox"}, name=name)
        nanos = [e.ns for e in engine.events]
        self.assertEqual(nanos, sorted(set(nanos)))

    def test_kept_bounded(self):
        """Only the last events_kept events are kept for since queries."""
        clock, engine = clocked(events_kept=5)
        for index in range(10):
            engine.create({"Image": "busybox"}, name="c%d" % (index,))
        kept = engine.past_events(since=0)
        self.assertEqual([e["Actor"]["Attributes"]["name"] for e in kept],
                         ["c5", "c6", "c7", "c8", "c9"])

    def test_since_until(self):
        """past_events selects by since and until (inclusive); neither gives nothing."""
        clock, engine = clocked()
        for name in ("c1", "c2", "c3"):
            engine.create({"Image": "busybox"}, name=name)
            clock.advance(10)
        t = (T0 + 10) * 10 ** 9

        def names(**kwargs):
            return [e["Actor"]["Attributes"]["name"] for e in engine.past_events(**kwargs)]

        self.assertEqual(names(since=t), ["c2", "c3"])
        self.assertEqual(names(until=t), ["c1", "c2"])
        self.assertEqual(names(since=t, until=t), ["c2"])
        self.assertEqual(names(), [])

    def test_filters(self):
        """container (ID or name prefix), event, type, image and label filters apply."""
        clock, engine = clocked()
        cid, _ = engine.create({"Image": "busybox", "Cmd": ["true"], "Labels": {"k": "v"}},
                               name="web")
        engine.start(cid)
        clock.advance(0)
        engine.create({"Image": "busybox"}, name="db")

        def picked(**values):
            filters = Filters({k: set(v) for k, v in values.items()})
            return [(e["Type"], e["Action"]) for e in engine.past_events(since=0,
                                                                         filters=filters)]

        self.assertEqual(picked(container=["we"]), [("container", a) for a in
                                                    ("create", "start", "die")])
        self.assertEqual(picked(container=[cid[:6]], event=["die"]), [("container", "die")])
        self.assertEqual(picked(type=["network"]), [("network", "connect"),
                                                    ("network", "disconnect")])
        self.assertEqual(picked(label=["k=v"], event=["create"]), [("container", "create")])
        self.assertEqual(picked(label=["k=w"]), [])
        self.assertEqual(len(picked(image=["busybox"], event=["create"])), 2)

    def test_subscribe(self):
        """Subscribers get new matching events until they unsubscribe."""
        clock, engine = clocked()
        seen = []
        unsubscribe = engine.subscribe(seen.append, Filters({"event": {"create"}}))
        self.assertEqual(engine.listeners, 1)
        engine.create({"Image": "busybox"}, name="c1")
        engine.remove("c1")
        unsubscribe()
        engine.create({"Image": "busybox"}, name="c2")
        self.assertEqual([e["Actor"]["Attributes"]["name"] for e in seen], ["c1"])
        self.assertEqual(engine.listeners, 0)


class RegistryTests(SynchronousTestCase):
    """
    Pulls from a FakeRegistry.
    """

    def test_pull_new_image(self):
        """A pull streams progress, adds the image with its tag and logs an image event."""
        registry = FakeRegistry(["busybox:latest", "127.0.0.1:5000/app:1"])
        clock, engine = clocked(registry=registry)
        seen = []
        d = engine.pull("127.0.0.1:5000/app", "1", seen.append)
        clock.advance(0)
        messages = self.successResultOf(d)
        self.assertEqual(messages, seen)
        self.assertEqual(messages[0], {"status": "Pulling from app", "id": "1"})
        self.assertEqual(messages[-1]["status"],
                         "Status: Downloaded newer image for 127.0.0.1:5000/app:1")
        image = engine.find_image("127.0.0.1:5000/app:1")
        self.assertEqual(image.tags, ["127.0.0.1:5000/app:1"])
        self.assertEqual(engine.past_events(since=0)[-1]["Actor"],
                         {"ID": "127.0.0.1:5000/app:1",
                          "Attributes": {"name": "127.0.0.1:5000/app"}})
        self.assertEqual(registry.pulls, ["127.0.0.1:5000/app:1"])

    def test_pull_present(self):
        """Pulling an image already there says it is up to date."""
        clock, engine = clocked()
        messages = self.successResultOf(engine.pull("busybox"))
        self.assertEqual(messages[-1], {"status": "Status: Image is up to date for "
                                                  "busybox:latest"})

    def test_pull_errors(self):
        """Unknown repository, tag, registry and bad references fail as dockerd reports."""
        clock, engine = clocked(registry=FakeRegistry(["busybox:latest"]))
        cases = [
            ("nosuch", 404, "pull access denied for nosuch, repository does not exist or may "
                            "require 'docker login': denied: requested access to the resource "
                            "is denied"),
            ("busybox:nope", 404,
             "manifest for busybox:nope not found: manifest unknown: manifest unknown"),
            ("127.0.0.1:1/nosuch:tag", 500,
             'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'),
            ("BAD", 400, "invalid reference format: repository name must be lowercase"),
            ("", 500, 'Get "http:": http: no Host in request URL'),
        ]
        for reference, status, message in cases:
            error = self.assertRaises(FakeAPIError, engine.pull, reference)
            self.assertEqual((error.status, error.message), (status, message))

    def test_pull_broken_in_stream(self):
        """A broken image fails after the pull started: the error is in the stream."""
        registry = FakeRegistry()
        registry.add("broken:1", error="unexpected EOF")
        clock, engine = clocked(registry=registry)
        messages = self.successResultOf(engine.pull("broken:1"))
        self.assertEqual(messages[-1], {"errorDetail": {"message": "unexpected EOF"},
                                        "error": "unexpected EOF"})
        self.assertIsNone(engine.find_image("broken:1"))

    def test_pull_delay(self):
        """A registry delay makes a pull take that long on the engine's clock."""
        registry = FakeRegistry(["busybox:latest", "app:1"], delay=3)
        clock, engine = clocked(registry=registry)
        d = engine.pull("app:1")
        clock.advance(2.9)
        self.assertNoResult(d)
        clock.advance(0.1)
        self.successResultOf(d)

    def test_shared_ids(self):
        """Every engine pulling from one registry gets the same image ID; busybox's is fixed."""
        registry = FakeRegistry(["busybox:latest", "app:1"])
        ids = []
        for seed in (1, 2):
            clock, engine = clocked(registry=registry, seed=seed)
            self.successResultOf(engine.pull("app:1"))
            ids.append(engine.find_image("app:1").id)
            self.assertEqual(engine.find_image("busybox").id, BUSYBOX_ID)
        self.assertEqual(ids[0], ids[1])

    def test_no_registry(self):
        """Without a registry every pull fails as on a machine with no network."""
        clock, engine = clocked()
        engine.registry = None
        error = self.assertRaises(FakeAPIError, engine.pull, "busybox")
        self.assertEqual(error.status, 500)
        self.assertIn("registry-1.docker.io", error.message)

    def test_image_lookup(self):
        """Images are found by name, full reference, ID, ID prefix; others 404."""
        clock, engine = clocked()
        for reference in ("busybox", "busybox:latest", "docker.io/library/busybox:latest",
                          BUSYBOX_ID, BUSYBOX_ID[7:19], "sha256:" + BUSYBOX_ID[7:13]):
            self.assertEqual(engine.inspect_image(reference)["Id"], BUSYBOX_ID, reference)
        error = self.assertRaises(FakeAPIError, engine.inspect_image, "nope")
        self.assertEqual(error.message, "no such image: nope: No such image: nope:latest")


class HTTPTests(SynchronousTestCase):
    """
    The HTTP front in memory, with StubTreq.
    """

    def setUp(self):
        self.clock, self.engine = clocked()
        self.stub = StubTreq(FakeEngineAPI(self.engine).resource())

    def get(self, path, method="GET", **kwargs):
        response = self.successResultOf(self.stub.request(method, "http://fake" + path,
                                                          **kwargs))
        body = self.successResultOf(treq.content(response))
        return response, body

    def test_headers_and_ping(self):
        """_ping answers OK with dockerd's headers, versioned or not, GET or HEAD."""
        for path, method in (("/_ping", "GET"), ("/v1.41/_ping", "GET"), ("/_ping", "HEAD")):
            response, body = self.get(path, method)
            self.assertEqual(response.code, 200)
            self.assertEqual(body, b"" if method == "HEAD" else b"OK")
            headers = response.headers
            self.assertEqual(headers.getRawHeaders(b"Api-Version"), [b"1.41"])
            self.assertEqual(headers.getRawHeaders(b"Server"), [b"Docker/20.10.24-fake (linux)"])

    def test_page_not_found(self):
        """Unknown routes, methods and version strings: 404 page not found, as dockerd."""
        for path, method in (("/nosuch", "GET"), ("/v1.41/nosuch", "GET"),
                             ("/version", "DELETE"), ("/vabc/version", "GET")):
            response, body = self.get(path, method)
            self.assertEqual(response.code, 404)
            self.assertEqual(json.loads(body), {"message": "page not found"})

    def test_version_bounds(self):
        """Too new a version is a JSON 400, too old a plain-text 400, as dockerd."""
        response, body = self.get("/v9.99/version")
        self.assertEqual(response.code, 400)
        self.assertEqual(json.loads(body), {"message": "client version 9.99 is too new. "
                                                       "Maximum supported API version is 1.41"})
        response, body = self.get("/v1.11/version")
        self.assertEqual(response.code, 400)
        self.assertTrue(body.startswith(b"client version 1.11 is too old."))
        self.assertEqual(response.headers.getRawHeaders(b"Content-Type"),
                         [b"text/plain; charset=utf-8"])

    def test_create_body_checks(self):
        """create wants a JSON content type; malformed JSON is dockerd's 500."""
        response, body = self.get("/containers/create", "POST", data=b'{"Image":"busybox"}')
        self.assertEqual(response.code, 400)
        self.assertIn(b"must be 'application/json'", body)
        response, body = self.get("/containers/create", "POST", data=b"garbage",
                                  headers={"Content-Type": "application/json"})
        self.assertEqual((response.code, json.loads(body)), (500, {
            "message": "invalid character 'g' looking for beginning of value"}))
        response, body = self.get("/containers/create?name=web", "POST",
                                  json={"Image": "busybox"})
        self.assertEqual(response.code, 201)
        self.assertEqual(json.loads(body)["Id"], self.engine.find("web").id)

    def test_start_stop_status(self):
        """start and stop answer 204, then 304 when there is nothing to do."""
        self.engine.create({"Image": "busybox", "Cmd": ["sleep", "300"]}, name="web")
        self.assertEqual(self.get("/containers/web/start", "POST")[0].code, 204)
        self.assertEqual(self.get("/containers/web/start", "POST")[0].code, 304)
        self.assertEqual(self.get("/containers/web/stop?t=0", "POST")[0].code, 204)
        self.assertEqual(self.get("/containers/web/stop", "POST")[0].code, 304)

    def test_fail_injection(self):
        """fail(status, message, count) answers the next calls with that error, then recovers."""
        self.engine.fail(503, "engine busy", count=2)
        for _ in range(2):
            response, body = self.get("/version")
            self.assertEqual((response.code, json.loads(body)),
                             (503, {"message": "engine busy"}))
        self.assertEqual(self.get("/version")[0].code, 200)

    def test_unreachable_in_memory(self):
        """While unreachable, in-memory requests are dropped without an answer."""
        self.engine.unreachable = True
        failure = self.failureResultOf(self.stub.get("http://fake/_ping"))
        self.assertTrue(failure.check(ResponseNeverReceived))
        self.engine.unreachable = False
        self.assertEqual(self.get("/_ping")[0].code, 200)

    def test_container_routes(self):
        """rename, top, kill and inspect answer over HTTP with dockerd's statuses."""
        self.engine.create({"Image": "busybox", "Cmd": ["sleep", "300"]}, name="web")
        self.engine.start("web")
        self.assertEqual(self.get("/v1.41/containers/web/rename?name=site", "POST")[0].code,
                         204)
        response, body = self.get("/v1.41/containers/site/top")
        self.assertEqual(json.loads(body)["Processes"][0][-1], "sleep 300")
        response, body = self.get("/containers/web/json")
        self.assertEqual((response.code, json.loads(body)),
                         (404, {"message": "No such container: web"}))
        self.assertEqual(self.get("/containers/site/kill?signal=KILL", "POST")[0].code, 204)
        response, body = self.get("/containers/site/json")
        self.assertEqual(json.loads(body)["State"]["ExitCode"], 137)
        self.assertEqual(self.get("/containers/site?force=1", "DELETE")[0].code, 204)
        self.assertEqual(self.engine.containers, {})

    def test_latency(self):
        """With latency set, answers wait that long on the engine's clock."""
        self.engine.latency = 2.0
        d = self.stub.get("http://fake/version")
        self.assertNoResult(d)
        self.clock.advance(1.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.stub.flush()
        self.assertEqual(self.successResultOf(d).code, 200)

    def test_logs_frames_and_params(self):
        """logs: frames per line, stream selection, timestamps, tail; no stream is a 400."""
        self.engine.create({"Image": "busybox", "Cmd": ["sh", "-c", "echo a; echo b >&2"]},
                           name="web")
        self.engine.start("web")
        self.clock.advance(0)
        response, body = self.get("/containers/web/logs?stdout=1&stderr=1")
        self.assertEqual(demux(body), [(1, b"a\n"), (2, b"b\n")])
        self.assertIsNone(response.headers.getRawHeaders(b"Content-Type"))
        response, body = self.get("/containers/web/logs?stdout=1&timestamps=1")
        self.assertEqual(demux(body), [(1, b"2026-11-28T12:00:00.000000000Z a\n")])
        response, body = self.get("/containers/web/logs?stdout=1&stderr=1&tail=1")
        self.assertEqual(demux(body), [(2, b"b\n")])
        response, body = self.get("/containers/web/logs")
        self.assertEqual((response.code, json.loads(body)), (400, {
            "message": "Bad parameters: you must choose at least one stream"}))

    def test_logs_follow(self):
        """follow streams new output as it comes and ends when the container stops."""
        self.engine.create({"Image": "busybox", "Cmd": ["sh", "-c", "echo a; sleep 2; echo b"]},
                           name="web")
        self.engine.start("web")
        self.clock.advance(0)
        response = self.successResultOf(self.stub.get(
            "http://fake/containers/web/logs?stdout=1&follow=1"))
        chunks = []
        done = treq.collect(response, chunks.append)
        self.stub.flush()
        self.assertEqual(demux(b"".join(chunks)), [(1, b"a\n")])
        self.assertNoResult(done)
        self.clock.advance(2)
        self.stub.flush()
        self.successResultOf(done)
        self.assertEqual(demux(b"".join(chunks)), [(1, b"a\n"), (1, b"b\n")])

    def test_logs_follow_stopped(self):
        """follow on a stopped container gives what is there and ends."""
        self.engine.create({"Image": "busybox", "Cmd": ["echo", "x"]}, name="web")
        self.engine.start("web")
        self.clock.advance(0)
        response, body = self.get("/containers/web/logs?stdout=1&follow=1")
        self.assertEqual(demux(body), [(1, b"x\n")])

    def test_events_until(self):
        """An events stream with a future until streams live events, then ends at until."""
        self.engine.create({"Image": "busybox"}, name="old")
        self.clock.advance(1)
        response = self.successResultOf(self.stub.get(
            "http://fake/events?since=%d&until=%d" % (T0, T0 + 5)))
        chunks = []
        done = treq.collect(response, chunks.append)
        self.engine.create({"Image": "busybox"}, name="new")
        self.stub.flush()
        self.assertNoResult(done)
        self.clock.advance(4)
        self.stub.flush()
        self.successResultOf(done)
        names = [json.loads(line)["Actor"]["Attributes"]["name"]
                 for line in b"".join(chunks).splitlines()]
        self.assertEqual(names, ["old", "new"])
        self.assertEqual(self.engine.listeners, 0)

    def test_events_errors(self):
        """since after until is 400; a malformed time is Go's 500."""
        response, body = self.get("/events?since=200&until=100")
        self.assertEqual((response.code, json.loads(body)), (400, {
            "message": "`since` time (200) cannot be after `until` time (100)"}))
        response, body = self.get("/events?since=abc")
        self.assertEqual((response.code, json.loads(body)), (500, {
            "message": 'strconv.ParseInt: parsing "abc": invalid syntax'}))

    def test_pull_stream(self):
        """images/create streams JSON progress; errors before the stream are statuses."""
        self.engine.registry.add("app:1")
        response, body = self.get("/images/create?fromImage=app&tag=1", "POST")
        self.assertEqual(response.code, 200)
        lines = [json.loads(line) for line in body.splitlines()]
        self.assertEqual(lines[-1]["status"], "Status: Downloaded newer image for app:1")
        response, body = self.get("/images/create?fromImage=app&tag=2", "POST")
        self.assertEqual(response.code, 404)
        self.assertIn("manifest for app:2 not found", json.loads(body)["message"])

    def test_wait_head_first(self):
        """wait sends its head at once and the status when the container exits."""
        self.engine.create({"Image": "busybox", "Cmd": ["sleep", "3"]}, name="web")
        self.engine.start("web")
        response = self.successResultOf(self.stub.post("http://fake/containers/web/wait"))
        self.assertEqual(response.code, 200)
        body = treq.content(response)
        self.assertNoResult(body)
        self.clock.advance(3)
        self.stub.flush()
        self.assertEqual(json.loads(self.successResultOf(body)),
                         {"Error": None, "StatusCode": 0})


class ServeTests(TestCase):
    """
    Serving over real sockets, and the unreachable fault.
    """

    @inlineCallbacks
    def serve(self, address="127.0.0.1:0"):
        self.engine = FakeEngine(reactor, name="n1")
        port = yield serve(self.engine, address, reactor)
        self.addCleanup(port.stopListening)
        client = EngineClient(port.address, reactor, timeout=5)
        self.addCleanup(client.close)
        return port, client

    @inlineCallbacks
    def test_tcp_any_port(self):
        """Serving on port 0 reports the bound 127.0.0.1 address, and answers there."""
        port, client = yield self.serve()
        self.assertRegex(port.address, r"^127\.0\.0\.1:\d+$")
        self.assertNotEqual(port.address, "127.0.0.1:0")
        self.assertEqual(self.engine.addresses, [port.address])
        info = yield client.info()
        self.assertEqual(info["Name"], "n1")

    @inlineCallbacks
    def test_unreachable_refuses(self):
        """While unreachable, calls fail with EngineUnreachable; afterwards they work."""
        port, client = yield self.serve()
        yield client.ping()
        self.engine.unreachable = True
        with self.assertRaises(EngineUnreachable):
            yield client.ping()
        self.engine.unreachable = False
        yield client.ping()

    @inlineCallbacks
    def test_unreachable_breaks_streams(self):
        """Becoming unreachable breaks an open events stream with EngineUnreachable."""
        port, client = yield self.serve()
        stream = yield client.events(lambda event: None)
        self.engine.unreachable = True
        with self.assertRaises(EngineUnreachable):
            yield stream.done

    @inlineCallbacks
    def test_fail_through_client(self):
        """An injected failure reaches the client as an EngineError with its status."""
        port, client = yield self.serve()
        self.engine.fail(500, "boom")
        with self.assertRaises(EngineError) as caught:
            yield client.info()
        self.assertEqual((caught.exception.status, caught.exception.message), (500, "boom"))

    @inlineCallbacks
    def test_stop_listening_closes(self):
        """stopListening also closes accepted connections and forgets the address."""
        port, client = yield self.serve()
        yield client.ping()
        self.assertEqual(len(port.site.connections), 1)
        yield port.stopListening()
        self.assertEqual(self.engine.addresses, [])
        with self.assertRaises(EngineUnreachable):
            yield client.ping()


class ExecAndFileTests(SynchronousTestCase):
    """
    Execs, files, stats and the rest of the container routes, on the
    engine's clock.
    """

    def setUp(self):
        self.clock, self.engine = clocked()
        self.stub = StubTreq(FakeEngineAPI(self.engine).resource())

    def running(self, cmd=("sleep", "300"), **config):
        body = {"Image": "busybox", "Cmd": list(cmd)}
        body.update(config)
        cid, _ = self.engine.create(body, name="c1")
        self.engine.start(cid)
        self.clock.advance(0)
        return self.engine.containers[cid]

    def test_exec_resize_unstarted_waits(self):
        """A resize of an exec never started fails after dockerd's 10 seconds, with its 500."""
        from swarmd.testing.fakeengine._exec import RESIZE_WAIT

        self.running()
        exec_id = self.engine.create_exec("c1", {"Cmd": ["true"]})
        d = self.engine.resize_exec(exec_id, 10, 20)
        self.clock.advance(RESIZE_WAIT - 0.1)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        error = self.failureResultOf(d, FakeAPIError).value
        self.assertEqual((error.status, error.message),
                         (500, "timeout waiting for exec session ready"))

    def test_exec_dies_with_container(self):
        """A container's end kills its running execs (137) and forgets those never started."""
        container = self.running()
        running = self.engine.create_exec("c1", {"Cmd": ["sleep", "300"]})
        self.engine.start_exec(running)
        waiting = self.engine.create_exec("c1", {"Cmd": ["true"]})
        self.assertEqual(container.exec_ids, [running, waiting])
        self.engine.kill("c1")
        self.assertEqual(self.engine.inspect_exec(running)["ExitCode"], 137)
        self.assertRaises(FakeAPIError, self.engine.inspect_exec, waiting)
        self.assertIsNone(container.exec_ids)
        dies = [e for e in self.engine.events if e.action == "exec_die"]
        self.assertEqual([(e.attributes["execID"], e.attributes["exitCode"]) for e in dies],
                         [(running, "137")])
        self.engine.remove("c1")
        self.assertRaises(FakeAPIError, self.engine.inspect_exec, running)

    def test_exec_output_on_clock(self):
        """An exec's output goes to its sink as its steps run, not to the container's logs."""
        container = self.running()
        seen = []

        class Sink:
            def output(self, stream, data):
                seen.append((stream, data))

            def end(self):
                seen.append("end")

        exec_id = self.engine.create_exec("c1", {"Cmd": ["sh", "-c", "echo a; sleep 2; echo b"],
                                                 "AttachStdout": True})
        self.engine.start_exec(exec_id, Sink())
        self.clock.advance(0)
        self.assertEqual(seen, [(1, b"a\n")])
        self.clock.advance(2)
        self.assertEqual(seen, [(1, b"a\n"), (1, b"b\n"), "end"])
        self.assertEqual(container.logs, [])

    def test_update_changes_given_values(self):
        """update sets the resources given a value, keeps the others, and the policy."""
        container = self.running(HostConfig={"CpuShares": 256, "Memory": 64 * 1024 ** 2,
                                             "MemorySwap": -1})
        self.engine.update("c1", {"CpuShares": 0, "Memory": 32 * 1024 ** 2, "MemorySwap": -1,
                                  "RestartPolicy": {"Name": "always"}})
        host = container.host_config
        self.assertEqual((host["CpuShares"], host["Memory"], host["RestartPolicy"]),
                         (256, 32 * 1024 ** 2, {"Name": "always", "MaximumRetryCount": 0}))

    def test_commit_layer_and_sharing(self):
        """A commit's layer holds the written files; df counts the layer they share once."""
        from swarmd.testing.fakeengine._layers import get_layer

        self.running(("sh", "-c", "echo data > /tmp/f"))
        image = self.engine.commit("c1", repo="snap")
        with tarfile.open(fileobj=io.BytesIO(get_layer(image.layers[-1]).data)) as layer:
            self.assertEqual([m.name for m in layer.getmembers()], ["tmp", "tmp/f"])
        self.assertEqual(image.tags, ["snap:latest"])
        usage = self.engine.disk_usage()
        shared = {i["Id"]: i["SharedSize"] for i in usage["Images"]}
        self.assertEqual(shared, {BUSYBOX_ID: BUSYBOX_SIZE, image.id: BUSYBOX_SIZE})
        self.assertEqual(usage["LayersSize"], BUSYBOX_SIZE + 5)

    def test_stats_stream_ends_with_container(self):
        """A stats stream sends a frame a second and ends when its container is removed."""
        self.running()
        d = self.stub.request("GET", "http://fake/containers/c1/stats")
        response = self.successResultOf(d)
        chunks = []
        done = treq.collect(response, chunks.append)
        self.clock.advance(1)
        self.clock.advance(1)
        self.stub.flush()
        frames = [json.loads(line) for line in b"".join(chunks).splitlines()]
        self.assertEqual(len(frames), 2)
        self.assertEqual(frames[1]["preread"], frames[0]["read"])
        self.engine.remove("c1", force=True)
        self.clock.advance(1)
        self.stub.flush()
        self.successResultOf(done)

    def test_halt(self):
        """halt cancels every timer of the engine's containers and execs."""
        self.running()
        exec_id = self.engine.create_exec("c1", {"Cmd": ["sleep", "30"]})
        self.engine.start_exec(exec_id)
        self.engine.stop("c1", 10)
        self.assertTrue(self.clock.getDelayedCalls())
        self.engine.halt()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_hijacked_routes_refuse_in_memory(self):
        """Through StubTreq a hijacked route's refusals still come, as JSON answers."""
        response = self.successResultOf(self.stub.request(
            "POST", "http://fake/exec/nosuch/start", json={"Detach": False}))
        self.assertEqual(response.code, 404)
        self.assertEqual(json.loads(self.successResultOf(treq.content(response))),
                         {"message": "No such exec instance: nosuch"})
        response = self.successResultOf(self.stub.request(
            "GET", "http://fake/containers/nosuch/attach/ws"))
        self.assertEqual(response.code, 404)
