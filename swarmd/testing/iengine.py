"""
L{make_iengine_tests}: the behaviour every Docker engine must show through
L{swarmd.engine.IEngineClient}, run against the simulated engine in unit
tests and against a real dockerd in functional tests, so the simulation
stays honest.
"""

import itertools
import os

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from zope.interface.verify import verifyObject

from swarmd.engine import EngineError, IEngineClient

_names = itertools.count(1)


def demux(data):
    """
    Split Docker's multiplexed log stream into C{(stdout, stderr)} bytes.
    """
    out = {1: b"", 2: b""}
    while len(data) >= 8:
        stream, size = data[0], int.from_bytes(data[4:8], "big")
        out[stream] = out.get(stream, b"") + data[8:8 + size]
        data = data[8 + size:]
    return out[1], out[2]


def make_iengine_tests(fixture):
    """
    Build the conformance suite of L{IEngineClient}.

    @param fixture: called with the running test case; returns (or fires
        with) an L{IEngineClient} connected to an engine that holds the
        C{busybox:latest} image.  It registers its own cleanup on the test
        case.
    @return: a L{TestCase} subclass to subclass in a test module.
    """

    class IEngineClientTests(TestCase):
        """
        Behaviour every engine shows through L{IEngineClient}.
        """

        timeout = 60

        async def client(self):
            client = await ensureDeferred(_maybe_async(fixture(self)))
            return client

        def unique(self):
            return "conf%d-%d" % (os.getpid(), next(_names))

        async def create(self, client, cmd, **extra):
            name = self.unique()
            body = dict({"Image": "busybox", "Cmd": cmd}, **extra)
            answer = await client.create_container(body, name)

            async def remove():
                try:
                    await client.remove_container(answer["Id"], force=True)
                except EngineError:
                    pass

            self.addCleanup(lambda: ensureDeferred(remove()))
            return name, answer["Id"]

        async def settle(self, client, cid, running, tries=50):
            """
            Wait until the container's running state is C{running} (real
            engines take a moment).
            """
            info = await client.inspect_container(cid)
            for _ in range(tries):
                if info["State"]["Running"] == running:
                    return info
                await deferLater(reactor, 0.1, lambda: None)
                info = await client.inspect_container(cid)
            return info

        async def test_00_interface(self):
            """The client provides IEngineClient."""
            client = await self.client()
            self.assertTrue(verifyObject(IEngineClient, client))

        async def test_ping(self):
            """ping fires with None."""
            client = await self.client()
            self.assertIsNone(await client.ping())

        async def test_version(self):
            """version answers an API version and fixes the client's."""
            client = await self.client()
            version = await client.version()
            self.assertRegex(version["ApiVersion"], r"^\d+\.\d+$")
            self.assertEqual(client.api_version, min(
                ("1.41", version["ApiVersion"]), key=lambda v: tuple(map(int, v.split(".")))))

        async def test_info(self):
            """info has an ID, a name, labels, CPUs and memory."""
            client = await self.client()
            info = await client.info()
            self.assertTrue(info["ID"])
            self.assertTrue(info["Name"])
            self.assertIsInstance(info["Labels"], list)
            self.assertGreater(info["NCPU"], 0)
            self.assertGreater(info["MemTotal"], 0)
            self.assertTrue(info["SystemTime"])

        async def test_create_and_inspect(self):
            """A created container inspects with its name, config and created state."""
            client = await self.client()
            name, cid = await self.create(client, ["sleep", "300"], Labels={"k": "v"})
            info = await client.inspect_container(cid)
            self.assertEqual(info["Id"], cid)
            self.assertEqual(info["Name"], "/" + name)
            self.assertEqual(info["State"]["Status"], "created")
            self.assertFalse(info["State"]["Running"])
            self.assertEqual(info["Config"]["Labels"], {"k": "v"})
            self.assertEqual(info["Config"]["Image"], "busybox")
            self.assertTrue(info["Image"].startswith("sha256:"))
            by_name = await client.inspect_container(name)
            self.assertEqual(by_name["Id"], cid)

        async def test_duplicate_name(self):
            """A second container of the same name is a 409 conflict."""
            client = await self.client()
            name, cid = await self.create(client, ["true"])
            with self.assertRaises(EngineError) as caught:
                await client.create_container({"Image": "busybox"}, name)
            self.assertEqual(caught.exception.status, 409)
            self.assertIn("is already in use", caught.exception.message)

        async def test_missing_image(self):
            """Creating from an image the engine lacks is a 404 naming it."""
            client = await self.client()
            with self.assertRaises(EngineError) as caught:
                await client.create_container({"Image": "busybox:nope"}, self.unique())
            self.assertEqual(caught.exception.status, 404)
            self.assertIn("busybox:nope", caught.exception.message)

        async def test_echo_logs_and_exit(self):
            """echo prints its arguments, exits 0; logs come multiplexed on stdout."""
            client = await self.client()
            name, cid = await self.create(client, ["echo", "hello"])
            await client.start_container(cid)
            result = await client.wait_container(cid)
            self.assertEqual(result["StatusCode"], 0)
            stdout, stderr = demux(await client.container_logs(cid))
            self.assertEqual((stdout, stderr), (b"hello\n", b""))
            info = await client.inspect_container(cid)
            self.assertEqual(info["State"]["Status"], "exited")

        async def test_exit_code(self):
            """sh -c 'exit 3' exits 3, stderr separate from stdout."""
            client = await self.client()
            name, cid = await self.create(client, ["sh", "-c", "echo out; echo err >&2; exit 3"])
            await client.start_container(cid)
            result = await client.wait_container(cid)
            self.assertEqual(result["StatusCode"], 3)
            stdout, stderr = demux(await client.container_logs(cid))
            self.assertEqual((stdout, stderr), (b"out\n", b"err\n"))

        async def test_start_stop(self):
            """A long command runs until stopped; stop leaves it not running."""
            client = await self.client()
            name, cid = await self.create(client, ["sleep", "300"])
            await client.start_container(cid)
            info = await self.settle(client, cid, True)
            self.assertTrue(info["State"]["Running"])
            self.assertEqual(info["State"]["Status"], "running")
            await client.start_container(cid)  # already started: no error
            await client.stop_container(cid, timeout=1)
            info = await self.settle(client, cid, False)
            self.assertFalse(info["State"]["Running"])
            self.assertEqual(info["State"]["Status"], "exited")
            self.assertEqual(info["State"]["ExitCode"], 137)
            await client.stop_container(cid, timeout=1)  # already stopped: no error

        async def test_pause_unpause(self):
            """pause and unpause switch the paused state; pausing a stopped one is a 409."""
            client = await self.client()
            name, cid = await self.create(client, ["sleep", "300"])
            with self.assertRaises(EngineError) as caught:
                await client.pause_container(cid)
            self.assertEqual(caught.exception.status, 409)
            await client.start_container(cid)
            await client.pause_container(cid)
            info = await client.inspect_container(cid)
            self.assertEqual((info["State"]["Status"], info["State"]["Paused"]),
                             ("paused", True))
            await client.unpause_container(cid)
            info = await client.inspect_container(cid)
            self.assertEqual(info["State"]["Status"], "running")

        async def test_kill_and_restart(self):
            """kill stops a running container; restart runs it again."""
            client = await self.client()
            name, cid = await self.create(client, ["sleep", "300"])
            await client.start_container(cid)
            await client.kill_container(cid)
            info = await self.settle(client, cid, False)
            self.assertEqual(info["State"]["Status"], "exited")
            await client.restart_container(cid, timeout=1)
            info = await self.settle(client, cid, True)
            self.assertTrue(info["State"]["Running"])

        async def test_remove(self):
            """A running container needs force to go; afterwards inspect is a 404."""
            client = await self.client()
            name, cid = await self.create(client, ["sleep", "300"])
            await client.start_container(cid)
            with self.assertRaises(EngineError) as caught:
                await client.remove_container(cid)
            self.assertEqual(caught.exception.status, 409)
            await client.remove_container(cid, force=True)
            with self.assertRaises(EngineError) as caught:
                await client.inspect_container(cid)
            self.assertEqual(caught.exception.status, 404)

        async def test_list_containers(self):
            """Listing shows running ones by default, all with all=True, and filters by name."""
            client = await self.client()
            running, running_id = await self.create(client, ["sleep", "300"])
            stopped, stopped_id = await self.create(client, ["true"])
            await client.start_container(running_id)
            await self.settle(client, running_id, True)
            ids = {c["Id"] for c in await client.list_containers(all=False)}
            self.assertIn(running_id, ids)
            self.assertNotIn(stopped_id, ids)
            everything = await client.list_containers(all=True)
            entry = [c for c in everything if c["Id"] == stopped_id][0]
            self.assertEqual(entry["Names"], ["/" + stopped])
            self.assertEqual(entry["State"], "created")
            named = await client.list_containers(all=True, filters={"name": [stopped]})
            self.assertEqual([c["Id"] for c in named], [stopped_id])

        async def test_images_networks_volumes(self):
            """busybox:latest is listed; bridge, host and none networks exist; volumes list."""
            client = await self.client()
            images = await client.list_images()
            self.assertTrue(any("busybox:latest" in (i.get("RepoTags") or []) for i in images))
            image = await client.inspect_image("busybox")
            self.assertTrue(image["Id"].startswith("sha256:"))
            names = {n["Name"] for n in await client.list_networks()}
            self.assertTrue({"bridge", "host", "none"} <= names)
            self.assertIsInstance(await client.list_volumes(), list)

        async def test_pull_failure(self):
            """Pulling from a registry that does not answer fails with an EngineError."""
            client = await self.client()
            with self.assertRaises(EngineError):
                await client.pull_image("127.0.0.1:1/nosuch:tag")

        async def test_events(self):
            """The events stream delivers create, start, die, destroy in order; stop ends it."""
            client = await self.client()
            seen = []
            stream = await client.events(seen.append, filters={"type": ["container"]})
            name, cid = await self.create(client, ["echo", "x"])
            await client.start_container(cid)
            await client.wait_container(cid)
            await client.remove_container(cid)
            for _ in range(50):
                if "destroy" in [e.get("Action") for e in seen if e["Actor"]["ID"] == cid]:
                    break
                await deferLater(reactor, 0.1, lambda: None)
            actions = [e["Action"] for e in seen if e["Actor"]["ID"] == cid]
            self.assertEqual(actions, ["create", "start", "die", "destroy"])
            self.assertTrue(all(e["timeNano"] > 0 for e in seen))
            stream.stop()
            self.assertIsNone(await stream.done)

        async def test_events_since(self):
            """Events since a time are replayed when the stream opens."""
            client = await self.client()
            info = await client.info()
            from swarmd.cluster.engine import _time_to_since

            since = _time_to_since(info["SystemTime"])
            name, cid = await self.create(client, ["true"])
            seen = []
            stream = await client.events(seen.append, since=since,
                                         filters={"type": ["container"]})
            for _ in range(50):
                if any(e["Actor"]["ID"] == cid for e in seen):
                    break
                await deferLater(reactor, 0.1, lambda: None)
            stream.stop()
            await stream.done
            self.assertIn("create", [e["Action"] for e in seen if e["Actor"]["ID"] == cid])

    return IEngineClientTests


def _maybe_async(value):
    async def wrap():
        result = value
        while hasattr(result, "addCallback") or hasattr(result, "__await__"):
            result = await result
        return result

    return wrap()
