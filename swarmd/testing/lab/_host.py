"""
The host plumbing of the lab: commands, slots shared by every lab on the
machine, bridges, network namespaces and mounts.  The host's processes are
in L{swarmd.testing.lab._processes}, each engine's share of CPUs and memory
(and its cgroup) in L{swarmd.testing.lab._cgroups}.

A I{slot} is a small number that is unique on the host while a lab holds it;
everything host-wide an engine needs is named after its slot (bridge
C{swbrS}, subnet C{10.77.S.0/24}, TCP port C{23750+S}, cgroup C{swarm-nS},
namespace C{swlab-S}, veth C{swvS}), so labs started by different processes
never collide.  Slots are claimed in L{REGISTRY} under a file lock, and a slot
counts as taken while anything named after it exists, whoever made it.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterable, Iterator

from swarmd.testing.lab._processes import signal_pids

#: Host-wide folder of slot claims (one JSON file per claimed slot).
REGISTRY = "/run/swarmd-lab"

#: An engine's loopback TCP port is C{BASE_PORT + slot}.
BASE_PORT = 23750

#: Slots are 1..MAX_SLOT (they are one octet of the lab's subnets).
MAX_SLOT = 250

#: The port of an engine's API inside its own network namespace.
NETNS_PORT = 2375

#: A PATH that finds dockerd, ip and friends even from a trimmed environment.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class HostError(Exception):
    """
    A host command failed.
    """


def environment(**extra: str) -> dict[str, str]:
    """
    @return: this process' environment with the system folders on C{PATH}
        and C{extra} added.
    """
    env = dict(os.environ)
    path = env.get("PATH", "")
    missing = [p for p in SYSTEM_PATH.split(":") if p not in path.split(":")]
    env["PATH"] = ":".join(filter(None, [path] + missing))
    env.update(extra)
    return env


def run(*argv: str, check: bool = True, timeout: float = 60.0,
        input: str | None = None) -> subprocess.CompletedProcess:
    """
    Run a host command.

    @raise HostError: if C{check} and it failed (the message holds its
        output).
    @return: the L{subprocess.CompletedProcess} (text mode).
    """
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              input=input, env=environment())
    except (OSError, subprocess.TimeoutExpired) as e:
        if check:
            raise HostError("%s: %s" % (" ".join(argv), e)) from e
        return subprocess.CompletedProcess(list(argv), 127, "", str(e))
    if check and done.returncode != 0:
        raise HostError("%s: exit status %d: %s" % (
            " ".join(argv), done.returncode, (done.stderr or done.stdout).strip()))
    return done


# -- names --------------------------------------------------------------------

def bridge_name(slot: int) -> str:
    return "swbr%d" % (slot,)


def veth_name(slot: int) -> str:
    return "swv%d" % (slot,)


def netns_name(slot: int) -> str:
    return "swlab-%d" % (slot,)


def cgroup_name(slot: int) -> str:
    return "swarm-n%d" % (slot,)


def bridge_address(slot: int) -> str:
    """
    @return: the address of the engine's bridge (its containers get the rest
        of C{10.77.S.0/24}).
    """
    return "10.77.%d.1" % (slot,)


def host_side_address(slot: int) -> str:
    """
    @return: the host's end of the veth of a namespaced engine.
    """
    return "10.78.%d.1" % (slot,)


def namespace_address(slot: int) -> str:
    """
    @return: the address of a namespaced engine, as seen from the host.
    """
    return "10.78.%d.2" % (slot,)


def address_pool(slot: int) -> str:
    """
    @return: the pool user-defined networks of the engine are cut from.
    """
    return "10.79.%d.0/24" % (slot,)


def tcp_port(slot: int) -> int:
    return BASE_PORT + slot


# -- what exists --------------------------------------------------------------

def link_exists(name: str) -> bool:
    return os.path.exists(os.path.join("/sys/class/net", name))


def netns_exists(name: str) -> bool:
    return os.path.exists(os.path.join("/run/netns", name))


def cgroup_folders(name: str) -> list[str]:
    """
    @return: every folder called C{name} directly under a cgroup hierarchy
        (v1 controllers and the v2 root).
    """
    found = glob.glob(os.path.join("/sys/fs/cgroup", "*", name))
    found += glob.glob(os.path.join("/sys/fs/cgroup", name))
    return sorted(f for f in found if os.path.isdir(f))


def host_addresses() -> set[str]:
    """
    @return: the IPv4 addresses configured in the host's network namespace.
    """
    listing = run("ip", "-o", "-4", "addr", "show", check=False).stdout
    found = set()
    for line in listing.splitlines():
        words = line.split()
        if "inet" in words:
            found.add(words[words.index("inet") + 1].split("/")[0])
    return found


def links_with_addresses(prefixes: tuple[str, ...]) -> list[str]:
    """
    @param prefixes: address prefixes such as C{"10.79.3."}.
    @return: the host's network interfaces holding an IPv4 address that
        starts with one of C{prefixes}.
    """
    listing = run("ip", "-o", "-4", "addr", "show", check=False).stdout
    found = []
    for line in listing.splitlines():
        words = line.split()
        if "inet" in words and words[words.index("inet") + 1].startswith(prefixes):
            name = words[1].split("@")[0]
            if name not in found:
                found.append(name)
    return found


def slot_prefixes(slot: int) -> tuple[str, ...]:
    """
    @return: the address prefixes of everything a slot's engine makes:
        its bridge, its veth, its user-defined networks.
    """
    return tuple("10.%d.%d." % (second, slot) for second in (77, 78, 79))


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """
    @return: C{True} if a listener could bind C{host:port} now (as dockerd
        does, with C{SO_REUSEADDR}, so connections in TIME_WAIT do not count).
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def slot_in_use(slot: int, addresses: set[str]) -> str | None:
    """
    @param addresses: the host's addresses (L{host_addresses}).
    @return: why C{slot} cannot be used now, or C{None} if it can.
    """
    for link in (bridge_name(slot), veth_name(slot)):
        if link_exists(link):
            return "link %s exists" % (link,)
    if netns_exists(netns_name(slot)):
        return "network namespace %s exists" % (netns_name(slot),)
    if cgroup_folders(cgroup_name(slot)):
        return "cgroup %s exists" % (cgroup_name(slot),)
    if any(a.startswith(slot_prefixes(slot)) for a in addresses):
        return "an address in 10.77-79.%d.0/24 is in use" % (slot,)
    if not port_free(tcp_port(slot)):
        return "port %d is in use" % (tcp_port(slot),)
    return None


