"""
An in-process fake of Consul's HTTP API, the parts discovery uses, written
from Consul's documentation (no Consul server can be installed here):

  - KV store (U{https://developer.hashicorp.com/consul/api-docs/kv}):
    C{GET /v1/kv/<key>[?recurse]} answers a JSON list of C{Key}, C{Value}
    (base64), C{Flags}, C{Session}, C{LockIndex}, C{CreateIndex},
    C{ModifyIndex}, or 404 when nothing matches; C{PUT /v1/kv/<key>} with
    the value as body, C{?acquire=<session>} / C{?release=<session>},
    answers C{true}/C{false}; C{DELETE /v1/kv/<key>[?recurse]}.
  - Blocking queries (U{https://developer.hashicorp.com/consul/api-docs/features/blocking}):
    every answer carries C{X-Consul-Index}; a read with C{?index=N} waits
    until the result's index is above N or C{?wait=} (default 5m, at most
    10m) runs out, then answers as an ordinary read.
  - Sessions (U{https://developer.hashicorp.com/consul/api-docs/session}):
    C{PUT /v1/session/create} with C{TTL} (C{"10s"} to C{"86400s"}),
    C{Behavior} (C{release} or C{delete}) and C{LockDelay}; answers
    C{{"ID": ...}}; C{PUT /v1/session/renew/<id>} answers the session in a
    list, 404 when it is gone; C{PUT /v1/session/destroy/<id>}.  A session
    not renewed within its TTL is invalidated: its locks are released or
    its keys deleted, per C{Behavior}.  (Consul may wait up to twice the
    TTL; the fake is exact.)

    consul = FakeConsul(clock=reactor)
    port = consul.listen()                   # 127.0.0.1, a free port
    consul.put("swarm/docker/swarm/nodes/h:1", "h:1")
"""

from __future__ import annotations

import base64
import json
import uuid

from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from swarmd._duration import parse_duration

__all__ = ["FakeConsul"]

#: Session TTL bounds, per Consul's documentation.
MIN_TTL = 10.0
MAX_TTL = 86400.0


class _Session:
    def __init__(self, session_id, ttl, behavior, lock_delay, index):
        self.id = session_id
        self.ttl = ttl
        self.behavior = behavior
        self.lock_delay = lock_delay
        self.create_index = index
        self.timer = None

    def to_json(self, ttl_text):
        return {"ID": self.id, "Name": "", "Node": "fake", "LockDelay": int(self.lock_delay * 1e9),
                "Behavior": self.behavior, "TTL": ttl_text, "CreateIndex": self.create_index,
                "ModifyIndex": self.create_index}


