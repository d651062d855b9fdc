"""
Container routes: listing and inspecting from the cluster, creation by the
scheduler, everything else on the container's engine.
"""

import json
from typing import Any

from twisted.internet.defer import DeferredList, ensureDeferred, inlineCallbacks

from swarmd.api._create_body import check_create_body
from swarmd.api._helpers import (
    arg,
    bool_arg,
    int_arg,
    json_answer,
    read_json,
    read_json_value,
)
from swarmd.api._list_answer import KeptList, join_entries
from swarmd.api._networks_placement import pin_create_body
from swarmd.api._routing import (
    ANSWER_TIMEOUT,
    JSON_HEADERS,
    EngineRouting,
    request_body,
    stop_answer_timeout,
)
from swarmd.api._stats import forward_stats
from swarmd.api.errors import DockerError, bad_request, not_found
from swarmd.api.hijack import hijack
from swarmd.api.listfilters import ContainerFilter, parse_container_filters
from swarmd.api.proxy import copy_response_head, forward_headers, relay_body
from swarmd.engine import EngineError

#: What follows C{/containers/NAME} in the paths whose answer is a long
#: stream of small writes (dockerd flushes logs a line at a time).
_LONG_ANSWERS = frozenset(["/logs", "/export", "/archive"])


class ContainerRoutes(EngineRouting):
    """
    C{/containers/...}, C{/exec/...}, C{/commit}.

    @ivar refresh_on_node_filter: C{--refresh-on-node-filter}.
    @ivar container_name_refresh_filter: C{--container-name-refresh-filter}.
    """

    def __init__(self, cluster, clock, refresh_on_node_filter=False,
                 container_name_refresh_filter=""):
        """
        @param refresh_on_node_filter: re-read the containers of the nodes a
            container list's C{node} filter names before answering.
        @param container_name_refresh_filter: re-read every node's containers
            before answering a container list whose C{name} filter is this.
        """
        EngineRouting.__init__(self, cluster, clock)
        self.refresh_on_node_filter = refresh_on_node_filter
        self.container_name_refresh_filter = container_name_refresh_filter
        self._last_list: tuple[tuple[bytes, ...], bytes] = ((), b"[]\n")
        #: The unfiltered list (C{docker ps -a}), kept up to date by changes.
        self._whole_list = KeptList()

    def containers_json(self, request, version=None):
        filters = parse_container_filters(arg(request, "filters"))
        stale = self._engines_to_refresh(filters)
        if not stale:
            return self._container_list(request, filters)
        d = DeferredList([engine.refresh_containers() for engine in stale], consumeErrors=True)
        return d.addCallback(lambda _: self._container_list(request, filters))

    def _engines_to_refresh(self, filters):
        """
        The engines whose containers a list asks to re-read first: the
        nodes its C{node} filter names (C{--refresh-on-node-filter}), or all
        healthy ones when its C{name} filter is the
        C{--container-name-refresh-filter} value (classic Swarm's two knobs).
        """
        if self.container_name_refresh_filter and \
                self.container_name_refresh_filter in filters.get("name", ()):
            return self.cluster.healthy_engines()
        if not self.refresh_on_node_filter or not filters.get("node"):
            return []
        wanted = set(filters["node"])
        return [engine for engine in self.cluster.healthy_engines()
                if engine.name in wanted or engine.id in wanted]

    def _container_list(self, request, filters):
        show_all = bool_arg(request, "all")
        limit = int_arg(request, "limit", -1)
        predicate = ContainerFilter(filters, self.cluster.container)
        # As dockerd: a limit (docker ps -n / -l) counts stopped containers too.
        if predicate.wants_stopped or limit > 0:
            show_all = True
        now = self.clock.seconds()
        containers = self.cluster.containers
        ordered = getattr(containers, "newest_first", None)
        if ordered is None:
            ordered = sorted(containers, key=lambda c: c.created, reverse=True)
        else:
            ordered = ordered()
        request.setHeader(b"Content-Type", b"application/json")
        if show_all and not filters:
            if limit <= 0 and isinstance(ordered, list):
                return self._whole_list.answer(ordered, now)
            chosen = ordered
        else:
            chosen = self._chosen(ordered, show_all, filters, predicate)
        if limit > 0:
            chosen = chosen[:limit]
        return self._list_body([c.listing_parts(now) for c in chosen])

    def _list_body(self, entries):
        """
        Join encoded entries (C{(head, tail)} pairs) into a list answer;
        the last answer is kept and served again while its entries are the
        same objects (at 30,000 containers the answer is 25 MB: building it
        is most of a list).
        """
        # Kept as a tuple: one of tuples of bytes only is untracked by the
        # cyclic collector once it has seen it (the pairs, then the tuple),
        # where a list of 150,000 entries would be walked by every full
        # collection for as long as it is kept.
        entries = tuple(entries)
        last_entries, last_body = self._last_list
        if entries == last_entries:
            # Entries are compared by identity first: unchanged ones are
            # the very bytes objects of the last list.
            return last_body
        body = join_entries(entries)
        self._last_list = (entries, body)
        return body

    @staticmethod
    def _chosen(ordered, show_all, filters, predicate):
        chosen = []
        for container in ordered:
            if not show_all:
                if not container.running:
                    continue
                image = (container.info.get("Config") or {}).get("Image", "")
                if image.split(":")[0] == "swarm":
                    continue
            if filters and not predicate(container):
                continue
            chosen.append(container)
        return chosen

    def container_json(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        if not engine.healthy:
            raise DockerError(500, "Container %s running on unhealthy node %s" % (
                name, engine.name))
        if engine.is_fresh(container.id):
            # Events keep the cache exact: no need to ask the engine.
            request.setHeader(b"Content-Type", b"application/json")
            return container.inspect_bytes()
        return self._live_inspect(request, name, container)

    @inlineCallbacks
    def _live_inspect(self, request, name, container):
        engine = container.engine
        try:
            fresh = yield engine.refresh_container(container.id)
        except EngineError as e:
            if e.status == 404:
                raise not_found("No such container: %s" % (name,)) from None
            raise
        if fresh is None:
            raise not_found("No such container: %s" % (name,))
        request.setHeader(b"Content-Type", b"application/json")
        return fresh.inspect_bytes()

    @inlineCallbacks
    def containers_create(self, request, version=None):
        from swarmd.scheduler import ContainerConfig, ExpressionError

        name = arg(request, "name") or None
        # The fields the manager reads have Docker's types from here on.
        body = check_create_body(read_json_value(request))
        # node/name networks and volumes pin the container to that node.
        body = pin_create_body(body, list(self.cluster.engines.values()))
        try:
            config = ContainerConfig.from_create_body(body, name)
        except ExpressionError as e:
            raise bad_request(str(e)) from None
        auth = request.getHeader(b"X-Registry-Auth")
        engine, answer = yield self.cluster.create_container(config, auth)
        return json_answer(request, {"Id": answer["Id"],
                                     "Warnings": answer.get("Warnings") or []}, 201)

    @inlineCallbacks
    def container_start(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        yield engine.api.start_container(container.id)
        yield self._refresh(engine, container.id)
        request.setResponseCode(204)
        return b""

    @inlineCallbacks
    def container_delete(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        yield engine.api.remove_container(
            container.id, force=bool_arg(request, "force"), volumes=bool_arg(request, "v"))
        engine.forget_container(container.id)
        request.setResponseCode(204)
        return b""

    def proxy_container(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        if action == "/stats":
            # Named /node/name in the answer, as docker ps lists it.
            return forward_stats(self, request, container, version)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version,
                             long=action in _LONG_ANSWERS)

    def proxy_container_refresh(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        timeout = ANSWER_TIMEOUT
        if action in ("/stop", "/restart"):
            timeout = stop_answer_timeout(request, container)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version,
                             refresh=container.id, timeout=timeout)

    def hijack_container(self, request, name, version=None):
        container = self._container(name)
        path = self._engine_path(container.engine, version, "/containers/%s%s" % (
            container.id, self._action(request, name)), request)
        body = request.content.read() if request.content is not None else b""
        return ensureDeferred(hijack(request, container.engine, path, body))

    @inlineCallbacks
    def container_rename(self, request, name, version=None):
        container = self._container(name)
        new = (arg(request, "name") or "").lstrip("/")
        if not new:
            raise bad_request("rename needs the new name: ?name=...")
        if new == container.name:
            raise DockerError(409, 'Renaming a container with the same name as its current '
                                   'name')
        self.cluster.check_name(new)
        release = self.cluster.reserve_name(new)
        try:
            yield self._forward(request, container.engine, "/containers/%s/rename" % (
                container.id,), version, refresh=container.id)
        finally:
            release()
        return None

    @inlineCallbacks
    def container_exec(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        body = read_json(request)
        answer = yield self._engine_json(
            engine, "POST", "/containers/%s/exec" % (container.id,), version,
            body=json.dumps(body).encode("utf-8"), headers=JSON_HEADERS)
        self.cluster.remember_exec(answer["Id"], engine)
        return json_answer(request, answer, 201)

    def _exec_engine(self, execid):
        engine = self.cluster.exec_engine(execid)
        if engine is None:
            raise not_found("No such exec instance: %s" % (execid,))
        return engine

    def exec_start(self, request, execid, version=None):
        engine = self._exec_engine(execid)
        body = read_json(request, required=False)
        path = "/exec/%s/start" % (execid,)
        if body.get("Detach"):
            return self._forward(request, engine, path, version)
        raw = json.dumps(body).encode("utf-8")
        return ensureDeferred(hijack(request, engine,
                                     self._engine_path(engine, version, path, request), raw))

    def proxy_exec(self, request, execid, version=None):
        engine = self._exec_engine(execid)
        path = request.path.decode("utf-8", "replace")
        action = path[path.find("/exec/" + execid) + len("/exec/" + execid):]
        return self._forward(request, engine, "/exec/%s%s" % (execid, action), version)

    @inlineCallbacks
    def commit(self, request, version=None):
        reference = arg(request, "container")
        if not reference:
            raise bad_request("commit needs a container: ?container=...")
        container = self._container(reference)
        query = request.uri.partition(b"?")[2].decode("latin-1")
        query = "&".join(part for part in query.split("&")
                         if not part.startswith("container="))
        query += "&container=" + container.id
        engine = container.engine
        target = self._engine_path(engine, version, "/commit", query=query.encode("latin-1"))
        response = yield engine.api.request(
            b"POST", target, forward_headers(request), request_body(request, self.clock),
            timeout=600.0)
        copy_response_head(request, response)
        yield relay_body(request, response, self.clock)
        if response.code < 300:
            yield engine.refresh_list("images")
        return None

    @inlineCallbacks
    def containers_prune(self, request, version=None):
        query = request.uri.partition(b"?")[2]
        engines = self.cluster.healthy_engines()
        answers = yield self._fan_out(engines, "POST", "/containers/prune", version, query)
        deleted: list[Any] = []
        reclaimed = 0
        for engine, answer in answers:
            deleted.extend((answer or {}).get("ContainersDeleted") or [])
            reclaimed += (answer or {}).get("SpaceReclaimed") or 0
            yield engine.refresh_containers()
        return json_answer(request, {"ContainersDeleted": deleted or None,
                                     "SpaceReclaimed": reclaimed})
