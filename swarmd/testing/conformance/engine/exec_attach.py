"""
The engine conformance suite: exec and attach (hijacked streams).
"""

import base64
import hashlib
import json
import uuid

from twisted.internet.defer import inlineCallbacks

from swarmd import API_VERSION
from swarmd.testing.conformance.engine._support import demux, frame, parse_head


class ExecConformance:
    """
    The exec routes, as every engine answers them.
    """

    @inlineCallbacks
    def test_exec_create_inspect(self):
        """
        An exec is created in a running container, listed in its ExecIDs, inspected unstarted.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["echo", "hi"], AttachStdout=True,
                                         AttachStderr=True, User="root", DetachKeys="ctrl-x")
        self.assertRegex(exec_id, r"^[0-9a-f]{64}$")
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200)
        self.assertEqual(inspected, {
            "ID": exec_id, "Running": False, "ExitCode": None,
            "ProcessConfig": {"tty": False, "entrypoint": "echo", "arguments": ["hi"],
                              "privileged": False, "user": "root"},
            "OpenStdin": False, "OpenStderr": True, "OpenStdout": True, "CanRemove": False,
            "ContainerID": cid, "DetachKeys": "GA==", "Pid": 0})
        container = yield self.client.inspect_container(cid)
        self.assertEqual(container["ExecIDs"], [exec_id])
        found = yield self.seen(events, [("container", "exec_create: echo hi", cid)])
        self.assertEqual(found[0]["Actor"]["Attributes"]["execID"], exec_id)

    @inlineCallbacks
    def test_exec_create_refused(self):
        """
        An exec needs a command, a JSON body and a running, unpaused container.
        """
        cid, name = yield self.started(["sleep", "300"])
        path = "/containers/%s/exec" % (cid,)
        message = yield self.refused("POST", path, {"AttachStdout": True}, status=400)
        self.assertEqual(message, "No exec command specified")
        message = yield self.refused("POST", path, b"", status=400,
                                     content_type="application/json")
        self.assertEqual(message, "got EOF while reading request body")
        message = yield self.refused("POST", path, {"Cmd": "true"}, status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "ExecConfig.Cmd of type []string")
        message = yield self.refused("POST", path, b'{"Cmd":["true"]}', status=400,
                                     content_type="text/plain")
        self.assertEqual(message, "Content-Type specified (text/plain) must be "
                                  "'application/json'")
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/containers/%s/exec" % (ghost,),
                                     {"Cmd": ["true"]}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        idle, idle_name = yield self.create(["sleep", "300"])
        message = yield self.refused("POST", "/containers/%s/exec" % (idle_name,),
                                     {"Cmd": ["true"]}, status=409)
        self.assertEqual(message, "Container %s is not running" % (idle,))
        yield self.client.pause_container(cid)
        message = yield self.refused("POST", "/containers/%s/exec" % (name,),
                                     {"Cmd": ["true"]}, status=409)
        self.assertEqual(message, "Container %s is paused, unpause the container before exec"
                         % (name,))

    @inlineCallbacks
    def test_exec_start_detached(self):
        """
        A detached start answers 200 at once; the exec runs, ends, and cannot start again.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["sleep", "1"])
        code, headers, body = yield self.call("POST", "/exec/%s/start" % (exec_id,),
                                              {"Detach": True})
        self.assertEqual((code, body), (200, b""))
        _, running = yield self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200)
        self.assertEqual((running["Running"], running["ExitCode"]), (True, None))
        self.assertGreater(running["Pid"], 0)
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Error: Exec command %s is already running" % (exec_id,))
        ended = yield self.exec_ended(exec_id)
        self.assertEqual((ended["Running"], ended["ExitCode"], ended["Pid"]),
                         (False, 0, running["Pid"]))
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Error: Exec command %s has already run" % (exec_id,))
        self.assertIsNone((yield self.client.inspect_container(cid))["ExecIDs"])
        found = yield self.seen(events, [("container", "exec_start: sleep 1", cid),
                                         ("container", "exec_die", cid)])
        self.assertEqual((found[1]["Actor"]["Attributes"]["execID"],
                          found[1]["Actor"]["Attributes"]["exitCode"]), (exec_id, "0"))

    @inlineCallbacks
    def test_exec_start_stream(self):
        """
        A start with Upgrade is answered 101 and the multiplexed output, then the engine ends it.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"],
                                         AttachStdout=True, AttachStderr=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,),
                                   {"Detach": False, "Tty": False})
        status, headers = parse_head((yield stream.wait_head()))
        self.assertEqual(status, "HTTP/1.1 101 UPGRADED")
        self.assertEqual((headers["content-type"], headers["connection"], headers["upgrade"]),
                         ("application/vnd.docker.raw-stream", "Upgrade", "tcp"))
        self.assertEqual(headers["api-version"], API_VERSION)
        yield stream.wait_end()
        self.assertTrue(stream.peer_closed)
        self.assertEqual(sorted(demux(stream.body)), [(1, b"out\n"), (2, b"err\n")])
        self.assertEqual((yield self.exec_ended(exec_id))["ExitCode"], 3)

    @inlineCallbacks
    def test_exec_start_plain(self):
        """
        A start without Upgrade is answered 200 OK with the raw stream; a TTY exec's is raw.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["echo", "plain"], AttachStdout=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,), {"Detach": False},
                                   upgrade=False)
        status, headers = parse_head((yield stream.wait_head()))
        self.assertEqual((status, headers["content-type"]),
                         ("HTTP/1.1 200 OK", "application/vnd.docker.raw-stream"))
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"plain\n")])
        tty_id = yield self.exec_create(cid, ["echo", "tty"], AttachStdout=True, Tty=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (tty_id,),
                                   {"Detach": False, "Tty": True})
        yield stream.wait_end()
        self.assertEqual(stream.body, b"tty\r\n")

    @inlineCallbacks
    def test_exec_stdin(self):
        """
        cat with an attached stdin echoes what is sent; closing stdin ends it with 0.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["cat"], AttachStdin=True, AttachStdout=True,
                                         AttachStderr=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,),
                                   {"Detach": False, "Tty": False})
        yield stream.wait_head()
        stream.send(b"hello\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"hello\n")))
        self.assertFalse(stream.ended.called)
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"hello\n")])
        self.assertEqual((yield self.exec_ended(exec_id))["ExitCode"], 0)

    @inlineCallbacks
    def test_exec_command_not_found(self):
        """
        A command missing from the image: 400 detached, the error in the stream attached; 126.
        """
        cid, _ = yield self.started(["sleep", "300"])
        expected = ('OCI runtime exec failed: exec failed: unable to start container process: '
                    'exec: "nosuchcmd": executable file not found in $PATH: unknown')
        detached = yield self.exec_create(cid, ["nosuchcmd"])
        message = yield self.refused("POST", "/exec/%s/start" % (detached,), {"Detach": True},
                                     status=400)
        self.assertEqual(message, expected)
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (detached,), status=200)
        self.assertEqual((inspected["ExitCode"], inspected["Running"], inspected["Pid"]),
                         (126, False, 0))
        attached = yield self.exec_create(cid, ["nosuchcmd"], AttachStdout=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (attached,), {"Detach": False})
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, expected.encode("ascii") + b"\r\n")])

    @inlineCallbacks
    def test_exec_refused(self):
        """
        Unknown execs are 404 on start, inspect and resize; bodies and sizes are checked.
        """
        ghost = uuid.uuid4().hex
        for method, path, body in (("POST", "/exec/%s/start", {"Detach": True}),
                                   ("GET", "/exec/%s/json", None),
                                   ("POST", "/exec/%s/resize?h=10&w=20", None)):
            message = yield self.refused(method, path % (ghost,), body, status=404)
            self.assertEqual(message, "No such exec instance: " + ghost)
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["true"])
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), b"", status=400,
                                     content_type="application/json")
        self.assertEqual(message, "got EOF while reading request body")
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": "yes"},
                                     status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "ExecStartCheck.Detach of type bool")
        message = yield self.refused("POST", "/exec/%s/resize?h=x&w=20" % (exec_id,),
                                     status=400)
        self.assertEqual(message, 'strconv.Atoi: parsing "x": invalid syntax')
        message = yield self.refused("POST", "/exec/%s/resize" % (exec_id,), status=400)
        self.assertEqual(message, 'strconv.Atoi: parsing "": invalid syntax')
        yield self.client.pause_container(cid)
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Container %s is paused, unpause the container before exec"
                         % (cid,))
        yield self.client.unpause_container(cid)

    @inlineCallbacks
    def test_exec_resize(self):
        """
        A running exec resizes (200, no body); an ended one is 404 "no such exec".
        """
        cid, _ = yield self.started(["sleep", "300"])
        long = yield self.exec_create(cid, ["sleep", "300"], Tty=True)
        yield self.call("POST", "/exec/%s/start" % (long,), {"Detach": True, "Tty": True})
        code, _, body = yield self.call("POST", "/exec/%s/resize?h=10&w=20" % (long,))
        self.assertEqual((code, body), (200, b""))
        short = yield self.exec_create(cid, ["true"])
        yield self.call("POST", "/exec/%s/start" % (short,), {"Detach": True})
        yield self.exec_ended(short)

        @inlineCallbacks
        def forgotten():
            # dockerd says "cannot resize a stopped container" (500) until
            # containerd has deleted the ended process.
            code, _, body = yield self.call("POST", "/exec/%s/resize?h=10&w=20" % (short,))
            return (code, json.loads(body)["message"]) == (404, "no such exec")

        self.assertTrue((yield self.eventually(forgotten, "a 404 for the ended exec")))

    @inlineCallbacks
    def test_exec_after_stop(self):
        """
        Once its container stopped, an exec never started is gone; an ended one inspects.
        """
        cid, _ = yield self.started(["sleep", "300"])
        done = yield self.exec_create(cid, ["true"])
        yield self.call("POST", "/exec/%s/start" % (done,), {"Detach": True})
        yield self.exec_ended(done)
        waiting = yield self.exec_create(cid, ["true"])
        yield self.client.stop_container(cid, timeout=0)
        for method, path, body in (("GET", "/exec/%s/json", None),
                                   ("POST", "/exec/%s/start", {"Detach": True}),
                                   ("POST", "/exec/%s/resize?h=1&w=1", None)):
            message = yield self.refused(method, path % (waiting,), body, status=404)
            self.assertEqual(message, "No such exec instance: " + waiting)
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (done,), status=200)
        self.assertEqual((inspected["ExitCode"], inspected["ContainerID"]), (0, cid))


class AttachConformance:
    """
    The attach routes (hijacked), as every engine answers them.
    """

    @inlineCallbacks
    def attached(self, cid, query="stream=1&stdout=1&stderr=1", upgrade=True, events=None):
        """
        Attach to a container and wait until the engine has (its attach
        event came).

        @return: a L{Deferred} firing with the L{HijackedStream}.
        """
        if events is None:
            events = yield self.watch({"type": ["container"], "container": [cid]})
        before = len([e for e in events if e["Action"] == "attach"])
        stream = yield self.hijack("POST", "/containers/%s/attach?%s" % (cid, query),
                                   upgrade=upgrade)
        yield stream.wait_head()
        yield self.eventually(
            lambda: len([e for e in events if e["Action"] == "attach"]) > before,
            "the attach event")
        return stream

    @inlineCallbacks
    def test_attach_then_start(self):
        """
        Attached before its start, a client gets the output in frames; the engine then ends it.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.create(["sh", "-c", "echo hi; echo err >&2"])
        stream = yield self.attached(cid, events=events)
        status, headers = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 101 UPGRADED")
        self.assertEqual(headers, {"content-type": "application/vnd.docker.raw-stream",
                                   "connection": "Upgrade", "upgrade": "tcp"})
        yield self.client.start_container(cid)
        yield stream.wait_end()
        self.assertTrue(stream.peer_closed)
        self.assertEqual(sorted(demux(stream.body)), [(1, b"hi\n"), (2, b"err\n")])
        yield self.seen(events, [("container", "attach", cid), ("container", "start", cid),
                                 ("container", "die", cid)])

    @inlineCallbacks
    def test_attach_logs(self):
        """
        logs=1&stream=0 replays the output and ends; without Upgrade the head is 200 OK.
        """
        cid, _ = yield self.started(["sh", "-c", "echo hi; echo err >&2"])
        yield self.wait(cid)
        stream = yield self.hijack("POST", "/containers/%s/attach?logs=1&stream=0&stdout=1"
                                   % (cid,), upgrade=False)
        yield stream.wait_end()
        status, headers = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers, {"content-type": "application/vnd.docker.raw-stream"})
        self.assertEqual(demux(stream.body), [(1, b"hi\n")])

    @inlineCallbacks
    def test_attach_stdin_once(self):
        """
        With StdinOnce, closing the attached stdin closes cat's: it exits 0 and the stream ends.
        """
        cid, _ = yield self.started(["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True)
        stream = yield self.attached(cid, "stream=1&stdin=1&stdout=1&stderr=1")
        stream.send(b"hello\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"hello\n")))
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"hello\n")])
        self.assertEqual((yield self.wait(cid))["StatusCode"], 0)

    @inlineCallbacks
    def test_attach_stdin_kept(self):
        """
        Without StdinOnce, closing the attached stdin ends the stream, not the container.
        """
        cid, _ = yield self.started(["cat"], OpenStdin=True)
        stream = yield self.attached(cid, "stream=1&stdin=1&stdout=1&stderr=1")
        stream.send(b"kept\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"kept\n")))
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual((yield self.state(cid))["Status"], "running")

    @inlineCallbacks
    def test_attach_tty(self):
        """
        The output of a TTY container comes raw, lines ending in CRLF.
        """
        cid, _ = yield self.create(["echo", "tty"], Tty=True)
        stream = yield self.attached(cid)
        yield self.client.start_container(cid)
        yield stream.wait_end()
        self.assertEqual(stream.body, b"tty\r\n")

    @inlineCallbacks
    def test_attach_refused(self):
        """
        An unknown or paused container is refused after the hijack, as a raw head and text.
        """
        ghost = self.unique("ghost")
        stream = yield self.hijack("POST", "/containers/%s/attach?stream=1&stdout=1" % (ghost,))
        yield stream.wait_end()
        self.assertEqual(stream.received, b"HTTP/1.1 404 Not Found\r\nContent-Type: "
                         b"application/vnd.docker.raw-stream\r\n\r\nNo such container: "
                         + ghost.encode("ascii") + b"\r\n")
        cid, name = yield self.started(["sleep", "300"])
        yield self.client.pause_container(cid)
        stream = yield self.hijack("POST", "/containers/%s/attach?stream=1&stdout=1" % (name,))
        yield stream.wait_end()
        status, _ = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 409 Conflict")
        self.assertEqual(stream.body, ("container %s is paused, unpause the container before "
                                       "attach\r\n" % (name,)).encode("ascii"))

    @inlineCallbacks
    def test_attach_ws(self):
        """
        attach/ws answers the WebSocket handshake, sends binary frames, then a close frame.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.create(["sh", "-c", "echo one; echo two"])
        key = base64.b64encode(uuid.uuid4().bytes).decode("ascii")
        stream = yield self.hijack(
            "GET", "/containers/%s/attach/ws?stream=1&stdout=1&stderr=1" % (cid,), upgrade=False,
            headers=["Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13",
                     "Origin: http://localhost"])
        status, headers = parse_head((yield stream.wait_head()))
        accept = base64.b64encode(hashlib.sha1(
            key.encode("ascii") + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        self.assertEqual(status, "HTTP/1.1 101 Switching Protocols")
        self.assertEqual(headers["sec-websocket-accept"], accept.decode("ascii"))
        yield self.seen(events, [("container", "attach", cid)])
        yield self.client.start_container(cid)
        yield stream.wait_end()
        frames = []
        data = stream.body
        while data:
            opcode, size = data[0], data[1]
            self.assertLess(size, 126)
            frames.append((opcode, data[2:2 + size]))
            data = data[2 + size:]
        self.assertEqual(frames[-1], (0x88, b"\x03\xe8"))
        self.assertEqual({opcode for opcode, _ in frames[:-1]}, {0x82})
        self.assertEqual(b"".join(payload for _, payload in frames[:-1]), b"one\ntwo\n")
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/containers/%s/attach/ws?stream=1" % (ghost,),
                                     status=404)
        self.assertEqual(message, "No such container: " + ghost)
