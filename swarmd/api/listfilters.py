"""
Docker's list filters (C{?filters=...}) for containers, as an engine and
classic Swarm apply them.

The C{filters} value is read as dockerd 20.10's C{filters.FromJSON} reads
it, and refused with its words; the C{id}, C{name} and C{node} values are
Go regular expressions, matched in linear time (L{swarmd.regex}).
"""

import json
import re

from swarmd.api.errors import bad_request
from swarmd.regex import RegexError, compile_regex

CONTAINER_FILTERS = frozenset([
    "id", "name", "label", "status", "exited", "node", "health", "ancestor", "before",
    "since", "network", "volume", "is-task", "publish", "expose", "isolation",
])

STATES = frozenset(["created", "restarting", "running", "removing", "paused", "exited", "dead"])

#: dockerd's health filter values (C{container.IsValidHealthString}).
HEALTH_STATES = frozenset(["starting", "healthy", "unhealthy", "none"])

# An integer as Go's strconv.Atoi reads it.
_ATOI = re.compile(r"[+-]?[0-9]+\Z")

#: The label of the containers that are Swarm tasks (C{is-task}).
TASK_LABEL = "com.docker.swarm.task"

# Go's json names of JSON types, in "cannot unmarshal X into ...".
_GO_KINDS = ((bool, "bool"), (str, "string"), (list, "array"), (dict, "object"),
             ((int, float), "number"))


def _go_kind(value):
    for types, name in _GO_KINDS:
        if isinstance(value, types):
            return name
    return "null"


def _type_error(value, go_type):
    return "json: cannot unmarshal %s into Go value of type %s" % (_go_kind(value), go_type)


class Filters(dict):
    """
    Parsed filters: a C{dict} of name to the C{list} of its values.

    Values given as C{{"v": false}} are values too (dockerd lists them and
    matches regular expressions against them), but not for
    L{exact_match}, as in dockerd.
    """

    def __init__(self, values=(), false=None):
        dict.__init__(self, values)
        self._false = false or {}

    def exact_match(self, name, value):
        """
        Docker's C{Args.ExactMatch}: true when the filter has no values, or
        C{value} is one of them (given as C{true}).
        """
        values = self.get(name)
        if not values:
            return True
        return value in values and value not in self._false.get(name, ())


def _quote_char(char):
    """
    A character as Go's JSON scanner quotes it in its errors.
    """
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    quoted = json.dumps(char, ensure_ascii=False)[1:-1]
    return "'%s'" % (quoted,)


def _innermost(text, end):
    """
    The innermost JSON container open at C{end}: C{"["}, C{"{"} or C{""}.
    """
    stack = []
    in_string = escaped = False
    for char in text[:end]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


#: Python's JSON decoder's complaints, as Go's scanner words them.
_GO_SYNTAX = {
    "Expecting value": "invalid character %s looking for beginning of value",
    "Expecting property name enclosed in double quotes":
        "invalid character %s looking for beginning of object key string",
    "Expecting ':' delimiter": "invalid character %s after object key",
    "Extra data": "invalid character %s after top-level value",
    "Invalid control character at": "invalid character %s in string literal",
}


def _go_syntax_error(text, error):
    """
    Go's C{encoding/json} words for a syntax error Python's decoder found.
    """
    position = min(error.pos, len(text))
    char = text[position:position + 1]
    if error.msg.startswith("Invalid \\escape"):
        return "invalid character %s in string escape code" % (
            _quote_char(text[position + 1:position + 2] or "\\"),)
    if error.msg.startswith("Invalid \\uXXXX escape"):
        digits = text[position + 2:position + 6]
        bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"),
                   " " if len(digits) < 4 else "")
        if bad:
            return "invalid character %s in \\u hexadecimal character escape" % (
                _quote_char(bad),)
    malformed = _go_literal_error(text, position, error.msg)
    if malformed is not None:
        return malformed
    if error.msg.startswith("Unterminated string"):
        trailing = len(text) - len(text.rstrip("\\"))
        if trailing % 2:
            # Go reads the end of the input after a backslash as a space.
            return "invalid character ' ' in string escape code"
    if not char or error.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    if error.msg == "Expecting ',' delimiter":
        if _innermost(text, position) == "[":
            return "invalid character %s after array element" % (_quote_char(char),)
        return "invalid character %s after object key:value pair" % (_quote_char(char),)
    wording = _GO_SYNTAX.get(error.msg)
    if wording is None:
        return "invalid character %s" % (_quote_char(char),)
    return wording % (_quote_char(char),)


