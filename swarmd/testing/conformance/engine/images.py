"""
The engine conformance suite: images, build, push, pull, search and login.
"""

import io
import json
import re
import tarfile
import uuid
from urllib.parse import quote, urlencode

from twisted.internet.defer import inlineCallbacks
from twisted.trial.unittest import SkipTest

from swarmd.engine import EngineError
from swarmd.testing.conformance.engine._support import (
    _sha256,
    _tar,
    stream_error,
    stream_messages,
    stream_text,
)


class ImageConformance:
    """
    The image, build, push, search and login routes (raw calls), as every
    engine answers them.
    """

    @inlineCallbacks
    def busybox_id(self):
        return (yield self.client.inspect_image("busybox"))["Id"]

    @inlineCallbacks
    def import_image(self, repo=None, tag=None, files=None, changes=(), message=None):
        """
        Import a small image of unique content, removed after the test.

        @return: a L{Deferred} firing with C{(id, tar bytes)}.
        """
        data = _tar(files or {"conf": uuid.uuid4().hex.encode("ascii")})
        query = [("fromSrc", "-")]
        if repo:
            query.append(("repo", repo))
        if tag:
            query.append(("tag", tag))
        query.extend(("changes", change) for change in changes)
        if message:
            query.append(("message", message))
        code, headers, body = yield self.call("POST", "/images/create?" + urlencode(query), data)
        self.assertEqual(code, 200, body)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/json"])
        messages = stream_messages(body)
        self.assertEqual(len(messages), 1, messages)
        image_id = messages[0]["status"]
        self.assertRegex(image_id, r"^sha256:[0-9a-f]{64}$")
        self.images_made.append(image_id)
        return image_id, data

    @inlineCallbacks
    def build(self, dockerfile, query="", status=200):
        """
        Build from a context holding only C{dockerfile}.

        @return: a L{Deferred} firing with the stream's messages.
        """
        context = _tar({"Dockerfile": dockerfile.encode("utf-8")})
        code, _, body = yield self.call("POST", "/build?" + query, context)
        self.assertEqual(code, status, body)
        messages = stream_messages(body)
        for message in messages:
            if "aux" in message:
                self.images_made.append(message["aux"]["ID"])
        return messages

    @inlineCallbacks
    def test_image_tag(self):
        """
        A tag points at the image (and is an event); missing images and bad names are refused.
        """
        busybox = yield self.busybox_id()
        events = yield self.watch({"type": ["image"]})
        repo = self.unique("img")
        self.images_made.extend([repo + ":1", repo + ":latest"])
        code, _, data = yield self.call("POST", "/images/busybox/tag?repo=%s&tag=1" % (repo,))
        self.assertEqual((code, data), (201, b""))
        code, _, _ = yield self.call("POST", "/images/busybox:latest/tag?repo=" + repo)
        self.assertEqual(code, 201)
        for reference in (repo + ":1", repo):
            inspected = yield self.client.inspect_image(reference)
            self.assertEqual(inspected["Id"], busybox)
        self.assertIn(repo + ":1", inspected["RepoTags"])
        self.assertIn("busybox:latest", inspected["RepoTags"])
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/images/%s/tag?repo=%s" % (ghost, repo),
                                     status=404)
        self.assertEqual(message, "No such image: %s:latest" % (ghost,))
        message = yield self.refused("POST", "/images/busybox/tag?repo=Conf-Upper", status=500)
        self.assertEqual(message, "invalid reference format: repository name must be lowercase")
        message = yield self.refused("POST", "/images/busybox/tag?repo=%s&tag=a:b" % (repo,),
                                     status=500)
        self.assertEqual(message, "invalid tag format")
        message = yield self.refused("POST", "/images/busybox/tag?repo=%s@sha256:%s"
                                     % (repo, "a" * 64), status=400)
        self.assertEqual(message, "refusing to create a tag with a digest reference")
        found = yield self.seen(events, [("image", "tag", busybox), ("image", "tag", busybox)])
        self.assertEqual([e["Actor"]["Attributes"]["name"] for e in found],
                         [repo + ":1", repo])

    @inlineCallbacks
    def test_image_remove(self):
        """
        Removing one of two tags untags; the last one deletes the image and its layer.
        """
        repo = self.unique("img")
        events = yield self.watch({"type": ["image"]})
        image_id, data = yield self.import_image(repo, "1")
        code, _, _ = yield self.call("POST", "/images/%s:1/tag?repo=%s&tag=2" % (repo, repo))
        self.assertEqual(code, 201)
        _, answer = yield self.call_json("DELETE", "/images/%s:1" % (repo,), status=200)
        self.assertEqual(answer, [{"Untagged": repo + ":1"}])
        self.assertEqual((yield self.client.inspect_image(image_id))["RepoTags"], [repo + ":2"])
        _, answer = yield self.call_json("DELETE", "/images/%s:2" % (repo,), status=200)
        self.assertEqual(answer, [{"Untagged": repo + ":2"}, {"Deleted": image_id},
                                  {"Deleted": _sha256(data)}])
        message = yield self.refused("DELETE", "/images/%s:2" % (repo,), status=404)
        self.assertEqual(message, "No such image: %s:2" % (repo,))
        yield self.assertEngineError(self.client.inspect_image(image_id), 404)
        message = yield self.refused("DELETE", "/images/Conf-Upper", status=400)
        self.assertEqual(message, "invalid reference format: repository name must be lowercase")
        yield self.seen(events, [("image", "import", image_id), ("image", "untag", image_id),
                                 ("image", "untag", image_id), ("image", "delete", image_id)])

    @inlineCallbacks
    def test_image_remove_conflicts(self):
        """
        An image a container uses, or held by two tags, is deleted only as dockerd allows.
        """
        repo = self.unique("img")
        label = self.unique("label")
        messages = yield self.build("FROM busybox\nLABEL conf-label=%s\n" % (label,),
                                    "t=%s:1" % (repo,))
        image_id = [m["aux"]["ID"] for m in messages if "aux" in m][0]
        short = image_id[7:19]
        cid, _ = yield self.started(["sleep", "300"], Image=repo + ":1")
        message = yield self.refused("DELETE", "/images/" + short, status=409)
        self.assertEqual(message, "conflict: unable to delete %s (cannot be forced) - image is "
                                  "being used by running container %s" % (short, cid[:12]))
        message = yield self.refused("DELETE", "/images/%s:1" % (repo,), status=409)
        self.assertEqual(message, 'conflict: unable to remove repository reference "%s:1" '
                                  '(must force) - container %s is using its referenced image '
                                  '%s' % (repo, cid[:12], short))
        yield self.client.kill_container(cid)
        yield self.wait(cid)
        message = yield self.refused("DELETE", "/images/" + short, status=409)
        self.assertEqual(message, "conflict: unable to delete %s (must be forced) - image is "
                                  "being used by stopped container %s" % (short, cid[:12]))
        yield self.call("POST", "/images/%s:1/tag?repo=%s&tag=2" % (repo, repo))
        message = yield self.refused("DELETE", "/images/" + short, status=409)
        self.assertEqual(message, "conflict: unable to delete %s (must be forced) - image is "
                                  "referenced in multiple repositories" % (short,))
        _, answer = yield self.call_json("DELETE", "/images/%s?force=1" % (short,), status=200)
        self.assertEqual(answer, [{"Untagged": repo + ":1"}, {"Untagged": repo + ":2"},
                                  {"Deleted": image_id}])
        self.assertTrue((yield self.client.inspect_image("busybox"))["Id"])

    @inlineCallbacks
    def test_image_import(self):
        """
        An import makes a one-layer image of the tar, with the changes and message given.
        """
        repo = self.unique("img")
        events = yield self.watch({"type": ["image"]})
        files = {"conf/hello": b"hello\n", "conf/other": b"abc"}
        image_id, data = yield self.import_image(
            repo, "1", files, ['CMD ["sh"]', "ENV A=1", "LABEL conf=yes"], "conf message")
        inspected = yield self.client.inspect_image(repo + ":1")
        self.assertEqual((inspected["Id"], inspected["RepoTags"], inspected["Comment"],
                          inspected["Parent"], inspected["Size"]),
                         (image_id, [repo + ":1"], "conf message", "", 9))
        self.assertEqual((inspected["Config"]["Cmd"], inspected["Config"]["Env"],
                          inspected["Config"]["Labels"]), (["sh"], ["A=1"], {"conf": "yes"}))
        self.assertEqual(inspected["RootFS"], {"Type": "layers", "Layers": [_sha256(data)]})
        _, history = yield self.call_json("GET", "/images/%s:1/history" % (repo,), status=200)
        self.assertEqual([(h["Id"], h["Comment"], h["CreatedBy"], h["Size"], h["Tags"])
                          for h in history],
                         [(image_id, "conf message", "", 9, [repo + ":1"])])
        untagged, _ = yield self.import_image()
        self.assertEqual((yield self.client.inspect_image(untagged))["RepoTags"], [])
        message = yield self.refused("POST", "/images/create?fromSrc=-&repo=%s&tag=a:b"
                                     % (repo,), b"", status=400)
        self.assertEqual(message, "invalid tag format")
        found = yield self.seen(events, [("image", "tag", image_id),
                                         ("image", "import", image_id)])
        self.assertEqual([e["Actor"]["Attributes"]["name"] for e in found],
                         [repo + ":1", image_id])

    @inlineCallbacks
    def test_image_history(self):
        """
        History lists the layers newest first with the IDs and tags of local images.
        """
        busybox = yield self.busybox_id()
        _, history = yield self.call_json("GET", "/images/busybox/history", status=200)
        self.assertEqual(history[0]["Id"], busybox)
        self.assertIn("busybox:latest", history[0]["Tags"])
        for entry in history:
            self.assertEqual(sorted(entry), ["Comment", "Created", "CreatedBy", "Id", "Size",
                                             "Tags"])
            self.assertIsInstance(entry["Created"], int)
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/images/%s/history" % (ghost,), status=404)
        self.assertEqual(message, "No such image: %s:latest" % (ghost,))

    @inlineCallbacks
    def test_image_save_load(self):
        """
        A saved image is a docker save archive; loaded back it has the same ID.
        """
        events = yield self.watch({"type": ["image"]})
        repo = self.unique("img")
        image_id, data = yield self.import_image(repo, "1")
        code, headers, archive = yield self.call("GET", "/images/%s:1/get" % (repo,))
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/x-tar"])
        with tarfile.open(fileobj=io.BytesIO(archive)) as saved:
            manifest = json.loads(saved.extractfile("manifest.json").read())
            self.assertEqual(len(manifest), 1)
            entry = manifest[0]
            self.assertEqual((entry["Config"], entry["RepoTags"], len(entry["Layers"])),
                             (image_id[7:] + ".json", [repo + ":1"], 1))
            self.assertEqual(_sha256(saved.extractfile(entry["Config"]).read()), image_id)
            self.assertEqual(saved.extractfile(entry["Layers"][0]).read(), data)
            self.assertEqual(json.loads(saved.extractfile("repositories").read()),
                             {repo: {"1": entry["Layers"][0].split("/")[0]}})
        code, _, by_id = yield self.call("GET", "/images/%s/get" % (image_id[7:19],))
        with tarfile.open(fileobj=io.BytesIO(by_id)) as saved:
            self.assertIsNone(json.loads(saved.extractfile("manifest.json").read())[0][
                "RepoTags"])
        yield self.call_json("DELETE", "/images/%s:1" % (repo,), status=200)
        code, _, body = yield self.call("POST", "/images/load?quiet=1", archive)
        self.assertEqual((code, stream_messages(body)),
                         (200, [{"stream": "Loaded image: %s:1\n" % (repo,)}]))
        self.assertEqual((yield self.client.inspect_image(repo + ":1"))["Id"], image_id)
        yield self.call_json("DELETE", "/images/%s:1" % (repo,), status=200)
        code, _, body = yield self.call("POST", "/images/load?quiet=0", archive)
        messages = stream_messages(body)
        loading = [m for m in messages if m.get("status") == "Loading layer"]
        self.assertTrue(loading, messages)
        self.assertEqual({m["id"] for m in loading}, {_sha256(data)[7:19]})
        self.assertEqual(messages[-1], {"stream": "Loaded image: %s:1\n" % (repo,)})
        other, _ = yield self.import_image(repo, "1")
        code, _, body = yield self.call("POST", "/images/load?quiet=1", archive)
        self.assertEqual(stream_messages(body), [
            {"stream": "The image %s:1 already exists, renaming the old one with ID %s to "
                       "empty string\n" % (repo, other)},
            {"stream": "Loaded image: %s:1\n" % (repo,)}])
        self.assertEqual((yield self.client.inspect_image(other))["RepoTags"], [])
        code, _, body = yield self.call("POST", "/images/load", b"BAD tar")
        self.assertEqual(code, 200)
        self.assertEqual(stream_error(stream_messages(body)),
                         "Error processing tar file(exit status 1): unexpected EOF")
        code, _, body = yield self.call("POST", "/images/load", b"BAD tar" + b"x" * 1000)
        self.assertEqual(stream_error(stream_messages(body)),
                         "Error processing tar file(exit status 1): archive/tar: invalid tar "
                         "header")
        for empty in (b"", bytes(1024), _tar({"hello": b"x" * 100})):
            code, _, body = yield self.call("POST", "/images/load", empty)
            self.assertRegex(stream_error(stream_messages(body)),
                             r"^open .*/tmp/docker-import-\d+/repositories: no such file or "
                             r"directory$")
        yield self.seen(events, [("image", "save", image_id), ("image", "load", image_id)])

    @inlineCallbacks
    def test_images_get_several(self):
        """
        /images/get saves every image named, or is a 404 naming the one missing.
        """
        repo = self.unique("img")
        image_id, _ = yield self.import_image(repo, "1")
        code, _, archive = yield self.call("GET", "/images/get?names=%s:1&names=busybox"
                                           % (repo,))
        self.assertEqual(code, 200)
        with tarfile.open(fileobj=io.BytesIO(archive)) as saved:
            manifest = json.loads(saved.extractfile("manifest.json").read())
        # dockerd writes the images in no fixed order.
        self.assertEqual(sorted(m["RepoTags"] for m in manifest),
                         [["busybox:latest"], [repo + ":1"]])
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/images/get?names=busybox&names=" + ghost,
                                     status=404)
        self.assertEqual(message, "No such image: " + ghost)
        message = yield self.refused("GET", "/images/%s/get" % (ghost,), status=404)
        self.assertEqual(message, "No such image: " + ghost)

    @inlineCallbacks
    def test_image_prune(self):
        """
        Prune deletes dangling images (dangling=false: unused ones) its label filter selects.
        """
        events = yield self.watch({"type": ["image"]})
        label = "LABEL conf-prune=" + self.unique("prune")
        repo = self.unique("img")
        tagged, tagged_data = yield self.import_image(repo, "1", changes=[label])
        dangling, dangling_data = yield self.import_image(changes=[label])
        other, _ = yield self.import_image()
        filters = {"label": [label.split(" ", 1)[1]]}
        _, answer = yield self.call_json(
            "POST", "/images/prune?filters=" + quote(json.dumps(filters)), status=200)
        self.assertEqual(answer, {"ImagesDeleted": [{"Deleted": dangling},
                                                    {"Deleted": _sha256(dangling_data)}],
                                  "SpaceReclaimed": 32})
        filters["dangling"] = ["false"]
        _, answer = yield self.call_json(
            "POST", "/images/prune?filters=" + quote(json.dumps(filters)), status=200)
        self.assertEqual(answer, {"ImagesDeleted": [{"Untagged": repo + ":1"},
                                                    {"Deleted": tagged},
                                                    {"Deleted": _sha256(tagged_data)}],
                                  "SpaceReclaimed": 32})
        _, answer = yield self.call_json(
            "POST", "/images/prune?filters=" + quote(json.dumps(filters)), status=200)
        self.assertEqual(answer, {"ImagesDeleted": None, "SpaceReclaimed": 0})
        self.assertEqual((yield self.client.inspect_image(other))["Id"], other)
        message = yield self.refused("POST", "/images/prune?filters=" + quote(json.dumps(
            {"conf-bogus": ["1"]})), status=400)
        self.assertEqual(message, "Invalid filter 'conf-bogus'")
        message = yield self.refused("POST", "/images/prune?filters=" + quote(json.dumps(
            {"dangling": ["maybe"]})), status=400)
        self.assertEqual(message, "Invalid filter 'dangling=[maybe]'")
        found = yield self.seen(events, [("image", "delete", dangling), ("image", "prune", "")])
        self.assertEqual(found[1]["Actor"]["Attributes"], {"reclaimed": "32"})

    @inlineCallbacks
    def test_build(self):
        """
        The legacy builder streams its steps, makes one image per step, and caches them.
        """
        busybox = yield self.busybox_id()
        label = self.unique("build")
        tag = self.unique("built") + ":1"
        dockerfile = ('FROM busybox\nLABEL conf-build=%s\nRUN echo x > /f\nCMD ["echo", "hi"]\n'
                      % (label,))
        query = "t=%s&buildargs=%s" % (tag, quote(json.dumps({"conf-unused": "1"})))
        self.images_made.append(tag)
        messages = yield self.build(dockerfile, query)
        self.assertIsNone(stream_error(messages))
        text = stream_text(messages)
        match = re.match(
            r"^Step 1/4 : FROM busybox\n ---> %s\n"
            r"Step 2/4 : LABEL conf-build=%s\n ---> Running in ([0-9a-f]{12})\n"
            r"Removing intermediate container \1\n ---> ([0-9a-f]{12})\n"
            r"Step 3/4 : RUN echo x > /f\n ---> Running in ([0-9a-f]{12})\n"
            r"Removing intermediate container \3\n ---> ([0-9a-f]{12})\n"
            r'Step 4/4 : CMD \["echo", "hi"\]\n ---> Running in ([0-9a-f]{12})\n'
            r"Removing intermediate container \5\n ---> ([0-9a-f]{12})\n"
            r"\[Warning\] One or more build-args \[conf-unused\] were not consumed\n"
            r"Successfully built \6\nSuccessfully tagged %s\n$"
            % (busybox[7:19], re.escape(label), re.escape(tag)), text)
        self.assertIsNotNone(match, text)
        built = [m["aux"]["ID"] for m in messages if "aux" in m]
        self.assertEqual(len(built), 1)
        self.assertEqual(built[0][7:19], match.group(6))
        inspected = yield self.client.inspect_image(tag)
        self.assertEqual((inspected["Id"], inspected["Parent"][7:19], inspected["RepoTags"]),
                         (built[0], match.group(4), [tag]))
        config = inspected["Config"]
        self.assertEqual((config["Cmd"], config["Labels"], config["Image"][7:19]),
                         (["echo", "hi"], {"conf-build": label}, match.group(4)))
        self.assertIn("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                      config["Env"])
        self.assertEqual(inspected["ContainerConfig"]["Cmd"],
                         ["/bin/sh", "-c", "#(nop) ", 'CMD ["echo" "hi"]'])
        busybox_layers = (yield self.client.inspect_image("busybox"))["RootFS"]["Layers"]
        self.assertEqual(inspected["RootFS"]["Layers"][:-1], busybox_layers)
        self.assertEqual(len(inspected["RootFS"]["Layers"]), len(busybox_layers) + 1)
        _, history = yield self.call_json("GET", "/images/%s/history" % (tag,), status=200)
        self.assertEqual([(h["CreatedBy"], h["Size"]) for h in history[:3]], [
            ('/bin/sh -c #(nop)  CMD ["echo" "hi"]', 0), ("/bin/sh -c echo x > /f", 2),
            ("/bin/sh -c #(nop)  LABEL conf-build=" + label, 0)])
        self.assertEqual([h["Id"][7:19] for h in history[:4]],
                         [match.group(6), match.group(4), match.group(2), busybox[7:19]])
        self.assertEqual(history[0]["Tags"], [tag])
        self.images_made.extend(["sha256:" + match.group(i) for i in (4, 2)])
        again = yield self.build(dockerfile, "t=" + tag)
        text = stream_text(again)
        self.assertEqual(text.count(" ---> Using cache\n"), 3, text)
        self.assertIn("Successfully built %s\n" % (match.group(6),), text)
        quiet = yield self.build(dockerfile, "q=1")
        self.assertEqual(quiet, [{"stream": built[0] + "\n"}])

    @inlineCallbacks
    def test_build_refused(self):
        """
        No Dockerfile, a bad instruction or tag is refused; a failing RUN ends the stream.
        """
        code, _, body = yield self.call("POST", "/build", _tar({"other": b"x"}))
        self.assertEqual((code, json.loads(body)["message"]),
                         (500, "Cannot locate specified Dockerfile: Dockerfile"))
        code, _, body = yield self.call("POST", "/build?dockerfile=Conf",
                                        _tar({"Dockerfile": b"FROM busybox\n"}))
        self.assertEqual((code, json.loads(body)["message"]),
                         (500, "Cannot locate specified Dockerfile: Conf"))
        code, _, body = yield self.call("POST", "/build",
                                        _tar({"Dockerfile": b"FROM busybox\nBOGUS x\n"}))
        self.assertEqual((code, json.loads(body)["message"]),
                         (400, "dockerfile parse error line 2: unknown instruction: BOGUS"))
        code, _, body = yield self.call("POST", "/build?t=Conf-Upper",
                                        _tar({"Dockerfile": b"FROM busybox\n"}))
        self.assertEqual((code, json.loads(body)["message"]),
                         (500, "invalid reference format: repository name must be lowercase"))
        label = self.unique("build")
        messages = yield self.build("FROM busybox\nLABEL conf-build=%s\nRUN exit 3\n" % (label,),
                                    "forcerm=1")
        self.assertEqual(messages[-1], {
            "errorDetail": {"code": 3, "message": "The command '/bin/sh -c exit 3' returned a "
                                                  "non-zero code: 3"},
            "error": "The command '/bin/sh -c exit 3' returned a non-zero code: 3"})
        made = re.findall(r" ---> ([0-9a-f]{12})\n", stream_text(messages))
        self.images_made.extend("sha256:" + m for m in made[1:])

    @inlineCallbacks
    def test_push_refused(self):
        """
        A push needs X-Registry-Auth, a local tag and a registry that answers.
        """
        repo = "127.0.0.1:1/" + self.unique("push")
        auth = {"X-Registry-Auth": "e30="}
        message = yield self.refused("POST", "/images/%s/push?tag=1" % (repo,), status=400)
        self.assertEqual(message, "Bad parameters and missing X-Registry-Auth: EOF")
        code, _, body = yield self.call("POST", "/images/%s/push" % (repo,), headers=auth)
        self.assertEqual(code, 200)
        self.assertEqual(stream_messages(body), [
            {"status": "The push refers to repository [%s]" % (repo,)},
            {"errorDetail": {"message": "An image does not exist locally with the tag: "
                                        + repo},
             "error": "An image does not exist locally with the tag: " + repo}])
        self.images_made.append(repo + ":1")
        yield self.call("POST", "/images/busybox/tag?repo=%s&tag=1" % (repo,))
        code, _, body = yield self.call("POST", "/images/%s/push?tag=1" % (repo,),
                                        headers=auth)
        messages = stream_messages(body)
        self.assertEqual(messages[0], {"status": "The push refers to repository [%s]" % (repo,)})
        self.assertEqual(stream_error(messages), 'Get "http://127.0.0.1:1/v2/": dial tcp '
                                                 '127.0.0.1:1: connect: connection refused')

    @inlineCallbacks
    def test_search_and_login_unreachable(self):
        """
        Search and login against a registry nobody serves fail with dockerd's 500.
        """
        message = yield self.refused("GET", "/images/search?term=127.0.0.1:1/conf", status=500)
        self.assertTrue(message.startswith('invalid registry endpoint "http://127.0.0.1:1/v1/"'),
                        message)
        message = yield self.refused("POST", "/auth", {"username": "u", "password": "p",
                                                       "serveraddress": "127.0.0.1:1"},
                                     status=500)
        self.assertEqual(message, 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: '
                                  'connect: connection refused')
        message = yield self.refused("POST", "/auth", status=500)
        self.assertEqual(message, "EOF")

    @inlineCallbacks
    def test_push_pull_login(self):
        """
        An image pushed to a registry gets its digest and pulls back with the same ID.
        """
        host = yield self.registry_host()
        if host is None:
            raise SkipTest("no registry for this engine")
        _, answer = yield self.call_json("POST", "/auth", {
            "username": "u", "password": "p", "serveraddress": host}, status=200)
        self.assertEqual(answer, {"IdentityToken": "", "Status": "Login Succeeded"})
        busybox = yield self.busybox_id()
        repo = host + "/" + self.unique("push")
        self.images_made.append(repo + ":1")
        yield self.call("POST", "/images/busybox/tag?repo=%s&tag=1" % (repo,))
        auth = {"X-Registry-Auth": "e30="}
        code, _, body = yield self.call("POST", "/images/%s/push?tag=1" % (repo,), headers=auth)
        messages = stream_messages(body)
        self.assertEqual(code, 200)
        self.assertIsNone(stream_error(messages), messages)
        self.assertEqual(messages[0], {"status": "The push refers to repository [%s]" % (repo,)})
        aux = [m["aux"] for m in messages if "aux" in m]
        self.assertEqual(len(aux), 1)
        self.assertEqual(aux[0]["Tag"], "1")
        self.assertRegex(aux[0]["Digest"], r"^sha256:[0-9a-f]{64}$")
        self.assertIn({"status": "1: digest: %s size: %d" % (aux[0]["Digest"], aux[0]["Size"])},
                      messages)
        inspected = yield self.client.inspect_image(repo + ":1")
        self.assertIn(repo + "@" + aux[0]["Digest"], inspected["RepoDigests"])
        code, _, body = yield self.call("POST", "/images/%s/push?tag=1" % (repo,), headers=auth)
        self.assertIn("Layer already exists", [m.get("status") for m in stream_messages(body)])
        _, answer = yield self.call_json("DELETE", "/images/%s:1" % (repo,), status=200)
        self.assertEqual(answer, [{"Untagged": repo + ":1"},
                                  {"Untagged": repo + "@" + aux[0]["Digest"]}])
        yield self.client.pull_image(repo + ":1")
        self.assertEqual((yield self.client.inspect_image(repo + ":1"))["Id"], busybox)

    @inlineCallbacks
    def test_list_images(self):
        """
        The image list holds busybox:latest.
        """
        images = yield self.client.list_images()
        tags = [t for i in images for t in (i["RepoTags"] or [])]
        self.assertIn("busybox:latest", tags)
        for image in images:
            self.assertRegex(image["Id"], r"^sha256:[0-9a-f]{64}$")

    @inlineCallbacks
    def test_inspect_image(self):
        """
        busybox inspects with its ID and tag; a missing image is 404.
        """
        image = yield self.client.inspect_image("busybox")
        self.assertIn("busybox:latest", image["RepoTags"])
        self.assertRegex(image["Id"], r"^sha256:[0-9a-f]{64}$")
        error = yield self.assertEngineError(self.client.inspect_image("busybox:nope"), 404)
        self.assertEqual(error.message,
                         "no such image: busybox:nope: No such image: busybox:nope")

    @inlineCallbacks
    def test_pull_unreachable_registry(self):
        """
        Pulling from a registry nobody serves fails with an EngineError.
        """
        try:
            yield self.client.pull_image("127.0.0.1:1/nosuch:tag")
        except EngineError as e:
            self.assertIn("127.0.0.1:1", e.message)
        else:
            self.fail("the pull did not fail")
