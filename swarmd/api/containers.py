"""
Container routes: listing and inspecting from the cluster, creation by the
scheduler, everything else on the container's engine.
"""

from twisted.internet.defer import ensureDeferred, inlineCallbacks

from swarmd.api._helpers import arg, bool_arg, int_arg, json_answer, read_json
from swarmd.api._routing import EngineRouting
from swarmd.api.errors import DockerError, bad_request, not_found
from swarmd.api.hijack import hijack
from swarmd.api.listfilters import CONTAINER_FILTERS, ContainerFilter, parse_filters
from swarmd.cluster.engine import HEALTHY
from swarmd.engine import EngineError


class ContainerRoutes(EngineRouting):
    """
    C{/containers/...}
    """

    def containers_json(self, request, version=None):
        show_all = bool_arg(request, "all")
        limit = int_arg(request, "limit", -1)
        filters = parse_filters(arg(request, "filters"), CONTAINER_FILTERS)
        predicate = ContainerFilter(filters, self.cluster.container)
        if predicate.wants_stopped:
            show_all = True
        now = self.clock.seconds()
        chosen = []
        for container in self.cluster.containers:
            if not show_all and not container.running:
                continue
            image = (container.info.get("Config") or {}).get("Image", "")
            if not show_all and image.split(":")[0] == "swarm":
                continue
            if not predicate(container):
                continue
            chosen.append(container)
        chosen.sort(key=lambda c: c.created, reverse=True)
        if limit > 0:
            chosen = chosen[:limit]
        answer = []
        for container in chosen:
            engine = container.engine
            summary = container.summary(now)
            summary["Names"] = ["/" + engine.name + name for name in summary["Names"]]
            for port in summary["Ports"]:
                if port.get("IP") == "0.0.0.0":
                    port["IP"] = engine.ip
            if engine.state != HEALTHY:
                summary["Status"] = "Host Down"
            answer.append(summary)
        return json_answer(request, answer)

    @inlineCallbacks
    def container_json(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        if not engine.healthy:
            raise DockerError(500, "Container %s running on unhealthy node %s" % (
                name, engine.name))
        try:
            info = yield engine.track(engine.client.inspect_container(container.id))
        except EngineError as e:
            if e.status == 404:
                engine.forget_container(container.id)
                raise not_found("No such container: %s" % (name,)) from None
            raise
        info["Node"] = {
            "ID": engine.id, "IP": engine.ip, "Addr": engine.address, "Name": engine.name,
            "Cpus": engine.cpus, "Memory": engine.memory, "Labels": engine.labels,
        }
        ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
        for bindings in ports.values():
            for binding in bindings or []:
                if binding.get("HostIp") == "0.0.0.0":
                    binding["HostIp"] = engine.ip
        return json_answer(request, info)

    @inlineCallbacks
    def containers_create(self, request, version=None):
        from swarmd.scheduler import ContainerConfig, ExpressionError

        name = arg(request, "name") or None
        body = read_json(request)
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
        yield engine.track(engine.client.start_container(container.id))
        yield self._refresh(engine, container.id)
        request.setResponseCode(204)
        return b""

    @inlineCallbacks
    def container_delete(self, request, name, version=None):
        container = self._container(name)
        engine = container.engine
        yield engine.track(engine.client.remove_container(
            container.id, force=bool_arg(request, "force"), volumes=bool_arg(request, "v")))
        engine.forget_container(container.id)
        request.setResponseCode(204)
        return b""

    def proxy_container(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version)

    def proxy_container_refresh(self, request, name, version=None):
        container = self._container(name)
        action = self._action(request, name)
        return self._forward(request, container.engine,
                             "/containers/%s%s" % (container.id, action), version,
                             refresh=container.id)

    def hijack_container(self, request, name, version=None):
        container = self._container(name)
        path = self._engine_path(container.engine, version, "/containers/%s%s" % (
            container.id, self._action(request, name)), request)
        body = request.content.read() if request.content is not None else b""
        return ensureDeferred(hijack(request, container.engine, path, body))
