"""
What the cluster's network and volume lists share: each engine's cached
objects as one list, local ones (their names are only unique per engine)
shown as C{<node>/<name>}, others (swarm or global scope, a driver with a
wider scope) once; the C{<node>/<name>} reference and the filters both
lists take.

L{swarmd.api._networks_view} and L{swarmd.api._volumes_view} add what
differs: when an object is local, what makes copies on several engines
one object, and their own filters and lookups.
"""

import attr

from swarmd.api.listfilters import labels_match, regex_match

__all__ = ["ScopedEntry", "cluster_entries", "node_name", "on_node", "split_node",
           "unique_entries"]


@attr.s(frozen=True, eq=False, repr=False)
class ScopedEntry:
    """
    One object (a network, a volume) of one engine.  Subclasses define
    L{local} and L{shared_key}.

    @ivar engine: the L{swarmd.cluster.Engine} holding it.
    @ivar item: the object's C{dict} as the engine lists it.
    """

    engine = attr.ib()
    item = attr.ib()

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.shown_name)

    @property
    def local(self):
        """
        Whether the object exists on its engine only.
        """
        raise NotImplementedError

    def shared_key(self):
        """
        @return: what copies of a non-local object on several engines
            have in common (the first engine listing it stands for it).
        """
        raise NotImplementedError

    @property
    def name(self):
        return self.item.get("Name") or ""

    @property
    def shown_name(self):
        """
        C{<node>/<name>} for a local object, the bare name otherwise.
        """
        return node_name(self.engine, self.name) if self.local else self.name

    def summary(self):
        """
        @return: a copy of the engine's C{dict} with L{shown_name} as C{Name}.
        """
        shown = dict(self.item)
        shown["Name"] = self.shown_name
        return shown

    # -- the filters both lists take (each list checks them in its own order) --

    def matches_name(self, filters):
        """
        C{name}: an unanchored regular expression, bare or node-prefixed.
        """
        return not filters.get("name") or (regex_match(filters["name"], self.name)
                                           or regex_match(filters["name"], self.shown_name))

    def matches_driver(self, filters):
        """
        C{driver}: exact.
        """
        return not filters.get("driver") or self.item.get("Driver") in filters["driver"]

    def matches_label(self, filters):
        """
        C{label}: C{key} or C{key=value}.
        """
        return not filters.get("label") or labels_match(filters["label"],
                                                        self.item.get("Labels") or {})

    def matches_node(self, filters):
        """
        C{node}: the engine's name or ID.
        """
        return not filters.get("node") or (regex_match(filters["node"], self.engine.name, "node")
                                           or regex_match(filters["node"], self.engine.id, "node"))


def node_name(engine, name):
    """
    @return: C{<node>/<name>}.
    """
    return "%s/%s" % (engine.name, name)


def split_node(reference):
    """
    Split C{<node>/<name>}.

    @return: C{(node, name)}; C{node} is L{None} for a bare name.
    """
    node, sep, name = reference.partition("/")
    if sep and node and name:
        return node, name
    return None, reference


def on_node(entry, node):
    """
    @return: whether C{entry}'s engine is named or has the ID C{node}.
    """
    return node in (entry.engine.name, entry.engine.id)


def cluster_entries(engines, kind, attribute):
    """
    Every cached object of every engine.

    @param engines: the engines, in the order to keep.
    @param kind: the L{ScopedEntry} subclass, called as C{kind(engine, item)}.
    @param attribute: the engine's attribute caching its list.
    @return: a C{list} of C{kind}.
    """
    return [kind(engine, item)
            for engine in engines for item in (getattr(engine, attribute) or ())
            if isinstance(item, dict)]


def unique_entries(entries):
    """
    Each local object, and each other object once (see
    L{ScopedEntry.shared_key}).

    @return: a C{list} of the entries, sorted by shown name.
    """
    seen = set()
    kept = []
    for entry in entries:
        if not entry.local:
            key = entry.shared_key()
            if key in seen:
                continue
            seen.add(key)
        kept.append(entry)
    kept.sort(key=lambda e: (e.shown_name, e.engine.name))
    return kept
