"""
Tests for L{swarmd.testing.lab.registry}: the loopback Docker registry (over a
real loopback socket, served from its thread) and the C{docker save}
archive helpers.
"""

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import tarfile
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.lab.registry import (
    CONFIG_V1,
    LAYER_GZIP,
    MANIFEST_V2,
    Registry,
    RegistryError,
    digest_of,
)
from swarmd.testing.lab.saved_images import read_saved_image, write_saved_image


def _layer(name, content):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _saved(config, layers, tag="img:1"):
    """
    A C{docker save} archive as dockerd writes one.
    """
    out = io.BytesIO()
    hex_id = digest_of(config)[7:]
    names = ["%064d/layer.tar" % (i,) for i in range(len(layers))]
    manifest = json.dumps([{"Config": hex_id + ".json", "RepoTags": [tag],
                            "Layers": names}]).encode()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in [(hex_id + ".json", config), ("manifest.json", manifest)] + list(
                zip(names, layers, strict=True)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                     "rootfs": {"type": "layers", "diff_ids": []}}).encode()


class RegistryTestCase(SynchronousTestCase):
    """
    A registry listening on loopback for each test.
    """

    auth = None

    def setUp(self):
        self.registry = Registry(auth=self.auth).start()
        self.addCleanup(self.registry.stop)

    def call(self, method, path, body=None, headers=None, chunked=False):
        """
        @return: C{(status, headers, body)}.
        """
        connection = http.client.HTTPConnection(self.registry.host, self.registry.port,
                                                timeout=10)
        self.addCleanup(connection.close)
        if chunked:
            connection.request(method, path, body=iter([body[:5], body[5:]]),
                               headers=headers or {}, encode_chunked=True)
        else:
            connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()

    def error_code(self, body):
        return json.loads(body)["errors"][0]["code"]


class ServeTests(RegistryTestCase):
    """
    Pulling: the API root, manifests and blobs.
    """

    def setUp(self):
        RegistryTestCase.setUp(self)
        self.layer = _layer("bin/x", b"hello")
        self.manifest_digest = self.registry.add_image("app", "1", CONFIG, [self.layer])

    def test_root(self):
        """GET /v2/ answers 200 with the API version header engines check."""
        status, headers, _ = self.call("GET", "/v2/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Docker-Distribution-API-Version"], "registry/2.0")
        self.assertEqual(self.registry.address, "127.0.0.1:%d" % (self.registry.port,))

    def test_manifest(self):
        """A manifest comes with its schema 2 type and digest, by tag or by digest."""
        status, headers, body = self.call("GET", "/v2/app/manifests/1")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], MANIFEST_V2)
        self.assertEqual(headers["Docker-Content-Digest"], digest_of(body))
        self.assertEqual(digest_of(body), self.manifest_digest)
        manifest = json.loads(body)
        self.assertEqual(manifest["config"], {"mediaType": CONFIG_V1, "size": len(CONFIG),
                                              "digest": digest_of(CONFIG)})
        self.assertEqual(manifest["layers"][0]["mediaType"], LAYER_GZIP)
        status, _, again = self.call("GET", "/v2/app/manifests/" + self.manifest_digest)
        self.assertEqual((status, again), (200, body))

    def test_head_manifest(self):
        """HEAD gives the same headers and no body."""
        status, headers, body = self.call("HEAD", "/v2/app/manifests/1")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["Docker-Content-Digest"], self.manifest_digest)
        self.assertEqual(int(headers["Content-Length"]),
                         len(self.registry.blobs[self.manifest_digest]))

    def test_blobs(self):
        """The config blob is the config; the layer blob gunzips to the layer tar."""
        manifest = self.registry.manifest("app", "1")
        status, headers, body = self.call("GET", "/v2/app/blobs/" + digest_of(CONFIG))
        self.assertEqual((status, body), (200, CONFIG))
        layer = manifest["layers"][0]
        status, headers, body = self.call("GET", "/v2/app/blobs/" + layer["digest"])
        self.assertEqual((status, len(body)), (200, layer["size"]))
        self.assertEqual(headers["Docker-Content-Digest"], layer["digest"])
        self.assertEqual(gzip.decompress(body), self.layer)
        status, _, body = self.call("HEAD", "/v2/app/blobs/" + layer["digest"])
        self.assertEqual((status, body), (200, b""))

    def test_errors(self):
        """Unknown repositories, tags and blobs are the registry's JSON errors."""
        for path, status, code in (
                ("/v2/nope/manifests/1", 404, "NAME_UNKNOWN"),
                ("/v2/app/manifests/2", 404, "MANIFEST_UNKNOWN"),
                ("/v2/app/manifests/sha256:" + "0" * 64, 404, "MANIFEST_UNKNOWN"),
                ("/v2/app/blobs/sha256:" + "0" * 64, 404, "BLOB_UNKNOWN"),
                ("/v2/app/other", 405, "UNSUPPORTED")):
            got, headers, body = self.call("GET", path)
            self.assertEqual((got, self.error_code(body)), (status, code), path)
            self.assertTrue(headers["Content-Type"].startswith("application/json"))

    def test_lists(self):
        """The catalog and the tag list name what is stored."""
        self.registry.add_image("app", "2", CONFIG, [])
        self.assertEqual(json.loads(self.call("GET", "/v2/_catalog")[2]),
                         {"repositories": ["app"]})
        self.assertEqual(json.loads(self.call("GET", "/v2/app/tags/list")[2]),
                         {"name": "app", "tags": ["1", "2"]})
        self.assertEqual(self.call("GET", "/v2/nope/tags/list")[0], 404)
        self.assertIn(("GET", "/v2/_catalog"), self.registry.requests)


