"""
Builders of realistic Docker dicts and scheduler L{Node}s, sample nodes and
create requests, and a fake strategy and filter, for the scheduler's tests::

    web = inspect_container("web", ports={"80/tcp": "8080"}, labels={"tier": "front"})
    node = make_node("n1", containers=[web], labels={"storage": "ssd"})
"""

from __future__ import annotations

import hashlib

from zope.interface import implementer

from swarmd.scheduler import (
    ContainerConfig,
    IFilter,
    IStrategy,
    Node,
    NoResources,
)

__all__ = [
    "GIB",
    "SAMPLE_BODIES",
    "FakeFilter",
    "FakeStrategy",
    "image_summary",
    "inspect_container",
    "make_node",
    "sample_configs",
    "sample_nodes",
]

GIB = 1024 ** 3


def _hex_id(seed):
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _bindings(spec):
    """
    C{{"80/tcp": "8080"}} or C{{"80/tcp": [("127.0.0.1", "8080")]}} as
    Docker's C{PortBindings} / C{NetworkSettings.Ports}.
    """
    result = {}
    for key, value in (spec or {}).items():
        if isinstance(value, (str, int)):
            value = [("", str(value))]
        result[key] = [{"HostIp": ip, "HostPort": port} for ip, port in value]
    return result


def inspect_container(name, *, id=None, image="busybox", image_id=None, labels=None,
                      env=(), cpu_shares=0, memory=0, ports=None, published=None,
                      exposed=(), network_mode="default", links=(), volumes_from=(),
                      running=True):
    """
    A Docker inspect dict, with the keys the scheduler reads and the usual
    others around them.

    @param name: the container name (without C{/}).
    @param id: its ID (derived from C{name} by default).
    @param cpu_shares: C{HostConfig.CpuShares} as the engine holds them.
    @param memory: C{HostConfig.Memory} in bytes.
    @param ports: requested bindings, C{{"80/tcp": "8080"}} or
        C{{"80/tcp": [(host_ip, host_port), ...]}} (C{HostConfig.PortBindings}).
    @param published: actual bindings (C{NetworkSettings.Ports}); by default
        the requested ones with C{0.0.0.0} when running, none when stopped.
    @param exposed: exposed port keys besides those of C{ports}.
    @param running: C{State.Running}.
    @return: a C{dict}.
    """
    container_id = id or _hex_id("container:" + name)
    bindings = _bindings(ports)
    if published is None:
        published = {key: [{"HostIp": b["HostIp"] or "0.0.0.0", "HostPort": b["HostPort"]}
                           for b in value] for key, value in bindings.items()} if running else {}
    else:
        published = _bindings(published)
    exposed_ports = {key: {} for key in list(bindings) + list(exposed)}
    return {
        "Id": container_id,
        "Created": "2024-05-01T10:00:00.000000000Z",
        "Path": "sleep",
        "Args": ["1000"],
        "State": {"Status": "running" if running else "exited", "Running": running,
                  "Paused": False, "Restarting": False, "Pid": 4242 if running else 0,
                  "ExitCode": 0, "StartedAt": "2024-05-01T10:00:01.000000000Z",
                  "FinishedAt": "0001-01-01T00:00:00Z"},
        "Image": image_id or "sha256:" + _hex_id("image:" + image),
        "Name": "/" + name,
        "RestartCount": 0,
        "Driver": "overlay2",
        "HostConfig": {
            "CpuShares": cpu_shares,
            "Memory": memory,
            "NetworkMode": network_mode,
            "PortBindings": bindings,
            "Links": list(links) or None,
            "VolumesFrom": list(volumes_from) or None,
            "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        },
        "Config": {
            "Hostname": container_id[:12],
            "Image": image,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                    *env],
            "Cmd": ["sleep", "1000"],
            "Labels": dict(labels or {}),
            "ExposedPorts": exposed_ports or None,
        },
        "NetworkSettings": {
            "Ports": published,
            "IPAddress": "172.17.0.2" if running else "",
        },
    }


def image_summary(reference, *, id=None, digests=()):
    """
    A C{GET /images/json} entry.

    @param reference: C{"repo:tag"} (C{":latest"} added when missing).
    """
    if reference.rfind(":") <= reference.rfind("/"):
        reference += ":latest"
    repository = reference.rsplit(":", 1)[0]
    return {
        "Id": id or "sha256:" + _hex_id("image:" + repository),
        "RepoTags": [reference],
        "RepoDigests": list(digests),
        "Created": 1714557600,
        "Size": 2000000,
        "Labels": None,
    }


def make_node(name, *, id=None, addr=None, ip=None, labels=None, cpus=4, memory=8 * GIB,
              overcommit=0.0, containers=(), images=(), healthy=True, health_indicator=None):
    """
    A L{Node} with sensible defaults: 4 CPUs, 8 GiB, healthy, the built-in
    labels of a Linux engine.

    @param overcommit: applied to CPUs and memory for the totals.
    """
    from swarmd.scheduler import apply_overcommit

    addr = addr or "127.0.0.1:%d" % (2375 + sum(map(ord, name)) % 1000,)
    builtins = {"storagedriver": "overlay2", "kernelversion": "6.1.0-18-amd64",
                "operatingsystem": "Debian GNU/Linux 12 (bookworm)", "ostype": "linux"}
    builtins.update(labels or {})
    extra = {} if ip is None else {"ip": ip}
    return Node(
        id=id or "%s|%s" % (_hex_id("engine:" + name)[:36].upper(), addr),
        name=name, addr=addr, labels=builtins,
        total_cpus=apply_overcommit(cpus, overcommit),
        total_memory=apply_overcommit(memory, overcommit),
        cpus=cpus, containers=list(containers), images=list(images), healthy=healthy,
        health_indicator=(100 if healthy else 0) if health_indicator is None
        else health_indicator,
        **extra)


