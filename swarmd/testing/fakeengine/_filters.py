"""
Docker's list and event filters (C{?filters={"status":["running"]}}), as
dockerd 20.10 parses and applies them, for the fake engine.
"""

import json
import re

from swarmd.testing.fakeengine._errors import bad_request, server_error

#: Filter keys C{GET /containers/json} accepts.
CONTAINER_KEYS = frozenset({
    "ancestor", "before", "exited", "expose", "health", "id", "is-task", "isolation",
    "label", "name", "network", "publish", "since", "status", "volume",
})

#: Values of the C{status} filter.
STATUSES = frozenset({"created", "restarting", "running", "removing", "paused", "exited",
                      "dead"})

_HEALTH = frozenset({"starting", "healthy", "unhealthy", "none"})


def _go_json_error(text):
    stripped = text.lstrip()
    first = stripped[:1] or " "
    return server_error("invalid character '%s' looking for beginning of value" % (first,))


class Filters:
    """
    Parsed filters: each key with its set of values.
    """

    def __init__(self, values=None):
        self.values = values or {}

    @classmethod
    def parse(cls, text):
        """
        Parse the C{filters} query parameter: C{{"k": ["v", ...]}} or the
        old C{{"k": {"v": true}}} form.

        @raise FakeAPIError: 500 for malformed JSON, as dockerd answers.
        """
        if not text:
            return cls()
        try:
            decoded = json.loads(text)
        except ValueError:
            raise _go_json_error(text) from None
        if decoded is None:
            return cls()
        if not isinstance(decoded, dict):
            raise server_error("json: cannot unmarshal %s into Go value of type "
                               "map[string]map[string]bool" % (type(decoded).__name__,))
        values = {}
        for key, value in decoded.items():
            if isinstance(value, dict):
                items = [k for k, v in value.items() if v]
            elif isinstance(value, list):
                items = [str(v) for v in value]
            else:
                raise server_error("json: cannot unmarshal %s into Go value of type "
                                   "map[string]bool" % (type(value).__name__,))
            values[key] = set(items)
        return cls(values)

    def __contains__(self, key):
        return key in self.values

    def check_keys(self, allowed):
        """
        Refuse keys outside C{allowed}, as dockerd's prunes do.

        @raise FakeAPIError: 400 C{Invalid filter 'KEY'}.
        """
        for key in self.values:
            if key not in allowed:
                raise bad_request("Invalid filter '%s'" % (key,))

    def get(self, key):
        """
        @return: the set of values of C{key} (empty if absent).
        """
        return self.values.get(key, set())

    def exact(self, key, value):
        """
        True if C{key} is not filtered on, or C{value} is one of its values.
        """
        wanted = self.values.get(key)
        return not wanted or value in wanted

    def fuzzy(self, key, value):
        """
        True if C{key} is not filtered on, or a value is a prefix of C{value}.
        """
        wanted = self.values.get(key)
        if not wanted or value in wanted:
            return True
        return any(value.startswith(w) for w in wanted)

    def match(self, key, value):
        """
        True if C{key} is not filtered on, or a value (a regular expression)
        is found in C{value}.
        """
        wanted = self.values.get(key)
        if not wanted:
            return True
        for pattern in wanted:
            try:
                if re.search(pattern, value):
                    return True
            except re.error:
                continue
        return False

    def match_kv(self, key, attributes):
        """
        True if every C{k} or C{k=v} value of C{key} is in C{attributes}.
        """
        wanted = self.values.get(key)
        if not wanted:
            return True
        attributes = attributes or {}
        for item in wanted:
            name, sep, value = item.partition("=")
            if name not in attributes:
                return False
            if sep and attributes[name] != value:
                return False
        return True

    def validate_containers(self):
        """
        Check filters of C{GET /containers/json} as dockerd does.

        @raise FakeAPIError: 400 for an unknown key or status, 500 for an
            C{exited} value that is no number.
        """
        for key in self.values:
            if key not in CONTAINER_KEYS:
                raise bad_request("Invalid filter '%s'" % (key,))
        for status in self.get("status"):
            if status not in STATUSES:
                raise bad_request("Invalid filter 'status=%s'" % (status,))
        for health in self.get("health"):
            if health not in _HEALTH:
                raise bad_request("Unrecognised filter value for health: %s" % (health,))
        for code in self.get("exited"):
            try:
                int(code)
            except ValueError:
                raise server_error('strconv.Atoi: parsing "%s": invalid syntax'
                                   % (code,)) from None


