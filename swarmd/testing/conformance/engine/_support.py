"""
Helpers of the engine conformance suite: raw and hijacked calls, stream
parsing, and the base every group of tests stands on.
"""

import hashlib
import io
import json
import tarfile
import uuid

from treq import content
from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred
from twisted.internet.endpoints import connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.web.http_headers import Headers
from zope.interface import implementer

from swarmd import API_VERSION
from swarmd.engine import EngineError

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


def _tar(files):
    """
    @param files: C{{path: bytes}}.
    @return: an uncompressed tar holding them (a root file system, a build
        context).
    """
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def stream_messages(data):
    """
    Split a JSON progress stream (pull, push, load, import, build).

    @return: the decoded messages.
    """
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def stream_text(messages):
    """
    @return: the C{stream} texts of a build or load stream, joined.
    """
    return "".join(m.get("stream", "") for m in messages)


def stream_error(messages):
    """
    @return: the error a stream ended with, or L{None}.
    """
    for message in messages:
        if message.get("error"):
            return message["error"]
    return None


class _RawCalls:
    """
    Raw calls to the engine (for the routes L{IEngineClient} has no method
    for), and cleanup of the networks, volumes and images a test makes.
    """

    def track_objects(self):
        self.networks_made = []
        self.volumes_made = []
        self.images_made = []
        self.addCleanup(self._remove_objects)

    @inlineCallbacks
    def _remove_objects(self):
        for network in reversed(self.networks_made):
            yield self.call("DELETE", "/networks/" + network)
        for volume in reversed(self.volumes_made):
            yield self.call("DELETE", "/volumes/%s?force=1" % (volume,))
        for image in reversed(self.images_made):
            yield self.call("DELETE", "/images/%s?force=1" % (image,))

    @inlineCallbacks
    def call(self, method, path, body=None, headers=None, content_type=None):
        """
        One raw request on the versioned path.

        @param body: a JSON-able value, C{bytes}, or L{None}.
        @return: a L{Deferred} firing with C{(status, headers, content)}.
        """
        sent = Headers()
        for name, value in (headers or {}).items():
            sent.setRawHeaders(name.encode("ascii"), [value.encode("ascii")])
        data = None
        if body is not None and not isinstance(body, bytes):
            data = json.dumps(body).encode("utf-8")
            content_type = content_type or "application/json"
        elif body is not None:
            data = body
            content_type = content_type or "application/x-tar"
        if content_type:
            sent.setRawHeaders(b"Content-Type", [content_type.encode("ascii")])
        response = yield self.client.request(method, "/v%s%s" % (API_VERSION, path), sent, data,
                                             timeout=PATIENCE * 3)
        body = yield content(response)
        return response.code, response.headers, body

    @inlineCallbacks
    def call_json(self, method, path, body=None, status=None, **kwargs):
        """
        @param status: the status to expect (checked), or L{None}.
        @return: a L{Deferred} firing with C{(status, decoded body or None)}.
        """
        code, _, data = yield self.call(method, path, body, **kwargs)
        if status is not None:
            self.assertEqual(code, status, data)
        return code, (json.loads(data) if data.strip() else None)

    @inlineCallbacks
    def refused(self, method, path, body=None, status=None, **kwargs):
        """
        Check a call is refused with C{status}.

        @return: a L{Deferred} firing with the engine's message.
        """
        code, _, data = yield self.call(method, path, body, **kwargs)
        self.assertEqual(code, status, data)
        return json.loads(data)["message"]

    @inlineCallbacks
    def watch(self, filters):
        """
        Start collecting the engine's events that pass C{filters}.

        @return: a L{Deferred} firing with the list they are added to; the
            stream ends with the test.
        """
        seen = []
        stream = yield self.client.events(seen.append, filters=filters)
        self.addCleanup(lambda: stream.stop() or stream.done)
        return seen

    @inlineCallbacks
    def seen(self, events, wanted):
        """
        Wait until C{events} holds C{wanted} C{(Type, Action, actor)} in
        order (other events may come between).

        @return: a L{Deferred} firing with the matching events.
        """
        for _ in range(int(PATIENCE / 0.05)):
            found = _in_order(events, wanted)
            if found is not None:
                return found
            yield deferLater(_reactor(), 0.05, lambda: None)
        self.fail("events %r never came; saw %r" % (
            wanted, [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in events]))


def _in_order(events, wanted):
    found = []
    index = 0
    for event in events:
        if index < len(wanted) and (event["Type"], event["Action"],
                                    event["Actor"]["ID"]) == wanted[index]:
            found.append(event)
            index += 1
    return found if index == len(wanted) else None


