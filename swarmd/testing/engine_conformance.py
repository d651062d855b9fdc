"""
The conformance suite of L{IEngineClient}: behaviour every engine shows
through L{swarmd.engine.EngineClient}, run against the fake engine in unit
tests and against a real dockerd in functional tests, so the fake stays
honest::

    def fixture(testcase):
        ...start or find an engine, register its cleanup on testcase...
        return succeed(EngineClient(address, reactor))

    class FakeEngineConformance(make_iengine_tests(fixture)):
        pass

The tests run on the real reactor (engines answer over real sockets).
Every container a test makes has a unique C{conf-...} name and is removed
when the test ends, whether it passed or not.
"""

import base64
import hashlib
import io
import json
import re
import tarfile
import uuid
from urllib.parse import quote, urlencode

from treq import content
from twisted.internet.defer import Deferred, inlineCallbacks, maybeDeferred
from twisted.internet.endpoints import connectProtocol
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import SkipTest, TestCase
from twisted.web.http_headers import Headers
from zope.interface import implementer
from zope.interface.verify import verifyObject

from swarmd import API_VERSION
from swarmd.engine import EngineError, IEngineClient, IEventStream

__all__ = ["HijackedStream", "demux", "frame", "http_request", "make_iengine_tests",
           "parse_head", "stream_error", "stream_messages", "stream_text"]

#: Seconds a test waits for something an engine does by itself (a
#: container exiting, an event arriving).
PATIENCE = 20.0


def _reactor():
    from twisted.internet import reactor

    return reactor


def demux(data):
    """
    Split a multiplexed log stream (8-byte frame headers) into frames.

    @param data: the raw C{bytes}.
    @return: a C{list} of C{(stream, payload)}; stream 1 is stdout, 2 stderr.
    @raise ValueError: if the data is not a sequence of whole frames.
    """
    frames = []
    index = 0
    while index < len(data):
        header = data[index:index + 8]
        if len(header) < 8 or header[1:4] != b"\0\0\0" or header[0] not in (0, 1, 2):
            raise ValueError("not a multiplexed stream at byte %d: %r" % (index, header))
        size = int.from_bytes(header[4:8], "big")
        payload = data[index + 8:index + 8 + size]
        if len(payload) < size:
            raise ValueError("truncated frame at byte %d" % (index,))
        frames.append((header[0], payload))
        index += 8 + size
    return frames


def _tar(files):
    """
    @param files: C{{path: bytes}}.
    @return: an uncompressed tar holding them (a root file system, a build
        context).
    """
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def stream_messages(data):
    """
    Split a JSON progress stream (pull, push, load, import, build).

    @return: the decoded messages.
    """
    return [json.loads(line) for line in data.splitlines() if line.strip()]


def stream_text(messages):
    """
    @return: the C{stream} texts of a build or load stream, joined.
    """
    return "".join(m.get("stream", "") for m in messages)


def stream_error(messages):
    """
    @return: the error a stream ended with, or L{None}.
    """
    for message in messages:
        if message.get("error"):
            return message["error"]
    return None


class _RawCalls:
    """
    Raw calls to the engine (for the routes L{IEngineClient} has no method
    for), and cleanup of the networks, volumes and images a test makes.
    """

    def track_objects(self):
        self.networks_made = []
        self.volumes_made = []
        self.images_made = []
        self.addCleanup(self._remove_objects)

    @inlineCallbacks
    def _remove_objects(self):
        for network in reversed(self.networks_made):
            yield self.call("DELETE", "/networks/" + network)
        for volume in reversed(self.volumes_made):
            yield self.call("DELETE", "/volumes/%s?force=1" % (volume,))
        for image in reversed(self.images_made):
            yield self.call("DELETE", "/images/%s?force=1" % (image,))

    @inlineCallbacks
    def call(self, method, path, body=None, headers=None, content_type=None):
        """
        One raw request on the versioned path.

        @param body: a JSON-able value, C{bytes}, or L{None}.
        @return: a L{Deferred} firing with C{(status, headers, content)}.
        """
        sent = Headers()
        for name, value in (headers or {}).items():
            sent.setRawHeaders(name.encode("ascii"), [value.encode("ascii")])
        data = None
        if body is not None and not isinstance(body, bytes):
            data = json.dumps(body).encode("utf-8")
            content_type = content_type or "application/json"
        elif body is not None:
            data = body
            content_type = content_type or "application/x-tar"
        if content_type:
            sent.setRawHeaders(b"Content-Type", [content_type.encode("ascii")])
        response = yield self.client.request(method, "/v%s%s" % (API_VERSION, path), sent, data,
                                             timeout=PATIENCE * 3)
        body = yield content(response)
        return response.code, response.headers, body

    @inlineCallbacks
    def call_json(self, method, path, body=None, status=None, **kwargs):
        """
        @param status: the status to expect (checked), or L{None}.
        @return: a L{Deferred} firing with C{(status, decoded body or None)}.
        """
        code, _, data = yield self.call(method, path, body, **kwargs)
        if status is not None:
            self.assertEqual(code, status, data)
        return code, (json.loads(data) if data.strip() else None)

    @inlineCallbacks
    def refused(self, method, path, body=None, status=None, **kwargs):
        """
        Check a call is refused with C{status}.

        @return: a L{Deferred} firing with the engine's message.
        """
        code, _, data = yield self.call(method, path, body, **kwargs)
        self.assertEqual(code, status, data)
        return json.loads(data)["message"]

    @inlineCallbacks
    def watch(self, filters):
        """
        Start collecting the engine's events that pass C{filters}.

        @return: a L{Deferred} firing with the list they are added to; the
            stream ends with the test.
        """
        seen = []
        stream = yield self.client.events(seen.append, filters=filters)
        self.addCleanup(lambda: stream.stop() or stream.done)
        return seen

    @inlineCallbacks
    def seen(self, events, wanted):
        """
        Wait until C{events} holds C{wanted} C{(Type, Action, actor)} in
        order (other events may come between).

        @return: a L{Deferred} firing with the matching events.
        """
        for _ in range(int(PATIENCE / 0.05)):
            found = _in_order(events, wanted)
            if found is not None:
                return found
            yield deferLater(_reactor(), 0.05, lambda: None)
        self.fail("events %r never came; saw %r" % (
            wanted, [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in events]))


def _in_order(events, wanted):
    found = []
    index = 0
    for event in events:
        if index < len(wanted) and (event["Type"], event["Action"],
                                    event["Actor"]["ID"]) == wanted[index]:
            found.append(event)
            index += 1
    return found if index == len(wanted) else None


