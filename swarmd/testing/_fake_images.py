"""
Images of the fake engine and the L{FakeRegistry} they are pulled from.

References are normalised as Docker does: C{busybox} is
C{docker.io/library/busybox:latest}, shown by its familiar name
C{busybox:latest}; C{127.0.0.1:5000/app:1} keeps its registry host.
"""

import hashlib
import re

from swarmd.testing._fake_errors import bad_request, not_found, server_error
from swarmd.testing._fake_time import ZERO_TIME, rfc3339

DEFAULT_DOMAIN = "docker.io"

_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_HEX = re.compile(r"^[0-9a-f]+$")


def _digest_of(text):
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


#: The ID of the fakes' C{busybox:latest}: the same on every fake engine.
BUSYBOX_ID = _digest_of("swarmd fake image busybox:latest")

#: C{Created} of the fakes' C{busybox:latest} (seconds since the epoch).
BUSYBOX_CREATED = 1700000000

#: C{Size} of the fakes' C{busybox:latest}, as the lab's image.
BUSYBOX_SIZE = 1984172


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


class FakeImage:
    """
    One image on a fake engine.

    @ivar id: C{sha256:...}.
    @ivar tags: its C{RepoTags} (C{name:tag}).
    @ivar digests: its C{RepoDigests} (C{name@sha256:...}).
    @ivar created: seconds since the epoch.
    @ivar config: its C{Config} (C{Cmd}, C{Env}, C{Entrypoint}, C{Labels}...).
    """

    __slots__ = ("id", "tags", "digests", "created", "size", "config")

    def __init__(self, id, tags=(), digests=(), created=BUSYBOX_CREATED, size=BUSYBOX_SIZE,
                 config=None):
        self.id = id
        self.tags = list(tags)
        self.digests = list(digests)
        self.created = created
        self.size = size
        self.config = config if config is not None else {"Cmd": ["sh"]}

    def summary(self):
        """
        @return: its entry in C{GET /images/json}.
        """
        return {
            "Containers": -1,
            "Created": self.created,
            "Id": self.id,
            "Labels": self.config.get("Labels"),
            "ParentId": "",
            "RepoDigests": list(self.digests) or None,
            "RepoTags": list(self.tags) or None,
            "SharedSize": -1,
            "Size": self.size,
            "VirtualSize": self.size,
        }

    def inspect(self, driver="overlay2"):
        """
        @return: C{GET /images/{name}/json}.
        """
        config = {
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
            "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
            "StdinOnce": False, "Env": None, "Cmd": None, "Image": "", "Volumes": None,
            "WorkingDir": "", "Entrypoint": None, "OnBuild": None, "Labels": None,
        }
        container_config = dict(config)
        config.update(self.config)
        return {
            "Id": self.id,
            "RepoTags": list(self.tags),
            "RepoDigests": list(self.digests),
            "Parent": "",
            "Comment": "",
            "Created": rfc3339(self.created * 1000000000),
            "Container": "",
            "ContainerConfig": container_config,
            "DockerVersion": "20.10.24-fake",
            "Author": "",
            "Config": config,
            "Architecture": "amd64",
            "Os": "linux",
            "Size": self.size,
            "VirtualSize": self.size,
            "GraphDriver": {"Data": None, "Name": driver},
            "RootFS": {"Type": "layers", "Layers": [_digest_of("layer " + self.id)]},
            "Metadata": {"LastTagTime": ZERO_TIME},
        }


def busybox():
    """
    @return: a new L{FakeImage} of the fakes' C{busybox:latest}.
    """
    return FakeImage(BUSYBOX_ID, tags=["busybox:latest"])


class RegistryImage:
    """
    One image a L{FakeRegistry} serves.

    @ivar error: if set, a pull of it starts, then fails in the progress
        stream with this message (a broken layer, a registry gone away).
    """

    __slots__ = ("name", "tag", "id", "digest", "size", "config", "error")

    def __init__(self, name, tag, id, digest, size, config, error):
        self.name = name
        self.tag = tag
        self.id = id
        self.digest = digest
        self.size = size
        self.config = config
        self.error = error

    def image(self):
        """
        @return: a new L{FakeImage} for an engine that pulled it.
        """
        return FakeImage(self.id, tags=[self.name + ":" + self.tag],
                         digests=[self.name + "@" + self.digest], size=self.size,
                         config=dict(self.config))


def _unreachable(domain):
    host = domain.split(":")[0]
    if re.match(r"^\d+\.\d+\.\d+\.\d+$", host):
        scheme = "http" if host.startswith("127.") else "https"
        port = domain.split(":")[1] if ":" in domain else ("80" if scheme == "http" else "443")
        return server_error('Get "%s://%s/v2/": dial tcp %s:%s: connect: connection refused'
                            % (scheme, domain, host, port))
    return server_error('Get "https://%s/v2/": dial tcp: lookup %s: no such host'
                        % (domain, host))


class FakeRegistry:
    """
    The images fake engines can pull, shared by as many engines as wanted.

    A pull of an image it does not hold fails as it would against Docker
    Hub or a registry that answers: 404 C{pull access denied ...} for an
    unknown repository, 404 C{manifest for ... not found} for an unknown
    tag; a registry host it holds nothing for is unreachable (500).

    @ivar delay: seconds (of each engine's clock) a pull of a missing image
        takes.
    @ivar pulls: every reference pulled, in order (for tests).
    """

    def __init__(self, images=("busybox:latest",), delay=0.0):
        """
        @param images: references it holds from the start.
        """
        self._images = {}
        self._domains = {DEFAULT_DOMAIN}
        self.delay = delay
        self.pulls = []
        for reference in images:
            self.add(reference)

    def add(self, reference, image_id=None, size=BUSYBOX_SIZE, config=None, error=None):
        """
        Make an image pullable.

        @param reference: C{name[:tag]}.
        @param image_id: its ID; by default one derived from the reference
            (C{busybox:latest} gets L{BUSYBOX_ID}).
        @param config: its C{Config} (default C{{"Cmd": ["sh"]}}).
        @param error: see L{RegistryImage.error}.
        @return: the image ID.
        """
        domain, path, tag, _ = parse_reference(reference)
        name = familiar_name(domain, path)
        key = name + ":" + (tag or "latest")
        if image_id is None:
            image_id = BUSYBOX_ID if key == "busybox:latest" else _digest_of(
                "swarmd fake image " + key)
        self._images[key] = RegistryImage(
            name, tag or "latest", image_id, _digest_of("manifest " + key + image_id), size,
            config if config is not None else {"Cmd": ["sh"]}, error)
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
            raise _unreachable(domain)
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


__all__ = ["BUSYBOX_ID", "FakeImage", "FakeRegistry", "busybox", "familiar",
           "familiar_name", "parse_reference"]
