"""
Tests for the image routes of L{swarmd.api.app.DockerAPI}: the pure pieces
(references, list filters and merging, answer merging, progress rewriting,
build arguments), the stream machinery (L{TeeBody}, L{FanIn}) driven by a
Clock, and every route in memory over fake engines (C{StubTreq} over the
manager, C{RequestTraversalAgent}s to the engines).
"""

import hashlib
import io
import json
from urllib.parse import quote

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone
from twisted.web.resource import Resource
from twisted.web.test.requesthelper import DummyRequest

from swarmd.api import images as images_module
from swarmd.api._images_merge import (
    build_env,
    check_image_filters,
    encode,
    failure_error,
    filter_image,
    forwarded_build_args,
    merge_deletes,
    merge_images,
    merge_prunes,
    message_error,
    node_message,
    parse_build_args,
    prefix_lines,
)
from swarmd.api._images_stream import FanIn, TeeBody
from swarmd.api.errors import DockerError
from swarmd.engine import EngineUnreachable
from swarmd.references import (
    familiar,
    image_matches,
    path_match,
    reference_matches,
    repository_matches,
    split_reference,
)
from swarmd.testing import memory
from swarmd.testing.fakeengine import FakeEngineAPI, FakeImage, FakeRegistry
from swarmd.testing.memory import MemoryManager


def _image(image_id, tags=(), digests=(), created=0, labels=None):
    return {"Id": image_id, "RepoTags": list(tags), "RepoDigests": list(digests),
            "Created": created, "Labels": labels}


# -- references ----------------------------------------------------------------------------


class ReferenceTests(SynchronousTestCase):
    """
    Image references matched against cached list entries.
    """

    busybox = _image("sha256:abcdef0123", ["busybox:latest", "busybox:1"],
                     ["busybox@sha256:" + "d" * 64])
    app = _image("sha256:9999", ["127.0.0.1:5000/app:1"])

    def test_familiar(self):
        """docker.io and library/ prefixes are dropped; other registries kept."""
        for given, wanted in (("docker.io/library/busybox:1", "busybox:1"),
                              ("library/busybox", "busybox"),
                              ("docker.io/user/app", "user/app"),
                              ("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1")):
            self.assertEqual(familiar(given), wanted, given)

    def test_split(self):
        """name, tag and digest split; a registry port is not a tag."""
        self.assertEqual(split_reference("127.0.0.1:5000/app"), ("127.0.0.1:5000/app", None,
                                                                 None))
        self.assertEqual(split_reference("app:1@sha256:x"), ("app", "1", "sha256:x"))

    def test_image_matches(self):
        """name means name:latest; tags, digests, IDs and ID prefixes match."""
        cases = [
            ("busybox", True), ("busybox:1", True), ("busybox:2", False),
            ("docker.io/library/busybox", True), ("busybox@sha256:" + "d" * 64, True),
            ("busybox@sha256:" + "e" * 64, False), ("abcdef", True), ("sha256:abcd", True),
            ("sha256:", False), ("bcdef", False), ("other", False), ("", False),
        ]
        for reference, wanted in cases:
            self.assertEqual(image_matches(self.busybox, reference), wanted, reference)
        self.assertTrue(image_matches(self.app, "127.0.0.1:5000/app:1"))
        self.assertFalse(image_matches(self.app, "127.0.0.1:5000/app"))

    def test_repository_matches(self):
        """A bare name matches any tag of its repository; a tagged one only that tag."""
        self.assertTrue(repository_matches(self.app, "127.0.0.1:5000/app"))
        self.assertFalse(repository_matches(self.app, "127.0.0.1:5000/app:2"))
        self.assertFalse(repository_matches(self.app, "app"))
        self.assertTrue(repository_matches(self.busybox, "busybox"))
        self.assertTrue(repository_matches(self.busybox, "abcdef"))

    def test_path_match(self):
        """Go's path.Match: * and ? stop at /, classes, negation, escapes."""
        cases = [
            ("b*", "busybox:latest", True), ("b*", "a/busybox", False),
            ("*/*", "a/b", True), ("bus?box", "busybox", True), ("b?", "b/", False),
            ("[ab]*", "busybox", True), ("[^b]*", "busybox", False), ("\\*", "*", True),
            ("[", "x", False), ("busybox", "busybox:latest", False),
        ]
        for pattern, text, wanted in cases:
            self.assertEqual(path_match(pattern, text), wanted, (pattern, text))

    def test_reference_filter(self):
        """The reference filter tries the whole reference, then its repository."""
        self.assertTrue(reference_matches("busybox", "busybox:latest"))
        self.assertTrue(reference_matches("busybox:1*", "busybox:1.36"))
        self.assertTrue(reference_matches("127.0.0.1:5000/*", "127.0.0.1:5000/app:1"))
        self.assertFalse(reference_matches("app", "127.0.0.1:5000/app:1"))


# -- listing ----------------------------------------------------------------------------


