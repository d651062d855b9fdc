"""
The networking of a fake engine: the three networks every engine has, the
bridge's container addresses and the host ports containers publish.
"""

from swarmd.testing._fake_errors import server_error

#: The default bridge, as on a stock engine.
BRIDGE_SUBNET = ("172.17.0.0/16", "172.17.0.1")

#: Where ephemeral host ports start (the kernel's default range).
EPHEMERAL_START = 32768


def _network(name, id, driver, created, subnet=None, options=None):
    config = [{"Subnet": subnet[0], "Gateway": subnet[1]}] if subnet else []
    return {
        "Name": name, "Id": id, "Created": created, "Scope": "local", "Driver": driver,
        "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": config},
        "Internal": False, "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
        "Options": options or {}, "Labels": {},
    }


def default_networks(new_id, created):
    """
    @param new_id: called for each network's ID.
    @param created: their C{Created} time (RFC 3339).
    @return: C{{name: network}} for C{host}, C{bridge} and C{none}, as
        C{GET /networks} shows them.
    """
    return {
        "host": _network("host", new_id(), "host", created),
        "bridge": _network("bridge", new_id(), "bridge", created, BRIDGE_SUBNET, {
            "com.docker.network.bridge.default_bridge": "true",
            "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": "docker0",
            "com.docker.network.driver.mtu": "1500",
        }),
        "none": _network("none", new_id(), "null", created),
    }


class Addresses:
    """
    The bridge addresses and host ports in use on one engine.

    @ivar port_conflicts: refuse a host port already published (see
        L{FakeEngine}).
    """

    def __init__(self, port_conflicts=True):
        self.port_conflicts = port_conflicts
        self._ips = set()
        self._host_ports = {}

    def allocate_ip(self):
        """
        @return: the lowest free bridge address (C{172.17.0.2} first).
        """
        number = 2
        while number in self._ips:
            number += 1
        self._ips.add(number)
        return "172.17.%d.%d" % (number // 256, number % 256)

    def _taken(self, host_ip, number, proto):
        for ip, port, kind in self._host_ports:
            if port == number and kind == proto and (not ip or not host_ip or ip == host_ip):
                return True
        return False

    def bind_ports(self, container):
        """
        Publish a starting container's ports.

        @return: C{{"80/tcp": [{"HostIp": ..., "HostPort": ...}]}}; an empty
            host IP is shown as C{0.0.0.0} and C{::}, as dockerd does.
        @raise FakeAPIError: dockerd's 500 when a host port is taken.
        """
        wanted = dict(container.host_config.get("PortBindings") or {})
        if container.host_config.get("PublishAllPorts"):
            for key in container.config.get("ExposedPorts") or {}:
                wanted.setdefault(key, [{"HostIp": "", "HostPort": ""}])
        if not wanted or container.network != "bridge":
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
                            % (container.name, container.endpoint, host_ip or "0.0.0.0",
                               number))
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
        Free a stopped container's address and ports.
        """
        if container.ip is not None:
            parts = container.ip.split(".")
            self._ips.discard(int(parts[2]) * 256 + int(parts[3]))
            container.ip = None
        for item in [k for k, v in self._host_ports.items() if v == container.id]:
            del self._host_ports[item]
        container.ports = None
