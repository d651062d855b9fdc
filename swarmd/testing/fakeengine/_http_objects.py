"""
The network and volume routes of L{swarmd.testing.fakeengine._http.FakeEngineAPI}
(a mixin), and their route table.
"""

from swarmd.testing.fakeengine._filters import Filters
from swarmd.testing.fakeengine._http_util import (
    _answer,
    _arg,
    _bool,
    _no_content,
    _read_struct,
)

_MAP = ("object", "map[string]string")

#: The fields of C{POST /networks/create} (C{types.NetworkCreateRequest}).
NETWORK_CREATE_FIELDS = {
    "Name": ("string", "string"), "CheckDuplicate": ("bool", "bool"),
    "Driver": ("string", "string"), "Scope": ("string", "string"),
    "EnableIPv6": ("bool", "bool"), "IPAM": ("object", "network.IPAM"),
    "Internal": ("bool", "bool"), "Attachable": ("bool", "bool"), "Ingress": ("bool", "bool"),
    "ConfigOnly": ("bool", "bool"), "Options": _MAP, "Labels": _MAP,
}

#: The fields of C{POST /networks/{id}/connect} (C{types.NetworkConnect}).
NETWORK_CONNECT_FIELDS = {"Container": ("string", "string"),
                          "EndpointConfig": ("object", "network.EndpointSettings")}

#: The fields of C{POST /networks/{id}/disconnect} (C{types.NetworkDisconnect}).
NETWORK_DISCONNECT_FIELDS = {"Container": ("string", "string"), "Force": ("bool", "bool")}

#: The fields of C{POST /volumes/create} (C{volume.VolumeCreateBody}).
VOLUME_CREATE_FIELDS = {"Name": ("string", "string"), "Driver": ("string", "string"),
                        "DriverOpts": _MAP, "Labels": _MAP}


class ObjectRoutes:
    """
    Handlers of the network and volume routes.
    """

    # -- networks -----------------------------------------------------------------------

    def network_inspect(self, request, name):
        return _answer(request, self.engine.inspect_network(name, _arg(request, "scope")))

    def networks_create(self, request):
        body = _read_struct(request, "NetworkCreateRequest", NETWORK_CREATE_FIELDS)
        return _answer(request, self.engine.create_network(body), 201)

    def network_connect(self, request, name):
        body = _read_struct(request, "NetworkConnect", NETWORK_CONNECT_FIELDS)
        self.engine.connect_network(name, body.get("Container") or "",
                                    body.get("EndpointConfig"))
        return _no_content(request, 200)

    def network_disconnect(self, request, name):
        body = _read_struct(request, "NetworkDisconnect", NETWORK_DISCONNECT_FIELDS)
        self.engine.disconnect_network(name, body.get("Container") or "",
                                       bool(body.get("Force")))
        return _no_content(request, 200)

    def network_remove(self, request, name):
        self.engine.remove_network(name)
        return _no_content(request)

    def networks_prune(self, request):
        filters = Filters.parse(_arg(request, "filters"))
        return _answer(request, self.engine.prune_networks(filters))

    # -- volumes ------------------------------------------------------------------------

    def volumes_create(self, request):
        body = _read_struct(request, "VolumeCreateBody", VOLUME_CREATE_FIELDS)
        volume = self.engine.create_volume(body.get("Name"), body.get("Driver"),
                                           body.get("Labels"), body.get("DriverOpts"))
        return _answer(request, volume, 201)

    def volume_inspect(self, request, name):
        return _answer(request, self.engine.inspect_volume(name))

    def volume_remove(self, request, name):
        self.engine.remove_volume(name, force=_bool(request, "force"))
        return _no_content(request)

    def volumes_prune(self, request):
        filters = Filters.parse(_arg(request, "filters"))
        return _answer(request, self.engine.prune_volumes(filters))


#: The routes: method, path (also served under C{/vX.Y}), handler.
OBJECT_ROUTES = (
    ("POST", "/networks/create", "networks_create"),
    ("POST", "/networks/prune", "networks_prune"),
    ("POST", "/networks/<path:name>/connect", "network_connect"),
    ("POST", "/networks/<path:name>/disconnect", "network_disconnect"),
    ("GET", "/networks/<path:name>", "network_inspect"),
    ("DELETE", "/networks/<path:name>", "network_remove"),
    ("POST", "/volumes/create", "volumes_create"),
    ("POST", "/volumes/prune", "volumes_prune"),
    ("GET", "/volumes/<path:name>", "volume_inspect"),
    ("DELETE", "/volumes/<path:name>", "volume_remove"),
)
