"""
The exec, attach, resize, update, commit, prune, file, stats and disk usage
routes of L{swarmd.testing.fakeengine._http.FakeEngineAPI} (a mixin), and their
route table.

Attach, attach/ws and a non-detached exec start hijack the connection
(L{swarmd.testing.fakeengine._hijack}): they need a fake served on a socket
(L{swarmd.testing.fakeengine._http.serve}); through C{StubTreq} only their
refusals (answered before the hijack) can be seen.
"""

import base64
import json

from twisted.internet.defer import Deferred

from swarmd import API_VERSION
from swarmd.testing.fakeengine._container_ops import UPDATE_FIELDS
from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request, server_error
from swarmd.testing.fakeengine._filters import Filters
from swarmd.testing.fakeengine._hijack import RAW_STREAM, hijack, ws_accept
from swarmd.testing.fakeengine._http_util import (
    MAX_BODY,
    _answer,
    _arg,
    _body,
    _bool,
    _no_content,
    _read_struct,
)
from swarmd.testing.fakeengine._stats import STATS_INTERVAL, empty_stats, stats_frame
from swarmd.testing.fakeengine._system import SERVER_VERSION
from swarmd.versions import version_less

_BOOL = ("bool", "bool")
_STRING = ("string", "string")
_STRINGS = ("array", "[]string")

#: The fields of C{POST /containers/{id}/exec} (C{types.ExecConfig}).
EXEC_CREATE_FIELDS = {
    "User": _STRING, "Privileged": _BOOL, "Tty": _BOOL, "AttachStdin": _BOOL,
    "AttachStderr": _BOOL, "AttachStdout": _BOOL, "Detach": _BOOL, "DetachKeys": _STRING,
    "Env": _STRINGS, "WorkingDir": _STRING, "Cmd": _STRINGS,
}

#: The fields of C{POST /exec/{id}/start} (C{types.ExecStartCheck}).
EXEC_START_FIELDS = {"Detach": _BOOL, "Tty": _BOOL}

_EOF = ("got EOF while reading request body", 400)

#: The headers dockerd's middleware sets, which an exec start's raw head
#: repeats (an attach's does not).
_STREAM_HEADERS = ("Api-Version: %s\r\nDocker-Experimental: false\r\nOstype: linux\r\n"
                   "Server: Docker/%s (linux)\r\n" % (API_VERSION, SERVER_VERSION))


def _atoi(request, name):
    """
    Go's C{strconv.Atoi} of a query argument (a missing one is C{""}).

    @raise FakeAPIError: 400 with Go's message.
    """
    value = _arg(request, name) or ""
    try:
        return int(value)
    except ValueError:
        raise bad_request('strconv.Atoi: parsing "%s": invalid syntax' % (value,)) from None


def _bool_default(request, name, default):
    """
    dockerd's C{BoolValueOrDefault}: C{default} when the argument is
    absent, else its truth (an empty value is false).
    """
    if request.args.get(name.encode("ascii")) is None:
        return default
    return _bool(request, name)


def _raw_head(status, upgrade, extra=""):
    if upgrade:
        return ("HTTP/1.1 101 UPGRADED\r\nContent-Type: %s\r\nConnection: Upgrade\r\n"
                "Upgrade: tcp\r\n%s\r\n" % (RAW_STREAM, extra)).encode("ascii")
    return ("HTTP/1.1 200 OK\r\nContent-Type: %s\r\n%s\r\n" % (RAW_STREAM, extra)).encode(
        "ascii")


_REASONS = {400: "Bad Request", 404: "Not Found", 409: "Conflict",
            500: "Internal Server Error"}


def _raw_error(stream, error):
    """
    A refusal written on a hijacked connection, as dockerd's attach writes
    it: a raw head, the message as plain text, then the end of the stream.
    """
    stream.write(("HTTP/1.1 %d %s\r\nContent-Type: %s\r\n\r\n%s\r\n" % (
        error.status, _REASONS.get(error.status, "Error"), RAW_STREAM,
        error.message)).encode("utf-8"))
    stream.end()


def _framed(stream, tty):
    """
    @return: a writer of C{(stream number, bytes)} output: raw with a TTY,
        else in 8-byte frames.
    """
    def write(number, data):
        if tty:
            stream.write(data)
        else:
            stream.write(bytes((number, 0, 0, 0)) + len(data).to_bytes(4, "big") + data)

    return write


class _ExecSink:
    """
    Where a started exec's output goes: a hijacked stream.
    """

    def __init__(self, stream, tty):
        self._write = _framed(stream, tty)
        self._stream = stream

    def output(self, number, data):
        self._write(number, data)

    def end(self):
        self._stream.end()