def _go_literal_error(text, position, why):
    """
    Go's words for a malformed literal (C{tru}) or number (C{-}, C{1.},
    C{1e}) where Python's decoder stopped, or L{None}.  Go's scanner reads
    the end of the input as a space.
    """
    def at(index):
        return text[index:index + 1] or " "

    char = text[position:position + 1]
    if why != "Expecting value":
        char = char if why in ("Extra data", "Expecting ',' delimiter") and char in ".eE" else ""
    for literal in ("true", "false", "null"):
        if char == literal[0]:
            for offset, expected in enumerate(literal):
                if at(position + offset) != expected:
                    return "invalid character %s in literal %s (expecting %s)" % (
                        _quote_char(at(position + offset)), literal, _quote_char(expected))
            return None
    if char == "-" and not at(position + 1).isdigit():
        return "invalid character %s in numeric literal" % (_quote_char(at(position + 1)),)
    if position and text[position - 1].isdigit():
        start = position
        while start and text[start - 1] in "0123456789.eE+-":
            start -= 1
        number = text[start:position].lower()
        if "e" in number or (char == "." and "." in number):
            # Python read a whole number: what follows is the error.
            return None
        if char == ".":
            return "invalid character %s after decimal point in numeric literal" % (
                _quote_char(at(position + 1)),)
        if char in ("e", "E"):
            following = at(position + 1)
            if following in "+-":
                following = at(position + 2)
            return "invalid character %s in exponent of numeric literal" % (
                _quote_char(following),)
    return None


def _refuse_constant(name):
    # Python reads NaN and Infinity; Go (and JSON) does not.
    raise json.JSONDecodeError("Expecting value", name, 0)


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def load_filters_json(text):
    """
    Decode a C{filters} query value, refusing what is not JSON with the
    words of Go's decoder (dockerd's).

    @return: the decoded value (L{None} for C{null}).
    @raise DockerError: 400 for malformed or too deeply nested JSON.
    """
    if text.startswith("\ufeff"):
        # Go reads the UTF-8 byte-order mark as bytes: 0xEF first.
        raise bad_request("invalid filter: invalid character 'ï' looking for beginning of "
                          "value")
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        if e.doc is not text:
            # NaN, Infinity, -Infinity (Python reads them, Go does not).
            why = ("invalid character 'I' in numeric literal" if e.doc.startswith("-")
                   else "invalid character %s looking for beginning of value"
                   % (_quote_char(e.doc[0]),))
        else:
            why = _go_syntax_error(text, e)
        raise bad_request("invalid filter: %s" % (why,)) from None
    except RecursionError:
        raise bad_request("invalid filter: JSON nested too deeply") from None


def _map_form_error(raw):
    """
    The error Go's decoder gives for C{raw} as C{map[string]map[string]bool}
    (C{{"k": {"v": true}}}), the first in the document, or L{None}.
    """
    for value in raw.values():
        if value is None:
            continue
        if not isinstance(value, dict):
            return _type_error(value, "map[string]bool")
        for flag in value.values():
            if flag is not None and not isinstance(flag, bool):
                return _type_error(flag, "bool")
    return None


def _legacy_form(raw):
    """
    C{raw} as Go's C{map[string][]string} (C{{"k": ["v"]}}), or L{None}.
    """
    values: dict = {}
    for key, value in raw.items():
        if value is None:
            values[key] = []
            continue
        if not isinstance(value, list):
            return None
        if not all(v is None or isinstance(v, str) for v in value):
            return None
        # A set in Go: each value once.
        values[key] = list(dict.fromkeys("" if v is None else v for v in value))
    return values


def parse_filters(text, allowed):
    """
    Decode a C{filters} query value as dockerd does: C{{"k": {"v": true}}}
    or, failing that, the older C{{"k": ["v"]}}; a value of one form cannot
    sit beside one of the other; C{null} is no filter.

    @param allowed: the filter names the list supports.
    @return: L{Filters}.
    @raise DockerError: 400 for malformed JSON, wrong types (with dockerd's
        words) or an unknown filter.
    """
    if not text:
        return Filters()
    raw = load_filters_json(text)
    if raw is None:
        return Filters()
    if not isinstance(raw, dict):
        raise bad_request(_type_error(raw, "map[string]map[string]bool"))
    error = _map_form_error(raw)
    if error is None:
        values = {key: list(value or {}) for key, value in raw.items()}
        false = {key: {v for v, flag in value.items() if not flag}
                 for key, value in raw.items() if value}
    else:
        values = _legacy_form(raw)
        if values is None:
            raise bad_request(error)
        false = {}
    for key in values:
        if key not in allowed:
            raise bad_request("Invalid filter '%s'" % (key,))
    return Filters(values, false)


