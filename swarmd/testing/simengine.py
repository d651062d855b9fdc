"""
A simulated Docker engine: the engine API the manager uses, served over HTTP
from state kept in memory.

It is the in-memory fake of unit tests (reached through
C{treq.testing.RequestTraversalAgent} or a loopback port) and the node of the
scale simulator (a thousand of them in one process, each on its own loopback
address or port).  It runs the same conformance suite as a real dockerd
(L{swarmd.testing.iengine.make_iengine_tests}), so what the manager learns
against it holds against real engines.

Containers do not run anything.  Their command decides what happens when
they start: C{echo ARGS...} prints its arguments and exits 0, C{true} and
C{false} exit 0 and 1, C{sh -c "exit N"} exits N, C{sh -c "echo X; ..."}
prints X first; anything else runs until stopped or killed.
"""

import hashlib
import itertools
import json
import os
import re
import shlex
from datetime import datetime, timezone

from klein import Klein
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ServerEndpoint, UNIXServerEndpoint
from twisted.web.server import NOT_DONE_YET, Site

API_VERSION = "1.41"
MIN_API_VERSION = "1.12"

#: The busybox image every simulated engine holds (same ID everywhere, as
#: the lab imports the same tarball everywhere).
BUSYBOX_ID = "sha256:" + hashlib.sha256(b"swarmd simulated busybox").hexdigest()

_NAME = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_ids = itertools.count(1)