class ListTests(SynchronousTestCase):
    """
    Filtering and merging the engines' image lists.
    """

    def test_filter_table(self):
        """Each filter keeps or drops entries as dockerd does."""
        tagged = _image("sha256:1", ["a:1", "b:2"], created=100, labels={"k": "v"})
        dangling = _image("sha256:2", ["<none>:<none>"], ["<none>@<none>"], created=200)
        digested = _image("sha256:3", [], ["c@sha256:" + "1" * 64], created=300)
        cases = [
            ({}, [tagged, dangling, digested], [True, True, True]),
            ({"dangling": ["true"]}, [tagged, dangling, digested], [False, True, True]),
            ({"dangling": ["false"]}, [tagged, dangling, digested], [True, False, True]),
            ({"label": ["k"]}, [tagged, dangling], [True, False]),
            ({"label": ["k=w"]}, [tagged], [False]),
            ({"reference": ["a"]}, [tagged, dangling, digested], [True, False, False]),
            ({"reference": ["c"]}, [digested], [True]),
        ]
        for filters, images, wanted in cases:
            kept = [filter_image(i, filters) is not None for i in images]
            self.assertEqual(kept, wanted, filters)

    def test_reference_narrows_tags(self):
        """The reference filter lists only the matching tags of an image."""
        kept = filter_image(_image("sha256:1", ["a:1", "b:2"]), {"reference": ["b"]})
        self.assertEqual((kept["RepoTags"], kept["RepoDigests"]), (["b:2"], []))

    def test_before_since(self):
        """before and since compare creation times strictly."""
        image = _image("sha256:1", ["a:1"], created=100)
        self.assertIsNone(filter_image(image, {}, before=100))
        self.assertIsNotNone(filter_image(image, {}, before=101))
        self.assertIsNone(filter_image(image, {}, since=100))
        self.assertIsNotNone(filter_image(image, {}, since=99))

    def test_untagged_gets_placeholders(self):
        """An entry without tags or digests is listed with Docker's <none> placeholders."""
        kept = filter_image(_image("sha256:1"), {})
        self.assertEqual((kept["RepoTags"], kept["RepoDigests"]),
                         (["<none>:<none>"], ["<none>@<none>"]))

    def test_bad_dangling(self):
        """A dangling value other than true/false is a 400, as dockerd says it."""
        check_image_filters({"dangling": ["true"]})
        e = self.assertRaises(DockerError, check_image_filters, {"dangling": ["yes"]})
        self.assertEqual((e.status, e.message), (400, "Invalid filter 'dangling=yes'"))

    def test_merge_groups_by_id(self):
        """One entry per image ID, tags of every node merged once, newest first."""
        merged = merge_images([
            ("n1", _image("sha256:1", ["a:1"], ["a@sha256:x"], created=10)),
            ("n2", _image("sha256:1", ["a:1", "b:1"], ["a@sha256:x"], created=10)),
            ("n2", _image("sha256:2", ["<none>:<none>"], ["<none>@<none>"], created=20)),
            ("n1", _image("sha256:3", ["<none>:<none>"], ["<none>@<none>"], created=5)),
            ("n2", _image("sha256:3", ["c:1"], [], created=5)),
        ])
        self.assertEqual([(i["Id"], i["RepoTags"], i["RepoDigests"]) for i in merged], [
            ("sha256:2", ["<none>:<none>"], ["<none>@<none>"]),
            ("sha256:1", ["a:1", "b:1"], ["a@sha256:x"]),
            ("sha256:3", ["c:1"], ["<none>@<none>"]),
        ])


# -- fan-out answers ------------------------------------------------------------------------


class AnswerMergeTests(SynchronousTestCase):
    """
    Several engines' answers as one.
    """

    def test_deletes(self):
        """Delete answers are concatenated, each item once."""
        self.assertEqual(merge_deletes([
            [{"Untagged": "a:1"}, {"Deleted": "sha256:1"}],
            [{"Untagged": "a:1"}, {"Deleted": "sha256:2"}],
            None,
        ]), [{"Untagged": "a:1"}, {"Deleted": "sha256:1"}, {"Deleted": "sha256:2"}])

    def test_prunes(self):
        """Prunes: ImagesDeleted concatenated (null when empty), space summed."""
        self.assertEqual(merge_prunes([
            {"ImagesDeleted": [{"Deleted": "sha256:1"}], "SpaceReclaimed": 10},
            {"ImagesDeleted": None, "SpaceReclaimed": 5},
        ]), {"ImagesDeleted": [{"Deleted": "sha256:1"}], "SpaceReclaimed": 15})
        self.assertEqual(merge_prunes([{"ImagesDeleted": None, "SpaceReclaimed": 0}]),
                         {"ImagesDeleted": None, "SpaceReclaimed": 0})

    def test_failure_error(self):
        """Failures become one error naming each node; a shared status is kept."""
        e = failure_error([("n2", 404, "gone"), ("n1", 404, "missing")])
        self.assertEqual((e.status, e.message), (404, "n1: missing; n2: gone"))
        self.assertEqual(failure_error([("n1", 404, "x"), ("n2", 409, "y")]).status, 500)


class ProgressTests(SynchronousTestCase):
    """
    Progress messages rewritten for a merged stream.
    """

    def test_node_message_table(self):
        """The node becomes the id, the layer moves into the status, progress stays."""
        cases = [
            ({"status": "Pulling fs layer", "progressDetail": {}, "id": "abc"},
             {"status": "abc: Pulling fs layer", "progressDetail": {}, "id": "n1"}),
            ({"status": "Downloading", "progressDetail": {"current": 1, "total": 2},
              "progress": "[=>  ]", "id": "abc"},
             {"status": "abc: Downloading", "progressDetail": {"current": 1, "total": 2},
              "progress": "[=>  ]", "id": "n1"}),
            ({"status": "Status: Downloaded newer image for a:1"},
             {"status": "Status: Downloaded newer image for a:1", "id": "n1",
              "progressDetail": {}}),
            ({"stream": "Loaded image: a:1\n"}, {"stream": "n1: Loaded image: a:1\n"}),
            ({"aux": {"ID": "sha256:1"}}, {"aux": {"ID": "sha256:1"}}),
            ("odd", {"id": "n1", "status": "odd", "progressDetail": {}}),
        ]
        for given, wanted in cases:
            self.assertEqual(node_message(given, "n1"), wanted, given)

    def test_prefix_lines(self):
        """Every line of stream text is prefixed, a final newline kept."""
        self.assertEqual(prefix_lines("a\nb\n", "n1"), "n1: a\nn1: b\n")
        self.assertEqual(prefix_lines("a", "n1"), "n1: a")

    def test_message_error(self):
        """error or errorDetail.message is an error; anything else is not."""
        self.assertEqual(message_error({"error": "x", "errorDetail": {"message": "x"}}), "x")
        self.assertEqual(message_error({"errorDetail": {"message": "y"}}), "y")
        self.assertIsNone(message_error({"status": "ok"}))
        self.assertIsNone(message_error([1]))

    def test_encode(self):
        """Messages are compact JSON ended by CRLF, as dockerd writes them."""
        self.assertEqual(encode({"a": 1}), b'{"a":1}\r\n')


