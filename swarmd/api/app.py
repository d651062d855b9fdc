"""
L{DockerAPI}: the Docker remote API of the whole cluster, as a Klein app.

The handlers live in one handler group per area (L{SystemRoutes},
L{ContainerRoutes}, L{ImageRoutes}, ...), objects of their own that the API
builds and holds; the one route table (L{swarmd.api.routes.ROUTES}) names
each route's handler as C{"group.method"}, found when the API is built
(L{resolve_handlers}).  Every route is served with and without a C{/vX.Y}
prefix; the fast lane (L{swarmd.api.fastlane}) answers the routes the table
marks C{fast} before Klein's routing.
"""

import os
import re

from klein import Klein
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectingCancelledError
from twisted.logger import Logger
from werkzeug.exceptions import MethodNotAllowed, NotFound

from swarmd import API_VERSION, MIN_API_VERSION
from swarmd._log import API_ERROR, observer
from swarmd.api.containers import ContainerRoutes
from swarmd.api.errors import DockerError, bad_request, error_body, write_error
from swarmd.api.events import EventRoutes
from swarmd.api.images import ImageRoutes
from swarmd.api.networks import NetworkRoutes
from swarmd.api.routes import ROUTES, NotSupported, resolve_handlers, route_template
from swarmd.api.system import ManagerStatus, SystemRoutes
from swarmd.api.volumes import VolumeRoutes
from swarmd.cluster.index import AmbiguousContainer
from swarmd.engine import EngineUnreachable
from swarmd.errors import StatusError
from swarmd.versions import version_less

_VERSION = re.compile(r"[0-9]+\.[0-9]+\Z")


def new_incident():
    """
    @return: a short random ID naming one internal error, both in the
        client's answer and in the log line holding its traceback.
    """
    return os.urandom(6).hex()