class PushTests(RegistryTestCase):
    """
    Pushing: blob uploads and manifest PUT, as dockerd does them.
    """

    def upload(self, data, digest=None, chunked=True):
        status, headers, _ = self.call("POST", "/v2/app/blobs/uploads/")
        self.assertEqual(status, 202)
        location = headers["Location"]
        self.assertEqual(headers["Range"], "0-0")
        status, headers, _ = self.call("PATCH", location, data, chunked=chunked)
        self.assertEqual((status, headers["Range"]), (202, "0-%d" % (len(data) - 1,)))
        return self.call("PUT", "%s?digest=%s" % (headers["Location"],
                                                  digest or digest_of(data)), b"")

    def test_chunked_upload(self):
        """POST, a chunked PATCH and PUT ?digest= store a blob."""
        data = b"some layer bytes"
        status, headers, _ = self.upload(data)
        self.assertEqual(status, 201)
        self.assertEqual(headers["Docker-Content-Digest"], digest_of(data))
        self.assertEqual(headers["Location"], "/v2/app/blobs/" + digest_of(data))
        self.assertEqual(self.registry.blobs[digest_of(data)], data)

    def test_wrong_digest(self):
        """An upload whose bytes do not match its digest is refused."""
        status, _, body = self.upload(b"abc", digest="sha256:" + "1" * 64, chunked=False)
        self.assertEqual((status, self.error_code(body)), (400, "DIGEST_INVALID"))
        self.assertNotIn("sha256:" + "1" * 64, self.registry.blobs)

    def test_monolithic_and_mount(self):
        """POST ?digest= with the body uploads at once; a mount of a known blob is 201."""
        status, _, _ = self.call("POST", "/v2/app/blobs/uploads/?digest=" + digest_of(b"x"),
                                 b"x")
        self.assertEqual(status, 201)
        status, headers, _ = self.call(
            "POST", "/v2/other/blobs/uploads/?mount=%s&from=app" % (digest_of(b"x"),))
        self.assertEqual((status, headers["Docker-Content-Digest"]), (201, digest_of(b"x")))
        status, _, _ = self.call(
            "POST", "/v2/other/blobs/uploads/?mount=%s&from=app" % (digest_of(b"y"),))
        self.assertEqual(status, 202)

    def test_unknown_upload(self):
        """PATCH or PUT of an upload that was never started is BLOB_UPLOAD_UNKNOWN."""
        status, _, body = self.call("PATCH", "/v2/app/blobs/uploads/1234", b"x")
        self.assertEqual((status, self.error_code(body)), (404, "BLOB_UPLOAD_UNKNOWN"))

    def test_manifest_put(self):
        """A manifest PUT stores the tag once its blobs are there; pulled back byte for byte."""
        layer = gzip.compress(b"layer")
        self.upload(CONFIG)
        self.upload(layer)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": len(CONFIG),
                       "digest": digest_of(CONFIG)},
            "layers": [{"mediaType": LAYER_GZIP, "size": len(layer),
                        "digest": digest_of(layer)}]}).encode()
        status, headers, _ = self.call("PUT", "/v2/app/manifests/7", manifest,
                                       {"Content-Type": MANIFEST_V2})
        self.assertEqual((status, headers["Docker-Content-Digest"]),
                         (201, digest_of(manifest)))
        self.assertEqual(self.registry.tags("app"), ["7"])
        self.assertEqual(self.call("GET", "/v2/app/manifests/7")[2], manifest)

    def test_manifest_missing_blob(self):
        """A manifest naming a blob the registry lacks is MANIFEST_BLOB_UNKNOWN."""
        manifest = json.dumps({"schemaVersion": 2, "config": {"digest": digest_of(b"?")},
                               "layers": []}).encode()
        status, _, body = self.call("PUT", "/v2/app/manifests/1", manifest)
        self.assertEqual((status, self.error_code(body)), (400, "MANIFEST_BLOB_UNKNOWN"))
        status, _, body = self.call("PUT", "/v2/app/manifests/1", b"not json")
        self.assertEqual((status, self.error_code(body)), (400, "MANIFEST_INVALID"))
        self.assertEqual(self.registry.tags("app"), [])


