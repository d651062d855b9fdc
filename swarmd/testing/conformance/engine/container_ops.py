"""
The engine conformance suite: operations on containers (resize, update,
stats, prune) and disk usage.
"""

import json
import uuid
from urllib.parse import quote

from twisted.internet.defer import inlineCallbacks

from swarmd import API_VERSION
from swarmd.testing.conformance.engine._support import (
    PATIENCE,
    _LineCollector,
    _reactor,
    parse_head,
)


class ContainerOpsConformance:
    """
    Resize, update, stats, prune and disk usage, as every engine answers
    them.
    """

    @inlineCallbacks
    def test_resize(self):
        """
        resize of a running container answers 200 (an event with the size); else 409, 400, 404.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        code, headers, body = yield self.call("POST", "/containers/%s/resize?h=10&w=20" % (cid,))
        self.assertEqual((code, body), (200, b""))
        found = yield self.seen(events, [("container", "resize", cid)])
        attributes = found[0]["Actor"]["Attributes"]
        self.assertEqual((attributes["height"], attributes["width"]), ("10", "20"))
        message = yield self.refused("POST", "/containers/%s/resize?h=a&w=20" % (cid,),
                                     status=400)
        self.assertEqual(message, 'strconv.Atoi: parsing "a": invalid syntax')
        idle, _ = yield self.create(["true"])
        message = yield self.refused("POST", "/containers/%s/resize?h=10&w=20" % (idle,),
                                     status=409)
        self.assertEqual(message, "Container %s is not running" % (idle,))
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/containers/%s/resize?h=1&w=1" % (ghost,),
                                     status=404)
        self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_update(self):
        """
        update changes the resources and restart policy given; inspect shows them.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        _, answer = yield self.call_json("POST", "/containers/%s/update" % (cid,), {
            "CpuShares": 512, "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}},
            status=200)
        self.assertEqual(answer, {"Warnings": None})
        yield self.call_json("POST", "/containers/%s/update" % (cid,), {
            "Memory": 64 * 1024 * 1024, "MemorySwap": -1}, status=200)
        host = (yield self.client.inspect_container(cid))["HostConfig"]
        self.assertEqual((host["CpuShares"], host["Memory"], host["MemorySwap"],
                          host["RestartPolicy"]),
                         (512, 64 * 1024 * 1024, -1,
                          {"Name": "on-failure", "MaximumRetryCount": 2}))
        yield self.seen(events, [("container", "update", cid), ("container", "update", cid)])

    @inlineCallbacks
    def test_update_refused(self):
        """
        update refuses small or unswappable memory, bad policies and bodies, unknown containers.
        """
        cid, _ = yield self.started(["sleep", "300"])
        path = "/containers/%s/update" % (cid,)
        message = yield self.refused("POST", path, {"Memory": 1024 * 1024}, status=400)
        self.assertEqual(message, "Minimum memory limit allowed is 6MB")
        message = yield self.refused("POST", path, {"Memory": 64 * 1024 * 1024}, status=409)
        self.assertEqual(message, "Cannot update container %s: Memory limit should be smaller "
                                  "than already set memoryswap limit, update the memoryswap "
                                  "at the same time" % (cid,))
        message = yield self.refused("POST", path, {"RestartPolicy": {"Name": "sometimes"}},
                                     status=400)
        self.assertEqual(message, "invalid restart policy 'sometimes'")
        message = yield self.refused("POST", path, b"", status=500,
                                     content_type="application/json")
        self.assertEqual(message, "EOF")
        message = yield self.refused("POST", path, {"CpuShares": "x"}, status=500)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "UpdateConfig.CpuShares of type int64")
        message = yield self.refused("POST", path, b'{"CpuShares":1}', status=400,
                                     content_type="text/plain")
        self.assertEqual(message, "Content-Type specified (text/plain) must be "
                                  "'application/json'")
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/containers/%s/update" % (ghost,),
                                     {"CpuShares": 512}, status=404)
        self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_stats_once(self):
        """
        stats=0 of a running container is one sampled frame; of a stopped one, zeros.
        """
        cid, name = yield self.started(["sleep", "300"])
        code, headers, data = yield self.call("GET", "/containers/%s/stats?stream=0" % (cid,))
        self.assertEqual(code, 200)
        self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/json"])
        stats = json.loads(data)
        self.assertEqual((stats["name"], stats["id"]), ("/" + name, cid))
        self.assertNotEqual(stats["read"], "0001-01-01T00:00:00Z")
        self.assertNotEqual(stats["preread"], "0001-01-01T00:00:00Z")
        self.assertGreater(stats["read"], stats["preread"])
        self.assertGreater(stats["cpu_stats"]["online_cpus"], 0)
        self.assertEqual(len(stats["cpu_stats"]["cpu_usage"]["percpu_usage"]),
                         stats["cpu_stats"]["online_cpus"])
        self.assertGreater(stats["precpu_stats"]["cpu_usage"]["total_usage"], 0)
        self.assertGreater(stats["memory_stats"]["usage"], 0)
        self.assertGreater(stats["memory_stats"]["limit"], 0)
        self.assertIn("total_rss", stats["memory_stats"]["stats"])
        self.assertGreaterEqual(stats["pids_stats"]["current"], 1)
        self.assertEqual(stats["blkio_stats"]["io_service_bytes_recursive"], [])
        self.assertEqual(sorted(stats["networks"]), ["eth0"])
        _, once = yield self.call_json("GET", "/containers/%s/stats?stream=0&one-shot=1"
                                       % (cid,), status=200)
        self.assertEqual(once["preread"], "0001-01-01T00:00:00Z")
        self.assertEqual(once["precpu_stats"]["cpu_usage"]["total_usage"], 0)
        message = yield self.refused("GET", "/containers/%s/stats?one-shot=1" % (cid,),
                                     status=400)
        self.assertEqual(message, "cannot have stream=true and one-shot=true")
        idle, idle_name = yield self.create(["true"])
        _, zero = yield self.call_json("GET", "/containers/%s/stats?stream=0" % (idle,),
                                       status=200)
        empty_cpu = {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0,
                                   "usage_in_usermode": 0},
                     "throttling_data": {"periods": 0, "throttled_periods": 0,
                                         "throttled_time": 0}}
        self.assertEqual(zero, {
            "read": "0001-01-01T00:00:00Z", "preread": "0001-01-01T00:00:00Z",
            "pids_stats": {}, "blkio_stats": {key: None for key in (
                "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
                "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
                "io_time_recursive", "sectors_recursive")},
            "num_procs": 0, "storage_stats": {}, "cpu_stats": empty_cpu,
            "precpu_stats": empty_cpu, "memory_stats": {}, "name": "/" + idle_name,
            "id": idle})
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/containers/%s/stats?stream=0" % (ghost,),
                                     status=404)
        self.assertEqual(message, "No such container: " + ghost)

    @inlineCallbacks
    def test_stats_stream(self):
        """
        The stats stream sends a frame a second, each one's preread the read of the one before.
        """
        cid, _ = yield self.started(["sleep", "300"])
        response = yield self.client.request("GET", "/v%s/containers/%s/stats"
                                             % (API_VERSION, cid), timeout=PATIENCE)
        self.assertEqual(response.code, 200)
        self.assertIsNone(response.headers.getRawHeaders(b"Content-Type"))
        collector = _LineCollector(2)
        response.deliverBody(collector)
        frames = yield collector.done.addTimeout(PATIENCE, _reactor())
        self.assertEqual(frames[0]["preread"], "0001-01-01T00:00:00Z")
        self.assertEqual(frames[1]["preread"], frames[0]["read"])
        self.assertEqual(frames[1]["precpu_stats"], frames[0]["cpu_stats"])
        self.assertEqual(frames[1]["id"], cid)

    @inlineCallbacks
    def test_container_prune(self):
        """
        prune removes the stopped containers its label filter selects, then says so.
        """
        events = yield self.watch({"type": ["container"]})
        label = uuid.uuid4().hex[:8]
        stopped, _ = yield self.create(["true"], Labels={"conf-prune": label})
        running, _ = yield self.started(["sleep", "300"], Labels={"conf-prune": label})
        other, _ = yield self.create(["true"])
        query = "/containers/prune?filters=" + quote(json.dumps(
            {"label": ["conf-prune=" + label]}))
        _, answer = yield self.call_json("POST", query, status=200)
        self.assertEqual(answer, {"ContainersDeleted": [stopped], "SpaceReclaimed": 0})
        yield self.assertEngineError(self.client.inspect_container(stopped), 404)
        self.assertTrue((yield self.state(running))["Running"])
        self.assertEqual((yield self.state(other))["Status"], "created")
        found = yield self.seen(events, [("container", "destroy", stopped),
                                         ("container", "prune", "")])
        self.assertEqual(found[1]["Actor"]["Attributes"], {"reclaimed": "0"})
        _, answer = yield self.call_json("POST", query, status=200)
        self.assertEqual(answer, {"ContainersDeleted": None, "SpaceReclaimed": 0})
        message = yield self.refused("POST", "/containers/prune?filters="
                                     + quote(json.dumps({"foo": ["x"]})), status=400)
        self.assertEqual(message, "Invalid filter 'foo'")
        message = yield self.refused("POST", "/containers/prune?filters="
                                     + quote(json.dumps({"until": ["xx"]})), status=500)
        self.assertEqual(message, 'failed to parse value as time or duration: "xx"')
        message = yield self.refused("POST", "/containers/prune?filters=xx", status=400)
        self.assertEqual(message, "invalid character 'x' looking for beginning of value")

    @inlineCallbacks
    def test_system_df(self):
        """
        system df counts layers, images with their containers, containers' sizes, volume use.
        """
        cid, _ = yield self.written(Volumes={"/data": {}})
        _, df = yield self.call_json("GET", "/system/df", status=200)
        self.assertEqual(sorted(df), ["BuildCache", "BuilderSize", "Containers", "Images",
                                      "LayersSize", "Volumes"])
        self.assertIsNone(df["BuildCache"])
        self.assertEqual(df["BuilderSize"], 0)
        busybox = yield self.client.inspect_image("busybox")
        self.assertGreaterEqual(df["LayersSize"], busybox["Size"])
        image = [i for i in df["Images"] if i["Id"] == busybox["Id"]][0]
        self.assertGreaterEqual(image["Containers"], 1)
        self.assertGreaterEqual(image["SharedSize"], 0)
        self.assertEqual(image["RepoTags"], ["busybox:latest"])
        container = [c for c in df["Containers"] if c["Id"] == cid][0]
        self.assertEqual((container["SizeRw"], container["SizeRootFs"]),
                         (5, busybox["Size"] + 5))
        volume_name = (yield self.client.inspect_container(cid))["Mounts"][0]["Name"]
        volume = [v for v in df["Volumes"] if v["Name"] == volume_name][0]
        self.assertEqual(volume["UsageData"], {"RefCount": 1, "Size": 0})


    @inlineCallbacks
    def test_error_answer_length(self):
        """
        An error answer comes whole, with its Content-Length (not chunked), the connection kept.
        """
        ghost = self.unique("ghost")
        stream = yield self.hijack("GET", "/containers/%s/json" % (ghost,), upgrade=False)
        _, headers = parse_head((yield stream.wait_head()))
        self.assertNotIn("transfer-encoding", headers)
        length = int(headers["content-length"])
        yield stream.wait_for(lambda data: len(stream.body) >= length)
        self.assertEqual(json.loads(stream.body), {"message": "No such container: " + ghost})
        self.assertEqual(len(stream.body), length)
        self.assertFalse(stream.ended.called)
