"""
A tiny Docker registry (HTTP API v2) on loopback, for tests.

No registry is reachable from the test machines, and dockerd treats every
address of 127.0.0.0/8 as an insecure (plain HTTP) registry by default, so
a L{Registry} on C{127.0.0.1:PORT} lets real engines C{docker pull},
C{docker push} and C{docker login} for real:

    with Registry() as registry:
        registry.add_saved_image("busybox", "latest", "busybox.tar")
        engine.docker("pull", registry.address + "/busybox:latest")

It serves schema 2 manifests (C{Content-Type} and C{Docker-Content-Digest}
set), blobs (C{GET}/C{HEAD}), the blob upload flow (C{POST}, C{PATCH} with
chunked bodies, C{PUT ?digest=}, cross-repository mounts) and manifest
C{PUT}, the tag list and the catalog, with optional basic authentication.
Errors are the registry's JSON (C{{"errors": [{"code": ...}]}}), so engines
report them as they would a real registry's.

It runs in a thread (C{http.server}), not on the reactor: functional tests
block in the docker CLI while engines talk to it.

C{docker save} archives are read (L{read_saved_image}) to seed it, and
written (L{write_saved_image}) to make images of any size for C{docker
load}, streamed to disk without holding a layer in memory.
"""

import base64
import gzip
import hashlib
import io
import json
import os
import re
import tarfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

#: Media types of a Docker image manifest (schema 2) and its parts.
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
_UPLOADS = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$")
_UPLOAD = re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<id>[0-9a-f-]+)$")
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")

#: The registry's errors: code -> (HTTP status, message).
ERRORS = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (400, "blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "UNAUTHORIZED": (401, "authentication required"),
    "UNSUPPORTED": (405, "The operation is unsupported."),
}


def digest_of(data):
    """
    @param data: C{bytes}.
    @return: C{"sha256:<hex>"}.
    """
    return "sha256:" + hashlib.sha256(data).hexdigest()


class RegistryError(Exception):
    """
    An error answer of the registry.

    @ivar code: the registry's error code (a key of L{ERRORS}).
    @ivar detail: the error's C{detail}, or L{None}.
    """

    def __init__(self, code, detail=None):
        Exception.__init__(self, code, detail)
        self.code = code
        self.detail = detail

    @property
    def status(self):
        return ERRORS[self.code][0]

    def body(self):
        """
        @return: the C{bytes} of the JSON error document.
        """
        error = {"code": self.code, "message": ERRORS[self.code][1]}
        if self.detail is not None:
            error["detail"] = self.detail
        return json.dumps({"errors": [error]}).encode("utf-8")


# -- docker save archives -------------------------------------------------------------


def read_saved_image(archive, image=None):
    """
    Read one image of a C{docker save} archive.

    @param archive: a path, or the archive's C{bytes}.
    @param image: the C{RepoTags} entry to read (C{"busybox:latest"}); the
        archive's first image by default.
    @return: C{(config, layers)}: the image configuration's C{bytes} (its
        digest is the image ID) and the uncompressed layer tars, base
        first, as a C{list} of C{bytes}.
    @raise KeyError: if C{image} is not in the archive.
    """
    if isinstance(archive, bytes):
        tar = tarfile.open(fileobj=io.BytesIO(archive))
    else:
        tar = tarfile.open(archive)
    with tar:
        entries = json.load(tar.extractfile("manifest.json"))
        if image is None:
            entry = entries[0]
        else:
            matching = [e for e in entries if image in (e.get("RepoTags") or [])]
            if not matching:
                raise KeyError(image)
            entry = matching[0]
        config = tar.extractfile(entry["Config"]).read()
        layers = [tar.extractfile(path).read() for path in entry["Layers"]]
    return config, layers


