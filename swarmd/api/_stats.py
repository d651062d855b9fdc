"""
C{GET /containers/{name}/stats} through the manager: the engine's answer,
its C{name} given as C{docker ps} lists the container (C{/<node>/<name>}),
so that C{docker stats} shows C{n2/web} where C{docker ps} does.

dockerd writes one JSON object a line (C{stream=true}) or one object and
a newline; Go's encoder writes C{"name":"/web"} without spaces.  Lines are
rewritten as they arrive, the rest of the bytes left as the engine wrote
them.
"""

import json

from twisted.internet.defer import inlineCallbacks
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.iweb import UNKNOWN_LENGTH

from swarmd.api.proxy import copy_response_head, discard_body, forward_headers, relay_body

__all__ = ["forward_stats", "renamed_stats"]

#: Seconds an engine has to start answering a stats request.
ANSWER_TIMEOUT = 60.0

#: Bytes of one line kept waiting for its end before they are passed on
#: unchanged (a stats object is about 2 KB).
MAX_LINE = 1024 * 1024


def _name_field(name):
    return b'"name":' + json.dumps(name).encode("utf-8")


class _Renaming(Protocol):
    """
    Pass an engine's stats body on to C{inner}, C{"name":"/web"} replaced
    by C{"name":"/n2/web"} in every whole line.
    """

    def __init__(self, inner, old, new):
        self._inner = inner
        self._old = old
        self._new = new
        self._buffer = b""

    def makeConnection(self, transport):
        Protocol.makeConnection(self, transport)
        self._inner.makeConnection(transport)

    def dataReceived(self, data):
        buffer = self._buffer + data
        end = buffer.rfind(b"\n")
        if end < 0:
            if len(buffer) <= MAX_LINE:
                self._buffer = buffer
                return
            end = len(buffer) - 1
        self._buffer = buffer[end + 1:]
        self._inner.dataReceived(buffer[:end + 1].replace(self._old, self._new))

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._buffer:
            self._inner.dataReceived(self._buffer.replace(self._old, self._new))
            self._buffer = b""
        self._inner.connectionLost(reason)


class _RenamedResponse:
    """
    An engine's response whose body comes through L{_Renaming}; its length
    is unknown (names change it).
    """

    def __init__(self, response, old, new):
        self._response = response
        self._old = old
        self._new = new
        self.code = response.code
        self.phrase = response.phrase
        self.headers = response.headers
        self.length = UNKNOWN_LENGTH

    def deliverBody(self, protocol):
        self._response.deliverBody(_Renaming(protocol, self._old, self._new))


def renamed_stats(response, container):
    """
    @param response: the engine's answer to a stats request.
    @param container: the L{swarmd.cluster.Container} it is about.
    @return: a response to relay in its place: the same one for an error,
        else one whose body names the container C{/<node>/<name>}.
    """
    if response.code >= 300 or not container.name:
        return response
    return _RenamedResponse(response, _name_field("/" + container.name),
                            _name_field("/%s/%s" % (container.engine.name, container.name)))


@inlineCallbacks
def forward_stats(routing, request, container, version):
    """
    Proxy a stats request to the container's engine and stream the answer
    back, renamed (L{renamed_stats}).

    @param routing: the L{swarmd.api._routing.EngineRouting} handling it.
    @return: a L{Deferred} firing with L{None} once the answer ended.
    """
    engine = container.engine
    target = routing._engine_path(engine, version, "/containers/%s/stats" % (container.id,),
                                  request)
    response = yield engine.api.request(
        request.method, target, forward_headers(request), None, timeout=ANSWER_TIMEOUT)
    response = renamed_stats(response, container)
    copy_response_head(request, response)
    if request.method == b"HEAD" or response.code in (204, 304):
        yield discard_body(response)
    else:
        yield relay_body(request, response, routing.clock)
    return None