class BuildArgsTests(SynchronousTestCase):
    """
    Build arguments that steer placement.
    """

    def test_constraint_as_the_cli_sends_it(self):
        """--build-arg constraint:node==n2 arrives split at = and joins back as classic."""
        args = parse_build_args(json.dumps({"constraint:node": "=n2", "x": "1", "y": None}))
        self.assertEqual(build_env(args), ["constraint:node==n2", "x=1", "y"])

    def test_forwarded_keeps_only_kept_env(self):
        """Arguments whose Env entry the placement config kept are forwarded."""
        args = {"constraint:node": "=n2", "x": "1", "y": None}
        self.assertEqual(forwarded_build_args(args, ["x=1", "y"]), {"x": "1", "y": None})

    def test_bad_build_args(self):
        """Malformed buildargs are a 400."""
        for text in ("{", "[1]", '{"a": 1}'):
            self.assertEqual(self.assertRaises(DockerError, parse_build_args, text).status,
                             400, text)
        self.assertEqual(parse_build_args(""), {})
        self.assertEqual(parse_build_args("null"), {})


# -- TeeBody ----------------------------------------------------------------------------------


class _Consumer:
    """
    Takes what a branch writes; with C{pause_after}, pauses the branch once
    it holds that many chunks (as a full transport would).
    """

    def __init__(self, branch, pause_after=None):
        self.branch = branch
        self.pause_after = pause_after
        self.data = []

    def write(self, data):
        self.data.append(data)
        if self.pause_after is not None and len(self.data) >= self.pause_after:
            self.branch.pauseProducing()


class TeeBodyTests(SynchronousTestCase):
    """
    One reader of a body feeding several engine requests.
    """

    def setUp(self):
        self.clock = Clock()
        self.payload = bytes(range(256)) * 40
        self.source = io.BytesIO(self.payload)
        self.tee = TeeBody(self.source, len(self.payload), 3, self.clock, chunk=1000)
        self.consumers = [_Consumer(b) for b in self.tee.branches]

    def start(self, *indexes):
        return [self.tee.branches[i].startProducing(self.consumers[i]) for i in indexes]

    def test_every_branch_gets_every_byte(self):
        """Each branch receives the whole body once all started, then its Deferred fires."""
        done = self.start(0, 1, 2)
        self.assertEqual(self.tee.branches[0].length, len(self.payload))
        self.clock.advance(0)
        for consumer in self.consumers:
            self.assertEqual(b"".join(consumer.data), self.payload)
            self.assertEqual({len(chunk) for chunk in consumer.data[:-1]}, {1000})
        for d in done:
            self.assertIsNone(self.successResultOf(d))

    def test_waits_for_all_branches(self):
        """Nothing is read until every branch started or was abandoned."""
        self.start(0, 1)
        self.clock.advance(0)
        self.assertEqual(self.source.tell(), 0)
        self.tee.abandon(2)
        self.clock.advance(0)
        self.assertEqual(b"".join(self.consumers[1].data), self.payload)
        self.assertEqual(self.consumers[2].data, [])

    def test_pause_holds_every_branch(self):
        """A paused branch stops the reader: no branch gets more until it resumes."""
        self.consumers[1].pause_after = 2
        done = self.start(0, 1, 2)
        self.clock.advance(0)
        self.assertEqual([len(c.data) for c in self.consumers], [2, 2, 2])
        self.assertEqual(self.source.tell(), 2000)
        self.assertNoResult(done[0])
        self.consumers[1].pause_after = None
        self.tee.branches[1].resumeProducing()
        self.clock.advance(0)
        self.assertEqual(b"".join(self.consumers[1].data), self.payload)
        self.successResultOf(done[0])

    def test_stopped_branch_dropped(self):
        """A branch whose engine went away is dropped; the others still get everything."""
        self.consumers[0].pause_after = 1
        done = self.start(0, 1, 2)
        self.clock.advance(0)
        self.tee.branches[0].stopProducing()
        self.assertNoResult(done[0])
        self.clock.advance(0)
        self.assertEqual(b"".join(self.consumers[2].data), self.payload)
        self.assertEqual(len(self.consumers[0].data), 1)
        self.successResultOf(done[2])

    def test_cancelled_branch_dropped(self):
        """Cancelling a branch's Deferred (the request was cancelled) drops it."""
        self.consumers[0].pause_after = 1
        done = self.start(0, 1, 2)
        self.clock.advance(0)
        done[0].cancel()
        self.failureResultOf(done[0], CancelledError)
        self.clock.advance(0)
        self.assertEqual(b"".join(self.consumers[1].data), self.payload)

    def test_all_gone_stops_reading(self):
        """With every branch gone the reader stops."""
        self.consumers[0].pause_after = 1
        self.start(0)
        self.tee.abandon(1)
        self.tee.abandon(2)
        self.clock.advance(0)
        self.tee.branches[0].stopProducing()
        self.clock.advance(0)
        self.assertEqual(self.source.tell(), 1000)


