"""
Node-prefixed volumes in a container create body (C{-v n1/data:/d},
C{--mount source=n1/data,target=/d}): the engine gets the bare name and the
container a constraint to the node (the volume is created there when it
does not exist yet, as an engine does for any named volume).  Their names
are listed under L{PINNED_VOLUMES}, so that the scheduler does not tie the
container to other nodes holding a volume of that name.

A bare name (C{-v data:/d}) is left to the scheduler, which keeps the
container on the nodes holding that volume when only some do (see
L{swarmd.scheduler.ContainerConfig.locate_volumes}).
"""

from swarmd.scheduler.config import PINNED_VOLUMES


def _split(source, engines):
    """
    @return: C{(engine name, bare name)} when C{source} is C{<node>/<name>}
        with a known node, else L{None}.
    """
    if not isinstance(source, str) or source[:1] in ("/", ".", "~", ""):
        return None
    node, sep, name = source.partition("/")
    if not sep or not name or "/" in name:
        return None
    for engine in engines:
        if node in (engine.name, engine.id):
            return engine.name, name
    return None


def pin_volumes(body, engines):
    """
    Rewrite node-prefixed volume sources of C{HostConfig.Binds} and
    C{HostConfig.Mounts} (type C{volume}) in place.

    @param body: a create body (changed).
    @param engines: every engine of the cluster.
    @return: a C{list} of constraint expressions (C{node==<name>}) to add;
        the bare names of the volumes pinned are appended to
        C{body[PINNED_VOLUMES]}.
    """
    host = body.get("HostConfig")
    if not isinstance(host, dict):
        return []
    nodes = []
    pinned = []
    binds = host.get("Binds")
    if isinstance(binds, list):
        rewritten = []
        for bind in binds:
            if isinstance(bind, str):
                source, sep, rest = bind.partition(":")
                found = _split(source, engines) if sep else None
                if found is not None:
                    nodes.append(found[0])
                    pinned.append(found[1])
                    bind = found[1] + sep + rest
            rewritten.append(bind)
        host["Binds"] = rewritten
    mounts = host.get("Mounts")
    if isinstance(mounts, list):
        for mount in mounts:
            if not isinstance(mount, dict) or (mount.get("Type") or "volume") != "volume":
                continue
            found = _split(mount.get("Source"), engines)
            if found is not None:
                nodes.append(found[0])
                pinned.append(found[1])
                mount["Source"] = found[1]
    if pinned:
        body[PINNED_VOLUMES] = list(dict.fromkeys((body.get(PINNED_VOLUMES) or []) + pinned))
    return ["node==" + name for name in dict.fromkeys(nodes)]
