"""
Each engine's share of the lab's host: its CPUs and memory (L{cpu_shares},
L{memory_total}, the C{/proc/meminfo} its engine reads,
L{write_meminfo}), and the cgroups that hold it to them (L{limit_cgroup},
L{delete_cgroup}).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterable

from swarmd.testing.lab._host import HostError, cgroup_folders
from swarmd.testing.lab._processes import signal_pids


def cpu_shares(count: int, cpus: Iterable[int] | None = None) -> list[list[int]]:
    """
    Split the CPUs among C{count} engines: each gets its own CPUs, as even
    a part as can be (sizes differ by one at most), when there are at least
    as many CPUs as engines; otherwise one CPU each, in turn (three engines
    on two CPUs: C{[[0], [1], [0]]}).

    @param cpus: the CPUs to split; by default the ones this process may run
        on (its affinity mask).
    @return: one sorted CPU list per engine.
    """
    available = sorted(os.sched_getaffinity(0) if cpus is None else cpus)
    if count <= len(available):
        size, extra = divmod(len(available), count)
        shares, start = [], 0
        for index in range(count):
            end = start + size + (1 if index < extra else 0)
            shares.append(available[start:end])
            start = end
        return shares
    return [[available[index % len(available)]] for index in range(count)]


def memory_total(meminfo: str = "/proc/meminfo") -> int:
    """
    @return: the host's memory in bytes (C{MemTotal}).
    """
    with open(meminfo) as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    raise HostError("no MemTotal in %s" % (meminfo,))


def write_meminfo(path: str, total: int, meminfo: str = "/proc/meminfo") -> None:
    """
    Write a copy of C{meminfo} that reports C{total} bytes of memory (free
    and available memory capped to it): what the lab binds over
    C{/proc/meminfo} for a dockerd, whose C{docker info} reads it.

    @param total: bytes.
    """
    capped = ("MemTotal:", "MemFree:", "MemAvailable:")
    lines = []
    with open(meminfo) as f:
        for line in f:
            if line.startswith(capped):
                name, value = line.split()[:2]
                line = "%-16s%8d kB\n" % (name, min(int(value), total // 1024))
            lines.append(line)
    with open(path, "w") as f:
        f.writelines(lines)


def limit_cgroup(name: str, cpus: list[int], memory: int) -> list[str]:
    """
    Confine the cgroup C{name} (an engine's C{--cgroup-parent}, holding its
    containers) to C{cpus} and C{memory} bytes, creating it: the cgroup v1
    C{cpuset} and C{memory} controllers, or the v2 root's files.  Best
    effort: a controller this host lacks is skipped.

    @return: the limits that could not be set, as C{"FILE: REASON"}.
    """
    text = ",".join(str(cpu) for cpu in cpus)
    root = "/sys/fs/cgroup"
    if os.path.isdir(os.path.join(root, "cpuset")) or os.path.isdir(os.path.join(root, "memory")):
        writes = [(os.path.join(root, "cpuset"), "cpuset.mems", None),
                  (os.path.join(root, "cpuset"), "cpuset.cpus", text),
                  (os.path.join(root, "memory"), "memory.limit_in_bytes", str(memory))]
    else:
        writes = [(root, "cpuset.cpus", text), (root, "memory.max", str(memory))]
    failed = []
    for top, file, value in writes:
        if not os.path.isdir(top):
            continue
        folder = os.path.join(top, name)
        try:
            os.makedirs(folder, exist_ok=True)
            if value is None:
                # A v1 cpuset takes no task before it has memory nodes: the
                # parent's.
                with open(os.path.join(top, file)) as f:
                    value = f.read().strip()
            with open(os.path.join(folder, file), "w") as f:
                f.write(value)
        except OSError as e:
            failed.append("%s: %s" % (os.path.join(folder, file), e.strerror or e))
    return failed


def delete_cgroup(name: str) -> list[str]:
    """
    Remove every cgroup folder C{name} (see L{cgroup_folders}), killing any
    process still inside first.

    @return: the folders that could not be removed.
    """
    left = []
    for top in cgroup_folders(name):
        for folder, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            for _attempt in range(50):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        left.append(folder)
                        break
                    with contextlib.suppress(OSError), open(
                            os.path.join(folder, "cgroup.procs")) as f:
                        signal_pids([int(p) for p in f.read().split()], signal.SIGKILL)
                    time.sleep(0.1)
            else:
                left.append(folder)
    return left
