"""
Images of the fake engine and the L{FakeRegistry} they are pulled from and
pushed to.

References are normalised as Docker does: C{busybox} is
C{docker.io/library/busybox:latest}, shown by its familiar name
C{busybox:latest}; C{127.0.0.1:5000/app:1} keeps its registry host.

An image the fake makes itself (import, build, load) has dockerd's ID: the
sha256 of its config JSON, which a save writes out unchanged, so an image
saved from a fake loads back (into a fake or a real dockerd) with the same
ID.  An image given an arbitrary ID by a test (C{FakeImage("sha256:aaa...")})
keeps it, but a save and load of it yields the ID of its config instead.
"""

import copy
import json
import re

from swarmd.testing.fakeengine._errors import bad_request, not_found, server_error
from swarmd.testing.fakeengine._layers import add_layer, digest, get_layer, tar_of, tar_of_entries
from swarmd.testing.fakeengine._time import NANO, ZERO_TIME, rfc3339

DEFAULT_DOMAIN = "docker.io"

#: C{DockerVersion} of the images the fakes make.
DOCKER_VERSION = "20.10.24-fake"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]+$")

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


def _digest_of(text):
    return digest(text)


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


def _is_domain(component):
    return "." in component or ":" in component or component == "localhost"


def parse_reference(reference):
    """
    Split and normalise an image reference.

    @return: C{(domain, path, tag, digest)}; C{tag} is L{None} when a digest
        is given and no tag, C{"latest"} when neither is.
    @raise FakeAPIError: 400 C{invalid reference format...} as dockerd.
    """
    name, _, digest = reference.partition("@")
    tag = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG.match(tag):
            raise bad_request("invalid reference format")
    first, sep, rest = name.partition("/")
    if sep and _is_domain(first):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if not path:
        raise bad_request("invalid reference format")
    for component in path.split("/"):
        if not _COMPONENT.match(component):
            if _COMPONENT.match(component.lower()):
                raise bad_request("invalid reference format: repository name must be lowercase")
            raise bad_request("invalid reference format")
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    if digest and not re.match(r"^sha256:[0-9a-f]{64}$", digest):
        raise bad_request("invalid reference format")
    if tag is None and not digest:
        tag = "latest"
    return domain, path, tag, digest or None


def familiar_name(domain, path):
    """
    @return: the name Docker shows (C{busybox}, C{user/app},
        C{127.0.0.1:5000/app}).
    """
    if domain == DEFAULT_DOMAIN:
        if path.startswith("library/") and path.count("/") == 1:
            return path[len("library/"):]
        return path
    return domain + "/" + path


def familiar(reference):
    """
    @return: C{reference} normalised to its familiar C{name:tag} (or
        C{name@digest}).
    """
    domain, path, tag, digest = parse_reference(reference)
    name = familiar_name(domain, path)
    if tag is not None:
        return name + ":" + tag
    return name + "@" + digest


def repository_of(reference):
    """
    @return: the familiar repository name of a C{name:tag} or
        C{name@digest} (C{busybox:latest} -> C{busybox}).
    """
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


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

_BUSYBOX = FakeImage(None, created=BUSYBOX_CREATED, size=BUSYBOX_SIZE,
                     config={"Cmd": ["sh"]}, layers=[BUSYBOX_LAYER],
                     comment="Imported from -",
                     history=[history_entry(BUSYBOX_CREATED * NANO,
                                            comment="Imported from -")])

#: The ID of the fakes' C{busybox:latest}: the same on every fake engine
#: (the digest of its config, as dockerd computes IDs).
BUSYBOX_ID = _BUSYBOX.id


def busybox():
    """
    @return: a new L{FakeImage} of the fakes' C{busybox:latest}.
    """
    return _BUSYBOX.copy(tags=["busybox:latest"], digests=[])


