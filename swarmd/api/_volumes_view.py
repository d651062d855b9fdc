"""
The cluster's volumes as one list: every engine's cached C{/volumes},
local ones shown as C{<node>/<name>}, others (a driver with a wider scope)
once; list filters and the lookup of a volume reference.

Pure functions over engines (anything with C{name}, C{id}, C{address},
C{volumes} and C{containers}).  What they share with the network list is
in L{swarmd.api._scoped_view}.
"""

import json

from swarmd.api._scoped_view import (
    ScopedEntry,
    cluster_entries,
    split_node,
    unique_entries,
)
from swarmd.api.errors import bad_request, not_found

#: The filters C{GET /volumes} accepts (Docker's, plus C{node}).
VOLUME_FILTERS = frozenset(["name", "driver", "label", "dangling", "node"])


class VolumeEntry(ScopedEntry):
    """
    One volume of one engine: C{VolumeEntry(engine, volume)}, the volume
    C{dict} as the engine lists it.
    """

    @property
    def volume(self):
        return self.item

    @property
    def local(self):
        """
        Whether the volume exists on its engine only: C{Scope} C{local}, or
        without a C{Scope}, the C{local} driver (classic Swarm's test).
        """
        scope = self.volume.get("Scope")
        if scope:
            return scope == "local"
        return (self.volume.get("Driver") or "local") == "local"

    def shared_key(self):
        """
        A non-local volume is one volume per driver and name.
        """
        return (self.volume.get("Driver"), self.name)


def cluster_volumes(engines):
    """
    Every cached volume of every engine.

    @return: a C{list} of L{VolumeEntry}.
    """
    return cluster_entries(engines, VolumeEntry, "volumes")


def unique_volumes(entries):
    """
    Each local volume, and each other volume once per driver and name.

    @return: a C{list} of L{VolumeEntry}, sorted by shown name.
    """
    return unique_entries(entries)


def volumes_in_use(engines):
    """
    The volumes the engines' cached containers mount.

    @return: a C{set} of C{(engine address, volume name)}.
    """
    used = set()
    for engine in engines:
        for container in (engine.containers or {}).values():
            for mount in container.info.get("Mounts") or []:
                if mount.get("Type", "volume") == "volume" and mount.get("Name"):
                    used.add((engine.address, mount["Name"]))
    return used


def volume_filter(filters, in_use):
    """
    Build the predicate C{GET /volumes?filters=} selects volumes with:
    C{name} (an unanchored regular expression, bare or node-prefixed),
    C{driver} (exact), C{label} (C{key} or C{key=value}), C{dangling}
    (no cached container mounts it), C{node} (engine name or ID).

    @param in_use: what L{volumes_in_use} returns.
    @return: a callable taking a L{VolumeEntry}, returning a C{bool}.
    @raise DockerError: 400 for a bad C{dangling} value.
    """
    dangling = None
    values = filters.get("dangling") or []
    if values:
        value = values[-1].lower()
        if value in ("1", "true"):
            dangling = True
        elif value in ("0", "false"):
            dangling = False
        else:
            raise bad_request("Invalid filter 'dangling=[%s]'" % (values[-1],))

    def used(entry):
        if entry.local:
            return (entry.engine.address, entry.name) in in_use
        return any(name == entry.name for _, name in in_use)

    def matches(entry):
        if not (entry.matches_name(filters) and entry.matches_driver(filters)
                and entry.matches_label(filters) and entry.matches_node(filters)):
            return False
        if dangling is not None and dangling == used(entry):
            return False
        return True

    return matches


def no_such_volume(reference):
    """
    Docker's 404 for a volume.
    """
    return not_found("get %s: no such volume" % (reference,))


def _alike(entry):
    """
    What must match for copies of a volume on several nodes to be one
    volume made everywhere (C{docker volume create NAME}, docker-compose's
    project volumes).
    """
    volume = entry.volume
    return json.dumps([volume.get("Driver"), volume.get("Scope"), volume.get("Options"),
                       volume.get("Labels")], sort_keys=True)


def find_volume(entries, reference, nodes):
    """
    Resolve C{<node>/<name>}, a name unique in the cluster, or a name held
    by several nodes alike (same driver, scope, options and labels: made
    everywhere at once) whose copy on the first healthy node, by name,
    stands for them all: docker-compose inspects its project volumes by
    their bare name before every C{up}.

    @param nodes: a callable turning a node name or ID into its engine (or
        L{None}).
    @return: the L{VolumeEntry}.
    @raise DockerError: 404 for an unknown volume, 400 when a bare name is
        held by several nodes whose volumes differ.
    """
    node, name = split_node(reference)
    if node is not None:
        engine = nodes(node)
        for entry in entries:
            if entry.engine is engine and entry.name == name:
                return entry
        raise no_such_volume(reference)
    found = unique_volumes([e for e in entries if e.name == reference])
    if len(found) == 1:
        return found[0]
    if len(found) > 1 and len({_alike(e) for e in found}) == 1:
        return sorted(found, key=lambda e: (not getattr(e.engine, "healthy", True),
                                            e.engine.name))[0]
    if len(found) > 1:
        raise bad_request(
            "volume %s is ambiguous (%d nodes hold a volume of that name): use one of %s"
            % (reference, len(found), ", ".join(e.shown_name for e in found)))
    raise no_such_volume(reference)