# -- FanIn --------------------------------------------------------------------------------------


class _Transport:
    def __init__(self):
        self.paused = self.stopped = False

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False

    def stopProducing(self):
        self.stopped = True


class _Response:
    """
    An engine response whose body the test delivers.
    """

    phrase = b"OK"

    def __init__(self, code=200, body=b""):
        self.code = code
        self.body = body
        self.protocol = None
        self.transport = _Transport()
        self.headers = None
        self.length = len(body)

    def deliverBody(self, protocol):
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        if self.code >= 300:
            protocol.dataReceived(self.body)
            protocol.connectionLost(Failure(ResponseDone()))

    def send(self, *messages):
        self.protocol.dataReceived(b"".join(json.dumps(m).encode() + b"\n" for m in messages))

    def end(self):
        self.protocol.connectionLost(Failure(ResponseDone()))


class _Request(DummyRequest):
    def __init__(self):
        DummyRequest.__init__(self, [b""])
        self.channel = object()
        self.producer = None

    def registerProducer(self, producer, streaming):
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def lines(self):
        return [json.loads(line) for line in b"".join(self.written).split(b"\r\n") if line]


class FanInTests(SynchronousTestCase):
    """
    Several engines' progress streams merged into one answer.
    """

    def setUp(self):
        self.request = _Request()
        self.fan = FanIn(self.request, node_message)
        self.answers = {"n1": Deferred(), "n2": Deferred()}
        for node, answer in self.answers.items():
            self.fan.add(node, answer)
        self.fan.close()

    def test_streams_merged_with_node_ids(self):
        """Messages of both engines are written as they come, each with its node id."""
        one, two = _Response(), _Response()
        self.answers["n1"].callback(one)
        self.answers["n2"].callback(two)
        self.assertTrue(self.fan.started)
        self.assertEqual(self.request.responseCode, 200)
        one.send({"status": "Pulling", "id": "x"})
        two.send({"status": "Done"})
        self.assertEqual([(m["id"], m["status"]) for m in self.request.lines()],
                         [("n1", "x: Pulling"), ("n2", "Done")])
        one.end()
        self.assertNoResult(self.fan.done)
        two.end()
        self.successResultOf(self.fan.done)
        self.assertEqual((self.fan.succeeded, self.fan.failures), (["n1", "n2"], []))
        self.assertIsNone(self.request.producer)

    def test_error_answers_before_start(self):
        """Engines that answer with an error before any success do not start the answer."""
        for node in ("n1", "n2"):
            self.answers[node].callback(_Response(404, b'{"message": "not found here"}'))
        self.successResultOf(self.fan.done)
        self.assertFalse(self.fan.started)
        self.assertEqual(self.request.written, [])
        self.assertEqual(sorted(self.fan.failures), [("n1", 404, "not found here"),
                                                     ("n2", 404, "not found here")])

    def test_early_failure_shown_once_started(self):
        """A failure before the first success is written on its node's line at the start."""
        self.answers["n1"].errback(EngineUnreachable("a:1", "connection refused"))
        two = _Response()
        self.answers["n2"].callback(two)
        two.send({"errorDetail": {"message": "broken layer"}, "error": "broken layer"})
        two.end()
        self.successResultOf(self.fan.done)
        self.assertEqual([(m["id"], m["status"]) for m in self.request.lines()], [
            ("n1", "error: cannot reach engine a:1: connection refused"),
            ("n2", "error: broken layer")])
        self.assertEqual(self.fan.succeeded, [])
        self.assertEqual([f[0] for f in self.fan.failures], ["n1", "n2"])

    def test_back_pressure(self):
        """A paused client pauses every engine stream, including ones that open later."""
        one = _Response()
        self.answers["n1"].callback(one)
        self.request.producer.pauseProducing()
        self.assertTrue(one.transport.paused)
        two = _Response()
        self.answers["n2"].callback(two)
        self.assertTrue(two.transport.paused)
        self.request.producer.resumeProducing()
        self.assertFalse(one.transport.paused or two.transport.paused)

    def test_client_gone(self):
        """When the client goes away every engine stream and pending answer is dropped."""
        one = _Response()
        self.answers["n1"].callback(one)
        self.request.producer.stopProducing()
        self.assertTrue(one.transport.stopped)
        self.failureResultOf(self.fan.done)
        self.assertTrue(self.answers["n2"].called)

    def test_broken_stream(self):
        """A stream cut short or not JSON counts as that node's failure."""
        one, two = _Response(), _Response()
        self.answers["n1"].callback(one)
        self.answers["n2"].callback(two)
        one.protocol.dataReceived(b"<html>")
        one.end()
        two.protocol.connectionLost(Failure(ConnectionError("reset")))
        self.successResultOf(self.fan.done)
        self.assertEqual([f[0] for f in self.fan.failures], ["n1", "n2"])
        self.assertTrue(one.transport.stopped)


# -- routes, in memory ------------------------------------------------------------------------


