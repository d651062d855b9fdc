"""
One test per manager route of the container, exec, file, stats, prune,
disk usage and events areas, through the manager's resource over fake
engines, each checking the answer and which engine was asked.

Most go in memory (L{swarmd.testing.memory.MemoryManager}: C{StubTreq}, a
Clock).  Hijacked routes (attach, attach/ws, exec start without C{Detach})
take the client's connection over and open one to the engine, which
C{StubTreq} cannot carry: those run over loopback sockets on the reactor
(L{swarmd.testing.memory.LoopbackManager}).
"""

import base64
import hashlib
import io
import json
import tarfile
import uuid

import treq
from twisted.internet.defer import inlineCallbacks
from twisted.internet.task import deferLater
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.testing.conformance.engine import demux, frame, http_request, parse_head
from swarmd.testing.memory import LoopbackManager, MemoryManager

N1, N2 = "127.0.0.1:2376", "127.0.0.1:2377"


def _tar(files):
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _tar_files(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()
                if m.isreg()}


class MemoryRouteTests(SynchronousTestCase):
    """
    Proxied, fanned-out and cached routes, in memory over two fake engines.
    """

    def setUp(self):
        self.manager = MemoryManager((N1, N2))
        self.addCleanup(self.manager.stop)
        self.clock = self.manager.clock
        self.n1 = self.manager.engines.engines[N1]
        self.n2 = self.manager.engines.engines[N2]

    def request(self, method, path, body=None):
        """
        One request to the manager, a JSON body sent as a client sends it
        (with its C{Content-Type}).

        @return: C{(status, headers, content)}.
        """
        headers = None
        if body is not None and not isinstance(body, bytes):
            headers = {"Content-Type": "application/json"}
        return self.successResultOf(self.manager.request(method, path, body, headers))

    def json(self, method, path, body=None, status=200):
        code, _, content = self.request(method, path, body)
        self.assertEqual(code, status, content)
        return json.loads(content) if content.strip() else None

    def run_container(self, name, cmd, node="n2", start=True, **config):
        """
        Create (and start) a busybox container through the manager, pinned
        to a node.

        @return: its ID.
        """
        body = {"Image": "busybox", "Cmd": cmd, "Env": ["constraint:node==" + node]}
        body.update(config)
        created = self.json("POST", "/containers/create?name=" + name, body, 201)
        if start:
            code, _, content = self.request("POST", "/containers/%s/start" % (name,))
            self.assertEqual(code, 204, content)
        return created["Id"]

    def record(self):
        """
        Start recording both engines' calls (from now on).
        """
        self.n1.record_calls()[:] = []
        self.n2.record_calls()[:] = []

    @staticmethod
    def calls(engine, method, prefix):
        """
        @return: the C{(path, query)} of the engine's recorded calls of
            C{method} whose path starts with C{prefix}.
        """
        return [(path, query) for verb, path, query, _ in engine.calls or ()
                if verb == method and path.startswith(prefix)]

    # -- files ------------------------------------------------------------------------

    def test_archive_head(self):
        """HEAD archive is answered by the container's engine, its path stat header passed on."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"])
        self.record()
        code, headers, content = self.request("HEAD", "/containers/filer/archive?path=/tmp/f")
        self.assertEqual((code, content), (200, b""))
        found = json.loads(base64.b64decode(
            headers.getRawHeaders(b"X-Docker-Container-Path-Stat")[0]))
        self.assertEqual((found["name"], found["size"], found["mode"]), ("f", 5, 0o644))
        self.assertEqual(self.calls(self.n2, "HEAD", "/containers/"),
                         [("/containers/%s/archive" % (cid,), {"path": ["/tmp/f"]})])
        self.assertEqual(self.calls(self.n1, "HEAD", "/containers/"), [])

    def test_archive_get(self):
        """GET archive streams the engine's tar of the path, by node/name too."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"])
        self.record()
        code, headers, content = self.request("GET", "/v1.41/containers/n2/filer/archive"
                                                     "?path=/tmp")
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/x-tar"])
        self.assertTrue(headers.getRawHeaders(b"X-Docker-Container-Path-Stat"))
        self.assertEqual(_tar_files(content), {"tmp/f": b"data\n"})
        self.assertEqual([p for p, _ in self.calls(self.n2, "GET", "/containers/")],
                         ["/containers/%s/archive" % (cid,)])
        self.assertEqual(self.calls(self.n1, "GET", "/containers/%s" % (cid,)), [])

    def test_archive_put(self):
        """PUT archive hands the tar to the container's engine, which unpacks it there."""
        cid = self.run_container("filer", ["sleep", "300"])
        self.record()
        data = _tar({"put.txt": b"put\n"})
        code, _, content = self.request("PUT", "/containers/filer/archive?path=/tmp", data)
        self.assertEqual((code, content), (200, b""))
        self.assertEqual(self.n2.containers[cid].files, {"/tmp/put.txt": b"put\n"})
        calls = [c for c in self.n2.calls if c[0] == "PUT"]
        self.assertEqual([(c[1], c[3]) for c in calls],
                         [("/containers/%s/archive" % (cid,), data)])
        self.assertEqual([c for c in self.n1.calls if c[0] == "PUT"], [])

    def test_export(self):
        """export streams the container's whole file system from its engine."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"], node="n1")
        self.record()
        code, headers, content = self.request("GET", "/containers/filer/export")
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/octet-stream"])
        files = _tar_files(content)
        self.assertEqual(files["tmp/f"], b"data\n")
        self.assertIn("bin/busybox", files)
        self.assertEqual(self.calls(self.n1, "GET", "/containers/%s/export" % (cid,)),
                         [("/containers/%s/export" % (cid,), {})])
        self.assertEqual(self.calls(self.n2, "GET", "/containers/"), [])

    def test_changes(self):
        """changes is the container's engine's list."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"])
        self.record()
        answer = self.json("GET", "/containers/filer/changes")
        self.assertEqual(answer, [{"Kind": 0, "Path": "/tmp"}, {"Kind": 1, "Path": "/tmp/f"}])
        self.assertEqual([p for p, _ in self.calls(self.n2, "GET", "/containers/")],
                         ["/containers/%s/changes" % (cid,)])
        self.assertEqual(self.calls(self.n1, "GET", "/containers/"), [])

    def test_copy(self):
        """/copy goes to the engine: a bare 404 from API 1.24, a tar before."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"])
        self.record()
        code, headers, content = self.request("POST", "/v1.41/containers/filer/copy",
                                              {"Resource": "/tmp/f"})
        self.assertEqual((code, content), (404, b""))
        code, headers, content = self.request("POST", "/v1.23/containers/filer/copy",
                                              {"Resource": "/tmp/f"})
        self.assertEqual(code, 200, content)
        self.assertEqual(_tar_files(content), {"f": b"data\n"})
        self.assertEqual([p for p, _ in self.calls(self.n2, "POST", "/containers/")],
                         ["/containers/%s/copy" % (cid,)] * 2)
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"), [])

    def test_commit(self):
        """commit runs on the container's engine, for its ID; the image shows in the list."""
        cid = self.run_container("filer", ["sh", "-c", "echo data > /tmp/f"])
        self.record()
        answer = self.json("POST", "/commit?container=filer&repo=snap&tag=1&comment=c",
                           status=201)
        self.assertTrue(answer["Id"].startswith("sha256:"))
        self.assertIsNotNone(self.n2.find_image("snap:1"))
        self.assertIsNone(self.n1.find_image("snap:1"))
        [(path, query)] = self.calls(self.n2, "POST", "/commit")
        self.assertEqual(query["container"], [cid])
        self.assertEqual((query["repo"], query["tag"], query["comment"]),
                         (["snap"], ["1"], ["c"]))
        self.assertEqual(self.calls(self.n1, "POST", "/commit"), [])
        listed = self.json("GET", "/images/json")
        self.assertIn("snap:1", [t for image in listed for t in image.get("RepoTags") or []])

    # -- exec -------------------------------------------------------------------------

    def test_exec_create(self):
        """An exec is created on the container's engine, which the manager remembers for it."""
        cid = self.run_container("runner", ["sleep", "300"])
        self.record()
        answer = self.json("POST", "/containers/runner/exec",
                           {"Cmd": ["echo", "hi"], "AttachStdout": True}, 201)
        exec_id = answer["Id"]
        self.assertEqual(self.n2.execs[exec_id].argv, ["echo", "hi"])
        self.assertEqual([p for p, _ in self.calls(self.n2, "POST", "/containers/")],
                         ["/containers/%s/exec" % (cid,)])
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"), [])
        self.assertEqual(self.manager.cluster.exec_engine(exec_id).name, "n2")

    def test_exec_start_detached(self):
        """A detached exec start is proxied to the exec's engine; the command runs there."""
        self.run_container("runner", ["sleep", "300"])
        exec_id = self.json("POST", "/containers/runner/exec", {"Cmd": ["sh", "-c", "exit 4"]},
                            201)["Id"]
        self.record()
        code, _, content = self.request("POST", "/exec/%s/start" % (exec_id,), {"Detach": True})
        self.assertEqual((code, content), (200, b""))
        self.clock.advance(0.1)
        self.assertEqual(self.n2.execs[exec_id].exit_code, 4)
        self.assertEqual([p for p, _ in self.calls(self.n2, "POST", "/exec/")],
                         ["/exec/%s/start" % (exec_id,)])
        self.assertEqual(self.calls(self.n1, "POST", "/exec/"), [])

    def test_exec_json(self):
        """exec inspect is the exec's engine's answer."""
        cid = self.run_container("runner", ["sleep", "300"], node="n1")
        exec_id = self.json("POST", "/containers/runner/exec", {"Cmd": ["true"]}, 201)["Id"]
        self.record()
        answer = self.json("GET", "/exec/%s/json" % (exec_id,))
        self.assertEqual((answer["ID"], answer["ContainerID"], answer["ExitCode"]),
                         (exec_id, cid, None))
        self.assertEqual(self.calls(self.n1, "GET", "/exec/"),
                         [("/exec/%s/json" % (exec_id,), {})])
        self.assertEqual(self.calls(self.n2, "GET", "/exec/"), [])

    def test_exec_resize(self):
        """exec resize goes to the exec's engine with its size."""
        self.run_container("runner", ["sleep", "300"])
        exec_id = self.json("POST", "/containers/runner/exec",
                            {"Cmd": ["sleep", "300"], "Tty": True}, 201)["Id"]
        self.json("POST", "/exec/%s/start" % (exec_id,), {"Detach": True})
        self.record()
        code, _, content = self.request("POST", "/exec/%s/resize?h=40&w=120" % (exec_id,))
        self.assertEqual((code, content), (200, b""))
        self.assertEqual(self.calls(self.n2, "POST", "/exec/"),
                         [("/exec/%s/resize" % (exec_id,), {"h": ["40"], "w": ["120"]})])
        self.assertEqual(self.calls(self.n1, "POST", "/exec/"), [])

    def test_exec_unknown(self):
        """An exec the manager never saw is its own 404; no engine is asked."""
        self.record()
        for method, path in (("POST", "/exec/nosuch/start"), ("GET", "/exec/nosuch/json"),
                             ("POST", "/exec/nosuch/resize?h=1&w=1")):
            code, _, content = self.request(method, path, {"Detach": True}
                                            if path.endswith("start") else None)
            self.assertEqual((code, json.loads(content)),
                             (404, {"message": "No such exec instance: nosuch"}), path)
        self.assertEqual(self.calls(self.n1, "POST", "/exec/") + self.calls(self.n2, "GET",
                                                                            "/exec/"), [])

    def test_exec_engine_refusal(self):
        """An engine's refusal of an exec create keeps its status and message."""
        cid = self.run_container("idle", ["sleep", "300"], start=False)
        self.record()
        code, _, content = self.request("POST", "/containers/idle/exec", {"Cmd": ["true"]})
        self.assertEqual((code, json.loads(content)["message"]),
                         (409, "Container %s is not running" % (cid,)))
        self.assertEqual([p for p, _ in self.calls(self.n2, "POST", "/containers/")],
                         ["/containers/%s/exec" % (cid,)])

    # -- container routes -------------------------------------------------------------

    def test_resize(self):
        """resize goes to the container's engine with its size."""
        cid = self.run_container("sized", ["sleep", "300"], node="n1")
        self.record()
        code, _, content = self.request("POST", "/containers/sized/resize?h=24&w=80")
        self.assertEqual((code, content), (200, b""))
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"),
                         [("/containers/%s/resize" % (cid,), {"h": ["24"], "w": ["80"]})])
        self.assertEqual(self.calls(self.n2, "POST", "/containers/"), [])
        resized = [e for e in self.n1.events if e.action == "resize"]
        self.assertEqual((resized[-1].attributes["height"], resized[-1].attributes["width"]),
                         ("24", "80"))

    def test_rename(self):
        """rename goes to the container's engine; a name taken on another node is refused first."""
        cid = self.run_container("before", ["sleep", "300"])
        self.run_container("taken", ["sleep", "300"], node="n1")
        self.record()
        code, _, content = self.request("POST", "/containers/before/rename?name=taken")
        self.assertEqual(code, 409, content)
        self.assertEqual(self.calls(self.n2, "POST", "/containers/"), [])
        code, _, content = self.request("POST", "/containers/before/rename?name=after")
        self.assertEqual(code, 204, content)
        self.assertEqual(self.calls(self.n2, "POST", "/containers/"),
                         [("/containers/%s/rename" % (cid,), {"name": ["after"]})])
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"), [])
        self.assertEqual(self.n2.containers[cid].name, "after")
        self.assertEqual(self.json("GET", "/containers/after/json")["Name"], "/after")

    def test_update(self):
        """update goes to the container's engine; the manager's inspect shows it at once."""
        cid = self.run_container("tuned", ["sleep", "300"])
        self.record()
        answer = self.json("POST", "/containers/tuned/update", {"CpuShares": 512})
        self.assertEqual(answer, {"Warnings": None})
        self.assertEqual(self.n2.containers[cid].host_config["CpuShares"], 512)
        self.assertEqual([p for p, _ in self.calls(self.n2, "POST", "/containers/")],
                         ["/containers/%s/update" % (cid,)])
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"), [])
        self.assertEqual(self.json("GET", "/containers/tuned/json")["HostConfig"]["CpuShares"],
                         512)

    def test_stats_once(self):
        """stats with stream=0 is the container's engine's sampled frame, named as ps names it."""
        cid = self.run_container("busy", ["sleep", "300"])
        self.record()
        answer = self.json("GET", "/containers/busy/stats?stream=0")
        self.assertEqual((answer["id"], answer["name"]), (cid, "/n2/busy"))
        self.assertNotEqual(answer["preread"], "0001-01-01T00:00:00Z")
        self.assertEqual(self.calls(self.n2, "GET", "/containers/%s/stats" % (cid,)),
                         [("/containers/%s/stats" % (cid,), {"stream": ["0"]})])
        self.assertEqual(self.calls(self.n1, "GET", "/containers/"), [])

    def test_stats_stream(self):
        """Streamed stats frames come through as the engine sends them, one a second."""
        cid = self.run_container("busy", ["sleep", "300"])
        self.record()
        d = self.manager.stub.request("GET", "http://swarm/containers/busy/stats")
        response = self.successResultOf(self.manager.settle(d, step=0))
        self.assertEqual(response.code, 200)
        chunks = []
        treq.collect(response, chunks.append)

        def frames():
            return [json.loads(line) for line in b"".join(chunks).splitlines() if line.strip()]

        self.manager.engines.flush()
        self.manager.stub.flush()
        self.assertEqual(frames(), [])
        for _ in range(25):
            self.clock.advance(0.1)
            self.manager.engines.flush()
            self.manager.stub.flush()
        received = frames()
        self.assertEqual(len(received), 2)
        self.assertEqual(received[1]["preread"], received[0]["read"])
        self.assertEqual({(f["id"], f["name"]) for f in received}, {(cid, "/n2/busy")})
        self.assertEqual(self.calls(self.n2, "GET", "/containers/%s/stats" % (cid,)),
                         [("/containers/%s/stats" % (cid,), {})])
        self.assertEqual(self.calls(self.n1, "GET", "/containers/"), [])

    # -- fanned out and cached --------------------------------------------------------

    def test_containers_prune(self):
        """prune runs on every engine; the answer adds theirs up and the cache forgets them."""
        first = self.run_container("old1", ["true"], node="n1")
        second = self.run_container("old2", ["true"], node="n2")
        self.run_container("alive", ["sleep", "300"], node="n2")
        self.record()
        answer = self.json("POST", "/containers/prune")
        self.assertEqual(sorted(answer["ContainersDeleted"]), sorted([first, second]))
        self.assertEqual(answer["SpaceReclaimed"], 0)
        for engine in (self.n1, self.n2):
            self.assertEqual(self.calls(engine, "POST", "/containers/prune"),
                             [("/containers/prune", {})])
        listed = self.json("GET", "/containers/json?all=1")
        self.assertEqual([c["Names"] for c in listed], [["/n2/alive"]])

    def test_system_df(self):
        """system df asks every engine and adds their answers up, names prefixed by node."""
        self.run_container("one", ["sleep", "300"], node="n1")
        self.run_container("two", ["sleep", "300"], node="n2",
                           HostConfig={"Binds": ["data:/data"]})
        self.record()
        answer = self.json("GET", "/system/df")
        self.assertEqual(answer["LayersSize"], self.n1.disk_usage()["LayersSize"]
                         + self.n2.disk_usage()["LayersSize"])
        self.assertEqual(sorted(n for c in answer["Containers"] for n in c["Names"]),
                         ["/n1/one", "/n2/two"])
        self.assertEqual([v["Name"] for v in answer["Volumes"]], ["n2/data"])
        self.assertEqual(len(answer["Images"]), 2)
        for engine in (self.n1, self.n2):
            self.assertEqual(self.calls(engine, "GET", "/system/df"), [("/system/df", {})])

    def test_containers_ps(self):
        """/containers/ps is the cached container list, asking no engine."""
        self.run_container("one", ["sleep", "300"], node="n1")
        self.run_container("two", ["true"], node="n2")
        self.record()
        code, _, listed = self.request("GET", "/containers/ps?all=1")
        self.assertEqual(code, 200)
        self.assertEqual(json.loads(listed), self.json("GET", "/containers/json?all=1"))
        self.assertEqual(sorted(c["Names"][0] for c in json.loads(listed)),
                         ["/n1/one", "/n2/two"])
        self.assertEqual(self.calls(self.n1, "GET", "/containers/json")
                         + self.calls(self.n2, "GET", "/containers/json"), [])

    def test_events_stream(self):
        """The live /events stream carries an engine's event with its node's attributes."""
        d = self.manager.stub.request("GET", "http://swarm/events")
        response = self.successResultOf(self.manager.settle(d, step=0))
        self.assertEqual(response.code, 200)
        chunks = []
        treq.collect(response, chunks.append)
        cid, _ = self.n2.create({"Image": "busybox", "Cmd": ["true"]}, name="direct")
        self.manager.engines.flush()
        self.manager.stub.flush()
        events = [json.loads(line) for line in b"".join(chunks).splitlines() if line.strip()]
        created = [e for e in events if e.get("Action") == "create"]
        self.assertEqual(len(created), 1, events)
        attributes = created[0]["Actor"]["Attributes"]
        self.assertEqual((created[0]["Actor"]["ID"], attributes["name"]), (cid, "direct"))
        node_id = self.manager.cluster.engine("n2").id
        self.assertTrue(node_id.startswith(self.n2.id))
        self.assertEqual((attributes["node.name"], attributes["node.id"],
                          attributes["node.addr"], attributes["node.ip"]),
                         ("n2", node_id, N2, "127.0.0.1"))
        self.assertEqual(created[0]["node"], {"Name": "n2", "Id": node_id, "Addr": N2,
                                              "Ip": "127.0.0.1"})

    def test_attach_unknown(self):
        """Attach to a container the cluster does not know is the manager's own 404."""
        self.record()
        for method, path in (("POST", "/containers/ghost/attach?stream=1&stdout=1"),
                             ("GET", "/containers/ghost/attach/ws?stream=1")):
            code, _, content = self.request(method, path)
            self.assertEqual((code, json.loads(content)),
                             (404, {"message": "No such container: ghost"}))
        self.assertEqual(self.n1.calls + self.n2.calls, [])