# -- slot registry ------------------------------------------------------------

class SlotRegistry:
    """
    The host-wide claims of slots, one JSON file per claimed slot:
    C{{"base": folder of the lab, "persistent": bool, "owner": pid,
    "owner_start": start time}}.
    """

    def __init__(self, folder: str = REGISTRY):
        self.folder = folder

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """
        Hold the registry's lock (a C{flock}, released if the process dies).
        """
        os.makedirs(self.folder, exist_ok=True)
        with open(os.path.join(self.folder, "lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def _path(self, slot: int) -> str:
        return os.path.join(self.folder, "slot-%d.json" % (slot,))

    def claims(self) -> dict[int, dict]:
        """
        @return: every claim, by slot.
        """
        found = {}
        for path in glob.glob(os.path.join(self.folder, "slot-*.json")):
            try:
                slot = int(os.path.basename(path)[5:-5])
                with open(path) as f:
                    found[slot] = json.load(f)
            except (ValueError, OSError):
                continue
        return found

    def pick(self, count: int, claims: dict[int, dict]) -> list[int]:
        """
        Choose free slots (call with the lock held).

        @raise HostError: if fewer than C{count} are free.
        @return: the lowest C{count} slots neither claimed nor in use.
        """
        addresses = host_addresses()
        chosen = []
        for slot in range(1, MAX_SLOT + 1):
            if slot in claims or slot_in_use(slot, addresses):
                continue
            chosen.append(slot)
            if len(chosen) == count:
                return chosen
        raise HostError("only %d free lab slots, %d wanted" % (len(chosen), count))

    def claim(self, slots: Iterable[int], claim: dict) -> None:
        """
        Record claims (call with the lock held).
        """
        for slot in slots:
            with open(self._path(slot), "w") as f:
                json.dump(claim, f)

    def release(self, slots: Iterable[int], base: str) -> None:
        """
        Drop the claims of C{slots} that belong to the lab in C{base}.
        """
        claims = self.claims()
        for slot in slots:
            if claims.get(slot, {}).get("base") == base:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._path(slot))

    def forget(self, slot: int) -> None:
        """
        Drop a claim whatever lab holds it.
        """
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(slot))


