"""
What the store-backed discoveries (C{etcd://}, C{zk://}, C{consul://})
share: their URL (C{host:port[,host:port...]/prefix}), their options, the
key layout of classic Swarm and the bookkeeping of a watch.

Classic Swarm keeps one key per engine at
C{<prefix>/docker/swarm/nodes/<address>} whose value is the address;
C{--discovery-opt kv.path=} replaces C{docker/swarm/nodes}.  Lists come
back in key order (the order the stores list keys in).
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet import error as _net_error
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed, ResponseNeverReceived
from zope.interface import implementer

from swarmd._log import observer
from swarmd.address import parse_port
from swarmd.discovery._deliver import deliver
from swarmd.discovery._entries import split_host_port
from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._interfaces import IDiscoveryWatch

__all__ = [
    "DEFAULT_PATH",
    "KVOptions",
    "KVDiscovery",
    "KVWatch",
    "StoreDiscovery",
    "connection_reason",
    "drop",
    "parse_endpoints",
    "reactor_for",
]

#: Classic Swarm's C{discoveryPath}.
DEFAULT_PATH = "docker/swarm/nodes"

#: Options every store-backed discovery takes.
COMMON_OPTIONS = ("kv.path", "kv.cacertfile", "kv.certfile", "kv.keyfile")

#: Errors that mean "could not talk to this endpoint": fail over.
CONNECTION_ERRORS = (
    _net_error.ConnectError,
    _net_error.ConnectionLost,
    _net_error.ConnectionDone,
    _net_error.TimeoutError,
    _net_error.DNSLookupError,
    ResponseFailed,
    ResponseNeverReceived,
)


def connection_reason(failure: Failure) -> str:
    """
    @return: a short human reason for a connection-level L{Failure}.
    """
    if failure.check(ResponseFailed, ResponseNeverReceived):
        reasons = getattr(failure.value, "reasons", None) or []
        if reasons:
            return connection_reason(reasons[0])
        return "connection failed"
    if failure.check(_net_error.ConnectionRefusedError):
        return "connection refused"
    if failure.check(_net_error.TimeoutError):
        return "timed out"
    if failure.check(_net_error.ConnectionDone, _net_error.ConnectionLost):
        return "connection closed"
    message = failure.getErrorMessage()
    return message or cast(type, failure.type).__name__


def reactor_for(clock, reactor=None, needs=None):
    """
    The reactor a store client connects with: C{reactor} if given, else
    C{clock} when it is a reactor (provides C{needs}, L{IReactorTCP} by
    default), else the global reactor (tests drive timers with a L{Clock}
    and still make real connections).
    """
    if reactor is not None:
        return reactor
    if needs is None:
        from twisted.internet.interfaces import IReactorTCP as needs
    if needs.providedBy(clock):
        return clock
    from twisted.internet import reactor as global_reactor

    return global_reactor


def parse_endpoints(scheme: str, rest: str) -> tuple[list[str], str]:
    """
    Split C{h1:p,h2:p/prefix}.

    @param scheme: names the discovery in error messages.
    @param rest: the URL after C{scheme://}.
    @return: C{(endpoints, prefix)}: the C{host:port} strings and the
        prefix without leading or trailing slashes (maybe empty).
    @raise DiscoveryError: for a missing or malformed endpoint.
    """
    usage = f"{scheme} discovery is {scheme}://host:port[,host:port...][/prefix]"
    hosts, _, prefix = rest.partition("/")
    if not hosts.strip():
        raise DiscoveryError(f"{usage}: no host:port in {scheme}://{rest}")
    endpoints = []
    for host in hosts.split(","):
        host = host.strip()
        try:
            name, port = split_host_port(host)
        except DiscoveryError as e:
            raise DiscoveryError(f"{usage}: {e}") from None
        if not name:
            raise DiscoveryError(f"{usage}: missing host in {host!r}")
        if parse_port(port) is None:
            raise DiscoveryError(f"{usage}: invalid port {port!r} in {host!r}")
        endpoints.append(host)
    return endpoints, prefix.strip("/")


class KVOptions:
    """
    The C{--discovery-opt} settings of one store-backed discovery.

    @ivar path: the key holding the engines' keys, C{<prefix>/<kv.path>}
        without leading slash (C{docker/swarm/nodes} under the prefix by
        default).
    @ivar cacert: C{kv.cacertfile}, or L{None}.
    @ivar cert: C{kv.certfile}, or L{None}.
    @ivar key: C{kv.keyfile}, or L{None}.
    @ivar extra: the backend's own options, by key.
    """

    def __init__(self, scheme, prefix, options, extra=()):
        """
        @param scheme: names the discovery in error messages.
        @param prefix: the URL's prefix.
        @param options: C{(key, value)} pairs.
        @param extra: the backend's own option keys, besides
            L{COMMON_OPTIONS}.
        @raise DiscoveryError: for an unknown key, or a certificate without
            its key (or the reverse).
        """
        known = COMMON_OPTIONS + tuple(extra)
        values = {}
        for key, value in options:
            if key not in known:
                raise DiscoveryError(
                    f"unknown discovery option {key!r} for {scheme} discovery "
                    f"(known: {', '.join(known)})")
            values[key] = value
        middle = values.get("kv.path", DEFAULT_PATH).strip("/")
        self.path = "/".join(part for part in (prefix, middle) if part)
        self.cacert = values.get("kv.cacertfile") or None
        self.cert = values.get("kv.certfile") or None
        self.key = values.get("kv.keyfile") or None
        if bool(self.cert) != bool(self.key):
            raise DiscoveryError(
                f"{scheme} discovery: kv.certfile and kv.keyfile go together")
        self.extra = {k: v for k, v in values.items() if k in extra}

    @property
    def tls(self) -> bool:
        """
        Whether the store is reached over TLS (any C{kv.*file} given).
        """
        return bool(self.cacert or self.cert)

    def policy(self):
        """
        @return: the L{https_policy} of a store reached over TLS, L{None}
            for one reached over plain HTTP.
        """
        return self.https_policy() if self.tls else None

    def tls_options(self):
        """
        @return: a L{swarmd.config.TLSOptions} for L{swarmd.tls} helpers.
        """
        from swarmd.config import TLSOptions

        return TLSOptions(tls=True, verify=bool(self.cacert), cacert=self.cacert,
                          cert=self.cert, key=self.key)

    def https_policy(self):
        """
        The L{IPolicyForHTTPS} of an HTTP store over TLS: the CA of
        C{kv.cacertfile} (the platform's otherwise) and the client
        certificate of C{kv.certfile}.

        @raise DiscoveryError: if a file cannot be read or used.
        """
        from twisted.internet import ssl
        from twisted.web.iweb import IPolicyForHTTPS

        from swarmd import tls as _tls

        options = self.tls_options()
        try:
            ca = _tls._ca(options)
            mine = _tls._private_certificate(options)
        except _tls.TLSConfigError as e:
            raise DiscoveryError(f"TLS to the store: {e}") from None
        trust = ca if ca is not None else ssl.platformTrust()

        @implementer(IPolicyForHTTPS)
        class _Policy:
            def creatorForNetloc(self, hostname, port):
                return ssl.optionsForClientTLS(
                    hostname.decode("ascii"), trustRoot=trust, clientCertificate=mine)

        return _Policy()


@implementer(IDiscoveryWatch)
class KVWatch:
    """
    The bookkeeping of a watch on a store: call back with a list only when
    it differs from the last one called back, errback each failure, retry
    after a failure with a back-off on the clock.

    Subclasses implement L{_begin} (start or resume reading, each read
    handed to L{_await}; call L{_got} with lists, and L{_failed} with
    failures) and, if more than that read is in flight, L{_halt}.

    @ivar index: the store's index (revision, modify index...) the watch
        has caught up with; tests compare it with the store's.
    @ivar failing: whether the last read failed.
    """

    _log = Logger(observer=observer)

    #: Retry delays after failures: the first, and the most.
    FIRST_RETRY = 0.5
    MAX_RETRY = 10.0

    def __init__(self, discovery, clock, callback, errback):
        """
        @param discovery: the provider watched (its C{describe()} names it
            in messages).
        """
        self._discovery = discovery
        # The read in flight (a Deferred), or None.
        self._pending = None
        self._clock = clock
        self._callback = callback
        self._errback = errback
        self._what = discovery.describe()
        self._last = None
        self._retry_delay = self.FIRST_RETRY
        self._call = clock.callLater(0, self._start)
        self.stopped = False
        self.failing = False
        self.index = 0

    def _start(self):
        self._call = None
        if not self.stopped:
            self._begin()

    def _begin(self):
        raise NotImplementedError()

    def _halt(self):
        """
        Stop what is in flight (the C{_pending} read); no callback is made
        after.
        """
        pending, self._pending = self._pending, None
        drop(pending)

    def _await(self, pending, callback):
        """
        Keep C{pending} (a L{Deferred}) as the read in flight: when it
        fires, C{callback} gets its result, L{_broke} its failure.
        """
        self._pending = pending

        def done(result):
            self._pending = None
            return callback(result)

        pending.addCallbacks(done, self._broke)

    def _broke(self, failure):
        """
        The read in flight failed: report it, and retry after the back-off.
        """
        self._pending = None
        self._failed(failure)

    def _got(self, entries, index=None):
        """
        A successful read: C{entries} is the whole list now.
        """
        if self.stopped:
            return
        if index is not None:
            self.index = max(self.index, index)
        if self.failing:
            self._log.info("discovery {what}: reading the store again", what=self._what)
        self.failing = False
        self._retry_delay = self.FIRST_RETRY
        if entries != self._last:
            self._last = list(entries)
            deliver(self._callback, list(entries), self._what)

    def _failed(self, failure, retry=True):
        """
        A failed read: errback (as a L{DiscoveryError}) and, if C{retry},
        call L{_begin} again after the back-off.
        """
        if self.stopped:
            return
        if not failure.check(DiscoveryError):
            failure = Failure(DiscoveryError(
                f"{self._what}: {connection_reason(failure)}"))
        self.failing = True
        deliver(self._errback, failure, self._what)
        if retry and not self.stopped and self._call is None:
            delay = self._retry_delay
            self._retry_delay = min(self._retry_delay * 2, self.MAX_RETRY)
            self._call = self._clock.callLater(delay, self._start)

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        if self._call is not None:
            self._call.cancel()
            self._call = None
        self._halt()


def drop(pending):
    """
    Cancel C{pending} (a L{Deferred}, or L{None}) and ignore how it ends.
    """
    if pending is not None:
        pending.addErrback(lambda failure: None)
        pending.cancel()


class StoreDiscovery:
    """
    What the providers (L{IDiscovery}) that read a store or a service
    share: the watches they handed out, and closing.

    Subclasses set C{watch_kind} (their L{KVWatch}, built with the
    provider) and C{client} (their store client, closed by L{close}).

    @ivar heartbeat: seconds between keep-alives of a registration.
    @ivar ttl: seconds a registration lasts without keep-alive.
    """

    watch_kind: type
    client: Any

    def __init__(self, heartbeat, ttl, clock):
        """
        @param clock: the L{IReactorTime} timers run on.
        """
        self.heartbeat = heartbeat
        self.ttl = ttl
        self._clock = clock
        self._watches: list[KVWatch] = []

    def watch(self, callback, errback):
        watch = self.watch_kind(self, self._clock, callback, errback)
        self._watches = [w for w in self._watches if not w.stopped] + [watch]
        return watch

    def close(self):
        """
        Stop every watch and close the client's connections.
        """
        for watch in self._watches:
            watch.stop()
        return self.client.close()


class KVDiscovery(StoreDiscovery):
    """
    A provider of a key-value store (C{etcd://}, C{zk://}, C{consul://}):
    built from a C{scheme://host:port,.../prefix} URL, with L{KVOptions}.

    Subclasses set C{scheme}.

    @ivar options: the L{KVOptions}.
    @ivar endpoints: the C{host:port} strings.
    """

    scheme: str

    def __init__(self, endpoints, prefix, heartbeat, ttl, options, clock, extra=()):
        """
        @param endpoints: C{host:port} strings.
        @param prefix: the URL's prefix.
        @param heartbeat: seconds between keep-alives of a registration.
        @param ttl: seconds a registration lasts without keep-alive.
        @param options: C{(key, value)} pairs of C{--discovery-opt}.
        @param clock: the L{IReactorTime} timers run on.
        @param extra: the backend's own option keys (see L{KVOptions}).
        @raise DiscoveryError: for bad options.
        """
        super().__init__(heartbeat, ttl, clock)
        self.options = KVOptions(self.scheme, prefix, options, extra=extra)
        self.endpoints = endpoints

    @classmethod
    def from_url(cls, rest, *, heartbeat, ttl, options, clock):
        """
        The registry's factory: C{rest} is C{host:port,.../prefix}.
        """
        endpoints, prefix = parse_endpoints(cls.scheme, rest)
        return cls(endpoints, prefix, heartbeat, ttl, options, clock)