def _rfc3339(seconds):
    if not seconds:
        return "0001-01-01T00:00:00Z"
    when = datetime.fromtimestamp(seconds, timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + "%09dZ" % (int(round(seconds % 1 * 1e9)) % 10 ** 9)


def _new_id(seed):
    return hashlib.sha256(("%s-%d" % (seed, next(_ids))).encode()).hexdigest()


class SimError(Exception):
    """
    An error answer of the simulated engine.
    """

    def __init__(self, status, message):
        Exception.__init__(self, message)
        self.status = status
        self.message = message


class Registry:
    """
    Images that simulated engines can pull (shared by several engines).
    """

    def __init__(self, images=()):
        self.images = {}
        for name in images:
            self.add(name)

    def add(self, name, image_id=None):
        """
        Make C{name} (C{repo} or C{repo:tag}) pullable.
        """
        if ":" not in name.rpartition("/")[2]:
            name += ":latest"
        self.images[name] = image_id or "sha256:" + hashlib.sha256(name.encode()).hexdigest()


class SimContainer:
    """
    One container of a simulated engine.
    """

    def __init__(self, engine, cid, name, body):
        self.engine = engine
        self.id = cid
        self.name = name
        self.body = body
        config = dict(body)
        self.host_config = dict(config.pop("HostConfig", None) or {})
        config.pop("NetworkingConfig", None)
        self.config = config
        self.created = engine.now()
        self.status = "created"
        self.exit_code = 0
        self.started_at = 0.0
        self.finished_at = 0.0
        self.pid = 0
        self.logs = []
        self.followers = []
        self.waiters = []

    @property
    def running(self):
        return self.status in ("running", "paused")

    def command(self):
        cmd = self.config.get("Cmd") or []
        entrypoint = self.config.get("Entrypoint") or []
        if isinstance(cmd, str):
            cmd = [cmd]
        if isinstance(entrypoint, str):
            entrypoint = [entrypoint]
        return list(entrypoint) + list(cmd)

    def inspect(self):
        image = self.config.get("Image", "")
        ports = {}
        if self.running:
            for key in (self.config.get("ExposedPorts") or {}):
                ports[key] = None
            for key, bindings in (self.host_config.get("PortBindings") or {}).items():
                ports[key] = [{"HostIp": b.get("HostIp") or "0.0.0.0",
                               "HostPort": b.get("HostPort") or "0"} for b in bindings or []]
        command = self.command()
        return {
            "Id": self.id,
            "Created": _rfc3339(self.created),
            "Path": command[0] if command else "",
            "Args": command[1:],
            "State": {
                "Status": self.status,
                "Running": self.running,
                "Paused": self.status == "paused",
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": self.pid if self.running else 0,
                "ExitCode": self.exit_code,
                "Error": "",
                "StartedAt": _rfc3339(self.started_at),
                "FinishedAt": _rfc3339(self.finished_at),
            },
            "Image": self.engine.image_id(image) or "",
            "Name": "/" + self.name,
            "RestartCount": 0,
            "Driver": "overlay2",
            "Platform": "linux",
            "HostConfig": dict({"NetworkMode": "default", "CpuShares": 0, "Memory": 0,
                                "PortBindings": {}, "Binds": None, "Links": None,
                                "VolumesFrom": None}, **self.host_config),
            "Mounts": [],
            "Config": dict({"Hostname": self.id[:12], "Env": None, "Cmd": None,
                            "Labels": {}, "Tty": False, "OpenStdin": False},
                           **self.config),
            "NetworkSettings": {
                "Ports": ports,
                "Networks": {"bridge": {"NetworkID": self.engine.networks[0]["Id"],
                                        "IPAddress": "172.17.0.2" if self.running else ""}},
            },
        }

    def summary(self):
        info = self.inspect()
        ports = []
        for key, bindings in info["NetworkSettings"]["Ports"].items():
            number, _, proto = key.partition("/")
            for binding in bindings or [None]:
                port = {"PrivatePort": int(number), "Type": proto or "tcp"}
                if binding:
                    port.update(IP=binding["HostIp"], PublicPort=int(binding["HostPort"]))
                ports.append(port)
        command = self.command()
        return {
            "Id": self.id,
            "Names": ["/" + self.name],
            "Image": self.config.get("Image", ""),
            "ImageID": info["Image"],
            "Command": " ".join(command),
            "Created": int(self.created),
            "Ports": ports,
            "Labels": self.config.get("Labels") or {},
            "State": self.status,
            "Status": {"running": "Up", "paused": "Up (Paused)", "created": "Created"}.get(
                self.status, "Exited (%d)" % (self.exit_code,)),
            "HostConfig": {"NetworkMode": info["HostConfig"]["NetworkMode"]},
            "NetworkSettings": {"Networks": info["NetworkSettings"]["Networks"]},
            "Mounts": [],
        }

    def write(self, stream, text):
        entry = (stream, self.engine.now(), text.encode("utf-8"))
        self.logs.append(entry)
        for follower in list(self.followers):
            follower(entry)

    def start(self):
        self.status = "running"
        self.started_at = self.engine.now()
        self.finished_at = 0.0
        self.pid = 1000 + next(_ids)
        self.engine.emit("container", "start", self.id, self._attributes())
        outcome = self._script()
        if outcome is not None:
            self.exit(outcome)

    def _script(self):
        """
        Run the command's effect; return its exit code, or None if it keeps
        running.
        """
        command = self.command()
        if not command:
            return None
        program = os.path.basename(command[0])
        if program == "echo":
            self.write(1, " ".join(command[1:]) + "\n")
            return 0
        if program == "true":
            return 0
        if program == "false":
            return 1
        if program == "sh" and len(command) >= 3 and command[1] == "-c":
            return self._shell(command[2])
        return None

    def _shell(self, script):
        for part in [p.strip() for p in script.split(";")]:
            try:
                words = shlex.split(part)
            except ValueError:
                return 2
            if not words:
                continue
            if words[0] == "echo":
                target = 1
                if words[-1] in (">&2", "1>&2"):
                    words, target = words[:-1], 2
                self.write(target, " ".join(words[1:]) + "\n")
            elif words[0] == "exit":
                return int(words[1]) if len(words) > 1 else 0
            elif words[0] in ("true", ":"):
                continue
            elif words[0] == "false":
                return 1
            else:
                return None
        return 0

    def exit(self, code):
        self.status = "exited"
        self.exit_code = code
        self.finished_at = self.engine.now()
        self.engine.emit("container", "die", self.id,
                         dict(self._attributes(), exitCode=str(code)))
        for follower in list(self.followers):
            follower(None)
        waiters, self.waiters = self.waiters, []
        for waiter in waiters:
            waiter.callback(code)

    def _attributes(self):
        attributes = {"image": self.config.get("Image", ""), "name": self.name}
        attributes.update(self.config.get("Labels") or {})
        return attributes


class SimEngine:
    """
    The state of one simulated engine and its HTTP front.

    @ivar unreachable: when true the engine drops every connection.
    @ivar latency: seconds added to every answer (on C{clock}).
    """

    app = Klein()

    def __init__(self, name="sim", labels=("storage=ssd",), cpus=4, memory=8 * 1024 ** 3,
                 registry=None, clock=None, engine_id=None):
        if clock is None:
            from twisted.internet import reactor as clock
        self.clock = clock
        self.name = name
        self.engine_id = engine_id or ":".join(
            hashlib.sha256(("id" + name + str(next(_ids))).encode()).hexdigest()[i:i + 4].upper()
            for i in range(0, 48, 4))
        self.labels = list(labels)
        self.cpus = cpus
        self.memory = memory
        self.registry = registry or Registry()
        self.containers = {}
        self.images = {BUSYBOX_ID: {"Id": BUSYBOX_ID, "RepoTags": ["busybox:latest"],
                                    "RepoDigests": [], "Created": 1700000000, "Size": 2000000,
                                    "Labels": None, "ParentId": "", "SharedSize": -1,
                                    "VirtualSize": 2000000, "Containers": -1}}
        self.networks = [
            {"Name": name_, "Id": _new_id(name_ + self.engine_id), "Scope": "local",
             "Driver": driver, "Created": _rfc3339(self.now()), "EnableIPv6": False,
             "IPAM": {"Driver": "default", "Config": []}, "Internal": False,
             "Attachable": False, "Ingress": False, "Containers": {}, "Options": {},
             "Labels": {}}
            for name_, driver in (("bridge", "bridge"), ("host", "host"), ("none", "null"))]
        self.volumes = []
        self.events = []
        self.subscribers = []
        self.unreachable = False
        self.latency = 0.0
        self._failures = []

    # -- time and events -----------------------------------------------------

    def now(self):
        return self.clock.seconds()

    def emit(self, kind, action, actor, attributes=None):
        """
        Record an event and send it to every open events stream.
        """
        now = self.now()
        event = {"Type": kind, "Action": action, "Actor": {"ID": actor,
                                                           "Attributes": attributes or {}},
                 "scope": "local", "time": int(now), "timeNano": int(now * 1e9)}
        if kind == "container":
            event.update(status=action, id=actor, **{"from": (attributes or {}).get("image",
                                                                                    "")})
        self.events.append(event)
        del self.events[:-256]
        for subscriber in list(self.subscribers):
            subscriber(event)

    # -- faults ----------------------------------------------------------------

    def fail(self, status, message, count=1):
        """
        Answer the next C{count} API calls with this error.
        """
        self._failures.extend([(status, message)] * count)

    # -- serving -----------------------------------------------------------------

    def resource(self):
        return self.app.resource()

    def site(self):
        site = Site(self.resource())
        site.noisy = False
        site.log = lambda request: None
        return site

    def serve(self, address, reactor=None):
        """
        Listen on C{host:port} (port 0: any) or C{unix:///path}.

        @return: a L{Deferred} firing with the listening port.
        """
        if reactor is None:
            from twisted.internet import reactor
        if address.startswith("unix://"):
            endpoint = UNIXServerEndpoint(reactor, address[len("unix://"):])
        else:
            host, _, port = address.rpartition(":")
            endpoint = TCP4ServerEndpoint(reactor, int(port), interface=host)
        return endpoint.listen(self.site())

    # -- model ---------------------------------------------------------------------

    def image_id(self, reference):
        if not reference:
            return None
        if reference in self.images:
            return reference
        if "sha256:" + reference in self.images:
            return "sha256:" + reference
        wanted = reference if ":" in reference.rpartition("/")[2] else reference + ":latest"
        for image_id, image in self.images.items():
            if wanted in image["RepoTags"] or image_id.startswith("sha256:" + reference):
                return image_id
        return None

    def find(self, reference):
        found = self.containers.get(reference)
        if found is not None:
            return found
        name = reference.lstrip("/")
        for container in self.containers.values():
            if container.name == name:
                return container
        matches = [c for c in self.containers.values() if c.id.startswith(reference)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise SimError(400, "multiple IDs found with provided prefix: " + reference)
        raise SimError(404, "No such container: " + reference)

    def create(self, body, name=None):
        if name is not None:
            if not _NAME.match(name):
                raise SimError(400, "Invalid container name (%s), only [a-zA-Z0-9]"
                                    "[a-zA-Z0-9_.-] are allowed" % (name,))
            name = name.lstrip("/")
            for other in self.containers.values():
                if other.name == name:
                    raise SimError(409, 'Conflict. The container name "/%s" is already in use '
                                        'by container "%s". You have to remove (or rename) '
                                        "that container to be able to reuse that name."
                                   % (name, other.id))
        image = body.get("Image") or ""
        if not image:
            raise SimError(400, "No command specified" if not body.get("Cmd") else
                           "invalid reference format")
        if self.image_id(image) is None:
            shown = image if ":" in image.rpartition("/")[2] else image + ":latest"
            raise SimError(404, "No such image: " + shown)
        cid = _new_id(self.engine_id)
        if name is None:
            name = "sim_%s" % (cid[:8],)
        container = SimContainer(self, cid, name, body)
        self.containers[cid] = container
        self.emit("container", "create", cid, container._attributes())
        return container

    def pull(self, image, tag):
        reference = image + ":" + (tag or "latest")
        image_id = self.registry.images.get(reference)
        if image_id is None:
            raise SimError(404, "pull access denied for %s, repository does not exist or may "
                                "require 'docker login'" % (image,))
        entry = self.images.setdefault(image_id, {
            "Id": image_id, "RepoTags": [], "RepoDigests": [], "Created": int(self.now()),
            "Size": 1000000, "Labels": None, "ParentId": "", "SharedSize": -1,
            "VirtualSize": 1000000, "Containers": -1})
        if reference not in entry["RepoTags"]:
            entry["RepoTags"].append(reference)
        self.emit("image", "pull", reference, {"name": reference})
        return reference

    def remove(self, container):
        del self.containers[container.id]
        self.emit("container", "destroy", container.id, container._attributes())


def _answer(request, value, status=200):
    request.setResponseCode(status)
    request.setHeader(b"Content-Type", b"application/json")
    return json.dumps(value).encode("utf-8") + b"\n"


def _arg(request, name, default=None):
    values = request.args.get(name.encode())
    return values[-1].decode() if values else default


def _flag(request, name):
    value = _arg(request, name)
    return value is not None and value.lower() not in ("", "0", "false", "no")


def _body(request):
    data = request.content.read() if request.content is not None else b""
    if not data.strip():
        return {}
    try:
        return json.loads(data)
    except ValueError as e:
        raise SimError(400, "invalid character in JSON: %s" % (e,)) from None


def _filters(request):
    text = _arg(request, "filters")
    if not text:
        return {}
    raw = json.loads(text)
    return {k: (list(v) if isinstance(v, (list, dict)) else [v]) for k, v in raw.items()}


def _frame(stream, data):
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def route(*paths, methods=("GET",)):
    """
    Register a handler for each path, with and without a version prefix.
    """

    def decorate(function):
        for path in paths:
            for prefix in ("", "/v<version>"):
                SimEngine.app.route(prefix + path, methods=list(methods),
                                    endpoint="%s %s%s" % (",".join(methods), prefix, path))(
                    _guarded(function))
        return function

    return decorate


def _too_new(version):
    try:
        return tuple(map(int, version.split("."))) > tuple(map(int, API_VERSION.split(".")))
    except ValueError:
        return False


def _guarded(function):
    def handler(self, request, version=None, **kwargs):
        if self.unreachable:
            request.channel.transport.abortConnection()
            return NOT_DONE_YET
        if self._failures:
            status, message = self._failures.pop(0)
            return _answer(request, {"message": message}, status)
        if version is not None and _too_new(version):
            return _answer(request, {"message": "client version %s is too new. Maximum "
                                                "supported API version is %s"
                                                % (version, API_VERSION)}, 400)
        try:
            result = function(self, request, **kwargs)
        except SimError as e:
            result = _answer(request, {"message": e.message}, e.status)
        if self.latency and not isinstance(result, Deferred) and result is not NOT_DONE_YET:
            d = Deferred()
            self.clock.callLater(self.latency, d.callback, result)
            return d
        return result

    handler.__name__ = function.__name__
    return handler


@route("/_ping", methods=("GET", "HEAD"))
def ping(self, request):
    request.setHeader(b"Api-Version", API_VERSION.encode())
    request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
    return b"OK"


@route("/version")
def version(self, request):
    return _answer(request, {"Version": "20.10.24-sim", "ApiVersion": API_VERSION,
                             "MinAPIVersion": MIN_API_VERSION, "Os": "linux", "Arch": "amd64",
                             "KernelVersion": "6.1.0-sim", "GoVersion": "go1.19"})


@route("/info")
def info(self, request):
    containers = list(self.containers.values())
    return _answer(request, {
        "ID": self.engine_id, "Name": self.name, "Labels": self.labels,
        "Containers": len(containers),
        "ContainersRunning": sum(c.status == "running" for c in containers),
        "ContainersPaused": sum(c.status == "paused" for c in containers),
        "ContainersStopped": sum(not c.running for c in containers),
        "Images": len(self.images), "NCPU": self.cpus, "MemTotal": self.memory,
        "Driver": "overlay2", "KernelVersion": "6.1.0-sim",
        "OperatingSystem": "Debian GNU/Linux 12 (simulated)", "OSType": "linux",
        "Architecture": "x86_64", "ServerVersion": "20.10.24-sim",
        "SystemTime": _rfc3339(self.now()),
    })


@route("/containers/json")
def containers_json(self, request):
    show_all = _flag(request, "all")
    filters = _filters(request)
    chosen = []
    for container in sorted(self.containers.values(), key=lambda c: -c.created):
        if not show_all and not container.running and not filters.get("status"):
            continue
        if filters.get("status") and container.status not in filters["status"]:
            continue
        if filters.get("name") and not any(re.search(n, container.name)
                                           for n in filters["name"]):
            continue
        if filters.get("id") and not any(container.id.startswith(i) for i in filters["id"]):
            continue
        labels = container.config.get("Labels") or {}
        if filters.get("label") and not all(
                (lambda k, _, v: k in labels and (not _ or labels[k] == v))(*f.partition("="))
                for f in filters["label"]):
            continue
        chosen.append(container.summary())
    limit = int(_arg(request, "limit", "-1") or -1)
    if limit > 0:
        chosen = chosen[:limit]
    return _answer(request, chosen)


@route("/containers/create", methods=("POST",))
def containers_create(self, request):
    container = self.create(_body(request), _arg(request, "name"))
    return _answer(request, {"Id": container.id, "Warnings": []}, 201)


@route("/containers/<path:name>/json")
def container_json(self, request, name):
    return _answer(request, self.find(name).inspect())


@route("/containers/<path:name>/start", methods=("POST",))
def container_start(self, request, name):
    container = self.find(name)
    if container.running:
        request.setResponseCode(304)
        return b""
    container.start()
    request.setResponseCode(204)
    return b""


def _stopped(self, container, code, action):
    self.emit("container", "kill", container.id, dict(container._attributes(), signal="15"))
    container.exit(code)
    self.emit("container", action, container.id, container._attributes())


@route("/containers/<path:name>/stop", methods=("POST",))
def container_stop(self, request, name):
    container = self.find(name)
    if not container.running:
        request.setResponseCode(304)
        return b""
    _stopped(self, container, 137, "stop")
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/kill", methods=("POST",))
def container_kill(self, request, name):
    container = self.find(name)
    if not container.running:
        raise SimError(409, "Container %s is not running" % (container.id,))
    signal = _arg(request, "signal", "SIGKILL")
    self.emit("container", "kill", container.id, dict(container._attributes(), signal=signal))
    container.exit(137)
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/restart", methods=("POST",))
def container_restart(self, request, name):
    container = self.find(name)
    if container.running:
        _stopped(self, container, 137, "stop")
    container.start()
    self.emit("container", "restart", container.id, container._attributes())
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/pause", methods=("POST",))
def container_pause(self, request, name):
    container = self.find(name)
    if container.status != "running":
        raise SimError(409, "Container %s is not running" % (container.id,))
    container.status = "paused"
    self.emit("container", "pause", container.id, container._attributes())
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/unpause", methods=("POST",))
def container_unpause(self, request, name):
    container = self.find(name)
    if container.status != "paused":
        raise SimError(409, "Container %s is not paused" % (container.id,))
    container.status = "running"
    self.emit("container", "unpause", container.id, container._attributes())
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/rename", methods=("POST",))
def container_rename(self, request, name):
    container = self.find(name)
    new = (_arg(request, "name") or "").lstrip("/")
    if not _NAME.match(new):
        raise SimError(400, "Invalid container name (%s)" % (new,))
    if any(c.name == new for c in self.containers.values() if c is not container):
        raise SimError(409, 'Conflict. The container name "/%s" is already in use' % (new,))
    old, container.name = container.name, new
    self.emit("container", "rename", container.id, dict(container._attributes(),
                                                        oldName="/" + old))
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/wait", methods=("POST",))
def container_wait(self, request, name):
    container = self.find(name)
    if not container.running and container.status != "created":
        return _answer(request, {"StatusCode": container.exit_code, "Error": None})
    d = Deferred()
    container.waiters.append(d)
    d.addCallback(lambda code: _answer(request, {"StatusCode": code, "Error": None}))
    return d


@route("/containers/<path:name>", methods=("DELETE",))
def container_delete(self, request, name):
    container = self.find(name)
    if container.running:
        if not _flag(request, "force"):
            raise SimError(409, "You cannot remove a running container %s. Stop the container "
                                "before attempting removal or force remove" % (container.id,))
        self.emit("container", "kill", container.id, dict(container._attributes(), signal="9"))
        container.exit(137)
    self.remove(container)
    request.setResponseCode(204)
    return b""


@route("/containers/<path:name>/logs")
def container_logs(self, request, name):
    container = self.find(name)
    streams = {1: _flag(request, "stdout"), 2: _flag(request, "stderr")}
    stamps = _flag(request, "timestamps")
    tty = bool(container.config.get("Tty"))
    tail = _arg(request, "tail", "all")
    entries = container.logs
    if tail not in (None, "", "all"):
        entries = entries[-int(tail):] if int(tail) > 0 else []

    def render(entry):
        stream, when, data = entry
        if not streams.get(stream):
            return b""
        if stamps:
            data = _rfc3339(when).encode() + b" " + data
        return data if tty else _frame(stream, data)

    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"application/vnd.docker.raw-stream")
    body = b"".join(render(e) for e in entries)
    if not (_flag(request, "follow") and container.running):
        return body
    request.write(body)
    done = Deferred()

    def follow(entry):
        if entry is None:
            container.followers.remove(follow)
            if not done.called:
                done.callback(b"")
            return
        request.write(render(entry))

    container.followers.append(follow)
    request.notifyFinish().addErrback(
        lambda _: follow in container.followers and container.followers.remove(follow))
    return done


@route("/containers/<path:name>/top")
def container_top(self, request, name):
    container = self.find(name)
    if not container.running:
        raise SimError(409, "Container %s is not running" % (container.id,))
    return _answer(request, {"Titles": ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME",
                                        "CMD"],
                             "Processes": [["root", str(container.pid), "1", "0", "10:00",
                                            "?", "00:00:00", " ".join(container.command())]]})