def compile_filter_regexes(name, values):
    """
    Compile the regular expressions a filter's values are.

    @return: a C{list} of L{swarmd.regex.Pattern}.
    @raise DockerError: 400 naming the first one RE2 refuses.
    """
    patterns = []
    for value in values or ():
        try:
            patterns.append(compile_regex(value))
        except RegexError as e:
            raise bad_request("Invalid filter '%s=%s': error parsing regexp: %s"
                              % (name, value, e.reason)) from None
    return patterns


def regex_match(values, source, name="name"):
    """
    True when no value is given or any value (an unanchored regular
    expression, as Docker's C{filters.Match}) equals or matches C{source}.

    @param name: the filter's name, for the error.
    @raise DockerError: 400 when a value is not a regular expression.
    """
    if not values:
        return True
    if source in values:
        return True
    for pattern in compile_filter_regexes(name, values):
        if pattern(source):
            return True
    return False


def _patterns_match(patterns, values, *sources):
    if not values:
        return True
    for source in sources:
        if source in values:
            return True
        for pattern in patterns:
            if pattern(source):
                return True
    return False


def parse_port_filter(name, value):
    """
    dockerd's reading of a C{publish} or C{expose} value:
    C{port[/proto]} or C{start-end[/proto]}.

    @return: a C{set} of C{"port/proto"}.
    @raise DockerError: 400 with dockerd's words (dockerd 20.10 says them
        with a 500).
    """
    if ":" in value:
        raise bad_request("filter for '%s' should not contain ':': %s" % (name, value))
    parts = value.split("/")
    if not parts[0]:
        proto, port = "", ""
    elif len(parts) == 1 or not parts[1]:
        proto, port = "tcp", parts[0]
    else:
        proto, port = parts[1], parts[0]

    def fail(why):
        return bad_request("error while looking up for %s %s: %s" % (name, value, why))

    def number(text):
        if not text or not text.isascii() or not text.isdigit():
            raise fail('strconv.ParseUint: parsing "%s": invalid syntax' % (text,))
        if int(text) > 65535:
            raise fail('strconv.ParseUint: parsing "%s": value out of range' % (text,))
        return int(text)

    if not port:
        raise fail("Empty string specified for ports.")
    if "-" not in port:
        start = end = number(port)
    else:
        pieces = port.split("-")
        start, end = number(pieces[0]), number(pieces[1])
        if end < start:
            raise fail("Invalid range specified for the Port: %s" % (port,))
    return {"%d/%s" % (p, proto) for p in range(start, end + 1)}


def _container_ports(container):
    """
    @return: C{(published, exposed)}: the C{"port/proto"}s of the
        container's list entry's C{PublicPort}s and C{PrivatePort}s, what
        dockerd's C{publish} and C{expose} filters look at.
    """
    published, exposed = set(), set()
    ports = ((container.info.get("NetworkSettings") or {}).get("Ports") or {})
    for key, bindings in ports.items():
        port, _, proto = key.partition("/")
        proto = proto or "tcp"
        exposed.add("%s/%s" % (port, proto))
        for binding in bindings or ():
            host_port = (binding or {}).get("HostPort") or ""
            if host_port.isdigit():
                published.add("%d/%s" % (int(host_port), proto))
        if not bindings:
            # Listed with a PublicPort of 0.
            published.add("0/%s" % (proto,))
    return published, exposed


def labels_match(values, labels):
    """
    Every C{key} or C{key=value} of C{values} holds for C{labels}.
    """
    for term in values:
        key, sep, value = term.partition("=")
        if key not in labels:
            return False
        if sep and labels[key] != value:
            return False
    return True


