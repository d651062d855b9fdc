"""
A Python-level engine client for Clock-driven unit tests of the engine and
the cluster: answers come back as Deferreds the test controls (at once, or
after C{delay} seconds of the test's Clock).
"""

import itertools
import json
import re

from treq.testing import RequestTraversalAgent
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.task import deferLater
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from swarmd.engine import EngineError, EngineUnreachable, IEngineClient, IEventStream

_ids = itertools.count(1)


@implementer(IStreamClientEndpoint)
class NoSocket:
    """
    The endpoint of an engine that has no socket: hijacked streams to a
    stub engine are refused.
    """

    def connect(self, protocolFactory):
        return fail(ConnectionRefusedError("the stub engine has no socket"))


class _Routes(Resource):
    """
    The raw HTTP face of a L{StubClient}: its reads (C{GET}) as dockerd
    answers them, anything else a 404.
    """

    isLeaf = True

    def __init__(self, client):
        Resource.__init__(self)
        self._client = client

    def render(self, request):
        path = re.sub(r"^/v\d+\.\d+", "", request.path.decode())
        d = self._client.read(request.method.decode(), path)

        def answer(value):
            request.setResponseCode(200)
            if isinstance(value, bytes):
                request.write(value)
            else:
                request.setHeader(b"Content-Type", b"application/json")
                request.write(json.dumps(value).encode() + b"\n")
            request.finish()

        def refuse(failure):
            failure.trap(EngineError)
            request.setResponseCode(failure.value.status)
            request.setHeader(b"Content-Type", b"application/json")
            request.write(json.dumps({"message": failure.value.message}).encode())
            request.finish()

        d.addCallbacks(answer, refuse)
        return NOT_DONE_YET


@implementer(IEventStream)
class StubStream:
    def __init__(self, callback, since):
        self.callback = callback
        self.since = since
        self.done = Deferred()
        self.stopped = False

    def stop(self):
        self.stopped = True
        if not self.done.called:
            self.done.callback(None)


def inspect(cid, name, status="running", labels=None, shares=0, memory=0, image="busybox",
            ports=None):
    """
    An inspect answer as a real engine gives it (the fields the manager reads).
    """
    return {
        "Id": cid,
        "Name": "/" + name,
        "Created": "2026-11-28T10:00:00.000000000Z",
        "State": {"Status": status, "Running": status == "running",
                  "StartedAt": "2026-11-28T10:00:01Z", "FinishedAt": "0001-01-01T00:00:00Z"},
        "Config": {"Image": image, "Labels": labels or {}},
        "HostConfig": {"CpuShares": shares, "Memory": memory, "PortBindings": ports or {}},
        "NetworkSettings": {"Ports": {}},
        "Image": "sha256:" + image,
    }