class RegistryImage:
    """
    One image a L{FakeRegistry} serves.

    @ivar error: if set, a pull of it starts, then fails in the progress
        stream with this message (a broken layer, a registry gone away).
    @ivar template: the L{FakeImage} engines get, if one was pushed.
    """

    __slots__ = ("name", "tag", "id", "digest", "size", "config", "error", "template")

    def __init__(self, name, tag, id, digest, size, config, error, template=None):
        self.name = name
        self.tag = tag
        self.id = id
        self.digest = digest
        self.size = size
        self.config = config
        self.error = error
        self.template = template

    def image(self):
        """
        @return: a new L{FakeImage} for an engine that pulled it.
        """
        tags = [self.name + ":" + self.tag]
        digests = [self.name + "@" + self.digest]
        if self.template is not None:
            return self.template.copy(tags=tags, digests=digests)
        return FakeImage(self.id, tags=tags, digests=digests, size=self.size,
                         config=dict(self.config))


def _dial_error(domain, scheme):
    host, _, port = domain.partition(":")
    if re.match(r"^\d+\.\d+\.\d+\.\d+$", host):
        port = port or ("80" if scheme == "http" else "443")
        return "dial tcp %s:%s: connect: connection refused" % (host, port)
    return "dial tcp: lookup %s: no such host" % (host,)


def _is_loopback(domain):
    return domain.split(":")[0].startswith("127.") or domain.split(":")[0] == "localhost"


def unreachable(domain):
    """
    @return: dockerd's 500 for a registry that does not answer (loopback
        registries are spoken to in plain HTTP, as dockerd does).
    """
    scheme = "http" if _is_loopback(domain) else "https"
    return server_error('Get "%s://%s/v2/": %s' % (scheme, domain, _dial_error(domain, scheme)))


def _unreachable_index(domain):
    if _is_loopback(domain):
        return server_error(
            'invalid registry endpoint "http://%s/v1/". HTTPS attempt: Get '
            '"https://%s/v1/_ping": %s. HTTP attempt: Get "http://%s/v1/_ping": %s'
            % (domain, domain, _dial_error(domain, "https"), domain,
               _dial_error(domain, "http")))
    return server_error('Get "https://%s/v1/_ping": %s' % (domain, _dial_error(domain, "https")))


