"""
Hostile and malformed requests for the manager's API, as Hypothesis
strategies, and the properties every answer must have.

Used by C{tests/unit/test_fuzz.py} (a few examples of each, derandomized)
and by C{bench/fuzz.py} (long random runs, in memory or against a running
manager).

The properties (L{problems}):
  - no answer carries Python's own text (a traceback, an exception's
    message such as C{'NoneType' object has no attribute 'get'});
  - no 500 is an internal error (an incident: an exception the manager did
    not expect);
  - every error answer is Docker's JSON C{{"message": "..."}};
  - the manager still answers C{/_ping} right after.
"""

import json
import re
from urllib.parse import quote

from hypothesis import strategies as st

#: Text that only Python writes: what must never reach a client.
PYTHON_TEXT = re.compile(
    r"Traceback \(most recent call last\)|object has no attribute|NoneType|unhashable"
    r"|maximum recursion depth|not subscriptable|is not iterable|object is not"
    r"|positional argument|unexpected keyword argument|invalid literal for int"
    r"|codec can't (?:de|en)code|\b(?:Key|Type|Attribute|Value|Index|Unicode\w*|Recursion"
    r"|Assertion|Name|Lookup|ZeroDivision|Overflow)Error\b|<(?:twisted|swarmd|built-in)[ .]"
    r"|Failure instance|\[\('SSL routines")

#: A 500 the manager answers for an error it did not expect.
INCIDENT = re.compile(r"internal error \(incident [0-9a-f]+\)")

# -- JSON values ----------------------------------------------------------------------

_scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)

#: Any JSON value, small.
json_values = st.recursive(
    _scalars,
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=8)


def _or_any(strategy):
    """
    Mostly C{strategy}, sometimes any JSON value (a wrong type).
    """
    return st.one_of(strategy, strategy, strategy, json_values)


_ports = st.one_of(st.sampled_from(["80/tcp", "53/udp", "80", "abc", "", "8080/xyz",
                                    "99999/tcp", "1-2/tcp"]), st.text(max_size=8))
_host_ports = st.one_of(st.sampled_from(["", "8080", "8000-8010", "0", "65536", "abc",
                                         "1-99999999", " 80 "]), st.text(max_size=8))
_binding = _or_any(st.one_of(st.none(), st.fixed_dictionaries(
    {}, optional={"HostIp": _or_any(st.sampled_from(["", "127.0.0.1", "0.0.0.0", "::", "x"])),
                  "HostPort": _or_any(_host_ports)})))
_references = st.one_of(st.sampled_from(["web", "web:alias", "n1/web", "", "ghost",
                                         "container:web", "web:ro"]), st.text(max_size=10))
_expressions = st.one_of(
    st.sampled_from(["node==n1", "node!=n1", "storage==ssd", "node==/n[0-9]/", "image==busybox",
                     "container==web", "region==~us", "node==~/^(a+)+$/", "health==healthy",
                     "node==", "==x", "node=~n1", "node==n1*", "node==/[/"]),
    st.text(max_size=12))
_env = st.lists(_or_any(st.one_of(
    st.builds(lambda kind, value: kind + ":" + value,
              st.sampled_from(["constraint", "affinity", "whitelist", "reschedule"]),
              _expressions),
    st.sampled_from(["A=1", "", "=", "PATH=/bin"]),
    st.text(max_size=10))), max_size=4)
_label_keys = st.one_of(st.sampled_from([
    "com.docker.swarm.id", "com.docker.swarm.constraints", "com.docker.swarm.affinities",
    "com.docker.swarm.whitelists", "com.docker.swarm.reschedule-policies", "node"]),
    st.text(max_size=8))
_label_values = st.one_of(
    st.builds(json.dumps, st.lists(_expressions, max_size=3)),
    st.sampled_from(["[]", "", "[", "on-node-failure", '["off"]', '["on-node-failure"]']),
    st.text(max_size=10))

_host_config = st.fixed_dictionaries({}, optional={
    "PortBindings": _or_any(st.dictionaries(_ports, _or_any(st.one_of(
        st.none(), st.lists(_binding, max_size=3))), max_size=3)),
    "NetworkMode": _or_any(st.sampled_from(["default", "bridge", "host", "none",
                                            "container:web", "container:", "n1/net",
                                            "ghost"])),
    "Links": _or_any(st.lists(_or_any(_references), max_size=3)),
    "VolumesFrom": _or_any(st.lists(_or_any(_references), max_size=3)),
    "Binds": _or_any(st.lists(_or_any(st.sampled_from(
        ["/srv:/srv", "n1/data:/d", "data:/d:ro", "x"])), max_size=3)),
    "Mounts": _or_any(st.lists(_or_any(st.fixed_dictionaries({}, optional={
        "Type": _or_any(st.sampled_from(["volume", "bind", "tmpfs"])),
        "Source": _or_any(st.sampled_from(["n1/data", "data", "/srv"])),
        "Target": _or_any(st.just("/d"))})), max_size=2)),
    "CpuShares": _or_any(st.integers(min_value=-2, max_value=4096)),
    "Memory": _or_any(st.integers(min_value=-1, max_value=2 ** 40)),
})

