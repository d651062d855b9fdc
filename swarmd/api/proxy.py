"""
Relaying a client's request to one engine and the engine's answer back,
streamed both ways with back-pressure.
"""

from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.web.client import ResponseDone
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH
from zope.interface import implementer

#: Headers that belong to one connection, never forwarded.
HOP_BY_HOP = frozenset([
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"host", b"content-length",
    b"proxy-connection",
])

#: Headers the manager sets itself on every answer.
OWN_HEADERS = frozenset([b"api-version", b"docker-experimental", b"ostype", b"server", b"date"])

#: Statuses that have no body.
NO_BODY = frozenset([204, 304])


def forward_headers(request):
    """
    The client's request headers an engine should see.

    @return: a new L{Headers}.
    """
    headers = Headers()
    for name, values in request.requestHeaders.getAllRawHeaders():
        if name.lower() not in HOP_BY_HOP:
            headers.setRawHeaders(name, values)
    return headers


def copy_response_head(request, response):
    """
    Set the client's status and headers from an engine's response.
    """
    request.setResponseCode(response.code, response.phrase or None)
    for name, values in response.headers.getAllRawHeaders():
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in OWN_HEADERS:
            continue
        request.responseHeaders.setRawHeaders(name, values)
    if response.length is not None and response.length is not UNKNOWN_LENGTH:
        request.setHeader(b"Content-Length", b"%d" % (response.length,))


#: Bytes of an engine's answer gathered before they are written at once.
FLUSH_SIZE = 64 * 1024


@implementer(IPushProducer)
class _Relay(Protocol):
    """
    Write an engine's response body to the client as it arrives; pause the
    engine while the client cannot keep up.

    With a clock, what arrives in one go (an engine writes a log stream a
    line a chunk: 58 bytes, thousands in one read) is written to the client
    once, at the end of the reactor's turn or every L{FLUSH_SIZE} bytes:
    a write per chunk cost more CPU than the whole rest of the relay.
    """

    def __init__(self, request, done, clock=None):
        self._request = request
        self._done = done
        self._clock = clock
        self._pending = []
        self._pending_size = 0
        self._timer = None
        self.bytes = 0

    def connectionMade(self):
        self._request.registerProducer(self, True)

    def dataReceived(self, data):
        self.bytes += len(data)
        if self._clock is None:
            self._request.write(data)
            return
        self._pending.append(data)
        self._pending_size += len(data)
        if self._pending_size >= FLUSH_SIZE:
            self._flush()
        elif self._timer is None:
            self._timer = self._clock.callLater(0, self._flush)

    def _flush(self):
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending = []
        self._pending_size = 0
        if not getattr(self._request, "_disconnected", False):
            self._request.write(data)

    def connectionLost(self, reason):  # type: ignore[override]  # Twisted always passes the reason
        self._flush()
        if self._request.channel is not None:
            self._request.unregisterProducer()
        done, self._done = self._done, None
        if done is None:
            return
        if reason.check(ResponseDone, PotentialDataLoss):
            done.callback(self.bytes)
        else:
            done.errback(reason)

    # IPushProducer, towards the client's connection.
    def pauseProducing(self):
        if self.transport is not None:
            # The HTTP client's transport is a push producer too.
            self.transport.pauseProducing()  # type: ignore[attr-defined]

    def resumeProducing(self):
        if self.transport is not None:
            self.transport.resumeProducing()  # type: ignore[attr-defined]

    def stopProducing(self):
        if self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]


def relay_body(request, response, clock=None):
    """
    Stream C{response}'s body to C{request} (whose head is already set).

    @param clock: the reactor: writes are then gathered a reactor turn at a
        time (see L{_Relay}); without it each piece is written at once.

    @return: a L{Deferred} firing with the number of bytes relayed when the
        engine ended the body.  If the engine's body breaks, the client's
        connection is aborted (so a cut stream never looks complete) and the
        Deferred fires with L{None}.  Cancelling it drops the engine's
        connection.
    """
    relay: list[_Relay] = []

    def cancel(d):
        if relay and relay[0].transport is not None:
            relay[0].stopProducing()

    done: Deferred[Any] = Deferred(canceller=cancel)
    inner: Deferred[Any] = Deferred()
    protocol = _Relay(request, inner, clock)
    relay.append(protocol)

    def finished(count):
        if not done.called:
            done.callback(count)

    def broken(failure):
        if failure.check(CancelledError) or done.called:
            return
        transport = getattr(request.channel, "transport", None)
        if transport is not None:
            transport.abortConnection()
        done.callback(None)

    inner.addCallbacks(finished, broken)
    # Send the head now: streams (logs -f, wait, events) must not wait for
    # their first byte.
    request.write(b"")
    response.deliverBody(protocol)
    return done


def discard_body(response):
    """
    Read and drop a response body.

    @return: a L{Deferred} firing when it ended.
    """

    class _Drop(Protocol):
        def __init__(self):
            self.ended: Deferred[None] = Deferred()

        def connectionLost(self, reason):  # type: ignore[override]  # Twisted always passes the reason
            self.ended.callback(None)

    drop = _Drop()
    response.deliverBody(drop)
    return drop.ended
