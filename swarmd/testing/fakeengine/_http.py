"""
The HTTP front of a L{FakeEngine}: the Docker remote API the manager uses,
as a Klein app, with the engine's faults (unreachable, failing calls,
latency) applied before each answer, and L{serve} to listen on a unix
socket or a TCP port.
"""

import os
import re
import stat

from klein import Klein
from twisted.internet.defer import Deferred, succeed
from twisted.internet.endpoints import TCP4ServerEndpoint, TCP6ServerEndpoint, UNIXServerEndpoint
from twisted.internet.interfaces import IListeningPort
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from werkzeug.exceptions import MethodNotAllowed, NotFound
from zope.interface import implementer

from swarmd import API_VERSION, MIN_API_VERSION
from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request
from swarmd.testing.fakeengine._filters import Filters
from swarmd.testing.fakeengine._http_containers import CONTAINER_ROUTES, ContainerRoutes
from swarmd.testing.fakeengine._http_images import IMAGE_ROUTES, ImageRoutes
from swarmd.testing.fakeengine._http_objects import OBJECT_ROUTES, ObjectRoutes
from swarmd.testing.fakeengine._http_util import (
    _answer,
    _arg,
    _bool,
    _error,
    _int,
    _json_line,
    _no_content,
    _read_json,
)
from swarmd.testing.fakeengine._system import SERVER_VERSION
from swarmd.testing.fakeengine._time import parse_timestamp, rfc3339
from swarmd.versions import version_less

_VERSION = re.compile(r"^\d+\.\d+$")

#: C{GET /vX.Y/containers/{id or name}/json}, the request a manager sends
#: most (one per container on every first read), answered without the
#: Klein app's routing (L{_FaultFront}): at 5,000 simulated engines the
#: routing was a tenth of the simulator's time.  Other spellings (no
#: version, escapes) go through the app.
_FAST_INSPECT = re.compile(rb"^/v(\d+\.\d+)/containers/([A-Za-z0-9][A-Za-z0-9_.-]*)/json$")

def frame(entry, tty, timestamps):
    """
    One log line as C{GET /containers/{id}/logs} sends it.

    @param entry: C{(ns, stream, bytes)}.
    @param tty: the container has a TTY: raw bytes, no frame header.
    @param timestamps: prefix the line with its RFC 3339 time.
    """
    ns, stream, data = entry
    if timestamps:
        data = rfc3339(ns, fixed=True).encode("ascii") + b" " + data
    if tty:
        return data
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


