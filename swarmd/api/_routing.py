"""
L{EngineRouting}: what route handlers share to reach the engine behind a
request: container lookup, API version towards the engine, proxying.
"""


from typing import Any

from twisted.internet import task
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import Cooperator
from twisted.logger import Logger
from twisted.web.client import FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from swarmd._log import observer
from swarmd.api._fanout import combine_failures, fan_out, prune_targets, pruned, refresh_lists
from swarmd.api._helpers import arg, int_arg
from swarmd.api.errors import not_found
from swarmd.api.proxy import copy_response_head, discard_body, forward_headers, relay_body
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.engine.client import decode_json
from swarmd.versions import parse_version


def request_body(request, clock=None):
    """
    The client's request body, ready to send to an engine.

    Twisted keeps a request body up to 100 KB in memory and spools a larger
    (or chunked) one to a temporary file.  Small bodies are sent as bytes;
    large ones are read from the spool in chunks, so an upload never sits
    whole in memory.

    @param clock: the reactor that paces the chunks (default: the global one).
    @return: C{bytes}, an C{IBodyProducer}, or L{None} for an empty body.
    """
    content = request.content
    if content is None:
        return None
    content.seek(0, 2)
    size = content.tell()
    content.seek(0)
    if not size:
        return None
    if size <= SMALL_BODY:
        return content.read()
    cooperator = None
    if clock is not None:
        cooperator = Cooperator(scheduler=lambda work: clock.callLater(0, work))
    return FileBodyProducer(content, cooperator=cooperator or task, readSize=64 * 1024)


#: Seconds an engine has to start answering a proxied request.
ANSWER_TIMEOUT = 60.0

#: Seconds an engine has to answer a request with a large (streamed) body:
#: it answers only once the whole upload has arrived.
UPLOAD_TIMEOUT = 3600.0

#: Seconds, beyond a stop's own grace period, an engine has to answer it.
STOP_MARGIN = 60.0

#: A container's grace period when neither the request nor its config gives
#: one (dockerd's default).
DEFAULT_STOP_TIMEOUT = 10


def stop_answer_timeout(request, container):
    """
    How long an engine may take to answer a stop or restart: the grace
    period (the request's C{t}, else the container's C{StopTimeout}, else
    dockerd's 10 s) plus L{STOP_MARGIN}; L{None} (no limit) for a negative
    grace period, which waits for the container however long it takes.
    """
    grace = int_arg(request, "t", None)
    if grace is None:
        grace = (container.info.get("Config") or {}).get("StopTimeout")
    if grace is None:
        grace = DEFAULT_STOP_TIMEOUT
    if grace < 0:
        return None
    return grace + STOP_MARGIN


#: Bodies up to this size are sent in one piece.
SMALL_BODY = 1024 * 1024

#: Headers of a JSON request body the manager makes.
JSON_HEADERS = Headers({b"Content-Type": [b"application/json"]})


