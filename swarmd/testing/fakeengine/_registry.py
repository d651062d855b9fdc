"""
The L{FakeRegistry} fake engines pull images from and push them to (Docker
Hub and any registry host it is told to serve), and dockerd's answers for a
registry that does not answer.
"""

import re

from swarmd.testing.fakeengine._errors import not_found, server_error
from swarmd.testing.fakeengine._images import BUSYBOX_IMAGE, BUSYBOX_SIZE, FakeImage, go_json
from swarmd.testing.fakeengine._layers import add_layer, digest, get_layer, tar_of
from swarmd.testing.fakeengine._references import (
    DEFAULT_DOMAIN,
    familiar,
    familiar_name,
    is_domain,
    parse_reference,
)

__all__ = ["FakeRegistry", "RegistryImage", "unreachable"]


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
            template = BUSYBOX_IMAGE
        elif image_id is None:
            layer = add_layer(tar_of({name.replace("/", "_"): key.encode("utf-8")}),
                              BUSYBOX_SIZE if size is None else size)
            template = FakeImage(None, config=dict(config), layers=[layer.diff_id],
                                 comment="Imported from -")
        if template is not None:
            image_id, size = template.id, template.size
        size = BUSYBOX_SIZE if size is None else size
        self._images[key] = RegistryImage(
            name, tag or "latest", image_id, digest("manifest " + key + image_id), size,
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
        domain = name.split("/", 1)[0] if "/" in name and is_domain(name.split("/")[0]) \
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
        if sep and is_domain(first):
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
