"""
Tests for L{swarmd.api.events}: time bounds, filters, and the merged
stream served from the cluster's hub.
"""

import json

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api.errors import DockerError
from swarmd.api.events import MAX_QUEUED, _EventFeed, event_matches, parse_timestamp
from swarmd.testing.memory import MemoryManager

NOW = 1795860000.0


def event(kind="container", action="start", actor="abc", node="n1", **attributes):
    attributes.update({"node.name": node, "node.id": "ID-" + node})
    return {"Type": kind, "Action": action, "Actor": {"ID": actor, "Attributes": attributes},
            "scope": "local", "time": int(NOW), "timeNano": int(NOW * 1e9)}


class TimestampTests(SynchronousTestCase):
    """
    since/until values the CLI and other clients send.
    """

    def test_forms(self):
        """Unix seconds, fractions, RFC 3339 and durations before now all parse."""
        self.assertEqual(parse_timestamp("1795860000", NOW), 1795860000 * 10 ** 9)
        self.assertEqual(parse_timestamp("1795860000.5", NOW), 1795860000500000000)
        self.assertEqual(parse_timestamp("1795860000.000000001", NOW), 1795860000000000001)
        self.assertEqual(parse_timestamp("2026-11-28T10:00:00Z", NOW), int(NOW * 1e9))
        self.assertEqual(parse_timestamp("10m", NOW), int((NOW - 600) * 1e9))

    def test_garbage(self):
        """Anything else is a 400 naming the value."""
        with self.assertRaises(DockerError) as caught:
            parse_timestamp("yesterday-ish", NOW)
        self.assertEqual(caught.exception.status, 400)
        self.assertIn("yesterday-ish", caught.exception.message)


class FilterTests(SynchronousTestCase):
    """
    Docker's event filters plus node.
    """

    def test_table(self):
        """Each filter keeps what it names and drops the rest."""
        web = event(actor="a" * 64, name="web", image="busybox", app="front")
        cases = [
            ({}, True),
            ({"type": ["container"]}, True),
            ({"type": ["image"]}, False),
            ({"event": ["start"]}, True),
            ({"event": ["die"]}, False),
            ({"container": ["web"]}, True),
            ({"container": ["a" * 12]}, True),
            ({"container": ["db"]}, False),
            ({"image": ["busybox"]}, True),
            ({"image": ["alpine"]}, False),
            ({"label": ["app=front"]}, True),
            ({"label": ["app"]}, True),
            ({"label": ["app=back"]}, False),
            ({"node": ["n1"]}, True),
            ({"node": ["ID-n1"]}, True),
            ({"node": ["n2"]}, False),
            ({"network": ["bridge"]}, False),
            ({"type": ["container"], "node": ["n2"]}, False),
        ]
        for filters, expected in cases:
            self.assertEqual(event_matches(web, filters), expected, filters)

    def test_network_and_volume(self):
        """network and volume filters match those events by ID or name."""
        net = event(kind="network", action="connect", actor="netid", name="backend")
        self.assertTrue(event_matches(net, {"network": ["backend"]}))
        self.assertTrue(event_matches(net, {"network": ["netid"]}))
        self.assertFalse(event_matches(net, {"volume": ["backend"]}))


class _Request:
    def __init__(self):
        self.written = []
        self.channel = None

    def write(self, data):
        self.written.append(data)


class FeedTests(SynchronousTestCase):
    """
    One client's feed: pausing queues, a client that never reads is dropped.
    """

    def test_pause_queues_then_flushes(self):
        """Events sent while paused arrive, in order, on resume."""
        from twisted.internet.defer import Deferred

        request = _Request()
        feed = _EventFeed(request, {}, None, Deferred())
        feed.send(event(action="create"))
        feed.pauseProducing()
        feed.send(event(action="start"))
        feed.send(event(action="die"))
        self.assertEqual(len(request.written), 1)
        feed.resumeProducing()
        actions = [json.loads(line)["Action"] for chunk in request.written
                   for line in chunk.splitlines()]
        self.assertEqual(actions, ["create", "start", "die"])

    def test_stuck_client_dropped(self):
        """A client paused past the queue limit is closed, not buffered for ever."""
        from twisted.internet.defer import Deferred

        done = Deferred()
        feed = _EventFeed(_Request(), {}, None, done)
        feed.pauseProducing()
        for _ in range(MAX_QUEUED + 1):
            feed.send(event())
        self.assertTrue(feed.closed)
        self.assertTrue(done.called)

    def test_until_ends_feed(self):
        """An event after until ends the feed."""
        from twisted.internet.defer import Deferred

        request = _Request()
        feed = _EventFeed(request, {}, int(NOW * 1e9) - 1, Deferred())
        feed.send(event())
        self.assertTrue(feed.closed)
        self.assertEqual(request.written, [])


class RouteTests(SynchronousTestCase):
    """
    GET /events over fake engines, bounded by until.
    """

    def test_since_until_replay(self):
        """since/until replay the hub's events of every node, with node attributes."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        start = manager.clock.seconds()
        code, _, _ = self.successResultOf(manager.request(
            "POST", "/containers/create?name=evented",
            {"Image": "busybox", "Cmd": ["true"], "Env": ["constraint:node==n2"]}))
        self.assertEqual(code, 201)
        self.successResultOf(manager.request("POST", "/containers/evented/start"))
        until = manager.clock.seconds() + 1
        code, headers, content = self.successResultOf(manager.request(
            "GET", "/events?since=%d&until=%d&filters=%s" % (
                start - 1, until, '{"container":["evented"]}')))
        self.assertEqual(code, 200)
        events = [json.loads(line) for line in content.splitlines()]
        actions = [e["Action"] for e in events]
        self.assertEqual(actions[0], "create")
        self.assertIn("start", actions)
        self.assertTrue(all(e["Actor"]["Attributes"]["node.name"] == "n2" for e in events))
        self.assertTrue(all(e["node"]["Name"] == "n2" for e in events))

    def test_bad_filter(self):
        """An unknown events filter is a 400."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        code, _, content = self.successResultOf(
            manager.request("GET", "/events?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D"))
        self.assertEqual(code, 400)
        self.assertIn("colour", json.loads(content)["message"])