#: Container create bodies: Docker's fields, mostly of the right type.
create_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={
        "Image": _or_any(st.sampled_from(["busybox", "busybox:latest", "", "ghost:1",
                                          "BUSYBOX"])),
        "Cmd": _or_any(st.lists(st.text(max_size=6), max_size=3)),
        "Env": _or_any(_env),
        "Labels": _or_any(st.dictionaries(_label_keys, _or_any(_label_values), max_size=3)),
        "ExposedPorts": _or_any(st.dictionaries(_ports, _or_any(st.just({})), max_size=2)),
        "HostConfig": _or_any(_host_config),
        "NetworkingConfig": _or_any(st.fixed_dictionaries({}, optional={
            "EndpointsConfig": _or_any(st.dictionaries(
                st.sampled_from(["bridge", "n1/net", "ghost", ""]),
                _or_any(st.just({})), max_size=2))})),
        "Memory": _or_any(st.integers(min_value=0, max_value=2 ** 30)),
        "CpuShares": _or_any(st.integers(min_value=0, max_value=4)),
        "Tty": json_values,
    }),
    json_values,
)


def _body_bytes(value):
    return json.dumps(value).encode("utf-8")


#: Create request bodies as bytes: JSON, and now and then something else.
create_payloads = st.one_of(
    create_bodies.map(_body_bytes), create_bodies.map(_body_bytes),
    create_bodies.map(_body_bytes),
    st.binary(max_size=40),
    st.integers(min_value=1, max_value=2000).map(
        lambda depth: b'{"Image":"busybox","X":' + b"[" * depth + b"]" * depth + b"}"),
    create_bodies.map(lambda value: b"\xef\xbb\xbf" + _body_bytes(value)),
)

#: Names for C{?name=}.
names = st.one_of(st.sampled_from(["web", "/web", "a", "web\n", "we b", "-x", "n1/web", ""]),
                  st.text(max_size=10))

# -- filters ------------------------------------------------------------------------

_filter_keys = st.one_of(st.sampled_from([
    "name", "id", "label", "status", "node", "health", "is-task", "publish", "expose",
    "network", "volume", "ancestor", "before", "since", "exited", "dangling", "reference",
    "driver", "scope", "type", "until"]), st.text(max_size=6))
_filter_values = st.one_of(
    st.lists(st.one_of(st.sampled_from(["x", "web", "n1", "true", "maybe", "80/tcp",
                                        "x/y/z", "a=b", "^(a+)+$", "[", "running"]),
                       st.text(max_size=8)), max_size=3),
    st.dictionaries(st.text(max_size=6), st.booleans(), max_size=2),
    json_values)

#: C{filters} query values: JSON maps of filters, and anything else.
filters = st.one_of(
    st.dictionaries(_filter_keys, _filter_values, max_size=3).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=20),
    st.integers(min_value=1, max_value=2000).map(lambda depth: "[" * depth + "]" * depth),
)

#: Routes taking C{filters}.
FILTERED = ["/containers/json", "/images/json", "/networks", "/volumes", "/containers/ps"]

# -- paths and headers ----------------------------------------------------------------

_segments = st.one_of(
    st.sampled_from(["containers", "images", "networks", "volumes", "exec", "json", "web",
                     "n1", "start", "logs", "archive", "_ping", "info", "version", "v1.41",
                     "v1.41%0A", "v1.12", "v9.99", "v1", "%ff", "%00", "%2F", "..", ".", "",
                     "%0A", "%20", "a%C3%A9", "%C3", "%ED%A0%80", "x" * 300]),
    st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), max_size=8),
    st.text(max_size=6).map(lambda text: quote(text, safe="")),
)

#: Request paths: route-like segments, escapes, versions.
paths = st.lists(_segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))

methods = st.sampled_from(["GET", "POST", "DELETE", "PUT", "HEAD", "PATCH", "OPTIONS"])

_header_names = st.one_of(
    # Not Content-Length: a length the body does not have is waited for, as
    # any server does (the site's own refusals have tests of their own).
    st.sampled_from(["Content-Type", "X-Registry-Auth", "X-Registry-Config", "Accept", "Host",
                     "Connection", "Upgrade", "Expect", "Cookie"]),
    st.text(alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=1,
            max_size=10).map(lambda text: "X-" + text))
_header_values = st.one_of(
    st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-16",
                     "", "chunked", "-1", "99999999999999999999", "tcp", "e30=", "!!!",
                     "x" * 2000]),
    st.text(alphabet=st.characters(codec="ascii", min_codepoint=32, max_codepoint=126),
            max_size=30))

#: Request headers (names and values a client library can send).
headers = st.dictionaries(_header_names, _header_values, max_size=3)