class ContainerRoutes:
    """
    Handlers of the container routes beyond the life cycle.
    """

    # -- exec -------------------------------------------------------------------------

    def exec_create(self, request, name):
        body = _read_struct(request, "ExecConfig", EXEC_CREATE_FIELDS, eof=_EOF)
        return _answer(request, {"Id": self.engine.create_exec(name, body)}, 201)

    def exec_inspect(self, request, execid):
        return _answer(request, self.engine.inspect_exec(execid))

    def exec_resize(self, request, execid):
        height, width = _atoi(request, "h"), _atoi(request, "w")
        d = self.engine.resize_exec(execid, height, width)
        return d.addCallback(lambda _: _no_content(request, 200))

    def exec_start(self, request, execid):
        body = _read_struct(request, "ExecStartCheck", EXEC_START_FIELDS, eof=_EOF)
        engine = self.engine
        execution = engine.get_exec(execid)
        if body.get("Detach"):
            engine.start_exec(execid)
            return _no_content(request, 200)
        head = _raw_head(200, request.getHeader(b"upgrade") is not None, _STREAM_HEADERS)

        def run(stream, raw):
            stream.write(head)
            stream.on_input = lambda data: engine.exec_input(execution, data)
            stream.on_eof = lambda: engine.exec_input_closed(execution)
            sink = _ExecSink(stream, execution.tty)
            stream.on_lost.append(lambda: _forget_sink(execution, sink))
            try:
                engine.start_exec(execid, sink)
            except FakeAPIError as e:
                _framed(stream, execution.tty)(1, (e.message + "\r\n").encode("utf-8"))
                stream.end()

        return hijack(request, engine.clock, run)

    # -- attach -----------------------------------------------------------------------

    def _attach_target(self, name):
        engine = self.engine
        container = engine.find(name)
        if container.status == "paused":
            raise FakeAPIError(409, "container %s is paused, unpause the container before "
                                    "attach" % (name,))
        return container

    def _attach(self, stream, container, request, multiplexed):
        """
        Stream a container's output (and feed its input) on a hijacked
        connection whose head is written.
        """
        engine = self.engine
        streams = set()
        if _bool(request, "stdout"):
            streams.add(1)
        if _bool(request, "stderr"):
            streams.add(2)
        if multiplexed:
            write = _framed(stream, container.tty)
        else:
            def write(number, data):
                stream.write(data)
        detach = engine.attach(container, lambda entry: output(entry))

        def output(entry):
            if entry is None:
                stream.end()
            elif entry[1] in streams:
                write(entry[1], entry[2])

        stream.on_lost.append(detach)
        if _bool(request, "logs"):
            for entry in list(container.logs):
                if entry[1] in streams:
                    write(entry[1], entry[2])
        if not _bool(request, "stream"):
            detach()
            stream.end()
            return
        if _bool(request, "stdin") and container.config.get("OpenStdin"):
            stream.on_input = lambda data: engine.container_input(container, data)

            def eof():
                if not engine.container_input_closed(container):
                    detach()
                    stream.end()

            stream.on_eof = eof

    def attach(self, request, name):
        upgrade = request.getHeader(b"upgrade") is not None

        def run(stream, raw):
            try:
                container = self._attach_target(name)
            except FakeAPIError as e:
                _raw_error(stream, e)
                return
            stream.write(_raw_head(200, upgrade))
            self._attach(stream, container, request, multiplexed=True)

        return hijack(request, self.engine.clock, run)

    def attach_ws(self, request, name):
        container = self._attach_target(name)
        key = request.getHeader(b"sec-websocket-key") or b""
        head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + ws_accept(key) + b"\r\n\r\n")

        def run(stream, raw):
            raw.write(head)
            self._attach(stream, container, request, multiplexed=False)

        return hijack(request, self.engine.clock, run, websocket=True)

    # -- resize, update ---------------------------------------------------------------

    def resize(self, request, name):
        height, width = _atoi(request, "h"), _atoi(request, "w")
        self.engine.resize(name, height, width)
        return _no_content(request, 200)

    def update(self, request, name):
        try:
            body = _read_struct(request, "UpdateConfig", UPDATE_FIELDS, eof=("EOF", 500))
        except FakeAPIError as e:
            if e.message.startswith("Content-Type"):
                raise
            # dockerd answers a body it cannot decode with 500 here.
            raise server_error(e.message) from None
        return _answer(request, self.engine.update(name, body))

    # -- commit, prune, disk usage ----------------------------------------------------

    def commit(self, request):
        data = _body(request, MAX_BODY + 1)
        config = None
        if data.strip():
            config = _read_struct(request, "ContainerConfigWrapper", {})
        pause = _bool_default(request, "pause", True)
        changes = [v.decode("utf-8", "replace") for v in request.args.get(b"changes", [])]
        image = self.engine.commit(
            _arg(request, "container") or "", repo=_arg(request, "repo"), tag=_arg(request, "tag"),
            comment=_arg(request, "comment") or "", author=_arg(request, "author") or "",
            pause=pause, changes=changes, config=config)
        return _answer(request, {"Id": image.id}, 201)

    def containers_prune(self, request):
        try:
            filters = Filters.parse(_arg(request, "filters"))
        except FakeAPIError as e:
            raise bad_request(e.message) from None
        return _answer(request, self.engine.prune_containers(filters))

    def system_df(self, request):
        return _answer(request, self.engine.disk_usage())

    # -- files ------------------------------------------------------------------------

    def archive_get(self, request, name):
        path = _arg(request, "path") or ""
        if request.method == b"HEAD":
            found = self.engine.archive_stat(name, path)
            data = None
        else:
            found, data = self.engine.archive_get(name, path)
        request.setHeader(b"X-Docker-Container-Path-Stat", base64.b64encode(
            json.dumps(found, separators=(",", ":")).encode("utf-8")))
        if data is None:
            return _no_content(request, 200)
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/x-tar")
        return data

    def archive_put(self, request, name):
        self.engine.archive_put(name, _arg(request, "path") or "", _body(request))
        return _no_content(request, 200)

    def copy(self, request, name):
        version = getattr(request, "docker_version", None)
        if version is None or not version_less(version, "1.24"):
            return _no_content(request, 404)
        try:
            body = _read_struct(request, "CopyConfig", {"Resource": _STRING})
            data = self.engine.copy_resource(name, body.get("Resource") or "")
        except FakeAPIError as e:
            # Before API 1.24 dockerd words its errors as plain text.
            raise FakeAPIError(e.status, e.message, "text/plain; charset=utf-8") from None
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/x-tar")
        return data

    def export(self, request, name):
        data = self.engine.export(name)
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/octet-stream")
        return data

    def changes(self, request, name):
        return _answer(request, self.engine.container_changes(name))

    # -- stats ------------------------------------------------------------------------

    def stats(self, request, name):
        engine = self.engine
        container = engine.find(name)
        stream = _bool_default(request, "stream", True)
        one_shot = _bool(request, "one-shot")
        if stream and one_shot:
            raise bad_request("cannot have stream=true and one-shot=true")
        clock = engine.clock
        if not stream:
            request.setHeader(b"Content-Type", b"application/json")
            if not container.running:
                return _answer(request, empty_stats(container))
            if one_shot:
                return _answer(request, stats_frame(engine, container, engine._now_ns()))
            # dockerd primes the CPU counters with a first sample.
            first = (engine._now_ns(), None)

            def sample():
                previous = (first[0], stats_frame(engine, container, first[0])["cpu_stats"])
                if not container.running:
                    return _answer(request, empty_stats(container))
                return _answer(request, stats_frame(engine, container, engine._now_ns(),
                                                    previous))

            done = Deferred(lambda d: timer.cancel() if timer.active() else None)
            timer = clock.callLater(STATS_INTERVAL, lambda: done.callback(sample()))
            return done
        request.setResponseCode(200)
        request.defaultContentType = None
        request.write(b"")
        state = {"previous": None, "timer": None}

        def cancel(_):
            timer = state["timer"]
            if timer is not None and timer.active():
                timer.cancel()

        done = Deferred(cancel)

        def tick():
            if container.id not in engine.containers:
                done.callback(b"")
                return
            now = engine._now_ns()
            if container.running:
                frame = stats_frame(engine, container, now, state["previous"])
                state["previous"] = (now, frame["cpu_stats"])
            else:
                frame = empty_stats(container)
                state["previous"] = None
            request.write(json.dumps(frame, separators=(",", ":")).encode("utf-8") + b"\n")
            state["timer"] = clock.callLater(STATS_INTERVAL, tick)

        state["timer"] = clock.callLater(STATS_INTERVAL, tick)
        return done


def _forget_sink(execution, sink):
    if execution.sink is sink:
        execution.sink = None


#: The routes: method, path (also served under C{/vX.Y}), handler.
CONTAINER_ROUTES = (
    ("POST", "/containers/prune", "containers_prune"),
    ("POST", "/containers/<name>/exec", "exec_create"),
    ("POST", "/exec/<execid>/start", "exec_start"),
    ("GET", "/exec/<execid>/json", "exec_inspect"),
    ("POST", "/exec/<execid>/resize", "exec_resize"),
    ("POST", "/containers/<name>/attach", "attach"),
    ("GET", "/containers/<name>/attach/ws", "attach_ws"),
    ("POST", "/containers/<name>/resize", "resize"),
    ("GET", "/containers/<name>/archive", "archive_get"),
    ("PUT", "/containers/<name>/archive", "archive_put"),
    ("POST", "/containers/<name>/copy", "copy"),
    ("GET", "/containers/<name>/export", "export"),
    ("GET", "/containers/<name>/changes", "changes"),
    ("GET", "/containers/<name>/stats", "stats"),
    ("POST", "/containers/<name>/update", "update"),
    ("POST", "/commit", "commit"),
    ("GET", "/system/df", "system_df"),
)
