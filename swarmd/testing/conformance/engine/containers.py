"""
The engine conformance suite: containers (create, inspect, life cycle,
logs, lists).
"""

import json

from twisted.internet.defer import inlineCallbacks
from twisted.web.client import readBody

from swarmd.testing.conformance.engine._support import demux


class ContainerConformance:
    """
    Containers: create, inspect, life cycle, logs and lists.
    """

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
    def test_logs_streamed(self):
        """
        C{stream} reads a log of many lines whole, as the engine framed it;
        an unknown container's answer is the engine's 404.
        """
        script = "; ".join("echo line%d" % (i,) for i in range(300))
        cid, _ = yield self.started(["sh", "-c", script])
        yield self.wait(cid)
        response = yield self.client.stream(
            "GET", "/containers/%s/logs?stdout=1&stderr=1" % (cid,))
        body = yield readBody(response)
        self.assertEqual(response.code, 200)
        self.assertEqual(demux(body), [(1, b"line%d\n" % (i,)) for i in range(300)])
        response = yield self.client.stream("GET", "/containers/%s/logs?stdout=1"
                                            % (self.unique(),))
        body = yield readBody(response)
        self.assertEqual(response.code, 404)
        self.assertIn("No such container", json.loads(body)["message"])

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
