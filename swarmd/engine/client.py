"""
L{EngineClient}: the Docker remote API of one engine over treq, for TCP,
TLS and unix-socket engines alike.
"""

import json
from typing import Any
from urllib.parse import quote, urlencode

import treq
from twisted.internet.defer import CancelledError, gatherResults, inlineCallbacks, succeed
from twisted.python.failure import Failure
from twisted.web.client import Agent
from twisted.web.http_headers import Headers
from twisted.web.iweb import IAgentEndpointFactory, IBodyProducer
from zope.interface import implementer

from swarmd import API_VERSION
from swarmd._pool import quiet_pool
from swarmd.engine._failures import failure_reason, is_unreachable, not_sent, was_cancelled
from swarmd.engine._interfaces import IBatchEngineClient, ICallRecord
from swarmd.engine._long_answers import stream_request
from swarmd.engine._pipeline import PipelinedGets
from swarmd.engine._streams import EventStream, JSONStreamParser, decode_json
from swarmd.engine.endpoints import connect_protocol, engine_endpoint, host_header
from swarmd.engine.errors import EngineError, EngineUnreachable
from swarmd.versions import lower_version

#: Seconds an idle pooled connection to an engine is kept for calls that
#: change something (POST, DELETE, PUT, or anything with a body).  Below
#: the idle timeout of the servers in front of engines (Twisted's and many
#: proxies' are a minute; dockerd has none): a POST sent on a connection the
#: server is closing fails without retry ("Connection was closed cleanly").
IDLE_TIMEOUT = 30

#: Seconds an idle pooled connection is kept for calls that are sent again
#: when the server closed it under them (GET and HEAD without a body: the
#: pool retries those).  Longer than the refresh interval (30-60 s by
#: default), so an engine's refresh pings reuse one connection: with
#: C{IDLE_TIMEOUT} each ping connected anew, and at 5,000 engines the ~110
#: connections a second were most of an idle manager's allocations, whose
#: survivors made every full collection of the cyclic garbage collector
#: 100-200 ms long (and the frozen ones leaked once closed, see
#: L{swarmd._gc}).
READ_IDLE_TIMEOUT = 300

#: The methods sent on the connections kept L{READ_IDLE_TIMEOUT}.
_RETRIED_METHODS = frozenset((b"GET", b"HEAD"))


def _pool(reactor, max_connections, idle_timeout):
    """
    @return: a quiet pool keeping at most C{max_connections} idle
        connections for C{idle_timeout} seconds each, retrying the requests
        Twisted deems safe to send again.
    """
    pool = quiet_pool(reactor, persistent=True)
    pool.maxPersistentPerHost = max_connections
    pool.retryAutomatically = True
    pool.cachedConnectionTimeout = idle_timeout
    return pool


@implementer(IAgentEndpointFactory)
class _OneEndpoint:
    """
    Every request of one client goes to the same engine endpoint.
    """

    def __init__(self, endpoint):
        self._endpoint = endpoint

    def endpointForURI(self, uri):
        return self._endpoint


@implementer(IBodyProducer)
class BytesProducer:
    """
    A body of known bytes, written at once (no cooperator needed).
    """

    def __init__(self, data):
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer):
        consumer.write(self._data)
        return succeed(None)

    def pauseProducing(self):
        pass

    def resumeProducing(self):
        pass

    def stopProducing(self):
        pass


def _query(params):
    items = [(k, v) for k, v in params.items() if v is not None]
    if not items:
        return ""
    return "?" + urlencode(
        [(k, ("1" if v else "0") if isinstance(v, bool) else v) for k, v in items]
    )


def _quote(name):
    return quote(name, safe="")


