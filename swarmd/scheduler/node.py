"""
L{Node}: the scheduler's read-only view of one engine for one decision.

What the filters and strategies ask of a node (CPUs and memory in use, the
names of its containers, the host ports they hold, its image references) is
worked out from its containers and images on first use and kept, so a
decision walks each node's containers at most once whatever the filters.
"""

from __future__ import annotations

import re
from functools import cached_property

import attr

from swarmd.address import address_host as host_ip
from swarmd.scheduler.config import named_volumes

__all__ = [
    "ALL_INTERFACES",
    "SWARM_ID_LABEL",
    "Node",
    "apply_overcommit",
    "host_ip",
    "parse_port_key",
]

#: The label holding the swarm ID the manager gives every container it
#: creates (kept by a rescheduled copy); the one place it is spelt.
SWARM_ID_LABEL = "com.docker.swarm.id"

#: How a binding on every interface (C{""}, C{"0.0.0.0"}, C{"::"}) is
#: recorded in L{Node.host_ports}.
ALL_INTERFACES = ""

_ANY_ADDRESS = frozenset(["", "0.0.0.0", "::"])  # noqa: S104 (names, not binds)


def apply_overcommit(value, overcommit):
    """
    Classic Swarm's overcommit: C{value + value * int(overcommit * 100) / 100}
    in integer arithmetic (Go truncates the division toward zero).

    @param value: CPUs or bytes of memory of an engine.
    @param overcommit: the C{swarm.overcommit} fraction, e.g. C{0.05}.
    @return: the C{int} the scheduler may reserve.
    """
    ratio = int(overcommit * 100)
    extra = abs(value * ratio) // 100
    return value + (extra if value * ratio >= 0 else -extra)


_PORT_KEYS: dict[str, tuple[str, int] | None] = {}


def parse_port_key(key):
    """
    Split a Docker port key.

    @param key: C{"80/tcp"}, C{"53/udp"} or C{"80"} (TCP).
    @return: C{(protocol, port)} with C{port} an C{int}, or L{None} when the
        key is not a single port.
    """
    try:
        return _PORT_KEYS[key]
    except (KeyError, TypeError):
        pass
    port, _, protocol = str(key).partition("/")
    parsed = ((protocol or "tcp").lower(), int(port)) if port.isdigit() else None
    if isinstance(key, str) and len(_PORT_KEYS) < 4096:
        _PORT_KEYS[key] = parsed
    return parsed


_HOST_PORTS: dict[str, int | None] = {}


def _host_port(text):
    """
    @return: the C{int} port of a C{HostPort}, or L{None} for an empty,
        ranged or malformed one.
    """
    if isinstance(text, int):
        return text
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _bindings_into(held, ports):
    """
    Record C{PortBindings} / C{NetworkSettings.Ports} entries in C{held}.
    """
    keys, numbers = _PORT_KEYS, _HOST_PORTS
    for key, bindings in ports.items():
        if not bindings:
            continue
        parsed = keys[key] if key in keys else parse_port_key(key)
        protocol = parsed[0] if parsed else "tcp"
        for binding in bindings:
            text = binding.get("HostPort")
            if not text:
                continue
            if text in numbers:
                port = numbers[text]
            else:
                port = _host_port(text)
                if len(numbers) < 65536:
                    numbers[text] = port
            if port is None:
                continue
            address = binding.get("HostIp") or ALL_INTERFACES
            if address in _ANY_ADDRESS:
                address = ALL_INTERFACES
            entry = held.get((protocol, port))
            if entry is None:
                held[(protocol, port)] = {address}
            else:
                entry.add(address)


def _ports_of(containers):
    """
    @return: the L{Node.host_ports} index of C{containers}.
    """
    held: dict = {}
    for container in containers:
        host_config = container.get("HostConfig")
        if host_config:
            bindings = host_config.get("PortBindings")
            if bindings:
                _bindings_into(held, bindings)
            if host_config.get("NetworkMode") == "host":
                exposed = (container.get("Config") or {}).get("ExposedPorts") or {}
                for key in exposed:
                    parsed = parse_port_key(key)
                    if parsed is not None:
                        held.setdefault(parsed, set()).add(ALL_INTERFACES)
        settings = container.get("NetworkSettings")
        if settings:
            published = settings.get("Ports")
            if published:
                _bindings_into(held, published)
    return held


