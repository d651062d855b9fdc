"""
Tests for the bound on what C{GET /events} holds for a client that stopped
reading (L{swarmd.api.events._EventFeed}): bytes, not events, are counted;
a client over the bound is dropped with a log line, and what it held is
freed.
"""

import json
import resource
import socket

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.task import deferLater
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.api.events import MAX_QUEUED_BYTES, _EventFeed
from swarmd.testing.memory import LoopbackManager, MemoryManager

NOW = 1795860000.0


def event(number, node="n1"):
    """
    A container event of about 300 bytes.
    """
    return {"Type": "container", "Action": "start", "status": "start", "id": "%064x" % number,
            "Actor": {"ID": "%064x" % number,
                      "Attributes": {"image": "busybox", "name": "web-%d" % number,
                                     "node.name": node}},
            "scope": "local", "time": int(NOW), "timeNano": int(NOW * 1e9) + number}


class _Request:
    """
    A request whose client never reads: everything written is kept.
    """

    def __init__(self):
        self.written = []
        self.channel = None

    def write(self, data):
        self.written.append(data)


def _dropped(events):
    return [e for e in events if "events client" in e.get("log_format", "")
            and "dropped" in e.get("log_format", "")]


class FeedBoundTests(SynchronousTestCase):
    """
    One feed, paused as a client's full connection pauses it.
    """

    def test_bytes_bounded_and_dropped(self):
        """A paused feed queues at most its byte bound, then drops the client with a log line."""
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        done = Deferred()
        feed = _EventFeed(_Request(), {}, None, done, max_bytes=10000)
        feed.pauseProducing()
        size = len(json.dumps(event(0), separators=(",", ":"))) + 1
        highest = 0
        for number in range(1000):
            feed.send(event(number))
            highest = max(highest, feed.queued_bytes)
        self.assertLessEqual(highest, 10000 + size)
        self.assertTrue(feed.closed)
        self.assertEqual(self.successResultOf(done), b"")
        self.assertEqual(feed.queued_bytes, 0)
        self.assertEqual(len(_dropped(logged)), 1)
        self.assertEqual(_dropped(logged)[0]["limit"], 10000)

    def test_resume_empties(self):
        """A client that reads again gets its queue and the count goes back to zero."""
        request = _Request()
        feed = _EventFeed(request, {}, None, Deferred(), max_bytes=10000)
        feed.pauseProducing()
        for number in range(10):
            feed.send(event(number))
        self.assertGreater(feed.queued_bytes, 0)
        feed.resumeProducing()
        self.assertEqual(feed.queued_bytes, 0)
        self.assertFalse(feed.closed)
        self.assertEqual(sum(len(chunk.splitlines()) for chunk in request.written), 10)

    def test_default_bound(self):
        """Without a bound given, a few MB are kept."""
        feed = _EventFeed(_Request(), {}, None, Deferred())
        feed.pauseProducing()
        feed.send(event(0))
        self.assertFalse(feed.closed)
        self.assertEqual(feed._max_bytes, MAX_QUEUED_BYTES)


class MemoryManagerTests(SynchronousTestCase):
    """
    A stalled C{GET /events} client of an in-memory manager.
    """

    def test_stalled_client_dropped(self):
        """A client whose connection stays paused is dropped past the bound and unsubscribed."""
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        response = manager.settle(manager.stub.get("http://swarm/events"))
        self.assertEqual(self.successResultOf(response).code, 200)
        self.assertEqual(manager.api.event_listeners, 1)
        subscribers = len(manager.cluster._subscribers)
        # The client stops reading: its full connection pauses the HTTP
        # channel, which pauses what writes to it (the in-memory transport
        # never fills, so the test does what a socket's would).
        pumps = list(manager.stub._agent._pumps)
        self.assertEqual(len(pumps), 1)
        pumps[0].server._channel.pauseProducing()
        engine = next(iter(manager.cluster.engines.values()))
        sizes = []
        while manager.api.event_listeners and sum(sizes) < 2 * MAX_QUEUED_BYTES:
            one = event(len(sizes))
            sizes.append(len(json.dumps(manager.cluster.decorate_event(engine, one),
                                        separators=(",", ":"))) + 1)
            manager.cluster.engine_event(engine, one)
        self.assertEqual(manager.api.event_listeners, 0)
        self.assertEqual(len(manager.cluster._subscribers), subscribers - 1)
        # Dropped once the bound was passed, not before.
        self.assertGreater(sum(sizes), MAX_QUEUED_BYTES)
        self.assertLessEqual(sum(sizes[:-1]), MAX_QUEUED_BYTES)
        self.assertEqual(len(_dropped(logged)), 1)


def _rss():
    """
    @return: the resident set size of this process, in bytes.
    """
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


class StalledClientsTests(TestCase):
    """
    Five clients that stop reading, over real loopback sockets.
    """

    @inlineCallbacks
    def test_five_stalled_clients(self):
        """5 stalled clients and 20,000 events: all dropped, RSS grows by less than 64 MB."""
        manager = yield LoopbackManager(count=1).start(self)
        host, _, port = manager.address.rpartition(":")
        sockets = []
        self.addCleanup(lambda: [s.close() for s in sockets])
        for _ in range(5):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect((host, int(port)))
            s.sendall(b"GET /events HTTP/1.1\r\nHost: swarm\r\n\r\n")
            sockets.append(s)
        for _ in range(500):
            if len(manager.cluster._subscribers) >= 5:
                break
            yield deferLater(reactor, 0.01, lambda: None)
        self.assertEqual(len(manager.cluster._subscribers), 5)
        engine = next(iter(manager.cluster.engines.values()))
        before = _rss()
        for batch in range(200):
            for number in range(100):
                manager.cluster.engine_event(engine, event(batch * 100 + number))
            # Let the reactor write (and the transports pause their feeds).
            yield deferLater(reactor, 0, lambda: None)
        grown = _rss() - before
        self.assertEqual(len(manager.cluster._subscribers), 0)
        self.assertLess(grown, 64 * 1024 * 1024)