@implementer(IBatchEngineClient, ICallRecord)
class EngineClient:
    """
    Talk to one Docker engine.

    @ivar address: the engine's address.
    @ivar api_version: the API version used in request paths, or L{None}
        before L{version} was called (paths are then unversioned).
    @ivar outstanding: C{dict} of the calls under way that have a time
        bound (a token each) to when they were sent, oldest first; what
        tells a hung engine from a quiet one (see
        L{swarmd.cluster.engine.Engine.watch}).
    @ivar answered_at: when the engine last answered anything (a response
        head, an error answer, events on its stream), or L{None}.
    @ivar on_busy: L{None}, or called when a time-bound call starts while
        none was under way (see L{ICallRecord}).
    """

    def __init__(self, address, reactor=None, tls=None, timeout=10.0, connect_timeout=5.0,
                 max_connections=8, agent=None):
        """
        @param reactor: the reactor (also the clock of every timeout).
        @param tls: L{None}, or a callable taking a host name and returning an
            C{IOpenSSLClientConnectionCreator} for TLS engines.
        @param timeout: seconds every call may take (streams: until the head
            of the response arrived).
        @param connect_timeout: seconds to establish a connection.
        @param max_connections: idle persistent connections kept to the engine.
        @param agent: an C{IAgent} to send requests through instead of
            connecting (in-memory tests); hijacked streams still use
            C{endpoint}.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.address = address
        self.api_version = None
        self._reactor = reactor
        self._timeout = timeout
        self._pool = _pool(reactor, max_connections, IDLE_TIMEOUT)
        self._read_pool = _pool(reactor, max_connections, READ_IDLE_TIMEOUT)
        #: The endpoint reaching the engine (also used for hijacked streams).
        self.endpoint = engine_endpoint(reactor, address, tls=tls, timeout=connect_timeout)
        #: Whether calls go straight to C{endpoint} (not an injected agent).
        self._direct = agent is None
        read_agent = agent
        if agent is None:
            agent = Agent.usingEndpointFactory(reactor, _OneEndpoint(self.endpoint),
                                               pool=self._pool)
            read_agent = Agent.usingEndpointFactory(reactor, _OneEndpoint(self.endpoint),
                                                    pool=self._read_pool)
        #: The agent of calls that change something (see L{IDLE_TIMEOUT}).
        self.agent = agent
        #: The agent of GETs and HEADs without a body (L{READ_IDLE_TIMEOUT}).
        self.read_agent = read_agent
        self._base = "http://" + host_header(address)
        self.outstanding = {}
        self.answered_at = None
        self.on_busy = None

    def __repr__(self):
        return "<EngineClient %s>" % (self.address,)

    def close(self):
        """
        Drop the idle connections kept for this engine.

        @return: a L{Deferred} that fires when they are closed.
        """
        return gatherResults([self._pool.closeCachedConnections(),
                              self._read_pool.closeCachedConnections()])

    def _agent_for(self, method, body):
        """
        @return: L{read_agent} for a GET or HEAD without a body, else
            L{agent}.
        """
        if body is None and method in _RETRIED_METHODS:
            return self.read_agent
        return self.agent

    # -- plumbing ----------------------------------------------------------

    def _path(self, path, versioned=True):
        if versioned and self.api_version is not None:
            return "/v" + self.api_version + path
        return path

    def _guard(self, d, timeout):
        """
        Bound a call by C{timeout} seconds and name its failures: the engine
        unreachable or too slow is L{EngineUnreachable}; a call its caller
        cancelled (a client that left) stays a L{CancelledError}, which
        says nothing about the engine.
        """
        timer = None
        expired = []
        token = None
        if timeout is not None:
            def expire():
                expired.append(True)
                d.cancel()

            timer = self._reactor.callLater(timeout, expire)
            token = object()
            if not self.outstanding and self.on_busy is not None:
                self.on_busy()
            self.outstanding[token] = self._reactor.seconds()

        def failed(failure):
            if failure.check(EngineError, EngineUnreachable):
                return failure
            timed_out = bool(expired)
            if not timed_out and was_cancelled(failure):
                raise CancelledError()
            if is_unreachable(failure):
                raise EngineUnreachable(self.address,
                                        "timed out" if timed_out else failure_reason(failure),
                                        outcome_unknown=timed_out or not not_sent(failure))
            return failure

        def settled(result):
            if timer is not None and timer.active():
                timer.cancel()
            if token is not None:
                self.outstanding.pop(token, None)
            if not isinstance(result, Failure) or result.check(EngineError):
                self._answered()
            return result

        return d.addBoth(settled).addErrback(failed)

    def _answered(self):
        self.answered_at = self._reactor.seconds()

    def _call(self, method, path, params=None, body=None, headers=None, timeout=None,
              versioned=True, ok=(200, 201, 204, 304)):
        """
        Send one request and read the whole body.

        @return: fires with C{(response, body_bytes)}.
        """
        url = (self._base + self._path(path, versioned) + _query(params or {})).encode("ascii")
        producer = None
        if body is not None:
            # Our own producer writes at once (treq's json= goes through the
            # global cooperator, which a test's Clock never runs).
            producer = BytesProducer(json.dumps(body).encode("utf-8"))
            headers = Headers() if headers is None else headers.copy()
            headers.setRawHeaders(b"Content-Type", [b"application/json"])
        # The agent itself, not treq's request(): treq wraps every request in
        # cookie, redirect and decoding agents the manager never needs, and
        # at 1,000 engines that overhead is most of the client's CPU.
        method = method.encode("ascii")
        d = self._agent_for(method, producer).request(method, url, headers, producer)

        def read(response):
            return treq.content(response).addCallback(lambda data: (response, data))

        def check(result):
            response, data = result
            if response.code not in ok:
                raise EngineError.from_body(response.code, data)
            return result

        d.addCallback(read)
        d.addCallback(check)
        return self._guard(d, self._timeout if timeout is None else timeout)

    def _json(self, method, path, **kwargs):
        return self._call(method, path, **kwargs).addCallback(
            lambda result: decode_json(result[1], self.address, path))

    def _none(self, method, path, **kwargs):
        return self._call(method, path, **kwargs).addCallback(lambda _: None)

    # -- IEngineClient -------------------------------------------------------

    def ping(self):
        return self._none("GET", "/_ping", versioned=False)

    def version(self):
        def got(version):
            if not isinstance(version, dict):
                raise EngineError(502, "engine %s sent no version" % (self.address,))
            theirs = version.get("ApiVersion")
            self.api_version = lower_version(API_VERSION, theirs) if theirs else API_VERSION
            return version

        return self._json("GET", "/version", versioned=False).addCallback(got)

    def info(self):
        return self._json("GET", "/info")

    def list_containers(self, all=True, filters=None):
        params = {"all": all}
        if filters:
            params["filters"] = json.dumps(filters)
        return self._json("GET", "/containers/json", params=params)

    def inspect_container(self, container):
        return self._json("GET", "/containers/%s/json" % (_quote(container),))

    def inspect_containers(self, containers, raw=False):
        """
        Inspect several containers at once: one connection, the requests
        pipelined (see L{PipelinedGets}).  Falls back to one
        L{inspect_container} each when the client goes through an injected
        agent (in-memory tests).

        @param raw: answer C{(inspect dict, body bytes)} pairs instead of
            the C{dict}s (the bytes are L{None} when not at hand).
        @return: fires with a C{list}, in the order of C{containers}, of the
            inspect C{dict} or the L{EngineError} the engine answered for
            that container (a 404 for one that is gone).
        """
        if self._direct is False:
            return self._inspect_each(containers, raw)
        host = host_header(self.address).encode("ascii")
        paths = [self._path("/containers/%s/json" % (_quote(c),)).encode("ascii")
                 for c in containers]
        protocol = PipelinedGets(host, paths, self._answered)
        connected = connect_protocol(self.endpoint, protocol)
        d = connected.addCallback(lambda _: protocol.done)

        def decode(answers):
            results = []
            for status, body in answers:
                if status == 200:
                    try:
                        info = decode_json(body, self.address, "inspect")
                        results.append((info, body) if raw else info)
                    except EngineError as e:
                        results.append(e)
                else:
                    results.append(EngineError.from_body(status, body))
            return results

        d.addCallback(decode)
        return self._guard(d, self._timeout)

    def get_many(self, paths):
        """
        Several C{GET}s of JSON (API paths without the version), pipelined
        on one connection that is closed after (see L{PipelinedGets}).

        @return: fires with a C{list}, in the order of C{paths}, of the
            decoded answer or the L{EngineError} the engine answered.
        """
        if self._direct is False:
            from twisted.internet.defer import DeferredList

            def collect(results):
                out = []
                for ok, value in results:
                    if ok:
                        out.append(value)
                    elif value.check(EngineError):
                        out.append(value.value)
                    else:
                        value.raiseException()
                return out

            return DeferredList([self._json("GET", path) for path in paths],
                                consumeErrors=True).addCallback(collect)
        host = host_header(self.address).encode("ascii")
        protocol = PipelinedGets(host, [self._path(p).encode("ascii") for p in paths],
                                  self._answered)
        d = connect_protocol(self.endpoint, protocol)
        d.addCallback(lambda _: protocol.done)

        def decode(answers):
            results = []
            for path, (status, body) in zip(paths, answers, strict=True):
                try:
                    if status != 200:
                        raise EngineError.from_body(status, body)
                    results.append(decode_json(body, self.address, path))
                except EngineError as e:
                    results.append(e)
            return results

        d.addCallback(decode)
        return self._guard(d, self._timeout)

    def _inspect_each(self, containers, raw):
        from twisted.internet.defer import DeferredList

        def collect(results):
            out = []
            for ok, value in results:
                if ok:
                    out.append((value, None) if raw else value)
                elif value.check(EngineError):
                    out.append(value.value)
                else:
                    value.raiseException()
            return out

        return DeferredList([self.inspect_container(c) for c in containers],
                            consumeErrors=True).addCallback(collect)

    def create_container(self, body, name=None, auth=None):
        headers = None
        if auth:
            headers = Headers({b"X-Registry-Auth": [auth.encode("ascii")
                                                    if isinstance(auth, str) else auth]})
        return self._json("POST", "/containers/create", params={"name": name}, body=body,
                          headers=headers, timeout=max(self._timeout, 60.0))

    def start_container(self, container):
        return self._none("POST", "/containers/%s/start" % (_quote(container),),
                          timeout=max(self._timeout, 60.0))

    def stop_container(self, container, timeout=None):
        return self._none("POST", "/containers/%s/stop" % (_quote(container),),
                          params={"t": timeout}, timeout=self._timeout + (timeout or 10))

    def kill_container(self, container, signal=None):
        return self._none("POST", "/containers/%s/kill" % (_quote(container),),
                          params={"signal": signal})

    def pause_container(self, container):
        return self._none("POST", "/containers/%s/pause" % (_quote(container),))

    def unpause_container(self, container):
        return self._none("POST", "/containers/%s/unpause" % (_quote(container),))

    def restart_container(self, container, timeout=None):
        return self._none("POST", "/containers/%s/restart" % (_quote(container),),
                          params={"t": timeout}, timeout=self._timeout + (timeout or 10))

    def remove_container(self, container, force=False, volumes=False):
        return self._none("DELETE", "/containers/%s" % (_quote(container),),
                          params={"force": force, "v": volumes},
                          timeout=max(self._timeout, 60.0))

    def wait_container(self, container):
        # Waiting has no upper bound; the connection itself stays guarded.
        return self._json("POST", "/containers/%s/wait" % (_quote(container),), timeout=None)

    def container_logs(self, container, stdout=True, stderr=True, tail=None):
        return self._call(
            "GET", "/containers/%s/logs" % (_quote(container),),
            params={"stdout": stdout, "stderr": stderr, "tail": tail},
        ).addCallback(lambda result: result[1])

    def list_images(self):
        return self._json("GET", "/images/json")

    def inspect_image(self, image):
        return self._json("GET", "/images/%s/json" % (quote(image, safe="/:@"),))

    @inlineCallbacks
    def pull_image(self, image, auth=None):
        name, tag = split_reference(image)
        headers = Headers()
        if auth:
            headers.setRawHeaders(b"X-Registry-Auth", [auth.encode("ascii")
                                                      if isinstance(auth, str) else auth])
        _, data = yield self._call("POST", "/images/create",
                                   params={"fromImage": name, "tag": tag},
                                   headers=headers, timeout=max(self._timeout, 600.0))
        messages: list[Any] = []
        JSONStreamParser(messages.append).feed(data)
        for message in messages:
            if isinstance(message, dict) and message.get("error"):
                raise EngineError(500, message["error"])
        return messages

    def list_networks(self):
        return self._json("GET", "/networks")

    def list_volumes(self):
        return self._json("GET", "/volumes").addCallback(
            lambda body: (body or {}).get("Volumes") or [])

    def events(self, callback, since=None, filters=None):
        params = {"since": since}
        if filters:
            params["filters"] = json.dumps(filters)
        url = (self._base + self._path("/events") + _query(params)).encode("ascii")
        d = self.read_agent.request(b"GET", url)

        @inlineCallbacks
        def opened(response):
            if response.code != 200:
                body = yield treq.content(response)
                raise EngineError.from_body(response.code, body)
            return EventStream(self.address, response, callback, self._answered)

        d.addCallback(opened)
        return self._guard(d, self._timeout)

    def request(self, method, path, headers=None, body=None, timeout=None):
        if isinstance(method, str):
            method = method.encode("ascii")
        if isinstance(path, str):
            path = path.encode("latin-1")
        if isinstance(body, bytes):
            body = BytesProducer(body)
        url = self._base.encode("ascii") + path
        d = self._agent_for(method, body).request(method, url, headers, body)
        return self._guard(d, timeout)

    def stream(self, method, path, headers=None, timeout=None):
        if not self._direct:
            # An injected agent (in-memory tests) is the only way in.
            return self.request(method, path, headers, None, timeout)
        if isinstance(method, str):
            method = method.encode("ascii")
        if isinstance(path, str):
            path = path.encode("latin-1")
        d = stream_request(self.endpoint, method, path,
                           host_header(self.address).encode("ascii"), headers)
        return self._guard(d, timeout)


def split_reference(image):
    """
    Split an image reference into repository and tag for C{/images/create}.

    @return: C{(name, tag)}; the tag is L{None} for digests, C{"latest"}
        when no tag is given.
    """
    if "@" in image:
        return image, None
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"
