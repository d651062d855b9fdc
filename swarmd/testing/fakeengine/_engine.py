"""
L{FakeEngine}: the state of one Docker engine in memory, and what each API
call does to it, as dockerd 20.10 does (statuses, messages, events and their
order were taken from a real dockerd of the lab; see
C{shared/docs/real-engines.md}).

The HTTP front is in L{swarmd.testing.fakeengine._http}; this module is plain
Python, so the simulator can also fill engines directly::

    engine = FakeEngine(reactor, name="n1", labels=["storage=ssd"])
    cid, _ = engine.create({"Image": "busybox", "Cmd": ["sleep", "300"]}, name="web")
    engine.start(cid)

Operations that take time in dockerd (stop, restart, wait, pull) return
L{Deferred}s that fire on the engine's clock; the others answer at once.
Every refusal is a L{FakeAPIError} with dockerd's status and message.
"""

import random
import re
import time
from collections import deque

from twisted.internet.defer import Deferred, fail, succeed

from swarmd.testing.fakeengine import _proc as proc
from swarmd.testing.fakeengine._build import BuildOps
from swarmd.testing.fakeengine._container import EXITED, PAUSED, RUNNING, FakeContainer
from swarmd.testing.fakeengine._container_ops import MIN_MEMORY, ContainerOps
from swarmd.testing.fakeengine._errors import (
    FakeAPIError,
    bad_request,
    conflict,
    no_such_container,
    not_found,
    server_error,
)
from swarmd.testing.fakeengine._events import EVENTS_KEPT, EventLog
from swarmd.testing.fakeengine._exec import ExecOps
from swarmd.testing.fakeengine._filters import Filters, container_included
from swarmd.testing.fakeengine._image_ops import ImageOps
from swarmd.testing.fakeengine._images import FakeRegistry, busybox, familiar
from swarmd.testing.fakeengine._network import PREDEFINED, Addresses, default_networks
from swarmd.testing.fakeengine._network_ops import NetworkOps
from swarmd.testing.fakeengine._system import info_of, version_of
from swarmd.testing.fakeengine._time import NANO
from swarmd.testing.fakeengine._volume_ops import VolumeOps

_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"

_ADJECTIVES = ("admiring", "brave", "clever", "dreamy", "eager", "focused", "gifted",
               "happy", "jolly", "keen", "lucid", "modest", "nifty", "optimistic",
               "peaceful", "quirky", "relaxed", "sharp", "tender", "upbeat", "vibrant",
               "wizardly", "youthful", "zealous")
_SURNAMES = ("albattani", "babbage", "curie", "darwin", "euclid", "fermi", "galileo",
             "hopper", "johnson", "kepler", "lovelace", "mayer", "newton", "noether",
             "pasteur", "ritchie", "shannon", "tesla", "tharp", "turing", "volhard",
             "wozniak", "yalow", "zhukovsky")

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

_WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