class NetworkConformance:
    """
    The network routes (raw calls), as every engine answers them.
    """

    @inlineCallbacks
    def network(self, name=None, **body):
        """
        Create a network, removed after the test.

        @return: a L{Deferred} firing with C{(id, name)}.
        """
        name = name or self.unique("net")
        body.setdefault("CheckDuplicate", True)
        body["Name"] = name
        _, created = yield self.call_json("POST", "/networks/create", body, status=201)
        self.networks_made.append(created["Id"])
        return created["Id"], name

    @inlineCallbacks
    def test_network_create_inspect_remove(self):
        """
        A network is made with its labels and a subnet, found by name, ID and prefix, then removed.
        """
        events = yield self.watch({"type": ["network"]})
        name = self.unique("net")
        _, created = yield self.call_json("POST", "/networks/create", {
            "Name": name, "CheckDuplicate": True, "Labels": {"conf": "yes"}}, status=201)
        network_id = created["Id"]
        self.networks_made.append(network_id)
        self.assertRegex(network_id, r"^[0-9a-f]{64}$")
        self.assertEqual(created["Warning"], "")
        for reference in (name, network_id, network_id[:12]):
            _, inspected = yield self.call_json("GET", "/networks/" + reference, status=200)
            self.assertEqual((inspected["Id"], inspected["Name"]), (network_id, name))
        self.assertEqual((inspected["Driver"], inspected["Scope"], inspected["Labels"],
                          inspected["Containers"], inspected["Internal"]),
                         ("bridge", "local", {"conf": "yes"}, {}, False))
        subnet = inspected["IPAM"]["Config"][0]
        self.assertRegex(subnet["Subnet"], r"^\d+\.\d+\.\d+\.\d+/\d+$")
        self.assertRegex(subnet["Gateway"], r"^\d+\.\d+\.\d+\.\d+$")
        listed = yield self.client.list_networks()
        self.assertIn(network_id, [n["Id"] for n in listed])
        code, _, data = yield self.call("DELETE", "/networks/" + name)
        self.assertEqual((code, data), (204, b""))
        message = yield self.refused("GET", "/networks/" + network_id, status=404)
        self.assertEqual(message, "network %s not found" % (network_id,))
        message = yield self.refused("DELETE", "/networks/" + name, status=404)
        self.assertEqual(message, "network %s not found" % (name,))
        found = yield self.seen(events, [("network", "create", network_id),
                                         ("network", "destroy", network_id)])
        self.assertEqual(found[0]["Actor"]["Attributes"], {"name": name, "type": "bridge"})

    @inlineCallbacks
    def test_network_duplicate_names(self):
        """
        CheckDuplicate refuses a taken name (409); without it a twin is made with a warning.
        """
        first, name = yield self.network()
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": name, "CheckDuplicate": True}, status=409)
        self.assertEqual(message, "network with name %s already exists" % (name,))
        _, twin = yield self.call_json("POST", "/networks/create", {"Name": name}, status=201)
        self.networks_made.append(twin["Id"])
        self.assertEqual(twin["Warning"], "Network with name %s (id : %s) already exists"
                         % (name, first))
        message = yield self.refused("GET", "/networks/" + name, status=400)
        self.assertEqual(message, "2 matches found based on name: network %s is ambiguous"
                         % (name,))
        message = yield self.refused("DELETE", "/networks/" + name, status=400)
        self.assertIn("network %s is ambiguous" % (name,), message)
        _, inspected = yield self.call_json("GET", "/networks/" + twin["Id"], status=200)
        self.assertEqual(inspected["Name"], name)

    @inlineCallbacks
    def test_network_create_refused(self):
        """
        Predefined names, a second host network, unknown drivers and bad bodies are refused.
        """
        for name in ("bridge", "host", "none"):
            message = yield self.refused("POST", "/networks/create", {"Name": name}, status=403)
            self.assertEqual(message, "operation is not permitted on predefined %s network "
                             % (name,))
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": self.unique("net"), "Driver": "host"}, status=403)
        self.assertEqual(message, 'only one instance of "host" network is allowed')
        message = yield self.refused("POST", "/networks/create",
                                     {"Name": self.unique("net"), "Driver": "conf-nope"},
                                     status=404)
        self.assertEqual(message, 'plugin "conf-nope" not found')
        message = yield self.refused("POST", "/networks/create", {"Name": 3}, status=400)
        self.assertEqual(message, "json: cannot unmarshal number into Go struct field "
                                  "NetworkCreateRequest.Name of type string")
        message = yield self.refused("POST", "/networks/create", status=400)
        self.assertEqual(message, "got EOF while reading request body")

    @inlineCallbacks
    def test_network_connect_disconnect(self):
        """
        A running container connected gets an address on it; disconnected it leaves.
        """
        events = yield self.watch({"type": ["network"]})
        network_id, name = yield self.network()
        cid, cname = yield self.started(["sleep", "300"])
        code, _, data = yield self.call("POST", "/networks/%s/connect" % (name,),
                                        {"Container": cname})
        self.assertEqual((code, data), (200, b""))
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual(entry["NetworkID"], network_id)
        self.assertRegex(entry["IPAddress"], r"^\d+\.\d+\.\d+\.\d+$")
        self.assertEqual(entry["Aliases"], [cid[:12]])
        self.assertIn("bridge", inspected["NetworkSettings"]["Networks"])
        _, network = yield self.call_json("GET", "/networks/" + network_id, status=200)
        self.assertEqual(list(network["Containers"]), [cid])
        self.assertEqual(network["Containers"][cid]["Name"], cname)
        self.assertEqual(network["Containers"][cid]["IPv4Address"].split("/")[0],
                         entry["IPAddress"])
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": cid}, status=403)
        self.assertEqual(message, "endpoint with name %s already exists in network %s"
                         % (cname, name))
        code, _, _ = yield self.call("POST", "/networks/%s/disconnect" % (network_id,),
                                     {"Container": cid, "Force": False})
        self.assertEqual(code, 200)
        inspected = yield self.client.inspect_container(cid)
        self.assertNotIn(name, inspected["NetworkSettings"]["Networks"])
        _, network = yield self.call_json("GET", "/networks/" + network_id, status=200)
        self.assertEqual(network["Containers"], {})
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": cid}, status=500)
        self.assertEqual(message, "container %s is not connected to network %s" % (cid, name))
        found = yield self.seen(events, [("network", "connect", network_id),
                                         ("network", "disconnect", network_id)])
        self.assertEqual(found[0]["Actor"]["Attributes"],
                         {"container": cid, "name": name, "type": "bridge"})

    @inlineCallbacks
    def test_network_connect_created(self):
        """
        A container not running is connected in its config only; started, it is on the network.
        """
        network_id, name = yield self.network()
        cid, _ = yield self.create(["sleep", "300"])
        code, _, _ = yield self.call("POST", "/networks/%s/connect" % (name,),
                                     {"Container": cid})
        self.assertEqual(code, 200)
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual((entry["NetworkID"], entry["IPAddress"]), ("", ""))
        _, network = yield self.call_json("GET", "/networks/" + name, status=200)
        self.assertEqual(network["Containers"], {})
        yield self.client.start_container(cid)
        inspected = yield self.client.inspect_container(cid)
        entry = inspected["NetworkSettings"]["Networks"][name]
        self.assertEqual(entry["NetworkID"], network_id)
        _, network = yield self.call_json("GET", "/networks/" + name, status=200)
        self.assertEqual(list(network["Containers"]), [cid])
        other, _ = yield self.create(["true"])
        yield self.call("POST", "/networks/%s/connect" % (name,), {"Container": other})
        code, _, _ = yield self.call("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": other})
        self.assertEqual(code, 200)
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": other}, status=500)
        self.assertEqual(message, "container %s is not connected to the network %s"
                         % (other, name))

    @inlineCallbacks
    def test_network_connect_refused(self):
        """
        Unknown containers and networks, empty names, host and none networks are refused.
        """
        _, name = yield self.network()
        cid, _ = yield self.started(["sleep", "300"])
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": ghost}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        missing = self.unique("net")
        message = yield self.refused("POST", "/networks/%s/connect" % (missing,),
                                     {"Container": cid}, status=404)
        self.assertEqual(message, "network %s not found" % (missing,))
        message = yield self.refused("POST", "/networks/%s/connect" % (name,),
                                     {"Container": ""}, status=400)
        self.assertEqual(message, 'invalid name or ID supplied: ""')
        message = yield self.refused("POST", "/networks/host/connect", {"Container": cid},
                                     status=400)
        self.assertEqual(message, "container cannot be disconnected from host network or "
                                  "connected to host network")
        message = yield self.refused("POST", "/networks/none/connect", {"Container": cid},
                                     status=400)
        self.assertEqual(message, "container cannot be connected to multiple networks with "
                                  "one of the networks in private (none) mode")
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": ghost}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": ghost, "Force": True}, status=404)
        self.assertEqual(message, "endpoint %s not found" % (ghost,))
        message = yield self.refused("POST", "/networks/%s/disconnect" % (name,),
                                     {"Container": cid, "Force": "yes"}, status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "NetworkDisconnect.Force of type bool")

    @inlineCallbacks
    def test_network_remove_refused(self):
        """
        Predefined networks and networks with running containers are not removed (403).
        """
        for name in ("bridge", "host", "none"):
            message = yield self.refused("DELETE", "/networks/" + name, status=403)
            self.assertEqual(message, "%s is a pre-defined network and cannot be removed"
                             % (name,))
        network_id, name = yield self.network()
        cid, _ = yield self.started(["sleep", "300"], HostConfig={"NetworkMode": name})
        message = yield self.refused("DELETE", "/networks/" + name, status=403)
        self.assertEqual(message, "error while removing network: network %s id %s has active "
                                  "endpoints" % (name, network_id))
        yield self.client.kill_container(cid)
        yield self.wait(cid)
        code, _, _ = yield self.call("DELETE", "/networks/" + name)
        self.assertEqual(code, 204)

    @inlineCallbacks
    def test_network_prune(self):
        """
        Prune removes the unused networks its label filter selects, never a used one.
        """
        events = yield self.watch({"type": ["network"]})
        label = self.unique("prune")
        idle_id, idle = yield self.network(Labels={"conf-prune": label})
        used_id, used = yield self.network(Labels={"conf-prune": label})
        yield self.network()
        yield self.started(["sleep", "300"], HostConfig={"NetworkMode": used})
        filters = quote(json.dumps({"label": ["conf-prune=" + label]}))
        _, answer = yield self.call_json("POST", "/networks/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"NetworksDeleted": [idle]})
        _, answer = yield self.call_json("POST", "/networks/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"NetworksDeleted": None})
        yield self.refused("GET", "/networks/" + idle_id, status=404)
        yield self.call_json("GET", "/networks/" + used_id, status=200)
        message = yield self.refused("POST", "/networks/prune?filters=" + quote(json.dumps(
            {"conf-bogus": ["1"]})), status=400)
        self.assertEqual(message, "Invalid filter 'conf-bogus'")
        found = yield self.seen(events, [("network", "destroy", idle_id),
                                         ("network", "prune", "")])
        self.assertEqual(found[1]["Actor"]["Attributes"], {"reclaimed": "0"})


class VolumeConformance:
    """
    The volume routes (raw calls), as every engine answers them.
    """

    @inlineCallbacks
    def volume(self, name=None, **body):
        """
        Create a volume, removed after the test.

        @return: a L{Deferred} firing with the created volume.
        """
        body["Name"] = name or self.unique("vol")
        _, created = yield self.call_json("POST", "/volumes/create", body, status=201)
        self.volumes_made.append(created["Name"])
        return created

    @inlineCallbacks
    def test_volume_create_inspect_remove(self):
        """
        A named volume is made (again: the same one), inspected, listed, then removed.
        """
        events = yield self.watch({"type": ["volume"]})
        name = self.unique("vol")
        created = yield self.volume(name, Labels={"conf": "yes"})
        self.assertEqual((created["Name"], created["Driver"], created["Scope"],
                          created["Labels"], created["Options"]),
                         (name, "local", "local", {"conf": "yes"}, None))
        self.assertTrue(created["Mountpoint"].endswith("/volumes/%s/_data" % (name,)))
        self.assertRegex(created["CreatedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        again = yield self.volume(name, Labels={"conf": "other"})
        self.assertEqual(again, created)
        _, inspected = yield self.call_json("GET", "/volumes/" + name, status=200)
        self.assertEqual(inspected, created)
        listed = yield self.client.list_volumes()
        self.assertIn(name, [v["Name"] for v in listed])
        code, _, data = yield self.call("DELETE", "/volumes/" + name)
        self.assertEqual((code, data), (204, b""))
        message = yield self.refused("GET", "/volumes/" + name, status=404)
        self.assertEqual(message, "get %s: no such volume" % (name,))
        message = yield self.refused("DELETE", "/volumes/" + name, status=404)
        self.assertEqual(message, "get %s: no such volume" % (name,))
        code, _, _ = yield self.call("DELETE", "/volumes/%s?force=1" % (name,))
        self.assertEqual(code, 204)
        found = yield self.seen(events, [("volume", "create", name),
                                         ("volume", "create", name),
                                         ("volume", "destroy", name)])
        self.assertEqual(found[0]["Actor"]["Attributes"], {"driver": "local"})

    @inlineCallbacks
    def test_volume_names(self):
        """
        No name makes an anonymous volume; short, odd or badly typed names are refused.
        """
        _, anonymous = yield self.call_json("POST", "/volumes/create", {}, status=201)
        self.volumes_made.append(anonymous["Name"])
        self.assertRegex(anonymous["Name"], r"^[0-9a-f]{64}$")
        message = yield self.refused("POST", "/volumes/create", {"Name": "x"}, status=400)
        self.assertEqual(message, "create x: volume name is too short, names should be at "
                                  "least two alphanumeric characters")
        message = yield self.refused("POST", "/volumes/create", {"Name": "conf/a"}, status=400)
        self.assertEqual(message, 'create conf/a: "conf/a" includes invalid characters for a '
                                  'local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are '
                                  'allowed. If you intended to pass a host directory, use '
                                  'absolute path')
        message = yield self.refused("POST", "/volumes/create", {"Name": 3}, status=400)
        self.assertEqual(message, "json: cannot unmarshal number into Go struct field "
                                  "VolumeCreateBody.Name of type string")
        name = self.unique("vol")
        message = yield self.refused("POST", "/volumes/create",
                                     {"Name": name, "Driver": "conf-nfs"}, status=404)
        self.assertEqual(message, 'create %s: error looking up volume plugin conf-nfs: plugin '
                                  '"conf-nfs" not found' % (name,))
        message = yield self.refused("POST", "/volumes/create",
                                     {"Name": name, "DriverOpts": {"bogus": "1"}}, status=400)
        self.assertEqual(message, 'create %s: invalid option: "bogus"' % (name,))
        message = yield self.refused("POST", "/volumes/create", status=400)
        self.assertEqual(message, "got EOF while reading request body")

    @inlineCallbacks
    def test_volume_in_use(self):
        """
        A volume a container mounts is not removed, even forced (409), until the container goes.
        """
        name = (yield self.volume())["Name"]
        cid, _ = yield self.create(["true"], HostConfig={"Binds": [name + ":/data"]})
        inspected = yield self.client.inspect_container(cid)
        self.assertEqual([(m["Type"], m["Name"], m["Destination"])
                          for m in inspected["Mounts"]], [("volume", name, "/data")])
        for query in ("", "?force=1"):
            message = yield self.refused("DELETE", "/volumes/" + name + query, status=409)
            self.assertEqual(message, "remove %s: volume is in use - [%s]" % (name, cid))
        yield self.client.remove_container(cid)
        code, _, _ = yield self.call("DELETE", "/volumes/" + name)
        self.assertEqual(code, 204)

    @inlineCallbacks
    def test_volume_prune(self):
        """
        Prune removes the unused volumes its label filter selects, with no destroy events.
        """
        events = yield self.watch({"type": ["volume"]})
        label = self.unique("prune")
        idle = (yield self.volume(Labels={"conf-prune": label}))["Name"]
        used = (yield self.volume(Labels={"conf-prune": label}))["Name"]
        other = (yield self.volume())["Name"]
        yield self.create(["true"], HostConfig={"Binds": [used + ":/data"]})
        filters = quote(json.dumps({"label": ["conf-prune=" + label]}))
        _, answer = yield self.call_json("POST", "/volumes/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"VolumesDeleted": [idle], "SpaceReclaimed": 0})
        _, answer = yield self.call_json("POST", "/volumes/prune?filters=" + filters,
                                         status=200)
        self.assertEqual(answer, {"VolumesDeleted": [], "SpaceReclaimed": 0})
        listed = [v["Name"] for v in (yield self.client.list_volumes())]
        self.assertNotIn(idle, listed)
        self.assertIn(used, listed)
        self.assertIn(other, listed)
        message = yield self.refused("POST", "/volumes/prune?filters=" + quote(json.dumps(
            {"until": ["10m"]})), status=400)
        self.assertEqual(message, "Invalid filter 'until'")
        yield self.seen(events, [("volume", "create", idle), ("volume", "prune", "")])
        self.assertNotIn(("volume", "destroy", idle),
                         [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in events])


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


@implementer(IHalfCloseableProtocol)
class HijackedStream(Protocol):
    """
    The client's side of a hijacked connection (attach, exec start,
    attach/ws): everything the server sends is kept in C{received}, head
    included.

    @ivar ended: a L{Deferred} firing with the bytes received once the server
        closed its writing side (or the whole connection).
    @ivar lost: a L{Deferred} firing when the connection is gone.
    """

    def __init__(self):
        self.received = b""
        self.peer_closed = False
        self.ended = Deferred()
        self.lost = Deferred()
        self._waits = []

    def dataReceived(self, data):
        self.received += data
        for test, d in list(self._waits):
            if test(self.received):
                self._waits.remove((test, d))
                d.callback(self.received)

    def readConnectionLost(self):
        self.peer_closed = True
        if not self.ended.called:
            self.ended.callback(self.received)

    def writeConnectionLost(self):
        pass

    def connectionLost(self, reason):
        if not self.ended.called:
            self.ended.callback(self.received)
        waits, self._waits = self._waits, []
        for _, d in waits:
            d.errback(AssertionError("connection lost after %r" % (self.received[-300:],)))
        self.lost.callback(None)

    def wait_for(self, test, timeout=PATIENCE):
        """
        @param test: called with all the bytes received so far.
        @return: a L{Deferred} firing with them once C{test} is true.
        """
        d = Deferred()
        if test(self.received):
            d.callback(self.received)
        elif self.lost.called:
            d.errback(AssertionError("connection lost after %r" % (self.received[-300:],)))
        else:
            self._waits.append((test, d))
        return d.addTimeout(timeout, _reactor())

    def wait_head(self):
        """
        @return: a L{Deferred} firing with the response head (without its
            blank line).
        """
        return self.wait_for(lambda data: b"\r\n\r\n" in data).addCallback(
            lambda _: self.head)

    def wait_end(self, timeout=PATIENCE):
        """
        @return: L{ended}, failing if it takes longer than C{timeout}.
        """
        return self.ended.addTimeout(timeout, _reactor()) if not self.ended.called else \
            maybeDeferred(lambda: self.received)

    @property
    def head(self):
        return self.received.partition(b"\r\n\r\n")[0]

    @property
    def body(self):
        """
        What came after the head.
        """
        return self.received.partition(b"\r\n\r\n")[2]

    def send(self, data):
        self.transport.write(data)

    def close_write(self):
        """
        End the client's side (stdin EOF), keeping the connection readable.
        """
        self.transport.loseWriteConnection()

    def close(self):
        """
        Drop the connection.

        @return: a L{Deferred} firing once it is gone.
        """
        if not self.lost.called:
            self.transport.abortConnection()
        return self.lost


def http_request(method, path, body=None, upgrade=True, headers=(), host="docker"):
    """
    The bytes of a raw HTTP/1.1 request (what a Docker client sends to
    hijack a connection).

    @param body: a JSON-able value, C{bytes}, or L{None}.
    @param upgrade: ask for C{Connection: Upgrade} / C{Upgrade: tcp}.
    @param headers: more C{"Name: value"} lines.
    """
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: " + host]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    data = b""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        lines += ["Content-Type: application/json", "Content-Length: %d" % (len(data),)]
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data


def frame(stream, data):
    """
    @return: one frame of a multiplexed stream.
    """
    return bytes((stream, 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def parse_head(head):
    """
    @return: C{(status line, {lower-case name: value})} of a raw head.
    """
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _tar_names(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return [m.name for m in archive.getmembers()]


def _tar_files(data):
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive.getmembers()
                if m.isreg()}


class _StreamCalls:
    """
    Hijacked and streamed calls, and waiting for a state to come.
    """

    @inlineCallbacks
    def hijack(self, method, path, body=None, upgrade=True, headers=(), version=API_VERSION):
        """
        Open a connection of its own to the engine and send one request on
        it, to be hijacked.

        @return: a L{Deferred} firing with the L{HijackedStream} (closed
            after the test).
        """
        stream = yield connectProtocol(self.client.endpoint, HijackedStream())
        self.addCleanup(stream.close)
        stream.send(http_request(method, "/v%s%s" % (version, path), body, upgrade, headers))
        return stream

    @inlineCallbacks
    def eventually(self, check, what):
        """
        Call C{check()} (which may return a L{Deferred}) until it gives a
        true value.

        @return: a L{Deferred} firing with that value.
        """
        for _ in range(int(PATIENCE / 0.05)):
            value = yield maybeDeferred(check)
            if value:
                return value
            yield deferLater(_reactor(), 0.05, lambda: None)
        self.fail("%s never happened" % (what,))

    @inlineCallbacks
    def exec_create(self, cid, cmd, **config):
        """
        @return: a L{Deferred} firing with a new exec instance's ID.
        """
        body = {"Cmd": list(cmd)}
        body.update(config)
        _, created = yield self.call_json("POST", "/containers/%s/exec" % (cid,), body,
                                          status=201)
        return created["Id"]

    @inlineCallbacks
    def exec_ended(self, exec_id):
        """
        @return: a L{Deferred} firing with the exec's inspect once it ended.
        """
        def ended():
            return self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200).addCallback(
                lambda answer: answer[1] if answer[1]["ExitCode"] is not None else None)

        return (yield self.eventually(ended, "the end of exec %s" % (exec_id,)))


class ExecConformance:
    """
    The exec routes, as every engine answers them.
    """

    @inlineCallbacks
    def test_exec_create_inspect(self):
        """
        An exec is created in a running container, listed in its ExecIDs, inspected unstarted.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["echo", "hi"], AttachStdout=True,
                                         AttachStderr=True, User="root", DetachKeys="ctrl-x")
        self.assertRegex(exec_id, r"^[0-9a-f]{64}$")
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200)
        self.assertEqual(inspected, {
            "ID": exec_id, "Running": False, "ExitCode": None,
            "ProcessConfig": {"tty": False, "entrypoint": "echo", "arguments": ["hi"],
                              "privileged": False, "user": "root"},
            "OpenStdin": False, "OpenStderr": True, "OpenStdout": True, "CanRemove": False,
            "ContainerID": cid, "DetachKeys": "GA==", "Pid": 0})
        container = yield self.client.inspect_container(cid)
        self.assertEqual(container["ExecIDs"], [exec_id])
        found = yield self.seen(events, [("container", "exec_create: echo hi", cid)])
        self.assertEqual(found[0]["Actor"]["Attributes"]["execID"], exec_id)

    @inlineCallbacks
    def test_exec_create_refused(self):
        """
        An exec needs a command, a JSON body and a running, unpaused container.
        """
        cid, name = yield self.started(["sleep", "300"])
        path = "/containers/%s/exec" % (cid,)
        message = yield self.refused("POST", path, {"AttachStdout": True}, status=400)
        self.assertEqual(message, "No exec command specified")
        message = yield self.refused("POST", path, b"", status=400,
                                     content_type="application/json")
        self.assertEqual(message, "got EOF while reading request body")
        message = yield self.refused("POST", path, {"Cmd": "true"}, status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "ExecConfig.Cmd of type []string")
        message = yield self.refused("POST", path, b'{"Cmd":["true"]}', status=400,
                                     content_type="text/plain")
        self.assertEqual(message, "Content-Type specified (text/plain) must be "
                                  "'application/json'")
        ghost = self.unique("ghost")
        message = yield self.refused("POST", "/containers/%s/exec" % (ghost,),
                                     {"Cmd": ["true"]}, status=404)
        self.assertEqual(message, "No such container: " + ghost)
        idle, idle_name = yield self.create(["sleep", "300"])
        message = yield self.refused("POST", "/containers/%s/exec" % (idle_name,),
                                     {"Cmd": ["true"]}, status=409)
        self.assertEqual(message, "Container %s is not running" % (idle,))
        yield self.client.pause_container(cid)
        message = yield self.refused("POST", "/containers/%s/exec" % (name,),
                                     {"Cmd": ["true"]}, status=409)
        self.assertEqual(message, "Container %s is paused, unpause the container before exec"
                         % (name,))

    @inlineCallbacks
    def test_exec_start_detached(self):
        """
        A detached start answers 200 at once; the exec runs, ends, and cannot start again.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["sleep", "1"])
        code, headers, body = yield self.call("POST", "/exec/%s/start" % (exec_id,),
                                              {"Detach": True})
        self.assertEqual((code, body), (200, b""))
        _, running = yield self.call_json("GET", "/exec/%s/json" % (exec_id,), status=200)
        self.assertEqual((running["Running"], running["ExitCode"]), (True, None))
        self.assertGreater(running["Pid"], 0)
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Error: Exec command %s is already running" % (exec_id,))
        ended = yield self.exec_ended(exec_id)
        self.assertEqual((ended["Running"], ended["ExitCode"], ended["Pid"]),
                         (False, 0, running["Pid"]))
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Error: Exec command %s has already run" % (exec_id,))
        self.assertIsNone((yield self.client.inspect_container(cid))["ExecIDs"])
        found = yield self.seen(events, [("container", "exec_start: sleep 1", cid),
                                         ("container", "exec_die", cid)])
        self.assertEqual((found[1]["Actor"]["Attributes"]["execID"],
                          found[1]["Actor"]["Attributes"]["exitCode"]), (exec_id, "0"))

    @inlineCallbacks
    def test_exec_start_stream(self):
        """
        A start with Upgrade is answered 101 and the multiplexed output, then the engine ends it.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["sh", "-c", "echo out; echo err >&2; exit 3"],
                                         AttachStdout=True, AttachStderr=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,),
                                   {"Detach": False, "Tty": False})
        status, headers = parse_head((yield stream.wait_head()))
        self.assertEqual(status, "HTTP/1.1 101 UPGRADED")
        self.assertEqual((headers["content-type"], headers["connection"], headers["upgrade"]),
                         ("application/vnd.docker.raw-stream", "Upgrade", "tcp"))
        self.assertEqual(headers["api-version"], API_VERSION)
        yield stream.wait_end()
        self.assertTrue(stream.peer_closed)
        self.assertEqual(sorted(demux(stream.body)), [(1, b"out\n"), (2, b"err\n")])
        self.assertEqual((yield self.exec_ended(exec_id))["ExitCode"], 3)

    @inlineCallbacks
    def test_exec_start_plain(self):
        """
        A start without Upgrade is answered 200 OK with the raw stream; a TTY exec's is raw.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["echo", "plain"], AttachStdout=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,), {"Detach": False},
                                   upgrade=False)
        status, headers = parse_head((yield stream.wait_head()))
        self.assertEqual((status, headers["content-type"]),
                         ("HTTP/1.1 200 OK", "application/vnd.docker.raw-stream"))
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"plain\n")])
        tty_id = yield self.exec_create(cid, ["echo", "tty"], AttachStdout=True, Tty=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (tty_id,),
                                   {"Detach": False, "Tty": True})
        yield stream.wait_end()
        self.assertEqual(stream.body, b"tty\r\n")

    @inlineCallbacks
    def test_exec_stdin(self):
        """
        cat with an attached stdin echoes what is sent; closing stdin ends it with 0.
        """
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["cat"], AttachStdin=True, AttachStdout=True,
                                         AttachStderr=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (exec_id,),
                                   {"Detach": False, "Tty": False})
        yield stream.wait_head()
        stream.send(b"hello\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"hello\n")))
        self.assertFalse(stream.ended.called)
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"hello\n")])
        self.assertEqual((yield self.exec_ended(exec_id))["ExitCode"], 0)

    @inlineCallbacks
    def test_exec_command_not_found(self):
        """
        A command missing from the image: 400 detached, the error in the stream attached; 126.
        """
        cid, _ = yield self.started(["sleep", "300"])
        expected = ('OCI runtime exec failed: exec failed: unable to start container process: '
                    'exec: "nosuchcmd": executable file not found in $PATH: unknown')
        detached = yield self.exec_create(cid, ["nosuchcmd"])
        message = yield self.refused("POST", "/exec/%s/start" % (detached,), {"Detach": True},
                                     status=400)
        self.assertEqual(message, expected)
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (detached,), status=200)
        self.assertEqual((inspected["ExitCode"], inspected["Running"], inspected["Pid"]),
                         (126, False, 0))
        attached = yield self.exec_create(cid, ["nosuchcmd"], AttachStdout=True)
        stream = yield self.hijack("POST", "/exec/%s/start" % (attached,), {"Detach": False})
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, expected.encode("ascii") + b"\r\n")])

    @inlineCallbacks
    def test_exec_refused(self):
        """
        Unknown execs are 404 on start, inspect and resize; bodies and sizes are checked.
        """
        ghost = uuid.uuid4().hex
        for method, path, body in (("POST", "/exec/%s/start", {"Detach": True}),
                                   ("GET", "/exec/%s/json", None),
                                   ("POST", "/exec/%s/resize?h=10&w=20", None)):
            message = yield self.refused(method, path % (ghost,), body, status=404)
            self.assertEqual(message, "No such exec instance: " + ghost)
        cid, _ = yield self.started(["sleep", "300"])
        exec_id = yield self.exec_create(cid, ["true"])
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), b"", status=400,
                                     content_type="application/json")
        self.assertEqual(message, "got EOF while reading request body")
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": "yes"},
                                     status=400)
        self.assertEqual(message, "json: cannot unmarshal string into Go struct field "
                                  "ExecStartCheck.Detach of type bool")
        message = yield self.refused("POST", "/exec/%s/resize?h=x&w=20" % (exec_id,),
                                     status=400)
        self.assertEqual(message, 'strconv.Atoi: parsing "x": invalid syntax')
        message = yield self.refused("POST", "/exec/%s/resize" % (exec_id,), status=400)
        self.assertEqual(message, 'strconv.Atoi: parsing "": invalid syntax')
        yield self.client.pause_container(cid)
        message = yield self.refused("POST", "/exec/%s/start" % (exec_id,), {"Detach": True},
                                     status=409)
        self.assertEqual(message, "Container %s is paused, unpause the container before exec"
                         % (cid,))
        yield self.client.unpause_container(cid)

    @inlineCallbacks
    def test_exec_resize(self):
        """
        A running exec resizes (200, no body); an ended one is 404 "no such exec".
        """
        cid, _ = yield self.started(["sleep", "300"])
        long = yield self.exec_create(cid, ["sleep", "300"], Tty=True)
        yield self.call("POST", "/exec/%s/start" % (long,), {"Detach": True, "Tty": True})
        code, _, body = yield self.call("POST", "/exec/%s/resize?h=10&w=20" % (long,))
        self.assertEqual((code, body), (200, b""))
        short = yield self.exec_create(cid, ["true"])
        yield self.call("POST", "/exec/%s/start" % (short,), {"Detach": True})
        yield self.exec_ended(short)

        @inlineCallbacks
        def forgotten():
            # dockerd says "cannot resize a stopped container" (500) until
            # containerd has deleted the ended process.
            code, _, body = yield self.call("POST", "/exec/%s/resize?h=10&w=20" % (short,))
            return (code, json.loads(body)["message"]) == (404, "no such exec")

        self.assertTrue((yield self.eventually(forgotten, "a 404 for the ended exec")))

    @inlineCallbacks
    def test_exec_after_stop(self):
        """
        Once its container stopped, an exec never started is gone; an ended one inspects.
        """
        cid, _ = yield self.started(["sleep", "300"])
        done = yield self.exec_create(cid, ["true"])
        yield self.call("POST", "/exec/%s/start" % (done,), {"Detach": True})
        yield self.exec_ended(done)
        waiting = yield self.exec_create(cid, ["true"])
        yield self.client.stop_container(cid, timeout=0)
        for method, path, body in (("GET", "/exec/%s/json", None),
                                   ("POST", "/exec/%s/start", {"Detach": True}),
                                   ("POST", "/exec/%s/resize?h=1&w=1", None)):
            message = yield self.refused(method, path % (waiting,), body, status=404)
            self.assertEqual(message, "No such exec instance: " + waiting)
        _, inspected = yield self.call_json("GET", "/exec/%s/json" % (done,), status=200)
        self.assertEqual((inspected["ExitCode"], inspected["ContainerID"]), (0, cid))


