"""
A Python-level engine client for Clock-driven unit tests of the engine and
the cluster: answers come back as Deferreds the test controls (at once, or
after C{delay} seconds of the test's Clock).
"""

import itertools

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import deferLater

from swarmd.engine import EngineError, EngineUnreachable

_ids = itertools.count(1)


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

    def version(self):
        return self._answer("version", {"ApiVersion": "1.41", "Version": "20.10"})

    def info(self):
        return self._answer("info", self.info_answer)

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
        self.calls.append("start_container")
        if self.down:
            return fail(EngineUnreachable(self.address, "connection refused"))
        if cid not in self.containers:
            return fail(EngineError(404, "No such container: " + cid))
        state = self.containers[cid]["State"]
        state.update(Status="running", Running=True)
        return succeed(None)

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
