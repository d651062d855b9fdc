"""
Images of the fake engine (the L{FakeRegistry} they are pulled from and
pushed to is in L{swarmd.testing.fakeengine._registry}, how references
are read in L{swarmd.testing.fakeengine._references}).

An image the fake makes itself (import, build, load) has dockerd's ID: the
sha256 of its config JSON, which a save writes out unchanged, so an image
saved from a fake loads back (into a fake or a real dockerd) with the same
ID.  An image given an arbitrary ID by a test (C{FakeImage("sha256:aaa...")})
keeps it, but a save and load of it yields the ID of its config instead.
"""

import copy
import json

from swarmd.testing.fakeengine._layers import add_layer, digest, get_layer, tar_of, tar_of_entries
from swarmd.testing.fakeengine._time import NANO, ZERO_TIME, rfc3339

#: C{DockerVersion} of the images the fakes make.
DOCKER_VERSION = "20.10.24-fake"


#: The C{Config} keys of an image, in dockerd's order, with their defaults.
CONFIG_KEYS = (
    ("Hostname", ""), ("Domainname", ""), ("User", ""), ("AttachStdin", False),
    ("AttachStdout", False), ("AttachStderr", False), ("ExposedPorts", None),
    ("Tty", False), ("OpenStdin", False), ("StdinOnce", False), ("Env", None),
    ("Cmd", None), ("Healthcheck", None), ("ArgsEscaped", None), ("Image", ""),
    ("Volumes", None), ("WorkingDir", ""), ("Entrypoint", None), ("NetworkDisabled", None),
    ("MacAddress", None), ("OnBuild", None), ("Labels", None), ("StopSignal", None),
    ("StopTimeout", None), ("Shell", None),
)

#: Keys dockerd leaves out of an image's C{Config} when they are empty.
_OMITTED = frozenset({"ExposedPorts", "Healthcheck", "ArgsEscaped", "NetworkDisabled",
                      "MacAddress", "StopSignal", "StopTimeout", "Shell"})


def full_config(config):
    """
    @param config: some C{Config} keys.
    @return: the whole C{Config} as dockerd shows it (defaults filled in,
        empty optional keys left out, dockerd's key order).
    """
    result = {}
    for key, default in CONFIG_KEYS:
        value = config.get(key, default)
        if key in _OMITTED and value in (None, "", False, {}, []):
            continue
        result[key] = copy.deepcopy(value)
    return result