def _usage_of(containers, engine_cpus):
    """
    @return: C{(CPUs, bytes)} reserved by C{containers}.
    """
    used_cpus = used_memory = 0
    for container in containers:
        host_config = container.get("HostConfig")
        if host_config:
            shares = host_config.get("CpuShares")
            if shares:
                used_cpus += shares * engine_cpus // 1024
            memory = host_config.get("Memory")
            if memory:
                used_memory += memory
    return used_cpus, used_memory


def _references_of(containers):
    """
    @return: C{(IDs, names)} of C{containers}, as sets.
    """
    ids, names = set(), set()
    for container in containers:
        container_id = container.get("Id")
        if container_id:
            ids.add(container_id)
        name = container.get("Name")
        if name:
            names.add(name[1:] if name[0] == "/" else name)
        summary_names = container.get("Names")
        if summary_names:
            names.update(other.rsplit("/", 1)[-1] for other in summary_names)
    return ids, names


def _swarm_ids_of(containers):
    swarm_ids = set()
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels")
        if labels:
            swarm_id = labels.get(SWARM_ID_LABEL)
            if swarm_id:
                swarm_ids.add(swarm_id)
    return swarm_ids


def _label_values_of(containers, key):
    values = set()
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels")
        if labels:
            value = labels.get(key)
            if value is not None:
                values.add(value)
    return values


def _mounted_volumes_of(containers):
    """
    @return: the C{set} of the names of the local volumes C{containers}
        mount: C{Mounts} of an inspect answer, or, for a container being
        created, the named sources of its C{HostConfig.Binds} and volume
        C{Mounts}.
    """
    names = set()
    for container in containers:
        mounts = container.get("Mounts")
        if mounts:
            for mount in mounts:
                if (isinstance(mount, dict) and mount.get("Type") == "volume"
                        and mount.get("Name") and (mount.get("Driver") or "local") == "local"):
                    names.add(mount["Name"])
        elif container.get("_pending"):
            names.update(named_volumes(container))
    return names


#: What each cached value of a L{Node} is worked out from.
_CACHE_INPUTS = {
    "volume_names": ("volumes", "containers"),
    "_usage": ("containers", "cpus"),
    "used_cpus": ("containers", "cpus"),
    "used_memory": ("containers",),
    "slots": ("labels",),
    "_references": ("containers",),
    "container_refs": ("containers",),
    "_swarm_ids": ("containers",),
    "_label_values": ("containers",),
    "image_refs": ("images",),
    "host_ports": ("containers",),
    "spread_order": ("health_indicator", "containers"),
    "binpack_order": ("health_indicator", "containers"),
}

_SLOTS = re.compile(r"[+-]?[0-9]+\Z")


def _repository(reference):
    """
    C{"repo:tag"} or C{"repo@digest"} without its tag or digest.
    """
    if "@" in reference:
        return reference.split("@", 1)[0]
    colon = reference.rfind(":")
    return reference[:colon] if colon > reference.rfind("/") else reference


