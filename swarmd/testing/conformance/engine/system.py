"""
The engine conformance suite: the interface itself, ping, version, info,
raw requests and events.
"""

from treq import content
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from zope.interface.verify import verifyObject

from swarmd.engine import IEngineClient, IEventStream
from swarmd.testing.conformance.engine._support import PATIENCE, _reactor


class SystemConformance:
    """
    The interface, ping, version, info, raw requests and events.
    """

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