def go_json(value):
    """
    JSON as Go's C{encoding/json} writes it: compact, with C{<}, C{>} and
    C{&} escaped.

    @return: C{bytes}.
    """
    text = json.dumps(value, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8")



def history_entry(created_ns, created_by="", comment="", empty_layer=False):
    """
    @return: one entry of an image config's C{history}.
    """
    entry = {"created": rfc3339(created_ns)}
    if created_by:
        entry["created_by"] = created_by
    if comment:
        entry["comment"] = comment
    if empty_layer:
        entry["empty_layer"] = True
    return entry


class FakeImage:
    """
    One image on a fake engine.

    @ivar id: C{sha256:...}.
    @ivar tags: its C{RepoTags} (C{name:tag}).
    @ivar digests: its C{RepoDigests} (C{name@sha256:...}).
    @ivar created: seconds since the epoch.
    @ivar config: its C{Config} (C{Cmd}, C{Env}, C{Entrypoint}, C{Labels}...).
    @ivar parent: the ID of its parent (a build step's base), or C{""}.
    @ivar history: its config's C{history} entries, oldest first.
    @ivar tag_time: nanoseconds of its last tagging, or L{None}.
    """

    __slots__ = ("id", "tags", "digests", "created", "created_ns", "size", "config", "parent",
                 "_layers", "history", "comment", "container", "container_config", "raw",
                 "tag_time", "author")

    def __init__(self, id, tags=(), digests=(), created=None, size=None, config=None,
                 parent="", layers=None, history=None, comment="", container="",
                 container_config=None, raw=None, created_ns=None, author=""):
        """
        @param id: its ID; L{None} for the digest of its config (as dockerd).
        @param layers: the C{DiffID}s of its layers (kept in
            L{swarmd.testing.fakeengine._layers}); by default one layer of its own.
        @param size: by default the sum of its layers' sizes (or the size
            of the fakes' busybox for an image without layers given).
        @param raw: its config JSON exactly as loaded, if it was.
        @param created_ns: its creation time to the nanosecond (C{created}
            is then derived from it).
        """
        self.tags = list(tags)
        self.digests = list(digests)
        if created_ns is not None:
            created = created_ns // NANO
        self.created = BUSYBOX_CREATED if created is None else created
        self.created_ns = created_ns
        self.config = config if config is not None else {"Cmd": ["sh"]}
        self.parent = parent
        self._layers = list(layers) if layers is not None else None
        if size is None:
            size = BUSYBOX_SIZE
            if self._layers is not None:
                size = sum((get_layer(d).size if get_layer(d) else 0) for d in self._layers)
        self.size = size
        self.history = history
        self.comment = comment
        self.container = container
        self.container_config = container_config
        self.raw = raw
        self.tag_time = None
        self.author = author
        if id is None:
            self.raw = self.config_json()
            id = digest(self.raw)
        self.id = id

    def __repr__(self):
        return "<FakeImage %s %s>" % (self.id[7:19], self.tags)

    @property
    def layers(self):
        """
        The C{DiffID}s of its layers, bottom first.
        """
        if self._layers is None:
            # An image made with an ID and no layers gets one of its own.
            self._layers = [add_layer(tar_of({"image": self.id.encode("ascii")}),
                                      self.size).diff_id]
        return self._layers

    def copy(self, tags=None, digests=None):
        """
        @return: a new L{FakeImage} of the same content (another engine's).
        """
        image = FakeImage(self.id, tags=self.tags if tags is None else tags,
                          digests=self.digests if digests is None else digests,
                          created=self.created, size=self.size, config=self.config,
                          parent=self.parent, layers=self._layers, history=self.history,
                          comment=self.comment, container=self.container,
                          container_config=self.container_config, raw=self.raw,
                          created_ns=self.created_ns, author=self.author)
        image.tag_time = self.tag_time
        return image

    @property
    def created_time(self):
        """
        Its creation time, nanoseconds since the epoch.
        """
        return self.created * NANO if self.created_ns is None else self.created_ns

    def history_entries(self):
        """
        @return: its config's C{history}, one entry per layer if none was
            given.
        """
        if self.history is not None:
            return self.history
        return [history_entry(self.created_time, comment=self.comment) for _ in self.layers]

    def config_document(self):
        """
        @return: its config as dockerd stores (and saves) it.
        """
        document = {
            "architecture": "amd64",
            "config": full_config(self.config),
            "container_config": full_config(self.container_config or {}),
            "created": rfc3339(self.created_time),
            "docker_version": DOCKER_VERSION,
            "history": self.history_entries(),
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": list(self.layers)},
        }
        if self.comment:
            document["comment"] = self.comment
        if self.author:
            document["author"] = self.author
        if self.container:
            document["container"] = self.container
        return document

    def config_json(self):
        """
        @return: its config JSON (as loaded, or as dockerd would write it).
        """
        if self.raw is not None:
            return self.raw
        document = self.config_document()
        # dockerd writes the top level from a map (keys sorted), the rest
        # from structs (fields in order).
        return go_json({key: document[key] for key in sorted(document)})

    def summary(self):
        """
        @return: its entry in C{GET /images/json}.
        """
        tags = sorted(self.tags) or None
        digests = sorted(self.digests) or None
        if tags is None and digests is None:
            tags, digests = ["<none>:<none>"], ["<none>@<none>"]
        return {
            "Containers": -1,
            "Created": self.created,
            "Id": self.id,
            "Labels": self.config.get("Labels"),
            "ParentId": self.parent,
            "RepoDigests": digests,
            "RepoTags": tags,
            "SharedSize": -1,
            "Size": self.size,
            "VirtualSize": self.size,
        }

    def inspect(self, driver="overlay2"):
        """
        @return: C{GET /images/{name}/json}.
        """
        config = full_config(self.config)
        container_config = full_config(self.container_config or {})
        return {
            "Id": self.id,
            "RepoTags": sorted(self.tags),
            "RepoDigests": sorted(self.digests),
            "Parent": self.parent,
            "Comment": self.comment,
            "Created": rfc3339(self.created_time),
            "Container": self.container,
            "ContainerConfig": container_config,
            "DockerVersion": DOCKER_VERSION,
            "Author": self.author,
            "Config": config,
            "Architecture": "amd64",
            "Os": "linux",
            "Size": self.size,
            "VirtualSize": self.size,
            "GraphDriver": {"Data": None, "Name": driver},
            "RootFS": {"Type": "layers", "Layers": list(self.layers)},
            "Metadata": {"LastTagTime": rfc3339(self.tag_time) if self.tag_time
                         else ZERO_TIME},
        }


#: C{Created} of the fakes' C{busybox:latest} (seconds since the epoch).
BUSYBOX_CREATED = 1700000000

#: C{Size} of the fakes' C{busybox:latest}, as the lab's image.
BUSYBOX_SIZE = 1984172

def _busybox_rootfs():
    """
    The root file system of the fakes' busybox, laid out as the lab's image
    (L{swarmd.testing.lab._image}): the usual folders, C{/bin/busybox} with
    one link per applet, a root user.
    """
    from swarmd.testing.fakeengine._proc import APPLETS

    entries = [(name, "dir", 0o1777 if name == "tmp" else 0o755, b"", 0, "")
               for name in ("bin", "etc", "tmp", "proc", "sys", "dev", "root")]
    entries.append(("bin/busybox", "file", 0o755, b"fake busybox\n", 0, ""))
    entries.extend(("bin/" + name, "link", 0o777, b"", 0, "busybox")
                   for name in sorted(APPLETS) if name != "busybox")
    entries.append(("etc/passwd", "file", 0o644, b"root:x:0:0:root:/root:/bin/sh\n", 0, ""))
    entries.append(("etc/group", "file", 0o644, b"root:x:0:\n", 0, ""))
    return tar_of_entries(entries)


#: The one layer of the fakes' busybox (a stand-in binary; its reported
#: size is the lab image's).
BUSYBOX_LAYER = add_layer(_busybox_rootfs(), BUSYBOX_SIZE).diff_id

BUSYBOX_IMAGE = FakeImage(None, created=BUSYBOX_CREATED, size=BUSYBOX_SIZE,
                     config={"Cmd": ["sh"]}, layers=[BUSYBOX_LAYER],
                     comment="Imported from -",
                     history=[history_entry(BUSYBOX_CREATED * NANO,
                                            comment="Imported from -")])

#: The ID of the fakes' C{busybox:latest}: the same on every fake engine
#: (the digest of its config, as dockerd computes IDs).
BUSYBOX_ID = BUSYBOX_IMAGE.id


def busybox():
    """
    @return: a new L{FakeImage} of the fakes' C{busybox:latest}.
    """
    return BUSYBOX_IMAGE.copy(tags=["busybox:latest"], digests=[])


__all__ = ["BUSYBOX_ID", "FakeImage", "busybox", "full_config", "go_json", "history_entry"]