def _digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ImageFront(Resource):
    """
    The image routes the fake engine lacks (tag, delete, prune, load,
    import, save, history, push, build, search, auth), in front of its
    resource, over the same L{FakeEngine} image model.

    @ivar calls: C{(method, path, query, body)} of every request it served.
    @ivar in_use: image IDs a delete without C{force} refuses (409).
    """

    isLeaf = True

    def __init__(self, engine):
        Resource.__init__(self)
        self.engine = engine
        self.inner = FakeEngineAPI(engine).resource()
        self.calls = []
        self.in_use = set()

    def render(self, request):
        path = request.path.decode()
        parts = path.split("/")
        if len(parts) > 1 and parts[1].startswith("v") and parts[1][1:2].isdigit():
            path = "/" + "/".join(parts[2:])
        method = request.method.decode()
        query = {k.decode(): [v.decode() for v in vs] for k, vs in request.args.items()}
        body = request.content.read() if request.content is not None else b""
        handled = self._route(request, method, path, query, body)
        if handled is None:
            request.content.seek(0)
            return self.inner.render(request)
        self.calls.append((method, path, query, body))
        return handled

    @staticmethod
    def _json(request, value, status=200):
        request.setResponseCode(status)
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(value).encode() + b"\n"

    def _lines(self, request, *messages):
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/json")
        return b"".join(json.dumps(m).encode() + b"\r\n" for m in messages)

    def _missing(self, request, name):
        return self._json(request, {"message": "No such image: %s" % (name,)}, 404)

    def _route(self, request, method, path, query, body):
        engine = self.engine
        one = lambda key: (query.get(key) or [None])[0]  # noqa: E731
        if method == "POST" and path.endswith("/tag") and path.startswith("/images/"):
            name = path[len("/images/"):-len("/tag")]
            image = engine.find_image(name)
            if image is None:
                return self._missing(request, name)
            engine.add_image(FakeImage(image.id, tags=["%s:%s" % (one("repo"),
                                                                  one("tag") or "latest")]))
            request.setResponseCode(201)
            return b""
        if method == "DELETE" and path.startswith("/images/"):
            name = path[len("/images/"):]
            image = engine.find_image(name)
            if image is None:
                return self._missing(request, name)
            if image.id in self.in_use and one("force") not in ("1", "true"):
                return self._json(request, {"message": "conflict: unable to remove "
                                            "repository reference \"%s\" (must force)" % name},
                                  409)
            tag = name if ":" in name.rpartition("/")[2] else name + ":latest"
            if tag in image.tags and len(image.tags) > 1:
                image.tags.remove(tag)
                return self._json(request, [{"Untagged": tag}])
            del engine.images[image.id]
            return self._json(request, [{"Untagged": t} for t in image.tags]
                              + [{"Deleted": image.id}])
        if method == "POST" and path == "/images/prune":
            gone = [i for i in engine.images.values() if not i.tags]
            for image in gone:
                del engine.images[image.id]
            return self._json(request, {
                "ImagesDeleted": [{"Deleted": i.id} for i in gone] or None,
                "SpaceReclaimed": sum(i.size for i in gone)})
        if method == "POST" and path == "/images/load":
            if body.startswith(b"BAD"):
                return self._lines(request, {"errorDetail": {"message": "unexpected EOF"},
                                             "error": "unexpected EOF"})
            name = body.split(b"\n", 1)[0].decode()
            engine.add_image(FakeImage(_digest(body), tags=[name]))
            return self._lines(request, {"stream": "Loaded image: %s\n" % (name,)})
        if method == "POST" and path == "/images/create" and one("fromSrc"):
            image_id = _digest(body or one("fromSrc").encode())
            tags = ["%s:%s" % (one("repo"), one("tag") or "latest")] if one("repo") else []
            engine.add_image(FakeImage(image_id, tags=tags))
            return self._lines(request, {"status": image_id})
        if method == "GET" and path == "/images/get":
            return b"TAR " + ",".join(query.get("names", [])).encode()
        if path.startswith("/images/") and path.rsplit("/", 1)[1] in ("history", "get",
                                                                      "push"):
            name, action = path[len("/images/"):].rsplit("/", 1)
            image = engine.find_image(name if action != "push" or not one("tag")
                                      else "%s:%s" % (name, one("tag")))
            if image is None:
                return self._missing(request, name)
            if action == "history":
                return self._json(request, [{"Id": image.id, "CreatedBy": engine.name}])
            if action == "get":
                return b"TAR " + image.id.encode()
            return self._lines(request, {"status": "The push refers to repository [%s]"
                                         % (name,)},
                               {"status": "%s: digest: sha256:1 size: 527" % (one("tag"),)})
        if method == "POST" and path == "/build":
            tag = one("t") or ""
            image_id = _digest(body + engine.name.encode())
            engine.add_image(FakeImage(image_id, tags=[tag] if tag else []))
            return self._lines(request, {"stream": "Step 1/1 : FROM busybox\n"},
                               {"stream": "Successfully built %s\n" % (image_id[7:19],)})
        if method == "GET" and path == "/images/search":
            return self._json(request, [{"name": one("term"), "description": engine.name}])
        if method == "POST" and path == "/auth":
            return self._json(request, {"Status": "Login Succeeded", "IdentityToken": ""})
        return None


class ImageRouteTestCase(SynchronousTestCase):
    """
    A manager over two fake engines fronted by L{ImageFront}, in memory.
    """

    def setUp(self):
        self.registry = FakeRegistry(["busybox:latest", "127.0.0.1:5000/app:1"])
        self.fronts = {}
        fronts = self.fronts

        def client(engines, address):
            from treq.testing import RequestTraversalAgent

            from swarmd.engine import EngineClient

            front = fronts[engines.engines[address].name] = ImageFront(
                engines.engines[address])
            agent = RequestTraversalAgent(front)
            engines._agents.append(agent)
            return EngineClient(address, engines.clock, agent=agent, timeout=30)

        self.patch(memory.MemoryEngines, "client", client)
        self.manager = MemoryManager(registry=self.registry)
        self.addCleanup(self.manager.stop)
        self.engines = {e.name: e for e in self.manager.engines.engines.values()}
        self.cluster = self.manager.cluster

    def request(self, method, path, body=None):
        """
        @return: C{(status, headers, content bytes)}.
        """
        return self.successResultOf(self.manager.request(method, path, body))

    def json(self, method, path, body=None, status=200):
        code, _, content = self.request(method, path, body)
        self.assertEqual(code, status, content)
        return json.loads(content) if content.strip() else None

    def lines(self, content):
        return [json.loads(line) for line in content.split(b"\n") if line.strip()]

    def add(self, node, image_id, *tags, created=1700000100, refresh=True):
        self.engines[node].add_image(FakeImage(image_id, tags=list(tags), created=created))
        if refresh:
            self.refresh()

    def refresh(self):
        for engine in self.cluster.engines.values():
            self.manager.settle(engine.refresh_list("images"))

    def make_unhealthy(self, node):
        engine = self.cluster.engine(node)
        for _ in range(engine.options.failure_retry):
            engine.failed(EngineUnreachable(engine.address, "connection refused"))
        self.assertFalse(engine.healthy)

    def holders(self, reference):
        return sorted(name for name, e in self.engines.items()
                      if e.find_image(reference) is not None)


