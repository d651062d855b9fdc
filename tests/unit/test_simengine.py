"""
The simulated engine passes the engine conformance suite, and its own
specifics (faults, registry, follow logs) work.
"""

import json
import os
import shutil
import tempfile

from treq.testing import StubTreq
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.engine import EngineClient, EngineError, EngineUnreachable
from swarmd.testing.iengine import demux, make_iengine_tests
from swarmd.testing.simengine import Registry, SimEngine


async def sim_client(testcase, engine=None):
    """
    A simulated engine served on a unix socket, and a client to it.
    """
    engine = engine or SimEngine(name="sim1")
    folder = tempfile.mkdtemp(prefix="swsim")
    testcase.addCleanup(shutil.rmtree, folder, True)
    path = os.path.join(folder, "engine.sock")
    port = await engine.serve("unix://" + path, reactor)
    client = EngineClient("unix://" + path, reactor, timeout=5)
    testcase.addCleanup(port.stopListening)
    testcase.addCleanup(client.close)
    testcase.engine = engine
    return client


class SimEngineConformanceTests(make_iengine_tests(lambda case: ensureDeferred(
        sim_client(case)))):
    """
    The simulated engine behaves as a real one through IEngineClient.
    """


class SimEngineTests(TestCase):
    """
    What only the simulated engine does.
    """

    async def test_fail_injection(self):
        """fail() answers the next calls with the given error, then normally."""
        client = await sim_client(self)
        self.engine.fail(500, "disk on fire", count=2)
        for _ in range(2):
            with self.assertRaises(EngineError) as caught:
                await client.info()
            self.assertEqual((caught.exception.status, caught.exception.message),
                             (500, "disk on fire"))
        self.assertEqual((await client.info())["Name"], "sim1")

    async def test_unreachable(self):
        """An unreachable engine drops connections: the client reports it unreachable."""
        client = await sim_client(self)
        self.engine.unreachable = True
        with self.assertRaises(EngineUnreachable):
            await client.info()

    async def test_registry_pull(self):
        """Images in the shared registry can be pulled; afterwards containers can use them."""
        registry = Registry(["alpine:3"])
        client = await sim_client(self, SimEngine(name="sim2", registry=registry))
        with self.assertRaises(EngineError):
            await client.create_container({"Image": "alpine:3"}, "a1")
        messages = await client.pull_image("alpine:3")
        self.assertIn("Downloaded newer image", json.dumps(messages))
        answer = await client.create_container({"Image": "alpine:3"}, "a1")
        self.assertTrue(answer["Id"])

    async def test_follow_logs(self):
        """Following logs streams new output and ends when the container exits."""
        client = await sim_client(self)
        container = self.engine.create({"Image": "busybox", "Cmd": ["sleep", "300"]}, "f1")
        container.start()
        response = await client.request(
            "GET", "/containers/f1/logs?stdout=1&follow=1")
        from twisted.web.client import readBody

        body = readBody(response)
        container.write(1, "one\n")
        container.write(1, "two\n")
        container.exit(0)
        stdout, _ = demux(await body)
        self.assertEqual(stdout, b"one\ntwo\n")


class SimEngineInMemoryTests(SynchronousTestCase):
    """
    The simulated engine also answers in memory (StubTreq), for unit tests.
    """

    def test_stub_treq(self):
        """Its resource answers StubTreq requests synchronously."""
        engine = SimEngine(name="mem")
        stub = StubTreq(engine.resource())
        response = self.successResultOf(stub.get("http://engine/v1.41/info"))
        info = json.loads(self.successResultOf(response.content()))
        self.assertEqual(info["Name"], "mem")
        response = self.successResultOf(stub.get("http://engine/v1.99/info"))
        self.assertEqual(response.code, 400)