class LoopbackRouteTests(TestCase):
    """
    Hijacked routes, over loopback sockets: a client connection to the
    manager, spliced to one the manager opens to the container's engine.
    """

    timeout = 30

    @inlineCallbacks
    def setUp(self):
        self.manager = yield LoopbackManager(count=2).start(self)
        self.n1 = self.manager.engine("n1")
        self.n2 = self.manager.engine("n2")

    @inlineCallbacks
    def json(self, method, path, body=None, status=200):
        code, _, content = yield self.manager.request(method, path, body)
        self.assertEqual(code, status, content)
        return json.loads(content) if content.strip() else None

    @inlineCallbacks
    def create(self, name, cmd, node="n2", **config):
        body = {"Image": "busybox", "Cmd": cmd, "Env": ["constraint:node==" + node]}
        body.update(config)
        created = yield self.json("POST", "/containers/create?name=" + name, body, 201)
        return created["Id"]

    @inlineCallbacks
    def start(self, name):
        code, _, content = yield self.manager.request("POST", "/containers/%s/start" % (name,))
        self.assertEqual(code, 204, content)

    @inlineCallbacks
    def hijack(self, method, path, body=None, upgrade=True, headers=()):
        """
        Send one request on a raw connection to the manager.

        @return: a L{Deferred} firing with the
            L{swarmd.testing.conformance.engine.HijackedStream}.
        """
        stream = yield self.manager.connect()
        self.addCleanup(stream.close)
        stream.send(http_request(method, path, body, upgrade, headers))
        return stream

    @inlineCallbacks
    def attached(self, engine, cid, query="stream=1&stdout=1&stderr=1", **kwargs):
        """
        Attach through the manager and wait until the engine has.
        """
        before = len([e for e in engine.events if e.action == "attach"])
        stream = yield self.hijack("POST", "/containers/%s/attach?%s" % (cid, query), **kwargs)
        yield stream.wait_head()
        yield self.eventually(
            lambda: len([e for e in engine.events if e.action == "attach"]) > before)
        return stream

    @inlineCallbacks
    def eventually(self, check):
        for _ in range(1000):
            if check():
                return
            yield deferLater(self.manager.reactor, 0.01, lambda: None)
        self.fail("never happened: %r" % (check,))

    @staticmethod
    def calls(engine, method, prefix):
        return [path for verb, path, _, _ in engine.calls or ()
                if verb == method and path.startswith(prefix)]

    @inlineCallbacks
    def test_attach(self):
        """attach is spliced to the container's engine: 101, its frames, its end of stream."""
        cid = yield self.create("talker", ["sh", "-c", "echo hi; echo err >&2"])
        self.n1.record_calls()
        self.n2.record_calls()
        stream = yield self.attached(self.n2, cid)
        status, headers = parse_head(stream.head)
        self.assertEqual((status, headers["content-type"], headers["upgrade"]),
                         ("HTTP/1.1 101 UPGRADED", "application/vnd.docker.raw-stream", "tcp"))
        yield self.start("talker")
        yield stream.wait_end()
        self.assertEqual(sorted(demux(stream.body)), [(1, b"hi\n"), (2, b"err\n")])
        self.assertEqual(self.calls(self.n2, "POST", "/containers/%s/attach" % (cid,)),
                         ["/containers/%s/attach" % (cid,)])
        self.assertEqual(self.calls(self.n1, "POST", "/containers/"), [])

    @inlineCallbacks
    def test_attach_stdin(self):
        """Attached stdin reaches the engine; its end (half-close) ends cat there, with 0."""
        cid = yield self.create("cat", ["cat"], OpenStdin=True, StdinOnce=True)
        yield self.start("cat")
        stream = yield self.attached(self.n2, cid, "stream=1&stdin=1&stdout=1&stderr=1")
        stream.send(b"ping\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"ping\n")))
        stream.close_write()
        yield stream.wait_end()
        answer = yield self.json("POST", "/containers/cat/wait")
        self.assertEqual(answer["StatusCode"], 0)
        self.assertEqual(self.n2.containers[cid].exit_code, 0)

    @inlineCallbacks
    def test_attach_ws(self):
        """attach/ws is spliced to the engine: its WebSocket handshake and frames come back."""
        cid = yield self.create("talker", ["echo", "ws"], node="n1")
        self.n1.record_calls()
        key = base64.b64encode(uuid.uuid4().bytes).decode("ascii")
        stream = yield self.hijack(
            "GET", "/containers/talker/attach/ws?stream=1&stdout=1", upgrade=False,
            headers=["Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                     "Sec-WebSocket-Version: 13", "Origin: http://localhost"])
        status, headers = parse_head((yield stream.wait_head()))
        accept = base64.b64encode(hashlib.sha1(
            key.encode("ascii") + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        self.assertEqual((status, headers["sec-websocket-accept"]),
                         ("HTTP/1.1 101 Switching Protocols", accept.decode("ascii")))
        yield self.eventually(lambda: any(e.action == "attach" for e in self.n1.events))
        yield self.start("talker")
        yield stream.wait_end()
        self.assertEqual(stream.body, b"\x82\x03ws\n\x88\x02\x03\xe8")
        self.assertEqual(self.calls(self.n1, "GET", "/containers/%s/attach/ws" % (cid,)),
                         ["/containers/%s/attach/ws" % (cid,)])

    @inlineCallbacks
    def test_exec_start(self):
        """A non-detached exec start is spliced to the exec's engine: 101 and its output."""
        yield self.create("runner", ["sleep", "300"])
        yield self.start("runner")
        exec_id = (yield self.json("POST", "/containers/runner/exec", {
            "Cmd": ["sh", "-c", "echo out; exit 2"], "AttachStdout": True}, 201))["Id"]
        self.n1.record_calls()
        self.n2.record_calls()
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,), {"Detach": False})
        status, _ = parse_head((yield stream.wait_head()))
        self.assertEqual(status, "HTTP/1.1 101 UPGRADED")
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"out\n")])
        inspected = yield self.json("GET", "/exec/%s/json" % (exec_id,))
        self.assertEqual(inspected["ExitCode"], 2)
        self.assertEqual(self.calls(self.n2, "POST", "/exec/"), ["/exec/%s/start" % (exec_id,)])
        self.assertEqual(self.calls(self.n1, "POST", "/exec/"), [])

    @inlineCallbacks
    def test_exec_start_stdin(self):
        """An exec's stdin goes through the manager both ways, half-close included."""
        yield self.create("runner", ["sleep", "300"], node="n1")
        yield self.start("runner")
        exec_id = (yield self.json("POST", "/containers/runner/exec", {
            "Cmd": ["cat"], "AttachStdin": True, "AttachStdout": True}, 201))["Id"]
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,), {"Detach": False})
        yield stream.wait_head()
        stream.send(b"one\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"one\n")))
        stream.send(b"two\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"two\n")))
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual(self.n1.execs[exec_id].exit_code, 0)

    @inlineCallbacks
    def test_attach_engine_refusal(self):
        """An engine refusing an attach (paused container) is a normal 409 with its message."""
        cid = yield self.create("frozen", ["sleep", "300"])
        yield self.start("frozen")
        code, _, content = yield self.manager.request("POST", "/containers/frozen/pause")
        self.assertEqual(code, 204, content)
        self.n2.record_calls()
        code, headers, content = yield self.manager.request(
            "POST", "/containers/frozen/attach?stream=1&stdout=1")
        self.assertEqual((code, headers.getRawHeaders(b"Content-Type")),
                         (409, [b"application/json"]))
        self.assertEqual(json.loads(content), {
            "message": "container %s is paused, unpause the container before attach" % (cid,)})
        self.assertEqual(self.calls(self.n2, "POST", "/containers/"),
                         ["/containers/%s/attach" % (cid,)])

    @inlineCallbacks
    def test_exec_start_engine_refusal(self):
        """An engine's JSON refusal of a hijacked exec start passes through as a normal answer."""
        yield self.create("runner", ["sleep", "300"])
        yield self.start("runner")
        exec_id = (yield self.json("POST", "/containers/runner/exec", {"Cmd": ["true"]},
                                   201))["Id"]
        code, _, content = yield self.manager.request("POST", "/containers/runner/kill")
        self.assertEqual(code, 204, content)
        self.n2.record_calls()
        code, _, content = yield self.manager.request(
            "POST", "/exec/%s/start" % (exec_id,), {"Detach": False})
        self.assertEqual((code, json.loads(content)),
                         (404, {"message": "No such exec instance: " + exec_id}))
        self.assertEqual(self.calls(self.n2, "POST", "/exec/"), ["/exec/%s/start" % (exec_id,)])