class ImageListRouteTests(ImageRouteTestCase):
    """
    GET /images/json from the engines' cached lists.
    """

    def test_merged_by_id(self):
        """An image on both nodes is listed once; one only on n2 is listed too."""
        self.add("n1", "sha256:" + "a" * 64, "shared:1", refresh=False)
        self.add("n2", "sha256:" + "a" * 64, "shared:1", "shared:2", refresh=False)
        self.add("n2", "sha256:" + "b" * 64, "only2:1")
        listed = self.json("GET", "/v1.41/images/json")
        by_id = {i["Id"]: i for i in listed}
        self.assertEqual(by_id["sha256:" + "a" * 64]["RepoTags"], ["shared:1", "shared:2"])
        self.assertEqual(by_id["sha256:" + "b" * 64]["RepoTags"], ["only2:1"])
        self.assertEqual(sum(1 for i in listed if "busybox:latest" in i["RepoTags"]), 1)

    def test_node_filter(self):
        """filters node=<name> or <id> lists that node's images only."""
        self.add("n2", "sha256:" + "b" * 64, "only2:1")
        n1 = self.cluster.engine("n1")
        for value in ("n1", n1.id):
            listed = self.json("GET", "/images/json?filters=" + quote(json.dumps(
                {"node": [value]})))
            self.assertEqual([i["RepoTags"] for i in listed], [["busybox:latest"]], value)

    def test_reference_and_before(self):
        """reference and before/since filters apply across the cluster."""
        self.add("n1", "sha256:" + "c" * 64, "old:1", created=1000)
        self.add("n2", "sha256:" + "d" * 64, "new:1", created=3000000000)
        listed = self.json("GET", "/images/json?filters=" + quote(json.dumps(
            {"reference": ["new"]})))
        self.assertEqual([i["RepoTags"] for i in listed], [["new:1"]])
        listed = self.json("GET", "/images/json?filters=" + quote(json.dumps(
            {"since": ["busybox"]})))
        self.assertEqual([i["RepoTags"] for i in listed], [["new:1"]])
        listed = self.json("GET", "/images/json?filters=" + quote(json.dumps(
            {"before": ["busybox"]})))
        self.assertEqual([i["RepoTags"] for i in listed], [["old:1"]])

    def test_bad_filters(self):
        """Unknown filters, bad dangling values and unknown before images are errors."""
        for filters, status in (({"nope": ["x"]}, 400), ({"dangling": ["maybe"]}, 400),
                                ({"before": ["ghost"]}, 404)):
            code, _, content = self.request("GET", "/images/json?filters=" + quote(
                json.dumps(filters)))
            self.assertEqual(code, status, content)
            self.assertIn("message", json.loads(content))

    def test_all_asks_the_engines(self):
        """all=1 lists what the engines say live, not the cache."""
        self.engines["n1"].add_image(FakeImage("sha256:" + "e" * 64, tags=["fresh:1"]))
        listed = self.json("GET", "/images/json")
        self.assertNotIn(["fresh:1"], [i["RepoTags"] for i in listed])
        listed = self.json("GET", "/images/json?all=1")
        self.assertIn(["fresh:1"], [i["RepoTags"] for i in listed])


class PullRouteTests(ImageRouteTestCase):
    """
    POST /images/create?fromImage= on every healthy engine.
    """

    def test_pull_everywhere(self):
        """The pull runs on both nodes, messages carry node ids, both lists are fresh."""
        code, headers, content = self.request(
            "POST", "/v1.41/images/create?fromImage=127.0.0.1:5000/app&tag=1")
        self.assertEqual(code, 200, content)
        messages = self.lines(content)
        self.assertEqual({m["id"] for m in messages}, {"n1", "n2"})
        self.assertTrue(all("progressDetail" in m for m in messages))
        finals = [m["status"] for m in messages if m["status"].startswith("Status:")]
        self.assertEqual(len(finals), 2)
        self.assertEqual(self.holders("127.0.0.1:5000/app:1"), ["n1", "n2"])
        for engine in self.cluster.engines.values():
            self.assertTrue(any("127.0.0.1:5000/app:1" in (i.get("RepoTags") or [])
                                for i in engine.images), engine.name)

    def test_missing_everywhere(self):
        """A pull every engine refuses answers with the error status and each node's message."""
        code, _, content = self.request("POST", "/images/create?fromImage=nothere&tag=1")
        self.assertEqual(code, 404, content)
        message = json.loads(content)["message"]
        self.assertTrue(message.startswith("n1: pull access denied for nothere"), message)
        self.assertIn("; n2: pull access denied for nothere", message)

    def test_one_node_fails(self):
        """A node that fails says so on its line; the stream ends with an error naming it."""
        self.engines["n2"].registry = FakeRegistry([])
        code, _, content = self.request("POST", "/images/create?fromImage=127.0.0.1:5000/app"
                                                "&tag=1")
        self.assertEqual(code, 200)
        messages = self.lines(content)
        failed = [m for m in messages if m.get("id") == "n2"]
        self.assertEqual(len(failed), 1)
        self.assertTrue(failed[0]["status"].startswith("error: Get "), failed)
        self.assertTrue(messages[-1]["error"].startswith("n2: Get "), messages[-1])
        self.assertTrue(any(m.get("status", "").startswith("Status: Downloaded")
                            for m in messages if m.get("id") == "n1"))
        self.assertEqual(self.holders("127.0.0.1:5000/app:1"), ["n1"])

    def test_unhealthy_node_skipped(self):
        """Only healthy engines pull; none healthy is a 500 saying so."""
        self.make_unhealthy("n2")
        code, _, content = self.request("POST", "/images/create?fromImage=127.0.0.1:5000/app"
                                                "&tag=1")
        self.assertEqual({m["id"] for m in self.lines(content)}, {"n1"})
        self.make_unhealthy("n1")
        code, _, content = self.request("POST", "/images/create?fromImage=busybox")
        self.assertEqual((code, json.loads(content)["message"]),
                         (500, images_module.NO_HEALTHY_NODE))


