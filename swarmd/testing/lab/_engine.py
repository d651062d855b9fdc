"""
One engine of a lab (L{LabEngine}), what the lab needs installed, and its errors.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Mapping, Sequence

import attr

from swarmd.testing.lab import _host as host
from swarmd.testing.lab import _processes
from swarmd.testing.lab._image import BUSYBOX, is_static
from swarmd.testing.lab._tls import LabTLS

#: Debian packages the lab needs.
PACKAGES = ("docker.io", "busybox-static", "iptables")

#: Name of the lab's state file inside its folder.
STATE = "state.json"

#: Unix socket paths longer than this do not fit in C{sockaddr_un} once
#: containerd adds its own names under the exec root.
_MAX_BASE = 60

#: Programs a lab's dockerd starts that may outlive it if it is killed.
_HELPERS = ("containerd", "containerd-shim", "containerd-shim-runc-v2", "docker-proxy",
            "runc", "docker-init")


class LabError(Exception):
    """
    The lab could not start (the message holds the failing engines' log
    tails) or is not in the state asked for.
    """


class DockerCommandError(subprocess.CalledProcessError):
    """
    A docker CLI command run by L{LabEngine.docker} failed; unlike its base
    class, its message shows the command's output.
    """

    def __str__(self) -> str:
        return "%s\n%s%s" % (super().__str__(), self.stdout or "", self.stderr or "")


def default_labels(index: int) -> dict[str, str]:
    """
    @return: the extra labels of engine C{index} when none are given:
        C{storage=ssd} for odd indices, C{storage=disk} for even ones.
    """
    return {"storage": "ssd" if index % 2 else "disk"}


def _docker_cli() -> str:
    found = shutil.which("docker", path=host.environment()["PATH"])
    if found is None:
        raise LabError("the docker CLI is not installed")
    return found


def _find(program: str) -> str | None:
    return shutil.which(program, path=host.environment()["PATH"])


def ensure_installed(run=subprocess.run, find=_find, busybox: str = BUSYBOX) -> list[str]:
    """
    Install with apt-get what the lab needs and this machine lacks: Debian's
    C{docker.io}, C{busybox-static} and C{iptables} when C{dockerd} is
    missing, C{busybox-static} alone when the host's busybox is missing or
    not static.

    @param run: L{subprocess.run} or a stand-in for tests.
    @param find: C{shutil.which}-like lookup of a program.
    @param busybox: where the static busybox must be.
    @raise LabError: if apt-get fails.
    @return: the packages installed (empty if nothing was missing).
    """
    missing: list[str] = []
    if find("dockerd") is None:
        missing.extend(PACKAGES)
    elif not is_static(busybox):
        missing.append("busybox-static")
    if find("ip") is None:
        missing.append("iproute2")
    if not missing:
        return []
    env = host.environment(DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing]):
        done = run(argv, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise LabError("%s failed: %s" % (" ".join(argv), (done.stderr or done.stdout)[-2000:]))
    return missing


@attr.s(auto_attribs=True, kw_only=True, eq=False)
class LabEngine:
    """
    One engine of a L{Lab}.

    @ivar index: 1-based position in its lab.
    @ivar name: C{nI}: its host name, so its C{docker info} Name, and its
        C{node} label.
    @ivar slot: the host-wide slot it holds (see L{swarmd.testing.lab._host}).
    @ivar folder: its folder (data root, exec root, socket, pidfile, log).
    @ivar socket: path of its unix socket.
    @ivar tcp: its TCP API address, C{"127.0.0.1:PORT"}, or
        C{"10.78.S.2:2375"} in a namespaced lab.
    @ivar labels: its engine labels (C{node} included).
    @ivar pid: the dockerd pid, once started.
    @ivar started: the dockerd's start time (with C{pid}, names it for good).
    @ivar netns: its network namespace, or C{None}.
    @ivar tls: the certificates its TCP listener demands, or C{None}.
    @ivar cpus: the CPUs its dockerd and containers run on (its C{docker
        info} NCPU), or C{None} for all of them.
    @ivar memory: the memory in bytes its dockerd reports (MemTotal) and
        its containers may use together, or C{None} for the host's.
    """

    index: int
    name: str
    slot: int
    folder: str
    tcp: str
    labels: dict[str, str]
    pid: int | None = None
    started: int | None = None
    netns: str | None = None
    tls: LabTLS | None = None
    cpus: list[int] | None = None
    memory: int | None = None

    @property
    def socket(self) -> str:
        return os.path.join(self.folder, "docker.sock")

    @property
    def unix_url(self) -> str:
        """
        @return: C{unix:///.../docker.sock}
        """
        return "unix://" + self.socket

    @property
    def tcp_url(self) -> str:
        """
        @return: C{tcp://HOST:PORT}
        """
        return "tcp://" + self.tcp

    @property
    def address(self) -> str:
        """
        @return: the IP address of its TCP listener.
        """
        return self.tcp.rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        return int(self.tcp.rsplit(":", 1)[1])

    @property
    def pidfile(self) -> str:
        return os.path.join(self.folder, "docker.pid")

    @property
    def log_path(self) -> str:
        return os.path.join(self.folder, "dockerd.log")

    def environment(self, tcp: bool = False) -> dict[str, str]:
        """
        @param tcp: use the TCP listener (with the lab's client certificate
            if it demands one) instead of the unix socket.
        @return: an environment for the docker CLI aimed at this engine.
        """
        env = host.environment()
        for name in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS",
                     "DOCKER_API_VERSION"):
            env.pop(name, None)
        if tcp:
            env["DOCKER_HOST"] = self.tcp_url
            if self.tls is not None:
                env["DOCKER_TLS_VERIFY"] = "1"
                env["DOCKER_CERT_PATH"] = self.tls.cert_path
        else:
            env["DOCKER_HOST"] = self.unix_url
        return env

    def docker(self, *args: str, input: str | None = None, check: bool = True,
               timeout: float = 120.0, tcp: bool = False) -> subprocess.CompletedProcess:
        """
        Run the real docker CLI against this engine.

        @param args: the CLI's arguments (C{"run", "--rm", "busybox", ...}).
        @param input: text for its standard input.
        @param check: raise L{DockerCommandError} if it fails.
        @param tcp: go through the TCP listener (see L{environment}).
        @return: the L{subprocess.CompletedProcess} (text mode, output
            captured).
        """
        argv = [_docker_cli(), *args]
        done = subprocess.run(argv, input=input, capture_output=True, text=True,
                              env=self.environment(tcp=tcp), timeout=timeout)
        if check and done.returncode != 0:
            raise DockerCommandError(done.returncode, argv, done.stdout, done.stderr)
        return done

    def running(self) -> bool:
        """
        @return: C{True} if its dockerd process runs.
        """
        return _processes.alive(self.pid, self.started)

    def ping(self, timeout: float = 2.0) -> bool:
        """
        @return: C{True} if C{GET /_ping} on its unix socket answers C{OK}.
        """
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(timeout)
                s.connect(self.socket)
                s.sendall(b"GET /_ping HTTP/1.0\r\nHost: lab\r\n\r\n")
                answer = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        except OSError:
            return False
        return answer.startswith(b"HTTP/1.") and b" 200 " in answer[:16] and \
            answer.endswith(b"OK")

    def tcp_ready(self, timeout: float = 2.0) -> bool:
        """
        @return: C{True} if its TCP listener accepts connections (and, with
            TLS, a handshake with the lab's client certificate).
        """
        try:
            with socket.create_connection((self.address, self.port), timeout=timeout) as s:
                if self.tls is None:
                    return True
                context = ssl.create_default_context(cafile=self.tls.ca)
                context.load_cert_chain(self.tls.cert, self.tls.key)
                with context.wrap_socket(s, server_hostname=self.address):
                    return True
        except (OSError, ssl.SSLError):
            return False

    def log_tail(self, lines: int = 40) -> str:
        """
        @return: the last C{lines} lines of its dockerd log.
        """
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def container_ids(self) -> list[str]:
        """
        @return: the IDs of all its containers, running or not.
        """
        return self.docker("ps", "-aq", "--no-trunc", timeout=30).stdout.split()

    def remove_containers(self) -> None:
        """
        Remove all its containers (forcibly, with their anonymous volumes).
        """
        ids = self.container_ids()
        if ids:
            self.docker("rm", "-f", "-v", *ids, check=False, timeout=60)

    def remove_networks(self) -> None:
        """
        Remove its unused user-defined networks (their bridges live in the
        host's network namespace unless the lab is namespaced, and dockerd
        leaves them there when it stops).
        """
        self.docker("network", "prune", "-f", check=False, timeout=60)

    def to_json(self) -> dict:
        data = attr.asdict(self, recurse=False)
        data["tls"] = self.tls.to_json() if self.tls else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> LabEngine:
        data = dict(data)
        data["tls"] = LabTLS.from_json(data.get("tls"))
        return cls(**data)


def _labels_for(labels, index: int) -> dict[str, str]:
    if labels is None:
        return default_labels(index)
    if callable(labels):
        return dict(labels(index))
    if isinstance(labels, Mapping):
        return dict(labels.get(index, {}))
    if isinstance(labels, Sequence):
        return dict(labels[index - 1]) if index <= len(labels) else {}
    raise TypeError("labels must be None, a sequence, a mapping or a callable")


def read_state(base: str) -> dict | None:
    """
    @return: the state a lab saved in its folder C{base}, or C{None}.
    """
    try:
        with open(os.path.join(base, STATE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
