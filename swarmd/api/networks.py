"""
Network routes.

Lists and lookups come from the engines' cached network lists (see
L{swarmd.api._networks_view}): a local network is C{<node>/<name>}, a
swarm- or global-scope one appears once.  Creation goes to the node a
C{<node>/<name>} names, or to one the scheduler picks; connect and
disconnect go to the engine of the container; removal to the engine
holding the network; prune to every healthy engine.  Every change
refreshes the cached lists it touched before the answer.
"""

import json
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks
from twisted.web.client import readBody
from twisted.web.http_headers import Headers

from swarmd.api._fanout import (
    client_query,
    combine_failures,
    refresh_lists,
)
from swarmd.api._helpers import arg, json_answer, read_json
from swarmd.api._networks_placement import eligible_engines, node_engine
from swarmd.api._networks_view import (
    NETWORK_FILTERS,
    cluster_networks,
    find_network,
    find_network_on,
    holders,
    merge_inspects,
    network_filter,
    networks_in_use,
    unique_networks,
)
from swarmd.api._routing import EngineRouting
from swarmd.api._scoped_view import split_node
from swarmd.api.errors import DockerError, bad_request, conflict, not_found
from swarmd.api.listfilters import parse_filters
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.engine.client import decode_json

JSON_HEADERS = {b"Content-Type": [b"application/json"]}

#: Engine refusals of a network create after which no other node is tried:
#: the name is taken there.  (A 400 may be that engine's own state: an
#: exhausted address pool is dockerd's InvalidParameter, "all predefined
#: address pools have been fully subnetted".)
_FINAL_STATUSES = (409,)


def json_body(value):
    """
    @return: C{(body bytes, headers)} for a JSON request to an engine.
    """
    return json.dumps(value).encode("utf-8"), Headers(JSON_HEADERS)


@inlineCallbacks
def engine_raw(routing, engine, path, version, query=None):
    """
    An engine's answer to a C{GET}, as it wrote it.

    @param routing: the L{EngineRouting} handling the client's request.
    @return: a L{Deferred} firing with C{(bytes, decoded JSON)}.
    @raise EngineError: the engine's refusal, with its status and message.
    """
    target = routing._engine_path(engine, version, path, query=query or b"")
    response = yield engine.api.request("GET", target, None, None, timeout=60.0)
    data = yield readBody(response)
    if response.code >= 400:
        raise EngineError.from_body(response.code, data)
    return data, decode_json(data, engine.address, path)


