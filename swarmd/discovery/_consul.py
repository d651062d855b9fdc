"""
C{consul://host:port[,host:port...]/prefix}: engines registered in
Consul's KV store, over its HTTP API with treq.

A node registers by holding its key C{<prefix>/docker/swarm/nodes/<address>}
with a session of C{--ttl} (C{Behavior: delete}, no lock delay) renewed
every C{--heartbeat}: when the node stops renewing, Consul invalidates the
session and deletes the key.  Consul refuses session TTLs under 10 s, so a
shorter C{--ttl} is raised to 10 s.  A manager follows the directory with
blocking queries (C{?recurse&index=N&wait=...}, C{X-Consul-Index}).

Written from Consul's documented API and tested against
L{swarmd.testing.kvstores.consul.FakeConsul}, which follows that
documentation; it has not been run against a real Consul.
"""

from __future__ import annotations

import base64
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks, returnValue
from twisted.logger import Logger
from zope.interface import implementer

from swarmd._log import observer
from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._http import StoreAnswerError, StoreClient
from swarmd.discovery._interfaces import IDiscovery
from swarmd.discovery._kv import KVDiscovery, KVWatch, reactor_for
from swarmd.discovery._registry import register_backend

__all__ = ["ConsulClient", "ConsulDiscovery"]

#: Consul's shortest session TTL.
MIN_SESSION_TTL = 10.0

#: Longest wait of a blocking query.
MAX_WAIT = 300.0


def _index_of(response):
    """
    @param response: an answer (or a L{StoreAnswerError}) with C{headers}.
    @return: its C{X-Consul-Index}, or L{None}.
    """
    raw = response.headers.getRawHeaders(b"x-consul-index")
    if not raw:
        return None
    try:
        return int(raw[0])
    except ValueError:
        return None


class ConsulClient(StoreClient):
    """
    The KV and session endpoints of Consul's HTTP API.
    """

    store = "consul"

    @staticmethod
    def _kv(key):
        return "/v1/kv/" + quote(key.lstrip("/"), safe="/:[]")

    @inlineCallbacks
    def list(self, prefix, index=None, wait=None):
        """
        Read every key under C{prefix}; with C{index}, a blocking query.

        @return: C{(entries, index)}: Consul's JSON entries (values decoded)
            and the C{X-Consul-Index} of the answer.
        """
        params = {"recurse": ""}
        timeout = None
        if index is not None:
            params["index"] = str(index)
            params["wait"] = f"{int(wait)}s"
            timeout = wait + wait / 16 + 5
        try:
            response, body = yield self.http.request(
                "GET", self._kv(prefix), params=params, timeout=timeout)
        except StoreAnswerError as e:
            if e.status == 404:
                if _index_of(e) is None:
                    # Consul answers every KV read with its index.
                    raise DiscoveryError(
                        f"{self.http.describe()} answered 404 without X-Consul-Index: "
                        "not a Consul agent?") from None
                returnValue(([], self._answer_index(e)))
            raise
        found = _index_of(response)
        if not isinstance(body, list) or found is None:
            raise self.garbage(body)
        entries = []
        for entry in body:
            if not isinstance(entry, dict) or "Key" not in entry:
                raise self.garbage(entry)
            entry = dict(entry)
            value = entry.get("Value")
            entry["Value"] = "" if value is None else base64.b64decode(value).decode(
                "utf-8", "replace")
            entries.append(entry)
        returnValue((entries, found))

    @staticmethod
    def _answer_index(error):
        index = _index_of(error) if error.headers is not None else None
        return index or 0

    def put(self, key, value, acquire=None):
        """
        @return: whether the write (or the acquisition) succeeded.
        """
        params = {"acquire": acquire} if acquire else None
        d = self.http.request("PUT", self._kv(key), value.encode("utf-8"), params=params)
        return d.addCallback(lambda result: result[1] is True)

    def delete(self, key, recurse=False):
        params = {"recurse": ""} if recurse else None
        d = self.http.request("DELETE", self._kv(key), params=params)
        return d.addCallback(lambda result: None)

    @inlineCallbacks
    def create_session(self, ttl, behavior="delete", lock_delay="0s"):
        """
        @return: the session's ID.
        """
        _, body = yield self.http.request("PUT", "/v1/session/create", {
            "TTL": f"{int(ttl)}s", "Behavior": behavior, "LockDelay": lock_delay})
        if not isinstance(body, dict) or "ID" not in body:
            raise self.garbage(body)
        returnValue(body["ID"])

    @inlineCallbacks
    def renew_session(self, session):
        """
        @return: whether the session still exists (and was renewed).
        """
        try:
            yield self.http.request("PUT", f"/v1/session/renew/{session}")
        except StoreAnswerError as e:
            if e.status == 404:
                returnValue(False)
            raise
        returnValue(True)

    def destroy_session(self, session):
        d = self.http.request("PUT", f"/v1/session/destroy/{session}")
        return d.addCallback(lambda result: None)


def _addresses(entries):
    return sorted({entry["Value"] for entry in entries if entry.get("Value")})


class _ConsulWatch(KVWatch):
    """
    Blocking queries on the directory, one after the other.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._consul_index = None
        super().__init__(discovery, clock, callback, errback)

    def _begin(self):
        if self.stopped:
            return
        wait = min(max(self._discovery.heartbeat * 5, 30.0), MAX_WAIT)
        self._await(self._discovery.client.list(
            self._discovery.prefix, self._consul_index, wait), self._read)

    def _read(self, result):
        entries, index = result
        if self._consul_index is not None and index < self._consul_index:
            # Consul's documentation: an index going backwards resets.
            index = 0
        self._consul_index = max(index, 1) if index else None
        self._got(_addresses(entries), index)
        self._begin()


@implementer(IDiscovery)
class ConsulDiscovery(KVDiscovery):
    """
    Engines registered in Consul's KV store under sessions.
    """

    scheme = "consul"
    watch_kind = _ConsulWatch
    _log = Logger(observer=observer)

    def __init__(self, endpoints, prefix, heartbeat, ttl, options, clock, reactor=None):
        super().__init__(endpoints, prefix, heartbeat, ttl, options, clock)
        self.client = ConsulClient(endpoints, reactor_for(clock, reactor), self.options.policy())
        self.prefix = self.options.path + "/"
        self._session = None
        self._held: set[str] = set()

    def describe(self):
        return self.client.http.describe()

    def __repr__(self):
        return f"<ConsulDiscovery {','.join(self.endpoints)} {self.prefix}>"

    def key(self, address):
        return self.prefix + address

    def fetch(self):
        d = self.client.list(self.prefix)
        return d.addCallback(lambda result: _addresses(result[0]))

    @inlineCallbacks
    def register(self, address):
        session = self._session
        if session is not None:
            alive = yield self.client.renew_session(session)
            if not alive and session == self._session:
                self._session = None
                self._held = set()
        if self._session is None:
            ttl = max(self.ttl, MIN_SESSION_TTL)
            if ttl != self.ttl:
                self._log.info("consul sessions last at least 10s: --ttl {ttl}s raised "
                               "to 10s", ttl=self.ttl)
            self._session = yield self.client.create_session(ttl)
        if address in self._held:
            return
        session = self._session
        acquired = yield self.client.put(self.key(address), address, acquire=session)
        if not acquired:
            raise DiscoveryError(
                f"{self.describe()}: {self.key(address)} is held by another session")
        if session == self._session:
            self._held.add(address)


register_backend("consul", ConsulDiscovery.from_url)