class FakeEngineAPI(ContainerRoutes, ObjectRoutes, ImageRoutes):
    """
    The Docker remote API of one L{FakeEngine}.

    Use L{resource} for an in-memory front (C{treq.testing.StubTreq}) or
    L{serve} to listen.
    """

    app = Klein()

    def __init__(self, engine):
        self.engine = engine

    def resource(self):
        """
        @return: the C{IResource} serving the engine, faults included.
        """
        return _FaultFront(self.engine, self.app.resource(), self)

    # -- errors -------------------------------------------------------------------------

    @app.handle_errors(NotFound, MethodNotAllowed)
    def _page_not_found(self, request, failure):
        return _sized(request, _error(request, 404, "page not found"))

    @app.handle_errors(FakeAPIError)
    def _api_error(self, request, failure):
        error = failure.value
        return _sized(request, _error(request, error.status, error.message, error.content_type))

    # -- dispatch -----------------------------------------------------------------------

    def dispatch(self, handler, request, version=None, **kwargs):
        """
        Check the version of a versioned path, set dockerd's headers, call
        the handler (which finds the version in C{request.docker_version}).
        """
        request.docker_version = version
        if version is not None:
            if not _VERSION.match(version):
                return _error(request, 404, "page not found")
            if version_less(API_VERSION, version):
                self._headers(request)
                raise bad_request("client version %s is too new. Maximum supported API "
                                  "version is %s" % (version, API_VERSION))
            if version_less(version, MIN_API_VERSION):
                self._headers(request)
                raise FakeAPIError(400, "client version %s is too old. Minimum supported API "
                                   "version is %s, please upgrade your client to a newer "
                                   "version" % (version, MIN_API_VERSION),
                                   "text/plain; charset=utf-8")
        self._headers(request)
        return _sized(request, getattr(self, handler)(request, **kwargs))

    @staticmethod
    def _headers(request):
        request.setHeader(b"Api-Version", API_VERSION.encode("ascii"))
        request.setHeader(b"Docker-Experimental", b"false")
        request.setHeader(b"Ostype", b"linux")
        request.setHeader(b"Server", ("Docker/%s (linux)" % (SERVER_VERSION,)).encode("ascii"))

    # -- system -------------------------------------------------------------------------

    def ping(self, request):
        request.setHeader(b"Cache-Control", b"no-cache, no-store, must-revalidate")
        request.setHeader(b"Pragma", b"no-cache")
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return b"OK"

    def version(self, request):
        return _answer(request, self.engine.version())

    def info(self, request):
        return _answer(request, self.engine.info())

    # -- containers ---------------------------------------------------------------------

    def containers_json(self, request):
        filters = Filters.parse(_arg(request, "filters"))
        return _answer(request, self.engine.list_containers(
            all=_bool(request, "all"), limit=_int(request, "limit"), filters=filters,
            size=_bool(request, "size"), before=_arg(request, "before"),
            since=_arg(request, "since")))

    def create(self, request):
        body = _read_json(request)
        cid, warnings = self.engine.create(body, name=_arg(request, "name"))
        return _answer(request, {"Id": cid, "Warnings": warnings}, 201)

    def inspect(self, request, name):
        return _answer(request, self.engine.inspect(name))

    def start(self, request, name):
        started = self.engine.start(name)
        return _no_content(request, 204 if started else 304)

    def stop(self, request, name):
        d = self.engine.stop(name, _int(request, "t"))
        return d.addCallback(lambda stopped: _no_content(request, 204 if stopped else 304))

    def restart(self, request, name):
        d = self.engine.restart(name, _int(request, "t"))
        return d.addCallback(lambda _: _no_content(request))

    def kill(self, request, name):
        self.engine.kill(name, _arg(request, "signal") or "KILL")
        return _no_content(request)

    def pause(self, request, name):
        self.engine.pause(name)
        return _no_content(request)

    def unpause(self, request, name):
        self.engine.unpause(name)
        return _no_content(request)

    def remove(self, request, name):
        self.engine.remove(name, force=_bool(request, "force"), volumes=_bool(request, "v"))
        return _no_content(request)

    def wait(self, request, name):
        d = self.engine.wait(name, _arg(request, "condition"))
        if not d.called:
            # dockerd sends the head at once, the body when the wait ends.
            request.setResponseCode(200)
            request.setHeader(b"Content-Type", b"application/json")
            request.write(b"")
        return d.addCallback(lambda result: _answer(request, result))

    def rename(self, request, name):
        self.engine.rename(name, _arg(request, "name") or "")
        return _no_content(request)

    def top(self, request, name):
        return _answer(request, self.engine.top(name, _arg(request, "ps_args")))

    def logs(self, request, name):
        tail = _arg(request, "tail")
        count = None
        if tail not in (None, "", "all"):
            try:
                count = int(tail)
            except ValueError:
                count = None
            if count is not None and count < 0:
                count = None
        container, entries = self.engine.log_entries(
            name, stdout=_bool(request, "stdout"), stderr=_bool(request, "stderr"),
            tail=count, since=parse_timestamp(_arg(request, "since")),
            until=parse_timestamp(_arg(request, "until")))
        tty = container.tty
        timestamps = _bool(request, "timestamps")
        request.setResponseCode(200)
        request.defaultContentType = None
        request.write(b"".join(frame(e, tty, timestamps) for e in entries))
        if not _bool(request, "follow") or _arg(request, "until"):
            return b""
        streams = set()
        if _bool(request, "stdout"):
            streams.add(1)
        if _bool(request, "stderr"):
            streams.add(2)
        done = Deferred(lambda _: stop and stop())

        def output(entry):
            if entry is None:
                done.callback(b"")
            elif entry[1] in streams:
                request.write(frame(entry, tty, timestamps))

        stop = self.engine.follow(container, output)
        if stop is None:
            return b""
        return done

    # -- images, networks, volumes ------------------------------------------------------

    def images_json(self, request):
        return _answer(request, self.engine.list_images(all=_bool(request, "all")))

    def image_inspect(self, request, name):
        return _answer(request, self.engine.inspect_image(name))

    def networks(self, request):
        return _answer(request, self.engine.list_networks())

    def volumes(self, request):
        return _answer(request, self.engine.list_volumes())

    # -- events -------------------------------------------------------------------------

    def events(self, request):
        since_text, until_text = _arg(request, "since"), _arg(request, "until")
        since = parse_timestamp(since_text)
        until = parse_timestamp(until_text)
        if since is not None and until is not None and since > until:
            raise bad_request("`since` time (%s) cannot be after `until` time (%s)"
                              % (since_text, until_text))
        filters = Filters.parse(_arg(request, "filters"))
        engine = self.engine
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/json")
        request.write(b"".join(_json_line(e) for e in engine.past_events(since, until, filters)))
        now = engine.clock.seconds() * 1e9
        if until is not None and until <= now:
            return b""
        timer = []

        def cancel(_):
            unsubscribe()
            if timer and timer[0].active():
                timer[0].cancel()

        done = Deferred(cancel)
        unsubscribe = engine.subscribe(lambda event: request.write(_json_line(event)), filters)

        def end():
            unsubscribe()
            done.callback(b"")

        if until is not None:
            timer.append(engine.clock.callLater((until - now) / 1e9, end))
        return done