class NetworkRoutes(EngineRouting):
    """
    C{/networks/...}
    """

    # -- helpers ----------------------------------------------------------------

    def _networks(self):
        return cluster_networks(self.cluster.engines.values())

    # -- routes -----------------------------------------------------------------

    def networks(self, request, version=None):
        """
        C{GET /networks}: every engine's cached networks.
        """
        filters = parse_filters(arg(request, "filters"), NETWORK_FILTERS)
        engines = list(self.cluster.engines.values())
        keep = network_filter(filters, networks_in_use(engines))
        answer = [entry.summary() for entry in unique_networks(cluster_networks(engines))
                  if keep(entry)]
        return json_answer(request, answer)

    @inlineCallbacks
    def network(self, request, networkid, version=None):
        """
        C{GET /networks/{id}}: the engine's live inspect, as the engine
        wrote it (its own C{Name}, as classic Swarm answers: the same bytes
        as C{docker -H <engine> network inspect}); a global network's
        containers gathered from every engine holding it.
        """
        entries = self._networks()
        entry = find_network(entries, networkid)
        copies = [entry] + [e for e in holders(entries, entry)[1:] if e.engine.healthy]
        answers = []
        for copy in copies:
            try:
                raw, answer = yield engine_raw(
                    self, copy.engine, "/networks/" + quote(copy.id, safe=""), version,
                    client_query(request))
            except EngineError as e:
                if e.status != 404:
                    if copy is entry:
                        raise
                    continue
                yield refresh_lists([copy.engine], "networks")
                if copy is entry:
                    raise not_found("network %s not found" % (networkid,)) from None
                continue
            except EngineUnreachable:
                if copy is entry:
                    raise
                continue
            if isinstance(answer, dict):
                answers.append((raw, answer))
        if not answers:
            raise DockerError(502, "engine %s sent no network for %s" % (
                entry.engine.name, networkid))
        if len(answers) == 1:
            request.setHeader(b"Content-Type", b"application/json")
            return answers[0][0]
        return json_answer(request, merge_inspects([answer for _, answer in answers]))

    @inlineCallbacks
    def networks_create(self, request, version=None):
        """
        C{POST /networks/create}: on the node of C{<node>/<name>}; else on
        the node the scheduler picks among those the network's
        C{com.docker.swarm.*} labels allow, the next one when an engine
        refuses (an exhausted address pool, a missing driver...), until one
        takes it; every refusal is named by its node.  A bare name already
        used anywhere in the cluster is a conflict (with C{CheckDuplicate},
        as the CLI sends).
        """
        body = read_json(request)
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise bad_request("network name is required")
        node, bare = split_node(name)
        if node is not None:
            candidates = [node_engine(self.cluster, node)]
            body = dict(body, Name=bare)
        else:
            if body.get("CheckDuplicate") and any(e.name == name for e in self._networks()):
                raise conflict("network with name %s already exists" % (name,))
            candidates = eligible_engines(self.cluster, body.get("Labels"))
        data, headers = json_body(body)
        failures = []
        for engine in candidates:
            try:
                answer = yield self._engine_json(engine, "POST", "/networks/create", version,
                                                 body=data, headers=headers)
            except (EngineError, EngineUnreachable) as e:
                failures.append((engine, e))
                if isinstance(e, EngineError) and e.status in _FINAL_STATUSES:
                    break
                if engine is not candidates[-1]:
                    self._log.info("network {name} refused by {engine} ({error}); trying "
                                   "the next node", name=name, engine=engine.name,
                                   error=str(e))
                continue
            yield refresh_lists([engine], "networks")
            answer = answer if isinstance(answer, dict) else {}
            return json_answer(request, {"Id": answer.get("Id", ""),
                                         "Warning": answer.get("Warning", "")}, 201)
        if node is not None:
            # The user named the node: its engine's answer as it is.
            raise failures[0][1]
        error = combine_failures(failures)
        if len(failures) > 1:
            error.message = "network %s could not be created on any node:\n%s" % (
                name, error.message)
        raise error

    def network_connect(self, request, networkid, version=None):
        """
        C{POST /networks/{id}/connect}: on the engine of the container.
        """
        return self._attach(request, networkid, version, "connect")

    def network_disconnect(self, request, networkid, version=None):
        """
        C{POST /networks/{id}/disconnect}: on the engine of the container;
        with C{Force} and a container the cluster no longer knows, on the
        engine holding the network.
        """
        return self._attach(request, networkid, version, "disconnect")

    @inlineCallbacks
    def _attach(self, request, networkid, version, action):
        body = read_json(request)
        reference = body.get("Container")
        if not isinstance(reference, str) or not reference:
            raise bad_request("a container name or ID is required")
        entries = self._networks()
        container = self.cluster.container(reference)
        if container is not None:
            engine = container.engine
            entry = find_network_on(entries, engine, networkid)
            target = entry.id if entry is not None else split_node(networkid)[1]
            body = dict(body, Container=container.id)
        elif action == "disconnect" and body.get("Force"):
            entry = find_network(entries, networkid)
            engine, target = entry.engine, entry.id
        else:
            raise not_found("No such container: %s" % (reference,))
        data, headers = json_body(body)
        yield self._engine_json(engine, "POST", "/networks/%s/%s" % (
            quote(target, safe=""), action), version, body=data, headers=headers)
        yield refresh_lists([engine], "networks")
        if container is not None:
            yield self._refresh(engine, container.id)
        request.setResponseCode(200)
        return b""

    @inlineCallbacks
    def network_delete(self, request, networkid, version=None):
        """
        C{DELETE /networks/{id}}: on the engine holding it (a global network:
        on the next engine holding it when one cannot).
        """
        entries = self._networks()
        entry = find_network(entries, networkid)
        copies = [e for e in holders(entries, entry) if e is entry or e.engine.healthy]
        # Set before the loop ends: copies always holds the entry itself.
        error: Exception | None = None
        for copy in copies:
            try:
                yield self._engine_json(copy.engine, "DELETE",
                                        "/networks/" + quote(copy.id, safe=""), version)
            except (EngineError, EngineUnreachable) as e:
                if error is None:
                    error = e
                if isinstance(e, EngineError) and e.status == 404:
                    yield refresh_lists([copy.engine], "networks")
                continue
            yield refresh_lists([copy.engine], "networks")
            request.setResponseCode(204)
            return b""
        raise error  # type: ignore[misc]

    @inlineCallbacks
    def networks_prune(self, request, version=None):
        """
        C{POST /networks/prune}: on every healthy engine (a C{node} filter
        picks some); the names deleted, each as C{<node>/<name>}.
        """
        deleted, _ = yield self._prune(request, version, "networks", "NetworksDeleted")
        return json_answer(request, {"NetworksDeleted": deleted})
