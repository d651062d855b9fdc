"""
The conformance suite of L{IEngineClient}: behaviour every engine shows
through L{swarmd.engine.EngineClient}, run against the fake engine in unit
tests and against a real dockerd in functional tests, so the fake stays
honest::

    def fixture(testcase):
        ...start or find an engine, register its cleanup on testcase...
        return succeed(EngineClient(address, reactor))

    class FakeEngineConformance(make_iengine_tests(fixture)):
        pass

The tests run on the real reactor (engines answer over real sockets).
Every container a test makes has a unique C{conf-...} name and is removed
when the test ends, whether it passed or not.
"""

import uuid

from treq import content
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from swarmd.engine import EngineError, IEngineClient, IEventStream

__all__ = ["demux", "make_iengine_tests"]

#: Seconds a test waits for something an engine does by itself (a
#: container exiting, an event arriving).
PATIENCE = 20.0


def _reactor():
    from twisted.internet import reactor

    return reactor


def demux(data):
    """
    Split a multiplexed log stream (8-byte frame headers) into frames.

    @param data: the raw C{bytes}.
    @return: a C{list} of C{(stream, payload)}; stream 1 is stdout, 2 stderr.
    @raise ValueError: if the data is not a sequence of whole frames.
    """
    frames = []
    index = 0
    while index < len(data):
        header = data[index:index + 8]
        if len(header) < 8 or header[1:4] != b"\0\0\0" or header[0] not in (0, 1, 2):
            raise ValueError("not a multiplexed stream at byte %d: %r" % (index, header))
        size = int.from_bytes(header[4:8], "big")
        payload = data[index + 8:index + 8 + size]
        if len(payload) < size:
            raise ValueError("truncated frame at byte %d" % (index,))
        frames.append((header[0], payload))
        index += 8 + size
    return frames


