"""
The fields of a container create body that the manager reads, checked in
one place against the types Docker's API declares for them.

dockerd decodes a create body into Go structs (C{runconfig.ContainerConfigWrapper},
C{container.HostConfig}, C{nat.PortBinding}, ...), and a value of the wrong
JSON type stops it with Go's C{json: cannot unmarshal ...} text.  The
manager reads a few of those fields itself (to place the container: ports,
links, resources, labels, networks, volumes; to list it: its command), so
it checks them first, the way Go would, and answers a wrong type with a 400 whose message is Go's
(dockerd gives the same text with a 500).  What Go accepts, the check
accepts: C{null} anywhere is Go's zero value (C{"PortBindings":
{"80/tcp": [null]}} is one binding with no host port).

L{check_create_body} also gives the manager's readers a body they can
trust: a C{null} inside a list or map the manager reads becomes the zero
value Go would have decoded (C{""}, C{{}}), which is the same body for the
engine.  Every other field, and every field the manager does not read, is
passed through unchanged.
"""

from swarmd.api.errors import bad_request

#: A Go C{int64}'s range.
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


class _Field:
    """
    One Go type: its name in Go's messages, and how to check a value.

    @ivar go: the type as Go names it (C{"nat.PortMap"}).
    @ivar kind: C{"string"}, C{"int64"}, C{"list"}, C{"map"}, C{"struct"},
        C{"strslice"} (a string or an array of strings).
    @ivar item: the L{_Field} of a list's items or a map's values.
    @ivar fields: a struct's fields the manager reads, by JSON name.
    @ivar struct: a struct's name in Go's messages (C{"HostConfig"}).
    @ivar zero: what a C{null} item of a list (or value of a map) of this
        type becomes, or L{None} to leave it.
    """

    def __init__(self, go, kind, item=None, fields=None, struct=None):
        self.go = go
        self.kind = kind
        self.item = item
        self.fields = fields or {}
        self.struct = struct

    def zero(self):
        if self.kind == "string":
            return ""
        if self.kind == "struct":
            return {}
        return None


def _string(go="string"):
    return _Field(go, "string")


def _int64():
    return _Field("int64", "int64")


def _strings():
    return _Field("[]string", "list", item=_string())


def _strslice():
    # strslice.StrSlice: a string, or an array of strings.
    return _Field("string", "strslice", item=_string())


def _struct(go, struct, **fields):
    return _Field(go, "struct", fields=fields, struct=struct)


_PORT_BINDING = _struct("nat.PortBinding", "PortBinding", HostIp=_string(),
                        HostPort=_string())

_MOUNT = _struct("mount.Mount", "Mount", Type=_string("mount.Type"), Source=_string())

_HOST_CONFIG = _struct(
    "container.HostConfig", "HostConfig",
    CpuShares=_int64(),
    Memory=_int64(),
    PortBindings=_Field("nat.PortMap", "map", item=_Field(
        "[]nat.PortBinding", "list", item=_PORT_BINDING)),
    NetworkMode=_string("container.NetworkMode"),
    Links=_strings(),
    VolumesFrom=_strings(),
    Binds=_strings(),
    Mounts=_Field("[]mount.Mount", "list", item=_MOUNT),
)

_NETWORKING_CONFIG = _struct(
    "network.NetworkingConfig", "NetworkingConfig",
    EndpointsConfig=_Field("map[string]*network.EndpointSettings", "map",
                           item=_struct("network.EndpointSettings", "EndpointSettings")),
)

#: The create body: the fields the manager reads, with Go's types.
CREATE_BODY = _struct(
    "runconfig.ContainerConfigWrapper", "ContainerConfigWrapper",
    Image=_string(),
    Labels=_Field("map[string]string", "map", item=_string()),
    Env=_strings(),
    Cmd=_strslice(),
    Entrypoint=_strslice(),
    ExposedPorts=_Field("nat.PortSet", "map", item=_struct("struct {}", "struct {}")),
    Memory=_int64(),
    CpuShares=_int64(),
    HostConfig=_HOST_CONFIG,
    NetworkingConfig=_NETWORKING_CONFIG,
)


def _json_kind(value):
    """
    @return: the JSON kind of C{value} as Go's messages name it.
    """
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


class _TypeError(Exception):
    """
    A value of the wrong type: Go's C{UnmarshalTypeError}.
    """

    def __init__(self, value, go, struct, path):
        Exception.__init__(self, value, go, struct, path)
        self.value = value
        self.go = go
        self.struct = struct
        self.path = path

    def message(self):
        if self.struct is None:
            return "json: cannot unmarshal %s into Go value of type %s" % (self.value, self.go)
        return "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
            self.value, self.struct, ".".join(self.path), self.go)


def _check(value, field, struct, path):
    """
    Check C{value} against C{field}; C{null} items of its lists and maps
    become their zero value (in place).

    @param struct: the name of the Go struct holding the field, L{None} at
        the top.
    @param path: the JSON names from the top to the field.
    @raise _TypeError: at the first wrong type, in document order.
    """
    if value is None:
        return
    kind = field.kind
    if kind == "string":
        if not isinstance(value, str):
            raise _TypeError(_json_kind(value), field.go, struct, path)
    elif kind == "int64":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _TypeError(_json_kind(value), field.go, struct, path)
        if not isinstance(value, int) or not _INT64[0] <= value <= _INT64[1]:
            raise _TypeError("number %s" % (value,), field.go, struct, path)
    elif kind == "strslice":
        if isinstance(value, list):
            for index, element in enumerate(value):
                if element is None:
                    value[index] = ""
                elif not isinstance(element, str):
                    # Go tried []string, then string: the array is what failed.
                    raise _TypeError("array", field.go, struct, path)
        elif not isinstance(value, str):
            raise _TypeError(_json_kind(value), field.go, struct, path)
    elif kind == "list":
        if not isinstance(value, list):
            raise _TypeError(_json_kind(value), field.go, struct, path)
        item = field.item
        for index, element in enumerate(value):
            if element is None:
                zero = item.zero()
                if zero is not None:
                    value[index] = zero
                continue
            _check(element, item, struct, path)
    elif kind == "map":
        if not isinstance(value, dict):
            raise _TypeError(_json_kind(value), field.go, struct, path)
        item = field.item
        for key, element in value.items():
            if element is None:
                zero = item.zero()
                if zero is not None and item.kind == "string":
                    value[key] = zero
                continue
            _check(element, item, struct, path)
    elif kind == "struct":
        if not isinstance(value, dict):
            raise _TypeError(_json_kind(value), field.go, struct, path)
        for key, element in value.items():
            inner = field.fields.get(key)
            if inner is not None:
                _check(element, inner, field.struct, path + (key,))


def check_create_body(body):
    """
    Check the fields of a create body the manager reads.

    @param body: the decoded JSON body (changed in place: C{null} items of
        the lists and maps the manager reads become Go's zero values).
    @return: C{body}.
    @raise DockerError: 400 with Go's message for a value of the wrong type,
        or dockerd's message for an empty link or C{--volumes-from}.
    """
    if body is None:
        raise bad_request("Config cannot be empty in order to create a container")
    try:
        _check(body, CREATE_BODY, None, ())
    except _TypeError as e:
        raise bad_request(e.message()) from None
    host_config = body.get("HostConfig") or {}
    if "" in (host_config.get("VolumesFrom") or ()):
        raise bad_request("volumes-from specification cannot be an empty string")
    if "" in (host_config.get("Links") or ()):
        raise bad_request("empty string specified for links")
    return body
