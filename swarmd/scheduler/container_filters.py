"""
Filters on what a node runs: affinities (containers, images, container
labels), dependencies (C{--volumes-from}, C{--link}, C{--net=container:})
and host ports.
"""

from __future__ import annotations

from zope.interface import implementer

from swarmd.scheduler._index import ViewIndex, keep
from swarmd.scheduler._interfaces import IFilter
from swarmd.scheduler.node import ALL_INTERFACES, parse_port_key
from swarmd.scheduler.node_filters import active

__all__ = ["AffinityFilter", "DependencyFilter", "PortFilter", "port_requests"]


def _image_keys(node):
    """
    What a plain image affinity looks up: the node's image references
    (shared by many nodes, so few keys).
    """
    return node.image_refs


def _affinity_answer(node, question):
    """
    Whether C{node} holds a container answering to C{question}: C{("container",
    ID or name)} or C{(label key, value)}.
    """
    key, value = question
    if key == "container":
        return value in node.container_refs
    return value in node.container_label_values(key)


@implementer(IFilter)
class AffinityFilter:
    """
    Keeps nodes satisfying every affinity: C{container} matches the IDs and
    names of the node's containers, C{image} its images (ID, C{repo:tag},
    repository, digest), any other key the values of that label on its
    containers.  C{!=} is anti-affinity: none may match.
    """

    name = "affinity"

    def __init__(self):
        self._index = ViewIndex(keys_of=_image_keys, ask=_affinity_answer)

    def filter(self, config, nodes, soft):
        kept = list(nodes)
        index = self._index
        affinities = active(config.affinities, soft)
        if any(a.literal is not None for a in affinities):
            index.track(kept)
        # One pass per affinity over the nodes the previous ones kept; a
        # plain value (the usual case) is looked up in the index.
        for affinity in affinities:
            if not kept:
                break
            key, test, literal = affinity.key, affinity.test, affinity.literal
            if literal is not None:
                if key == "image":
                    ids = index.having(literal)
                else:
                    ids = index.answering((key, literal))
                kept = keep(kept, ids, affinity.negated)
            elif key == "container":
                kept = [node for node in kept if test(node.container_refs)]
            elif key == "image":
                kept = [node for node in kept if test(node.image_refs)]
            else:
                kept = [node for node in kept if test(node.container_label_values(key))]
        return kept

    def expressions(self, config):
        # Classic Swarm: "container==web (soft=true)".
        return [e.condition(show_soft=True) for e in config.affinities]


def _dependencies(config):
    """
    @return: C{(flag, value, container)} for each container C{config}
        depends on.
    """
    host_config = config.body.get("HostConfig") or {}
    found = []
    for volume in host_config.get("VolumesFrom") or ():
        found.append(("--volumes-from", volume, volume.split(":", 1)[0]))
    for link in host_config.get("Links") or ():
        found.append(("--link", link, link.split(":", 1)[0]))
    mode = host_config.get("NetworkMode") or ""
    if mode.startswith("container:"):
        found.append(("--net", mode, mode[len("container:"):]))
    return found


@implementer(IFilter)
class DependencyFilter:
    """
    Keeps nodes that hold every container the new one depends on, and every
    named volume it mounts that only some nodes hold (see
    L{swarmd.scheduler.ContainerConfig.locate_volumes}).
    """

    name = "dependency"

    def filter(self, config, nodes, soft):
        wanted = [reference for _, _, reference in _dependencies(config)]
        volumes = [ids for ids, _ in (config.volume_nodes or {}).values()]
        if not wanted and not volumes:
            return list(nodes)
        return [node for node in nodes
                if all(node.id in ids for ids in volumes)
                and all(node.has_container(reference) for reference in wanted)]

    def expressions(self, config):
        texts = ["%s=%s" % (flag, value) for flag, value, _ in _dependencies(config)]
        texts.extend("volume=%s (on %s)" % (name, ",".join(names))
                     for name, (_, names) in (config.volume_nodes or {}).items())
        return texts


def _port_range(text):
    """
    @return: a C{range} of host ports for C{"8080"} or C{"8000-8010"}, or
        L{None} for an empty (dynamic) or malformed one.
    """
    if isinstance(text, int):
        return range(text, text + 1)
    first, dash, last = (text or "").strip().partition("-")
    if not first.isdigit() or (dash and not last.isdigit()):
        return None
    first = int(first)
    last = int(last) if dash else first
    return range(first, last + 1) if first <= last else None


def port_requests(config):
    """
    The host ports C{config} needs.

    On the host network these are its exposed ports, on every interface;
    otherwise the host ports of C{HostConfig.PortBindings} (dynamic ones,
    with no C{HostPort}, need nothing).

    @return: a C{list} of C{(text, protocol, ports, address)}: C{text} for
        error messages, C{ports} a C{range} of which one must be free,
        C{address} the host IP (L{ALL_INTERFACES} for all).
    """
    body = config.body
    host_config = body.get("HostConfig") or {}
    requests = []
    if host_config.get("NetworkMode") == "host":
        for key in body.get("ExposedPorts") or {}:
            parsed = parse_port_key(key)
            if parsed is not None:
                protocol, port = parsed
                requests.append(("port %s (Host mode)" % (key,), protocol,
                                 range(port, port + 1), ALL_INTERFACES))
        return requests
    for key, bindings in (host_config.get("PortBindings") or {}).items():
        parsed = parse_port_key(key)
        protocol = parsed[0] if parsed else "tcp"
        for binding in bindings or ():
            host_port = binding.get("HostPort")
            ports = _port_range(host_port)
            if ports is not None:
                requests.append(("port %s (Bridge mode)" % (host_port,), protocol, ports,
                                 binding.get("HostIp") or ALL_INTERFACES))
    return requests


def _port_keys(node):
    """
    What the port filter looks up: C{("port", protocol, port)} for each
    host port the node holds, and C{("ip", its IP)}.
    """
    keys: list[tuple] = [("port", protocol, port) for protocol, port in node.host_ports]
    keys.append(("ip", node.ip))
    return keys


@implementer(IFilter)
class PortFilter:
    """
    Keeps nodes where every requested host port is free.

    A port is taken by any container (running, stopped or being created)
    binding it on the same address, or on every interface, or asking for
    every interface; a container on the host network takes its exposed
    ports.  Nodes with the same L{Node.ip} are one host: a port taken on one
    of them is taken on all of them.  For a range (C{8000-8010:80}) one free
    port is enough.
    """

    name = "port"

    def __init__(self):
        self._index = ViewIndex(keys_of=_port_keys)

    def filter(self, config, nodes, soft):
        requests = port_requests(config)
        if not requests:
            return list(nodes)
        index = self._index
        index.track(nodes)
        # Only nodes holding one of the ports asked for (any of them, for a
        # range) can refuse: find those first.
        if all(len(ports) == 1 for _, _, ports, _ in requests):
            holding = [index.having(("port", protocol, ports[0]))
                       for _, protocol, ports, _ in requests]
            suspects = keep(nodes, holding[0] if len(holding) == 1 else set().union(*holding))
        else:
            suspects = [node for node in nodes if node.host_ports]
        blocked = set()
        for node in suspects:
            if node.ip in blocked:
                continue
            for _, protocol, ports, address in requests:
                if all(node.port_taken(protocol, port, address) for port in ports):
                    blocked.add(node.ip)
                    break
        if not blocked:
            return list(nodes)
        return keep(nodes, set().union(*(index.having(("ip", ip)) for ip in blocked)),
                    negated=True)

    def expressions(self, config):
        return [text for text, _, _, _ in port_requests(config)]