class UploadRouteTests(ImageRouteTestCase):
    """
    Load and import: one body sent to every healthy engine.
    """

    def test_load_everywhere(self):
        """A loaded tarball reaches both engines whole; output names the nodes."""
        body = b"loaded:1\n" + bytes(range(256)) * 2000
        code, _, content = self.request("POST", "/v1.41/images/load?quiet=0", body)
        self.assertEqual(code, 200, content)
        self.assertEqual(sorted(m["stream"] for m in self.lines(content)),
                         ["n1: Loaded image: loaded:1\n", "n2: Loaded image: loaded:1\n"])
        for front in self.fronts.values():
            self.assertEqual(front.calls[-1][3], body)
        self.assertEqual(self.holders("loaded:1"), ["n1", "n2"])
        listed = self.json("GET", "/images/json")
        self.assertEqual(sum(1 for i in listed if i["RepoTags"] == ["loaded:1"]), 1)

    def test_load_fails_in_stream(self):
        """Engines refusing a tarball in their stream make the merged stream end in error."""
        code, _, content = self.request("POST", "/images/load", b"BAD tar")
        self.assertEqual(code, 200)
        self.assertEqual(self.lines(content)[-1]["error"],
                         "n1: unexpected EOF; n2: unexpected EOF")

    def test_import_everywhere(self):
        """docker import - sends the tarball to both engines, each naming its node."""
        code, _, content = self.request("POST", "/images/create?fromSrc=-&repo=imp&tag=2",
                                        b"rootfs" * 1000)
        self.assertEqual(code, 200, content)
        self.assertEqual({m["id"] for m in self.lines(content)}, {"n1", "n2"})
        self.assertEqual(self.holders("imp:2"), ["n1", "n2"])

    def test_import_needs_a_source(self):
        """Neither fromImage nor fromSrc is a 400."""
        self.assertEqual(self.request("POST", "/images/create")[0], 400)


class HolderRouteTests(ImageRouteTestCase):
    """
    Routes sent to the first engine holding the image.
    """

    def test_inspect_and_history(self):
        """inspect and history go to the engine holding the image; 404 when none does."""
        self.add("n2", "sha256:" + "b" * 64, "only2:1")
        self.assertEqual(self.json("GET", "/v1.41/images/only2:1/json")["Id"],
                         "sha256:" + "b" * 64)
        self.assertEqual(self.json("GET", "/images/only2:1/history")[0]["CreatedBy"], "n2")
        code, _, content = self.request("GET", "/images/only2:1/get")
        self.assertEqual((code, content), (200, b"TAR sha256:" + b"b" * 64))
        code, _, content = self.request("GET", "/images/ghost/json")
        self.assertEqual((code, json.loads(content)["message"]), (404, "No such image: ghost"))

    def test_stale_cache_refreshed(self):
        """An image the cache does not know yet is found after a refresh."""
        self.add("n2", "sha256:" + "b" * 64, "late:1", refresh=False)
        self.assertEqual(self.json("GET", "/images/late:1/json")["Id"], "sha256:" + "b" * 64)

    def test_save_needs_one_node_holding_all(self):
        """docker save a b goes to a node holding both; else classic's 404 and who lacks what."""
        self.add("n2", "sha256:" + "b" * 64, "only2:1")
        code, _, content = self.request("GET", "/images/get?names=busybox&names=only2:1")
        self.assertEqual((code, content), (200, b"TAR busybox,only2:1"))
        self.assertEqual(self.fronts["n2"].calls[-1][1], "/images/get")
        self.add("n1", "sha256:" + "c" * 64, "only1:1")
        code, _, content = self.request("GET", "/images/get?names=only1&names=only2")
        self.assertEqual(code, 404)
        self.assertEqual(json.loads(content)["message"].split("\n"), [
            "Unable to find a healthy engine containing all images: [only1 only2]",
            "n1 lacks only2", "n2 lacks only1"])
        code, _, content = self.request("GET", "/images/get?names=ghost")
        self.assertEqual(json.loads(content)["message"], "No such image: ghost")

    def test_push(self):
        """push goes to the engine holding name:tag, the tag query passed on."""
        self.add("n2", "sha256:" + "b" * 64, "127.0.0.1:5000/mine:3")
        code, _, content = self.request("POST", "/images/127.0.0.1:5000/mine/push?tag=3")
        self.assertEqual(code, 200, content)
        self.assertIn("3: digest:", content.decode())
        method, path, query, _ = self.fronts["n2"].calls[-1]
        self.assertEqual((path, query), ("/images/127.0.0.1:5000/mine/push", {"tag": ["3"]}))
        self.assertEqual(self.request("POST", "/images/127.0.0.1:5000/mine/push?tag=4")[0], 404)


