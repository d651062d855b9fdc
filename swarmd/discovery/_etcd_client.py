"""
etcd's APIs as the discovery and the leader election use them.

v3 is spoken over etcd's HTTP/JSON gateway (C{/v3/...}, keys and values
base64) with treq: no Twisted client of etcd's gRPC API is maintained, and
the gateway ships with every etcd since 3.3, so the manager needs nothing
but HTTP.  L{EtcdV3Client} offers ranges, puts (under a lease), deletes,
transactions, leases and watch streams.

L{EtcdV2Client} speaks the v2 API (C{/v2/keys}, keys with a TTL, long-polled
C{?wait=true}) as classic Swarm's libkv did.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, urlencode

from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.python.failure import Failure

from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._http import StoreAnswerError, StoreClient

__all__ = ["EtcdV2Client", "EtcdV3Client", "WatchCompacted", "WatchEvent", "b64", "prefix_end",
           "unb64"]

#: gRPC's code when a watch's start revision was compacted away.
_OUT_OF_RANGE = 11


def b64(data):
    """
    @return: C{data} (C{str} or C{bytes}) as etcd's JSON gateway spells it.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def unb64(text):
    """
    @return: the text of a base64 value of etcd's JSON gateway.
    """
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
        self.key = unb64(kv.get("key"))
        self.value = unb64(kv.get("value"))
        self.revision = int(kv.get("mod_revision", 0))
        self.create_revision = int(kv.get("create_revision", 0))
        self.lease = int(kv.get("lease", 0))

    def __repr__(self):
        return f"<WatchEvent {self.kind} {self.key}={self.value} @{self.revision}>"


class WatchCompacted(DiscoveryError):
    """
    The revision a watch asked for is compacted: read the keys again.
    """


class EtcdV3Client(StoreClient):
    """
    etcd's v3 API over the HTTP/JSON gateway.

    Every method returns a L{Deferred} failing with L{DiscoveryError} when no
    endpoint answers, or L{StoreAnswerError} (a L{DiscoveryError}) with
    etcd's message.
    """

    store = "etcd"

    def _call(self, path, body, **kwargs):
        d = self.http.request("POST", "/v3" + path, body, **kwargs)
        return d.addCallback(self._check)

    def _check(self, result):
        response, body = result
        if not isinstance(body, dict):
            raise self.garbage(body)
        return body

    @inlineCallbacks
    def range_prefix(self, prefix):
        """
        Read every key under C{prefix}.

        @return: C{(kvs, revision)}: a C{list} of L{WatchEvent}s of kind
            C{"PUT"} in key order, and the store's revision.
        """
        raw = prefix.encode("utf-8")
        body = yield self._call("/kv/range", {"key": b64(raw), "range_end": b64(prefix_end(raw))})
        kvs = [WatchEvent("PUT", kv) for kv in body.get("kvs", [])]
        returnValue((kvs, int(body.get("header", {}).get("revision", 0))))

    @inlineCallbacks
    def put(self, key, value, lease=0):
        """
        Put C{key} (under C{lease} if not 0).

        @return: the revision of the put.
        """
        request = {"key": b64(key), "value": b64(value)}
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
        request = {"key": b64(raw)}
        if prefix:
            request["range_end"] = b64(prefix_end(raw))
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
        put = {"key": b64(key), "value": b64(value)}
        if lease:
            put["lease"] = str(lease)
        return {"request_put": put}

    @staticmethod
    def delete_op(key):
        """
        @return: a txn operation deleting C{key}.
        """
        return {"request_delete_range": {"key": b64(key)}}

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
        request = {"create_request": {"key": b64(raw), "range_end": b64(prefix_end(raw)),
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


class EtcdV2Client(StoreClient):
    """
    etcd's v2 API (C{/v2/keys}), as classic Swarm's libkv used it.
    """

    store = "etcd"

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
            raise self.garbage(body)

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
            raise self.garbage(body)
        returnValue(int(body["node"].get("modifiedIndex", index)))
