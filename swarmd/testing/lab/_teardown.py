"""
Stopping labs: a lab's teardown (L{tear_down}, what L{Lab.stop} does under
the lab's lock), stopping a lab from any process (L{stop_lab}), and reaping
the labs whose owner died (L{reap_orphans}).
"""

from __future__ import annotations

import contextlib
import os
import shutil

from swarmd.testing.lab import _cgroups, _processes
from swarmd.testing.lab import _host as host
from swarmd.testing.lab._engine import _HELPERS, LabError, read_state


def tear_down(lab, timeout: float) -> None:
    """
    Remove what a L{Lab}'s engines hold: their containers, their dockerds
    (C{SIGTERM} by recorded pid, C{SIGKILL} after C{timeout}) and helper
    processes, bridges, veths, namespaces, cgroups, any mount left under
    the lab's folder, and the engines' data.  Its slots are released.

    @raise LabError: if mounts are left under its folder (its data is then
        kept).
    """
    engines = [e for e in lab.engines]
    live = [e for e in engines if e.running()]
    # Containers first: a stopping dockerd would otherwise stop each one
    # with its full timeout (busybox sh ignores SIGTERM).
    for engine in live:
        with contextlib.suppress(Exception):
            if engine.ping(timeout=1.0):
                engine.remove_containers()
                engine.remove_networks()
    helpers: dict[int, int | None] = {}
    for engine in live:
        for pid in _processes.children(engine.pid or 0):
            helpers[pid] = _processes.start_time(pid)
    _processes.terminate({e.pid: e.started for e in live if e.pid}, timeout=timeout)
    for process in lab._processes:
        process.poll()
    folders = [e.folder for e in engines]
    for pid in _processes.processes_mentioning(folders, _HELPERS):
        helpers.setdefault(pid, _processes.start_time(pid))
    for engine in engines:
        if engine.netns:
            for pid in host.namespace_pids(engine.netns):
                helpers.setdefault(pid, _processes.start_time(pid))
    _processes.terminate(helpers, timeout=5.0)
    for engine in engines:
        if engine.netns:
            host.delete_namespace(engine.netns)
            host.delete_link(host.veth_name(engine.slot))
        else:
            host.delete_link(host.bridge_name(engine.slot))
        # Bridges of user-defined networks the engine did not remove
        # (it died first) are found by their addresses from its pool.
        for link in host.links_with_addresses(host.slot_prefixes(engine.slot)):
            host.delete_link(link)
        _cgroups.delete_cgroup(host.cgroup_name(engine.slot))
    left = host.unmount_under(lab.base)
    lab.registry.release([e.slot for e in engines], lab.base)
    if left:
        # Deleting files now could reach into whatever is mounted there.
        raise LabError("mounts left under %s (its data was kept): %s"
                       % (lab.base, ", ".join(left)))
    for engine in engines:
        for part in ("data", "exec", "cgroup", "docker.sock"):
            path = os.path.join(engine.folder, part)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)


def stop_lab(base: str) -> bool:
    """
    Stop the lab whose folder is C{base}, whichever process started it.

    @return: C{False} if C{base} holds no lab state (nothing to stop).
    """
    from swarmd.testing.lab._lab import Lab

    try:
        lab = Lab.load(base)
    except LabError:
        return False
    lab.stop()
    return True


def lab_status(base: str) -> list[dict]:
    """
    @return: L{Lab.status} of the lab in C{base}.
    @raise LabError: if C{base} holds no lab state.
    """
    from swarmd.testing.lab._lab import Lab

    return Lab.load(base).status()


def reap_orphans(registry: host.SlotRegistry | None = None) -> list[str]:
    """
    Forget claims no lab state mentions any more, and stop the
    non-persistent labs whose owner process is gone.

    @return: the folders of the labs stopped.
    """
    registry = registry or host.SlotRegistry()
    orphans = []
    with registry.locked():
        # Under the lock: a lab writes its claims and its first state
        # together while holding it.
        for slot, claim in sorted(registry.claims().items()):
            base = claim.get("base") or ""
            state = read_state(base) if base else None
            if state is None or state.get("status") == "stopped" or \
                    slot not in [e.get("slot") for e in state.get("engines", [])]:
                registry.forget(slot)
            elif not claim.get("persistent") and \
                    not _processes.alive(claim.get("owner"), claim.get("owner_start")):
                if base not in orphans:
                    orphans.append(base)
    for base in orphans:
        with contextlib.suppress(Exception):
            stop_lab(base)
    return orphans
