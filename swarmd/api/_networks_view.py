"""
The cluster's networks as one list: every engine's cached C{/networks}
answer, local-scope networks shown as C{<node>/<name>} (their IDs are only
unique per engine), swarm- or global-scope ones once; list filters and
the lookup of a network reference.

Pure functions over engines (anything with C{name}, C{id}, C{address},
C{healthy}, C{networks} and C{containers}), so they can be table-tested
with plain data.  What they share with the volume list is in
L{swarmd.api._scoped_view}.
"""


from swarmd.api._scoped_view import (
    ScopedEntry,
    cluster_entries,
    on_node,
    split_node,
    unique_entries,
)
from swarmd.api.errors import bad_request, not_found
from swarmd.api.listfilters import regex_match

#: The filters C{GET /networks} accepts (Docker's, plus C{node}).
NETWORK_FILTERS = frozenset(["dangling", "driver", "id", "label", "name", "scope", "type",
                             "node"])

#: Networks every engine has; Docker's C{type=builtin}.
PREDEFINED = frozenset(["bridge", "host", "none", "default"])


class NetworkEntry(ScopedEntry):
    """
    One network of one engine: C{NetworkEntry(engine, network)}, the
    network C{dict} as the engine lists it.
    """

    def __repr__(self):
        return "<NetworkEntry %s %s>" % (self.shown_name, self.id[:12])

    @property
    def network(self):
        return self.item

    @property
    def id(self):
        return self.network.get("Id") or ""

    @property
    def local(self):
        """
        Whether the network exists on its engine only (C{Scope} C{local},
        the default when an engine does not say).
        """
        return (self.network.get("Scope") or "local") == "local"

    def shared_key(self):
        """
        A non-local network is one network wherever its ID is listed.
        """
        return self.id


def cluster_networks(engines):
    """
    Every cached network of every engine.

    @param engines: the engines, in the order to keep.
    @return: a C{list} of L{NetworkEntry}.
    """
    return cluster_entries(engines, NetworkEntry, "networks")


def unique_networks(entries):
    """
    Each local network, and each non-local network once (the first engine
    listing its ID stands for it).

    @return: a C{list} of L{NetworkEntry}, sorted by shown name.
    """
    return unique_entries(entries)


def holders(entries, entry):
    """
    Every engine's copy of C{entry}'s network: itself for a local network,
    each entry with its ID for a global one.

    @return: a C{list} of L{NetworkEntry}, C{entry} first.
    """
    if entry.local:
        return [entry]
    return [entry] + [e for e in entries if e.id == entry.id and e is not entry]


def networks_in_use(engines):
    """
    The networks the engines' cached containers are attached to.

    @return: a C{set} of C{(engine address, network ID)}.
    """
    used = set()
    for engine in engines:
        for container in (engine.containers or {}).values():
            settings = container.info.get("NetworkSettings") or {}
            for endpoint in (settings.get("Networks") or {}).values():
                network_id = (endpoint or {}).get("NetworkID")
                if network_id:
                    used.add((engine.address, network_id))
    return used


def _dangling(filters):
    values = filters.get("dangling")
    if not values:
        return None
    if len(values) > 1:
        raise bad_request('got more than one value for filter key "dangling"')
    value = values[0].lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise bad_request('invalid value for filter \'dangling\', must be "true" (or "1"), '
                      'or "false" (or "0")')


