"""
HTTP to a store with several endpoints (etcd's gateway, Consul's API): a
request goes to the endpoint that last answered and fails over to the next
ones when it cannot be reached; answers are JSON, and an answer that is not
is reported as such.
"""

from __future__ import annotations

import json
from typing import Any

import treq
from twisted.internet.defer import CancelledError, Deferred, inlineCallbacks, returnValue
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import Agent, ResponseDone
from twisted.web.http import PotentialDataLoss

from swarmd._pool import quiet_pool
from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._kv import CONNECTION_ERRORS, connection_reason

__all__ = ["LineStream", "StoreAnswerError", "StoreClient", "StoreHTTP"]

#: Seconds one request may take (not streams).
REQUEST_TIMEOUT = 10.0


class StoreAnswerError(DiscoveryError):
    """
    The store answered with an error.

    @ivar status: the HTTP status.
    @ivar body: the decoded JSON body, or the raw text.
    @ivar headers: the answer's L{Headers}, or L{None}.
    """

    def __init__(self, message, status, body, headers=None):
        super().__init__(message)
        self.status = status
        self.body = body
        self.headers = headers


class LineStream(Protocol):
    """
    Read a streamed body as newline-delimited JSON messages.

    @ivar done: fires with L{None} when the body ends, fails with the reason
        it broke (or L{DiscoveryError} for a line that is not JSON).
    """

    # The response body's transport: it also provides IPushProducer.
    transport: Any

    def __init__(self, on_message, done, what):
        self._on_message = on_message
        self._buffer = b""
        self.done = done
        self._what = what
        self._broken = None
        self._stopping = False

    def stop(self):
        """
        End the stream (now, or as soon as it is connected).
        """
        self._stopping = True
        if self.transport is not None:
            self.transport.stopProducing()

    def connectionMade(self):
        if self._stopping:
            self.transport.stopProducing()

    def dataReceived(self, data):
        if self._stopping:
            return
        self._buffer += data
        while b"\n" in self._buffer and self._broken is None:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if line.strip():
                self._line(line)

    def _line(self, line):
        try:
            message = json.loads(line)
        except ValueError:
            self._broken = DiscoveryError(
                f"{self._what} answered garbage: {line[:80]!r}")
            self.transport.stopProducing()
            return
        self._on_message(message)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._buffer.strip() and self._broken is None:
            self._line(self._buffer)
        if self._broken is not None:
            self.done.errback(self._broken)
        elif reason.check(ResponseDone, PotentialDataLoss):
            self.done.callback(None)
        else:
            self.done.errback(reason)


