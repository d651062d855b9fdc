"""
The networking of a fake engine: its networks (the three every engine has
and the ones made with C{POST /networks/create}), the addresses their
containers get, and the host ports containers publish.
"""

import ipaddress

from swarmd.testing.fakeengine._errors import server_error
from swarmd.testing.fakeengine._time import rfc3339

#: The default bridge, as on a stock engine.
BRIDGE_SUBNET = ("172.17.0.0/16", "172.17.0.1")

#: Where ephemeral host ports start (the kernel's default range).
EPHEMERAL_START = 32768

#: The names of the networks every engine has.
PREDEFINED = ("bridge", "host", "none")

_BRIDGE_OPTIONS = {
    "com.docker.network.bridge.default_bridge": "true",
    "com.docker.network.bridge.enable_icc": "true",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
    "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
    "com.docker.network.bridge.name": "docker0",
    "com.docker.network.driver.mtu": "1500",
}


class FakeNetwork:
    """
    One network of a fake engine.

    @ivar id: 64 hex digits.
    @ivar name: its name (several networks may share one, as on dockerd).
    @ivar created: when it was made, nanoseconds since the epoch.
    @ivar ipam: its C{IPAM.Config} entries.
    """

    __slots__ = ("id", "name", "driver", "created", "scope", "labels", "options", "internal",
                 "attachable", "ingress", "enable_ipv6", "ipam", "ipam_options", "_used",
                 "_subnet")

    def __init__(self, id, name, driver, created, subnet=None, gateway=None, labels=None,
                 options=None, internal=False, attachable=False, ingress=False,
                 enable_ipv6=False, ipam=None, ipam_options=None):
        """
        @param subnet: where its containers' addresses come from
            (C{"10.0.0.0/24"}); L{None} for a network without addresses.
        @param gateway: the subnet's gateway (by default its first address).
        @param ipam: the C{IPAM.Config} to show, if not the subnet's.
        """
        self.id = id
        self.name = name
        self.driver = driver
        self.created = created
        self.scope = "local"
        self.labels = dict(labels or {})
        self.options = dict(options or {})
        self.internal = internal
        self.attachable = attachable
        self.ingress = ingress
        self.enable_ipv6 = enable_ipv6
        self.ipam_options = ipam_options
        self._subnet = None
        self._used = set()
        if subnet is not None:
            network = ipaddress.ip_network(subnet, strict=False)
            if gateway is None:
                gateway = str(network.network_address + 1)
            self._subnet = (network, gateway)
            self._used.add(int(ipaddress.ip_address(gateway)))
        if ipam is None:
            ipam = [{"Subnet": subnet, "Gateway": gateway}] if subnet else []
        self.ipam = ipam

    def __repr__(self):
        return "<FakeNetwork %s %s>" % (self.name, self.id[:12])

    @property
    def predefined(self):
        """
        Whether it is one of the networks every engine has.
        """
        return self.name in PREDEFINED and self.driver in ("bridge", "host", "null") and (
            self.name != "bridge" or "com.docker.network.bridge.default_bridge" in self.options)

    @property
    def gateway(self):
        return self._subnet[1] if self._subnet else ""

    @property
    def prefix(self):
        return self._subnet[0].prefixlen if self._subnet else 0

    def allocate(self):
        """
        @return: its lowest free address, or L{None} for a network without
            addresses.
        """
        if self._subnet is None:
            return None
        network = self._subnet[0]
        number = int(network.network_address) + 1
        last = int(network.broadcast_address)
        while number in self._used:
            number += 1
        if number >= last:
            raise server_error("no available IPv4 addresses on this network's address pools: "
                               "%s (%s)" % (self.name, self.id))
        self._used.add(number)
        return str(ipaddress.ip_address(number))

    def release(self, ip):
        """
        Give an address back.
        """
        if ip:
            self._used.discard(int(ipaddress.ip_address(ip)))

    def inspect(self, containers=None):
        """
        @param containers: C{{id: endpoint dict}} of its running containers,
            or L{None} for the empty C{Containers} of a list entry.
        @return: C{GET /networks/{id}} (or its entry in C{GET /networks}).
        """
        return {
            "Name": self.name, "Id": self.id, "Created": rfc3339(self.created),
            "Scope": self.scope,
            "Driver": self.driver, "EnableIPv6": self.enable_ipv6,
            "IPAM": {"Driver": "default", "Options": self.ipam_options,
                     "Config": [dict(c) for c in self.ipam]},
            "Internal": self.internal, "Attachable": self.attachable, "Ingress": self.ingress,
            "ConfigFrom": {"Network": ""}, "ConfigOnly": False,
            "Containers": containers or {}, "Options": dict(self.options),
            "Labels": dict(self.labels),
        }