@st.composite
def requests(draw):
    """
    One request: C{(method, path with query, body bytes or None, headers)}.
    """
    kind = draw(st.sampled_from(["create", "filters", "path", "headers"]))
    if kind == "create":
        name = draw(names)
        query = "?name=" + quote(name, safe="") if name else ""
        version = draw(st.sampled_from(["", "/v1.41", "/v1.24"]))
        return ("POST", version + "/containers/create" + query, draw(create_payloads),
                draw(st.one_of(st.just({"Content-Type": "application/json"}), headers)))
    if kind == "filters":
        route = draw(st.sampled_from(FILTERED))
        extra = draw(st.sampled_from(["", "&all=1", "&limit=x", "&limit=-5", "&size=1",
                                      "&all=maybe"]))
        return ("GET", route + "?filters=" + quote(draw(filters), safe="") + extra, None, {})
    if kind == "path":
        method = draw(methods)
        body = draw(st.one_of(st.none(), create_payloads)) if method in ("POST", "PUT") else None
        return (method, draw(paths), body, {})
    return (draw(st.sampled_from(["GET", "POST"])),
            draw(st.sampled_from(["/_ping", "/info", "/containers/json", "/containers/create",
                                  "/version", "/images/json"])),
            None, draw(headers))


def problems(method, status, content_type, body):
    """
    What is wrong with one answer.

    @param content_type: the answer's C{Content-Type} (C{bytes} or L{None}).
    @param body: the answer's body, C{bytes}.
    @return: a C{list} of C{str}, empty for a good answer.
    """
    found = []
    text = body.decode("utf-8", "replace")
    python = PYTHON_TEXT.search(text)
    if python is not None:
        found.append("Python text in the answer: %r" % (python.group(0),))
    if status >= 400 and method != "HEAD":
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError, TypeError):
            found.append("error %d is not Docker's JSON: %r" % (status, body[:200]))
        else:
            if status == 500 and INCIDENT.search(message):
                found.append("internal error (an exception nobody expected): %s" % (message,))
            if not (content_type or b"").startswith(b"application/json"):
                found.append("error %d with Content-Type %r" % (status, content_type))
    return found


class RawSite:
    """
    A manager's L{swarmd.api.DockerSite} spoken to with raw HTTP/1.0 bytes
    over an in-memory transport: what a client sends reaches the site's own
    channel (its limits and refusals included), the engines are pumped and
    the clock moved until the site closes the connection.

    @ivar manager: the L{swarmd.testing.memory.MemoryManager}.
    """

    def __init__(self, manager, rounds=300):
        from swarmd.api.site import DockerSite

        self.manager = manager
        self.site = DockerSite(manager.api.resource())
        self.site.reactor = manager.clock
        self.rounds = rounds

    def exchange(self, data):
        """
        Send C{data} on a new connection.

        @return: the C{bytes} the site wrote before closing, or L{None} if
            it never closed.
        """
        from twisted.internet.address import IPv4Address
        from twisted.internet.testing import StringTransport

        protocol = self.site.buildProtocol(IPv4Address("TCP", "127.0.0.1", 40000))
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        for _ in range(self.rounds):
            if transport.disconnecting:
                break
            self.manager.engines.flush()
            self.manager.clock.advance(0.05)
        closed = transport.disconnecting
        protocol.connectionLost(_CLOSED)
        return transport.value() if closed else None

    def request(self, method, path, body=None, headers=None):
        """
        One HTTP/1.0 request.

        @param body: C{bytes} or L{None}.
        @param headers: C{{name: value}} (C{str}).
        @return: C{(status, {lower-case name: value}, body)}, all C{bytes}
            but the status; L{None} when the site never answered.
        """
        lines = ["%s %s HTTP/1.0" % (method, path), "Host: swarm"]
        for name, value in (headers or {}).items():
            lines.append("%s: %s" % (name, value))
        if body is not None:
            lines.append("Content-Length: %d" % (len(body),))
        raw = self.exchange(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b""))
        if raw is None:
            return None
        return parse_answer(raw)

    def ping(self):
        """
        @return: whether C{/_ping} answers C{200 OK}.
        """
        answer = self.request("GET", "/_ping")
        return answer is not None and answer[0] == 200 and answer[2] == b"OK"


def parse_answer(raw):
    """
    @param raw: a whole HTTP/1.x answer, C{bytes} (its body ends with the
        connection).
    @return: C{(status, {lower-case name: value}, body)}.
    """
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    found = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        found[name.strip().lower()] = value.strip()
    if found.get(b"transfer-encoding") == b"chunked":
        body = _unchunk(body)
    return status, found, body


def _unchunk(data):
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        length = int(size.split(b";")[0] or b"0", 16)
        if not length:
            break
        out += data[:length]
        data = data[length + 2:]
    return out


def _closed():
    from twisted.internet.error import ConnectionDone
    from twisted.python.failure import Failure

    return Failure(ConnectionDone())


_CLOSED = _closed()