def strip_tag(reference):
    """
    @return: an image reference without its tag (C{busybox:1} -> C{busybox}).
    """
    if "@" in reference:
        return reference.split("@", 1)[0]
    slash = reference.rfind("/")
    colon = reference.rfind(":")
    if colon > slash:
        return reference[:colon]
    return reference


def event_included(filters, event):
    """
    Whether an event passes C{GET /events} filters (dockerd's
    C{events.Filter.Include}).

    @param event: the event as a C{dict} (C{Type}, C{Action}, C{Actor}...).
    """
    actor = event["Actor"]
    actor_id = actor["ID"]
    attributes = actor["Attributes"]
    kind = event["Type"]
    if not filters.exact("event", event["Action"]):
        return False
    if not filters.exact("type", kind):
        return False
    if not filters.exact("scope", event.get("scope", "local")):
        return False
    name = attributes.get("name", "")
    for key in ("container", "network", "volume", "plugin", "node", "service", "secret",
                "config"):
        if key in filters and not (filters.fuzzy(key, actor_id) or filters.fuzzy(key, name)):
            return False
    if "image" in filters:
        image = attributes.get("name" if kind == "image" else "image", "")
        if not (filters.exact("image", actor_id) or filters.exact("image", image)
                or filters.exact("image", strip_tag(actor_id))
                or filters.exact("image", strip_tag(image))):
            return False
    return filters.match_kv("label", attributes)


def container_included(engine, container, filters):
    """
    Whether a container passes C{GET /containers/json} filters (dockerd's
    C{includeContainerInList}, C{before}/C{since} and C{all} aside).

    @param engine: its L{FakeEngine} (images, networks).
    @param filters: validated L{Filters}.
    """
    if not filters.values:
        return True
    if not filters.exact("status", container.status):
        return False
    if not (filters.match("name", "/" + container.name)
            or filters.match("name", container.name)):
        return False
    if not filters.match("id", container.id):
        return False
    if not filters.match_kv("label", container.labels):
        return False
    if "exited" in filters:
        if container.status != "exited" or str(container.exit_code) not in filters.get(
                "exited"):
            return False
    if "ancestor" in filters:
        image = container.config.get("Image", "")
        ok = False
        for wanted in filters.get("ancestor"):
            found = engine.find_image(wanted)
            if (found is not None and found.id == container.image_id) or wanted in (
                    image, strip_tag(image)):
                ok = True
        if not ok:
            return False
    if "network" in filters:
        held = set()
        for name, attachment in container.networks.items():
            held.add(name)
            network = engine.networks.get(attachment.network_id) or engine.network_by_name(name)
            if network is not None:
                held.add(network.id)
        if not (filters.get("network") & held):
            return False
    if "volume" in filters:
        names = {n for n, _ in container.volumes} | {d for _, d in container.volumes}
        if not (filters.get("volume") & names):
            return False
    if "health" in filters and "none" not in filters.get("health"):
        return False
    if "publish" in filters or "expose" in filters:
        published = set()
        exposed = set(container.config.get("ExposedPorts") or {})
        for key, bindings in (container.ports or {}).items():
            exposed.add(key)
            for binding in bindings:
                published.add(binding["HostPort"] + "/" + key.partition("/")[2])
        for wanted in filters.get("publish"):
            if (wanted if "/" in wanted else wanted + "/tcp") not in published:
                return False
        for wanted in filters.get("expose"):
            if (wanted if "/" in wanted else wanted + "/tcp") not in exposed:
                return False
    return True
