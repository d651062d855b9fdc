"""
The cluster's volumes as one list: every engine's cached C{/volumes},
local ones shown as C{<node>/<name>}, others (a driver with a wider scope)
once; list filters and the lookup of a volume reference.

Pure functions over engines (anything with C{name}, C{id}, C{address},
C{volumes} and C{containers}).
"""

import json

import attr

from swarmd.api.errors import bad_request, not_found
from swarmd.api.listfilters import labels_match, regex_match

#: The filters C{GET /volumes} accepts (Docker's, plus C{node}).
VOLUME_FILTERS = frozenset(["name", "driver", "label", "dangling", "node"])


@attr.s(frozen=True, eq=False, repr=False)
class VolumeEntry:
    """
    One volume of one engine.

    @ivar engine: the L{swarmd.cluster.Engine} holding it.
    @ivar volume: the volume C{dict} as the engine lists it.
    """

    engine = attr.ib()
    volume = attr.ib()

    def __repr__(self):
        return "<VolumeEntry %s>" % (self.shown_name,)

    @property
    def name(self):
        return self.volume.get("Name") or ""

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

    @property
    def shown_name(self):
        return volume_name(self.engine, self.name) if self.local else self.name

    def summary(self):
        """
        @return: a copy of the engine's C{dict} with L{shown_name} as C{Name}.
        """
        shown = dict(self.volume)
        shown["Name"] = self.shown_name
        return shown


def volume_name(engine, name):
    """
    @return: C{<node>/<name>}.
    """
    return "%s/%s" % (engine.name, name)


def cluster_volumes(engines):
    """
    Every cached volume of every engine.

    @return: a C{list} of L{VolumeEntry}.
    """
    return [VolumeEntry(engine, volume)
            for engine in engines for volume in (engine.volumes or ())
            if isinstance(volume, dict)]


def unique_volumes(entries):
    """
    Each local volume, and each other volume once per driver and name.

    @return: a C{list} of L{VolumeEntry}, sorted by shown name.
    """
    seen = set()
    kept = []
    for entry in entries:
        if not entry.local:
            key = (entry.volume.get("Driver"), entry.name)
            if key in seen:
                continue
            seen.add(key)
        kept.append(entry)
    kept.sort(key=lambda e: (e.shown_name, e.engine.name))
    return kept


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
        volume = entry.volume
        if filters.get("name") and not (regex_match(filters["name"], entry.name)
                                        or regex_match(filters["name"], entry.shown_name)):
            return False
        if filters.get("driver") and volume.get("Driver") not in filters["driver"]:
            return False
        if filters.get("label") and not labels_match(filters["label"],
                                                     volume.get("Labels") or {}):
            return False
        if filters.get("node") and not (regex_match(filters["node"], entry.engine.name, "node")
                                        or regex_match(filters["node"], entry.engine.id, "node")):
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
    node, sep, name = reference.partition("/")
    if sep and node and name:
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