class ChangeRouteTests(ImageRouteTestCase):
    """
    Tag, remove and prune on every engine concerned.
    """

    def test_tag_where_held(self):
        """tag runs on every node holding the image only, and the cache follows."""
        self.add("n2", "sha256:" + "b" * 64, "only2:1")
        self.assertEqual(self.request("POST", "/images/busybox/tag?repo=bb&tag=x")[0], 201)
        self.assertEqual(self.holders("bb:x"), ["n1", "n2"])
        self.assertEqual(self.request("POST", "/images/only2:1/tag?repo=o&tag=y")[0], 201)
        self.assertEqual(self.holders("o:y"), ["n2"])
        listed = self.json("GET", "/images/json")
        self.assertIn("o:y", [t for i in listed for t in i["RepoTags"]])
        self.assertEqual(self.request("POST", "/images/ghost/tag?repo=g")[0], 404)

    def test_delete_everywhere(self):
        """rmi removes from every node holding it, answers merged; 404 when none."""
        self.add("n1", "sha256:" + "a" * 64, "gone:1", refresh=False)
        self.add("n2", "sha256:" + "a" * 64, "gone:1")
        answer = self.json("DELETE", "/v1.41/images/gone:1")
        self.assertEqual(answer, [{"Untagged": "gone:1"}, {"Deleted": "sha256:" + "a" * 64}])
        self.assertEqual(self.holders("gone:1"), [])
        code, _, content = self.request("DELETE", "/images/gone:1")
        self.assertEqual((code, json.loads(content)["message"]),
                         (404, "No such image: gone:1"))

    def test_delete_conflict_and_force(self):
        """A node refusing the delete makes it fail naming the node; force is passed on."""
        self.add("n1", "sha256:" + "a" * 64, "used:1", refresh=False)
        self.add("n2", "sha256:" + "a" * 64, "used:1")
        self.fronts["n2"].in_use.add("sha256:" + "a" * 64)
        code, _, content = self.request("DELETE", "/images/used:1")
        self.assertEqual(code, 409)
        self.assertTrue(json.loads(content)["message"].startswith("n2: conflict"))
        self.assertEqual(self.holders("used:1"), ["n2"])
        self.json("DELETE", "/images/used:1?force=1")
        self.assertEqual(self.holders("used:1"), [])

    def test_prune_summed(self):
        """prune runs everywhere: deleted images concatenated, space summed."""
        self.add("n1", "sha256:" + "1" * 64, refresh=False)
        self.add("n2", "sha256:" + "2" * 64)
        answer = self.json("POST", "/v1.41/images/prune")
        self.assertEqual(sorted(d["Deleted"] for d in answer["ImagesDeleted"]),
                         ["sha256:" + "1" * 64, "sha256:" + "2" * 64])
        self.assertEqual(answer["SpaceReclaimed"], 2 * FakeImage("x").size)
        self.assertEqual(self.json("POST", "/images/prune"),
                         {"ImagesDeleted": None, "SpaceReclaimed": 0})


class BuildRouteTests(ImageRouteTestCase):
    """
    POST /build on the node the scheduler picks.
    """

    def build(self, **args):
        query = "t=built:1&buildargs=" + quote(json.dumps(args))
        code, _, content = self.request("POST", "/v1.41/build?" + query, b"context" * 100)
        return code, content

    def test_constraint_places_build(self):
        """constraint:node==n2 in buildargs builds on n2; the entry is not forwarded."""
        code, content = self.build(**{"constraint:node": "=n2", "keep": "1"})
        self.assertEqual(code, 200, content)
        self.assertIn("Successfully built", content.decode())
        self.assertEqual(self.holders("built:1"), ["n2"])
        _, _, query, body = self.fronts["n2"].calls[-1]
        self.assertEqual(json.loads(query["buildargs"][0]), {"keep": "1"})
        self.assertEqual(query["t"], ["built:1"])
        self.assertEqual(body, b"context" * 100)
        listed = self.json("GET", "/images/json?filters=" + quote(json.dumps(
            {"reference": ["built"]})))
        self.assertEqual(len(listed), 1)

    def test_unsatisfiable(self):
        """A constraint no node meets is classic's 500; a bad one is a 400."""
        code, content = self.build(**{"constraint:node": "=n9"})
        self.assertEqual(code, 500)
        self.assertIn("Unable to find a node", json.loads(content)["message"])
        code, content = self.build(**{"constraint:node": "~~~"})
        self.assertEqual(code, 400, content)

    def test_buildkit_routes(self):
        """/session and /build/cancel say BuildKit is not supported."""
        for path in ("/session", "/v1.41/build/cancel?id=x"):
            code, _, content = self.request("POST", path)
            self.assertEqual((code, json.loads(content)["message"]),
                             (501, images_module.NO_BUILDKIT), path)


class RandomRouteTests(ImageRouteTestCase):
    """
    search and auth on one healthy engine.
    """

    def test_search_and_auth(self):
        """search and auth are answered by one healthy engine, chosen at random."""
        self.patch(images_module.ImageRoutes, "image_random", _First())
        answer = self.json("GET", "/v1.41/images/search?term=app")
        self.assertEqual(answer, [{"name": "app", "description": "n1"}])
        self.assertEqual(self.json("POST", "/auth", {"username": "u"})["Status"],
                         "Login Succeeded")

    def test_viz(self):
        """/images/viz stays 501."""
        self.assertEqual(self.request("GET", "/images/viz")[0], 501)


class _First:
    def choice(self, items):
        return items[0]
