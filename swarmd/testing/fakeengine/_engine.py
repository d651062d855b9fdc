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

from swarmd.testing.fakeengine._build import BuildOps
from swarmd.testing.fakeengine._container import PAUSED, RUNNING, FakeContainer
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
from swarmd.testing.fakeengine._image_transfer import ImageTransferOps
from swarmd.testing.fakeengine._images import busybox
from swarmd.testing.fakeengine._lifecycle import LifecycleOps
from swarmd.testing.fakeengine._network import PREDEFINED, Addresses, default_networks
from swarmd.testing.fakeengine._network_ops import NetworkOps
from swarmd.testing.fakeengine._references import familiar
from swarmd.testing.fakeengine._registry import FakeRegistry
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


class FakeEngine(LifecycleOps, NetworkOps, VolumeOps, ImageOps, ImageTransferOps, BuildOps,
                 ExecOps, ContainerOps):
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
