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
        self.assertEqual((actions.count("create"), actions.count("start")), (1, 1))
        self.assertTrue(all(e["Actor"]["Attributes"]["node.name"] == "n2" for e in events))
        self.assertTrue(all(e["node"]["Name"] == "n2" for e in events))

    def _events(self, manager, query):
        code, _, content = self.successResultOf(manager.request("GET", "/events?" + query))
        self.assertEqual(code, 200, content)
        return [json.loads(line) for line in content.splitlines()]

    def test_replay_from_engines(self):
        """Past events come from the engines: a manager that forgot them still replays them once."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        start = int(manager.clock.seconds())
        code, _, _ = self.successResultOf(manager.request(
            "POST", "/containers/create?name=old",
            {"Image": "busybox", "Cmd": ["true"], "Env": ["constraint:node==n1"]}))
        self.assertEqual(code, 201)
        until = int(manager.clock.seconds()) + 1
        query = "since=%d&until=%d&filters=%s" % (start - 1, until, '{"container":["old"]}')
        remembered = self._events(manager, query)
        manager.cluster.recent_events.clear()   # as after a restart of the manager
        replayed = self._events(manager, query)
        self.assertEqual([e["Action"] for e in replayed], ["create"])
        self.assertEqual(replayed, remembered)
        attributes = replayed[0]["Actor"]["Attributes"]
        self.assertEqual((attributes["node.name"], attributes["node.addr"]),
                         ("n1", "127.0.0.1:2376"))

    def test_until_alone_replays(self):
        """until without since replays every kept event up to it, the manager's own included."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        events = self._events(manager, "until=%d" % (manager.clock.seconds() + 1,))
        connects = [e for e in events if e["Action"] == "engine_connect"]
        self.assertEqual(sorted(e["Actor"]["Attributes"]["node.name"] for e in connects),
                         ["n1", "n2"])

    def test_until_before_since(self):
        """until before since is a 400, as dockerd says it."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        code, _, content = self.successResultOf(
            manager.request("GET", "/events?since=200&until=100"))
        self.assertEqual(code, 400)
        self.assertIn("cannot be after `until` time", json.loads(content)["message"])

    def test_live_events_during_replay_kept_once(self):
        """Events arriving while engines replay are held, then sent once, after the past."""
        import treq

        manager = MemoryManager()
        self.addCleanup(manager.stop)
        start = int(manager.clock.seconds())
        manager.engines.engines["127.0.0.1:2376"].latency = 5
        d = manager.stub.request(
            "GET", "http://swarm/events?since=%d&filters=%s" % (
                start - 1, '{"type":["container"]}'))
        manager.engines.flush()
        manager.stub.flush()
        response = self.successResultOf(d)
        chunks = []
        treq.collect(response, chunks.append)
        # n1 is still replaying: n2's create reaches the hub meanwhile.
        n2 = manager.engines.engines["127.0.0.1:2377"]
        n2.create({"Image": "busybox", "Cmd": ["true"]}, "during")
        manager.engines.flush()
        manager.stub.flush()
        self.assertEqual(b"".join(chunks).strip(), b"")
        manager.clock.advance(5)
        manager.engines.flush()
        manager.stub.flush()
        n2.create({"Image": "busybox", "Cmd": ["true"]}, "after")
        manager.engines.flush()
        manager.stub.flush()
        lines = [json.loads(line) for line in b"".join(chunks).splitlines() if line.strip()]
        self.assertEqual([(e["Action"], e["Actor"]["Attributes"]["name"]) for e in lines],
                         [("create", "during"), ("create", "after")])

    def test_bad_filter(self):
        """An unknown events filter is a 400."""
        manager = MemoryManager()
        self.addCleanup(manager.stop)
        code, _, content = self.successResultOf(
            manager.request("GET", "/events?filters=%7B%22colour%22%3A%5B%22x%22%5D%7D"))
        self.assertEqual(code, 400)
        self.assertIn("colour", json.loads(content)["message"])