def network_filter(filters, in_use):
    """
    Build the predicate C{GET /networks?filters=} selects networks with.

    C{name} and C{id} are unanchored regular expressions (a name matches
    bare or node-prefixed); C{driver} and C{scope} are exact; C{label} is
    C{key} or C{key=value}; C{type} is C{custom} or C{builtin}; C{dangling}
    keeps networks no cached container is attached to (never the
    predefined ones); C{node} matches the engine's name or ID.

    @param filters: the parsed filters (see L{parse_filters}).
    @param in_use: what L{networks_in_use} returns.
    @return: a callable taking a L{NetworkEntry}, returning a C{bool}.
    @raise DockerError: 400 for a bad C{type} or C{dangling} value.
    """
    for kind in filters.get("type", []):
        if kind not in ("custom", "builtin"):
            raise bad_request("invalid filter: 'type'='%s'" % (kind,))
    dangling = _dangling(filters)

    def used(entry):
        if entry.local:
            return (entry.engine.address, entry.id) in in_use
        return any(network_id == entry.id for _, network_id in in_use)

    def matches(entry):
        if not entry.matches_name(filters):
            return False
        if not regex_match(filters.get("id"), entry.id, "id"):
            return False
        if not entry.matches_driver(filters):
            return False
        if filters.get("scope") and entry.network.get("Scope") not in filters["scope"]:
            return False
        if not entry.matches_label(filters):
            return False
        if filters.get("type"):
            builtin = entry.name in PREDEFINED
            if not any((kind == "builtin") == builtin for kind in filters["type"]):
                return False
        if not entry.matches_node(filters):
            return False
        if dangling is not None:
            if dangling != (entry.name not in PREDEFINED and not used(entry)):
                return False
        return True

    return matches


def _distinct(found):
    """
    C{found} with one entry per network (a global network once).
    """
    seen = set()
    kept = []
    for entry in found:
        key = (entry.engine.address, entry.id) if entry.local else entry.id
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept


def _ambiguous(reference, found, how):
    return bad_request(
        "network %s is ambiguous (%d matches found based on %s): %s" % (
            reference, len(found), how,
            ", ".join(sorted(e.shown_name for e in found))))


def find_network(entries, reference):
    """
    Resolve a network reference the way users write them through the
    manager: full ID, C{<node>/<name>}, a name unique in the cluster, then
    a unique ID prefix.

    @param entries: what L{cluster_networks} returns.
    @return: the L{NetworkEntry}.
    @raise DockerError: 404 C{network X not found}; 400 when a bare name
        or an ID prefix matches networks on several nodes.
    """
    if not reference:
        raise not_found("network %s not found" % (reference,))
    exact = _distinct(e for e in entries if e.id == reference)
    if exact:
        return exact[0]
    node, name = split_node(reference)
    if node is not None:
        pinned = [e for e in entries if e.name == name and on_node(e, node)]
        if pinned:
            return pinned[0]
    named = _distinct(e for e in entries if e.name == reference)
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise _ambiguous(reference, named, "name; use <node>/%s" % (reference,))
    prefixed = _distinct(e for e in entries if e.id.startswith(reference))
    if len(prefixed) == 1:
        return prefixed[0]
    if len(prefixed) > 1:
        raise _ambiguous(reference, prefixed, "ID prefix")
    raise not_found("network %s not found" % (reference,))


def find_network_on(entries, engine, reference):
    """
    Resolve a network reference among the networks of one engine (where a
    container to connect or disconnect runs): full ID, C{<node>/<name>}
    naming that engine, name, unique ID prefix.

    @return: the L{NetworkEntry}, or L{None} when the engine's cache does
        not know it (the engine may still: it has the last word).
    @raise DockerError: 400 when C{<node>/<name>} names another node, or an
        ID prefix matches several of the engine's networks.
    """
    mine = [e for e in entries if e.engine is engine]
    node, name = split_node(reference)
    if node is not None:
        if node not in (engine.name, engine.id):
            raise bad_request("network %s is not on node %s, where the container runs"
                              % (reference, engine.name))
        reference = name
    for test in (lambda e: e.id == reference, lambda e: e.name == reference):
        found = [e for e in mine if test(e)]
        if found:
            return found[0]
    prefixed = [e for e in mine if e.id.startswith(reference)]
    if len(prefixed) > 1:
        raise _ambiguous(reference, prefixed, "ID prefix")
    return prefixed[0] if prefixed else None


def merge_inspects(answers):
    """
    One inspect answer for a global network inspected on several engines:
    the first, with the C{Containers} (and C{Peers}) of all, de-duplicated.

    @param answers: inspect C{dict}s, the one to answer first.
    @return: a new C{dict}.
    """
    merged = dict(answers[0])
    containers: dict = {}
    peers = []
    for answer in answers:
        containers.update(answer.get("Containers") or {})
        for peer in answer.get("Peers") or []:
            if peer not in peers:
                peers.append(peer)
    merged["Containers"] = containers
    if peers:
        merged["Peers"] = peers
    return merged