#: The routes: method, path (also served under C{/vX.Y}), handler.
ROUTES = (
    ("GET", "/_ping", "ping"),
    ("GET", "/version", "version"),
    ("GET", "/info", "info"),
    ("GET", "/containers/json", "containers_json"),
    ("POST", "/containers/create", "create"),
    ("GET", "/containers/<name>/json", "inspect"),
    ("POST", "/containers/<name>/start", "start"),
    ("POST", "/containers/<name>/stop", "stop"),
    ("POST", "/containers/<name>/restart", "restart"),
    ("POST", "/containers/<name>/kill", "kill"),
    ("POST", "/containers/<name>/pause", "pause"),
    ("POST", "/containers/<name>/unpause", "unpause"),
    ("POST", "/containers/<name>/wait", "wait"),
    ("POST", "/containers/<name>/rename", "rename"),
    ("GET", "/containers/<name>/top", "top"),
    ("GET", "/containers/<name>/logs", "logs"),
    ("DELETE", "/containers/<name>", "remove"),
    ("GET", "/images/json", "images_json"),
    ("GET", "/images/<path:name>/json", "image_inspect"),
    ("GET", "/networks", "networks"),
    ("GET", "/volumes", "volumes"),
    ("GET", "/events", "events"),
) + CONTAINER_ROUTES + OBJECT_ROUTES + IMAGE_ROUTES


def _sized(request, result):
    """
    Give a whole answer its C{Content-Length}, as Go's server does for an
    answer written at once (streams, begun before, stay chunked).

    @param result: what a handler returned (C{bytes}, a L{Deferred} of it,
        or anything else, left alone).
    """
    if isinstance(result, Deferred):
        return result.addCallback(lambda value: _sized(request, value))
    if isinstance(result, bytes) and not request.startedWriting and request.code not in (
            204, 304) and (result or request.method != b"HEAD"):
        request.setHeader(b"Content-Length", b"%d" % (len(result),))
    return result


def _dispatcher(handler):
    def route(self, request, **kwargs):
        return self.dispatch(handler, request, **kwargs)

    route.__name__ = handler
    return route


def _register():
    for method, path, handler in ROUTES:
        for prefix in ("", "/v<version>"):
            FakeEngineAPI.app.route(prefix + path, methods=[method],
                                    endpoint="%s %s%s" % (method, prefix, path))(
                _dispatcher(handler))


_register()


class _FaultFront(Resource):
    """
    Apply the engine's faults, then hand the request to the Klein app.
    """

    isLeaf = True

    def __init__(self, engine, inner, api=None):
        Resource.__init__(self)
        self._engine = engine
        self._inner = inner
        self._api = api

    def render(self, request):
        engine = self._engine
        if engine.unreachable:
            return _drop(request)
        if engine.calls is not None:
            engine.calls.append(_call_of(request))
        failure = engine.take_failure()
        if engine.latency > 0:
            call = engine.clock.callLater(engine.latency, self._answer, request, failure)
            request.notifyFinish().addErrback(lambda _: call.active() and call.cancel())
            return NOT_DONE_YET
        return self._answer(request, failure)

    def _answer(self, request, failure):
        if self._engine.unreachable:
            return _drop(request)
        if failure is not None:
            body = _error(request, failure[0], failure[1])
        else:
            body = self._fast(request)
            if body is None:
                body = self._inner.render(request)
        if body is not NOT_DONE_YET:
            request.write(body)
            request.finish()
        return NOT_DONE_YET


    def _fast(self, request):
        """
        Answer an inspect as the app would (L{FakeEngineAPI.dispatch}: the
        version check, dockerd's headers, errors as JSON), or L{None} for
        any other request.
        """
        if self._api is None or request.method != b"GET" or request.args:
            return None
        match = _FAST_INSPECT.match(request.path)
        if match is None:
            return None
        try:
            return self._api.dispatch("inspect", request, version=match.group(1).decode(),
                                      name=match.group(2).decode())
        except FakeAPIError as e:
            return _sized(request, _error(request, e.status, e.message, e.content_type))


