"""
L{DockerAPI}: the Docker remote API of the whole cluster, as a Klein app.
"""

import json
import re

from klein import Klein
from twisted.internet.defer import ensureDeferred, inlineCallbacks
from twisted.logger import Logger
from werkzeug.exceptions import MethodNotAllowed, NotFound

from swarmd import API_VERSION, MIN_API_VERSION
from swarmd._log import observer
from swarmd.api import info as _info
from swarmd.api.errors import DockerError, bad_request, error_body, not_found, write_error
from swarmd.api.hijack import hijack
from swarmd.api.listfilters import CONTAINER_FILTERS, ContainerFilter, parse_filters
from swarmd.api.proxy import copy_response_head, discard_body, forward_headers, relay_body
from swarmd.api.routes import ROUTES
from swarmd.cluster.cluster import ClusterError
from swarmd.cluster.engine import HEALTHY
from swarmd.cluster.index import AmbiguousContainer
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.versions import parse_version, version_less

#: Largest JSON request body the manager reads (create, exec, ...).
MAX_JSON_BODY = 4 * 1024 * 1024

_VERSION = re.compile(r"^\d+\.\d+$")


def json_answer(request, value, status=200):
    """
    Answer with a JSON document, as dockerd does (one line, then a newline).
    """
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(value, separators=(",", ":")).encode("utf-8") + b"\n"


def _arg(request, name, default=None):
    values = request.args.get(name.encode("ascii"))
    if not values:
        return default
    return values[-1].decode("utf-8", "replace")


def bool_arg(request, name):
    """
    Docker's boolean query values: absent, C{""}, C{0}, C{no}, C{false},
    C{none} are false.
    """
    value = _arg(request, name)
    return value is not None and value.strip().lower() not in ("", "0", "no", "false", "none")