class FakeConsul:
    """
    The state and the HTTP site of a fake Consul agent.

    @ivar index: Consul's raft index, raised by every write.
    @ivar kv: key -> C{dict} (Consul's JSON of the entry, value decoded).
    @ivar sessions: ID -> session.
    """

    def __init__(self, clock=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self._clock = clock
        self.index = 1
        self.kv = {}
        self.sessions = {}
        # key -> index of its last change (deletes included), for blocking
        # queries on prefixes.
        self._changed = {}
        self._waiting = []
        self.garbage = False
        self._port = None

    # -- state --------------------------------------------------------------

    def _bump(self, key):
        self.index += 1
        self._changed[key] = self.index
        self._wake()
        return self.index

    def put(self, key, value, session=None):
        """
        Set C{key} to C{value} (C{str}).

        @return: the index after the write.
        """
        entry = self.kv.get(key)
        index = self.index + 1
        if entry is None:
            entry = {"Key": key, "Flags": 0, "LockIndex": 0, "CreateIndex": index}
            self.kv[key] = entry
        entry["Value"] = value
        entry["ModifyIndex"] = index
        if session is not None:
            if entry.get("Session") != session:
                entry["LockIndex"] += 1
            entry["Session"] = session
        return self._bump(key)

    def delete(self, key, recurse=False):
        """
        Delete C{key} (every key starting with it if C{recurse}).

        @return: the index after the delete.
        """
        keys = [k for k in self.kv if k == key or (recurse and k.startswith(key))]
        for k in keys:
            del self.kv[k]
            self._bump(k)
        if not keys:
            self._bump(key)
        return self.index

    def set_entries(self, prefix, values):
        """
        Make the keys under C{prefix} exactly C{prefix + value} for each
        value, in one write (for fixtures).

        @return: the index after the write.
        """
        wanted = list(dict.fromkeys(values))
        for key in [k for k in self.kv if k.startswith(prefix)]:
            if key[len(prefix):] not in wanted:
                del self.kv[key]
                self._changed[key] = self.index + 1
        for value in wanted:
            key = prefix + value
            entry = self.kv.get(key)
            if entry is None:
                entry = self.kv[key] = {"Key": key, "Flags": 0, "LockIndex": 0,
                                        "CreateIndex": self.index + 1}
            entry["Value"] = value
            entry["ModifyIndex"] = self.index + 1
            self._changed[key] = self.index + 1
        self.index += 1
        self._wake()
        return self.index

    def _prefix_index(self, key, recurse):
        found = [i for k, i in self._changed.items()
                 if k == key or (recurse and k.startswith(key))]
        return max(found) if found else 1

    def _read(self, key, recurse):
        keys = sorted(k for k in self.kv if k == key or (recurse and k.startswith(key)))
        return [self._entry_json(self.kv[k]) for k in keys], self._prefix_index(key, recurse)

    @staticmethod
    def _entry_json(entry):
        answer = dict(entry)
        value = entry.get("Value")
        answer["Value"] = None if value is None else base64.b64encode(
            value.encode("utf-8")).decode("ascii")
        return answer

    def _wake(self):
        waiting, self._waiting = self._waiting, []
        for waiter in waiting:
            waiter()

    def create_session(self, ttl, behavior="release", lock_delay=15.0):
        self.index += 1
        session = _Session(str(uuid.uuid4()), ttl, behavior, lock_delay, self.index)
        self.sessions[session.id] = session
        self._arm(session)
        return session

    def _arm(self, session):
        if session.timer is not None and session.timer.active():
            session.timer.cancel()
        if session.ttl:
            session.timer = self._clock.callLater(session.ttl, self.invalidate, session.id)

    def invalidate(self, session_id):
        """
        End a session as its TTL running out does: release its locks or
        delete its keys.
        """
        session = self.sessions.pop(session_id, None)
        if session is None:
            return
        if session.timer is not None and session.timer.active():
            session.timer.cancel()
        for key, entry in list(self.kv.items()):
            if entry.get("Session") == session_id:
                if session.behavior == "delete":
                    del self.kv[key]
                else:
                    entry.pop("Session", None)
                    entry["ModifyIndex"] = self.index + 1
                self._bump(key)

    def stop(self):
        """
        Cancel the sessions' timers, stop listening.
        """
        for session in self.sessions.values():
            if session.timer is not None and session.timer.active():
                session.timer.cancel()
        self.sessions.clear()
        self._wake()
        if self._port is not None:
            port, self._port = self._port, None
            return port.stopListening()
        return None

    # -- HTTP ---------------------------------------------------------------

    def site(self):
        return Site(_Root(self))

    def listen(self, reactor=None):
        """
        Serve on a free port of 127.0.0.1.

        @return: the port number.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._port = reactor.listenTCP(0, self.site(), interface="127.0.0.1")
        return self._port.getHost().port


def _arg(request, name):
    values = request.args.get(name.encode())
    return None if not values else values[0].decode("utf-8")


class _Root(Resource):
    isLeaf = True

    def __init__(self, consul):
        super().__init__()
        self.consul = consul

    def render(self, request):
        consul = self.consul
        request.setHeader(b"X-Consul-KnownLeader", b"true")
        request.setHeader(b"X-Consul-LastContact", b"0")
        if consul.garbage:
            request.setHeader(b"Content-Type", b"text/html")
            return b"<html>not consul</html>"
        path = request.path.decode("utf-8")
        method = request.method.decode()
        if path.startswith("/v1/kv/"):
            key = path[len("/v1/kv/"):]
            if method == "GET":
                return self._get(request, key)
            if method == "PUT":
                return self._put(request, key)
            if method == "DELETE":
                consul.delete(key, recurse=_arg(request, "recurse") is not None)
                return self._json(request, True)
        if path == "/v1/session/create" and method == "PUT":
            return self._create_session(request)
        if path.startswith("/v1/session/renew/") and method == "PUT":
            session = consul.sessions.get(path.rsplit("/", 1)[1])
            if session is None:
                request.setResponseCode(404)
                return f"Session id '{path.rsplit('/', 1)[1]}' not found".encode()
            consul._arm(session)
            return self._json(request, [session.to_json(f"{int(session.ttl)}s")])
        if path.startswith("/v1/session/destroy/") and method == "PUT":
            consul.invalidate(path.rsplit("/", 1)[1])
            return self._json(request, True)
        request.setResponseCode(404)
        return b"404 page not found\n"

    def _json(self, request, value, index=None):
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"X-Consul-Index", str(index or self.consul.index).encode())
        return json.dumps(value).encode("utf-8")

    def _get(self, request, key):
        recurse = _arg(request, "recurse") is not None
        wanted = _arg(request, "index")
        wait = _arg(request, "wait")
        try:
            wanted = int(wanted) if wanted is not None else None
            timeout = min(parse_duration(wait), 600.0) if wait else 300.0
        except ValueError as e:
            request.setResponseCode(400)
            return f"Invalid blocking query: {e}".encode()
        _, index = self.consul._read(key, recurse)
        if wanted is None or index > wanted:
            return self._answer(request, key, recurse)
        consul = self.consul
        state = {"done": False}

        def finish():
            if state["done"]:
                return
            _, now = consul._read(key, recurse)
            if now <= wanted and timer.active():
                consul._waiting.append(finish)
                return
            state["done"] = True
            if timer.active():
                timer.cancel()
            request.write(self._answer(request, key, recurse))
            request.finish()

        def gone(reason):
            state["done"] = True
            if timer.active():
                timer.cancel()

        timer = consul._clock.callLater(timeout, finish)
        consul._waiting.append(finish)
        request.notifyFinish().addErrback(gone)
        return NOT_DONE_YET

    def _answer(self, request, key, recurse):
        entries, index = self.consul._read(key, recurse)
        if not entries:
            request.setResponseCode(404)
            request.setHeader(b"X-Consul-Index", str(index).encode())
            return b""
        return self._json(request, entries, index)

    def _put(self, request, key):
        value = request.content.read().decode("utf-8")
        acquire = _arg(request, "acquire")
        release = _arg(request, "release")
        consul = self.consul
        if acquire is not None:
            if acquire not in consul.sessions:
                request.setResponseCode(500)
                return f"invalid session \"{acquire}\"".encode()
            held = consul.kv.get(key, {}).get("Session")
            if held not in (None, acquire):
                return self._json(request, False)
            consul.put(key, value, session=acquire)
            return self._json(request, True)
        if release is not None:
            entry = consul.kv.get(key)
            if entry is None or entry.get("Session") != release:
                return self._json(request, False)
            entry.pop("Session", None)
            consul.put(key, value)
            return self._json(request, True)
        consul.put(key, value)
        return self._json(request, True)

    def _create_session(self, request):
        try:
            body = json.loads(request.content.read() or b"{}")
        except ValueError:
            request.setResponseCode(400)
            return b"Request decode failed"
        ttl_text = body.get("TTL", "")
        try:
            ttl = parse_duration(ttl_text) if ttl_text else 0.0
            lock_delay = parse_duration(body.get("LockDelay", "15s"))
        except ValueError:
            request.setResponseCode(400)
            return f"Request decode failed: invalid duration {ttl_text!r}".encode()
        if ttl and not MIN_TTL <= ttl <= MAX_TTL:
            request.setResponseCode(400)
            return (f"Invalid Session TTL '{int(ttl * 1e9)}', must be between "
                    "[10s=24h0m0s]").encode()
        behavior = body.get("Behavior", "release")
        if behavior not in ("release", "delete"):
            request.setResponseCode(400)
            return f"Invalid Behavior setting '{behavior}'".encode()
        session = self.consul.create_session(ttl, behavior, lock_delay)
        return self._json(request, {"ID": session.id})