def _random_layer_tar(path, size, name, chunk=1024 * 1024):
    """
    Write a layer tar holding one file of C{size} random bytes.

    @return: the tar's C{sha256:} digest (its DiffID).
    """
    digest = hashlib.sha256()

    class _Hashing(io.RawIOBase):
        def __init__(self, out):
            self._out = out

        def writable(self):
            return True

        def write(self, data):
            digest.update(data)
            return self._out.write(data)

    class _Random(io.RawIOBase):
        def __init__(self, left):
            self._left = left

        def readable(self):
            return True

        def read(self, n=-1):
            n = self._left if n is None or n < 0 else min(n, self._left)
            self._left -= n
            return os.urandom(n)

    with open(path, "wb") as raw:
        with tarfile.open(fileobj=_Hashing(raw), mode="w|", format=tarfile.GNU_FORMAT,
                          bufsize=chunk) as tar:
            info = tarfile.TarInfo(name)
            info.size = size
            info.mode = 0o644
            tar.addfile(info, _Random(size))
    return "sha256:" + digest.hexdigest()


def write_saved_image(path, repo_tag, layer_sizes, workdir=None, created=None):
    """
    Write a C{docker save} archive of a new image whose layers each hold
    one file of random bytes (C{/data/layerN}), for C{docker load}.

    Nothing as large as a layer is ever held in memory: each layer tar is
    written to a temporary file (hashed on the way) and then copied into
    the archive.

    @param path: where to write the archive.
    @param repo_tag: its C{RepoTags} entry, e.g. C{"big:1"}.
    @param layer_sizes: the random bytes of each layer.
    @param workdir: where to keep the layer files meanwhile (default: next
        to C{path}).
    @param created: the image's creation time (RFC 3339).
    @return: the image ID (C{sha256:...}).
    """
    workdir = workdir or os.path.dirname(os.path.abspath(path))
    layer_paths, diff_ids = [], []
    try:
        for index, size in enumerate(layer_sizes):
            layer = os.path.join(workdir, ".layer-%s-%d.tar" % (uuid.uuid4().hex, index))
            layer_paths.append(layer)
            diff_ids.append(_random_layer_tar(layer, size, "data/layer%d" % (index,)))
        config = json.dumps({
            "architecture": "amd64",
            "os": "linux",
            "created": created or "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": created or "2026-01-01T00:00:00Z",
                         "created_by": "swarmd.testing.lab.registry"} for _ in diff_ids],
        }, separators=(",", ":")).encode("utf-8")
        image_id = digest_of(config)
        hex_id = image_id.split(":", 1)[1]
        manifest = [{"Config": hex_id + ".json", "RepoTags": [repo_tag],
                     "Layers": ["%s/layer.tar" % (d.split(":", 1)[1],) for d in diff_ids]}]
        with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tar:
            _add_bytes(tar, hex_id + ".json", config)
            for layer, diff_id in zip(layer_paths, diff_ids, strict=True):
                tar.add(layer, arcname="%s/layer.tar" % (diff_id.split(":", 1)[1],),
                        recursive=False)
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode("utf-8"))
    finally:
        for layer in layer_paths:
            if os.path.exists(layer):
                os.remove(layer)
    return image_id


def _add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# -- the registry -----------------------------------------------------------------------