@attr.s(auto_attribs=True, kw_only=True, eq=False)
class Node:
    """
    One engine as the scheduler sees it.

    Containers are Docker inspect dicts (the engine's and the ones being
    created on it); the keys read are C{Id}, C{Name}, C{Config} (C{Labels},
    C{ExposedPorts}), C{HostConfig} (C{CpuShares}, C{Memory},
    C{PortBindings}, C{NetworkMode}) and C{NetworkSettings.Ports}.  A
    container being created should carry the C{HostConfig} of
    L{swarmd.scheduler.ContainerConfig.engine_body}, so its CPU shares count
    like those of the engine's own containers.

    Views are read-only: the derived values are computed once, on first
    use.  L{with_container} (one more container) and L{evolve} (other field
    values) give new views that keep what is still valid, so a cluster can
    keep one view per engine between decisions and pay only for what
    changed.

    @ivar id: engine ID, C{"<docker info ID>|<addr>"}.
    @ivar name: engine name (C{docker info} Name).
    @ivar addr: engine address.
    @ivar ip: the engine's host IP: nodes with the same IP share host ports.
    @ivar labels: engine labels and the built-ins (C{storagedriver},
        C{kernelversion}, C{operatingsystem}, C{ostype}, ...).
    @ivar total_cpus: CPUs, overcommit included.
    @ivar total_memory: bytes of memory, overcommit included.
    @ivar containers: a C{list} of inspect dicts.
    @ivar images: a C{list} of C{/images/json} entries.
    @ivar healthy: whether the engine is healthy.
    @ivar health_indicator: 0 to 100, classic Swarm's health indicator.
    @ivar cpus: the engine's own CPU count (C{NCPU}), used to turn CPU
        shares back into CPUs; defaults to C{total_cpus}.
    @ivar volumes: the C{frozenset} of the names of the engine's volumes
        that exist on it alone (local scope).
    """

    id: str
    name: str
    addr: str
    ip: str = attr.Factory(lambda self: host_ip(self.addr), takes_self=True)
    labels: dict = attr.Factory(dict)
    total_cpus: int = 0
    total_memory: int = 0
    containers: list = attr.ib(factory=list, repr=False)
    images: list = attr.ib(factory=list, repr=False)
    healthy: bool = True
    health_indicator: int = 100
    cpus: int = attr.Factory(lambda self: self.total_cpus, takes_self=True)
    volumes: frozenset = frozenset()

    # -- resources ----------------------------------------------------------------

    @cached_property
    def _usage(self):
        return _usage_of(self.containers, self.cpus)

    @cached_property
    def used_cpus(self):
        """
        CPUs reserved by all containers (any state, pending included): each
        container's C{CpuShares * cpus / 1024}, rounded down as classic.
        """
        return self._usage[0]

    @cached_property
    def used_memory(self):
        """
        Bytes of memory reserved by all containers (C{HostConfig.Memory}).
        """
        return self._usage[1]

    @cached_property
    def spread_order(self):
        """
        Where spread ranks this node for a container asking for neither
        CPUs nor memory (lowest first): healthiest, then fewest containers.
        Kept with the view, which never changes (see
        L{swarmd.scheduler.strategies}).
        """
        return (-self.health_indicator, len(self.containers))

    @cached_property
    def binpack_order(self):
        """
        Where binpack ranks this node for a container asking for neither
        CPUs nor memory (lowest first): healthiest, then most containers.
        """
        return (-self.health_indicator, -len(self.containers))

    @cached_property
    def slots(self):
        """
        The engine label C{containerslots} as an C{int}, or L{None} when it
        is missing or not an integer.
        """
        text = self.labels.get("containerslots")
        if text is None or not _SLOTS.match(text):
            return None
        return int(text)

    # -- containers ---------------------------------------------------------------

    @cached_property
    def _references(self):
        ids, names = _references_of(self.containers)
        return frozenset(ids), frozenset(names)

    @property
    def container_ids(self):
        """
        The C{frozenset} of the IDs of the node's containers.
        """
        return self._references[0]

    @property
    def container_names(self):
        """
        The C{frozenset} of the names (without C{/}) of the node's containers.
        """
        return self._references[1]

    @cached_property
    def container_refs(self):
        """
        IDs and names of the node's containers, what C{affinity:container}
        matches against.
        """
        ids, names = self._references
        return ids | names

    @cached_property
    def _swarm_ids(self):
        return frozenset(_swarm_ids_of(self.containers))

    def has_container(self, reference):
        """
        Whether a container on this node answers to C{reference}, as
        classic Swarm looks containers up: full or 12-digit ID, Swarm ID,
        name, C{/name}, C{<node>/name}, or an ID prefix matching one
        container only.
        """
        if not reference:
            return False
        ids, names = self._references
        name = reference[1:] if reference.startswith("/") else reference
        if reference in ids or name in names:
            return True
        if "/" in name:
            where, _, name = name.partition("/")
            if where in (self.name, self.id) and name in names:
                return True
        swarm_ids = self._swarm_ids
        if reference in swarm_ids or (
                len(reference) == 12 and any(i[:12] == reference for i in swarm_ids)):
            return True
        return sum(1 for i in ids if i.startswith(reference)) == 1

    @cached_property
    def _label_values(self):
        return {}

    def container_label_values(self, key):
        """
        @return: the C{frozenset} of values label C{key} has on this node's
            containers (containers without it are not counted).
        """
        cache = self._label_values
        values = cache.get(key)
        if values is None:
            values = cache[key] = frozenset(_label_values_of(self.containers, key))
        return values

    # -- volumes ------------------------------------------------------------------

    @cached_property
    def volume_names(self):
        """
        The names of the local volumes on this node: L{volumes}, and the
        ones its containers mount (those being created included, whose
        volumes the engine is making).
        """
        return self.volumes | frozenset(_mounted_volumes_of(self.containers))

    # -- images -------------------------------------------------------------------

    @cached_property
    def image_refs(self):
        """
        Everything C{affinity:image} matches against: image IDs (with and
        without C{sha256:}), C{repo:tag}s, repositories and digests.
        """
        refs = set()
        for image in self.images:
            image_id = image.get("Id") or ""
            if image_id:
                refs.add(image_id)
                if image_id.startswith("sha256:"):
                    refs.add(image_id[len("sha256:"):])
            for reference in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
                if reference.startswith("<none>"):
                    continue
                refs.add(reference)
                refs.add(_repository(reference))
        return frozenset(refs)

    # -- ports --------------------------------------------------------------------

    @cached_property
    def host_ports(self):
        """
        Host ports held by the node's containers, running, stopped or being
        created: a C{dict} of C{(protocol, port)} to the C{set} of host IPs
        they are bound on (L{ALL_INTERFACES} for every interface).  Do not
        change it.

        Both C{HostConfig.PortBindings} (what was asked) and
        C{NetworkSettings.Ports} (what was given, dynamic ports included)
        count; a container on the host network holds its exposed ports on
        every interface.
        """
        return _ports_of(self.containers)

    def port_taken(self, protocol, port, address=ALL_INTERFACES):
        """
        Whether a binding of host port C{port}/C{protocol} on C{address}
        would clash with one of this node's containers: same address, or
        either side on every interface.

        @param address: the requested host IP; C{""}, C{"0.0.0.0"} and
            C{"::"} mean every interface.
        """
        held = self.host_ports.get((protocol, port))
        if not held:
            return False
        if address in _ANY_ADDRESS:
            return True
        return ALL_INTERFACES in held or address in held

    # -- copies -------------------------------------------------------------------

    def evolve(self, **changes):
        """
        A copy with some fields changed, keeping whatever this view has
        worked out that the changes leave valid (so a cluster can keep one
        view per engine and only refresh, say, its health).

        @param changes: new values of L{Node} fields.
        @return: a new L{Node}; this one is unchanged.
        """
        node = attr.evolve(self, **changes)
        changed = {name for name, value in changes.items() if value is not getattr(self, name)}
        known, new = self.__dict__, node.__dict__
        for cached, inputs in _CACHE_INPUTS.items():
            if cached in known and changed.isdisjoint(inputs):
                new[cached] = known[cached]
        return node

    def with_container(self, container):
        """
        A view with one more container, e.g. one just placed here.

        What this view has already worked out is carried over and updated
        for the new container alone, so the copy costs little whatever the
        number of containers.

        @param container: an inspect dict.
        @return: a new L{Node}; this one is unchanged.
        """
        node = attr.evolve(self, containers=self.containers + [container])
        known, new = self.__dict__, node.__dict__
        one = [container]
        if "_usage" in known:
            cpus, memory = _usage_of(one, self.cpus)
            new["_usage"] = (known["_usage"][0] + cpus, known["_usage"][1] + memory)
        if "_references" in known:
            ids, names = _references_of(one)
            new["_references"] = (known["_references"][0] | ids,
                                  known["_references"][1] | names)
        if "_swarm_ids" in known:
            new["_swarm_ids"] = known["_swarm_ids"] | _swarm_ids_of(one)
        if "_label_values" in known:
            new["_label_values"] = {key: values | _label_values_of(one, key)
                                    for key, values in known["_label_values"].items()}
        if "host_ports" in known:
            held = dict(known["host_ports"])
            for key, addresses in _ports_of(one).items():
                held[key] = held.get(key, frozenset()) | addresses
            new["host_ports"] = held
        if "volume_names" in known:
            new["volume_names"] = known["volume_names"] | frozenset(_mounted_volumes_of(one))
        for name in ("image_refs", "slots"):
            if name in known:
                new[name] = known[name]
        return node
