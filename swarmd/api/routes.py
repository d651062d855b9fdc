"""
The manager's one route table: classic Swarm's (api/primary.go) plus the
routes it lacked.  Every route is served both as is and under C{/vX.Y}.

Each entry is a L{Route}: method, path, handler and whether it takes the
fast lane (L{swarmd.api.fastlane}).  Paths use werkzeug syntax;
C{<path:...>} matches across slashes, like classic's C{{name:.*}}.  A
handler is named C{"group.method"}: a method of one of the handler groups
L{swarmd.api.app.DockerAPI} is made of (C{system}, C{events},
C{containers}, C{images}, C{networks}, C{volumes}), found when the API is
built (L{resolve_handlers}: a name that does not resolve stops the manager
there); or L{NotSupported}, for a route answered 501 on purpose.
"""

import re
from typing import NamedTuple

from swarmd.api.errors import DockerError
from swarmd.api.images import NO_BUILDKIT

#: The answer of C{/images/viz}, as classic Swarm's.
CLUSTERING_MODE = "Not supported in clustering mode."


class NotSupported:
    """
    The handler of a route the manager does not serve, on purpose: a 501
    with C{message}.
    """

    def __init__(self, message):
        self.message = message

    def __call__(self, request, version=None, **kwargs):
        raise DockerError(501, self.message)

    def __repr__(self):
        return "NotSupported(%r)" % (self.message,)


class Route(NamedTuple):
    """
    One route of the API.

    @ivar method: the HTTP method, C{"GET"}.
    @ivar path: the werkzeug path, C{"/containers/<path:name>/json"}.
    @ivar handler: C{"group.method"}, or a L{NotSupported}.
    @ivar fast: whether the fast lane (L{swarmd.api.fastlane}) answers it,
        with a regular expression made from C{path} (L{fast_pattern}).
    """

    method: str
    path: str
    handler: "str | NotSupported"
    fast: bool = False


#: Marks a route of L{ROUTES} the fast lane answers.
FAST = True

