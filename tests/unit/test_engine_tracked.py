"""
Tests for L{swarmd.engine.tracked.TrackedClient}, the engine interfaces
the real client declares, and the Python-level engine doubles.
"""

import json
import random

from twisted.internet.defer import inlineCallbacks
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.client import readBody
from zope.interface.verify import verifyObject

from swarmd.cluster.engine import Engine, EngineOptions
from swarmd.engine import (
    EngineError,
    EngineUnreachable,
    IBatchEngineClient,
    ICallRecord,
    IEngineClient,
)
from swarmd.engine.tracked import UNTRACKED, TrackedClient
from swarmd.testing.stubengine import StubClient, inspect
from tests.unit.test_fakeengine import fake_fixture


class RecordingTrack:
    """
    A C{track} callable that records the Deferreds it is given.
    """

    def __init__(self):
        self.tracked = []

    def __call__(self, d):
        self.tracked.append(d)
        return d


class TrackedOverFakeEngineTests(TestCase):
    """
    A tracked client over the real client talking to the fake engine.
    """

    @inlineCallbacks
    def setUp(self):
        self.client = yield fake_fixture(self)
        self.track = RecordingTrack()
        self.tracked = TrackedClient(self.client, self.track)

    def test_interfaces(self):
        """
        The tracked client provides IEngineClient; the real one also the
        batch reads and the record of its calls.
        """
        self.assertTrue(verifyObject(IEngineClient, self.tracked))
        self.assertTrue(verifyObject(IBatchEngineClient, self.client))
        self.assertTrue(verifyObject(ICallRecord, self.client))

    @inlineCallbacks
    def test_calls_tracked_and_answered(self):
        """
        A call goes to the wrapped client, its Deferred through C{track}.
        """
        version = yield self.tracked.version()
        self.assertEqual(len(self.track.tracked), 1)
        self.assertRegex(version["ApiVersion"], r"^1\.\d+$")
        self.assertEqual(self.tracked.api_version, self.client.api_version)
        self.assertIs(self.tracked.endpoint, self.client.endpoint)
        self.assertEqual(self.tracked.address, self.client.address)

    @inlineCallbacks
    def test_error_answer_tracked(self):
        """
        An error answer reaches the caller unchanged, through C{track}.
        """
        with self.assertRaises(EngineError) as caught:
            yield self.tracked.inspect_container("nothere")
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(len(self.track.tracked), 1)

    @inlineCallbacks
    def test_events_and_close_untracked(self):
        """
        The events stream and C{close} are passed through untouched.
        """
        self.assertEqual(UNTRACKED, {"events", "close"})
        stream = yield self.tracked.events(lambda event: None)
        stream.stop()
        yield stream.done
        yield self.tracked.close()
        self.assertEqual(self.track.tracked, [])


class TrackedEngineHealthTests(SynchronousTestCase):
    """
    L{Engine.api} counts its calls toward the engine's health.
    """

    def setUp(self):
        self.client = StubClient()
        self.engine = Engine(self.client, Clock(), EngineOptions(failure_retry=3))

    def test_unreachable_counts(self):
        """
        An unreachable engine counts one failure per call.
        """
        self.client.down = True
        self.failureResultOf(self.engine.api.start_container("x"), EngineUnreachable)
        self.assertEqual(self.engine.failures, 1)

    def test_error_answer_does_not_count(self):
        """
        An error answer (a missing container) says nothing about health.
        """
        self.failureResultOf(self.engine.api.start_container("x"), EngineError)
        self.assertEqual(self.engine.failures, 0)

    def test_success_heals(self):
        """
        A success clears the failures counted before.
        """
        self.client.down = True
        self.failureResultOf(self.engine.api.list_containers(), EngineUnreachable)
        self.client.down = False
        self.assertEqual(self.successResultOf(self.engine.api.list_containers()), [])
        self.assertEqual((self.engine.failures, self.engine.error), (0, ""))


class StubClientTests(SynchronousTestCase):
    """
    The Python-level engine doubles provide the whole of L{IEngineClient}.
    """

    def setUp(self):
        self.client = StubClient()
        self.client.containers["c1"] = inspect("c1", "web")

    def test_interface(self):
        """
        The stub client, and the bench's client built on it, verify.
        """
        from bench.scheduler import BenchClient, engine_state

        self.assertTrue(verifyObject(IEngineClient, self.client))
        bench = BenchClient("127.0.0.1:2375", engine_state(0, random.Random(1)), [])
        self.assertTrue(verifyObject(IEngineClient, bench))
        self.assertIn("sha256:", self.successResultOf(bench.list_images())[0]["Id"])

    def test_request_reads(self):
        """
        A raw GET is answered as dockerd would: JSON reads, 404 messages.
        """
        response = self.successResultOf(self.client.request("GET", "/v1.41/containers/c1/json"))
        self.assertEqual(response.code, 200)
        body = self.successResultOf(readBody(response))
        self.assertEqual(json.loads(body)["Id"], "c1")
        response = self.successResultOf(self.client.request(b"GET", b"/_ping"))
        self.assertEqual(self.successResultOf(readBody(response)), b"OK")
        response = self.successResultOf(self.client.request("GET", "/containers/nope/json"))
        self.assertEqual(response.code, 404)
        self.assertEqual(json.loads(self.successResultOf(readBody(response))),
                         {"message": "No such container: nope"})

    def test_lifecycle(self):
        """
        Stop, pause, wait and logs act on the container's state.
        """
        self.successResultOf(self.client.pause_container("c1"))
        self.assertEqual(self.client.containers["c1"]["State"]["Status"], "paused")
        self.successResultOf(self.client.unpause_container("c1"))
        self.assertEqual(self.successResultOf(self.client.wait_container("c1")),
                         {"StatusCode": 0})
        self.assertFalse(self.client.containers["c1"]["State"]["Running"])
        self.assertEqual(self.successResultOf(self.client.container_logs("c1")), b"")
        self.failureResultOf(self.client.stop_container("gone"), EngineError)
        self.client.down = True
        self.failureResultOf(self.client.restart_container("c1"), EngineUnreachable)

    def test_no_socket(self):
        """
        The stub has no socket: a hijack dial is refused.
        """
        self.failureResultOf(self.client.endpoint.connect(object()), ConnectionRefusedError)