# -- links, namespaces, mounts -----------------------------------------------

def add_bridge(name: str, address: str, netns: str | None = None) -> None:
    """
    Create a bridge with C{address}/24 and bring it up.
    """
    ip = ("ip", "-n", netns) if netns else ("ip",)
    run(*ip, "link", "add", name, "type", "bridge")
    run(*ip, "addr", "add", address + "/24", "dev", name)
    run(*ip, "link", "set", name, "up")


def add_namespace(slot: int) -> None:
    """
    Create the network namespace of a slot: loopback up, a veth to the host
    (host end L{host_side_address}, inside end L{namespace_address} on
    C{eth0}), the engine's bridge inside, and IP forwarding on inside.
    """
    ns = netns_name(slot)
    run("ip", "netns", "add", ns)
    run("ip", "link", "add", veth_name(slot), "type", "veth", "peer", "name", "eth0",
        "netns", ns)
    run("ip", "addr", "add", host_side_address(slot) + "/24", "dev", veth_name(slot))
    run("ip", "link", "set", veth_name(slot), "up")
    run("ip", "-n", ns, "link", "set", "lo", "up")
    run("ip", "-n", ns, "addr", "add", namespace_address(slot) + "/24", "dev", "eth0")
    run("ip", "-n", ns, "link", "set", "eth0", "up")
    add_bridge(bridge_name(slot), bridge_address(slot), netns=ns)
    run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")


def namespace_pids(name: str) -> list[int]:
    """
    @return: the processes inside network namespace C{name}.
    """
    if not netns_exists(name):
        return []
    listing = run("ip", "netns", "pids", name, check=False).stdout
    return [int(p) for p in listing.split() if p.isdigit()]


def delete_link(name: str) -> None:
    if link_exists(name):
        run("ip", "link", "del", name, check=False)


def delete_namespace(name: str) -> None:
    if netns_exists(name):
        signal_pids(namespace_pids(name), signal.SIGKILL)
        run("ip", "netns", "del", name, check=False)


def _unescape(path: str) -> str:
    # /proc/self/mountinfo writes space, tab, newline and backslash as \ooo.
    out, i = [], 0
    while i < len(path):
        if path[i] == "\\" and i + 4 <= len(path) and path[i + 1:i + 4].isdigit():
            out.append(chr(int(path[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(path[i])
            i += 1
    return "".join(out)


def mounts_under(folder: str) -> list[str]:
    """
    @return: the mount points at or under C{folder} in this process' mount
        namespace, deepest first.
    """
    folder = os.path.realpath(folder).rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = _unescape(line.split()[4])
            if point == folder or point.startswith(folder + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: (-p.count("/"), p))


def unmount_under(folder: str) -> list[str]:
    """
    Unmount everything at or under C{folder} (lazily if busy).

    @return: the mount points still there afterwards.
    """
    for _ in range(3):
        points = mounts_under(folder)
        if not points:
            return []
        for point in points:
            if run("umount", point, check=False).returncode != 0:
                run("umount", "-l", point, check=False)
    return mounts_under(folder)


def enable_ip_forward() -> None:
    """
    Turn on the host's IPv4 forwarding if it is off, which silences the
    "IPv4 forwarding is disabled" warning of every bridged container create.
    """
    path = "/proc/sys/net/ipv4/ip_forward"
    with contextlib.suppress(OSError):
        with open(path) as f:
            if f.read().strip() == "1":
                return
        run("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", check=False)