@route("/images/json")
def images_json(self, request):
    return _answer(request, list(self.images.values()))


@route("/images/<path:name>/json")
def image_json(self, request, name):
    image_id = self.image_id(name)
    if image_id is None:
        raise SimError(404, "No such image: " + name)
    image = self.images[image_id]
    return _answer(request, {"Id": image_id, "RepoTags": image["RepoTags"],
                             "RepoDigests": image["RepoDigests"], "Size": image["Size"],
                             "Os": "linux", "Architecture": "amd64",
                             "Config": {"Cmd": ["sh"], "Labels": image["Labels"]}})


@route("/images/create", methods=("POST",))
def images_create(self, request):
    image = _arg(request, "fromImage") or ""
    tag = _arg(request, "tag")
    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"application/json")
    try:
        reference = self.pull(image, tag)
    except SimError as e:
        if e.status == 404 and not request.startedWriting:
            raise
        return json.dumps({"errorDetail": {"message": e.message},
                           "error": e.message}).encode() + b"\n"
    return (json.dumps({"status": "Pulling from " + image, "id": tag or "latest"}) + "\n"
            + json.dumps({"status": "Status: Downloaded newer image for " + reference})
            + "\n").encode()


@route("/networks")
def networks(self, request):
    return _answer(request, self.networks)


