"""
C{token://<token>}: engines registered with a token service speaking
Docker Hub's token discovery API (Hub's own is gone: run swarmd's, see
L{swarmd.discovery.tokenservice}).

Over HTTPS, C{--discovery-opt kv.cacertfile=} (and C{kv.certfile=},
C{kv.keyfile=}) trust a private CA and show a client certificate, as for
the stores.

The service is found, first match wins, in C{--discovery-opt token.url=},
the environment variable C{SWARM_TOKEN_URL} (e.g. C{http://127.0.0.1:8500}),
or a C{token://host[:port]/<token>} URL (HTTPS, as classic Swarm did).
A node registers with C{POST /v1/clusters/<token>?ttl=<--ttl>} every
heartbeat; a manager polls C{GET /v1/clusters/<token>} every heartbeat.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.internet.task import LoopingCall
from zope.interface import implementer

from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._http import StoreAnswerError, StoreHTTP
from swarmd.discovery._interfaces import IDiscovery
from swarmd.discovery._kv import KVOptions, KVWatch, StoreDiscovery, reactor_for
from swarmd.discovery._registry import register_backend

__all__ = ["TokenDiscovery", "create_token", "token_service_url"]

#: The environment variable naming the token service.
ENVIRONMENT = "SWARM_TOKEN_URL"

#: Options for a service over HTTPS with a private CA or client certificates.
TLS_OPTIONS = ("kv.cacertfile", "kv.certfile", "kv.keyfile")

_NO_SERVICE = (
    "token discovery needs a token service: Docker Hub's is gone; run "
    "`twistd -n swarm token-service --listen tcp:8500:interface=127.0.0.1 --data DIR` "
    "and set SWARM_TOKEN_URL=http://127.0.0.1:8500 (or --discovery-opt token.url=...)"
)


def token_service_url(url=None, environ=None):
    """
    Check a token service URL, or find it in the environment.

    @param url: C{http[s]://host[:port][/path]}, or L{None}.
    @param environ: the environment (C{os.environ} by default).
    @return: C{(scheme, host:port, path)}.
    @raise DiscoveryError: if there is none or it is malformed.
    """
    if url is None:
        url = (os.environ if environ is None else environ).get(ENVIRONMENT) or None
    if url is None:
        raise DiscoveryError(_NO_SERVICE)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DiscoveryError(f"token service URL {url!r} is not http[s]://host[:port]")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise DiscoveryError(f"token service URL {url!r} has an invalid port") from None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return parts.scheme, f"{host}:{port}", parts.path.rstrip("/")


def _http(scheme, endpoint, reactor, tls=None):
    """
    @param tls: a L{KVOptions} whose C{kv.*file} options name the CA (and
        client certificate) of an HTTPS service, or L{None} for the
        platform's CAs.
    """
    policy = None
    if scheme == "https":
        if tls is not None and tls.tls:
            policy = tls.https_policy()
        else:
            from twisted.web.client import BrowserLikePolicyForHTTPS

            policy = BrowserLikePolicyForHTTPS()
    return StoreHTTP("the token service", [endpoint], reactor, policy)


@inlineCallbacks
def create_token(url=None, reactor=None, environ=None, tls_options=()):
    """
    Ask the token service for a new cluster token.

    @param tls_options: C{kv.cacertfile}, C{kv.certfile}, C{kv.keyfile}
        pairs for an HTTPS service with a private CA.
    @return: the token.
    @raise DiscoveryError: if there is no service or it fails.
    """
    if reactor is None:
        from twisted.internet import reactor
    scheme, endpoint, path = token_service_url(url, environ)
    tls = KVOptions("token", "", tls_options, extra=()) if tls_options else None
    http = _http(scheme, endpoint, reactor, tls)
    try:
        response, body = yield _raw(http, "POST", path + "/v1/clusters")
    finally:
        yield http.close()
    token = body.decode("utf-8", "replace").strip()
    if not token or not token.isascii() or not token.replace("-", "").replace("_", "").isalnum():
        raise DiscoveryError(f"the token service answered garbage: {body[:80]!r}")
    returnValue(token)


@inlineCallbacks
def _raw(http, method, path, body=None):
    """
    A request whose answer is not JSON (a token).
    """
    import treq

    url = http.url(0, path)
    try:
        response = yield treq.request(method, url, data=body, agent=http._agent)
        content = yield treq.content(response)
    except Exception as e:  # noqa: BLE001 - any connection failure, one line
        from twisted.python.failure import Failure

        from swarmd.discovery._kv import connection_reason

        raise DiscoveryError(
            f"cannot reach the token service at {http.endpoints[0]}: "
            f"{connection_reason(Failure(e))}") from None
    if response.code != 200:
        raise DiscoveryError(f"the token service answered {response.code}: "
                             f"{content[:200].decode('utf-8', 'replace')}")
    returnValue((response, content))


class _PollWatch(KVWatch):
    """
    Read the cluster every heartbeat.
    """

    def __init__(self, discovery, clock, callback, errback):
        super().__init__(discovery, clock, callback, errback)
        self._loop = LoopingCall(self._poll)
        self._loop.clock = clock

    def _begin(self):
        if not self._loop.running:
            self._loop.start(self._discovery.heartbeat, now=True)

    def _poll(self):
        if self._pending is not None or self.stopped:
            return
        self._await(self._discovery._read(), self._read)

    def _read(self, result):
        addresses, index = result
        self._got(addresses, index)

    def _broke(self, failure):
        self._pending = None
        self._failed(failure, retry=False)

    def _halt(self):
        if self._loop.running:
            self._loop.stop()
        super()._halt()


@implementer(IDiscovery)
class TokenDiscovery(StoreDiscovery):
    """
    Engines registered with a token service.

    @ivar client: the service's L{StoreHTTP}.
    """

    scheme = "token"
    watch_kind = _PollWatch

    def __init__(self, token, heartbeat, ttl, clock, url=None, environ=None, reactor=None,
                 tls=None):
        """
        @param token: the cluster token.
        @param url: the service's URL (see L{token_service_url}).
        @param tls: a L{KVOptions} naming the CA (C{kv.cacertfile}) and
            client certificate of an HTTPS service, or L{None}.
        @raise DiscoveryError: for a bad token, or no service.
        """
        from swarmd.discovery.tokenservice import TOKEN

        if not TOKEN.fullmatch(token or ""):
            raise DiscoveryError(
                f"invalid token {token!r}: token://<token> takes the token "
                "`swarm create` printed")
        self.token = token
        scheme, endpoint, path = token_service_url(url, environ)
        self.url = f"{scheme}://{endpoint}{path}"
        self._path = f"{path}/v1/clusters/{token}"
        super().__init__(heartbeat, ttl, clock)
        self.client = _http(scheme, endpoint, reactor_for(clock, reactor), tls)

    @classmethod
    def from_url(cls, rest, *, heartbeat, ttl, options, clock):
        """
        The registry's factory: C{rest} is C{<token>} or C{host[:port]/<token>}.
        """
        url = None
        tls = []
        for key, value in options:
            if key == "token.url":
                url = value
            elif key in TLS_OPTIONS:
                tls.append((key, value))
            else:
                raise DiscoveryError(
                    f"unknown discovery option {key!r} for token discovery "
                    f"(known: token.url, {', '.join(TLS_OPTIONS)})")
        host, _, token = rest.rpartition("/")
        if host and url is None and not os.environ.get(ENVIRONMENT):
            url = "https://" + host
        return cls(token, heartbeat, ttl, clock, url=url,
                   tls=KVOptions("token", "", tls) if tls else None)

    def describe(self):
        return f"the token service at {self.url}"

    def __repr__(self):
        return f"<TokenDiscovery {self.url} {self.token}>"

    @inlineCallbacks
    def _read(self):
        try:
            response, body = yield self.client.request("GET", self._path)
        except StoreAnswerError as e:
            if e.status == 404:
                raise DiscoveryError(f"{self.describe()} does not know token {self.token}") \
                    from None
            raise
        if not isinstance(body, list) or not all(isinstance(a, str) for a in body):
            raise DiscoveryError(f"{self.describe()} answered garbage: {body!r:.80}")
        raw = response.headers.getRawHeaders(b"x-swarmd-index") or [b"0"]
        returnValue((list(dict.fromkeys(body)), int(raw[0]) if raw[0].isdigit() else 0))

    def fetch(self):
        return self._read().addCallback(lambda result: result[0])

    def register(self, address):
        d = self.client.request("POST", self._path, address.encode("utf-8"),
                                params={"ttl": str(max(1, int(round(self.ttl))))})
        return d.addCallback(lambda result: None)


register_backend("token", TokenDiscovery.from_url)