class DockerAPI:
    """
    The Docker remote API served by the manager.

    @ivar status: the L{ManagerStatus} the handler groups share.
    @ivar system: the L{SystemRoutes}; likewise C{events}, C{containers},
        C{images}, C{networks} and C{volumes}: the handler groups, by the
        name L{ROUTES} gives them.
    @ivar handlers: the handler of each route (C{{route's handler:
        callable}}), found when the API was built.
    """

    app = Klein()
    _log = Logger(observer=observer)

    def __init__(self, cluster, clock, strategy="spread", filters=(), debug=False,
                 refresh_on_node_filter=False, container_name_refresh_filter=""):
        """
        @param cluster: the L{swarmd.cluster.Cluster}.
        @param clock: the reactor (used for timestamps).
        @param strategy: the strategy name shown by C{/info}.
        @param filters: the filter names shown by C{/info}.
        @param debug: C{/info}'s C{Debug}.
        @param refresh_on_node_filter: re-read the containers of the nodes a
            container list's C{node} filter names before answering.
        @param container_name_refresh_filter: re-read every node's containers
            before answering a container list whose C{name} filter is this.
        @raise swarmd.api.routes.UnknownHandler: a route of L{ROUTES} names
            a handler no group has.
        """
        self.cluster = cluster
        self.clock = clock
        self.status = ManagerStatus()
        self.system = SystemRoutes(cluster, clock, self.status, strategy=strategy,
                                   filters=filters, debug=debug)
        self.events = EventRoutes(cluster, clock, self.status)
        self.containers = ContainerRoutes(
            cluster, clock, refresh_on_node_filter=refresh_on_node_filter,
            container_name_refresh_filter=container_name_refresh_filter)
        self.images = ImageRoutes(cluster, clock)
        self.networks = NetworkRoutes(cluster, clock)
        self.volumes = VolumeRoutes(cluster, clock)
        self.handlers = resolve_handlers(ROUTES, {
            "system": self.system, "events": self.events, "containers": self.containers,
            "images": self.images, "networks": self.networks, "volumes": self.volumes})

    @property
    def event_listeners(self):
        """
        The clients following C{/events} now.
        """
        return self.status.event_listeners

    @property
    def role(self):
        """
        Returns this manager's role for C{/info}: C{("primary", None)}, or
        under replication C{("replica", primary address)} (see
        L{swarmd.ha}).
        """
        return self.status.role

    @role.setter
    def role(self, role):
        self.status.role = role

    def resource(self):
        """
        @return: the API's root resource: the fast lane in front of Klein's.
        """
        from swarmd.api.fastlane import FastLane

        return FastLane(self, self.app.resource())

    # -- errors ---------------------------------------------------------------------

    @app.handle_errors(NotFound, MethodNotAllowed)
    def _page_not_found(self, request, failure):
        return write_error(request, 404, "page not found")

    @app.handle_errors(Exception)
    def _error(self, request, failure):
        return self.error_answer(request, failure)

    #: The status of each kind of error the manager answers as Docker does
    #: (L{None}: the error's own C{status} and C{message}, for a
    #: L{StatusError}: the API's, the cluster's and an engine's; else its text);
    #: anything else is a 500 and logged.
    _ERROR_STATUS = (
        (StatusError, None),
        (EngineUnreachable, 500),
        (AmbiguousContainer, 400),
    )

    def error_answer(self, request, failure):
        """
        Answer a failed request with a Docker-style error (both lanes:
        Klein's and L{swarmd.api.fastlane}).

        @return: the body to write (C{b""} for a client that left).
        """
        if failure.check(CancelledError):
            return b""
        for kind, status in self._ERROR_STATUS:
            if failure.check(kind):
                error = failure.value
                if status is None:
                    return self._error_answer(request, error.status, error.message)
                return self._error_answer(request, status, str(error))
        # Python's own text (an exception's message, a traceback) never
        # reaches a client: it gets an ID to quote, the log the traceback.
        incident = new_incident()
        message = "internal error (incident %s)" % (incident,)
        self._log.failure("internal error (incident {incident}) serving {method} {uri}",
                          failure, incident=incident, status=500, error=message,
                          swarmd_event=API_ERROR, **_request_fields(request))
        return write_error(request, 500, message, incident=incident)

    def _error_answer(self, request, status, message):
        """
        Answer an error the manager or an engine explained, and log it: a
        5xx at C{warn} with an incident ID (also in the answer's body), a
        4xx at C{debug} (a client's mistake is not the operator's).
        """
        fields = _request_fields(request)
        if status < 500:
            self._log.debug("{method} {uri}: {status} {error}", status=status,
                            error=message, incident=None, swarmd_event=API_ERROR,
                            **fields)
            return write_error(request, status, message)
        incident = new_incident()
        self._log.warn("{method} {uri}: {status} {error} (incident {incident})",
                       status=status, error=message, incident=incident,
                       swarmd_event=API_ERROR, **fields)
        return write_error(request, status, message, incident=incident)

    # -- dispatch -------------------------------------------------------------------

    def dispatch(self, handler, request, version=None, **kwargs):
        """
        Check the API version of a versioned path, then call the handler.

        @param handler: a route's handler, as L{ROUTES} names it.
        """
        if version is not None:
            if _VERSION.match(version) is None:
                raise DockerError(404, "page not found")
            if version_less(API_VERSION, version):
                raise bad_request(
                    "client version %s is too new. Maximum supported API version is %s"
                    % (version, API_VERSION))
            if version_less(version, MIN_API_VERSION):
                raise bad_request(
                    "client version %s is too old. Minimum supported API version is %s, "
                    "please upgrade your client to a newer version" % (version, MIN_API_VERSION))
        result = self.handlers[handler](request, version=version, **kwargs)
        if isinstance(result, Deferred):
            result.addErrback(self._client_left, request)
        return result

    def _client_left(self, failure, request):
        """
        A handler that failed after its client left has nobody to answer:
        an expected error is one debug line, anything else an incident (its
        traceback logged once), and Klein hears a cancellation (it would log
        any other failure as an "Unhandled Error Processing Request").
        """
        if not getattr(request, "_disconnected", False) or failure.check(CancelledError):
            return failure
        if failure.check(ConnectingCancelledError, *(kind for kind, _ in self._ERROR_STATUS)):
            self._log.debug("client left {method} {uri} before its answer: {error}",
                            method=request.method.decode("ascii", "replace"),
                            uri=request.uri.decode("ascii", "replace"),
                            error=failure.getErrorMessage())
        else:
            self.error_answer(request, failure)
        raise CancelledError()


def _request_fields(request):
    """
    @return: the log fields naming a request: C{method}, C{uri} (as
        sent), C{path} and C{route} (the route template it matched, or
        L{None}).
    """
    return {"method": request.method.decode("ascii", "replace"),
            "uri": request.uri.decode("ascii", "replace"),
            "path": request.path.decode("ascii", "replace"),
            "route": getattr(request, "route_template", None)}


def _dispatcher(handler, path):
    template = route_template(path)

    def route(self, request, **kwargs):
        # The route a request took, for the metrics (swarmd.metrics).
        request.route_template = template
        return self.dispatch(handler, request, **kwargs)

    route.__name__ = "not_supported" if isinstance(handler, NotSupported) else handler
    return route


def _register_routes():
    # Klein's URL map: each route's handler is looked up in the API's
    # handlers (DockerAPI.handlers) when a request comes.
    for method, path, handler, _ in ROUTES:
        for prefix in ("", "/v<version>"):
            DockerAPI.app.route(prefix + path, methods=[method],
                                endpoint="%s %s%s" % (method, prefix, path))(
                                    _dispatcher(handler, path))
    # Anything else, on any method, is Docker's "page not found".

    @DockerAPI.app.route("/", branch=True,
                         methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
    def _fallback(self, request):
        request.setResponseCode(404)
        request.setHeader(b"Content-Type", b"application/json")
        return error_body("page not found")


_register_routes()
