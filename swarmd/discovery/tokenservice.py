"""
swarmd's token service: the HTTP API of Docker Hub's token discovery
service (C{discovery.hub.docker.com}, now gone), so that C{token://}
discovery keeps working.

    POST   /v1/clusters                  -> a new token (text)
    POST   /v1/clusters/<token>?ttl=N    body: the address; kept N seconds
    GET    /v1/clusters/<token>          -> JSON list of the live addresses
    DELETE /v1/clusters/<token>          -> the cluster is gone

Clusters are kept in C{<data>/clusters.json} (rewritten atomically on each
change), so they survive restarts; addresses expire by wall-clock time.
Every answer carries C{X-Swarmd-Index}, a counter raised by each change
(tests wait on it).  Run it with C{twistd -n swarm token-service --listen
tcp:8500:interface=127.0.0.1 --data <dir>} (an C{ssl:} description serves
TLS).
"""

from __future__ import annotations

import json
import os
import re
import secrets

from klein import Klein
from twisted.logger import Logger

from swarmd._log import observer
from swarmd.discovery._entries import normalize_address
from swarmd.discovery._errors import DiscoveryError

__all__ = ["TOKEN", "TokenAPI", "TokenStore"]

#: What a token looks like (ours are 32 hex digits; Docker Hub's were too).
TOKEN = re.compile(r"[A-Za-z0-9_-]{1,128}")

#: The TTL of a registration that gives none, seconds.
DEFAULT_TTL = 180

#: The longest TTL taken, seconds.
MAX_TTL = 7 * 24 * 3600


class UnknownToken(KeyError):
    """
    No cluster has this token.
    """


class TokenStore:
    """
    Clusters by token, each a map of address to expiry time (seconds since
    the epoch), in registration order.

    @ivar index: raised by every change.
    """

    _log = Logger(observer=observer)

    def __init__(self, folder, clock):
        """
        @param folder: where C{clusters.json} lives (created if missing).
        @param clock: gives the wall-clock time (C{seconds()}).
        @raise DiscoveryError: if the folder or its file cannot be used.
        """
        self._clock = clock
        self.path = os.path.join(folder, "clusters.json")
        self.clusters = {}
        self.index = 1
        try:
            os.makedirs(folder, exist_ok=True)
            with open(self.path, encoding="utf-8") as f:
                saved = json.load(f)
        except FileNotFoundError:
            saved = None
        except (OSError, ValueError) as e:
            raise DiscoveryError(f"cannot read the token service's data {self.path}: {e}") \
                from None
        if saved is not None:
            self.index = int(saved.get("index", 1))
            self.clusters = {token: dict(entries)
                             for token, entries in saved.get("clusters", {}).items()}

    def _save(self):
        self.index += 1
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump({"index": self.index, "clusters": self.clusters}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.path)

    def create(self):
        """
        @return: a new token.
        """
        token = secrets.token_hex(16)
        self.clusters[token] = {}
        self._save()
        self._log.info("token service: new cluster {token}", token=token)
        return token

    def _cluster(self, token):
        cluster = self.clusters.get(token)
        if cluster is None:
            raise UnknownToken(token)
        return cluster

    def register(self, token, address, ttl):
        """
        Keep C{address} in the cluster for C{ttl} seconds from now.
        """
        cluster = self._cluster(token)
        expiry = self._clock.seconds() + ttl
        known = address in cluster and cluster[address] > self._clock.seconds()
        cluster[address] = expiry
        if not known:
            self._prune(token)
        self._save()

    def _prune(self, token):
        now = self._clock.seconds()
        cluster = self.clusters[token]
        for address in [a for a, expiry in cluster.items() if expiry <= now]:
            del cluster[address]

    def addresses(self, token):
        """
        @return: the live addresses of the cluster, in registration order.
        """
        cluster = self._cluster(token)
        now = self._clock.seconds()
        return [address for address, expiry in cluster.items() if expiry > now]

    def set_addresses(self, token, addresses, ttl=MAX_TTL):
        """
        Make the cluster hold exactly C{addresses} (for fixtures).
        """
        expiry = self._clock.seconds() + ttl
        self.clusters[token] = {address: expiry for address in dict.fromkeys(addresses)}
        self._save()
        return self.index

    def delete(self, token):
        self._cluster(token)
        del self.clusters[token]
        self._save()


class TokenAPI:
    """
    The token service's HTTP API over a L{TokenStore}.
    """

    app = Klein()
    _log = Logger(observer=observer)

    def __init__(self, store):
        self.store = store

    def resource(self):
        return self.app.resource()

    def _error(self, request, code, message):
        request.setResponseCode(code)
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"message": message}).encode("utf-8")

    def _index(self, request):
        request.setHeader(b"X-Swarmd-Index", str(self.store.index).encode())

    @app.route("/v1/clusters", methods=["POST"])
    def create(self, request):
        token = self.store.create()
        self._index(request)
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        return token.encode("ascii")

    @app.route("/v1/clusters/<token>", methods=["POST"])
    def register(self, request, token):
        if not TOKEN.fullmatch(token):
            return self._error(request, 400, f"invalid token {token!r}")
        raw = request.args.get(b"ttl", [str(DEFAULT_TTL).encode()])[0]
        try:
            ttl = int(raw)
        except ValueError:
            return self._error(request, 400, f"invalid ttl {raw.decode(errors='replace')!r}")
        if not 0 < ttl <= MAX_TTL:
            return self._error(request, 400, f"ttl must be 1 to {MAX_TTL} seconds")
        body = request.content.read(4096).decode("utf-8", "replace").strip()
        try:
            address = normalize_address(body)
        except DiscoveryError as e:
            return self._error(request, 400, str(e))
        try:
            self.store.register(token, address, ttl)
        except UnknownToken:
            return self._error(request, 404, f"unknown cluster token {token}")
        self._index(request)
        return b""

    @app.route("/v1/clusters/<token>", methods=["GET"])
    def addresses(self, request, token):
        try:
            addresses = self.store.addresses(token)
        except UnknownToken:
            return self._error(request, 404, f"unknown cluster token {token}")
        self._index(request)
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(addresses).encode("utf-8")

    @app.route("/v1/clusters/<token>", methods=["DELETE"])
    def delete(self, request, token):
        try:
            self.store.delete(token)
        except UnknownToken:
            return self._error(request, 404, f"unknown cluster token {token}")
        self._index(request)
        return b""

    @app.handle_errors(Exception)
    def failed(self, request, failure):
        from werkzeug.exceptions import HTTPException

        if failure.check(HTTPException):
            error = failure.value
            return self._error(request, error.code, error.description or error.name)
        self._log.failure("token service: request failed", failure=failure)
        return self._error(request, 500, failure.getErrorMessage() or "internal error")


def make_service(listen, data, reactor=None):
    """
    The token service as a twistd service.

    @param listen: a strports description, e.g.
        C{tcp:8500:interface=127.0.0.1}.
    @param data: the folder its clusters are kept in.
    @raise DiscoveryError: if the data folder cannot be used.
    """
    from twisted.application import strports
    from twisted.web.server import Site

    if reactor is None:
        from twisted.internet import reactor
    store = TokenStore(data, reactor)
    return strports.service(listen, Site(TokenAPI(store).resource()), reactor=reactor)