#: C{(method, path, handler[, FAST])}, one row a route.
ROUTES = tuple(Route(*row) for row in (
    ("HEAD", "/containers/<path:name>/archive", "containers.proxy_container"),
    ("GET", "/_ping", "system.ping", FAST),
    ("HEAD", "/_ping", "system.ping"),
    ("GET", "/events", "events.events"),
    ("GET", "/info", "system.info", FAST),
    ("GET", "/version", "system.version", FAST),
    ("GET", "/images/json", "images.images_json"),
    ("GET", "/images/viz", NotSupported(CLUSTERING_MODE)),
    ("GET", "/images/search", "images.proxy_random"),
    ("GET", "/images/get", "images.images_get"),
    ("GET", "/images/<path:name>/get", "images.proxy_image"),
    ("GET", "/images/<path:name>/history", "images.proxy_image"),
    ("GET", "/images/<path:name>/json", "images.proxy_image"),
    ("GET", "/containers/ps", "containers.containers_json"),
    ("GET", "/containers/json", "containers.containers_json", FAST),
    ("GET", "/containers/<path:name>/archive", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/export", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/changes", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/json", "containers.container_json", FAST),
    ("GET", "/containers/<path:name>/top", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/logs", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/stats", "containers.proxy_container"),
    ("GET", "/containers/<path:name>/attach/ws", "containers.hijack_container"),
    ("GET", "/exec/<path:execid>/json", "containers.proxy_exec"),
    ("GET", "/networks", "networks.networks"),
    ("GET", "/networks/<path:networkid>", "networks.network"),
    ("GET", "/volumes", "volumes.volumes"),
    ("GET", "/volumes/<path:volumename>", "volumes.volume"),
    ("GET", "/system/df", "system.system_df"),
    ("POST", "/auth", "images.proxy_random"),
    ("POST", "/commit", "containers.commit"),
    ("POST", "/build", "images.build"),
    ("POST", "/build/cancel", NotSupported(NO_BUILDKIT)),
    ("POST", "/images/create", "images.images_create"),
    ("POST", "/images/load", "images.images_load"),
    ("POST", "/images/prune", "images.images_prune"),
    ("POST", "/images/<path:name>/push", "images.proxy_image"),
    ("POST", "/images/<path:name>/tag", "images.image_tag"),
    ("POST", "/containers/create", "containers.containers_create"),
    ("POST", "/containers/prune", "containers.containers_prune"),
    ("POST", "/containers/<path:name>/kill", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/pause", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/unpause", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/rename", "containers.container_rename"),
    ("POST", "/containers/<path:name>/restart", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/start", "containers.container_start"),
    ("POST", "/containers/<path:name>/stop", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/update", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/wait", "containers.proxy_container_refresh"),
    ("POST", "/containers/<path:name>/resize", "containers.proxy_container"),
    ("POST", "/containers/<path:name>/attach", "containers.hijack_container"),
    ("POST", "/containers/<path:name>/copy", "containers.proxy_container"),
    ("POST", "/containers/<path:name>/exec", "containers.container_exec"),
    ("POST", "/exec/<path:execid>/start", "containers.exec_start"),
    ("POST", "/exec/<path:execid>/resize", "containers.proxy_exec"),
    ("POST", "/networks/create", "networks.networks_create"),
    ("POST", "/networks/prune", "networks.networks_prune"),
    ("POST", "/networks/<path:networkid>/connect", "networks.network_connect"),
    ("POST", "/networks/<path:networkid>/disconnect", "networks.network_disconnect"),
    ("POST", "/volumes/create", "volumes.volumes_create"),
    ("POST", "/volumes/prune", "volumes.volumes_prune"),
    ("POST", "/session", NotSupported(NO_BUILDKIT)),
    ("PUT", "/containers/<path:name>/archive", "containers.proxy_container"),
    ("DELETE", "/containers/<path:name>", "containers.container_delete"),
    ("DELETE", "/images/<path:name>", "images.image_delete"),
    ("DELETE", "/networks/<path:networkid>", "networks.network_delete"),
    ("DELETE", "/volumes/<path:name>", "volumes.volume_delete"),
))


class UnknownHandler(Exception):
    """
    A route names a handler that no handler group has.
    """


def resolve_handlers(routes, groups):
    """
    Find the handler of every route.

    @param routes: L{Route}s.
    @param groups: C{{group name: handler group}}.
    @return: C{{route's handler: callable}}, each callable taking
        C{(request, version=..., **path arguments)}.
    @raise UnknownHandler: naming the first route whose handler is not a
        public method of one of C{groups}.
    """
    handlers = {}
    for route in routes:
        handler = route.handler
        if isinstance(handler, NotSupported):
            handlers[handler] = handler
            continue
        group_name, _, name = handler.partition(".")
        found = None
        if group_name in groups and name and not name.startswith("_"):
            found = getattr(groups[group_name], name, None)
        if not callable(found):
            raise UnknownHandler("route %s %s: no handler %r (handler groups: %s)" % (
                route.method, route.path, handler, ", ".join(sorted(groups))))
        handlers[handler] = found
    return handlers


_VARIABLE = re.compile(r"<(?:([^:>]*):)?([^>]*)>")

#: What each werkzeug converter matches on the fast lane: a path with
#: percent-escapes is left to Klein (which decodes it).
_FAST_CONVERTERS = {"path": "[^%]+", None: "[^/%]+"}


def route_template(path):
    """
    @param path: a path of L{ROUTES} (C{/containers/<path:name>/json}).
    @return: its template as metrics label it (C{/containers/{name}/json}).
    """
    return _VARIABLE.sub(r"{\2}", path)


def fast_pattern(path):
    """
    @param path: a path of L{ROUTES} (C{/containers/<path:name>/json}).
    @return: the regular expression the fast lane matches it with, its
        variables as named groups (C{/containers/(?P<name>[^%]+)/json}).
    @raise ValueError: for a converter the fast lane does not know.
    """
    pieces = []
    end = 0
    for variable in _VARIABLE.finditer(path):
        converter, name = variable.group(1), variable.group(2)
        if converter not in _FAST_CONVERTERS:
            raise ValueError("no fast pattern for <%s:%s> in %s" % (converter, name, path))
        pieces.append(re.escape(path[end:variable.start()]))
        pieces.append("(?P<%s>%s)" % (name, _FAST_CONVERTERS[converter]))
        end = variable.end()
    pieces.append(re.escape(path[end:]))
    return "".join(pieces)