class Attachment:
    """
    A container's place on one network: what its C{NetworkSettings.Networks}
    entry shows.

    @ivar network_id: the network's ID once the container was started on
        it (C{""} before, as dockerd shows).
    @ivar endpoint: the endpoint ID while running, else L{None}.
    @ivar ip: the address while running, else L{None}.
    """

    __slots__ = ("network_id", "endpoint", "ip", "aliases", "gateway", "prefix")

    def __init__(self, aliases=None):
        self.network_id = ""
        self.endpoint = None
        self.ip = None
        self.aliases = aliases
        self.gateway = ""
        self.prefix = 0

    def entry(self):
        """
        @return: its C{NetworkSettings.Networks} value.
        """
        running = self.endpoint is not None
        return {
            "IPAMConfig": None, "Links": None,
            "Aliases": list(self.aliases) if self.aliases else None,
            "NetworkID": self.network_id, "EndpointID": self.endpoint or "",
            "Gateway": self.gateway if running else "",
            "IPAddress": self.ip or "", "IPPrefixLen": self.prefix if self.ip else 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "MacAddress": mac_address(self.ip) if self.ip else "", "DriverOpts": None,
        }


def mac_address(ip):
    """
    The MAC address Docker derives from an IPv4 address (C{02:42} + its
    bytes).
    """
    parts = [int(p) for p in ip.split(".")]
    return "02:42:" + ":".join("%02x" % (p,) for p in parts)


def default_networks(new_id, created):
    """
    @param new_id: called for each network's ID.
    @param created: their creation time, nanoseconds since the epoch.
    @return: C{{id: FakeNetwork}} for C{bridge}, C{host} and C{none}.
    """
    networks = [
        FakeNetwork(new_id(), "bridge", "bridge", created, BRIDGE_SUBNET[0], BRIDGE_SUBNET[1],
                    options=_BRIDGE_OPTIONS),
        FakeNetwork(new_id(), "host", "host", created),
        FakeNetwork(new_id(), "none", "null", created),
    ]
    return {n.id: n for n in networks}


def next_subnet(networks):
    """
    The pool dockerd takes a new bridge network's subnet from: the first of
    C{172.18.0.0/16} ... C{172.31.0.0/16}, then C{192.168.0.0/20} ...
    C{192.168.240.0/20}, that no network uses.

    @param networks: the engine's L{FakeNetwork}s.
    @return: the subnet (C{str}).
    @raise FakeAPIError: when every pool is used, as dockerd.
    """
    used = set()
    for network in networks:
        for config in network.ipam:
            if config.get("Subnet"):
                used.add(ipaddress.ip_network(config["Subnet"], strict=False))
    candidates = ["172.%d.0.0/16" % (i,) for i in range(18, 32)] + [
        "192.168.%d.0/20" % (i * 16,) for i in range(16)]
    for candidate in candidates:
        subnet = ipaddress.ip_network(candidate)
        if not any(subnet.overlaps(u) for u in used):
            return candidate
    raise server_error("could not find an available, non-overlapping IPv4 address pool among "
                       "the defaults to assign to the network")


class Addresses:
    """
    The host ports in use on one engine.

    @ivar port_conflicts: refuse a host port already published (see
        L{FakeEngine}).
    """

    def __init__(self, port_conflicts=True):
        self.port_conflicts = port_conflicts
        self._host_ports = {}

    def _taken(self, host_ip, number, proto):
        for ip, port, kind in self._host_ports:
            if port == number and kind == proto and (not ip or not host_ip or ip == host_ip):
                return True
        return False

    def bind_ports(self, container, endpoint):
        """
        Publish a starting container's ports.

        @param endpoint: its endpoint ID on its bridge (for the message of a
            taken port).
        @return: C{{"80/tcp": [{"HostIp": ..., "HostPort": ...}]}}; an empty
            host IP is shown as C{0.0.0.0} and C{::}, as dockerd does.
        @raise FakeAPIError: dockerd's 500 when a host port is taken.
        """
        wanted = dict(container.host_config.get("PortBindings") or {})
        if container.host_config.get("PublishAllPorts"):
            for key in container.config.get("ExposedPorts") or {}:
                wanted.setdefault(key, [{"HostIp": "", "HostPort": ""}])
        if not wanted:
            return {}
        result = {}
        taken = []
        for key, bindings in wanted.items():
            proto = key.partition("/")[2] or "tcp"
            for binding in bindings or [{}]:
                host_ip = binding.get("HostIp") or ""
                port = binding.get("HostPort") or ""
                if port:
                    number = int(str(port).split("-")[0])
                    if self.port_conflicts and self._taken(host_ip, number, proto):
                        for item in taken:
                            self._host_ports.pop(item, None)
                        raise server_error(
                            "driver failed programming external connectivity on endpoint "
                            "%s (%s): Bind for %s:%d failed: port is already allocated"
                            % (container.name, endpoint, host_ip or "0.0.0.0", number))
                else:
                    number = EPHEMERAL_START
                    while self._taken(host_ip, number, proto):
                        number += 1
                item = (host_ip, number, proto)
                taken.append(item)
                self._host_ports[item] = container.id
                for ip in ([host_ip] if host_ip else ["0.0.0.0", "::"]):
                    result.setdefault(key, []).append({"HostIp": ip, "HostPort": str(number)})
        return result

    def release(self, container):
        """
        Free a stopped container's host ports.
        """
        for item in [k for k, v in self._host_ports.items() if v == container.id]:
            del self._host_ports[item]
        container.ports = None