class StoreHTTP:
    """
    JSON over HTTP(S) to one of several endpoints.

    @ivar endpoints: the C{host:port} strings, in failover order.
    @ivar current: the index of the endpoint tried first.
    """

    def __init__(self, name, endpoints, reactor, policy=None, timeout=REQUEST_TIMEOUT):
        """
        @param name: the store's name in messages (C{"etcd"}).
        @param endpoints: C{host:port} strings.
        @param reactor: the reactor connections are made with.
        @param policy: an L{IPolicyForHTTPS} for HTTPS, or L{None} for HTTP.
        @param timeout: seconds a (non-stream) request may take.
        """
        self.name = name
        self.endpoints = list(endpoints)
        self.current = 0
        self._reactor = reactor
        self._scheme = "https" if policy is not None else "http"
        self._pool = quiet_pool(reactor, persistent=True)
        self._pool.maxPersistentPerHost = 4
        self._pool.cachedConnectionTimeout = 30
        kwargs = {} if policy is None else {"contextFactory": policy}
        self._agent = Agent(reactor, pool=self._pool, connectTimeout=5, **kwargs)
        # Streams get their own connections, never pooled.
        self._stream_agent = Agent(
            reactor, pool=quiet_pool(reactor, persistent=False),
            connectTimeout=5, **kwargs)
        self._timeout = timeout

    def describe(self):
        return f"{self.name} at {','.join(self.endpoints)}"

    def url(self, index, path):
        return f"{self._scheme}://{self.endpoints[index]}{path}"

    @inlineCallbacks
    def request(self, method, path, body=None, params=None, stream=None,
                timeout=None, statuses=(200,), opened=None, headers=None):
        """
        Send one request, failing over along the endpoints.

        @param method: C{"GET"}, ...
        @param path: the path (with a leading slash).
        @param body: C{bytes}, or a JSON-able value sent as JSON.
        @param params: query parameters.
        @param stream: if given, a callable taking each JSON message of a
            newline-delimited stream; the request then fires only when the
            stream ends, with C{(response, None)}.
        @param opened: called with the L{LineStream} of a stream once it
            is open (its C{stop()} ends it).
        @param timeout: seconds, or L{None} for the default (no timeout
            for streams).
        @param statuses: the statuses that are answers, not errors.
        @param headers: more request headers, C{{name: value}}.
        @return: a L{Deferred} firing with C{(response, decoded body)} (the
            body is L{None} when empty), failing with L{StoreAnswerError}
            for another status or L{DiscoveryError} when no endpoint
            answers or an answer is not JSON.
        """
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body).encode("utf-8")
        errors = []
        count = len(self.endpoints)
        for attempt in range(count):
            index = (self.current + attempt) % count
            url = self.url(index, path)
            agent = self._agent if stream is None else self._stream_agent
            try:
                d = treq.request(method, url, data=body, params=params, agent=agent,
                                 unbuffered=stream is not None, headers=headers)
                if stream is None:
                    d.addTimeout(self._timeout if timeout is None else timeout,
                                 self._reactor)
                response = yield d
            except CONNECTION_ERRORS as e:
                from twisted.python.failure import Failure

                errors.append(f"{self.endpoints[index]}: {connection_reason(Failure(e))}")
                continue
            except CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - e.g. a TLS failure: fail over too
                errors.append(f"{self.endpoints[index]}: {e}")
                continue
            self.current = index
            if stream is not None and response.code in statuses:
                done: Deferred[None] = Deferred()
                protocol = LineStream(stream, done, self.describe())
                if opened is not None:
                    opened(protocol)
                response.deliverBody(protocol)
                yield done
                returnValue((response, None))
            try:
                raw = yield treq.content(response)
            except CONNECTION_ERRORS as e:
                from twisted.python.failure import Failure

                raise DiscoveryError(
                    f"{self.describe()}: {connection_reason(Failure(e))}") from None
            returnValue((response, self._decode(response, raw, statuses)))
        raise DiscoveryError(f"cannot reach {self.name} ({'; '.join(errors)})")

    def _decode(self, response, raw, statuses):
        decoded = None
        if raw.strip():
            try:
                decoded = json.loads(raw)
            except ValueError:
                if response.code in statuses:
                    raise DiscoveryError(
                        f"{self.describe()} answered garbage: {raw[:80]!r}") from None
                decoded = raw.decode("utf-8", "replace").strip()
        if response.code not in statuses:
            detail = decoded
            if isinstance(decoded, dict):
                detail = decoded.get("message") or decoded.get("error") or decoded
            if isinstance(detail, str):
                # One line, whatever the server sent (an HTML page...).
                detail = " ".join(detail.split())
                if len(detail) > 120:
                    detail = detail[:117] + "..."
            raise StoreAnswerError(
                f"{self.describe()} answered {response.code}: {detail}",
                response.code, decoded, response.headers)
        return decoded

    def close(self):
        """
        Close the pooled connections.

        @return: a L{Deferred} firing once closed.
        """
        return self._pool.closeCachedConnections()


class StoreClient:
    """
    A store's API over L{StoreHTTP} (etcd's, Consul's): the base of their
    clients.

    @ivar http: the L{StoreHTTP}.
    """

    #: The store's name in messages (C{"etcd"}).
    store = "store"

    def __init__(self, endpoints, reactor, policy=None):
        """
        @param endpoints: C{host:port} strings, tried in turn.
        @param reactor: the reactor connections are made with.
        @param policy: an L{IPolicyForHTTPS}, or L{None} for HTTP.
        """
        self.http = StoreHTTP(self.store, endpoints, reactor, policy)

    def garbage(self, answer):
        """
        @return: the L{DiscoveryError} of an answer that makes no sense.
        """
        return DiscoveryError(f"{self.http.describe()} answered garbage: {answer!r:.80}")

    def close(self):
        """
        Close the pooled connections.
        """
        return self.http.close()