class Registry:
    """
    A Docker registry (API v2) in memory, served on loopback from a thread.

    @ivar blobs: C{dict} of digest to C{bytes} (configs, layers, manifests).
    @ivar repositories: C{dict} of repository name to a C{dict} of tag to
        manifest digest.
    @ivar requests: C{(method, path)} of every request served, in order.
    @ivar auth: C{(user, password)} every request must present with basic
        authentication, or L{None}.
    """

    def __init__(self, host="127.0.0.1", port=0, auth=None):
        """
        @param host: the loopback address to listen on.
        @param port: the port (0: any free one).
        @param auth: C{(user, password)}, or L{None} for an open registry.
        """
        self.host = host
        self.port = port
        self.auth = auth
        self.blobs = {}
        self.media_types = {}
        self.repositories = {}
        self.requests = []
        self.uploads = {}
        self._manifests = {}
        self.lock = threading.RLock()
        self._server = None
        self._thread = None

    # -- running --------------------------------------------------------------------

    @property
    def address(self):
        """
        @return: C{"127.0.0.1:PORT"}, the registry part of image names.
        """
        return "%s:%d" % (self.host, self.port)

    def start(self):
        """
        Listen and serve from a daemon thread.

        @return: C{self}
        """
        registry = self

        class Handler(_Handler):
            pass

        Handler.registry = registry
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="registry %s" % (self.address,), daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """
        Stop serving and close the listening socket.
        """
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # -- content ------------------------------------------------------------------------

    def add_blob(self, data, media_type="application/octet-stream"):
        """
        Store a blob.

        @return: its digest.
        """
        digest = digest_of(data)
        with self.lock:
            self.blobs[digest] = data
            self.media_types.setdefault(digest, media_type)
        return digest

    def add_manifest(self, repository, tag, data, media_type=MANIFEST_V2):
        """
        Store a manifest under C{repository:tag} (its blobs must be stored).

        @param data: the manifest's C{bytes}, exactly as served.
        @return: the manifest's digest.
        @raise RegistryError: C{MANIFEST_INVALID} or C{MANIFEST_BLOB_UNKNOWN}.
        """
        try:
            manifest = json.loads(data)
        except ValueError:
            raise RegistryError("MANIFEST_INVALID", "not JSON") from None
        if not isinstance(manifest, dict):
            raise RegistryError("MANIFEST_INVALID", "not an object")
        with self.lock:
            referenced = [manifest.get("config") or {}] + list(manifest.get("layers") or [])
            for part in referenced:
                digest = part.get("digest")
                if digest is not None and digest not in self.blobs:
                    raise RegistryError("MANIFEST_BLOB_UNKNOWN", digest)
            digest = digest_of(data)
            self.blobs[digest] = data
            self.media_types[digest] = media_type
            tags = self.repositories.setdefault(repository, {})
            self._manifests.setdefault(repository, set()).add(digest)
            if tag is not None and not _DIGEST.match(tag):
                tags[tag] = digest
        return digest

    def add_image(self, repository, tag, config, layers):
        """
        Store an image: its config, its layers (gzipped) and a schema 2
        manifest naming them.

        @param config: the image configuration's C{bytes} (its digest is the
            image ID engines show).
        @param layers: the uncompressed layer tars (C{bytes}), base first.
        @return: the manifest's digest.
        """
        config_digest = self.add_blob(config, CONFIG_V1)
        parts = []
        for layer in layers:
            blob = gzip.compress(layer, mtime=0)
            parts.append({"mediaType": LAYER_GZIP, "size": len(blob),
                          "digest": self.add_blob(blob, LAYER_GZIP)})
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": len(config), "digest": config_digest},
            "layers": parts,
        }
        data = json.dumps(manifest, indent=3).encode("utf-8")
        return self.add_manifest(repository, tag, data)

    def add_saved_image(self, repository, tag, archive, image=None, update=None):
        """
        Store an image read from a C{docker save} archive.

        @param archive: a path, or the archive's C{bytes}.
        @param image: the archive's C{RepoTags} entry to take (default: its
            first image).
        @param update: a callable given the decoded image configuration to
            change in place (a label, a command...), which makes a new
            image ID over the same layers; L{None} keeps it as saved.
        @return: C{(manifest digest, image ID)}.
        """
        config, layers = read_saved_image(archive, image)
        if update is not None:
            decoded = json.loads(config)
            update(decoded)
            config = json.dumps(decoded, separators=(",", ":")).encode("utf-8")
        return self.add_image(repository, tag, config, layers), digest_of(config)

    def manifest(self, repository, reference):
        """
        @param reference: a tag or a manifest digest.
        @return: the decoded manifest, or L{None}.
        """
        with self.lock:
            digest = self._resolve(repository, reference)
            if digest is None:
                return None
            return json.loads(self.blobs[digest])

    def tags(self, repository):
        """
        @return: the sorted tags of C{repository} (empty if unknown).
        """
        with self.lock:
            return sorted(self.repositories.get(repository, {}))

    def _resolve(self, repository, reference):
        tags = self.repositories.get(repository)
        if tags is None:
            return None
        if _DIGEST.match(reference):
            if reference in self._manifests.get(repository, ()):
                return reference
            return None
        return tags.get(reference)

    # -- the HTTP API, called from the handler's thread ----------------------------------

    def authorized(self, header):
        """
        @param header: the request's C{Authorization} value, or L{None}.
        @return: whether the request may go on.
        """
        if self.auth is None:
            return True
        expected = "Basic " + base64.b64encode(
            ("%s:%s" % self.auth).encode("utf-8")).decode("ascii")
        return header == expected

    def get_manifest(self, name, reference):
        """
        @return: C{(media type, bytes, digest)}.
        @raise RegistryError: C{NAME_UNKNOWN} or C{MANIFEST_UNKNOWN}.
        """
        with self.lock:
            if name not in self.repositories:
                raise RegistryError("NAME_UNKNOWN", {"name": name})
            digest = self._resolve(name, reference)
            if digest is None:
                raise RegistryError("MANIFEST_UNKNOWN", {"Tag": reference})
            return self.media_types[digest], self.blobs[digest], digest

    def get_blob(self, digest):
        """
        @return: the blob's C{bytes}.
        @raise RegistryError: C{BLOB_UNKNOWN}.
        """
        with self.lock:
            data = self.blobs.get(digest)
        if data is None:
            raise RegistryError("BLOB_UNKNOWN", digest)
        return data

    def start_upload(self, name):
        """
        @return: the new upload's ID.
        """
        upload = str(uuid.uuid4())
        with self.lock:
            self.uploads[upload] = (name, bytearray())
        return upload

    def append_upload(self, upload, data):
        """
        @return: the bytes received so far for the upload.
        @raise RegistryError: C{BLOB_UPLOAD_UNKNOWN}.
        """
        with self.lock:
            if upload not in self.uploads:
                raise RegistryError("BLOB_UPLOAD_UNKNOWN")
            buffer = self.uploads[upload][1]
            buffer.extend(data)
            return len(buffer)

    def finish_upload(self, upload, digest, data=b""):
        """
        End an upload with its last bytes and check its digest.

        @raise RegistryError: C{BLOB_UPLOAD_UNKNOWN} or C{DIGEST_INVALID}.
        """
        with self.lock:
            if upload not in self.uploads:
                raise RegistryError("BLOB_UPLOAD_UNKNOWN")
            _, buffer = self.uploads.pop(upload)
            buffer.extend(data)
            if digest_of(bytes(buffer)) != digest:
                raise RegistryError("DIGEST_INVALID", digest)
            self.add_blob(bytes(buffer))


