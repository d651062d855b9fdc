"""
L{NetworkOps}: what the network routes do to a L{FakeEngine}, with
dockerd 20.10's answers, statuses, messages and events (checked against a
lab engine): create, inspect, connect, disconnect, remove and prune.

Only running containers have endpoints: they are what a network's
C{Containers} lists and what keeps it from being removed or pruned.  A
container that is not running is connected and disconnected in its
configuration only (no event), as dockerd does.
"""

from swarmd.testing.fakeengine._errors import (
    bad_request,
    conflict,
    forbidden,
    not_found,
    server_error,
)
from swarmd.testing.fakeengine._network import Attachment, FakeNetwork, next_subnet
from swarmd.testing.fakeengine._time import NANO, parse_until

#: Filters C{POST /networks/prune} accepts.
NETWORK_PRUNE_FILTERS = frozenset({"label", "label!", "until"})

_HOST_CONFLICT = "container cannot be disconnected from host network or connected to host network"
_NONE_CONFLICT = ("container cannot be connected to multiple networks with one of the networks "
                  "in private (none) mode")
_SHARED_CONFLICT = ("container sharing network namespace with another container or host "
                    "cannot be connected to any other network")


def labels_match(filters, labels):
    """
    dockerd's C{matchLabels} of prune filters: every C{label} (C{k} or
    C{k=v}) present, no C{label!} present.
    """
    labels = labels or {}

    def present(item):
        key, sep, value = item.partition("=")
        return key in labels and (not sep or labels[key] == value)

    if not all(present(item) for item in filters.get("label")):
        return False
    return not any(present(item) for item in filters.get("label!"))


