"""
The processes of the lab's host, read from C{/proc}: a pid with its start
time names a process for good (L{start_time}, L{alive}), the processes that
belong to a lab are found by the folders their command lines name
(L{processes_mentioning}), and L{terminate} stops them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable


def _stat(pid: int) -> list[str] | None:
    try:
        with open("/proc/%d/stat" % (pid,)) as f:
            data = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses.
    return data[data.rindex(")") + 2:].split()


def start_time(pid: int) -> int | None:
    """
    @return: when C{pid} started (clock ticks since boot), or C{None} if there
        is no such process; with the pid it names a process for good.
    """
    fields = _stat(pid)
    return int(fields[19]) if fields else None


def alive(pid: int | None, started: int | None = None) -> bool:
    """
    @param started: the L{start_time} recorded for C{pid}, if known.
    @return: C{True} if C{pid} runs (zombies are dead) and, given
        C{started}, is still the same process.
    """
    if not pid:
        return False
    fields = _stat(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def cmdline(pid: int) -> list[str]:
    try:
        with open("/proc/%d/cmdline" % (pid,), "rb") as f:
            return [a.decode("utf-8", "replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(pid: int) -> list[int]:
    """
    @return: the processes whose parent is C{pid}.
    """
    found = []
    for other in all_pids():
        fields = _stat(other)
        if fields and int(fields[1]) == pid:
            found.append(other)
    return found


def processes_mentioning(folders: Iterable[str], programs: Iterable[str]) -> list[int]:
    """
    @param folders: folders that belong to one lab.
    @param programs: program names to consider (C{containerd}, ...).
    @return: processes running one of C{programs} whose command line names a
        path inside one of C{folders} (so they surely belong to that lab).
    """
    folders = [f.rstrip("/") + "/" for f in folders]
    programs = set(programs)
    found = []
    for pid in all_pids():
        if pid == os.getpid():
            continue
        argv = cmdline(pid)
        if not argv or os.path.basename(argv[0]) not in programs:
            continue
        if any(f in arg for arg in argv for f in folders):
            found.append(pid)
    return found


def signal_pids(pids: Iterable[int], signum: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def terminate(pids: dict[int, int | None], timeout: float = 20.0) -> list[int]:
    """
    Stop processes: C{SIGTERM}, wait, then C{SIGKILL} what is left.

    @param pids: pid to its recorded L{start_time} (or C{None}); only pids
        that are still those processes are signalled.
    @return: the pids that had to be killed.
    """
    live = {p: s for p, s in pids.items() if alive(p, s)}
    signal_pids(live, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = {p: s for p, s in live.items() if alive(p, s)}
        if not live:
            return []
        time.sleep(0.05)
    killed = list(live)
    signal_pids(killed, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p, s) for p, s in live.items()):
        time.sleep(0.05)
    return killed