@implementer(IHalfCloseableProtocol)
class HijackedStream(Protocol):
    """
    The client's side of a hijacked connection (attach, exec start,
    attach/ws): everything the server sends is kept in C{received}, head
    included.

    @ivar ended: a L{Deferred} firing with the bytes received once the server
        closed its writing side (or the whole connection).
    @ivar lost: a L{Deferred} firing when the connection is gone.
    """

    def __init__(self):
        self.received = b""
        self.peer_closed = False
        self.ended = Deferred()
        self.lost = Deferred()
        self._waits = []

    def dataReceived(self, data):
        self.received += data
        for test, d in list(self._waits):
            if test(self.received):
                self._waits.remove((test, d))
                d.callback(self.received)

    def readConnectionLost(self):
        self.peer_closed = True
        if not self.ended.called:
            self.ended.callback(self.received)

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        if not self.ended.called:
            self.ended.callback(self.received)
        waits, self._waits = self._waits, []
        for _, d in waits:
            d.errback(AssertionError("connection lost after %r" % (self.received[-300:],)))
        self.lost.callback(None)

    def wait_for(self, test, timeout=PATIENCE):
        """
        @param test: called with all the bytes received so far.
        @return: a L{Deferred} firing with them once C{test} is true.
        """
        d = Deferred()
        if test(self.received):
            d.callback(self.received)
        elif self.lost.called:
            d.errback(AssertionError("connection lost after %r" % (self.received[-300:],)))
        else:
            self._waits.append((test, d))
        return d.addTimeout(timeout, _reactor())

    def wait_head(self):
        """
        @return: a L{Deferred} firing with the response head (without its
            blank line).
        """
        return self.wait_for(lambda data: b"\r\n\r\n" in data).addCallback(
            lambda _: self.head)

    def wait_end(self, timeout=PATIENCE):
        """
        @return: L{ended}, failing if it takes longer than C{timeout}.
        """
        return self.ended.addTimeout(timeout, _reactor()) if not self.ended.called else \
            maybeDeferred(lambda: self.received)

    @property
    def head(self):
        return self.received.partition(b"\r\n\r\n")[0]

    @property
    def body(self):
        """
        What came after the head.
        """
        return self.received.partition(b"\r\n\r\n")[2]

    def send(self, data):
        self.transport.write(data)

    def close_write(self):
        """
        End the client's side (stdin EOF), keeping the connection readable.
        """
        self.transport.loseWriteConnection()

    def close(self):
        """
        Drop the connection.

        @return: a L{Deferred} firing once it is gone.
        """
        if not self.lost.called:
            self.transport.abortConnection()
        return self.lost


def http_request(method, path, body=None, upgrade=True, headers=(), host="docker"):
    """
    The bytes of a raw HTTP/1.1 request (what a Docker client sends to
    hijack a connection).

    @param body: a JSON-able value, C{bytes}, or L{None}.
    @param upgrade: ask for C{Connection: Upgrade} / C{Upgrade: tcp}.
    @param headers: more C{"Name: value"} lines.
    """
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        lines += ["Content-Type: application/json", "Content-Length: %d" % (len(data),)]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def frame(stream, data):
    """
    @return: one frame of a multiplexed stream.
    """
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def parse_head(head):
    """
    @return: C{(status line, {lower-case name: value})} of a raw head.
    """
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _tar_names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [m.name for m in archive.getmembers()]


def _tar_files(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()
                if m.isreg()}


class _StreamCalls:
    """
    Hijacked and streamed calls, and waiting for a state to come.
    """

    @inlineCallbacks
    def hijack(self, method, path, body=None, upgrade=True, headers=(), version=API_VERSION):
        """
        Open a connection of its own to the engine and send one request on
        it, to be hijacked.

        @return: a L{Deferred} firing with the L{HijackedStream} (closed
            after the test).
        """
        stream = yield connectProtocol(self.client.endpoint, HijackedStream())
        self.addCleanup(stream.close)
        stream.send(http_request(method, "/v%s%s" % (version, path), body, upgrade, headers))
        return stream

    @inlineCallbacks
    def eventually(self, check, what):
        """
        Call C{check()} (which may return a L{Deferred}) until it gives a
        true value.

        @return: a L{Deferred} firing with that value.
        """
        for _ in range(int(PATIENCE / 0.05)):
            value = yield maybeDeferred(check)
            if value:
                return value
            yield deferLater(_reactor(), 0.05, lambda: None)
        self.fail("%s never happened" % (what,))

    @inlineCallbacks
    def exec_create(self, cid, cmd, **config):
        """
        @return: a L{Deferred} firing with a new exec instance's ID.
        """
        body = {"Cmd": list(cmd)}
        body.update(config)
        _, created = yield self.call_json("POST", "/containers/%s/exec" % (cid,), body,
                                          status=201)
        return created["Id"]

    @inlineCallbacks
    def exec_ended(self, exec_id):
        """
        @return: a L{Deferred} firing with the exec's inspect once it ended.
        """
        def ended():
            return self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200).addCallback(
                lambda answer: answer[1] if answer[1]["ExitCode"] is not None else None)

        return (yield self.eventually(ended, "the end of exec %s" % (exec_id,)))


class _LineCollector(Protocol):
    """
    Collect the first C{count} JSON lines of a streamed body, then drop the
    connection.
    """

    def __init__(self, count):
        self.count = count
        self.buffer = b""
        self.done = Deferred()

    def dataReceived(self, data):
        self.buffer += data
        lines = [line for line in self.buffer.split(b"\n")[:-1] if line.strip()]
        if len(lines) >= self.count and not self.done.called:
            self.transport.stopProducing()
            self.done.callback([json.loads(line) for line in lines[:self.count]])

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.errback(reason)


class EngineCase(_StreamCalls, _RawCalls):
    """
    What every engine conformance test stands on: the client from the
    fixture, containers made and removed, helpers to create, start and wait.

    @ivar _fixture: the suite's fixture (see L{make_iengine_tests}).
    @ivar _registry: the suite's registry fixture, or L{None}.
    """

    _fixture = None
    _registry = None

    @inlineCallbacks
    def setUp(self):
        self.client = yield self._fixture(self)
        self.made = []
        # Registered first, so they go after the containers using them.
        self.track_objects()
        self.addCleanup(self._remove_made)

    def registry_host(self):
        """
        @return: a L{Deferred} firing with the registry's C{host:port},
            or L{None}.
        """
        if self._registry is None:
            return maybeDeferred(lambda: None)
        return maybeDeferred(self._registry, self)

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
