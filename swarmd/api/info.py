"""
C{GET /info} and C{GET /version}: the manager's own answers, with classic
Swarm's node table in C{SystemStatus}.
"""

import json
import operator
import os
import platform
import socket
from datetime import UTC, datetime

from swarmd import API_VERSION, MIN_API_VERSION, __version__

_BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def bytes_size(size):
    """
    Docker's C{units.BytesSize}: C{"1.021 GiB"}, C{"0 B"}.
    """
    size = float(size)
    unit = 0
    while size >= 1024 and unit < len(_BINARY_UNITS) - 1:
        size /= 1024
        unit += 1
    return "%.4g %s" % (size, _BINARY_UNITS[unit])


def _rfc3339(seconds):
    if seconds is None:
        return "0001-01-01T00:00:00Z"
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def container_counts(containers):
    """
    @return: C{(total, running, paused, stopped)} of L{Container}s.
    """
    total = running = paused = 0
    for container in containers:
        total += 1
        if container.paused:
            paused += 1
        elif container.running:
            running += 1
    return total, running, paused, total - running - paused


def _engine_block(engine):
    """
    What one node brings to C{/info}: its container counts, CPUs, memory,
    image IDs and rows of the table (also encoded); made again only when
    the engine changed.  Its C{UpdatedAt} row is not in it (see
    L{_node_rows}): every refresh changes that one alone, and at 5,000
    engines a few refresh between two calls.

    @return: C{(counts, engine, encoded rows before UpdatedAt between
        commas, cpus, memory, image IDs, the encoded row after it after a
        comma, rows before, rows after)}.
    """
    key = (engine.revision, engine.specs_revision, engine.state, engine.error,
           engine.failures)
    cached = getattr(engine, "_info_block", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    counts = container_counts(engine.containers.values())
    total, running, paused, stopped = counts
    labels = ", ".join(sorted("%s=%s" % kv for kv in engine.labels.items()))
    rows = [
        [" " + (engine.name or "(unknown)"), engine.address],
        ["  └ ID", engine.id],
        ["  └ Status", engine.state],
        ["  └ Containers", "%d (%d Running, %d Paused, %d Stopped)" % (
            total, running, paused, stopped)],
        ["  └ Reserved CPUs", "%d / %d" % (engine.used_cpus, engine.total_cpus)],
        ["  └ Reserved Memory", "%s / %s" % (bytes_size(engine.used_memory),
                                              bytes_size(engine.total_memory))],
        ["  └ Labels", labels],
        ["  └ Error", engine.error or "(none)"],
    ]
    after = [["  └ ServerVersion", engine.version.get("Version")
              or engine.info.get("ServerVersion", "")]]
    block = (counts, engine, b"," + _encoded_rows(rows) + b",",
             engine.total_cpus, engine.total_memory,
             frozenset(image.get("Id") for image in engine.images),
             b"," + _encoded_rows(after), rows, after)
    engine._info_block = (key, block)
    return block


def _encoded_rows(rows):
    return json.dumps(rows, separators=(",", ":"))[1:-1].encode("utf-8")


#: Encoded C{UpdatedAt} rows by whole second: the engines refreshed in one
#: second share one (at 5,000 engines the first C{/info} after a quiet
#: minute found ~3,900 rows to make, 94-156 ms of one call).
_UPDATED_ROWS: dict[int | None, bytes] = {}

#: Rows kept at most in L{_UPDATED_ROWS} (then it starts again).
_UPDATED_ROWS_KEPT = 4096


def _updated_row(when):
    """
    @param when: an engine's C{updated_at} (seconds), or L{None}.
    @return: its encoded C{UpdatedAt} row.
    """
    second = None if when is None else int(when)
    row = _UPDATED_ROWS.get(second)
    if row is None:
        if len(_UPDATED_ROWS) >= _UPDATED_ROWS_KEPT:
            _UPDATED_ROWS.clear()
        row = _UPDATED_ROWS[second] = _encoded_rows([["  └ UpdatedAt", _rfc3339(second)]])
    return row


def _node_rows(engine, block):
    """
    The engine's encoded rows, its C{UpdatedAt} row in place, kept until
    its block or its C{UpdatedAt} changes.
    """
    when = engine.updated_at
    kept = engine._info_rows = (when, block, block[2] + _updated_row(when) + block[6])
    return kept[2]


def _table_head(cluster, strategy, filters, role):
    rows = [["Role", role[0]]]
    if role[1]:
        rows.append(["Primary", role[1]])
    rows += [
        ["Strategy", strategy],
        ["Filters", ", ".join(filters)],
        ["Nodes", str(len(cluster.engines))],
    ]
    error = getattr(cluster, "discovery_error", None)
    if error:
        rows.append(["Discovery Error", error + " (serving the last known nodes)"])
    return rows


_BY_NAME = operator.attrgetter("name", "address")
_SPECS = operator.attrgetter("specs_revision")


def _ordered(cluster):
    """
    The engines in the table's order (by name, address), kept on the
    cluster with the engines and their specs revisions it was sorted from
    (a name changes only with its engine's specs): sorting 5,000 engines
    on every call was a quarter of it.
    """
    engines = tuple(cluster.engines.values())
    specs = list(map(_SPECS, engines))
    kept = getattr(cluster, "_info_order", None)
    if kept is not None and kept[0] == engines and kept[1] == specs:
        return kept[2]
    ordered = sorted(engines, key=_BY_NAME)
    cluster._info_order = (engines, specs, ordered)
    return ordered


def _blocks(cluster):
    """
    Every node's L{_engine_block}, in the table's order.
    """
    return [_engine_block(engine) for engine in _ordered(cluster)]


def _totals(blocks):
    """
    The cluster's counts, CPUs, memory and image IDs, summed from the
    nodes' blocks.

    @return: C{(total, running, paused, cpus, memory, image IDs)}.
    """
    total = running = paused = cpus = memory = 0
    images: set = set()
    for block in blocks:
        counts = block[0]
        total += counts[0]
        running += counts[1]
        paused += counts[2]
        cpus += block[3]
        memory += block[4]
        images.update(block[5])
    return total, running, paused, cpus, memory, images


def _summed(cluster, blocks):
    """
    L{_totals}, kept on the cluster with the blocks they were made of: a
    call whose blocks are all the same objects as the last one's (no node
    changed in between: they are compared by identity first) reuses them.

    @return: the totals.
    """
    kept = getattr(cluster, "_info_summed", None)
    if kept is not None and kept[0] == blocks:
        return kept[1]
    totals = _totals(blocks)
    cluster._info_summed = (blocks, totals)
    return totals


def _table_parts(head, blocks):
    """
    The node table, encoded, in pieces: the head rows, then each node's
    kept rows (L{_node_rows}).
    """
    parts = [b"[", head]
    append = parts.append
    for block in blocks:
        engine = block[1]
        # _node_rows' check, inline: this loop runs over every node.
        kept = getattr(engine, "_info_rows", None)
        if kept is not None and kept[1] is block and kept[0] == engine.updated_at:
            append(kept[2])
        else:
            append(_node_rows(engine, block))
    append(b"]")
    return parts


def node_table(cluster, strategy, filters, role=("primary", None), blocks=None):
    """
    Classic Swarm's C{SystemStatus} rows.

    @param strategy: the strategy's name.
    @param filters: the filter names in order.
    @param role: C{("primary", None)} or C{("replica", primary_address)}.
    @param blocks: the nodes' L{_blocks}, if already at hand.
    @return: a C{list} of C{[key, value]} pairs.
    """
    rows = _table_head(cluster, strategy, filters, role)
    for block in blocks if blocks is not None else _blocks(cluster):
        rows += block[7]
        rows.append(["  └ UpdatedAt", _rfc3339(block[1].updated_at)])
        rows += block[8]
    return rows


_STATUS_MARK = "\x00system-status\x00"


def info_bytes(cluster, strategy, filters, **kwargs):
    """
    The encoded C{GET /info} answer, the node table assembled from each
    engine's cached rows (at 1,000 engines the table is 10,000 rows).
    """
    blocks = _blocks(cluster)
    totals = _summed(cluster, blocks)
    answer = info(cluster, strategy, filters, table=False, blocks=blocks, totals=totals,
                  **kwargs)
    answer["SystemStatus"] = _STATUS_MARK
    head = _encoded_rows(_table_head(cluster, strategy, filters,
                                     kwargs.get("role", ("primary", None))))
    encoded = json.dumps(answer, separators=(",", ":")).encode("utf-8")
    before, _, after = encoded.partition(json.dumps(_STATUS_MARK).encode("ascii"))
    # One join, one copy of the (at 5,000 nodes, 4 MB) answer.
    parts = _table_parts(head, blocks)
    parts.insert(0, before)
    parts.append(after)
    parts.append(b"\n")
    return b"".join(parts)


def info(cluster, strategy, filters, debug=False, events_listeners=0, role=("primary", None),
         table=True, blocks=None, totals=None):
    """
    The C{GET /info} answer.

    @param table: include the node table (C{SystemStatus}).
    @param blocks: the nodes' L{_blocks}, if already at hand.
    @param totals: their L{_totals}, if already at hand.
    """
    if blocks is None:
        blocks = _blocks(cluster)
    total, running, paused, cpus, memory, images = (
        _totals(blocks) if totals is None else totals)
    stopped = total - running - paused
    return {
        "ID": "",
        "Containers": total,
        "ContainersRunning": running,
        "ContainersPaused": paused,
        "ContainersStopped": stopped,
        "Images": len(images),
        "Driver": "",
        "DriverStatus": None,
        "SystemStatus": node_table(cluster, strategy, filters, role, blocks) if table else None,
        "Plugins": {"Volume": None, "Network": None, "Authorization": None, "Log": None},
        "MemoryLimit": True,
        "SwapLimit": True,
        "KernelMemory": False,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "CPUShares": True,
        "CPUSet": True,
        "PidsLimit": False,
        "IPv4Forwarding": True,
        "BridgeNfIptables": True,
        "BridgeNfIp6tables": True,
        "Debug": debug,
        "NFd": 0,
        "OomKillDisable": True,
        "NGoroutines": 0,
        "SystemTime": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "LoggingDriver": "",
        "CgroupDriver": "",
        "NEventsListener": events_listeners,
        "KernelVersion": platform.release(),
        "OperatingSystem": "linux",
        "OSType": "linux",
        "Architecture": platform.machine(),
        "IndexServerAddress": "",
        "RegistryConfig": None,
        "NCPU": cpus,
        "MemTotal": memory,
        "GenericResources": None,
        "DockerRootDir": "",
        "HttpProxy": os.environ.get("http_proxy", ""),
        "HttpsProxy": os.environ.get("https_proxy", ""),
        "NoProxy": os.environ.get("no_proxy", ""),
        "Name": socket.gethostname(),
        "Labels": [],
        "ExperimentalBuild": False,
        "ServerVersion": "swarm/" + __version__,
        "Runtimes": {},
        "DefaultRuntime": "",
        "Swarm": {"NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                  "ControlAvailable": False, "Error": "", "RemoteManagers": None},
        "LiveRestoreEnabled": False,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": [],
        "Warnings": None,
    }


def version():
    """
    The C{GET /version} answer.
    """
    return {
        "Platform": {"Name": "swarmd"},
        "Components": [{"Name": "Swarm", "Version": __version__,
                        "Details": {"ApiVersion": API_VERSION,
                                    "MinAPIVersion": MIN_API_VERSION}}],
        "Version": "swarm/" + __version__,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "python" + platform.python_version(),
        "Os": "linux",
        "Arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(),
                                                           platform.machine()),
        "KernelVersion": platform.release(),
        "BuildTime": "",
    }