class AuthTests(RegistryTestCase):
    """
    Basic authentication, for docker login.
    """

    auth = ("user", "secret")

    def test_challenge(self):
        """Without credentials every call is 401 with a Basic challenge."""
        status, headers, body = self.call("GET", "/v2/")
        self.assertEqual((status, self.error_code(body)), (401, "UNAUTHORIZED"))
        self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="swarmd-test-registry"')
        wrong = base64.b64encode(b"user:nope").decode()
        self.assertEqual(self.call("GET", "/v2/", headers={
            "Authorization": "Basic " + wrong})[0], 401)

    def test_credentials(self):
        """The right credentials are let in."""
        right = base64.b64encode(b"user:secret").decode()
        self.assertEqual(self.call("GET", "/v2/", headers={
            "Authorization": "Basic " + right})[0], 200)


class ArchiveTests(SynchronousTestCase):
    """
    docker save archives, read to seed the registry and written for loads.
    """

    def test_read_saved(self):
        """The config and layers of an archive's image are read back as saved."""
        layer = _layer("f", b"data")
        archive = _saved(CONFIG, [layer], "img:1")
        self.assertEqual(read_saved_image(archive), (CONFIG, [layer]))
        self.assertEqual(read_saved_image(archive, "img:1"), (CONFIG, [layer]))
        self.assertRaises(KeyError, read_saved_image, archive, "other:1")

    def test_add_saved_with_update(self):
        """A saved image is stored as is (same image ID) or changed into a new one."""
        registry = Registry()
        archive = _saved(CONFIG, [_layer("f", b"data")])
        _, same = registry.add_saved_image("a", "1", archive)
        self.assertEqual(same, digest_of(CONFIG))
        _, other = registry.add_saved_image(
            "b", "1", archive, update=lambda c: c["config"].update(Labels={"x": "1"}))
        self.assertNotEqual(other, same)
        config = registry.blobs[registry.manifest("b", "1")["config"]["digest"]]
        self.assertEqual(json.loads(config)["config"]["Labels"], {"x": "1"})
        self.assertEqual(registry.manifest("a", "1")["layers"],
                         registry.manifest("b", "1")["layers"])

    def test_write_saved(self):
        """A written archive holds random layers whose digests are the config's diff_ids."""
        folder = tempfile.mkdtemp()
        self.addCleanup(lambda: [os.remove(os.path.join(folder, f)) for f in
                                 os.listdir(folder)] and os.rmdir(folder))
        path = os.path.join(folder, "img.tar")
        image_id = write_saved_image(path, "big:1", [3000, 70000])
        config, layers = read_saved_image(path, "big:1")
        self.assertEqual(digest_of(config), image_id)
        diff_ids = json.loads(config)["rootfs"]["diff_ids"]
        self.assertEqual(diff_ids, ["sha256:" + hashlib.sha256(layer).hexdigest()
                                    for layer in layers])
        with tarfile.open(fileobj=io.BytesIO(layers[1])) as tar:
            member = tar.getmembers()[0]
            self.assertEqual((member.name, member.size), ("data/layer1", 70000))
        self.assertEqual(os.listdir(folder), ["img.tar"])

    def test_registry_error_body(self):
        """An error carries the registry's code, message and detail."""
        body = json.loads(RegistryError("BLOB_UNKNOWN", "sha256:x").body())
        self.assertEqual(body, {"errors": [{"code": "BLOB_UNKNOWN",
                                            "message": "blob unknown to registry",
                                            "detail": "sha256:x"}]})
