"""
The lab of real engines: L{Lab}, its folder, state and life cycle.  Its
teardown, stopping a lab from any process and reaping the labs whose owner
died are in L{swarmd.testing.lab._teardown}.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

from swarmd.testing.lab import _cgroups, _processes
from swarmd.testing.lab import _host as host
from swarmd.testing.lab._engine import (
    _HELPERS,
    _MAX_BASE,
    STATE,
    LabEngine,
    LabError,
    _docker_cli,
    _labels_for,
    ensure_installed,
    read_state,
)
from swarmd.testing.lab._image import IMAGE, IMAGE_CHANGE, write_rootfs_tar
from swarmd.testing.lab._teardown import reap_orphans, tear_down
from swarmd.testing.lab._tls import LabTLS, make_certificates


@contextlib.contextmanager
def _base_lock(base: str) -> Iterator[None]:
    # One start or stop at a time per lab folder.
    with open(os.path.join(base, ".lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Lab:
    """
    N real Docker engines on this machine (see the module's docstring).

    @ivar engines: its L{LabEngine}s, C{n1} first.
    @ivar base: its folder.
    @ivar tls: its certificates, or C{None}.
    """

    def __init__(self, n: int = 2, base: str | None = None, labels=None, netns: bool = False,
                 tls: bool = False, name_prefix: str = "n", persistent: bool = False,
                 timeout: float = 60.0, registry: host.SlotRegistry | None = None,
                 share: bool = True):
        """
        @param n: how many engines.
        @param base: its folder (created if missing); by default a new
            temporary folder, removed again by L{stop}.
        @param labels: extra engine labels besides C{node=nI}: C{None} for
            L{default_labels}, a list of C{dict}s (one per engine, C{n1}
            first), a C{dict} from index to C{dict}, or a callable taking the
            index and returning a C{dict}.
        @param netns: one network namespace per engine.
        @param tls: demand client certificates on the TCP listeners.
        @param name_prefix: engine names are C{name_prefix + str(I)}.
        @param persistent: keep running if this process dies (otherwise the
            next lab started on the machine stops it then).
        @param timeout: seconds to wait for the engines to answer.
        @param registry: where slots are claimed (tests may use their own).
        @param share: give each engine its share of the host, so that the
            engines together report (and their containers use) what the
            machine has, not N times it: its own CPUs (an affinity mask,
            which C{docker info}'s NCPU follows; with fewer CPUs than
            engines, one CPU each, shared in turn) and an equal part of the
            memory (reported as MemTotal, the limit of its containers'
            cgroup).  C{False}: every engine reports the whole host.
        """
        if n < 1:
            raise ValueError("a lab needs at least one engine")
        self.n = n
        self._owns_base = base is None
        self.base = os.path.abspath(base) if base else ""
        self._labels = labels
        self.netns = netns
        self.tls_enabled = tls
        self.tls: LabTLS | None = None
        self.name_prefix = name_prefix
        self.persistent = persistent
        self.timeout = timeout
        self.registry = registry or host.SlotRegistry()
        self.share = share
        self.engines: list[LabEngine] = []
        self._processes: list[subprocess.Popen] = []

    # -- state ------------------------------------------------------------

    def _state(self, status: str) -> dict:
        return {
            "version": 1,
            "status": status,
            "base": self.base,
            "owns_base": self._owns_base,
            "persistent": self.persistent,
            "owner": os.getpid(),
            "owner_start": _processes.start_time(os.getpid()),
            "netns": self.netns,
            "tls": self.tls.to_json() if self.tls else None,
            "name_prefix": self.name_prefix,
            "engines": [e.to_json() for e in self.engines],
        }

    def _save(self, status: str) -> None:
        path = os.path.join(self.base, STATE)
        with open(path + ".part", "w") as f:
            json.dump(self._state(status), f, indent=2)
        os.replace(path + ".part", path)

    @classmethod
    def load(cls, base: str) -> Lab:
        """
        @param base: the folder of a lab started by any process.
        @raise LabError: if it holds no lab state.
        @return: a L{Lab} describing it (C{stop} works on it).
        """
        base = os.path.abspath(base)
        state = read_state(base)
        if state is None:
            raise LabError("no lab state in %s" % (base,))
        lab = cls(n=max(1, len(state["engines"])), base=base, netns=state["netns"],
                  tls=state["tls"] is not None, name_prefix=state.get("name_prefix", "n"),
                  persistent=state["persistent"])
        lab._owns_base = state["owns_base"]
        lab.tls = LabTLS.from_json(state["tls"])
        lab.engines = [LabEngine.from_json(e) for e in state["engines"]]
        return lab

    # -- start ------------------------------------------------------------

    def _prepare_base(self) -> None:
        if self._owns_base:
            self.base = tempfile.mkdtemp(prefix="swarmd-lab-")
        else:
            # Stopping unmounts and deletes under the folder: it must be the
            # lab's own.
            if os.path.isdir(self.base) and os.listdir(self.base) and \
                    read_state(self.base) is None:
                raise LabError("%s is neither empty nor a lab folder" % (self.base,))
            os.makedirs(self.base, exist_ok=True)
        if len(self.base) > _MAX_BASE:
            if self._owns_base:
                shutil.rmtree(self.base, ignore_errors=True)
            raise LabError("lab folder %s is too long for unix sockets (at most %d characters)"
                           % (self.base, _MAX_BASE))
        state = read_state(self.base)
        if state is not None and state.get("status") == "suspended":
            raise LabError("a suspended lab is in %s: resume it, or stop it (deleting its "
                           "data) first" % (self.base,))
        if state is not None and state.get("status") != "stopped":
            previous = Lab.load(self.base)
            if any(e.running() for e in previous.engines):
                raise LabError("a lab is running in %s; stop it first" % (self.base,))
            previous.stop()

    def _claim(self) -> None:
        claim = {"base": self.base, "persistent": self.persistent, "owner": os.getpid(),
                 "owner_start": _processes.start_time(os.getpid())}
        with self.registry.locked():
            try:
                slots = self.registry.pick(self.n, self.registry.claims())
            except host.HostError as e:
                raise LabError(str(e)) from e
            self.registry.claim(slots, claim)
            cpus = _cgroups.cpu_shares(self.n) if self.share else [None] * self.n
            memory = _cgroups.memory_total() // self.n if self.share else None
            for index, slot in enumerate(slots, 1):
                name = "%s%d" % (self.name_prefix, index)
                if self.netns:
                    tcp = "%s:%d" % (host.namespace_address(slot), host.NETNS_PORT)
                else:
                    tcp = "127.0.0.1:%d" % (host.tcp_port(slot),)
                self.engines.append(LabEngine(
                    index=index, name=name, slot=slot, folder=os.path.join(self.base, name),
                    tcp=tcp, labels={"node": name, **_labels_for(self._labels, index)},
                    netns=host.netns_name(slot) if self.netns else None,
                    cpus=cpus[index - 1], memory=memory))
            self._save("starting")

    def _dockerd_argv(self, engine: LabEngine) -> list[str]:
        d = engine.folder
        argv = [
            "dockerd", "--config-file", os.path.join(d, "daemon.json"),
            "--data-root", os.path.join(d, "data"), "--exec-root", os.path.join(d, "exec"),
            "--pidfile", engine.pidfile, "-H", engine.unix_url, "-H", engine.tcp_url,
            "--storage-driver", "overlay2", "--bridge", host.bridge_name(engine.slot),
            "--iptables=false", "--ip-forward=false", "--ip-masq=false",
            "--cgroup-parent", "/" + host.cgroup_name(engine.slot),
        ]
        if engine.tls is not None:
            argv += ["--tlsverify", "--tlscacert", engine.tls.ca,
                     "--tlscert", engine.tls.server_cert, "--tlskey", engine.tls.server_key]
        else:
            # Without an explicit --tls=false dockerd sleeps 15 s before
            # serving plain TCP on a non-loopback address.
            argv.append("--tls=false")
        for key, value in engine.labels.items():
            argv += ["--label", "%s=%s" % (key, value)]
        return argv

    def _spawn(self, engine: LabEngine, fresh: bool = True) -> None:
        d = engine.folder
        os.makedirs(d, exist_ok=True)
        config = {
            # dockerd 20.10 has no flag for it: without it every engine reads
            # /etc/docker/key.json and reports the same ID.
            "deprecated-key-path": os.path.join(d, "key.json"),
            "default-address-pools": [{"base": host.address_pool(engine.slot), "size": 28}],
        }
        with open(os.path.join(d, "daemon.json"), "w") as f:
            json.dump(config, f)
        # Its share of the host (see Lab's share): CPUs by affinity (taskset
        # execs, so the pid stays dockerd's), memory by a copy of
        # /proc/meminfo bound over it in dockerd's own mount namespace, both
        # also the limits of its containers' cgroup.
        prefix: list[str] = []
        bind = ""
        meminfo = os.path.join(d, "meminfo")
        if engine.cpus:
            prefix = ["taskset", "-c", ",".join(str(cpu) for cpu in engine.cpus)]
        if engine.memory:
            _cgroups.write_meminfo(meminfo, engine.memory)
            bind = 'mount --bind "$2" /proc/meminfo && '
        if engine.cpus and engine.memory:
            for problem in _cgroups.limit_cgroup(host.cgroup_name(engine.slot), engine.cpus,
                                             engine.memory):
                with open(engine.log_path, "a") as log:
                    log.write("lab: cannot set %s\n" % (problem,))
        if engine.netns:
            if fresh:
                host.add_namespace(engine.slot)
            cgroups = os.path.join(d, "cgroup")
            os.makedirs(cgroups, exist_ok=True)
            # `ip netns exec` would lose the cgroup mounts: keep a bind of
            # them, mount the namespace's own sysfs, and bind them back.
            script = ('hostname "$0" && mount --rbind /sys/fs/cgroup "$1" && '
                      'mount -t sysfs sysfs /sys && mount --rbind "$1" /sys/fs/cgroup && '
                      'umount -l "$1" && ' + bind + 'shift 2 && exec "$@"')
            argv = [*prefix, "nsenter", "--net=/run/netns/" + engine.netns,
                    "unshare", "--uts", "--mount", "--propagation", "slave",
                    "sh", "-c", script, engine.name, cgroups, meminfo,
                    *self._dockerd_argv(engine)]
        else:
            if fresh:
                host.add_bridge(host.bridge_name(engine.slot), host.bridge_address(engine.slot))
            # A mount namespace of its own only for the meminfo bind.
            unshare = ["unshare", "--uts"]
            if bind:
                unshare += ["--mount", "--propagation", "slave"]
            argv = [*prefix, *unshare, "sh", "-c", 'hostname "$0" && ' + bind +
                    'shift 2 && exec "$@"', engine.name, "-", meminfo,
                    *self._dockerd_argv(engine)]
        with open(engine.log_path, "ab") as log:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       cwd=d, env=host.environment(), start_new_session=True)
        self._processes.append(process)
        # unshare, nsenter and sh all exec: the pid is dockerd's.
        engine.pid = process.pid
        engine.started = _processes.start_time(process.pid)

    def stop_engine(self, name: str, timeout: float = 20.0) -> None:
        """
        Stop one engine's dockerd (its containers removed first), keeping its
        data, bridge and slot, so L{start_engine} can bring it back: what a
        test needs to see a node go away and return.
        """
        engine = self.engine(name)
        if not engine.running():
            return
        with contextlib.suppress(Exception):
            engine.remove_containers()
        if engine.pid is not None:
            _processes.terminate({engine.pid: engine.started}, timeout=timeout)

    def start_engine(self, name: str) -> None:
        """
        Start again an engine stopped by L{stop_engine}, and wait until it
        answers.
        """
        engine = self.engine(name)
        if engine.running():
            return
        self._spawn(engine, fresh=False)
        self._save("running")
        self._wait_ready([engine])

    def suspend(self, timeout: float = 60.0) -> None:
        """
        Stop every engine's dockerd and keep everything it holds: its
        containers (dockerd stops them as it stops, as on a host shutdown),
        images, volumes and networks, its data, its bridge and its slot.
        L{resume}, from any process, starts the engines again on it.  Safe to
        call again.

        @param timeout: seconds each dockerd has to stop (its containers'
            stop timeouts included) before it is killed.
        """
        state = read_state(self.base) if self.base else None
        if state is None or state.get("status") == "stopped":
            return
        with _base_lock(self.base):
            live = [e for e in self.engines if e.running()]
            _processes.terminate({e.pid: e.started for e in live if e.pid}, timeout=timeout)
            for process in self._processes:
                process.poll()
            # What a killed dockerd left (a clean stop leaves nothing).
            helpers = {pid: _processes.start_time(pid) for pid in
                       _processes.processes_mentioning([e.folder for e in self.engines], _HELPERS)}
            _processes.terminate(helpers, timeout=5.0)
            self._save("suspended")

    def resume(self) -> Lab:
        """
        Start again, on their data, the engines of this lab (loaded with
        L{load}) whose dockerd is not running: after L{suspend}, a crash or a
        reboot.  Engines still running are left alone.  Blocks until every
        engine answers.

        @raise LabError: if the lab was stopped (its data is gone), one of
            its slots is now another lab's, or an engine does not come up.
        @return: C{self}
        """
        if os.geteuid() != 0:
            raise LabError("the lab needs root")
        state = read_state(self.base) if self.base else None
        if state is None or state.get("status") == "stopped" or not self.engines:
            raise LabError("no lab to resume in %s" % (self.base,))
        with _base_lock(self.base):
            self._reclaim()
            host.enable_ip_forward()
            for engine in self.engines:
                if engine.running():
                    continue
                if engine.netns:
                    fresh = not host.netns_exists(engine.netns)
                else:
                    fresh = not host.link_exists(host.bridge_name(engine.slot))
                self._spawn(engine, fresh=fresh)
            self._save("running")
            self._wait_ready()
        return self

    def _reclaim(self) -> None:
        """
        Hold this lab's slots again (a reboot empties the registry), as a
        persistent lab owned by this process.

        @raise LabError: if another lab holds one of them now.
        """
        claim = {"base": self.base, "persistent": True, "owner": os.getpid(),
                 "owner_start": _processes.start_time(os.getpid())}
        with self.registry.locked():
            claims = self.registry.claims()
            for engine in self.engines:
                holder = claims.get(engine.slot, {}).get("base", self.base)
                if holder != self.base:
                    raise LabError("slot %d of %s is now held by the lab in %s"
                                   % (engine.slot, engine.name, holder))
            self.registry.claim([e.slot for e in self.engines], claim)
        self.persistent = True

    def _wait_ready(self, engines: list[LabEngine] | None = None) -> None:
        deadline = time.monotonic() + self.timeout
        waiting = list(self.engines if engines is None else engines)
        while waiting:
            for engine in list(waiting):
                if not engine.running():
                    raise LabError("dockerd of %s exited while starting:\n%s" % (
                        engine.name, engine.log_tail()))
                if engine.ping(timeout=1.0) and engine.tcp_ready(timeout=1.0):
                    waiting.remove(engine)
            if waiting and time.monotonic() > deadline:
                raise LabError("no answer from %s after %ss:\n%s" % (
                    ", ".join(e.name for e in waiting), self.timeout,
                    "\n".join("--- %s\n%s" % (e.name, e.log_tail()) for e in waiting)))
            if waiting:
                time.sleep(0.1)

    def _import_image(self) -> None:
        tar = write_rootfs_tar(os.path.join(self.base, "busybox.tar"))
        running = []
        for engine in self.engines:
            with open(tar, "rb") as f:
                running.append((engine, subprocess.Popen(
                    [_docker_cli(), "import", "-c", IMAGE_CHANGE, "-", IMAGE], stdin=f,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=engine.environment())))
        failures = []
        for engine, process in running:
            try:
                out, _ = process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                process.kill()
                out, _ = process.communicate()
            if process.returncode != 0:
                failures.append("%s: %s" % (engine.name, out.decode(errors="replace")))
        if failures:
            raise LabError("importing %s failed:\n%s" % (IMAGE, "\n".join(failures)))

    def start(self) -> Lab:
        """
        Start every engine (in parallel) and wait until all answer, then
        import C{busybox:latest} into each.  Blocks.

        @raise LabError: if an engine does not come up (with its log tail);
            everything already started is stopped again first.
        @return: C{self}
        """
        if os.geteuid() != 0:
            raise LabError("the lab needs root")
        if self.engines:
            raise LabError("this lab was started already")
        ensure_installed()
        reap_orphans(self.registry)
        self._prepare_base()
        # From here on everything made is this lab's own: undo it on failure.
        try:
            with _base_lock(self.base):
                self._claim()
                host.enable_ip_forward()
                if self.tls_enabled:
                    self.tls = make_certificates(
                        os.path.join(self.base, "tls"), [e.address for e in self.engines])
                    for engine in self.engines:
                        engine.tls = self.tls
                for engine in self.engines:
                    self._spawn(engine)
                    self._save("starting")
                self._wait_ready()
                self._import_image()
                self._save("running")
        except BaseException as e:
            self.stop()
            if isinstance(e, (LabError, KeyboardInterrupt)):
                raise
            raise LabError("lab did not start: %s" % (e,)) from e
        return self

    # -- use --------------------------------------------------------------

    def discovery(self, unix: bool = False) -> str:
        """
        @param unix: list the unix sockets instead of the TCP addresses.
        @return: a C{nodes://} discovery string naming every engine.
        """
        return "nodes://" + ",".join(e.unix_url if unix else e.tcp for e in self.engines)

    def engine(self, name: str) -> LabEngine:
        """
        @return: the engine called C{name}.
        """
        for engine in self.engines:
            if engine.name == name:
                return engine
        raise KeyError(name)

    def clean(self) -> None:
        """
        Remove every container and user-defined network on every engine
        (tests sharing a lab call it between them).
        """
        for engine in self.engines:
            if engine.running():
                engine.remove_containers()
                engine.remove_networks()

    def __enter__(self) -> Lab:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- stop -------------------------------------------------------------

    def stop(self, timeout: float = 20.0) -> None:
        """
        Stop the lab: remove containers, C{SIGTERM} each dockerd by its
        recorded pid (C{SIGKILL} after C{timeout}), then delete its bridges,
        veths, namespaces, cgroups, any mount left under its folder, and its
        data (the whole folder if the lab made it).  Safe to call again.
        """
        if not self.base or not os.path.isdir(self.base):
            return
        with _base_lock(self.base):
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        tear_down(self, timeout)
        if self._owns_base:
            shutil.rmtree(self.base, ignore_errors=True)
        else:
            self._save("stopped")

    def status(self) -> list[dict]:
        """
        @return: one C{dict} per engine: C{name}, C{pid}, C{running} (the
            process runs), C{answering} (C{/_ping} answers), C{unix},
            C{tcp}, C{labels}.
        """
        rows = []
        for e in self.engines:
            running = e.running()
            rows.append({"name": e.name, "pid": e.pid, "running": running,
                         "answering": running and e.ping(), "unix": e.unix_url,
                         "tcp": e.tcp_url, "labels": e.labels})
        return rows