def make_iengine_tests(fixture):
    """
    Build the conformance suite of L{IEngineClient}.

    @param fixture: called as C{fixture(testcase)}; returns a L{Deferred}
        firing with an L{IEngineClient} talking to the engine under test
        (with C{busybox:latest} present), after registering on C{testcase}
        whatever cleanup the engine and client need.
    @return: a L{TestCase} subclass; subclass it in a test module to run it.
    """

    class IEngineClientTests(TestCase):
        """
        Behaviour every Docker engine shows through L{IEngineClient}.
        """

        timeout = 120

        @inlineCallbacks
        def setUp(self):
            self.client = yield fixture(self)
            self.made = []
            self.addCleanup(self._remove_made)

        @inlineCallbacks
        def _remove_made(self):
            for cid in reversed(self.made):
                try:
                    yield self.client.remove_container(cid, force=True, volumes=True)
                except EngineError as e:
                    if e.status != 404:
                        raise

        # -- helpers --------------------------------------------------------------------

        def unique(self, what="c"):
            """
            @return: a container name no other test or run uses.
            """
            return "conf-%s-%s" % (what, uuid.uuid4().hex[:10])

        @inlineCallbacks
        def create(self, cmd, name=None, **config):
            """
            Create a busybox container running C{cmd}, removed after the test.

            @return: a L{Deferred} firing with C{(id, name)}.
            """
            name = name or self.unique()
            body = {"Image": "busybox", "Cmd": list(cmd)}
            body.update(config)
            created = yield self.client.create_container(body, name=name)
            self.made.append(created["Id"])
            return created["Id"], name

        @inlineCallbacks
        def started(self, cmd, **config):
            cid, name = yield self.create(cmd, **config)
            yield self.client.start_container(cid)
            return cid, name

        @inlineCallbacks
        def state(self, cid):
            inspected = yield self.client.inspect_container(cid)
            return inspected["State"]

        @inlineCallbacks
        def assertEngineError(self, d, status):
            """
            Check C{d} fails with an L{EngineError} of C{status}.

            @return: a L{Deferred} firing with the error.
            """
            try:
                result = yield d
            except EngineError as e:
                self.assertEqual(e.status, status, "wrong status, message %r" % (e.message,))
                return e
            self.fail("expected EngineError %d, got %r" % (status, result))

        def wait(self, cid):
            return self.client.wait_container(cid).addTimeout(PATIENCE, _reactor())

        # -- the interface ------------------------------------------------------------

        def test_conforms_to_interface(self):
            """
            The client provides IEngineClient.
            """
            self.assertTrue(verifyObject(IEngineClient, self.client))

        # -- system -------------------------------------------------------------------

        @inlineCallbacks
        def test_ping(self):
            """
            ping fires with None.
            """
            self.assertIsNone((yield self.client.ping()))

        @inlineCallbacks
        def test_version(self):
            """
            version gives the engine's ApiVersion and fixes the client's.
            """
            version = yield self.client.version()
            self.assertRegex(version["ApiVersion"], r"^1\.\d+$")
            self.assertTrue(version["Version"])
            self.assertEqual(version["Os"], "linux")
            self.assertRegex(self.client.api_version, r"^1\.\d+$")
            theirs = tuple(int(p) for p in version["ApiVersion"].split("."))
            ours = tuple(int(p) for p in self.client.api_version.split("."))
            self.assertLessEqual(ours, theirs)

        @inlineCallbacks
        def test_info(self):
            """
            info carries ID, Name, Labels ("k=v" strings), NCPU and MemTotal.
            """
            info = yield self.client.info()
            self.assertRegex(info["ID"], r"^([A-Z0-9]{4}:){11}[A-Z0-9]{4}$")
            self.assertTrue(info["Name"])
            self.assertIsInstance(info["Labels"], list)
            for label in info["Labels"]:
                self.assertIn("=", label)
            self.assertGreater(info["NCPU"], 0)
            self.assertGreater(info["MemTotal"], 0)
            for key in ("Containers", "ContainersRunning", "ContainersPaused",
                        "ContainersStopped", "Images"):
                self.assertIsInstance(info[key], int)

        @inlineCallbacks
        def test_info_counts(self):
            """
            info counts a new running container among Containers and Running.
            """
            before = yield self.client.info()
            yield self.started(["sleep", "300"])
            after = yield self.client.info()
            self.assertEqual(after["Containers"], before["Containers"] + 1)
            self.assertEqual(after["ContainersRunning"], before["ContainersRunning"] + 1)
            self.assertEqual(after["Containers"], after["ContainersRunning"]
                             + after["ContainersPaused"] + after["ContainersStopped"])

        # -- create and inspect -------------------------------------------------------

        @inlineCallbacks
        def test_create_inspect(self):
            """
            A created container inspects with its name, config and a created state.
            """
            name = self.unique()
            created = yield self.client.create_container(
                {"Image": "busybox", "Cmd": ["sleep", "300"], "Labels": {"conf": "yes"},
                 "Env": ["A=1"], "HostConfig": {"CpuShares": 512, "Memory": 64 * 1024 ** 2}},
                name=name)
            self.made.append(created["Id"])
            self.assertRegex(created["Id"], r"^[0-9a-f]{64}$")
            self.assertEqual(created["Warnings"], [])
            inspected = yield self.client.inspect_container(name)
            self.assertEqual(inspected["Id"], created["Id"])
            self.assertEqual(inspected["Name"], "/" + name)
            self.assertRegex(inspected["Created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertRegex(inspected["Image"], r"^sha256:[0-9a-f]{64}$")
            self.assertEqual(inspected["Path"], "sleep")
            self.assertEqual(inspected["Args"], ["300"])
            state = inspected["State"]
            self.assertEqual(
                (state["Status"], state["Running"], state["Paused"], state["Restarting"],
                 state["ExitCode"], state["Pid"]),
                ("created", False, False, False, 0, 0))
            self.assertEqual(state["StartedAt"], "0001-01-01T00:00:00Z")
            config = inspected["Config"]
            self.assertEqual(config["Image"], "busybox")
            self.assertEqual(config["Cmd"], ["sleep", "300"])
            self.assertEqual(config["Labels"], {"conf": "yes"})
            self.assertIn("A=1", config["Env"])
            self.assertIs(config["Tty"], False)
            host = inspected["HostConfig"]
            self.assertEqual(host["CpuShares"], 512)
            self.assertEqual(host["Memory"], 64 * 1024 ** 2)
            self.assertEqual(host["NetworkMode"], "default")
            self.assertIn("Ports", inspected["NetworkSettings"])
            self.assertIn("bridge", inspected["NetworkSettings"]["Networks"])

        @inlineCallbacks
        def test_inspect_by_id_prefix(self):
            """
            A container is found by a unique prefix of its ID.
            """
            cid, name = yield self.create(["true"])
            inspected = yield self.client.inspect_container(cid[:16])
            self.assertEqual(inspected["Name"], "/" + name)

        @inlineCallbacks
        def test_port_bindings(self):
            """
            Port bindings are kept in HostConfig and published while running.
            """
            cid, _ = yield self.started(
                ["sleep", "300"], ExposedPorts={"80/tcp": {}},
                HostConfig={"PortBindings": {"80/tcp": [{"HostPort": ""}]}})
            inspected = yield self.client.inspect_container(cid)
            self.assertEqual(inspected["HostConfig"]["PortBindings"],
                             {"80/tcp": [{"HostIp": "", "HostPort": ""}]})
            published = inspected["NetworkSettings"]["Ports"]["80/tcp"]
            self.assertTrue(published)
            self.assertGreater(int(published[0]["HostPort"]), 0)
            listed = yield self.client.list_containers(filters={"id": [cid]})
            self.assertIn(80, [p["PrivatePort"] for p in listed[0]["Ports"]])

        @inlineCallbacks
        def test_duplicate_name(self):
            """
            A second create with a name in use fails with 409 naming the holder.
            """
            cid, name = yield self.create(["true"])
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox", "Cmd": ["true"]}, name=name),
                409)
            self.assertIn('"/%s" is already in use' % (name,), error.message)
            self.assertIn(cid, error.message)

        @inlineCallbacks
        def test_invalid_name(self):
            """
            A one-character name is refused with 400.
            """
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox"}, name="x"), 400)
            self.assertIn("Invalid container name (x)", error.message)

        @inlineCallbacks
        def test_create_missing_image(self):
            """
            Creating from an image the engine lacks fails with 404 No such image.
            """
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox:nope"}, name=self.unique()),
                404)
            self.assertEqual(error.message, "No such image: busybox:nope")

        @inlineCallbacks
        def test_inspect_missing(self):
            """
            Inspecting an unknown container fails with 404 No such container.
            """
            name = self.unique()
            error = yield self.assertEngineError(self.client.inspect_container(name), 404)
            self.assertEqual(error.message, "No such container: " + name)

        # -- life cycle -------------------------------------------------------------------

        @inlineCallbacks
        def test_start_running(self):
            """
            A started sleep is running with a pid and a start time.
            """
            cid, _ = yield self.started(["sleep", "300"])
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("running", True, False))
            self.assertGreater(state["Pid"], 0)
            self.assertNotEqual(state["StartedAt"], "0001-01-01T00:00:00Z")
            self.assertEqual(state["FinishedAt"], "0001-01-01T00:00:00Z")

        @inlineCallbacks
        def test_start_twice(self):
            """
            Starting a running container again succeeds (dockerd's 304).
            """
            cid, _ = yield self.started(["sleep", "300"])
            self.assertIsNone((yield self.client.start_container(cid)))
            self.assertTrue((yield self.state(cid))["Running"])

        @inlineCallbacks
        def test_echo_exits_zero_with_output(self):
            """
            echo hello: wait gives StatusCode 0, logs one stdout frame "hello\\n".
            """
            cid, _ = yield self.started(["echo", "hello"])
            result = yield self.wait(cid)
            self.assertEqual(result["StatusCode"], 0)
            logs = yield self.client.container_logs(cid)
            self.assertEqual(demux(logs), [(1, b"hello\n")])
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 0))
            self.assertNotEqual(state["FinishedAt"], "0001-01-01T00:00:00Z")

        @inlineCallbacks
        def test_exit_code(self):
            """
            sh -c "exit 3" ends with StatusCode 3.
            """
            cid, _ = yield self.started(["sh", "-c", "exit 3"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 3)
            self.assertEqual((yield self.state(cid))["ExitCode"], 3)

        @inlineCallbacks
        def test_false(self):
            """
            false ends with StatusCode 1.
            """
            cid, _ = yield self.started(["false"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 1)

        @inlineCallbacks
        def test_shell_needs_stdin(self):
            """
            sh with no open stdin exits 0 at once; with OpenStdin and a TTY it runs.
            """
            quits, _ = yield self.started(["sh"])
            self.assertEqual((yield self.wait(quits))["StatusCode"], 0)
            stays, _ = yield self.started(["sh"], OpenStdin=True, Tty=True)
            self.assertTrue((yield self.state(stays))["Running"])
            listed = yield self.client.list_containers(all=False, filters={"id": [stays]})
            self.assertEqual(listed[0]["Command"], "sh")

        @inlineCallbacks
        def test_stderr_logs(self):
            """
            Output to stderr comes in stream-2 frames, kept apart from stdout.
            """
            cid, _ = yield self.started(["sh", "-c", "echo out; echo err >&2"])
            yield self.wait(cid)
            both = demux((yield self.client.container_logs(cid)))
            self.assertEqual(sorted(both), [(1, b"out\n"), (2, b"err\n")])
            only = demux((yield self.client.container_logs(cid, stdout=False)))
            self.assertEqual(only, [(2, b"err\n")])

        @inlineCallbacks
        def test_logs_tail(self):
            """
            tail=1 gives the last line only.
            """
            cid, _ = yield self.started(["sh", "-c", "echo one; echo two"])
            yield self.wait(cid)
            logs = yield self.client.container_logs(cid, stderr=False, tail=1)
            self.assertEqual(demux(logs), [(1, b"two\n")])

        @inlineCallbacks
        def test_tty_logs_raw(self):
            """
            With a TTY the logs are raw bytes, lines ending in CRLF.
            """
            cid, _ = yield self.started(["echo", "hi"], Tty=True)
            yield self.wait(cid)
            self.assertEqual((yield self.client.container_logs(cid)), b"hi\r\n")

        @inlineCallbacks
        def test_wait_created(self):
            """
            Waiting on a never-started container answers at once with 0.
            """
            cid, _ = yield self.create(["sleep", "300"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 0)

        @inlineCallbacks
        def test_stop(self):
            """
            Stopping sleep 300 (which ignores SIGTERM as PID 1) kills it: 137.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.stop_container(cid, timeout=1)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["ExitCode"]),
                             ("exited", False, 137))

        @inlineCallbacks
        def test_stop_stopped(self):
            """
            Stopping a container that is not running succeeds (dockerd's 304).
            """
            cid, _ = yield self.create(["sleep", "300"])
            self.assertIsNone((yield self.client.stop_container(cid, timeout=0)))
            self.assertEqual((yield self.state(cid))["Status"], "created")

        @inlineCallbacks
        def test_pause_unpause(self):
            """
            pause shows Paused (still Running); unpause makes it running again.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.pause_container(cid)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("paused", True, True))
            listed = yield self.client.list_containers(all=False, filters={"id": [cid]})
            self.assertEqual([c["State"] for c in listed], ["paused"])
            yield self.client.unpause_container(cid)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("running", True, False))

        @inlineCallbacks
        def test_pause_errors(self):
            """
            Pausing a stopped container is 409; unpausing one not paused fails.
            """
            cid, _ = yield self.create(["sleep", "300"])
            error = yield self.assertEngineError(self.client.pause_container(cid), 409)
            self.assertEqual(error.message, "Container %s is not running" % (cid,))
            error = yield self.assertEngineError(self.client.unpause_container(cid), 500)
            self.assertEqual(error.message, "Container %s is not paused" % (cid,))

        @inlineCallbacks
        def test_start_paused(self):
            """
            Starting a paused container is 409.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.pause_container(cid)
            error = yield self.assertEngineError(self.client.start_container(cid), 409)
            self.assertEqual(error.message, "cannot start a paused container, try unpause "
                                            "instead")

        @inlineCallbacks
        def test_kill(self):
            """
            kill ends a container with 137; killing it again is 409.
            """
            cid, name = yield self.started(["sleep", "300"])
            yield self.client.kill_container(cid)
            self.assertEqual((yield self.wait(cid))["StatusCode"], 137)
            state = yield self.state(cid)
            self.assertEqual((state["Running"], state["ExitCode"]), (False, 137))
            error = yield self.assertEngineError(self.client.kill_container(name), 409)
            self.assertEqual(error.message, "Cannot kill container: %s: Container %s is not "
                                            "running" % (name, cid))

        @inlineCallbacks
        def test_kill_bad_signal(self):
            """
            An unknown signal is refused with 400.
            """
            cid, _ = yield self.started(["sleep", "300"])
            error = yield self.assertEngineError(
                self.client.kill_container(cid, signal="BOGUS"), 400)
            self.assertEqual(error.message, "Invalid signal: BOGUS")
            self.assertTrue((yield self.state(cid))["Running"])

        @inlineCallbacks
        def test_restart(self):
            """
            restart of a running container starts it again, with a new start time.
            """
            cid, _ = yield self.started(["sleep", "300"])
            first = (yield self.state(cid))["StartedAt"]
            yield self.client.restart_container(cid, timeout=0)
            state = yield self.state(cid)
            self.assertEqual(state["Status"], "running")
            self.assertGreater(state["StartedAt"], first)

        @inlineCallbacks
        def test_restart_stopped(self):
            """
            restart of an exited container starts it.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.kill_container(cid)
            yield self.wait(cid)
            yield self.client.restart_container(cid, timeout=0)
            self.assertEqual((yield self.state(cid))["Status"], "running")

        @inlineCallbacks
        def test_remove(self):
            """
            Removing a running container needs force (409 without); then it is gone (404).
            """
            cid, name = yield self.started(["sleep", "300"])
            error = yield self.assertEngineError(self.client.remove_container(cid), 409)
            self.assertIn("You cannot remove a running container " + cid, error.message)
            self.assertTrue((yield self.state(cid))["Running"])
            yield self.client.remove_container(cid, force=True)
            yield self.assertEngineError(self.client.inspect_container(cid), 404)
            yield self.assertEngineError(self.client.inspect_container(name), 404)

        @inlineCallbacks
        def test_remove_frees_name(self):
            """
            A removed container's name can be used again.
            """
            cid, name = yield self.create(["true"])
            yield self.client.remove_container(cid)
            again, _ = yield self.create(["true"], name=name)
            self.assertNotEqual(again, cid)

        # -- lists ------------------------------------------------------------------------

        @inlineCallbacks
        def test_list_containers(self):
            """
            The list holds stopped containers only with all; a name filter selects.
            """
            running, running_name = yield self.started(["sleep", "300"])
            stopped, stopped_name = yield self.create(["true"])
            every = yield self.client.list_containers(all=True)
            ids = [c["Id"] for c in every]
            self.assertIn(running, ids)
            self.assertIn(stopped, ids)
            active = [c["Id"] for c in (yield self.client.list_containers(all=False))]
            self.assertIn(running, active)
            self.assertNotIn(stopped, active)
            named = yield self.client.list_containers(all=True,
                                                      filters={"name": [stopped_name]})
            self.assertEqual([c["Id"] for c in named], [stopped])
            summary = [c for c in every if c["Id"] == running][0]
            self.assertEqual(summary["Names"], ["/" + running_name])
            self.assertEqual(summary["Image"], "busybox")
            self.assertEqual(summary["Command"], "sleep 300")
            self.assertEqual(summary["State"], "running")
            self.assertTrue(summary["Status"].startswith("Up "))
            self.assertIsInstance(summary["Created"], int)

        @inlineCallbacks
        def test_list_filters(self):
            """
            status, id and label filters select as dockerd does.
            """
            labelled, _ = yield self.create(["true"], Labels={"conf-filter": "x"})
            started, _ = yield self.started(["sleep", "300"], Labels={"conf-filter": "y"})
            created = yield self.client.list_containers(
                all=True, filters={"status": ["created"], "label": ["conf-filter"]})
            self.assertEqual([c["Id"] for c in created], [labelled])
            by_label = yield self.client.list_containers(
                all=True, filters={"label": ["conf-filter=y"]})
            self.assertEqual([c["Id"] for c in by_label], [started])
            by_id = yield self.client.list_containers(all=True, filters={"id": [started[:20]]})
            self.assertEqual([c["Id"] for c in by_id], [started])

        @inlineCallbacks
        def test_list_bad_filter(self):
            """
            An unknown filter key is refused with 400.
            """
            error = yield self.assertEngineError(
                self.client.list_containers(filters={"bogus": ["x"]}), 400)
            self.assertEqual(error.message, "Invalid filter 'bogus'")

        @inlineCallbacks
        def test_list_images(self):
            """
            The image list holds busybox:latest.
            """
            images = yield self.client.list_images()
            tags = [t for i in images for t in (i["RepoTags"] or [])]
            self.assertIn("busybox:latest", tags)
            for image in images:
                self.assertRegex(image["Id"], r"^sha256:[0-9a-f]{64}$")

        @inlineCallbacks
        def test_inspect_image(self):
            """
            busybox inspects with its ID and tag; a missing image is 404.
            """
            image = yield self.client.inspect_image("busybox")
            self.assertIn("busybox:latest", image["RepoTags"])
            self.assertRegex(image["Id"], r"^sha256:[0-9a-f]{64}$")
            error = yield self.assertEngineError(self.client.inspect_image("busybox:nope"), 404)
            self.assertEqual(error.message,
                             "no such image: busybox:nope: No such image: busybox:nope")

        @inlineCallbacks
        def test_list_networks(self):
            """
            The network list has bridge, host and none with their drivers.
            """
            networks = yield self.client.list_networks()
            drivers = {n["Name"]: n["Driver"] for n in networks}
            self.assertEqual({k: drivers.get(k) for k in ("bridge", "host", "none")},
                             {"bridge": "bridge", "host": "host", "none": "null"})

        @inlineCallbacks
        def test_list_volumes(self):
            """
            The volume list is a list.
            """
            self.assertIsInstance((yield self.client.list_volumes()), list)

        @inlineCallbacks
        def test_pull_unreachable_registry(self):
            """
            Pulling from a registry nobody serves fails with an EngineError.
            """
            try:
                yield self.client.pull_image("127.0.0.1:1/nosuch:tag")
            except EngineError as e:
                self.assertIn("127.0.0.1:1", e.message)
            else:
                self.fail("the pull did not fail")

        @inlineCallbacks
        def test_raw_request(self):
            """
            request() sends a raw request and fires with the response head.
            """
            response = yield self.client.request("GET", "/_ping")
            self.assertEqual(response.code, 200)
            self.assertTrue(response.headers.getRawHeaders(b"Api-Version"))
            self.assertEqual((yield content(response)), b"OK")

        # -- events -----------------------------------------------------------------------

        @inlineCallbacks
        def test_events(self):
            """
            The stream delivers create, start, die, destroy in order, then stop() ends it.
            """
            seen = []
            destroyed = Deferred()
            mine = []

            def got(event):
                seen.append(event)
                if mine and event.get("Actor", {}).get("ID") == mine[0] and (
                        event.get("Action") == "destroy") and not destroyed.called:
                    destroyed.callback(None)

            stream = yield self.client.events(got, filters={"type": ["container"]})
            self.assertTrue(verifyObject(IEventStream, stream))
            cid, name = yield self.create(["echo", "hi"])
            mine.append(cid)
            yield self.client.start_container(cid)
            yield self.wait(cid)
            yield self.client.remove_container(cid)
            yield destroyed.addTimeout(PATIENCE, _reactor())
            ours = [e for e in seen if e["Actor"]["ID"] == cid]
            self.assertEqual([e["Action"] for e in ours], ["create", "start", "die", "destroy"])
            for event in ours:
                self.assertEqual(event["Type"], "container")
                self.assertEqual(event["Actor"]["Attributes"]["name"], name)
                self.assertEqual(event["time"], event["timeNano"] // 10 ** 9)
            self.assertEqual(ours[2]["Actor"]["Attributes"]["exitCode"], "0")
            nanos = [e["timeNano"] for e in ours]
            self.assertEqual(nanos, sorted(nanos))
            stream.stop()
            self.assertIsNone((yield stream.done.addTimeout(PATIENCE, _reactor())))

        @inlineCallbacks
        def test_events_since(self):
            """
            since replays past events, filtered by container.
            """
            cid, _ = yield self.create(["true"])
            inspected = yield self.client.inspect_container(cid)
            yield deferLater(_reactor(), 0.05, lambda: None)
            seen = []
            stream = yield self.client.events(seen.append, since="0",
                                              filters={"container": [cid]})
            for _ in range(int(PATIENCE / 0.05)):
                if seen:
                    break
                yield deferLater(_reactor(), 0.05, lambda: None)
            stream.stop()
            yield stream.done
            self.assertEqual([e["Action"] for e in seen], ["create"])
            self.assertEqual(seen[0]["Actor"]["Attributes"]["image"],
                             inspected["Config"]["Image"])

    return IEngineClientTests