class AttachConformance:
    """
    The attach routes (hijacked), as every engine answers them.
    """

    @inlineCallbacks
    def attached(self, cid, query="stream=1&stdout=1&stderr=1", upgrade=True, events=None):
        """
        Attach to a container and wait until the engine has (its attach
        event came).

        @return: a L{Deferred} firing with the L{HijackedStream}.
        """
        if events is None:
            events = yield self.watch({"type": ["container"], "container": [cid]})
        before = len([e for e in events if e["Action"] == "attach"])
        stream = yield self.hijack("POST", "/containers/%s/attach?%s" % (cid, query),
                                   upgrade=upgrade)
        yield stream.wait_head()
        yield self.eventually(
            lambda: len([e for e in events if e["Action"] == "attach"]) > before,
            "the attach event")
        return stream

    @inlineCallbacks
    def test_attach_then_start(self):
        """
        Attached before its start, a client gets the output in frames; the engine then ends it.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.create(["sh", "-c", "echo hi; echo err >&2"])
        stream = yield self.attached(cid, events=events)
        status, headers = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 101 UPGRADED")
        self.assertEqual(headers, {"content-type": "application/vnd.docker.raw-stream",
                                   "connection": "Upgrade", "upgrade": "tcp"})
        yield self.client.start_container(cid)
        yield stream.wait_end()
        self.assertTrue(stream.peer_closed)
        self.assertEqual(sorted(demux(stream.body)), [(1, b"hi\n"), (2, b"err\n")])
        yield self.seen(events, [("container", "attach", cid), ("container", "start", cid),
                                 ("container", "die", cid)])

    @inlineCallbacks
    def test_attach_logs(self):
        """
        logs=1&stream=0 replays the output and ends; without Upgrade the head is 200 OK.
        """
        cid, _ = yield self.started(["sh", "-c", "echo hi; echo err >&2"])
        yield self.wait(cid)
        stream = yield self.hijack("POST", "/containers/%s/attach?logs=1&stream=0&stdout=1"
                                   % (cid,), upgrade=False)
        yield stream.wait_end()
        status, headers = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(headers, {"content-type": "application/vnd.docker.raw-stream"})
        self.assertEqual(demux(stream.body), [(1, b"hi\n")])

    @inlineCallbacks
    def test_attach_stdin_once(self):
        """
        With StdinOnce, closing the attached stdin closes cat's: it exits 0 and the stream ends.
        """
        cid, _ = yield self.started(["cat"], OpenStdin=True, StdinOnce=True, AttachStdin=True)
        stream = yield self.attached(cid, "stream=1&stdin=1&stdout=1&stderr=1")
        stream.send(b"hello\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"hello\n")))
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual(demux(stream.body), [(1, b"hello\n")])
        self.assertEqual((yield self.wait(cid))["StatusCode"], 0)

    @inlineCallbacks
    def test_attach_stdin_kept(self):
        """
        Without StdinOnce, closing the attached stdin ends the stream, not the container.
        """
        cid, _ = yield self.started(["cat"], OpenStdin=True)
        stream = yield self.attached(cid, "stream=1&stdin=1&stdout=1&stderr=1")
        stream.send(b"kept\n")
        yield stream.wait_for(lambda data: data.endswith(frame(1, b"kept\n")))
        stream.close_write()
        yield stream.wait_end()
        self.assertEqual((yield self.state(cid))["Status"], "running")

    @inlineCallbacks
    def test_attach_tty(self):
        """
        The output of a TTY container comes raw, lines ending in CRLF.
        """
        cid, _ = yield self.create(["echo", "tty"], Tty=True)
        stream = yield self.attached(cid)
        yield self.client.start_container(cid)
        yield stream.wait_end()
        self.assertEqual(stream.body, b"tty\r\n")

    @inlineCallbacks
    def test_attach_refused(self):
        """
        An unknown or paused container is refused after the hijack, as a raw head and text.
        """
        ghost = self.unique("ghost")
        stream = yield self.hijack("POST", "/containers/%s/attach?stream=1&stdout=1" % (ghost,))
        yield stream.wait_end()
        self.assertEqual(stream.received, b"HTTP/1.1 404 Not Found\r\nContent-Type: "
                         b"application/vnd.docker.raw-stream\r\n\r\nNo such container: "
                         + ghost.encode("ascii") + b"\r\n")
        cid, name = yield self.started(["sleep", "300"])
        yield self.client.pause_container(cid)
        stream = yield self.hijack("POST", "/containers/%s/attach?stream=1&stdout=1" % (name,))
        yield stream.wait_end()
        status, _ = parse_head(stream.head)
        self.assertEqual(status, "HTTP/1.1 409 Conflict")
        self.assertEqual(stream.body, ("container %s is paused, unpause the container before "
                                       "attach\r\n" % (name,)).encode("ascii"))

    @inlineCallbacks
    def test_attach_ws(self):
        """
        attach/ws answers the WebSocket handshake, sends binary frames, then a close frame.
        """
        events = yield self.watch({"type": ["container"]})
        cid, _ = yield self.create(["sh", "-c", "echo one; echo two"])
        key = base64.b64encode(uuid.uuid4().bytes).decode("ascii")
        stream = yield self.hijack(
            "GET", "/containers/%s/attach/ws?stream=1&stdout=1&stderr=1" % (cid,), upgrade=False,
            headers=["Upgrade: websocket", "Connection: Upgrade",
                     "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13",
                     "Origin: http://localhost"])
        status, headers = parse_head((yield stream.wait_head()))
        accept = base64.b64encode(hashlib.sha1(
            key.encode("ascii") + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        self.assertEqual(status, "HTTP/1.1 101 Switching Protocols")
        self.assertEqual(headers["sec-websocket-accept"], accept.decode("ascii"))
        yield self.seen(events, [("container", "attach", cid)])
        yield self.client.start_container(cid)
        yield stream.wait_end()
        frames = []
        data = stream.body
        while data:
            opcode, size = data[0], data[1]
            self.assertLess(size, 126)
            frames.append((opcode, data[2:2 + size]))
            data = data[2 + size:]
        self.assertEqual(frames[-1], (0x88, b"\x03\xe8"))
        self.assertEqual({opcode for opcode, _ in frames[:-1]}, {0x82})
        self.assertEqual(b"".join(payload for _, payload in frames[:-1]), b"one\ntwo\n")
        ghost = self.unique("ghost")
        message = yield self.refused("GET", "/containers/%s/attach/ws?stream=1" % (ghost,),
                                     status=404)
        self.assertEqual(message, "No such container: " + ghost)


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


class _LineCollector(Protocol):
    """
    Collect the first C{count} JSON lines of a streamed body, then drop the
    connection.
    """

    def __init__(self, count):
        self.count = count
        self.buffer = b""
        self.done = Deferred()

    def dataReceived(self, data):
        self.buffer += data
        lines = [line for line in self.buffer.split(b"\n")[:-1] if line.strip()]
        if len(lines) >= self.count and not self.done.called:
            self.transport.stopProducing()
            self.done.callback([json.loads(line) for line in lines[:self.count]])

    def connectionLost(self, reason):
        if not self.done.called:
            self.done.errback(reason)


def make_iengine_tests(fixture, registry=None):
    """
    Build the conformance suite of L{IEngineClient}: the interface's calls,
    and (as raw calls through C{request}) the network, volume, image, build,
    push, search and login routes the manager proxies.

    @param fixture: called as C{fixture(testcase)}; returns a L{Deferred}
        firing with an L{IEngineClient} talking to the engine under test
        (with C{busybox:latest} present), after registering on C{testcase}
        whatever cleanup the engine and client need.
    @param registry: L{None}, or called as C{registry(testcase)}, returning
        (or firing with) the C{host:port} of a registry the engine can push
        to, pull from and log in to (the push test is skipped without).
    @return: a L{TestCase} subclass; subclass it in a test module to run it.
    """

    class IEngineClientTests(ExecConformance, AttachConformance, FileConformance,
                             ContainerOpsConformance, ImageConformance, NetworkConformance,
                             VolumeConformance, _StreamCalls, _RawCalls, TestCase):
        """
        Behaviour every Docker engine shows through L{IEngineClient}.
        """

        timeout = 120

        @inlineCallbacks
        def setUp(self):
            self.client = yield fixture(self)
            self.made = []
            # Registered first, so they go after the containers using them.
            self.track_objects()
            self.addCleanup(self._remove_made)

        def registry_host(self):
            """
            @return: a L{Deferred} firing with the registry's C{host:port},
                or L{None}.
            """
            if registry is None:
                return maybeDeferred(lambda: None)
            return maybeDeferred(registry, self)

        @inlineCallbacks
        def _remove_made(self):
            for cid in reversed(self.made):
                try:
                    yield self.client.remove_container(cid, force=True, volumes=True)
                except EngineError as e:
                    if e.status != 404:
                        raise

        # -- helpers --------------------------------------------------------------------

        def unique(self, what="c"):
            """
            @return: a container name no other test or run uses.
            """
            return "conf-%s-%s" % (what, uuid.uuid4().hex[:10])

        @inlineCallbacks
        def create(self, cmd, name=None, **config):
            """
            Create a busybox container running C{cmd}, removed after the test.

            @return: a L{Deferred} firing with C{(id, name)}.
            """
            name = name or self.unique()
            body = {"Image": "busybox", "Cmd": list(cmd)}
            body.update(config)
            created = yield self.client.create_container(body, name=name)
            self.made.append(created["Id"])
            return created["Id"], name

        @inlineCallbacks
        def started(self, cmd, **config):
            cid, name = yield self.create(cmd, **config)
            yield self.client.start_container(cid)
            return cid, name

        @inlineCallbacks
        def state(self, cid):
            inspected = yield self.client.inspect_container(cid)
            return inspected["State"]

        @inlineCallbacks
        def assertEngineError(self, d, status):
            """
            Check C{d} fails with an L{EngineError} of C{status}.

            @return: a L{Deferred} firing with the error.
            """
            try:
                result = yield d
            except EngineError as e:
                self.assertEqual(e.status, status, "wrong status, message %r" % (e.message,))
                return e
            self.fail("expected EngineError %d, got %r" % (status, result))

        def wait(self, cid):
            return self.client.wait_container(cid).addTimeout(PATIENCE, _reactor())

        # -- the interface ------------------------------------------------------------

        def test_conforms_to_interface(self):
            """
            The client provides IEngineClient.
            """
            self.assertTrue(verifyObject(IEngineClient, self.client))

        # -- system -------------------------------------------------------------------

        @inlineCallbacks
        def test_ping(self):
            """
            ping fires with None.
            """
            self.assertIsNone((yield self.client.ping()))

        @inlineCallbacks
        def test_version(self):
            """
            version gives the engine's ApiVersion and fixes the client's.
            """
            version = yield self.client.version()
            self.assertRegex(version["ApiVersion"], r"^1\.\d+$")
            self.assertTrue(version["Version"])
            self.assertEqual(version["Os"], "linux")
            self.assertRegex(self.client.api_version, r"^1\.\d+$")
            theirs = tuple(int(p) for p in version["ApiVersion"].split("."))
            ours = tuple(int(p) for p in self.client.api_version.split("."))
            self.assertLessEqual(ours, theirs)

        @inlineCallbacks
        def test_info(self):
            """
            info carries ID, Name, Labels ("k=v" strings), NCPU and MemTotal.
            """
            info = yield self.client.info()
            self.assertRegex(info["ID"], r"^([A-Z0-9]{4}:){11}[A-Z0-9]{4}$")
            self.assertTrue(info["Name"])
            self.assertIsInstance(info["Labels"], list)
            for label in info["Labels"]:
                self.assertIn("=", label)
            self.assertGreater(info["NCPU"], 0)
            self.assertGreater(info["MemTotal"], 0)
            for key in ("Containers", "ContainersRunning", "ContainersPaused",
                        "ContainersStopped", "Images"):
                self.assertIsInstance(info[key], int)

        @inlineCallbacks
        def test_info_counts(self):
            """
            info counts a new running container among Containers and Running.
            """
            before = yield self.client.info()
            yield self.started(["sleep", "300"])
            after = yield self.client.info()
            self.assertEqual(after["Containers"], before["Containers"] + 1)
            self.assertEqual(after["ContainersRunning"], before["ContainersRunning"] + 1)
            self.assertEqual(after["Containers"], after["ContainersRunning"]
                             + after["ContainersPaused"] + after["ContainersStopped"])

        # -- create and inspect -------------------------------------------------------

        @inlineCallbacks
        def test_create_inspect(self):
            """
            A created container inspects with its name, config and a created state.
            """
            name = self.unique()
            created = yield self.client.create_container(
                {"Image": "busybox", "Cmd": ["sleep", "300"], "Labels": {"conf": "yes"},
                 "Env": ["A=1"], "HostConfig": {"CpuShares": 512, "Memory": 64 * 1024 ** 2}},
                name=name)
            self.made.append(created["Id"])
            self.assertRegex(created["Id"], r"^[0-9a-f]{64}$")
            self.assertEqual(created["Warnings"], [])
            inspected = yield self.client.inspect_container(name)
            self.assertEqual(inspected["Id"], created["Id"])
            self.assertEqual(inspected["Name"], "/" + name)
            self.assertRegex(inspected["Created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
            self.assertRegex(inspected["Image"], r"^sha256:[0-9a-f]{64}$")
            self.assertEqual(inspected["Path"], "sleep")
            self.assertEqual(inspected["Args"], ["300"])
            state = inspected["State"]
            self.assertEqual(
                (state["Status"], state["Running"], state["Paused"], state["Restarting"],
                 state["ExitCode"], state["Pid"]),
                ("created", False, False, False, 0, 0))
            self.assertEqual(state["StartedAt"], "0001-01-01T00:00:00Z")
            config = inspected["Config"]
            self.assertEqual(config["Image"], "busybox")
            self.assertEqual(config["Cmd"], ["sleep", "300"])
            self.assertEqual(config["Labels"], {"conf": "yes"})
            self.assertIn("A=1", config["Env"])
            self.assertIs(config["Tty"], False)
            host = inspected["HostConfig"]
            self.assertEqual(host["CpuShares"], 512)
            self.assertEqual(host["Memory"], 64 * 1024 ** 2)
            self.assertEqual(host["NetworkMode"], "default")
            self.assertIn("Ports", inspected["NetworkSettings"])
            self.assertIn("bridge", inspected["NetworkSettings"]["Networks"])

        @inlineCallbacks
        def test_inspect_by_id_prefix(self):
            """
            A container is found by a unique prefix of its ID.
            """
            cid, name = yield self.create(["true"])
            inspected = yield self.client.inspect_container(cid[:16])
            self.assertEqual(inspected["Name"], "/" + name)

        @inlineCallbacks
        def test_port_bindings(self):
            """
            Port bindings are kept in HostConfig and published while running.
            """
            cid, _ = yield self.started(
                ["sleep", "300"], ExposedPorts={"80/tcp": {}},
                HostConfig={"PortBindings": {"80/tcp": [{"HostPort": ""}]}})
            inspected = yield self.client.inspect_container(cid)
            self.assertEqual(inspected["HostConfig"]["PortBindings"],
                             {"80/tcp": [{"HostIp": "", "HostPort": ""}]})
            published = inspected["NetworkSettings"]["Ports"]["80/tcp"]
            self.assertTrue(published)
            self.assertGreater(int(published[0]["HostPort"]), 0)
            listed = yield self.client.list_containers(filters={"id": [cid]})
            self.assertIn(80, [p["PrivatePort"] for p in listed[0]["Ports"]])

        @inlineCallbacks
        def test_duplicate_name(self):
            """
            A second create with a name in use fails with 409 naming the holder.
            """
            cid, name = yield self.create(["true"])
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox", "Cmd": ["true"]}, name=name),
                409)
            self.assertIn('"/%s" is already in use' % (name,), error.message)
            self.assertIn(cid, error.message)

        @inlineCallbacks
        def test_invalid_name(self):
            """
            A one-character name is refused with 400.
            """
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox"}, name="x"), 400)
            self.assertIn("Invalid container name (x)", error.message)

        @inlineCallbacks
        def test_create_missing_image(self):
            """
            Creating from an image the engine lacks fails with 404 No such image.
            """
            error = yield self.assertEngineError(
                self.client.create_container({"Image": "busybox:nope"}, name=self.unique()),
                404)
            self.assertEqual(error.message, "No such image: busybox:nope")

        @inlineCallbacks
        def test_inspect_missing(self):
            """
            Inspecting an unknown container fails with 404 No such container.
            """
            name = self.unique()
            error = yield self.assertEngineError(self.client.inspect_container(name), 404)
            self.assertEqual(error.message, "No such container: " + name)

        # -- life cycle -------------------------------------------------------------------

        @inlineCallbacks
        def test_start_running(self):
            """
            A started sleep is running with a pid and a start time.
            """
            cid, _ = yield self.started(["sleep", "300"])
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("running", True, False))
            self.assertGreater(state["Pid"], 0)
            self.assertNotEqual(state["StartedAt"], "0001-01-01T00:00:00Z")
            self.assertEqual(state["FinishedAt"], "0001-01-01T00:00:00Z")

        @inlineCallbacks
        def test_start_twice(self):
            """
            Starting a running container again succeeds (dockerd's 304).
            """
            cid, _ = yield self.started(["sleep", "300"])
            self.assertIsNone((yield self.client.start_container(cid)))
            self.assertTrue((yield self.state(cid))["Running"])

        @inlineCallbacks
        def test_echo_exits_zero_with_output(self):
            """
            echo hello: wait gives StatusCode 0, logs one stdout frame "hello\\n".
            """
            cid, _ = yield self.started(["echo", "hello"])
            result = yield self.wait(cid)
            self.assertEqual(result["StatusCode"], 0)
            logs = yield self.client.container_logs(cid)
            self.assertEqual(demux(logs), [(1, b"hello\n")])
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["ExitCode"]), ("exited", 0))
            self.assertNotEqual(state["FinishedAt"], "0001-01-01T00:00:00Z")

        @inlineCallbacks
        def test_exit_code(self):
            """
            sh -c "exit 3" ends with StatusCode 3.
            """
            cid, _ = yield self.started(["sh", "-c", "exit 3"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 3)
            self.assertEqual((yield self.state(cid))["ExitCode"], 3)

        @inlineCallbacks
        def test_false(self):
            """
            false ends with StatusCode 1.
            """
            cid, _ = yield self.started(["false"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 1)

        @inlineCallbacks
        def test_shell_needs_stdin(self):
            """
            sh with no open stdin exits 0 at once; with OpenStdin and a TTY it runs.
            """
            quits, _ = yield self.started(["sh"])
            self.assertEqual((yield self.wait(quits))["StatusCode"], 0)
            stays, _ = yield self.started(["sh"], OpenStdin=True, Tty=True)
            self.assertTrue((yield self.state(stays))["Running"])
            listed = yield self.client.list_containers(all=False, filters={"id": [stays]})
            self.assertEqual(listed[0]["Command"], "sh")

        @inlineCallbacks
        def test_stderr_logs(self):
            """
            Output to stderr comes in stream-2 frames, kept apart from stdout.
            """
            cid, _ = yield self.started(["sh", "-c", "echo out; echo err >&2"])
            yield self.wait(cid)
            both = demux((yield self.client.container_logs(cid)))
            self.assertEqual(sorted(both), [(1, b"out\n"), (2, b"err\n")])
            only = demux((yield self.client.container_logs(cid, stdout=False)))
            self.assertEqual(only, [(2, b"err\n")])

        @inlineCallbacks
        def test_logs_tail(self):
            """
            tail=1 gives the last line only.
            """
            cid, _ = yield self.started(["sh", "-c", "echo one; echo two"])
            yield self.wait(cid)
            logs = yield self.client.container_logs(cid, stderr=False, tail=1)
            self.assertEqual(demux(logs), [(1, b"two\n")])

        @inlineCallbacks
        def test_tty_logs_raw(self):
            """
            With a TTY the logs are raw bytes, lines ending in CRLF.
            """
            cid, _ = yield self.started(["echo", "hi"], Tty=True)
            yield self.wait(cid)
            self.assertEqual((yield self.client.container_logs(cid)), b"hi\r\n")

        @inlineCallbacks
        def test_wait_created(self):
            """
            Waiting on a never-started container answers at once with 0.
            """
            cid, _ = yield self.create(["sleep", "300"])
            self.assertEqual((yield self.wait(cid))["StatusCode"], 0)

        @inlineCallbacks
        def test_stop(self):
            """
            Stopping sleep 300 (which ignores SIGTERM as PID 1) kills it: 137.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.stop_container(cid, timeout=1)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["ExitCode"]),
                             ("exited", False, 137))

        @inlineCallbacks
        def test_stop_stopped(self):
            """
            Stopping a container that is not running succeeds (dockerd's 304).
            """
            cid, _ = yield self.create(["sleep", "300"])
            self.assertIsNone((yield self.client.stop_container(cid, timeout=0)))
            self.assertEqual((yield self.state(cid))["Status"], "created")

        @inlineCallbacks
        def test_pause_unpause(self):
            """
            pause shows Paused (still Running); unpause makes it running again.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.pause_container(cid)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("paused", True, True))
            listed = yield self.client.list_containers(all=False, filters={"id": [cid]})
            self.assertEqual([c["State"] for c in listed], ["paused"])
            yield self.client.unpause_container(cid)
            state = yield self.state(cid)
            self.assertEqual((state["Status"], state["Running"], state["Paused"]),
                             ("running", True, False))

        @inlineCallbacks
        def test_pause_errors(self):
            """
            Pausing a stopped container is 409; unpausing one not paused fails.
            """
            cid, _ = yield self.create(["sleep", "300"])
            error = yield self.assertEngineError(self.client.pause_container(cid), 409)
            self.assertEqual(error.message, "Container %s is not running" % (cid,))
            error = yield self.assertEngineError(self.client.unpause_container(cid), 500)
            self.assertEqual(error.message, "Container %s is not paused" % (cid,))

        @inlineCallbacks
        def test_start_paused(self):
            """
            Starting a paused container is 409.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.pause_container(cid)
            error = yield self.assertEngineError(self.client.start_container(cid), 409)
            self.assertEqual(error.message, "cannot start a paused container, try unpause "
                                            "instead")

        @inlineCallbacks
        def test_kill(self):
            """
            kill ends a container with 137; killing it again is 409.
            """
            cid, name = yield self.started(["sleep", "300"])
            yield self.client.kill_container(cid)
            self.assertEqual((yield self.wait(cid))["StatusCode"], 137)
            state = yield self.state(cid)
            self.assertEqual((state["Running"], state["ExitCode"]), (False, 137))
            error = yield self.assertEngineError(self.client.kill_container(name), 409)
            self.assertEqual(error.message, "Cannot kill container: %s: Container %s is not "
                                            "running" % (name, cid))

        @inlineCallbacks
        def test_kill_bad_signal(self):
            """
            An unknown signal is refused with 400.
            """
            cid, _ = yield self.started(["sleep", "300"])
            error = yield self.assertEngineError(
                self.client.kill_container(cid, signal="BOGUS"), 400)
            self.assertEqual(error.message, "Invalid signal: BOGUS")
            self.assertTrue((yield self.state(cid))["Running"])

        @inlineCallbacks
        def test_restart(self):
            """
            restart of a running container starts it again, with a new start time.
            """
            cid, _ = yield self.started(["sleep", "300"])
            first = (yield self.state(cid))["StartedAt"]
            yield self.client.restart_container(cid, timeout=0)
            state = yield self.state(cid)
            self.assertEqual(state["Status"], "running")
            self.assertGreater(state["StartedAt"], first)

        @inlineCallbacks
        def test_restart_stopped(self):
            """
            restart of an exited container starts it.
            """
            cid, _ = yield self.started(["sleep", "300"])
            yield self.client.kill_container(cid)
            yield self.wait(cid)
            yield self.client.restart_container(cid, timeout=0)
            self.assertEqual((yield self.state(cid))["Status"], "running")

        @inlineCallbacks
        def test_remove(self):
            """
            Removing a running container needs force (409 without); then it is gone (404).
            """
            cid, name = yield self.started(["sleep", "300"])
            error = yield self.assertEngineError(self.client.remove_container(cid), 409)
            self.assertIn("You cannot remove a running container " + cid, error.message)
            self.assertTrue((yield self.state(cid))["Running"])
            yield self.client.remove_container(cid, force=True)
            yield self.assertEngineError(self.client.inspect_container(cid), 404)
            yield self.assertEngineError(self.client.inspect_container(name), 404)

        @inlineCallbacks
        def test_remove_frees_name(self):
            """
            A removed container's name can be used again.
            """
            cid, name = yield self.create(["true"])
            yield self.client.remove_container(cid)
            again, _ = yield self.create(["true"], name=name)
            self.assertNotEqual(again, cid)

        # -- lists ------------------------------------------------------------------------

        @inlineCallbacks
        def test_list_containers(self):
            """
            The list holds stopped containers only with all; a name filter selects.
            """
            running, running_name = yield self.started(["sleep", "300"])
            stopped, stopped_name = yield self.create(["true"])
            every = yield self.client.list_containers(all=True)
            ids = [c["Id"] for c in every]
            self.assertIn(running, ids)
            self.assertIn(stopped, ids)
            active = [c["Id"] for c in (yield self.client.list_containers(all=False))]
            self.assertIn(running, active)
            self.assertNotIn(stopped, active)
            named = yield self.client.list_containers(all=True,
                                                      filters={"name": [stopped_name]})
            self.assertEqual([c["Id"] for c in named], [stopped])
            summary = [c for c in every if c["Id"] == running][0]
            self.assertEqual(summary["Names"], ["/" + running_name])
            self.assertEqual(summary["Image"], "busybox")
            self.assertEqual(summary["Command"], "sleep 300")
            self.assertEqual(summary["State"], "running")
            self.assertTrue(summary["Status"].startswith("Up "))
            self.assertIsInstance(summary["Created"], int)

        @inlineCallbacks
        def test_list_filters(self):
            """
            status, id and label filters select as dockerd does.
            """
            labelled, _ = yield self.create(["true"], Labels={"conf-filter": "x"})
            started, _ = yield self.started(["sleep", "300"], Labels={"conf-filter": "y"})
            created = yield self.client.list_containers(
                all=True, filters={"status": ["created"], "label": ["conf-filter"]})
            self.assertEqual([c["Id"] for c in created], [labelled])
            by_label = yield self.client.list_containers(
                all=True, filters={"label": ["conf-filter=y"]})
            self.assertEqual([c["Id"] for c in by_label], [started])
            by_id = yield self.client.list_containers(all=True, filters={"id": [started[:20]]})
            self.assertEqual([c["Id"] for c in by_id], [started])

        @inlineCallbacks
        def test_list_bad_filter(self):
            """
            An unknown filter key is refused with 400.
            """
            error = yield self.assertEngineError(
                self.client.list_containers(filters={"bogus": ["x"]}), 400)
            self.assertEqual(error.message, "Invalid filter 'bogus'")

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
        def test_list_networks(self):
            """
            The network list has bridge, host and none with their drivers.
            """
            networks = yield self.client.list_networks()
            drivers = {n["Name"]: n["Driver"] for n in networks}
            self.assertEqual({k: drivers.get(k) for k in ("bridge", "host", "none")},
                             {"bridge": "bridge", "host": "host", "none": "null"})

        @inlineCallbacks
        def test_list_volumes(self):
            """
            The volume list is a list.
            """
            self.assertIsInstance((yield self.client.list_volumes()), list)

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

        @inlineCallbacks
        def test_raw_request(self):
            """
            request() sends a raw request and fires with the response head.
            """
            response = yield self.client.request("GET", "/_ping")
            self.assertEqual(response.code, 200)
            self.assertTrue(response.headers.getRawHeaders(b"Api-Version"))
            self.assertEqual((yield content(response)), b"OK")

        # -- events -----------------------------------------------------------------------

        @inlineCallbacks
        def test_events(self):
            """
            The stream delivers create, start, die, destroy in order, then stop() ends it.
            """
            seen = []
            destroyed = Deferred()
            mine = []

            def got(event):
                seen.append(event)
                if mine and event.get("Actor", {}).get("ID") == mine[0] and (
                        event.get("Action") == "destroy") and not destroyed.called:
                    destroyed.callback(None)

            stream = yield self.client.events(got, filters={"type": ["container"]})
            self.assertTrue(verifyObject(IEventStream, stream))
            cid, name = yield self.create(["echo", "hi"])
            mine.append(cid)
            yield self.client.start_container(cid)
            yield self.wait(cid)
            yield self.client.remove_container(cid)
            yield destroyed.addTimeout(PATIENCE, _reactor())
            ours = [e for e in seen if e["Actor"]["ID"] == cid]
            self.assertEqual([e["Action"] for e in ours], ["create", "start", "die", "destroy"])
            for event in ours:
                self.assertEqual(event["Type"], "container")
                self.assertEqual(event["Actor"]["Attributes"]["name"], name)
                self.assertEqual(event["time"], event["timeNano"] // 10 ** 9)
            self.assertEqual(ours[2]["Actor"]["Attributes"]["exitCode"], "0")
            nanos = [e["timeNano"] for e in ours]
            self.assertEqual(nanos, sorted(nanos))
            stream.stop()
            self.assertIsNone((yield stream.done.addTimeout(PATIENCE, _reactor())))

        @inlineCallbacks
        def test_events_since(self):
            """
            since replays past events, filtered by container.
            """
            cid, _ = yield self.create(["true"])
            inspected = yield self.client.inspect_container(cid)
            yield deferLater(_reactor(), 0.05, lambda: None)
            seen = []
            stream = yield self.client.events(seen.append, since="0",
                                              filters={"container": [cid]})
            for _ in range(int(PATIENCE / 0.05)):
                if seen:
                    break
                yield deferLater(_reactor(), 0.05, lambda: None)
            stream.stop()
            yield stream.done
            self.assertEqual([e["Action"] for e in seen], ["create"])
            self.assertEqual(seen[0]["Actor"]["Attributes"]["image"],
                             inspected["Config"]["Image"])

    return IEngineClientTests
