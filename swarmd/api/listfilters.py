"""
Docker's list filters (C{?filters=...}) for containers, as an engine and
classic Swarm apply them.
"""

import json
import re

from swarmd.api.errors import bad_request

CONTAINER_FILTERS = frozenset([
    "id", "name", "label", "status", "exited", "node", "health", "ancestor", "before",
    "since", "network", "volume", "is-task", "publish", "expose", "isolation",
])

STATES = frozenset(["created", "restarting", "running", "removing", "paused", "exited", "dead"])


def parse_filters(text, allowed):
    """
    Decode a C{filters} query value.  Both forms Docker clients send are
    accepted: C{{"k": ["v"]}} and C{{"k": {"v": true}}}.

    @param allowed: the filter names the list supports.
    @return: a C{dict} of name to C{list} of values.
    @raise DockerError: 400 for malformed JSON or an unknown filter.
    """
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise bad_request("invalid filter: %s" % (e,)) from None
    if not isinstance(raw, dict):
        raise bad_request("invalid filter: expected an object")
    filters = {}
    for key, value in raw.items():
        if key not in allowed:
            raise bad_request("invalid filter '%s'" % (key,))
        if isinstance(value, dict):
            values = [k for k, v in value.items() if v]
        elif isinstance(value, list):
            values = [str(v) for v in value]
        else:
            values = [str(value)]
        filters[key] = values
    return filters


def regex_match(values, source):
    """
    True when no value is given or any value (an unanchored regular
    expression, as Docker's C{filters.Match}) matches C{source}.
    """
    if not values:
        return True
    for term in values:
        try:
            if re.search(term, source):
                return True
        except re.error:
            if term in source:
                return True
    return False


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


class ContainerFilter:
    """
    A predicate over cached containers built from a C{filters} value.
    """

    def __init__(self, filters, lookup):
        """
        @param filters: the parsed filters.
        @param lookup: a callable resolving a container reference (for
            C{before} and C{since}) to a L{Container} or L{None}.
        """
        self.filters = filters
        for state in filters.get("status", []):
            if state not in STATES:
                raise bad_request("Invalid filter 'status=%s'" % (state,))
        self.exited = []
        for code in filters.get("exited", []):
            try:
                self.exited.append(int(code))
            except ValueError:
                raise bad_request("invalid filter 'exited=%s'" % (code,)) from None
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
        if not regex_match(f.get("id"), container.id):
            return False
        if not regex_match(f.get("name"), container.name):
            return False
        if f.get("label") and not labels_match(f["label"], container.labels):
            return False
        if f.get("status") and container.status not in f["status"]:
            return False
        if self.exited and (container.status != "exited"
                            or container.state.get("ExitCode") not in self.exited):
            return False
        if f.get("node") and not (regex_match(f["node"], container.engine.name)
                                  or regex_match(f["node"], container.engine.id)):
            return False
        if f.get("health"):
            health = (container.state.get("Health") or {}).get("Status") or "none"
            if health not in f["health"]:
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
        if f.get("is-task") and "true" in f["is-task"]:
            return False
        return True
