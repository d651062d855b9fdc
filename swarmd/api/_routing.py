"""
L{EngineRouting}: what route handlers share to reach the engine behind a
request: container lookup, API version towards the engine, proxying.
"""

from twisted.internet.defer import inlineCallbacks
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.api.errors import DockerError, not_found
from swarmd.api.proxy import copy_response_head, discard_body, forward_headers, relay_body
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.versions import parse_version


class EngineRouting:
    """
    Mixin of the route classes; needs C{self.cluster}.
    """

    _log = Logger(observer=observer)

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

    @staticmethod
    def _action(request, name):
        """
        What follows the container name in the request path (C{/logs}, ...).
        """
        path = request.path.decode("utf-8", "replace")
        marker = "/containers/" + name
        index = path.find(marker)
        return path[index + len(marker):] if index >= 0 else ""

    def not_supported(self, request, version=None, **kwargs):
        raise DockerError(501, "%s %s is not supported by swarmd yet" % (
            request.method.decode("ascii"), request.path.decode("utf-8", "replace")))
