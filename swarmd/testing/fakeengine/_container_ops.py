"""
The container operations of the fake engine beyond its life cycle: resize,
update, commit, prune, the file routes (archive, copy, export, changes),
attach and standard input, as dockerd 20.10 answers them (statuses,
messages and events checked against a real dockerd of the lab).
"""

from swarmd.testing.fakeengine import _fs as fs
from swarmd.testing.fakeengine import _proc as proc
from swarmd.testing.fakeengine._container import RUNNING
from swarmd.testing.fakeengine._errors import FakeAPIError, bad_request, conflict, server_error
from swarmd.testing.fakeengine._image_ops import apply_change
from swarmd.testing.fakeengine._images import FakeImage, history_entry
from swarmd.testing.fakeengine._layers import add_layer
from swarmd.testing.fakeengine._network_ops import labels_match
from swarmd.testing.fakeengine._references import familiar
from swarmd.testing.fakeengine._stats import disk_usage
from swarmd.testing.fakeengine._time import NANO, parse_until

#: The smallest memory limit dockerd accepts.
MIN_MEMORY = 6 * 1024 * 1024

#: Restart policy names dockerd knows.
RESTART_POLICIES = frozenset({"", "no", "always", "unless-stopped", "on-failure"})

#: Filters C{POST /containers/prune} accepts.
CONTAINER_PRUNE_FILTERS = frozenset({"label", "label!", "until"})

_INT64 = ("number", "int64")
_STRING = ("string", "string")

#: The fields of C{POST /containers/{id}/update} (C{container.UpdateConfig}:
#: the resources and the restart policy), as C{{field: (JSON kind, Go type)}}.
UPDATE_FIELDS = {
    "CpuShares": _INT64, "Memory": _INT64, "NanoCpus": _INT64, "CgroupParent": _STRING,
    "BlkioWeight": ("number", "uint16"), "CpuPeriod": _INT64, "CpuQuota": _INT64,
    "CpuRealtimePeriod": _INT64, "CpuRealtimeRuntime": _INT64, "CpusetCpus": _STRING,
    "CpusetMems": _STRING, "KernelMemory": _INT64, "KernelMemoryTCP": _INT64,
    "MemoryReservation": _INT64, "MemorySwap": _INT64, "MemorySwappiness": _INT64,
    "OomKillDisable": ("bool", "bool"), "PidsLimit": _INT64, "CpuCount": _INT64,
    "CpuPercent": _INT64, "IOMaximumIOps": ("number", "uint64"),
    "IOMaximumBandwidth": ("number", "uint64"),
    "RestartPolicy": ("object", "container.RestartPolicy"),
}

#: Resources an update changes only when given a value that is not zero.
_UPDATED = ("CpuShares", "Memory", "NanoCpus", "CgroupParent", "BlkioWeight", "CpuPeriod",
            "CpuQuota", "CpuRealtimePeriod", "CpuRealtimeRuntime", "CpusetCpus",
            "CpusetMems", "KernelMemory", "KernelMemoryTCP", "MemoryReservation",
            "MemorySwap", "CpuCount", "CpuPercent", "IOMaximumIOps", "IOMaximumBandwidth")

#: Resources an update changes whenever given (pointers in Go).
_UPDATED_IF_SET = ("MemorySwappiness", "OomKillDisable", "PidsLimit")


def merge_config(user, image):
    """
    dockerd's C{merge} of a commit: what the committed config leaves empty
    is taken from the container's.

    @param user: the config given to the commit (changed in place).
    @param image: the container's config.
    """
    if not user.get("User"):
        user["User"] = image.get("User", "")
    if not user.get("ExposedPorts"):
        user["ExposedPorts"] = image.get("ExposedPorts")
    elif image.get("ExposedPorts"):
        for port in image["ExposedPorts"]:
            user["ExposedPorts"].setdefault(port, {})
    if not user.get("Env"):
        user["Env"] = image.get("Env")
    else:
        keys = {e.split("=", 1)[0] for e in user["Env"]}
        user["Env"] = list(user["Env"]) + [e for e in image.get("Env") or []
                                           if e.split("=", 1)[0] not in keys]
    labels = dict(user.get("Labels") or {})
    for key, value in (image.get("Labels") or {}).items():
        labels.setdefault(key, value)
    user["Labels"] = labels
    if not user.get("Entrypoint"):
        if not user.get("Cmd"):
            user["Cmd"] = image.get("Cmd")
        if user.get("Entrypoint") is None:
            user["Entrypoint"] = image.get("Entrypoint")
    if not user.get("WorkingDir"):
        user["WorkingDir"] = image.get("WorkingDir", "")
    if not user.get("Volumes"):
        user["Volumes"] = image.get("Volumes")
    else:
        user["Volumes"] = dict(user["Volumes"], **(image.get("Volumes") or {}))
    if not user.get("StopSignal"):
        user["StopSignal"] = image.get("StopSignal")
    return user