class NetworkOps:
    """
    The network operations of L{swarmd.testing.fakeengine._engine.FakeEngine}
    (a mixin: it uses the engine's C{networks}, C{containers}, C{find},
    C{_hex}, C{_emit} and clock).
    """

    # -- finding ----------------------------------------------------------------------

    def _networks_named(self, name):
        return [n for n in self.networks.values() if n.name == name]

    def network_by_name(self, name):
        """
        @return: the (first) L{FakeNetwork} called C{name}, or L{None}.
        """
        for network in self.networks.values():
            if network.name == name:
                return network
        return None

    def find_network(self, term):
        """
        dockerd's C{FindNetwork}: full ID, then a unique name, then a unique
        ID prefix.

        @return: the L{FakeNetwork}.
        @raise FakeAPIError: 404 C{network X not found}; 400 when ambiguous.
        """
        network = self.networks.get(term)
        if network is not None:
            return network
        by_name = self._networks_named(term)
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise bad_request("network %s is ambiguous (%d matches found on name)"
                              % (term, len(by_name)))
        by_prefix = [n for n in self.networks.values() if term and n.id.startswith(term)]
        if len(by_prefix) == 1:
            return by_prefix[0]
        if len(by_prefix) > 1:
            raise bad_request("network %s is ambiguous (%d matches found based on ID prefix)"
                              % (term, len(by_prefix)))
        raise not_found("network %s not found" % (term,))

    # -- list, inspect ----------------------------------------------------------------

    def list_networks(self):
        """
        @return: C{GET /networks} (no C{Containers}, as dockerd lists them).
        """
        return [n.inspect() for n in self.networks.values()]

    def endpoints(self, network):
        """
        @return: C{{container id: endpoint}} of the running containers on
            C{network}, as its inspect shows them.
        """
        result = {}
        for container in self.containers.values():
            if not container.running:
                continue
            attachment = container.networks.get(network.name)
            if attachment is None or attachment.network_id != network.id:
                continue
            entry = attachment.entry()
            result[container.id] = {
                "Name": container.name, "EndpointID": entry["EndpointID"],
                "MacAddress": entry["MacAddress"],
                "IPv4Address": "%s/%d" % (attachment.ip, attachment.prefix)
                if attachment.ip else "",
                "IPv6Address": "",
            }
        return result

    def inspect_network(self, term, scope=None):
        """
        C{GET /networks/{id}}: its router's own lookup (full ID, unique
        name, unique ID prefix).

        @param scope: C{local}, C{swarm} or C{global}: a network of another
            scope is not found.
        @raise FakeAPIError: 404, or 400 when ambiguous.
        """
        network = self.networks.get(term)
        if network is None:
            by_name = self._networks_named(term)
            by_prefix = [n for n in self.networks.values() if term and n.id.startswith(term)]
            if len(by_name) > 1:
                raise bad_request("%d matches found based on name: network %s is ambiguous"
                                  % (len(by_name), term))
            if by_name:
                network = by_name[0]
            elif len(by_prefix) > 1:
                raise bad_request("%d matches found based on ID prefix: network %s is "
                                  "ambiguous" % (len(by_prefix), term))
            elif by_prefix:
                network = by_prefix[0]
        if network is None or (scope and scope != network.scope):
            raise not_found("network %s not found" % (term,))
        return network.inspect(self.endpoints(network))

    # -- create -----------------------------------------------------------------------

    def create_network(self, body):
        """
        C{POST /networks/create}.

        @param body: the decoded request (C{Name}, C{CheckDuplicate},
            C{Driver}, C{Labels}, C{Options}, C{IPAM}, C{Internal},
            C{Attachable}, C{EnableIPv6}).
        @return: C{{"Id": ..., "Warning": ...}}.
        @raise FakeAPIError: as dockerd (403 predefined name or a second
            host/null network, 409 duplicate with C{CheckDuplicate}, 404
            unknown driver, 500 empty name or overlay outside a swarm).
        """
        name = body.get("Name") or ""
        if name in ("bridge", "host", "none", "default"):
            raise forbidden("operation is not permitted on predefined %s network " % (name,))
        warning = ""
        existing = self.network_by_name(name) if name else None
        if existing is not None:
            if body.get("CheckDuplicate"):
                raise conflict("network with name %s already exists" % (name,))
            warning = "Network with name %s (id : %s) already exists" % (name, existing.id)
        driver = body.get("Driver") or "bridge"
        if driver in ("host", "null"):
            raise forbidden('only one instance of "%s" network is allowed' % (driver,))
        if driver == "overlay":
            raise server_error('This node is not a swarm manager. Use "docker swarm init" or '
                               '"docker swarm join" to connect this node to swarm and try '
                               'again.')
        if driver != "bridge":
            raise not_found('plugin "%s" not found' % (driver,))
        if not name:
            raise server_error("invalid name: ")
        ipam = body.get("IPAM") or {}
        configs = [dict(c) for c in ipam.get("Config") or [] if isinstance(c, dict)]
        subnet = gateway = None
        shown = None
        if configs:
            shown = configs
            subnet = configs[0].get("Subnet")
            gateway = configs[0].get("Gateway")
        else:
            subnet = next_subnet(self.networks.values())
        network = FakeNetwork(
            self._hex(), name, driver, self._now_ns(), subnet, gateway,
            labels=body.get("Labels"), options=body.get("Options"),
            internal=bool(body.get("Internal")), attachable=bool(body.get("Attachable")),
            ingress=bool(body.get("Ingress")), enable_ipv6=bool(body.get("EnableIPv6")),
            ipam=shown, ipam_options=ipam.get("Options"))
        self.networks[network.id] = network
        self._network_emit(network, "create")
        return {"Id": network.id, "Warning": warning}

    def _network_emit(self, network, action, container=None):
        attributes = {"name": network.name, "type": network.driver}
        if container is not None:
            attributes = {"container": container, "name": network.name,
                          "type": network.driver}
        self._emit("network", action, network.id, attributes)

    # -- connect, disconnect ----------------------------------------------------------

    def _container_for_network(self, reference):
        if not reference:
            raise bad_request('invalid name or ID supplied: ""')
        return self.find(reference)

    def connect_network(self, term, reference, endpoint_config=None):
        """
        C{POST /networks/{id}/connect}.

        @param reference: the container's name or ID.
        @param endpoint_config: the request's C{EndpointConfig}.
        @raise FakeAPIError: as dockerd (404 unknown container or network,
            400 host/none conflicts and aliases on a default network, 403
            already connected while running).
        """
        container = self._container_for_network(reference)
        endpoint_config = endpoint_config or {}
        try:
            network = self.find_network(term)
        except Exception:
            if container.running:
                raise
            # dockerd keeps a stopped container's setting as given.
            self._attach(container, term, endpoint_config.get("Aliases"))
            return
        aliases = list(endpoint_config.get("Aliases") or [])
        if network.predefined:
            if aliases:
                raise bad_request("network-scoped alias is supported only for containers in "
                                  "user defined networks")
        elif container.id[:12] not in aliases:
            aliases.append(container.id[:12])
        mode_network = self.network_by_name(container.network)
        mode_driver = mode_network.driver if mode_network is not None else "null"
        if mode_driver != "host" and network.driver == "host":
            raise bad_request(_HOST_CONFLICT)
        for name in container.networks:
            if name == network.name:
                if container.running:
                    raise forbidden("endpoint with name %s already exists in network %s"
                                    % (container.name, network.name))
                return
            other = self.network_by_name(name)
            if other is None:
                continue
            if other.driver == "host" or network.driver == "host":
                raise bad_request(_SHARED_CONFLICT)
            if other.name == "none" or network.name == "none":
                raise bad_request(_NONE_CONFLICT)
        attachment = self._attach(container, network.name, aliases)
        if container.running:
            self._plug(container, network, attachment)

    def _attach(self, container, name, aliases):
        attachment = Attachment(aliases or None)
        container.networks[name] = attachment
        return attachment

    def _plug(self, container, network, attachment):
        """
        Give a running container its endpoint on C{network} (the connect
        event included).
        """
        attachment.network_id = network.id
        attachment.endpoint = self._hex()
        attachment.ip = network.allocate()
        attachment.gateway = network.gateway
        attachment.prefix = network.prefix
        self._network_emit(network, "connect", container.id)

    def _unplug(self, container, network, attachment):
        """
        Take a container's endpoint off C{network} (the disconnect event
        included).
        """
        network.release(attachment.ip)
        attachment.ip = None
        attachment.endpoint = None
        attachment.gateway = ""
        self._network_emit(network, "disconnect", container.id)

    def disconnect_network(self, term, reference, force=False):
        """
        C{POST /networks/{id}/disconnect}.

        @raise FakeAPIError: as dockerd (404 unknown container, or with
            C{force} an unknown endpoint; 500 when not connected).
        """
        if not reference:
            raise bad_request('invalid name or ID supplied: ""')
        try:
            container = self.find(reference)
        except Exception:
            if not force:
                raise
            self.find_network(term)
            raise not_found("endpoint %s not found" % (reference,)) from None
        try:
            network = self.find_network(term)
        except Exception:
            network = None
            if container.running:
                raise
        if not container.running:
            for name in list(container.networks):
                if name == term or (network is not None and name == network.name):
                    del container.networks[name]
                    return
            raise server_error("container %s is not connected to the network %s"
                               % (container.id, term))
        if network.driver == "host" and container.network == network.name:
            raise bad_request(_HOST_CONFLICT)
        attachment = container.networks.get(network.name)
        if attachment is None or attachment.network_id != network.id:
            raise server_error("container %s is not connected to network %s"
                               % (container.id, network.name))
        del container.networks[network.name]
        self._unplug(container, network, attachment)

    # -- remove, prune ----------------------------------------------------------------

    def remove_network(self, term):
        """
        C{DELETE /networks/{id}}.

        @raise FakeAPIError: 404 unknown, 400 ambiguous, 403 predefined or
            with running containers on it.
        """
        network = self.find_network(term)
        if network.predefined:
            raise forbidden("%s is a pre-defined network and cannot be removed"
                            % (network.name,))
        if self.endpoints(network):
            raise forbidden("error while removing network: network %s id %s has active "
                            "endpoints" % (network.name, network.id))
        del self.networks[network.id]
        self._network_emit(network, "destroy")

    def prune_networks(self, filters):
        """
        C{POST /networks/prune}: every network that is not predefined and
        has no running container, within the filters.

        @param filters: validated here (C{label}, C{label!}, C{until}).
        @return: C{{"NetworksDeleted": [names] or None}}.
        """
        filters.check_keys(NETWORK_PRUNE_FILTERS)
        until = None
        for value in filters.get("until"):
            until = parse_until(value, self.clock.seconds())
        deleted = []
        for network in list(self.networks.values()):
            if network.predefined or self.endpoints(network):
                continue
            if until is not None and network.created > until * NANO:
                continue
            if not labels_match(filters, network.labels):
                continue
            del self.networks[network.id]
            self._network_emit(network, "destroy")
            deleted.append(network.name)
        self._emit("network", "prune", "", {"reclaimed": "0"})
        return {"NetworksDeleted": deleted or None}


__all__ = ["NETWORK_PRUNE_FILTERS", "NetworkOps", "labels_match"]

