"""
The engine conformance suite: a container's files (archive, copy, export,
changes, commit).
"""

import base64
import io
import json
import tarfile
from urllib.parse import quote, urlencode

from treq import content
from twisted.internet.defer import inlineCallbacks
from twisted.web.http_headers import Headers

from swarmd.testing.conformance.engine._support import PATIENCE, _tar, _tar_files, _tar_names


class FileConformance:
    """
    The file routes of containers (archive, copy, export, changes, commit),
    as every engine answers them.
    """

    @inlineCallbacks
    def written(self, **config):
        """
        A container that wrote C{data\\n} to C{/tmp/f} and exited.

        @return: a L{Deferred} firing with C{(id, name)}.
        """
        cid, name = yield self.started(["sh", "-c", "echo data > /tmp/f"], **config)
        yield self.wait(cid)
        return cid, name

    @inlineCallbacks
    def path_stat(self, ref, path):
        code, headers, body = yield self.call("HEAD", "/containers/%s/archive?path=%s"
                                              % (ref, quote(path)))
        self.assertEqual((code, body), (200, b""))
        encoded = headers.getRawHeaders(b"X-Docker-Container-Path-Stat")[0]
        return json.loads(base64.b64decode(encoded))

    @inlineCallbacks
    def test_archive_head(self):
        """
        HEAD archive gives a path's stat: files, folders (sticky /tmp), links resolved.
        """
        cid, name = yield self.written()
        found = yield self.path_stat(name, "/tmp/f")  # noqa: S108
        self.assertEqual((found["name"], found["size"], found["mode"], found["linkTarget"]),
                         ("f", 5, 0o644, ""))
        self.assertRegex(found["mtime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        found = yield self.path_stat(cid, "/tmp")  # noqa: S108
        self.assertEqual((found["name"], found["size"], found["mode"]),
                         ("tmp", 4096, (1 << 31) | (1 << 20) | 0o777))
        found = yield self.path_stat(cid, "/bin/sh")
        self.assertEqual((found["name"], found["mode"], found["linkTarget"]),
                         ("sh", (1 << 27) | 0o777, "/bin/busybox"))
        found = yield self.path_stat(cid, "/")
        self.assertEqual((found["name"], found["mode"] & (1 << 31)), ("/", 1 << 31))
        code, headers, body = yield self.call("HEAD", "/containers/%s/archive?path=/nope"
                                              % (cid,))
        self.assertEqual((code, body), (404, b""))

    @inlineCallbacks
    def test_archive_put_get(self):
        """
        A tar put into a folder lands there; GET gives it back as a tar of the path.
        """
        events = yield self.watch({"type": ["container"]})
        cid, name = yield self.written()
        code, _, body = yield self.call("PUT", "/containers/%s/archive?path=/tmp" % (name,),
                                        _tar({"put.txt": b"put\n", "sub/x": b"x"}))
        self.assertEqual((code, body), (200, b""))
        code, headers, data = yield self.call("GET", "/containers/%s/archive?path=/tmp"
                                              % (name,))
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/x-tar"])
        found = json.loads(base64.b64decode(
            headers.getRawHeaders(b"X-Docker-Container-Path-Stat")[0]))
        self.assertEqual(found["name"], "tmp")
        self.assertEqual(_tar_names(data), ["tmp", "tmp/f", "tmp/put.txt", "tmp/sub",
                                            "tmp/sub/x"])
        self.assertEqual(_tar_files(data), {"tmp/f": b"data\n", "tmp/put.txt": b"put\n",
                                            "tmp/sub/x": b"x"})
        _, _, data = yield self.call("GET", "/containers/%s/archive?path=/tmp/." % (cid,))
        self.assertEqual(_tar_names(data)[:2], [".", "./f"])
        _, _, data = yield self.call("GET", "/containers/%s/archive?path=/tmp/f" % (cid,))
        self.assertEqual(_tar_files(data), {"f": b"data\n"})
        _, _, data = yield self.call("GET", "/containers/%s/archive?path=/bin/sh" % (cid,))
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            link = archive.getmembers()[0]
        self.assertEqual((link.name, link.issym(), link.linkname), ("sh", True, "busybox"))
        code, _, body = yield self.call("PUT", "/containers/%s/archive?path=/tmp" % (cid,), b"")
        self.assertEqual(code, 200)
        yield self.seen(events, [("container", "extract-to-dir", cid),
                                 ("container", "archive-path", cid),
                                 ("container", "extract-to-dir", cid)])

    @inlineCallbacks
    def test_archive_refused(self):
        """
        Archive errors: no path, a missing path or container, not a folder, not a tar.
        """
        cid, name = yield self.written()
        for method in ("GET", "PUT"):
            message = yield self.refused(method, "/containers/%s/archive" % (cid,), status=400)
            self.assertEqual(message, "bad parameter: pathcannot be empty")
        message = yield self.refused("GET", "/containers/%s/archive?path=/nope" % (name,),
                                     status=404)
        self.assertEqual(message, "Could not find the file /nope in container " + name)
        message = yield self.refused("PUT", "/containers/%s/archive?path=/nope" % (name,),
                                     _tar({"a": b"a"}), status=404)
        self.assertEqual(message, "Could not find the file /nope in container " + name)
        message = yield self.refused("PUT", "/containers/%s/archive?path=/tmp/f" % (cid,),
                                     _tar({"a": b"a"}), status=500)
        self.assertEqual(message, "extraction point is not a directory")
        message = yield self.refused("PUT", "/containers/%s/archive?path=/tmp" % (cid,),
                                     b"this is no tar", status=500)
        self.assertEqual(message, "Error processing tar file(exit status 1): unexpected EOF")
        message = yield self.refused("PUT", "/containers/%s/archive?path=/tmp" % (cid,),
                                     _tar({"f/x": b"x"}), status=500)
        self.assertEqual(message, "Error processing tar file(exit status 1): open /tmp/f/x: "
                                  "not a directory")
        message = yield self.refused("GET", "/containers/%s/archive?path=/tmp/f/" % (cid,),
                                     status=500)
        self.assertTrue(message.startswith("lstat /"), message)
        self.assertTrue(message.endswith("/tmp/f/: not a directory"), message)  # noqa: S108
        ghost = self.unique("ghost")
        for method in ("GET", "PUT"):
            message = yield self.refused(method, "/containers/%s/archive?path=/" % (ghost,),
                                         status=404)
            self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_copy(self):
        """
        /copy is a bare 404 from API 1.24; before, it copies, with errors as plain text.
        """
        cid, name = yield self.written()
        code, headers, body = yield self.call("POST", "/containers/%s/copy" % (cid,),
                                              {"Resource": "/tmp/f"})  # noqa: S108
        self.assertEqual((code, body), (404, b""))
        self.assertIsNone(headers.getRawHeaders(b"Content-Type"))
        json_type = Headers({b"Content-Type": [b"application/json"]})

        @inlineCallbacks
        def old(resource):
            response = yield self.client.request(
                "POST", "/v1.23/containers/%s/copy" % (name,), json_type,
                json.dumps({"Resource": resource}).encode("utf-8"), timeout=PATIENCE)
            data = yield content(response)
            return response.code, response.headers.getRawHeaders(b"Content-Type"), data

        code, kind, data = yield old("/tmp/f")  # noqa: S108
        self.assertEqual((code, kind), (200, [b"application/x-tar"]))
        self.assertEqual(_tar_files(data), {"f": b"data\n"})
        code, kind, data = yield old("/tmp")  # noqa: S108
        self.assertEqual(_tar_files(data), {"f": b"data\n"})
        code, kind, data = yield old("")
        self.assertEqual((code, kind, data),
                         (400, [b"text/plain; charset=utf-8"], b"Path cannot be empty\n"))
        code, kind, data = yield old("/nope")
        self.assertEqual((code, data), (404, ("Could not find the file /nope in container %s\n"
                                              % (name,)).encode("ascii")))

    @inlineCallbacks
    def test_export(self):
        """
        export streams the whole file system as a tar, the image's files and the written ones.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.written()
        code, headers, data = yield self.call("GET", "/containers/%s/export" % (cid,))
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/octet-stream"])
        names = _tar_names(data)
        for expected in (".dockerenv", "bin", "bin/busybox", "bin/sh", "etc/passwd",
                         "etc/hostname", "tmp", "tmp/f"):
            self.assertIn(expected, names)
        self.assertFalse([n for n in names if n.startswith("/") or n.startswith("./")])
        self.assertEqual(names.index("bin") + 1, names.index("bin/["))
        self.assertEqual(_tar_files(data)["tmp/f"], b"data\n")
        yield self.seen(events, [("container", "export", cid)])
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/containers/%s/export" % (ghost,), status=404)
        self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_changes(self):
        """
        changes lists what a container wrote (and its volume's folder); null for none.
        """
        fresh, _ = yield self.create(["true"])
        _, changed = yield self.call_json("GET", "/containers/%s/changes" % (fresh,),
                                          status=200)
        self.assertIsNone(changed)
        cid, _ = yield self.written(Volumes={"/data": {}})
        yield self.call("PUT", "/containers/%s/archive?path=/tmp" % (cid,),
                        _tar({"sub/x": b"x"}))
        _, changed = yield self.call_json("GET", "/containers/%s/changes" % (cid,), status=200)
        added = [{"Kind": 1, "Path": "/tmp" + p} for p in ("/f", "/sub", "/sub/x")]  # noqa: S108
        # dockerd lists the changes in no fixed order.
        self.assertEqual(sorted(changed, key=lambda change: change["Path"]),
                         [{"Kind": 1, "Path": "/data"},
                          {"Kind": 0, "Path": "/tmp"}] + added)  # noqa: S108
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/containers/%s/changes" % (ghost,), status=404)
        self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_commit(self):
        """
        commit makes an image of the container's files, its config given and changed, tagged.
        """
        events = yield self.watch({"type": ["container", "image"]})
        cid, _ = yield self.written()
        busybox = yield self.client.inspect_image("busybox")
        repo = self.unique("commit")
        query = urlencode([("container", cid), ("repo", repo), ("tag", "t1"),
                           ("comment", "hello"), ("author", "me"),
                           ("changes", 'CMD ["echo", "x"]')])
        _, created = yield self.call_json("POST", "/commit?" + query, {"Labels": {"a": "b"}},
                                          status=201)
        image_id = created["Id"]
        self.images_made.append(image_id)
        self.assertRegex(image_id, r"^sha256:[0-9a-f]{64}$")
        image = yield self.client.inspect_image(image_id)
        self.assertEqual((image["RepoTags"], image["Comment"], image["Author"],
                          image["Parent"], image["Container"]),
                         ([repo + ":t1"], "hello", "me", busybox["Id"], cid))
        config = image["Config"]
        self.assertEqual((config["Cmd"], config["Labels"], config["Hostname"], config["Image"]),
                         (["echo", "x"], {"a": "b"}, "", ""))
        self.assertEqual(image["ContainerConfig"]["Cmd"], ["sh", "-c", "echo data > /tmp/f"])
        self.assertEqual(image["RootFS"]["Layers"][:-1], busybox["RootFS"]["Layers"])
        self.assertEqual(len(image["RootFS"]["Layers"]), len(busybox["RootFS"]["Layers"]) + 1)
        self.assertEqual(image["Size"], busybox["Size"] + 5)
        found = yield self.seen(events, [("image", "tag", image_id),
                                         ("container", "commit", cid)])
        self.assertEqual(found[0]["Actor"]["Attributes"], {"a": "b", "name": repo + ":t1"})
        attributes = found[1]["Actor"]["Attributes"]
        self.assertEqual((attributes["comment"], attributes["imageID"], attributes["imageRef"]),
                         ("hello", image_id, repo + ":t1"))

    @inlineCallbacks
    def test_commit_running(self):
        """
        Without a body a commit keeps the container's config; a running one is paused for it.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sh", "-c", "echo data > /tmp/f; sleep 300"])
        yield self.eventually(lambda: self.call_json(
            "GET", "/containers/%s/changes" % (cid,)).addCallback(lambda answer: answer[1]),
            "the file written")
        _, created = yield self.call_json("POST", "/commit?container=%s&changes=%s"
                                          % (cid, quote("ENV A=1")), status=201)
        self.images_made.append(created["Id"])
        image = yield self.client.inspect_image(created["Id"])
        self.assertEqual((image["Config"]["Cmd"], image["Config"]["Hostname"],
                          image["Config"]["Image"], image["Config"]["Env"], image["RepoTags"]),
                         (["sh", "-c", "echo data > /tmp/f; sleep 300"], cid[:12], "busybox",
                          ["A=1"], []))
        _, history = yield self.call_json("GET", "/images/%s/history" % (created["Id"],),
                                          status=200)
        self.assertEqual((history[0]["CreatedBy"], history[0]["Size"]),
                         ("sh -c echo data > /tmp/f; sleep 300", 5))
        _, again = yield self.call_json("POST", "/commit?container=%s&pause=0" % (cid,),
                                        b"{}", status=201, content_type="application/json")
        self.images_made.append(again["Id"])
        found = yield self.seen(events, [("container", "pause", cid),
                                         ("container", "commit", cid),
                                         ("container", "unpause", cid),
                                         ("container", "commit", cid)])
        self.assertEqual(found[3]["Actor"]["Attributes"]["imageID"], again["Id"])
        mine = [e["Action"] for e in events if e["Actor"]["ID"] == cid]
        self.assertEqual(mine.count("pause"), 1)

    @inlineCallbacks
    def test_commit_refused(self):
        """
        A commit needs a container, a lowercase repository and a JSON body.
        """
        cid, _ = yield self.written()
        message = yield self.refused("POST", "/commit", status=400)
        self.assertEqual(message, 'invalid name or ID supplied: ""')
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/commit?container=" + ghost, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        message = yield self.refused("POST", "/commit?container=%s&repo=Bad" % (cid,),
                                     status=500)
        self.assertEqual(message, "invalid reference format: repository name must be "
                                  "lowercase")
        message = yield self.refused("POST", "/commit?container=" + cid, b"{}", status=400,
                                     content_type="text/plain")
        self.assertEqual(message, "Content-Type specified (text/plain) must be "
                                  "'application/json'")