class _Handler(BaseHTTPRequestHandler):
    """
    The registry's HTTP API (one handler per request, in the server's
    threads).
    """

    protocol_version = "HTTP/1.1"
    registry = None
    server_version = "swarmd-test-registry"

    def log_message(self, format, *args):
        """
        Quiet: the registry's C{requests} list is the log.
        """

    # -- plumbing -------------------------------------------------------------------

    def _body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", headers=(), content_type=None, head=False):
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _error(self, error, head=False):
        headers = []
        if error.code == "UNAUTHORIZED":
            headers.append(("WWW-Authenticate", 'Basic realm="swarmd-test-registry"'))
        self._send(error.status, error.body(), headers,
                   "application/json; charset=utf-8", head=head)

    def _handle(self, method):
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        registry = self.registry
        with registry.lock:
            registry.requests.append((method, path))
        body = self._body() if method in ("POST", "PUT", "PATCH") else b""
        head = method == "HEAD"
        try:
            if not registry.authorized(self.headers.get("Authorization")):
                raise RegistryError("UNAUTHORIZED")
            self._route(method, path, query, body, head)
        except RegistryError as e:
            self._error(e, head=head)

    def _route(self, method, path, query, body, head):
        registry = self.registry
        if path in ("/v2", "/v2/"):
            self._send(200, b"{}", content_type="application/json; charset=utf-8", head=head)
            return
        if path == "/v2/_catalog" and method == "GET":
            with registry.lock:
                names = sorted(registry.repositories)
            self._send(200, json.dumps({"repositories": names}).encode(),
                       content_type="application/json; charset=utf-8")
            return
        match = _TAGS.match(path)
        if match and method == "GET":
            name = match.group("name")
            with registry.lock:
                if name not in registry.repositories:
                    raise RegistryError("NAME_UNKNOWN", {"name": name})
            self._send(200, json.dumps({"name": name, "tags": registry.tags(name)}).encode(),
                       content_type="application/json; charset=utf-8")
            return
        match = _MANIFEST.match(path)
        if match:
            name, reference = match.group("name"), match.group("reference")
            if method in ("GET", "HEAD"):
                media_type, data, digest = registry.get_manifest(name, reference)
                self._send(200, data, [("Docker-Content-Digest", digest), ("Etag",
                                                                            '"%s"' % digest)],
                           media_type, head=head)
                return
            if method == "PUT":
                media_type = self.headers.get("Content-Type") or MANIFEST_V2
                digest = registry.add_manifest(name, reference, body, media_type)
                self._send(201, headers=[
                    ("Location", "/v2/%s/manifests/%s" % (name, digest)),
                    ("Docker-Content-Digest", digest)])
                return
            raise RegistryError("UNSUPPORTED")
        match = _UPLOADS.match(path)
        if match and method == "POST":
            self._start_upload(match.group("name"), query, body)
            return
        match = _UPLOAD.match(path)
        if match:
            self._upload(method, match.group("name"), match.group("id"), query, body)
            return
        match = _BLOB.match(path)
        if match and method in ("GET", "HEAD"):
            digest = match.group("digest")
            data = registry.get_blob(digest)
            self._send(200, data, [("Docker-Content-Digest", digest),
                                   ("Etag", '"%s"' % digest)],
                       "application/octet-stream", head=head)
            return
        raise RegistryError("UNSUPPORTED")

    def _created_blob(self, name, digest):
        self._send(201, headers=[("Location", "/v2/%s/blobs/%s" % (name, digest)),
                                 ("Docker-Content-Digest", digest)])

    def _start_upload(self, name, query, body):
        registry = self.registry
        mount = (query.get("mount") or [None])[0]
        if mount is not None:
            with registry.lock:
                known = mount in registry.blobs
            if known:
                self._created_blob(name, mount)
                return
        digest = (query.get("digest") or [None])[0]
        upload = registry.start_upload(name)
        if digest is not None:
            registry.finish_upload(upload, digest, body)
            self._created_blob(name, digest)
            return
        self._accepted(name, upload, 0)

    def _accepted(self, name, upload, size):
        self._send(202, headers=[
            ("Location", "/v2/%s/blobs/uploads/%s" % (name, upload)),
            ("Docker-Upload-UUID", upload),
            ("Range", "0-%d" % (max(size - 1, 0),))])

    def _upload(self, method, name, upload, query, body):
        registry = self.registry
        if method == "PATCH":
            size = registry.append_upload(upload, body)
            self._accepted(name, upload, size)
        elif method == "PUT":
            digest = (query.get("digest") or [None])[0]
            if digest is None:
                raise RegistryError("DIGEST_INVALID", "no digest")
            registry.finish_upload(upload, digest, body)
            self._created_blob(name, digest)
        elif method == "GET":
            size = registry.append_upload(upload, b"")
            self._send(204, headers=[("Location", "/v2/%s/blobs/uploads/%s" % (name, upload)),
                                     ("Docker-Upload-UUID", upload),
                                     ("Range", "0-%d" % (max(size - 1, 0),))])
        elif method == "DELETE":
            with registry.lock:
                if registry.uploads.pop(upload, None) is None:
                    raise RegistryError("BLOB_UPLOAD_UNKNOWN")
            self._send(204)
        else:
            raise RegistryError("UNSUPPORTED")

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")