# -- fakes ----------------------------------------------------------------------------


@implementer(IFilter)
class FakeFilter:
    """
    A filter whose verdicts the test chooses.

    @ivar calls: C{(config, [node names], soft)} for each call of C{filter}.
    """

    def __init__(self, name="fake", keep=None, soft_keep=None, texts=()):
        """
        @param keep: node -> bool, the nodes kept (all by default).
        @param soft_keep: node -> bool, further nodes dropped when C{soft}.
        @param texts: what C{expressions} returns.
        """
        self.name = name
        self._keep = keep or (lambda node: True)
        self._soft_keep = soft_keep
        self._texts = list(texts)
        self.calls = []

    def filter(self, config, nodes, soft):
        self.calls.append((config, [n.name for n in nodes], soft))
        return [n for n in nodes if self._keep(n)
                and (not soft or self._soft_keep is None or self._soft_keep(n))]

    def expressions(self, config):
        return list(self._texts)


@implementer(IStrategy)
class FakeStrategy:
    """
    A strategy ranking by a key the test chooses.

    @ivar calls: C{(config, [node names])} for each call of C{rank}.
    """

    def __init__(self, name="fake", key=None, fits=None):
        """
        @param key: node -> sort key, lowest first (node name by default).
        @param fits: (config, node) -> bool, the nodes with room (all by
            default).
        """
        self.name = name
        self._key = key or (lambda node: node.name)
        self._fits = fits or (lambda config, node: True)
        self.calls = []

    def rank(self, config, nodes):
        self.calls.append((config, [n.name for n in nodes]))
        ranked = sorted((n for n in nodes if self._fits(config, n)), key=self._key)
        if not ranked:
            raise NoResources()
        return ranked


# -- samples --------------------------------------------------------------------------


def sample_nodes():
    """
    Fresh sample nodes: n1 (ssd, web on 8080, redis image), n2 (hdd, db,
    shares n1's IP), n3 (full: containerslots=1), n4 (unhealthy), n5 (big,
    host-network container exposing 9000).
    """
    return [
        make_node("n1", addr="127.0.0.1:23751", labels={"storage": "ssd", "zone": "a"},
                  containers=[inspect_container("web", ports={"80/tcp": "8080"},
                                                labels={"tier": "front"},
                                                cpu_shares=512, memory=GIB)],
                  images=[image_summary("busybox"), image_summary("redis:7")]),
        make_node("n2", addr="unix:///run/n2/docker.sock", labels={"storage": "hdd"},
                  containers=[inspect_container("db", labels={"tier": "back"},
                                                memory=2 * GIB, running=False)],
                  images=[image_summary("busybox")]),
        make_node("n3", addr="10.78.3.2:2375", labels={"containerslots": "1", "zone": "b"},
                  containers=[inspect_container("cache", image="redis:7")],
                  images=[image_summary("redis:7")]),
        make_node("n4", addr="10.78.4.2:2375", labels={"storage": "ssd"}, healthy=False),
        make_node("n5", addr="10.78.5.2:2375", cpus=16, memory=64 * GIB,
                  containers=[inspect_container("agent", network_mode="host",
                                                exposed=("9000/tcp",))]),
    ]


#: Create bodies using every kind of condition, by description.
SAMPLE_BODIES = {
    "plain": {"Image": "busybox"},
    "hard constraint": {"Image": "busybox", "Env": ["constraint:storage==ssd"]},
    "soft constraint": {"Image": "busybox", "Env": ["constraint:zone==~b"]},
    "node constraint": {"Image": "busybox", "Env": ["constraint:node!=n1"]},
    "impossible": {"Image": "busybox", "Env": ["constraint:storage==nvme"]},
    "container affinity": {"Image": "busybox", "Env": ["affinity:container==web"]},
    "anti-affinity": {"Image": "busybox", "Env": ["affinity:container!=/web|db/"]},
    "soft image affinity": {"Image": "redis", "Env": ["affinity:image==~redis"]},
    "label affinity": {"Image": "busybox", "Env": ["affinity:tier==back"]},
    "whitelist": {"Image": "busybox", "Env": ["whitelist:node==n2|n3|n5"]},
    "bridge port": {"Image": "busybox",
                    "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}},
    "host port": {"Image": "busybox", "ExposedPorts": {"9000/tcp": {}},
                  "HostConfig": {"NetworkMode": "host"}},
    "link": {"Image": "busybox", "HostConfig": {"Links": ["db:database"]}},
    "volumes-from": {"Image": "busybox", "HostConfig": {"VolumesFrom": ["cache:ro"]}},
    "resources": {"Image": "busybox", "HostConfig": {"CpuShares": 2, "Memory": 4 * GIB}},
    "too big": {"Image": "busybox", "HostConfig": {"CpuShares": 64}},
}


def sample_configs():
    """
    @return: C{(description, ContainerConfig)} for each of L{SAMPLE_BODIES}.
    """
    return [(what, ContainerConfig.from_create_body(body, "new"))
            for what, body in SAMPLE_BODIES.items()]
