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

It is seeded with C{docker save} archives
(L{swarmd.testing.lab.saved_images}).
"""

import base64
import gzip
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from swarmd.testing.lab.saved_images import digest_of, read_saved_image

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
