"""
The fast lane: the few read-only routes clients call most (C{_ping},
C{version}, C{info}, the container list and C{inspect}: the routes
L{swarmd.api.routes.ROUTES} marks C{fast}) matched by one regular expression
each (made from the route's path) and handed straight to their L{DockerAPI}
handler,
without Klein's routing (werkzeug matching over the whole table and its
Deferred chain cost more than the handlers themselves: an inspect served
from the cache took 0.8 ms of manager CPU, about 0.4 ms of it routing).

Everything else, and anything unusual about a request on these paths
(percent-escapes, other methods), goes through the Klein resource as before,
so both lanes answer the same: same handlers, same error mapping
(L{DockerAPI.error_answer}).
"""

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from werkzeug.exceptions import BadHost

from swarmd._log import observer
from swarmd.api.errors import write_error
from swarmd.api.routes import ROUTES, fast_pattern, route_template


def _compile(routes):
    """
    @return: C{{method: [(pattern, handler, route template)]}} of the fast
        routes of C{routes}: each pattern's groups are the API version (or
        L{None}) and the route's own arguments, by name.
    """
    table: dict[bytes, list[Any]] = {}
    for route in routes:
        if not route.fast:
            continue
        pattern = re.compile(r"(?:/v(?P<version>[^/%]+))?" + fast_pattern(route.path) + r"\Z")
        table.setdefault(route.method.encode("ascii"), []).append(
            (pattern, route.handler, route_template(route.path)))
    return table


class FastLane(Resource):
    """
    The manager's root resource: the fast routes answered directly, the
    rest by the Klein resource.
    """

    isLeaf = True
    _log = Logger(observer=observer)

    def __init__(self, api, rest, routes=ROUTES):
        """
        @param api: the L{DockerAPI} whose handlers answer.
        @param rest: the resource for every other request (Klein's).
        @param routes: the route table, whose C{fast} routes this lane
            answers.
        """
        Resource.__init__(self)
        self._api = api
        self._rest = rest
        self._table = _compile(routes)

    def match(self, method, path):
        """
        @param path: the request's path, C{bytes}, without its query.
        @return: C{(handler name, arguments)}, or L{None} for the slow lane.
        """
        found = self._find(method, path)
        return None if found is None else found[:2]

    def answers_directly(self, method, path):
        """
        @param path: a request's path, C{bytes}, without its query.
        @return: whether this resource answers C{method} of C{path} with a
            fast route's handler (what L{swarmd.api.direct} asks before
            answering a request at the channel).
        """
        return self._find(method, path) is not None

    def _find(self, method, path):
        """
        @return: C{(handler name, arguments, route template)} (the template
            as metrics label requests, the same as Klein's lane), or L{None}.
        """
        candidates = self._table.get(method)
        if not candidates:
            return None
        try:
            text = path.decode("ascii")
        except UnicodeDecodeError:
            return None
        for pattern, handler, template in candidates:
            found = pattern.match(text)
            if found is not None:
                arguments = {k: v for k, v in found.groupdict().items() if k != "version"}
                return handler, dict(arguments, version=found.group("version")), template
        return None

    def _render_rest(self, request):
        """
        Hand the request to Klein; what fails before any handler runs is
        answered as Docker would, not with Twisted's HTML page.
        """
        try:
            return self._rest.render(request)
        except BadHost:
            # Werkzeug cannot IDNA-encode the Host header (C{0..0}); Go's
            # server takes it, and the API ignores the host: route anyway.
            request.requestHeaders.setRawHeaders(b"host", [b"localhost"])
        except Exception:
            return self._api.error_answer(request, Failure())
        try:
            return self._rest.render(request)
        except Exception:
            return self._api.error_answer(request, Failure())

    def render(self, request):
        found = self._find(request.method, request.path)
        if found is None:
            if not _utf8_path(request.path):
                # Klein would answer a plain-text 400 and log a traceback.
                self._log.info("refused {method} of a path that is not UTF-8: {path}",
                               method=request.method.decode("ascii", "replace"),
                               path=request.path.decode("ascii", "replace"))
                return write_error(request, 400, "invalid URL: the path is not UTF-8 once "
                                                 "percent-decoded")
            return self._render_rest(request)
        handler, arguments, request.route_template = found
        api = self._api
        try:
            result = api.dispatch(handler, request, **arguments)
        except Exception:
            return api.error_answer(request, Failure())
        if isinstance(result, bytes):
            return result
        # An answer that takes time (a live inspect, a refresh first).
        request.notifyFinish().addErrback(lambda _: result.cancel())

        def failed(failure):
            return api.error_answer(request, failure)

        def write(body):
            if not request.finished and not getattr(request, "_disconnected", False):
                if body:
                    request.write(body)
                request.finish()

        result.addErrback(failed).addCallback(write)
        return NOT_DONE_YET


def _utf8_path(path):
    """
    @param path: a request's raw path, C{bytes}.
    @return: whether it decodes as UTF-8 once percent-decoded (as Klein
        needs it).
    """
    try:
        unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