class EngineRouting:
    """
    The base of the handler groups (L{swarmd.api.containers.ContainerRoutes},
    ...): reaching the engine behind a request.

    @ivar cluster: the L{swarmd.cluster.Cluster}.
    @ivar clock: the reactor (timestamps, pacing of streamed bodies).
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster, clock):
        """
        @param cluster: the L{swarmd.cluster.Cluster}.
        @param clock: the reactor.
        """
        self.cluster: Any = cluster
        self.clock: Any = clock

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
        theirs = engine.api.api_version
        if version is None:
            return theirs
        if theirs is not None and parse_version(theirs) < parse_version(version):
            return theirs
        return version

    def _engine_path(self, engine, version, path, request=None, query=None):
        """
        The path to send to C{engine}: C{path} under the API version both
        sides speak, with the client's query string (or C{query}).

        @param query: C{bytes} query string to use instead of the client's.
        @return: C{bytes}.
        """
        chosen = self._engine_version(engine, version)
        prefix = "/v" + chosen if chosen else ""
        if query is None:
            query = request.uri.partition(b"?")[2] if request is not None else b""
        full = (prefix + path).encode("utf-8")
        return full + b"?" + query if query else full

    @inlineCallbacks
    def _engine_json(self, engine, method, path, version=None, query=None, body=None,
                     headers=None, timeout=60.0):
        """
        One engine call made by the manager for a client (fan-outs, lookups):
        the decoded JSON answer, or the engine's error raised as
        L{EngineError} with its status and message.

        @param path: the unversioned path, e.g. C{"/images/json"}.
        @param query: C{bytes} query string, or L{None}.
        @param body: C{bytes}, a body producer, or L{None}.
        """
        target = self._engine_path(engine, version, path, query=query or b"")
        response = yield engine.api.request(
            method, target, headers, body, timeout=timeout)
        data = yield readBody(response)
        if response.code >= 400:
            raise EngineError.from_body(response.code, data)
        return decode_json(data, engine.address, path)

    @inlineCallbacks
    def _forward(self, request, engine, path, version, body=None, refresh=None,
                 timeout=ANSWER_TIMEOUT, long=False):
        """
        Proxy the request to C{engine} at C{path} and stream the answer back.

        @param refresh: a container ID to re-inspect once the engine answered
            with success, before the client's answer ends.
        @param timeout: seconds the engine has to start its answer (an
            upload's own time is added: the engine answers once it has it).
        @param long: whether a C{GET}'s answer is a long stream of small
            writes (logs, exports), read with L{IEngineClient.stream}.
        """
        target = self._engine_path(engine, version, path, request)
        if long and request.method == b"GET":
            response = yield engine.api.stream(
                request.method, target, forward_headers(request), timeout=timeout)
        else:
            if body is None:
                body = request_body(request, self.clock)
            if timeout is not None and not isinstance(body, (bytes, type(None))):
                timeout = UPLOAD_TIMEOUT
            response = yield engine.api.request(
                request.method, target, forward_headers(request), body, timeout=timeout)
        copy_response_head(request, response)
        if request.method == b"HEAD" or response.code in (204, 304):
            yield discard_body(response)
        else:
            yield relay_body(request, response, self.clock)
        if refresh is not None and 200 <= response.code < 300:
            yield self._refresh(engine, refresh)
        return None

    @inlineCallbacks
    def _fan_out(self, engines, method, path, version=None, query=None, body=None,
                 headers=None):
        """
        The same manager-made call on several engines at once.

        @return: a L{Deferred} firing with C{[(engine, decoded answer)]} for
            the engines that answered; if every engine failed, their
            combined error (L{combine_failures}).
        """
        results = yield fan_out(engines, lambda engine: self._engine_json(
            engine, method, path, version, query=query, body=body, headers=headers))
        answers = [(engine, value) for engine, ok, value in results if ok]
        failures = [(engine, value) for engine, ok, value in results if not ok]
        if failures and not answers:
            raise combine_failures(failures)
        for engine, error in failures:
            self._log.warn("{method} {path} failed on {engine}: {error}", method=method,
                           path=path, engine=engine.name, error=str(error))
        return answers

    @inlineCallbacks
    def _change_each(self, engines, kind, method, path, version=None, query=None, body=None,
                     headers=None):
        """
        The same manager-made change on several engines at once, then their
        cached C{kind} lists re-read (so the next list shows it).

        @param kind: the list the change touches: C{"images"},
            C{"networks"}, C{"volumes"}.
        @return: a L{Deferred} firing with what L{fan_out} fired with:
            C{[(engine, succeeded, decoded answer or error)]}.
        """
        results = yield fan_out(engines, lambda engine: self._engine_json(
            engine, method, path, version, query=query, body=body, headers=headers))
        yield refresh_lists(engines, kind)
        return results

    @inlineCallbacks
    def _prune(self, request, version, kind, deleted_key):
        """
        C{POST /<kind>/prune} on every healthy engine (a C{node} filter
        picks some: L{prune_targets}).

        @param deleted_key: the answers' list of names deleted
            (C{"NetworksDeleted"}, C{"VolumesDeleted"}).
        @return: a L{Deferred} firing with C{(deleted, reclaimed)} (see
            L{pruned}).
        """
        engines, query = prune_targets(self.cluster.healthy_engines(), arg(request, "filters"))
        results = yield self._change_each(engines, kind, "POST", "/%s/prune" % (kind,), version,
                                          query=query)
        return pruned(results, deleted_key)

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
