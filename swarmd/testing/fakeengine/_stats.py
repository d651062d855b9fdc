"""
What a fake engine reports about resource use: the frames of
C{GET /containers/{id}/stats} and the answer of C{GET /system/df}, in the
shapes dockerd 20.10 writes them on a cgroup v1 host (numbers made up, but
moving with the engine's clock: CPU time grows while a container runs).
"""

from swarmd.testing.fakeengine._layers import chain_ids, get_layer
from swarmd.testing.fakeengine._time import ZERO_TIME, rfc3339

#: Seconds between two frames of a stats stream (dockerd's collector).
STATS_INTERVAL = 1.0

_BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
               "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
               "io_time_recursive", "sectors_recursive")

_NETWORK_KEYS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets",
                 "tx_errors", "tx_dropped")

#: The cgroup v1 memory counters of a small busybox process.
_MEMORY_COUNTERS = (
    ("active_anon", 4096), ("active_file", 0), ("cache", 0), ("dirty", 0),
    ("hierarchical_memory_limit", 9223372036854771712),
    ("hierarchical_memsw_limit", 9223372036854771712), ("inactive_anon", 45056),
    ("inactive_file", 0), ("mapped_file", 0), ("pgfault", 1598), ("pgmajfault", 0),
    ("pgpgin", 1244), ("pgpgout", 1232), ("rss", 49152), ("rss_huge", 0),
    ("total_active_anon", 4096), ("total_active_file", 0), ("total_cache", 0),
    ("total_dirty", 0), ("total_inactive_anon", 45056), ("total_inactive_file", 0),
    ("total_mapped_file", 0), ("total_pgfault", 1598), ("total_pgmajfault", 0),
    ("total_pgpgin", 1244), ("total_pgpgout", 1232), ("total_rss", 49152),
    ("total_rss_huge", 0), ("total_unevictable", 0), ("total_writeback", 0),
    ("unevictable", 0), ("writeback", 0),
)


def _zero_cpu():
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def empty_stats(container):
    """
    The frame of a container that does not run: zeros, its name and ID.
    """
    return {
        "read": ZERO_TIME, "preread": ZERO_TIME, "pids_stats": {},
        "blkio_stats": {key: None for key in _BLKIO_KEYS}, "num_procs": 0,
        "storage_stats": {}, "cpu_stats": _zero_cpu(), "precpu_stats": _zero_cpu(),
        "memory_stats": {}, "name": "/" + container.name, "id": container.id,
    }


def cpu_stats(engine, container, now_ns):
    """
    The C{cpu_stats} of a running container at C{now_ns}: one percent of a
    CPU since it started.
    """
    ran = max(0, now_ns - (container.started or now_ns))
    total = 50000000 + ran // 100
    ncpu = max(1, engine.ncpu)
    share = total // ncpu
    percpu = [share] * ncpu
    percpu[0] += total - share * ncpu
    return {
        "cpu_usage": {"total_usage": total, "percpu_usage": percpu,
                      "usage_in_kernelmode": (total // 5) // 10000000 * 10000000,
                      "usage_in_usermode": (total * 4 // 5) // 10000000 * 10000000},
        "system_cpu_usage": (now_ns // 100) * ncpu,
        "online_cpus": ncpu,
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def stats_frame(engine, container, now_ns, previous=None):
    """
    One frame of a running container.

    @param previous: C{(read time ns, cpu_stats)} of the frame before, or
        L{None} for the first one.
    """
    limit = container.host_config.get("Memory") or engine.mem_total
    frame = {
        "read": rfc3339(now_ns),
        "preread": rfc3339(previous[0]) if previous else ZERO_TIME,
        "pids_stats": {"current": 1},
        "blkio_stats": {key: [] for key in _BLKIO_KEYS},
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": cpu_stats(engine, container, now_ns),
        "precpu_stats": previous[1] if previous else _zero_cpu(),
        "memory_stats": {"usage": 327680 + container.rw_size(), "max_usage": 4341760,
                         "stats": dict(_MEMORY_COUNTERS), "limit": limit},
        "name": "/" + container.name,
        "id": container.id,
    }
    interfaces = [name for name in sorted(container.networks)
                  if name not in ("host", "none")]
    if interfaces:
        frame["networks"] = {
            "eth%d" % (index,): dict({key: 0 for key in _NETWORK_KEYS}, rx_bytes=656,
                                     rx_packets=8)
            for index, _ in enumerate(interfaces)}
    return frame


def disk_usage(engine):
    """
    @return: C{GET /system/df}: layers counted once, images with how many
        containers use them and the size they share with other images,
        containers with their sizes, volumes with their use.
    """
    users = {}
    sizes = {}
    for image in engine.images.values():
        for diff_id, chain in zip(image.layers, chain_ids(image.layers), strict=True):
            users[chain] = users.get(chain, 0) + 1
            layer = get_layer(diff_id)
            sizes[chain] = layer.size if layer is not None else 0
    images = []
    for summary in engine.list_images():
        image = engine.images[summary["Id"]]
        summary["Containers"] = sum(1 for c in engine.containers.values()
                                    if c.image_id == image.id)
        summary["SharedSize"] = sum(sizes[chain] for chain in chain_ids(image.layers)
                                    if users.get(chain, 0) > 1)
        images.append(summary)
    now = engine._now_ns()
    containers = [c.summary(engine, now, size=True)
                  for c in reversed(list(engine.containers.values()))]
    volumes = []
    for name in sorted(engine.volumes):
        volume = dict(engine.volumes[name])
        volume["UsageData"] = {"RefCount": len(engine.volume_users(name)),
                               "Size": engine.volume_usage.get(name, 0)}
        volumes.append(volume)
    return {"LayersSize": sum(sizes.values()), "Images": images, "Containers": containers,
            "Volumes": volumes, "BuildCache": None, "BuilderSize": 0}


__all__ = ["STATS_INTERVAL", "cpu_stats", "disk_usage", "empty_stats", "stats_frame"]