class FakeEngine(NetworkOps, VolumeOps, ImageOps, BuildOps, ExecOps, ContainerOps):
    """
    One Docker engine in memory.

    @ivar id: its C{docker info} ID (C{XXXX:XXXX:...}).
    @ivar name: its C{docker info} Name.
    @ivar labels: its engine labels, C{["k=v", ...]} as C{docker info} gives.
    @ivar containers: C{{id: FakeContainer}}, oldest first.
    @ivar images: C{{id: FakeImage}}.
    @ivar networks: C{{id: FakeNetwork}} (C{bridge}, C{host}, C{none} and
        the ones created).
    @ivar volumes: C{{name: volume dict}}.
    @ivar volume_usage: C{{name: bytes}} its volumes' data takes.
    @ivar execs: C{{id: FakeExec}}: its exec instances (an ended one is
        kept while its container is).
    @ivar calls: L{None}, or (after L{record_calls}) C{(method, path,
        query, body)} of every HTTP request served, the path without its
        C{/vX.Y} prefix, the query a C{{name: [values]}}.
    @ivar events: its L{EventLog} (the last C{events_kept} events).
    @ivar registry: the L{FakeRegistry} pulls go to; set it to L{None} and
        every pull fails as on a machine without network (as the lab's).
    @ivar unreachable: while true, its servers refuse every connection and
        drop the open ones (see L{swarmd.testing.fakeengine._http}).
    @ivar latency: seconds (of its clock) added before every HTTP answer.
    @ivar addresses: the addresses it is served on (filled by C{serve}).
    """

    def __init__(self, clock, name="fake", labels=(), ncpu=4, mem_total=8 * 1024 ** 3,
                 engine_id=None, registry=None, operating_system="Debian GNU/Linux 12 (bookworm)",
                 kernel_version="6.1.0-fake", driver="overlay2", seed=None,
                 port_conflicts=True, events_kept=EVENTS_KEPT, root_dir="/var/lib/docker"):
        """
        @param clock: an C{IReactorTime}: timestamps and every delay.
        @param labels: engine labels, as C{"k=v"} strings or a C{dict}.
        @param registry: see L{registry}; by default a new L{FakeRegistry}
            holding C{busybox:latest}.
        @param seed: seed of its IDs (L{None}: random).
        @param port_conflicts: refuse to start a container whose host port
            is taken, with a stock engine's C{port is already allocated}
            (the lab's engines, run with C{--iptables=false}, do not check).
        @param events_kept: how many past events it keeps.
        """
        self.clock = clock
        self._random = random.Random(seed)
        self.name = name
        if isinstance(labels, dict):
            labels = ["%s=%s" % item for item in labels.items()]
        self.labels = list(labels)
        self.ncpu = ncpu
        self.mem_total = mem_total
        self.id = engine_id or ":".join(
            "".join(self._random.choice(_BASE32) for _ in range(4)) for _ in range(12))
        self.registry = FakeRegistry() if registry is None else registry
        self.operating_system = operating_system
        self.kernel_version = kernel_version
        self.driver = driver
        self.root_dir = root_dir
        self.containers = {}
        self._names = {}
        self.images = {}
        self._tags = {}
        self.add_image(busybox())
        self.networks = default_networks(self._hex, self._now_ns())
        self.volumes = {}
        self.volume_usage = {}
        self.execs = {}
        self.calls = None
        self.events = EventLog(clock, events_kept)
        self._next_pid = 1000
        self._addresses = Addresses(port_conflicts)
        self._failures = deque()
        self._unreachable = False
        self._unreachable_hooks = []
        self.latency = 0.0
        self.addresses = []

    def __repr__(self):
        return "<FakeEngine %s %s>" % (self.name, self.addresses or "")

    @property
    def port_conflicts(self):
        """
        Whether a taken host port fails a start (see C{__init__}).
        """
        return self._addresses.port_conflicts

    @port_conflicts.setter
    def port_conflicts(self, value):
        self._addresses.port_conflicts = bool(value)

    # -- faults ---------------------------------------------------------------------

    @property
    def unreachable(self):
        return self._unreachable

    @unreachable.setter
    def unreachable(self, value):
        self._unreachable = bool(value)
        if self._unreachable:
            for hook in list(self._unreachable_hooks):
                hook()

    def on_unreachable(self, hook):
        """
        Call C{hook()} whenever L{unreachable} is set (servers use it to drop
        their connections).
        """
        self._unreachable_hooks.append(hook)

    def forget_unreachable(self, hook):
        """
        Stop calling a hook given to L{on_unreachable}.
        """
        if hook in self._unreachable_hooks:
            self._unreachable_hooks.remove(hook)

    def fail(self, status, message, count=1):
        """
        Make the next C{count} HTTP calls answer C{status} with C{message}.
        """
        for _ in range(count):
            self._failures.append((status, message))

    def record_calls(self):
        """
        Start keeping every HTTP request served in L{calls} (for tests that
        check which engine was asked what).

        @return: the list.
        """
        if self.calls is None:
            self.calls = []
        return self.calls

    def halt(self):
        """
        Cancel every timer the engine's containers and execs have on its
        clock (their processes freeze), as a machine switched off: for tests
        on the real reactor, which must leave no delayed call behind.
        """
        for container in self.containers.values():
            for name in ("timer", "stop_timer"):
                timer = getattr(container, name)
                setattr(container, name, None)
                if timer is not None and timer.active():
                    timer.cancel()
        for execution in self.execs.values():
            timer, execution.timer = execution.timer, None
            if timer is not None and timer.active():
                timer.cancel()

    def take_failure(self):
        """
        @return: the C{(status, message)} the next call must fail with, or
            L{None}.
        """
        if self._failures:
            return self._failures.popleft()
        return None

    # -- helpers --------------------------------------------------------------------

    def _now_ns(self):
        return int(self.clock.seconds() * NANO)

    def _hex(self):
        return "%064x" % (self._random.getrandbits(256),)

    def _pid(self):
        self._next_pid += 1
        return self._next_pid

    # -- events ---------------------------------------------------------------------

    def _emit(self, type, action, actor, attributes, image=None):
        self.events.emit(type, action, actor, attributes, image)

    def _container_event(self, container, action, **extra):
        attributes = container.event_attributes()
        if extra:
            attributes = dict(attributes)
            attributes.update(extra)
            attributes = dict(sorted(attributes.items()))
        self._emit("container", action, container.id, attributes,
                   container.config.get("Image", ""))

    def past_events(self, since=None, until=None, filters=None):
        """
        Kept events between two times, as C{GET /events} replays them (see
        L{EventLog.past}).
        """
        return self.events.past(since, until, filters)

    def subscribe(self, callback, filters=None):
        """
        Call C{callback(event_dict)} for every new event passing C{filters}.

        @return: a callable that ends the subscription.
        """
        return self.events.subscribe(callback, filters)

    @property
    def listeners(self):
        """
        How many event subscriptions are open.
        """
        return self.events.listeners

    # -- system ---------------------------------------------------------------------

    def version(self):
        """
        @return: C{GET /version}.
        """
        return version_of(self)

    def counts(self):
        """
        @return: C{(all, running, paused, stopped)} container counts.
        """
        running = paused = 0
        for container in self.containers.values():
            if container.status == RUNNING:
                running += 1
            elif container.status == PAUSED:
                paused += 1
        total = len(self.containers)
        return total, running, paused, total - running - paused

    def info(self):
        """
        @return: C{GET /info}.
        """
        return info_of(self)

    # -- finding containers ---------------------------------------------------------

    def find(self, ref):
        """
        Find a container as dockerd does: full ID, name (with or without
        C{/}), then unique ID prefix.

        @return: the L{FakeContainer}.
        @raise FakeAPIError: 404, or 500 for an ambiguous prefix.
        """
        container = self.containers.get(ref)
        if container is not None:
            return container
        container = self._names.get(ref[1:] if ref.startswith("/") else ref)
        if container is not None:
            return container
        if ref and re.match(r"^[0-9a-f]+$", ref):
            found = [c for c in self.containers.values() if c.id.startswith(ref)]
            if len(found) > 1:
                raise server_error("Multiple IDs found with provided prefix: %s" % (ref,))
            if found:
                return found[0]
        raise no_such_container(ref)

    def _generate_name(self):
        for attempt in range(1000):
            name = "%s_%s" % (self._random.choice(_ADJECTIVES), self._random.choice(_SURNAMES))
            if attempt > 10:
                name += str(self._random.randint(1, 99))
            if name not in self._names:
                return name
        raise server_error("cannot generate a container name")

    def _check_name(self, name, shown):
        if not _NAME.match(name):
            raise bad_request("Invalid container name (%s), only %s are allowed"
                              % (shown, _NAME_CHARS))
        name = name.lstrip("/")
        holder = self._names.get(name)
        if holder is not None:
            raise conflict('Conflict. The container name "/%s" is already in use by container '
                           '"%s". You have to remove (or rename) that container to be able to '
                           'reuse that name.' % (name, holder.id))
        return name

    # -- create ---------------------------------------------------------------------

    def create(self, body, name=None):
        """
        C{POST /containers/create}.

        @param body: the decoded request.
        @return: C{(id, warnings)}.
        @raise FakeAPIError: as dockerd (400 empty config, bad name, memory
            below 6MB; 404 missing image; 409 name in use).
        """
        if not body:
            raise bad_request("Config cannot be empty in order to create a container")
        host_config = body.get("HostConfig") or {}
        memory = host_config.get("Memory") or 0
        if 0 < memory < MIN_MEMORY:
            raise bad_request("Minimum memory limit allowed is 6MB")
        mode = host_config.get("NetworkMode") or "default"
        if mode == "default":
            mode = "bridge"
        if mode.startswith("container:"):
            network = "none"
        else:
            network = self.find_network(mode).name
        image_ref = body.get("Image") or ""
        image = None
        if image_ref:
            image = self.find_image(image_ref)
            if image is None:
                try:
                    shown = familiar(image_ref)
                except FakeAPIError:
                    shown = image_ref
                raise not_found("No such image: %s" % (shown,))
        if name:
            name = self._check_name(name, name)
        else:
            name = self._generate_name()
        config = {k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}
        if host_config.get("PortBindings"):
            host_config = dict(host_config)
            host_config["PortBindings"] = {
                key: [{"HostIp": b.get("HostIp") or "", "HostPort": str(b.get("HostPort") or "")}
                      for b in (bindings or [])]
                for key, bindings in host_config["PortBindings"].items()}
        image_config = image.config if image is not None else {}
        entrypoint = config.get("Entrypoint") or image_config.get("Entrypoint") or []
        command = config.get("Cmd")
        if command is None or (not command and not config.get("Entrypoint")):
            command = image_config.get("Cmd") or []
        if isinstance(entrypoint, str):
            entrypoint = [entrypoint]
        if isinstance(command, str):
            command = [command]
        argv = list(entrypoint) + list(command)
        if config.get("Cmd") is None and command:
            config["Cmd"] = list(command)
        container = FakeContainer(
            self._hex(), name, self._now_ns(), config, host_config,
            image.id if image is not None else "", argv[0] if argv else "", argv[1:], network)
        endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        aliases = list((endpoints.get(mode) or endpoints.get(network) or {}).get("Aliases")
                       or [])
        if network not in PREDEFINED and container.id[:12] not in aliases:
            aliases.append(container.id[:12])
        container.networks[network].aliases = aliases or None
        volumes = []
        for destination in config.get("Volumes") or {}:
            volumes.append((self._volume(self._hex()), destination))
        for bind in host_config.get("Binds") or []:
            source, _, rest = bind.partition(":")
            if source and "/" not in source and rest:
                volumes.append((self._volume(source), rest.split(":")[0]))
        for mount in host_config.get("Mounts") or []:
            if mount.get("Type") == "volume" and mount.get("Target"):
                volumes.append((self._volume(mount.get("Source") or self._hex()),
                                mount["Target"]))
        container.volumes = tuple(volumes)
        self.containers[container.id] = container
        self._names[name] = container
        self._container_event(container, "create")
        return container.id, []

    # -- running --------------------------------------------------------------------

    def start(self, ref):
        """
        C{POST /containers/{id}/start}.

        @return: C{True} if it started, C{False} if it was already running
            (dockerd's 304).
        @raise FakeAPIError: 409 for a paused container, 400 when the
            command is not in the image, 500 when a host port is taken.
        """
        container = self.find(ref)
        if container.status == PAUSED:
            raise conflict("cannot start a paused container, try unpause instead")
        if container.status == RUNNING:
            return False
        self._start(container)
        return True

    def _start(self, container):
        networks = []
        for name in sorted(container.networks):
            attachment = container.networks[name]
            network = self.networks.get(attachment.network_id) or self.network_by_name(name)
            if network is None:
                raise not_found("network %s not found" % (name,))
            networks.append((network, attachment))
        try:
            steps = proc.plan([container.path] + list(container.args),
                              bool(container.config.get("OpenStdin")))
        except proc.CommandNotFound as e:
            for network, attachment in networks:
                self._plug(container, network, attachment)
            for network, attachment in networks:
                self._unplug(container, network, attachment)
            container.error = str(e)
            container.exit_code = 127
            raise bad_request(str(e)) from None
        primary = self.network_by_name(container.network)
        if primary is not None and primary.driver == "bridge":
            endpoint = self._hex()
            container.ports = self._addresses.bind_ports(container, endpoint)
        for network, attachment in networks:
            self._plug(container, network, attachment)
        container.status = RUNNING
        container.pid = self._pid()
        container.exit_code = 0
        container.error = ""
        container.started = self._now_ns()
        container.finished = None
        self._container_event(container, "start")
        self._schedule(container, steps, 0, self.clock.seconds())

    def _schedule(self, container, steps, index, due):
        """
        Run C{steps} from C{index} at time C{due} (seconds of the clock):
        sleeps are counted from when they were due, so a clock advanced in
        big steps still sees the process's own timing.
        """
        container.resume = (steps, index)
        delay = max(0.0, due - self.clock.seconds())
        container.timer = self.clock.callLater(delay, self._run, container, steps, index, due)

    def _run(self, container, steps, index, due):
        container.timer = None
        container.resume = None
        while index < len(steps):
            step = steps[index]
            index += 1
            if step[0] == "out":
                self._output(container, step[1], step[2])
            elif step[0] == "sleep":
                if step[1] is None:
                    return
                self._schedule(container, steps, index, due + step[1])
                return
            elif step[0] == "write":
                proc.write_file(container, step)
            elif step[0] == "exit":
                self._exited(container, step[1])
                return

    def _output(self, container, stream, data):
        entries = container.add_output(self._now_ns(), stream, data)
        for follower in list(container.followers or ()) + list(container.attached or ()):
            for entry in entries:
                follower(entry)

    @staticmethod
    def _end_attached(container):
        attached, container.attached = container.attached, None
        for callback in attached or ():
            callback(None)

    def _exited(self, container, code):
        if container.timer is not None and container.timer.active():
            container.timer.cancel()
        container.timer = None
        container.resume = None
        self._cancel_stop_timer(container)
        container.status = EXITED
        container.exit_code = code
        container.pid = 0
        container.finished = self._now_ns()
        self._addresses.release(container)
        self._container_event(container, "die", exitCode=str(code))
        for name in sorted(container.networks):
            attachment = container.networks[name]
            network = self.networks.get(attachment.network_id)
            if attachment.endpoint is not None and network is not None:
                self._unplug(container, network, attachment)
        stoppers, container.stoppers = container.stoppers, None
        if stoppers is not None:
            self._container_event(container, "stop")
            for d in stoppers:
                d.callback(None)
        followers, container.followers = container.followers, None
        for follower in followers or ():
            follower(None)
        self._end_attached(container)
        self._end_execs(container)
        self._fire_waiters(container, ("not-running", "next-exit"))
        if container.host_config.get("AutoRemove"):
            self._destroy(container, volumes=True)

    def _fire_waiters(self, container, conditions):
        waiters = container.waiters or []
        keep = [(c, d) for c, d in waiters if c not in conditions]
        fire = [(c, d) for c, d in waiters if c in conditions]
        container.waiters = keep or None
        for _, d in fire:
            d.callback({"Error": None, "StatusCode": container.exit_code})

    @staticmethod
    def _cancel_stop_timer(container):
        timer, container.stop_timer = container.stop_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    # -- signals --------------------------------------------------------------------

    def _signal(self, container, signal):
        """
        Send a signal: the C{kill} event, an C{unpause} if it was paused (as
        dockerd does), then what the process does with it.
        """
        self._container_event(container, "kill", signal=str(signal))
        if container.status == PAUSED:
            self._unpause(container)
        code = proc.signal_exit(signal, bool(container.host_config.get("Init")))
        if code is not None:
            self._exited(container, code)

    def kill(self, ref, signal="KILL"):
        """
        C{POST /containers/{id}/kill}.

        @raise FakeAPIError: 400 for an unknown signal, 409 when not running.
        """
        try:
            number = proc.parse_signal(signal or "KILL")
        except ValueError as e:
            raise bad_request(str(e)) from None
        container = self.find(ref)
        if not container.running:
            raise conflict("Cannot kill container: %s: Container %s is not running"
                           % (ref, container.id))
        self._signal(container, number)

    def stop(self, ref, timeout=None):
        """
        C{POST /containers/{id}/stop}: the stop signal, then SIGKILL after
        C{timeout} seconds if it still runs.

        @param timeout: seconds; L{None} for its C{StopTimeout} or 10; a
            negative value waits for ever.
        @return: a L{Deferred} firing with C{True} once stopped, C{False} at
            once if it was not running (dockerd's 304).
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        if not container.running:
            return succeed(False)
        return self._stop(container, timeout).addCallback(lambda _: True)

    def _stop(self, container, timeout):
        done = Deferred(lambda d: self._forget(container.stoppers, d))
        first = container.stoppers is None
        if first:
            container.stoppers = []
        container.stoppers.append(done)
        if first:
            if timeout is None:
                timeout = container.config.get("StopTimeout")
            if timeout is None:
                timeout = 10
            signal = proc.SIGTERM
            if container.config.get("StopSignal"):
                try:
                    signal = proc.parse_signal(container.config["StopSignal"])
                except ValueError:
                    pass
            self._signal(container, signal)
            if container.running and timeout == 0:
                self._signal(container, proc.SIGKILL)
            elif container.running and timeout > 0:
                self._set_stop_timer(container, timeout)
        return done

    def _set_stop_timer(self, container, timeout):
        def force():
            container.stop_timer = None
            if container.running:
                self._signal(container, proc.SIGKILL)

        container.stop_timer = self.clock.callLater(timeout, force)

    @staticmethod
    def _forget(items, item):
        if items is not None and item in items:
            items.remove(item)

    def restart(self, ref, timeout=None):
        """
        C{POST /containers/{id}/restart}: stop if running, then start.

        @return: a L{Deferred} firing with L{None} once started again.
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        stopped = self._stop(container, timeout) if container.running else succeed(None)

        def start(_):
            try:
                self._start(container)
            except FakeAPIError as e:
                raise server_error("Cannot restart container %s: %s" % (ref, e.message)) from None
            self._container_event(container, "restart")

        return stopped.addCallback(start)

    # -- pause ----------------------------------------------------------------------

    def pause(self, ref):
        """
        C{POST /containers/{id}/pause}.

        @raise FakeAPIError: 409 when not running or already paused.
        """
        container = self.find(ref)
        if container.status == PAUSED:
            raise conflict("Container %s is already paused" % (container.id,))
        if container.status != RUNNING:
            raise conflict("Container %s is not running" % (container.id,))
        if container.timer is not None and container.timer.active():
            remaining = max(0.0, container.timer.getTime() - self.clock.seconds())
            container.timer.cancel()
            container.timer = None
            steps, index = container.resume
            container.resume = (steps, index, remaining)
        container.status = PAUSED
        self._container_event(container, "pause")

    def unpause(self, ref):
        """
        C{POST /containers/{id}/unpause}.

        @raise FakeAPIError: 500 when not paused (as dockerd).
        """
        container = self.find(ref)
        if container.status != PAUSED:
            raise server_error("Container %s is not paused" % (container.id,))
        self._unpause(container)

    def _unpause(self, container):
        container.status = RUNNING
        if container.resume is not None and len(container.resume) == 3:
            steps, index, remaining = container.resume
            self._schedule(container, steps, index, self.clock.seconds() + remaining)
        self._container_event(container, "unpause")

    # -- remove ---------------------------------------------------------------------

    def remove(self, ref, force=False, volumes=False):
        """
        C{DELETE /containers/{id}}.

        @raise FakeAPIError: 409 for a running or paused container without
            C{force}.
        """
        container = self.find(ref)
        if container.running and not force:
            if container.status == PAUSED:
                raise conflict("You cannot remove a paused container %s. Unpause and then stop "
                               "the container before attempting removal or force remove"
                               % (container.id,))
            raise conflict("You cannot remove a running container %s. Stop the container "
                           "before attempting removal or force remove" % (container.id,))
        if container.running:
            self._signal(container, proc.SIGKILL)
        if container.id in self.containers:
            self._destroy(container, volumes)

    def _destroy(self, container, volumes):
        del self.containers[container.id]
        if self._names.get(container.name) is container:
            del self._names[container.name]
        self._container_event(container, "destroy")
        self._end_attached(container)
        self._drop_execs(container)
        if volumes:
            named = set()
            for bind in container.host_config.get("Binds") or []:
                named.add(bind.partition(":")[0])
            for mount in container.host_config.get("Mounts") or []:
                named.add(mount.get("Source"))
            for name, _ in container.volumes:
                if name not in named and name in self.volumes and not self.volume_users(name):
                    self._drop_volume(name)
        waiters, container.waiters = container.waiters, None
        for _, d in waiters or ():
            d.callback({"Error": None, "StatusCode": container.exit_code})

    # -- wait, rename, top ----------------------------------------------------------

    def wait(self, ref, condition=None):
        """
        C{POST /containers/{id}/wait}.

        @param condition: C{not-running} (default), C{next-exit} or
            C{removed}.
        @return: a L{Deferred} firing with C{{"Error": None, "StatusCode": N}}.
        """
        try:
            container = self.find(ref)
        except FakeAPIError as e:
            return fail(e)
        if condition not in _WAIT_CONDITIONS:
            condition = "not-running"
        if condition == "not-running" and not container.running:
            return succeed({"Error": None, "StatusCode": container.exit_code})

        def cancel(d):
            if container.waiters:
                container.waiters = [w for w in container.waiters if w[1] is not d] or None

        d = Deferred(cancel)
        container.waiters = (container.waiters or []) + [(condition, d)]
        return d

    def rename(self, ref, new_name):
        """
        C{POST /containers/{id}/rename?name=...}.
        """
        container = self.find(ref)
        if not new_name:
            raise bad_request("Neither old nor new names may be empty")
        new_name = new_name.lstrip("/")
        if new_name == container.name:
            raise bad_request("Renaming a container with the same name as its current name")
        try:
            new_name = self._check_name("/" + new_name, "/" + new_name)
        except FakeAPIError as e:
            raise FakeAPIError(e.status, "Error when allocating new name: " + e.message) from None
        old = container.name
        del self._names[old]
        container.name = new_name
        container.attributes = None
        self._names[new_name] = container
        self._container_event(container, "rename", oldName="/" + old)

    def top(self, ref, ps_args=None):
        """
        C{GET /containers/{id}/top}.

        @return: C{{"Titles": [...], "Processes": [[...]]}}.
        """
        container = self.find(ref)
        if not container.running:
            raise conflict("Container %s is not running" % (container.id,))
        started = time.strftime("%H:%M", time.gmtime(container.started / NANO))
        commands = [" ".join([container.path] + list(container.args))]
        if container.host_config.get("Init"):
            commands.insert(0, "/sbin/docker-init -- " + commands[0])
        pids = [container.pid + i for i in range(len(commands))]
        if ps_args and "u" in ps_args:
            titles = ["USER", "PID", "%CPU", "%MEM", "VSZ", "RSS", "TTY", "STAT", "START",
                      "TIME", "COMMAND"]
            rows = [["root", str(pid), "0.0", "0.0", "1312", "4", "?", "Ss", started, "0:00",
                     command] for pid, command in zip(pids, commands, strict=True)]
        else:
            titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
            rows = []
            parent = container.pid - 20
            for pid, command in zip(pids, commands, strict=True):
                rows.append(["root", str(pid), str(parent), "0", started, "?", "00:00:00",
                             command])
                parent = pid
        self._container_event(container, "top")
        return {"Processes": rows, "Titles": titles}

    # -- logs -----------------------------------------------------------------------

    def log_entries(self, ref, stdout=True, stderr=True, tail=None, since=None, until=None):
        """
        The output of a container, as C{GET /containers/{id}/logs} selects it.

        @param tail: the number of last lines, or L{None} for all.
        @param since: nanoseconds, or L{None}.
        @param until: nanoseconds, or L{None}.
        @return: C{(container, entries)}: entries are C{(ns, stream, bytes)}.
        @raise FakeAPIError: 400 when neither stream is asked for.
        """
        if not (stdout or stderr):
            raise bad_request("Bad parameters: you must choose at least one stream")
        container = self.find(ref)
        streams = set()
        if stdout:
            streams.add(1)
        if stderr:
            streams.add(2)
        entries = [e for e in container.logs if e[1] in streams
                   and (since is None or e[0] >= since) and (until is None or e[0] <= until)]
        if tail is not None:
            entries = entries[-tail:] if tail > 0 else []
        return container, entries

    def follow(self, container, callback):
        """
        Call C{callback(entry)} for new output of a running container, then
        C{callback(None)} when it stops.

        @return: a callable that stops following, or L{None} if the
            container is not running (nothing will come).
        """
        if not container.running:
            return None
        container.followers = (container.followers or []) + [callback]

        def stop():
            if container.followers and callback in container.followers:
                container.followers = [f for f in container.followers if f is not callback] or None

        return stop

    # -- lists ----------------------------------------------------------------------

    def inspect(self, ref):
        """
        @return: C{GET /containers/{id}/json}.
        """
        return self.find(ref).inspect(self)

    def list_containers(self, all=False, limit=None, filters=None, size=False,
                        before=None, since=None):
        """
        C{GET /containers/json}.

        @param filters: a L{Filters} (validated here, as dockerd does).
        @return: container summaries, newest first.
        """
        filters = filters or Filters()
        filters.validate_containers()
        if "status" in filters or (limit is not None and limit > 0):
            all = True
        before_ref = before or next(iter(filters.get("before")), None)
        since_ref = since or next(iter(filters.get("since")), None)
        before_c = self.find(before_ref) if before_ref else None
        since_c = self.find(since_ref) if since_ref else None
        if before_c is not None or since_c is not None:
            all = True
        now = self._now_ns()
        result = []
        for container in reversed(list(self.containers.values())):
            if before_c is not None and container.created >= before_c.created:
                continue
            if since_c is not None and container.created <= since_c.created:
                continue
            if not all and not container.running:
                continue
            if not container_included(self, container, filters):
                continue
            result.append(container.summary(self, now, size))
            if limit is not None and 0 < limit <= len(result):
                break
        return result