class ContainerOps:
    """
    The operations of L{swarmd.testing.fakeengine._engine.FakeEngine} behind the
    resize, update, commit, prune, file and attach routes (a mixin).
    """

    # -- resize, update -------------------------------------------------------------

    def resize(self, ref, height, width):
        """
        C{POST /containers/{id}/resize}.

        @raise FakeAPIError: 404 unknown, 409 not running.
        """
        container = self.find(ref)
        if not container.running:
            raise conflict("Container %s is not running" % (container.id,))
        self._container_event(container, "resize", height=str(height), width=str(width))

    def update(self, ref, body):
        """
        C{POST /containers/{id}/update}: change resources (only those given a
        value) and the restart policy.

        @param body: the decoded C{UpdateConfig}.
        @return: C{{"Warnings": None}}.
        @raise FakeAPIError: 400 a memory limit below 6MB or a bad restart
            policy, 404 unknown, 409 a memory limit above the set swap limit.
        """
        memory = body.get("Memory") or 0
        if 0 < memory < MIN_MEMORY:
            raise bad_request("Minimum memory limit allowed is 6MB")
        policy = body.get("RestartPolicy") or {}
        name = policy.get("Name") or ""
        retries = policy.get("MaximumRetryCount") or 0
        if name not in RESTART_POLICIES:
            raise bad_request("invalid restart policy '%s'" % (name,))
        if retries and name != "on-failure":
            raise bad_request("maximum retry count cannot be used with restart policy '%s'"
                              % (name,))
        if retries < 0:
            raise bad_request("maximum retry count cannot be negative")
        container = self.find(ref)
        host = container.host_config
        if name and name != "no" and host.get("AutoRemove"):
            raise server_error("Cannot update container %s: Restart policy cannot be updated "
                               "because AutoRemove is enabled for the container"
                               % (container.id,))
        if memory and memory > (host.get("MemorySwap") or 0) and not body.get("MemorySwap"):
            raise conflict("Cannot update container %s: Memory limit should be smaller than "
                           "already set memoryswap limit, update the memoryswap at the same "
                           "time" % (container.id,))
        host = container.host_config = dict(host)
        for key in _UPDATED:
            if body.get(key):
                host[key] = body[key]
        for key in _UPDATED_IF_SET:
            if body.get(key) is not None:
                host[key] = body[key]
        if name:
            host["RestartPolicy"] = {"Name": name, "MaximumRetryCount": retries}
        self._container_event(container, "update")
        return {"Warnings": None}

    # -- commit, prune --------------------------------------------------------------

    def commit(self, ref, repo=None, tag=None, comment="", author="", pause=True, changes=(),
               config=None):
        """
        C{POST /commit}: an image of the container's file system.

        @param config: the config given in the body (its keys besides
            C{HostConfig}), or L{None}: the container's.
        @return: the new L{FakeImage}.
        @raise FakeAPIError: 400 no container named, 404 unknown, 500 a
            malformed repository or tag, 400 a bad change.
        """
        if not ref:
            raise bad_request('invalid name or ID supplied: ""')
        container = self.find(ref)
        reference = None
        if repo:
            try:
                reference = familiar(repo + (":" + tag if tag else ""))
            except FakeAPIError as e:
                raise server_error(e.message) from None
        current = container.inspect(self)["Config"]
        given = {k: v for k, v in (config or {}).items()
                 if k not in ("HostConfig", "NetworkingConfig")}
        new = dict(given) if given else dict(current)
        for change in changes:
            if change.strip():
                apply_change(new, change)
        merge_config(new, current)
        paused = pause and container.status == RUNNING
        if paused:
            self._container_event(container, "pause")
        now = self._now_ns()
        parent = self.images.get(container.image_id)
        layer = add_layer(fs.commit_layer(container))
        history = list(parent.history_entries()) if parent is not None else []
        entry = history_entry(now, created_by=" ".join(current.get("Cmd") or []),
                              comment=comment)
        if author:
            entry = dict(entry, author=author)
        history.append(entry)
        layers = (list(parent.layers) if parent is not None else []) + [layer.diff_id]
        image = self.add_image(FakeImage(
            None, created_ns=now, config=new, parent=parent.id if parent is not None else "",
            layers=layers, history=history, comment=comment, container=container.id,
            container_config=current, author=author))
        if reference is not None:
            self._set_tag(image, reference)
            image.tag_time = now
            attributes = dict(image.config.get("Labels") or {})
            attributes["name"] = reference
            self._emit("image", "tag", image.id, dict(sorted(attributes.items())))
        self._container_event(container, "commit", comment=comment, imageID=image.id,
                              imageRef=reference or "")
        if paused:
            self._container_event(container, "unpause")
        return image

    def prune_containers(self, filters):
        """
        C{POST /containers/prune}: remove the containers that do not run,
        within the filters (C{label}, C{label!}, C{until}).

        @return: C{{"ContainersDeleted": [ids] or None, "SpaceReclaimed": N}}.
        """
        filters.check_keys(CONTAINER_PRUNE_FILTERS)
        until = None
        for value in filters.get("until"):
            until = parse_until(value, self.clock.seconds())
        deleted = []
        reclaimed = 0
        for container in list(self.containers.values()):
            if container.running:
                continue
            if until is not None and container.created > until * NANO:
                continue
            if not labels_match(filters, container.labels):
                continue
            reclaimed += container.rw_size()
            self._destroy(container, volumes=False)
            deleted.append(container.id)
        self._emit("container", "prune", "", {"reclaimed": str(reclaimed)})
        return {"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    def disk_usage(self):
        """
        @return: C{GET /system/df}.
        """
        return disk_usage(self)

    # -- files ----------------------------------------------------------------------

    def _tree(self, ref, path=None):
        if path is not None:
            fs.check_path(path)
        container = self.find(ref)
        return container, fs.container_tree(self, container)

    def archive_stat(self, ref, path):
        """
        C{HEAD /containers/{id}/archive?path=...}.

        @return: the path's stat (see L{fs.stat}).
        """
        _, tree = self._tree(ref, path)
        return fs.stat(tree, path, ref)

    def archive_get(self, ref, path):
        """
        C{GET /containers/{id}/archive?path=...}.

        @return: C{(stat, tar bytes)}.
        """
        container, tree = self._tree(ref, path)
        found = fs.stat(tree, path, ref)
        data = fs.archive(tree, path, ref)
        self._container_event(container, "archive-path")
        return found, data

    def archive_put(self, ref, path, data):
        """
        C{PUT /containers/{id}/archive?path=...}: unpack a tar in a folder.
        """
        container, tree = self._tree(ref, path)
        fs.extract(tree, container, path, data, ref, self._now_ns())
        self._container_event(container, "extract-to-dir")

    def copy_resource(self, ref, resource):
        """
        C{POST /containers/{id}/copy} of API versions below 1.24: a file as a
        tar of itself, a folder as a tar of what it holds.

        @return: the tar's C{bytes}.
        """
        if not resource:
            raise bad_request("Path cannot be empty")
        container, tree = self._tree(ref)
        _, _, entry = fs.find(tree, resource, ref)
        data = fs.archive(tree, resource, ref, contents_only=entry.kind == fs.DIR)
        self._container_event(container, "copy")
        return data

    def export(self, ref):
        """
        C{GET /containers/{id}/export}: the whole file system as a tar.
        """
        container, tree = self._tree(ref)
        data = fs.export(tree)
        self._container_event(container, "export")
        return data

    def container_changes(self, ref):
        """
        C{GET /containers/{id}/changes}.
        """
        return fs.changes(self, self.find(ref))

    # -- attach and standard input --------------------------------------------------

    def attach(self, container, callback):
        """
        Follow a container's output for an attached stream, whether it runs
        yet or not: C{callback(entry)} for each line it prints, then
        C{callback(None)} when it stops.

        @return: a callable that stops following.
        """
        container.attached = (container.attached or []) + [callback]
        self._container_event(container, "attach")

        def detach():
            if container.attached and callback in container.attached:
                container.attached = [c for c in container.attached if c is not callback] or None

        return detach

    def container_input(self, container, data):
        """
        Bytes an attached client sent to the container's standard input
        (kept only with C{OpenStdin}; C{cat} prints them back, a TTY echoes
        them).
        """
        if not container.running or not container.config.get("OpenStdin"):
            return
        if container.tty:
            self._output(container, 1, data)
        if proc.reads_stdin([container.path] + list(container.args)):
            self._output(container, 1, data)

    def container_input_closed(self, container):
        """
        An attached client's standard input ended: with C{StdinOnce} (and no
        TTY) the container's input closes, so C{cat} ends.

        @return: C{True} if the container's input closed, C{False} if only
            the attached stream should end (as dockerd does).
        """
        config = container.config
        if not (config.get("StdinOnce") and not container.tty):
            return False
        if container.running and proc.reads_stdin([container.path] + list(container.args)):
            self._exited(container, 0)
        return True


__all__ = ["CONTAINER_PRUNE_FILTERS", "ContainerOps", "MIN_MEMORY", "RESTART_POLICIES",
           "UPDATE_FIELDS", "merge_config"]