def _call_of(request):
    """
    @return: C{(method, path, query, body)} of a request, for
        L{FakeEngine.calls}.
    """
    path = request.path.decode("utf-8", "replace")
    parts = path.split("/", 2)
    if len(parts) > 2 and _VERSION.match(parts[1][1:]) and parts[1].startswith("v"):
        path = "/" + parts[2]
    query = {k.decode("utf-8", "replace"): [v.decode("utf-8", "replace") for v in vs]
             for k, vs in request.args.items()}
    body = b""
    if request.content is not None:
        request.content.seek(0)
        body = request.content.read()
        request.content.seek(0)
    return request.method.decode("ascii", "replace"), path, query, body


def _drop(request):
    transport = getattr(request.channel, "transport", None)
    if transport is not None:
        abort = getattr(transport, "abortConnection", None) or transport.loseConnection
        abort()
    return NOT_DONE_YET


class _FakeSite(Site):
    """
    A quiet site that refuses connections while its engine is unreachable
    and drops the open ones when it becomes so.
    """

    noisy = False
    displayTracebacks = False

    def __init__(self, engine):
        Site.__init__(self, FakeEngineAPI(engine).resource())
        self.engine = engine
        self.connections = set()
        engine.on_unreachable(self.drop_all)

    def log(self, request):
        pass

    def buildProtocol(self, addr):
        if self.engine.unreachable:
            return None
        protocol = Site.buildProtocol(self, addr)
        lost = protocol.connectionLost
        connections = self.connections

        def connectionLost(reason):
            connections.discard(protocol)
            return lost(reason)

        protocol.connectionLost = connectionLost
        connections.add(protocol)
        return protocol

    def drop_all(self):
        """
        Abort every open connection.
        """
        for protocol in list(self.connections):
            transport = getattr(protocol, "transport", None) or getattr(
                getattr(protocol, "_channel", None), "transport", None)
            if transport is not None:
                transport.abortConnection()


def bound_address(port):
    """
    @param port: an C{IListeningPort} from L{serve}.
    @return: its engine address: C{127.0.0.1:PORT} or C{unix:///path}.
    """
    host = port.getHost()
    if getattr(host, "type", None) in ("TCP", "TCP6") or hasattr(host, "port"):
        if ":" in host.host:
            return "[%s]:%d" % (host.host, host.port)
        return "%s:%d" % (host.host, host.port)
    name = host.name
    if isinstance(name, bytes):
        name = name.decode("utf-8")
    return "unix://" + name


@implementer(IListeningPort)
class FakeEnginePort:
    """
    A listening fake engine.  C{stopListening} also closes the connections
    it accepted (so tests leave a clean reactor).

    @ivar address: its engine address (see L{bound_address}).
    @ivar site: the L{twisted.web.server.Site} serving it.
    """

    def __init__(self, port, site):
        self._port = port
        self.site = site
        self.address = bound_address(port)

    def __repr__(self):
        return "<FakeEnginePort %s>" % (self.address,)

    def startListening(self):
        return self._port.startListening()

    def stopListening(self):
        site = self.site
        engine = site.engine
        if self.address in engine.addresses:
            engine.addresses.remove(self.address)
        engine.forget_unreachable(site.drop_all)
        d = self._port.stopListening() or succeed(None)
        site.drop_all()
        return d

    def getHost(self):
        return self._port.getHost()


def serve(engine, address, reactor=None):
    """
    Serve a fake engine.

    @param address: C{unix:///path} or C{host:port} (port 0: any free one).
    @param reactor: the reactor to listen with.
    @return: a L{Deferred} firing with the L{FakeEnginePort} (its
        C{address} is the bound address, also added to C{engine.addresses}).
    """
    if reactor is None:
        from twisted.internet import reactor
    site = _FakeSite(engine)
    if address.startswith("unix://"):
        path = address[len("unix://"):]
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            pass
        endpoint = UNIXServerEndpoint(reactor, path)
    else:
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        kind = TCP6ServerEndpoint if ":" in host else TCP4ServerEndpoint
        endpoint = kind(reactor, int(port), interface=host)

    def listening(port):
        front = FakeEnginePort(port, site)
        engine.addresses.append(front.address)
        return front

    return endpoint.listen(site).addCallback(listening)