class ContainerChecks:
    """
    The values of container filters, checked as dockerd checks them before
    it lists anything (and the regular expressions compiled).

    @ivar exited: the C{exited} codes, C{int}s.
    @ivar is_task: L{None} without an C{is-task} filter, else whether only
        tasks (else only other containers) are listed.
    @ivar publish: the C{"port/proto"}s of the C{publish} filter.
    @ivar expose: the same of the C{expose} filter.
    """

    def __init__(self, filters):
        """
        @param filters: L{Filters} (or a plain C{dict} of lists).
        @raise DockerError: 400 for the first bad value, in dockerd's words.
        """
        if not isinstance(filters, Filters):
            filters = Filters(filters)
        self.exited = []
        for code in filters.get("exited", []):
            # Go's strconv.Atoi (dockerd's words; its status is a 500).
            if not _ATOI.match(code):
                raise bad_request('strconv.Atoi: parsing "%s": invalid syntax' % (code,))
            if not -2 ** 63 <= int(code) < 2 ** 63:
                raise bad_request('strconv.Atoi: parsing "%s": value out of range' % (code,))
            self.exited.append(int(code))
        for state in filters.get("status", []):
            if state not in STATES:
                raise bad_request("Invalid filter 'status=%s'" % (state,))
        self.is_task = None
        if "is-task" in filters:
            if filters.exact_match("is-task", "true"):
                self.is_task = True
            elif filters.exact_match("is-task", "false"):
                self.is_task = False
            else:
                raise bad_request("Invalid filter 'is-task=[%s]'"
                                  % (" ".join(filters["is-task"]),))
        for health in filters.get("health", []):
            if health not in HEALTH_STATES:
                raise bad_request("Unrecognised filter value for health: %s" % (health,))
        self.publish = set()
        for value in filters.get("publish", []):
            self.publish |= parse_port_filter("publish", value)
        self.expose = set()
        for value in filters.get("expose", []):
            self.expose |= parse_port_filter("expose", value)
        self.patterns = {name: compile_filter_regexes(name, filters.get(name))
                         for name in ("id", "name", "node")}


def parse_container_filters(text):
    """
    L{parse_filters} for C{/containers/json}, every value checked.

    @return: L{Filters}.
    @raise DockerError: 400, as dockerd, for anything it refuses.
    """
    filters = parse_filters(text, CONTAINER_FILTERS)
    ContainerChecks(filters)
    return filters


class ContainerFilter:
    """
    A predicate over cached containers built from a C{filters} value.
    """

    def __init__(self, filters, lookup):
        """
        @param filters: the parsed filters (L{Filters}).
        @param lookup: a callable resolving a container reference (for
            C{before} and C{since}) to a L{Container} or L{None}.
        @raise DockerError: 400 for a value dockerd refuses, 404 for an
            unknown C{before} or C{since} container.
        """
        if not isinstance(filters, Filters):
            filters = Filters(filters)
        self.filters = filters
        checks = ContainerChecks(filters)
        self.exited = checks.exited
        self.is_task = checks.is_task
        self.publish = checks.publish
        self.expose = checks.expose
        self._patterns = checks.patterns
        self.before = self._reference(filters.get("before"), lookup)
        self.since = self._reference(filters.get("since"), lookup)

    @staticmethod
    def _reference(values, lookup):
        if not values:
            return None
        container = lookup(values[0])
        if container is None:
            raise bad_request("No such container: %s" % (values[0],))
        return container

    @property
    def wants_stopped(self):
        """
        Whether these filters show stopped containers without C{all}.
        """
        return bool(self.exited or self.before or self.since
                    or set(self.filters.get("status", [])) - {"running", "paused",
                                                                "restarting"})

    def __call__(self, container):
        f = self.filters
        info = container.info
        patterns = self._patterns
        if not _patterns_match(patterns["id"], f.get("id"), container.id):
            return False
        if not _patterns_match(patterns["name"], f.get("name"), container.name):
            return False
        if f.get("label") and not labels_match(f["label"], container.labels):
            return False
        if f.get("status") and container.status not in f["status"]:
            return False
        if self.exited and (container.status != "exited"
                            or container.state.get("ExitCode") not in self.exited):
            return False
        if f.get("node") and not _patterns_match(patterns["node"], f["node"],
                                                 container.engine.name, container.engine.id):
            return False
        if f.get("health"):
            health = (container.state.get("Health") or {}).get("Status") or "none"
            if not f.exact_match("health", health):
                return False
        if f.get("ancestor"):
            image = (info.get("Config") or {}).get("Image", "")
            image_id = info.get("Image", "")
            if not any(a in (image, image.split(":")[0]) or image_id.startswith(a)
                       or image_id.startswith("sha256:" + a) for a in f["ancestor"]):
                return False
        if self.before is not None and not container.created < self.before.created:
            return False
        if self.since is not None and not container.created > self.since.created:
            return False
        if f.get("network"):
            networks = ((info.get("NetworkSettings") or {}).get("Networks") or {})
            ids = {n.get("NetworkID", "") for n in networks.values()}
            if not any(n in networks or any(i.startswith(n) for i in ids if i)
                       for n in f["network"]):
                return False
        if f.get("volume"):
            mounts = info.get("Mounts") or []
            if not any(v in (m.get("Name"), m.get("Source"), m.get("Destination"))
                       for v in f["volume"] for m in mounts):
                return False
        if self.is_task is not None and self.is_task != (TASK_LABEL in container.labels):
            return False
        if self.publish or self.expose:
            published, exposed = _container_ports(container)
            if self.publish.isdisjoint(published) and self.expose.isdisjoint(exposed):
                return False
        return True