@route("/volumes")
def volumes(self, request):
    return _answer(request, {"Volumes": self.volumes, "Warnings": None})


@route("/events")
def events(self, request):
    since = _arg(request, "since")
    until = _arg(request, "until")
    filters = _filters(request)

    def wanted(event):
        for key, field in (("type", "Type"), ("event", "Action")):
            if filters.get(key) and event.get(field) not in filters[key]:
                return False
        if filters.get("container") and event["Actor"]["ID"] not in filters["container"] \
                and event["Actor"]["Attributes"].get("name") not in filters["container"]:
            return False
        return True

    def nanos(value):
        seconds, _, fraction = value.partition(".")
        return int(seconds) * 10 ** 9 + int((fraction + "000000000")[:9])

    request.setResponseCode(200)
    request.setHeader(b"Content-Type", b"application/json")
    start = nanos(since) if since else None
    end = nanos(until) if until else None
    backlog = [e for e in self.events
               if start is not None and e["timeNano"] >= start
               and (end is None or e["timeNano"] <= end) and wanted(e)]
    request.write(b"".join(json.dumps(e).encode() + b"\n" for e in backlog))
    if end is not None and end <= self.now() * 1e9:
        return b""
    done = Deferred()

    def send(event):
        if end is not None and event["timeNano"] > end:
            stop()
            return
        if wanted(event):
            request.write(json.dumps(event).encode() + b"\n")

    def stop(_=None):
        if send in self.subscribers:
            self.subscribers.remove(send)
        if not done.called:
            done.callback(b"")

    self.subscribers.append(send)
    request.notifyFinish().addBoth(stop)
    if end is not None:
        self.clock.callLater(max(0, end / 1e9 - self.now()), stop)
    return done


@route("/<path:anything>", methods=("GET", "HEAD", "POST", "PUT", "DELETE"))
def not_found(self, request, anything):
    return _answer(request, {"message": "page not found"}, 404)