def int_arg(request, name, default=0):
    value = _arg(request, name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise bad_request("invalid value for %s: %r" % (name, value)) from None


def read_json(request, limit=MAX_JSON_BODY, required=True):
    """
    Decode the request's JSON body.

    @raise DockerError: 400 for malformed JSON or a non-object, 413 for a body
        over C{limit}.
    """
    content = request.content
    if content is None:
        data = b""
    else:
        content.seek(0)
        data = content.read(limit + 1)
    if len(data) > limit:
        raise DockerError(413, "request body larger than %d bytes" % (limit,))
    if not data.strip():
        if required:
            raise bad_request("request body is empty; a JSON object is required")
        return {}
    try:
        value = json.loads(data)
    except ValueError as e:
        raise bad_request("invalid JSON in request body: %s" % (e,)) from None
    if not isinstance(value, dict):
        raise bad_request("invalid JSON in request body: expected an object")
    return value


class DockerAPI:
    """
    The Docker remote API served by the manager.
    """

    app = Klein()
    _log = Logger(observer=observer)

    def __init__(self, cluster, clock, strategy="spread", filters=(), debug=False):
        """
        @param cluster: the L{swarmd.cluster.Cluster}.
        @param clock: the reactor (used for timestamps).
        @param strategy: the strategy name shown by C{/info}.
        @param filters: the filter names shown by C{/info}.
        """
        self.cluster = cluster
        self.clock = clock
        self.strategy = strategy
        self.filters = tuple(filters)
        self.debug = debug
        self.event_listeners = 0

    def resource(self):
        return self.app.resource()

    # -- errors ---------------------------------------------------------------------

    @app.handle_errors(NotFound, MethodNotAllowed)
    def _page_not_found(self, request, failure):
        return write_error(request, 404, "page not found")

    @app.handle_errors(DockerError)
    def _docker_error(self, request, failure):
        return write_error(request, failure.value.status, failure.value.message)

    @app.handle_errors(ClusterError)
    def _cluster_error(self, request, failure):
        return write_error(request, failure.value.status, failure.value.message)

    @app.handle_errors(EngineError)
    def _engine_error(self, request, failure):
        return write_error(request, failure.value.status, failure.value.message)

    @app.handle_errors(EngineUnreachable)
    def _engine_unreachable(self, request, failure):
        return write_error(request, 500, str(failure.value))

    @app.handle_errors(AmbiguousContainer)
    def _ambiguous(self, request, failure):
        return write_error(request, 400, str(failure.value))

    @app.handle_errors(Exception)
    def _unexpected(self, request, failure):
        from twisted.internet.defer import CancelledError

        if failure.check(CancelledError):
            return b""
        self._log.failure("error serving {method} {uri}", failure,
                          method=request.method.decode("ascii", "replace"),
                          uri=request.uri.decode("ascii", "replace"))
        return write_error(request, 500, "internal error: %s" % (failure.getErrorMessage(),))

    # -- dispatch -------------------------------------------------------------------

    def dispatch(self, handler, request, version=None, **kwargs):
        """
        Check the API version of a versioned path, then call the handler.
        """
        if version is not None:
            if not _VERSION.match(version):
                raise DockerError(404, "page not found")
            if version_less(API_VERSION, version):
                raise bad_request(
                    "client version %s is too new. Maximum supported API version is %s"
                    % (version, API_VERSION))
            if version_less(version, MIN_API_VERSION):
                raise bad_request(
                    "client version %s is too old. Minimum supported API version is %s, "
                    "please upgrade your client to a newer version" % (version, MIN_API_VERSION))
        return getattr(self, handler)(request, version=version, **kwargs)

    # -- helpers --------------------------------------------------------------------

    def _container(self, name):
        container = self.cluster.container(name)
        if container is None:
            raise not_found("No such container: %s" % (name,))
        return container

    @staticmethod
    def _engine_version(engine, version):
        """
        The API version to use towards C{engine} for a client speaking
        C{version} (L{None}: unversioned).
        """
        theirs = engine.client.api_version
        if version is None:
            return theirs
        if theirs is not None and parse_version(theirs) < parse_version(version):
            return theirs
        return version

    def _engine_path(self, engine, version, path, request):
        chosen = self._engine_version(engine, version)
        prefix = "/v" + chosen if chosen else ""
        query = request.uri.partition(b"?")[2]
        full = (prefix + path).encode("utf-8")
        return full + b"?" + query if query else full

    @inlineCallbacks
    def _forward(self, request, engine, path, version, body=None, refresh=None):
        """
        Proxy the request to C{engine} at C{path} and stream the answer back.

        @param refresh: a container ID to re-inspect once the engine answered
            with success, before the client's answer ends.
        """
        if body is None:
            body = request.content.read() if request.content is not None else b""
        target = self._engine_path(engine, version, path, request)
        response = yield engine.track(engine.client.request(
            request.method, target, forward_headers(request), body or None, timeout=60.0))
        copy_response_head(request, response)
        if request.method == b"HEAD" or response.code in (204, 304):
            yield discard_body(response)
        else:
            yield relay_body(request, response)
        if refresh is not None and 200 <= response.code < 300:
            yield self._refresh(engine, refresh)
        return None

    @inlineCallbacks
    def _refresh(self, engine, container_id):
        try:
            yield engine.refresh_container(container_id)
        except (EngineError, EngineUnreachable) as e:
            self._log.debug("refresh of {id} failed: {error}", id=container_id, error=str(e))

    def not_supported(self, request, version=None, **kwargs):
        raise DockerError(501, "%s %s is not supported by swarmd yet" % (
            request.method.decode("ascii"), request.path.decode("utf-8", "replace")))

    # -- system ---------------------------------------------------------------------

    def ping(self, request, version=None):
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache, no-store, must-revalidate")
        request.setHeader(b"Pragma", b"no-cache")
        return b"OK"

    def version(self, request, version=None):
        return json_answer(request, _info.version())

    def info(self, request, version=None):
        return json_answer(request, _info.info(
            self.cluster, self.strategy, self.filters, debug=self.debug,
            events_listeners=self.event_listeners))

    def images_viz(self, request, version=None):
        raise DockerError(501, "Not supported in clustering mode.")

    # -- containers -----------------------------------------------------------------

    def containers_json(self, request, version=None):
        show_all = bool_arg(request, "all")
        limit = int_arg(request, "limit", -1)
        filters = parse_filters(_arg(request, "filters"), CONTAINER_FILTERS)
        predicate = ContainerFilter(filters, self.cluster.container)
        if predicate.wants_stopped:
            show_all = True
        now = self.clock.seconds()
        chosen = []
        for container in self.cluster.containers:
            if not show_all and not container.running:
                continue
            image = (container.info.get("Config") or {}).get("Image", "")
            if not show_all and image.split(":")[0] == "swarm":
                continue
            if not predicate(container):
                continue
            chosen.append(container)
        chosen.sort(key=lambda c: c.created, reverse=True)
        if limit > 0:
            chosen = chosen[:limit]
        answer = []
        for container in chosen:
            engine = container.engine
            summary = container.summary(now)
            summary["Names"] = ["/" + engine.name + name for name in summary["Names"]]
            for port in summary["Ports"]:
                if port.get("IP") == "0.0.0.0":
                    port["IP"] = engine.ip
            if engine.state != HEALTHY:
                summary["Status"] = "Host Down"
            answer.append(summary)
        return json_answer(request, answer)

    @inlineCallbacks
    def container_json(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        if not engine.healthy:
            raise DockerError(500, "Container %s running on unhealthy node %s" % (
                name, engine.name))
        try:
            info = yield engine.track(engine.client.inspect_container(container.id))
        except EngineError as e:
            if e.status == 404:
                engine.forget_container(container.id)
                raise not_found("No such container: %s" % (name,)) from None
            raise
        info["Node"] = {
            "ID": engine.id, "IP": engine.ip, "Addr": engine.address, "Name": engine.name,
            "Cpus": engine.cpus, "Memory": engine.memory, "Labels": engine.labels,
        }
        ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
        for bindings in ports.values():
            for binding in bindings or []:
                if binding.get("HostIp") == "0.0.0.0":
                    binding["HostIp"] = engine.ip
        return json_answer(request, info)

    @inlineCallbacks
    def containers_create(self, request, version=None):
        from swarmd.scheduler import ContainerConfig, ExpressionError

        name = _arg(request, "name") or None
        body = read_json(request)
        try:
            config = ContainerConfig.from_create_body(body, name)
        except ExpressionError as e:
            raise bad_request(str(e)) from None
        auth = request.getHeader(b"X-Registry-Auth")
        engine, answer = yield self.cluster.create_container(config, auth)
        return json_answer(request, {"Id": answer["Id"],
                                     "Warnings": answer.get("Warnings") or []}, 201)

    @inlineCallbacks
    def container_start(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        yield engine.track(engine.client.start_container(container.id))
        yield self._refresh(engine, container.id)
        request.setResponseCode(204)
        return b""

    @inlineCallbacks
    def container_delete(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        yield engine.track(engine.client.remove_container(
            container.id, force=bool_arg(request, "force"), volumes=bool_arg(request, "v")))
        engine.forget_container(container.id)
        request.setResponseCode(204)
        return b""

    def proxy_container(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version)

    def proxy_container_refresh(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version,
                             refresh=container.id)

    def hijack_container(self, request, name, version=None):
        container = self._container(name)
        path = self._engine_path(container.engine, version, "/containers/%s%s" % (
            container.id, self._action(request, name)), request)
        body = request.content.read() if request.content is not None else b""
        return ensureDeferred(hijack(request, container.engine, path, body))

    @staticmethod
    def _action(request, name):
        """
        What follows the container name in the request path (C{/logs}, ...).
        """
        path = request.path.decode("utf-8", "replace")
        marker = "/containers/" + name
        index = path.find(marker)
        return path[index + len(marker):] if index >= 0 else ""


def _dispatcher(handler):
    def route(self, request, **kwargs):
        return self.dispatch(handler, request, **kwargs)

    route.__name__ = handler
    return route


def _register_routes():
    for method, path, handler in ROUTES:
        if not hasattr(DockerAPI, handler):
            setattr(DockerAPI, handler, DockerAPI.not_supported)
        for prefix in ("", "/v<version>"):
            DockerAPI.app.route(prefix + path, methods=[method],
                                endpoint="%s %s%s" % (method, prefix, path))(_dispatcher(handler))
    # Anything else, on any method, is Docker's "page not found".

    @DockerAPI.app.route("/", branch=True,
                         methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    def _fallback(self, request):
        request.setResponseCode(404)
        request.setHeader(b"Content-Type", b"application/json")
        return error_body("page not found")


_register_routes()