@implementer(IEngineClient)
class StubClient:
    """
    An in-memory engine the test drives.

    @ivar down: every call fails as unreachable.
    @ivar delay: seconds (of C{clock}) each create takes.
    @ivar images: image names present on the engine.
    @ivar registry: image names a pull can fetch.
    """

    def __init__(self, address="127.0.0.1:2375", name="n1", clock=None, cpus=4,
                 memory=8 * 1024 ** 3, labels=("storage=ssd",)):
        self.address = address
        self.api_version = "1.41"
        self.endpoint = NoSocket()
        self._agent = None
        self.clock = clock
        self.down = False
        self.delay = 0
        self.containers = {}
        self.images = {"busybox"}
        self.registry = set()
        self.calls = []
        self.streams = []
        self.info_answer = {
            "ID": "ID-" + name, "Name": name, "NCPU": cpus, "MemTotal": memory,
            "Labels": ["node=" + name] + list(labels), "Driver": "overlay2",
            "KernelVersion": "6.1", "OperatingSystem": "Debian", "OSType": "linux",
            "SystemTime": "2026-11-28T10:00:00.5Z",
        }

    def close(self):
        return succeed(None)

    def _answer(self, name, value):
        self.calls.append(name)
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        return succeed(value)

    def _later(self, value_or_error):
        def produce():
            if isinstance(value_or_error, Exception):
                raise value_or_error
            return value_or_error

        if self.delay and self.clock is not None:
            return deferLater(self.clock, self.delay, produce)
        try:
            return succeed(produce())
        except Exception as e:
            return fail(e)

    def _container(self, name, cid):
        """
        The inspect C{dict} of C{cid}, or the failure the call answers.
        """
        self.calls.append(name)
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        if cid not in self.containers:
            return fail(EngineError(404, "No such container: " + cid))
        return self.containers[cid]

    def _set_state(self, name, cid, status, result=None):
        info = self._container(name, cid)
        if isinstance(info, Deferred):
            return info
        info["State"].update(Status=status, Running=status in ("running", "paused"),
                             Paused=status == "paused")
        return succeed(result)

    def version(self):
        return self._answer("version", {"ApiVersion": "1.41", "Version": "20.10"})

    def info(self):
        return self._answer("info", self.info_answer)

    def ping(self):
        return self._answer("ping", None)

    def list_containers(self, all=True, filters=None):
        return self._answer("list_containers", [
            {"Id": c["Id"], "Names": [c["Name"]], "State": c["State"]["Status"],
             "Labels": c["Config"]["Labels"]}
            for c in self.containers.values()])

    def inspect_container(self, cid):
        if not self.down and cid not in self.containers:
            self.calls.append("inspect_container")
            return fail(EngineError(404, "No such container: " + cid))
        return self._answer("inspect_container", self.containers.get(cid))

    def create_container(self, body, name=None, auth=None):
        self.calls.append("create_container")
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        image = body.get("Image", "")
        if image not in self.images:
            return self._later(EngineError(404, "No such image: %s:latest" % (image,)))
        if name and any(c["Name"] == "/" + name for c in self.containers.values()):
            return self._later(EngineError(409, "Conflict. The container name \"/%s\" is "
                                                "already in use" % (name,)))
        cid = "%064x" % next(_ids)
        host = body.get("HostConfig") or {}
        info = inspect(cid, name or "auto%s" % cid[-6:], status="created",
                       labels=body.get("Labels"), shares=host.get("CpuShares") or 0,
                       memory=host.get("Memory") or 0, image=image,
                       ports=host.get("PortBindings"))
        d = self._later({"Id": cid, "Warnings": []})
        d.addCallback(lambda answer: (self.containers.__setitem__(cid, info), answer)[1])
        return d

    def pull_image(self, image, auth=None):
        self.calls.append("pull_image")
        if image in self.registry:
            self.images.add(image)
            return succeed([{"status": "Downloaded newer image for " + image}])
        return fail(EngineError(500, "pull access denied for " + image))

    def list_images(self):
        return self._answer("list_images", [
            {"Id": "sha256:" + i, "RepoTags": [i + ":latest"]} for i in sorted(self.images)])

    def list_networks(self):
        return self._answer("list_networks", [{"Name": "bridge"}])

    def list_volumes(self):
        return self._answer("list_volumes", [])

    def events(self, callback, since=None, filters=None):
        self.calls.append("events")
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        stream = StubStream(callback, since)
        self.streams.append(stream)
        return succeed(stream)

    def start_container(self, cid):
        return self._set_state("start_container", cid, "running")

    def stop_container(self, cid, timeout=None):
        return self._set_state("stop_container", cid, "exited")

    def kill_container(self, cid, signal=None):
        return self._set_state("kill_container", cid, "exited")

    def pause_container(self, cid):
        return self._set_state("pause_container", cid, "paused")

    def unpause_container(self, cid):
        return self._set_state("unpause_container", cid, "running")

    def restart_container(self, cid, timeout=None):
        return self._set_state("restart_container", cid, "running")

    def wait_container(self, cid):
        """
        Stops the container (nothing runs in a stub) and answers its exit.
        """
        return self._set_state("wait_container", cid, "exited", {"StatusCode": 0})

    def container_logs(self, cid, stdout=True, stderr=True, tail=None):
        info = self._container("container_logs", cid)
        return info if isinstance(info, Deferred) else succeed(b"")

    def inspect_image(self, image):
        if not self.down and image not in self.images:
            self.calls.append("inspect_image")
            return fail(EngineError(404, "No such image: " + image))
        return self._answer("inspect_image", {"Id": "sha256:" + image,
                                              "RepoTags": [image + ":latest"]})

    def read(self, method, path):
        """
        Answer a raw read as L{request} does, decoded.
        """
        reads = {"/_ping": lambda: self.ping().addCallback(lambda _: b"OK"),
                 "/version": self.version, "/info": self.info,
                 "/containers/json": self.list_containers, "/images/json": self.list_images,
                 "/networks": self.list_networks, "/volumes": self.list_volumes}
        if method in ("GET", "HEAD") and path in reads:
            return reads[path]()
        match = re.match(r"^/(containers|images)/([^/]+)/json$", path)
        if method in ("GET", "HEAD") and match:
            kind, name = match.groups()
            return (self.inspect_container if kind == "containers" else self.inspect_image)(name)
        return fail(EngineError(404, "page not found"))

    def request(self, method, path, headers=None, body=None, timeout=None):
        """
        A raw request, answered over an in-memory HTTP connection by
        L{read}.
        """
        if isinstance(method, str):
            method = method.encode()
        if isinstance(path, str):
            path = path.encode()
        if self.down:
            self.calls.append("request")
            return fail(EngineUnreachable(self.address, "connection refused"))
        if self._agent is None:
            self._agent = RequestTraversalAgent(_Routes(self))
        return self._agent.request(method, b"http://engine" + path, headers, body)

    def stream(self, method, path, headers=None, timeout=None):
        """
        A raw request whose answer may be long: as L{request}.
        """
        return self.request(method, path, headers, None, timeout)

    def remove_container(self, cid, force=False, volumes=False):
        self.calls.append("remove_container")
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        info = self.containers.get(cid)
        if info is None:
            return fail(EngineError(404, "No such container: " + cid))
        if info["State"]["Running"] and not force:
            return fail(EngineError(409, "You cannot remove a running container %s. Stop the "
                                         "container before attempting removal or force remove"
                                         % (cid,)))
        del self.containers[cid]
        return succeed(None)