class FakeRegistry:
    """
    The images fake engines can pull, shared by as many engines as wanted;
    also where they push, search and log in.

    A pull of an image it does not hold fails as it would against Docker
    Hub or a registry that answers: 404 C{pull access denied ...} for an
    unknown repository, 404 C{manifest for ... not found} for an unknown
    tag; a registry host it serves nothing for is unreachable (500).

    @ivar delay: seconds (of each engine's clock) a pull of a missing image
        takes.
    @ivar pulls: every reference pulled, in order (for tests).
    @ivar pushes: every C{name:tag} pushed, in order (for tests).
    """

    def __init__(self, images=("busybox:latest",), delay=0.0, hosts=()):
        """
        @param images: references it holds from the start.
        @param hosts: registry hosts it serves besides Docker Hub (and the
            hosts of C{images}), e.g. C{"127.0.0.1:5000"}.
        """
        self._images = {}
        self._domains = {DEFAULT_DOMAIN}
        self._layers = set()
        self.delay = delay
        self.pulls = []
        self.pushes = []
        for host in hosts:
            self.serve(host)
        for reference in images:
            self.add(reference)

    def serve(self, host):
        """
        Answer for one more registry host (C{host[:port]}).
        """
        self._domains.add(host)

    def serves(self, host):
        """
        @return: whether it answers for C{host}.
        """
        return host in self._domains

    def add(self, reference, image_id=None, size=None, config=None, error=None):
        """
        Make an image pullable.

        @param reference: C{name[:tag]}.
        @param image_id: its ID; by default the ID of a config of its own
            (C{busybox:latest} gets L{BUSYBOX_ID}).
        @param config: its C{Config} (default C{{"Cmd": ["sh"]}}).
        @param error: see L{RegistryImage.error}.
        @return: the image ID.
        """
        domain, path, tag, _ = parse_reference(reference)
        name = familiar_name(domain, path)
        key = name + ":" + (tag or "latest")
        config = config if config is not None else {"Cmd": ["sh"]}
        template = None
        if key == "busybox:latest" and image_id is None and size is None:
            template = _BUSYBOX
        elif image_id is None:
            layer = add_layer(tar_of({name.replace("/", "_"): key.encode("utf-8")}),
                              BUSYBOX_SIZE if size is None else size)
            template = FakeImage(None, config=dict(config), layers=[layer.diff_id],
                                 comment="Imported from -")
        if template is not None:
            image_id, size = template.id, template.size
        size = BUSYBOX_SIZE if size is None else size
        self._images[key] = RegistryImage(
            name, tag or "latest", image_id, _digest_of("manifest " + key + image_id), size,
            config, error, template)
        self._domains.add(domain)
        return image_id

    def remove(self, reference):
        """
        Make an image unpullable again.
        """
        self._images.pop(familiar(reference), None)

    def lookup(self, reference):
        """
        Find what a pull of C{reference} gets.

        @return: the L{RegistryImage}.
        @raise FakeAPIError: as dockerd reports the registry's answer.
        """
        domain, path, tag, digest = parse_reference(reference)
        name = familiar_name(domain, path)
        if domain not in self._domains:
            raise unreachable(domain)
        found = [i for i in self._images.values() if i.name == name]
        if not found:
            raise not_found("pull access denied for %s, repository does not exist or may "
                            "require 'docker login': denied: requested access to the "
                            "resource is denied" % (name,))
        for image in found:
            if (tag is not None and image.tag == tag) or (digest and image.digest == digest):
                return image
        shown = name + (":" + tag if tag is not None else "@" + digest)
        raise not_found("manifest for %s not found: manifest unknown: manifest unknown"
                        % (shown,))

    # -- push, search, login --------------------------------------------------------

    def has_layer(self, diff_id):
        """
        @return: whether a layer was pushed (or is held) already.
        """
        return diff_id in self._layers

    def push(self, name, tag, image):
        """
        Store an engine's image under C{name:tag}.

        @param name: the familiar repository name.
        @param image: the L{FakeImage}.
        @return: C{(manifest digest, manifest size)}.
        @raise FakeAPIError: 500 if its host is not served.
        """
        domain = name.split("/", 1)[0] if "/" in name and _is_domain(name.split("/")[0]) \
            else DEFAULT_DOMAIN
        if domain not in self._domains:
            raise unreachable(domain)
        manifest = go_json({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"digest": image.id, "size": len(image.config_json())},
            "layers": [{"digest": d, "size": get_layer(d).size if get_layer(d) else 0}
                       for d in image.layers],
        })
        manifest_digest = digest(manifest)
        self._layers.update(image.layers)
        template = image.copy(tags=[], digests=[])
        self._images[name + ":" + tag] = RegistryImage(
            name, tag, image.id, manifest_digest, image.size, dict(image.config), None,
            template)
        self.pushes.append(name + ":" + tag)
        return manifest_digest, len(manifest)

    def search(self, term, limit=25):
        """
        C{GET /images/search}: repositories of Docker Hub whose name holds
        C{term}; another registry host does not search (as a v2 registry).

        @return: dockerd's result entries.
        @raise FakeAPIError: 500 as dockerd reports it.
        """
        first, sep, rest = term.partition("/")
        if sep and _is_domain(first):
            if first not in self._domains:
                raise _unreachable_index(first)
            raise server_error("Unexpected status code 404")
        names = sorted({i.name for i in self._images.values()
                        if "." not in i.name.split("/")[0] and ":" not in i.name.split("/")[0]
                        and term in i.name})
        return [{"star_count": 0, "is_official": "/" not in name, "name": name,
                 "is_automated": False, "description": ""} for name in names[:limit]]

    def login(self, server):
        """
        C{POST /auth}: every served host accepts any credentials.

        @param server: C{serveraddress} (empty for Docker Hub).
        @raise FakeAPIError: 500 for a host it does not serve.
        """
        host = server or DEFAULT_DOMAIN
        for prefix in ("https://", "http://"):
            if host.startswith(prefix):
                host = host[len(prefix):]
        host = host.split("/", 1)[0]
        if host in ("index.docker.io", "registry-1.docker.io"):
            host = DEFAULT_DOMAIN
        if host not in self._domains:
            raise unreachable(host)
        return {"IdentityToken": "", "Status": "Login Succeeded"}


__all__ = ["BUSYBOX_ID", "FakeImage", "FakeRegistry", "busybox", "familiar",
           "familiar_name", "parse_reference"]
