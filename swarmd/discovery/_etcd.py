"""
C{etcd://host:port[,host:port...]/prefix}: engines registered in etcd.

etcd v3 is spoken over its HTTP/JSON gateway (C{/v3/...}, keys and values
base64) with treq: no Twisted client of etcd's gRPC API is maintained, and
the gateway ships with every etcd since 3.3, so the manager needs nothing
but HTTP.  A node registers by putting its key under a lease of C{--ttl},
kept alive every C{--heartbeat}; a manager reads the prefix once, then
follows a watch stream from the next revision, and after an error resumes
from the revision it last saw (or reads again if etcd compacted it away).

C{--discovery-opt etcd.api=v2} uses etcd's v2 API (C{/v2/keys}, keys with
a TTL, long-polled C{?wait=true}) and classic Swarm's libkv layout, so that
swarmd and classic Swarm nodes and managers can share one etcd (started
with C{--enable-v2}).

L{EtcdV3Client} is also the client other modules (leader election) build
on: leases, puts under a lease, transactions and watches.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.python.failure import Failure
from zope.interface import implementer

from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._http import StoreAnswerError, StoreHTTP
from swarmd.discovery._interfaces import IDiscovery
from swarmd.discovery._kv import KVOptions, KVWatch, parse_endpoints, reactor_for
from swarmd.discovery._registry import register_backend

__all__ = ["EtcdDiscovery", "EtcdV2Client", "EtcdV3Client", "WatchEvent", "prefix_end"]

#: gRPC's code when a watch's start revision was compacted away.
_OUT_OF_RANGE = 11


def _b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def _unb64(text):
    return base64.b64decode(text or "").decode("utf-8", "replace")


def prefix_end(prefix: bytes) -> bytes:
    """
    The end of etcd's range of every key starting with C{prefix}.
    """
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


class WatchEvent:
    """
    One change of a key.

    @ivar kind: C{"PUT"} or C{"DELETE"}.
    @ivar key: the key (C{str}).
    @ivar value: the value (C{str}; empty for a delete).
    @ivar revision: the revision of the change.
    @ivar create_revision: the key's creation revision (0 for a delete).
    @ivar lease: the key's lease ID (0: none).
    """

    def __init__(self, kind, kv):
        self.kind = kind
        self.key = _unb64(kv.get("key"))
        self.value = _unb64(kv.get("value"))
        self.revision = int(kv.get("mod_revision", 0))
        self.create_revision = int(kv.get("create_revision", 0))
        self.lease = int(kv.get("lease", 0))

    def __repr__(self):
        return f"<WatchEvent {self.kind} {self.key}={self.value} @{self.revision}>"


class WatchCompacted(DiscoveryError):
    """
    The revision a watch asked for is compacted: read the keys again.
    """


class EtcdV3Client:
    """
    etcd's v3 API over the HTTP/JSON gateway.

    Every method returns a L{Deferred} failing with L{DiscoveryError} when no
    endpoint answers, or L{StoreAnswerError} (a L{DiscoveryError}) with
    etcd's message.
    """

    def __init__(self, endpoints, reactor, policy=None):
        """
        @param endpoints: C{host:port} strings, tried in turn.
        @param reactor: the reactor connections are made with.
        @param policy: an L{IPolicyForHTTPS}, or L{None} for HTTP.
        """
        self.http = StoreHTTP("etcd", endpoints, reactor, policy)

    def _call(self, path, body, **kwargs):
        d = self.http.request("POST", "/v3" + path, body, **kwargs)
        return d.addCallback(self._check)

    def _check(self, result):
        response, body = result
        if not isinstance(body, dict):
            raise DiscoveryError(f"{self.http.describe()} answered garbage: {body!r:.80}")
        return body

    @inlineCallbacks
    def range_prefix(self, prefix):
        """
        Read every key under C{prefix}.

        @return: C{(kvs, revision)}: a C{list} of L{WatchEvent}s of kind
            C{"PUT"} in key order, and the store's revision.
        """
        raw = prefix.encode("utf-8")
        body = yield self._call("/kv/range", {"key": _b64(raw), "range_end": _b64(prefix_end(raw))})
        kvs = [WatchEvent("PUT", kv) for kv in body.get("kvs", [])]
        returnValue((kvs, int(body.get("header", {}).get("revision", 0))))

    @inlineCallbacks
    def put(self, key, value, lease=0):
        """
        Put C{key} (under C{lease} if not 0).

        @return: the revision of the put.
        """
        request = {"key": _b64(key), "value": _b64(value)}
        if lease:
            request["lease"] = str(lease)
        body = yield self._call("/kv/put", request)
        returnValue(int(body.get("header", {}).get("revision", 0)))

    @inlineCallbacks
    def delete(self, key, prefix=False):
        """
        Delete C{key} (every key under it if C{prefix}).

        @return: the revision after the delete.
        """
        raw = key.encode("utf-8")
        request = {"key": _b64(raw)}
        if prefix:
            request["range_end"] = _b64(prefix_end(raw))
        body = yield self._call("/kv/deleterange", request)
        returnValue(int(body.get("header", {}).get("revision", 0)))

    def txn(self, compare=(), success=(), failure=()):
        """
        A raw transaction (etcd's C{TxnRequest}, keys already base64).

        @return: the decoded answer (C{succeeded}, C{header}, C{responses}).
        """
        return self._call("/kv/txn", {"compare": list(compare), "success": list(success),
                                      "failure": list(failure)})

    @staticmethod
    def put_op(key, value, lease=0):
        """
        @return: a txn operation putting C{key}.
        """
        put = {"key": _b64(key), "value": _b64(value)}
        if lease:
            put["lease"] = str(lease)
        return {"request_put": put}

    @staticmethod
    def delete_op(key):
        """
        @return: a txn operation deleting C{key}.
        """
        return {"request_delete_range": {"key": _b64(key)}}

    @inlineCallbacks
    def lease_grant(self, ttl):
        """
        Grant a lease of C{ttl} seconds (at least 1).

        @return: C{(lease ID, granted TTL)}.
        """
        body = yield self._call("/lease/grant", {"TTL": str(max(1, int(round(ttl))))})
        if body.get("error"):
            raise DiscoveryError(f"{self.http.describe()}: {body['error']}")
        returnValue((int(body["ID"]), int(body.get("TTL", 0))))

    @inlineCallbacks
    def lease_keepalive(self, lease):
        """
        Renew a lease once.

        @return: its remaining TTL; 0 if it is gone (expired or revoked).
        """
        body = yield self._call("/lease/keepalive", {"ID": str(lease)})
        result = body.get("result", body)
        if "error" in body and "result" not in body:
            raise DiscoveryError(f"{self.http.describe()}: {body['error']}")
        returnValue(int(result.get("TTL", 0)))

    def lease_revoke(self, lease):
        """
        Revoke a lease: its keys go at once.
        """
        d = self._call("/kv/lease/revoke", {"ID": str(lease)})
        return d.addCallback(lambda body: None)

    def watch(self, prefix, start_revision, on_events, opened=None):
        """
        Follow the changes of every key under C{prefix} from
        C{start_revision}.

        @param on_events: called with C{(events, revision)} for each batch:
            a C{list} of L{WatchEvent}s of one or more revisions, and the
            store's revision when it was sent; with C{([], revision)} when
            the watch is created.
        @param opened: called with the stream's L{LineStream} once it is
            open (its C{stop()} ends the stream).
        @return: a L{Deferred} that fires when the stream ends, fails when
            it breaks (L{WatchCompacted} if C{start_revision} is gone);
            cancel it to stop before the stream is open.
        """
        raw = prefix.encode("utf-8")
        request = {"create_request": {"key": _b64(raw), "range_end": _b64(prefix_end(raw)),
                                      "start_revision": str(start_revision)}}
        broken: list[DiscoveryError] = []
        streams = []

        def stream_opened(protocol):
            streams.append(protocol)
            if opened is not None:
                opened(protocol)

        def message(body):
            if broken:
                return
            try:
                check(body)
            finally:
                if broken and streams:
                    # etcd keeps the stream open after cancelling a watch.
                    streams[0].stop()

        def check(body):
            result = body.get("result")
            if result is None:
                broken.append(DiscoveryError(
                    f"{self.http.describe()}: watch failed: "
                    f"{body.get('message') or body.get('error') or body}"))
                return
            if result.get("compact_revision") and int(result["compact_revision"]) > 0:
                broken.append(WatchCompacted(
                    f"{self.http.describe()}: revision {start_revision} is compacted"))
                return
            if result.get("canceled"):
                broken.append(DiscoveryError(
                    f"{self.http.describe()}: watch canceled: "
                    f"{result.get('cancel_reason', '')}"))
                return
            revision = int(result.get("header", {}).get("revision", 0))
            events = [WatchEvent(event.get("type", "PUT"), event.get("kv", {}))
                      for event in result.get("events", [])]
            on_events(events, revision)

        def ended(result):
            if broken:
                return Failure(broken[0])
            return result

        d = self.http.request("POST", "/v3/watch", request, stream=message,
                              opened=stream_opened)
        return d.addBoth(ended)

    def close(self):
        return self.http.close()


class EtcdV2Client:
    """
    etcd's v2 API (C{/v2/keys}), as classic Swarm's libkv used it.
    """

    def __init__(self, endpoints, reactor, policy=None):
        self.http = StoreHTTP("etcd", endpoints, reactor, policy)

    @staticmethod
    def _path(key):
        return "/v2/keys/" + quote(key.strip("/"), safe="/:")

    @inlineCallbacks
    def list(self, directory):
        """
        Read every value under C{directory}, recursively.

        @return: C{(values by key, etcd index)}; an empty C{dict} if the
            directory does not exist.
        """
        try:
            response, body = yield self.http.request(
                "GET", self._path(directory), params={"recursive": "true"})
        except StoreAnswerError as e:
            if e.status == 404:
                index = 0
                if isinstance(e.body, dict):
                    index = int(e.body.get("index", 0))
                returnValue(({}, index))
            raise
        index = int((response.headers.getRawHeaders(b"x-etcd-index") or [b"0"])[0])
        values = {}
        if not isinstance(body, dict) or "node" not in body:
            raise DiscoveryError(f"{self.http.describe()} answered garbage: {body!r:.80}")

        def walk(node):
            for child in node.get("nodes", []):
                if child.get("dir"):
                    walk(child)
                elif "value" in child:
                    values[child["key"]] = child["value"]

        walk(body["node"])
        returnValue((values, index))

    def set(self, key, value, ttl=None):
        """
        Set C{key} to C{value}, expiring after C{ttl} seconds if given.
        """
        data = {"value": value}
        if ttl is not None:
            data["ttl"] = str(max(1, int(round(ttl))))
        from urllib.parse import urlencode

        d = self.http.request("PUT", self._path(key), urlencode(data).encode("ascii"),
                              statuses=(200, 201),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        return d.addCallback(lambda result: None)

    def delete(self, key, recursive=False):
        params = {"recursive": "true"} if recursive else None
        d = self.http.request("DELETE", self._path(key), params=params, statuses=(200, 404))
        return d.addCallback(lambda result: None)

    @inlineCallbacks
    def wait(self, directory, index):
        """
        Long-poll the next change under C{directory} at or after C{index}.

        @return: the C{modifiedIndex} of the change.
        @raise WatchCompacted: if C{index} is too old (etcd's event index
            cleared).
        """
        try:
            _, body = yield self.http.request(
                "GET", self._path(directory),
                params={"wait": "true", "recursive": "true", "waitIndex": str(index)},
                timeout=3600)
        except StoreAnswerError as e:
            if isinstance(e.body, dict) and e.body.get("errorCode") == 401:
                raise WatchCompacted(str(e)) from None
            raise
        if not isinstance(body, dict) or "node" not in body:
            raise DiscoveryError(f"{self.http.describe()} answered garbage: {body!r:.80}")
        returnValue(int(body["node"].get("modifiedIndex", index)))

    def close(self):
        return self.http.close()


class _V3Watch(KVWatch):
    """
    Read the prefix, then follow a watch stream from the next revision.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._discovery = discovery
        # key -> value once the first range has answered.
        self._keys: Any = None
        self._pending = None
        self._stream = None
        super().__init__(clock, callback, errback, discovery.describe())

    def _begin(self):
        if self._keys is None:
            self._pending = self._discovery.client.range_prefix(self._discovery.key_prefix)
            self._pending.addCallbacks(self._ranged, self._broke)
        else:
            self._follow()

    def _ranged(self, result):
        self._pending = None
        kvs, revision = result
        self._keys = {kv.key: kv.value for kv in kvs}
        self._got(self._entries(), revision)
        self._follow()

    def _entries(self):
        return _entries_of(self._keys)

    def _follow(self):
        if self.stopped:
            return
        self._pending = self._discovery.client.watch(
            self._discovery.key_prefix, self.index + 1, self._events, opened=self._opened)
        self._pending.addCallbacks(self._ended, self._broke)

    def _opened(self, stream):
        self._stream = stream
        if self.stopped:
            stream.stop()

    def _events(self, events, revision):
        if self.stopped:
            return
        for event in events:
            if event.kind == "DELETE":
                self._keys.pop(event.key, None)
            else:
                self._keys[event.key] = event.value
        if not events:
            # Created (or a progress note): nothing changed yet.  The
            # header's revision says nothing of the events still to come.
            if self.failing:
                self._got(self._entries())
            return
        self._got(self._entries(), max(event.revision for event in events))

    def _ended(self, ignored):
        self._pending = self._stream = None
        self._failed(Failure(DiscoveryError(
            f"{self._discovery.describe()}: the watch stream ended")))

    def _broke(self, failure):
        self._pending = self._stream = None
        if failure.check(WatchCompacted):
            self._keys = None
        self._failed(failure)

    def _halt(self):
        pending, self._pending = self._pending, None
        if self._stream is not None:
            self._stream.stop()
        self._stream = None
        if pending is not None:
            pending.addErrback(lambda failure: None)
            pending.cancel()


class _V2Watch(KVWatch):
    """
    Read the directory, then long-poll its next change and read again.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._discovery = discovery
        self._pending = None
        self._wait_index = None
        super().__init__(clock, callback, errback, discovery.describe())

    def _begin(self):
        if self._wait_index is None:
            self._pending = self._discovery.client.list(self._discovery.key_prefix)
            self._pending.addCallbacks(self._listed, self._broke)
        else:
            self._pending = self._discovery.client.wait(
                self._discovery.key_prefix, self._wait_index)
            self._pending.addCallbacks(self._changed, self._broke)

    def _listed(self, result):
        self._pending = None
        values, index = result
        self._wait_index = index + 1
        self._got(_entries_of(values), index)
        if not self.stopped:
            self._begin()

    def _changed(self, index):
        self._pending = None
        # Read the whole directory again: a change may be an expiry of a
        # directory, and reading is cheap.
        self._wait_index = None
        self._begin()

    def _broke(self, failure):
        self._pending = None
        if failure.check(WatchCompacted):
            self._wait_index = None
        self._failed(failure)

    def _halt(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.addErrback(lambda failure: None)
            pending.cancel()


def _entries_of(values):
    """
    @param values: key -> address.
    @return: the addresses in order (the order of their keys, as a key is
        the prefix and the address), each once.
    """
    return sorted({value for value in values.values() if value})


@implementer(IDiscovery)
class EtcdDiscovery:
    """
    Engines registered in etcd, v3 (default) or v2 (C{etcd.api=v2}).

    @ivar client: the L{EtcdV3Client} or L{EtcdV2Client}.
    @ivar key_prefix: the directory of the engines' keys, with a trailing
        slash (v3) or without (v2).
    """

    scheme = "etcd"

    def __init__(self, endpoints, prefix, heartbeat, ttl, options, clock, reactor=None):
        """
        @param endpoints: C{host:port} strings.
        @param prefix: the URL's prefix.
        @param heartbeat: seconds between keep-alives of a registration.
        @param ttl: seconds a registration lasts without keep-alive.
        @param options: C{(key, value)} pairs of C{--discovery-opt}.
        @param clock: the L{IReactorTime} timers run on.
        @param reactor: the reactor connections are made with (C{clock}
            unless given, if it is a reactor; the global one otherwise).
        @raise DiscoveryError: for bad options.
        """
        self.options = KVOptions("etcd", prefix, options, extra=("etcd.api",))
        api = self.options.extra.get("etcd.api", "v3")
        if api not in ("v2", "v3"):
            raise DiscoveryError(f"etcd.api is v2 or v3, not {api!r}")
        self.api = api
        self.endpoints = endpoints
        self.heartbeat = heartbeat
        self.ttl = ttl
        self._clock = clock
        reactor = reactor_for(clock, reactor)
        policy = self.options.https_policy() if self.options.tls else None
        # An EtcdV3Client or an EtcdV2Client: callers check self.api.
        self.client: Any
        if api == "v3":
            self.client = EtcdV3Client(endpoints, reactor, policy)
            self.key_prefix = "/" + self.options.path + "/"
        else:
            self.client = EtcdV2Client(endpoints, reactor, policy)
            self.key_prefix = self.options.path
        self._lease = None
        self._watches = []

    @classmethod
    def from_url(cls, rest, *, heartbeat, ttl, options, clock):
        """
        The registry's factory: C{rest} is C{host:port,.../prefix}.
        """
        endpoints, prefix = parse_endpoints("etcd", rest)
        return cls(endpoints, prefix, heartbeat, ttl, options, clock)

    def describe(self):
        return f"etcd{'' if self.api == 'v3' else ' (v2)'} at {','.join(self.endpoints)}"

    def __repr__(self):
        return f"<EtcdDiscovery {self.api} {','.join(self.endpoints)} {self.key_prefix}>"

    def key(self, address):
        """
        @return: the key of an engine's address.
        """
        if self.api == "v3":
            return self.key_prefix + address
        # v2 keys are paths: a unix:///path address is one key, not a tree.
        return self.key_prefix + "/" + quote(address, safe=":")

    def fetch(self):
        if self.api == "v3":
            d = self.client.range_prefix(self.key_prefix)
            d.addCallback(lambda result: _entries_of({kv.key: kv.value for kv in result[0]}))
        else:
            d = self.client.list(self.key_prefix)
            d.addCallback(lambda result: _entries_of(result[0]))
        return d

    def watch(self, callback, errback):
        kind = _V3Watch if self.api == "v3" else _V2Watch
        watch = kind(self, self._clock, callback, errback)
        self._watches = [w for w in self._watches if not w.stopped] + [watch]
        return watch

    @inlineCallbacks
    def register(self, address):
        if self.api == "v2":
            yield self.client.set(self.key(address), address, ttl=self.ttl)
            return
        if self._lease is not None:
            lease = self._lease
            remaining = yield self.client.lease_keepalive(lease)
            if remaining > 0 and lease == self._lease:
                return
            if lease == self._lease:
                self._lease = None
        lease, _ = yield self.client.lease_grant(self.ttl)
        yield self.client.put(self.key(address), address, lease=lease)
        self._lease = lease

    def close(self):
        """
        Stop every watch and close pooled connections.
        """
        for watch in self._watches:
            watch.stop()
        return self.client.close()


register_backend("etcd", EtcdDiscovery.from_url)
