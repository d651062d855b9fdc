"""
Tests for L{swarmd.shutdown}: stop accepting, let requests and hijacked
sessions finish up to the grace period, then end streams and sessions in
order and cut what never answered.
"""

import json

from twisted.application.service import Service
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.http import HTTPChannel

from swarmd import _log
from swarmd.shutdown import ConnectionTracker, Drain, DrainFirst, GracefulService


class FakeRequest:
    """
    The parts of a L{twisted.web.http.Request} the drain reads.
    """

    def __init__(self, started=False, chunked=False, path=b"/containers/web/logs"):
        self.startedWriting = started
        self.chunked = chunked
        self.path = path
        self.finished = False
        self.lost = []

    def connectionLost(self, reason):
        self.lost.append(reason)


class FakeTransport(StringTransport):
    """
    A connection's transport: what runs on it, and how it was closed.
    """

    def __init__(self):
        super().__init__()
        self.connected = 1
        self.aborted = False
        self.closed = False
        self.protocol = None

    def loseConnection(self):
        self.closed = True

    def abortConnection(self):
        self.aborted = True


class Built:
    """
    A protocol the site built: Twisted's HTTP protocol keeps its channel in
    C{_channel}.
    """

    def __init__(self, inner):
        self.transport = FakeTransport()
        self.transport.protocol = self
        if isinstance(inner, HTTPChannel):
            self._channel = inner
        else:
            # A hijack put another protocol on the transport.
            self.transport.protocol = inner


class Factory:
    def buildProtocol(self, addr):
        return Built(channel())


def channel(*requests):
    """
    @return: an L{HTTPChannel} writing to a L{StringTransport}, with
        C{requests} under way.
    """
    result = HTTPChannel()
    result.makeConnection(StringTransport())
    result.requests = list(requests)
    return result


def tracker(*built):
    """
    @return: a L{ConnectionTracker} that saw C{built} connections.
    """
    result = ConnectionTracker(Factory())
    result.protocols.update(built)
    return result


def gone(*built):
    """
    The connections of C{built} closed.
    """
    for protocol in built:
        protocol.transport.connected = 0


class DrainTests(SynchronousTestCase):
    """
    L{Drain} on a Clock over fake connections.
    """

    def setUp(self):
        self.clock = Clock()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def named(self, name):
        return [e for e in self.events if e.get(_log.EVENT_FIELD) == name]

    def test_tracker_sees_built_connections(self):
        """The tracker knows what the factory built, and forgets closed connections."""
        factory = Factory()
        watched = ConnectionTracker(factory)
        built = factory.buildProtocol(None)
        self.assertEqual(watched.connections(), [(built.transport, built)])
        gone(built)
        self.assertEqual(watched.connections(), [])
        self.assertEqual(watched.protocols, set())

    def test_idle_closed_at_once(self):
        """Idle keep-alive connections are closed at once and the drain is clean."""
        idle = Built(channel())
        done = Drain(self.clock, [tracker(idle)], 10).run()
        self.assertTrue(idle.transport.closed)
        gone(idle)
        self.clock.advance(0.05)
        self.assertIs(self.successResultOf(done), True)
        [event] = self.named(_log.SHUTDOWN)
        self.assertEqual((event["requests"], event["sessions"], event["timeout"]), (0, 0, 10))

    def test_silent_tls_connection_closed_at_once(self):
        """A TLS listener's connection that sent nothing yet is idle: closed at once."""
        from swarmd.tls import _PlainHTTPSniffer

        silent = Built(_PlainHTTPSniffer(Factory(), None))
        done = Drain(self.clock, [tracker(silent)], 10).run()
        self.assertTrue(silent.transport.closed)
        gone(silent)
        self.clock.advance(0.05)
        self.assertIs(self.successResultOf(done), True)
        [event] = self.named(_log.SHUTDOWN)
        self.assertEqual((event["requests"], event["sessions"]), (0, 0))

    def test_request_finishes_in_time(self):
        """A request under way is waited for; its connection takes no new request."""
        busy_channel = channel(FakeRequest())
        busy = Built(busy_channel)
        done = Drain(self.clock, [tracker(busy)], 10).run()
        self.clock.advance(5)
        self.assertNoResult(done)
        self.assertFalse(busy.transport.closed)
        self.assertFalse(busy_channel.persistent)
        busy_channel.requests = []
        gone(busy)
        self.clock.advance(0.05)
        self.assertIs(self.successResultOf(done), True)
        self.assertEqual(self.named(_log.SHUTDOWN_FORCED), [])

    def test_stream_and_session_ended_at_deadline(self):
        """At the deadline a stream gets its last chunk and a session its end: clean."""
        stream = FakeRequest(started=True, chunked=True)
        stream_channel = channel(stream)
        streaming = Built(stream_channel)
        session = Built(object())
        done = Drain(self.clock, [tracker(streaming, session)], 3).run()
        self.clock.advance(2.9)
        self.assertFalse(streaming.transport.closed or session.transport.closed)
        self.clock.advance(0.2)
        self.assertTrue(streaming.transport.closed and session.transport.closed)
        self.assertTrue(stream_channel.transport.value().endswith(b"0\r\n\r\n"))
        self.assertEqual(len(stream.lost), 1)
        self.assertFalse(streaming.transport.aborted)
        gone(streaming, session)
        self.clock.advance(0.05)
        self.assertIs(self.successResultOf(done), True)
        [event] = self.named(_log.SHUTDOWN_FORCED)
        self.assertEqual((event["ended"], event["cut"], event["requests"], event["sessions"]),
                         (2, 0, 1, 1))

    def test_wait_answered(self):
        """A container wait still open gets dockerd's answer for a failed wait."""
        wait = FakeRequest(started=True, chunked=True, path=b"/v1.41/containers/web/wait")
        wait_channel = channel(wait)
        Drain(self.clock, [tracker(Built(wait_channel))], 1).run()
        self.clock.advance(1.05)
        body = wait_channel.transport.value().split(b"\r\n")
        self.assertEqual(json.loads(body[1]),
                         {"Error": {"Message": "the swarm manager stopped before the "
                                               "container exited"}, "StatusCode": -1})
        self.assertEqual(body[2:], [b"0", b"", b""])

    def test_producers_let_go_before_closing(self):
        """A producer still registered (TLS waits for it before close_notify) is let go."""
        session = Built(object())
        session.transport.registerProducer(object(), True)
        Drain(self.clock, [tracker(session)], 1).run()
        self.clock.advance(1.0)
        self.assertIsNone(session.transport.producer)
        self.assertTrue(session.transport.closed)

    def test_unanswered_request_cut(self):
        """A request whose answer never began is cut at the deadline: not clean."""
        waiting = Built(channel(FakeRequest()))
        drain = Drain(self.clock, [tracker(waiting)], 1)
        done = drain.run()
        self.clock.advance(1.05)
        self.assertTrue(waiting.transport.aborted)
        gone(waiting)
        self.clock.advance(0.05)
        self.assertIs(self.successResultOf(done), False)
        self.assertEqual(drain.cut, 1)

    def test_stuck_close_aborted(self):
        """A connection that does not close after the deadline is aborted, briefly after."""
        session = Built(object())
        done = Drain(self.clock, [tracker(session)], 1).run()
        self.clock.advance(1.0)
        self.assertTrue(session.transport.closed)
        self.assertFalse(session.transport.aborted)
        for _ in range(25):
            self.clock.advance(0.05)
        self.assertTrue(session.transport.aborted)
        self.assertIs(self.successResultOf(done), True)


class Listener(Service):
    """
    A listener whose stop is recorded.
    """

    def __init__(self, log):
        self.log = log

    def stopService(self):
        Service.stopService(self)
        self.log.append("listener stopped")


class Cluster(Service):
    def __init__(self, log):
        self.log = log

    def stopService(self):
        Service.stopService(self)
        self.log.append("cluster stopped")


class ServiceTests(SynchronousTestCase):
    """
    L{GracefulService} and L{DrainFirst}.
    """

    def graceful(self, clock, timeout, busy, **kwargs):
        """
        @return: a started L{GracefulService} watching a factory that has
            made C{busy} (a connection).
        """
        service = GracefulService(clock, timeout, **kwargs)
        factory = Factory()
        self.assertIs(service.track(factory), factory)
        service.trackers[0].protocols.add(busy)
        return service

    def test_listeners_then_drain_then_rest(self):
        """Listening stops first, the cluster only once the connections are drained."""
        clock = Clock()
        log = []
        root = DrainFirst()
        Cluster(log).setServiceParent(root)
        busy = Built(channel(FakeRequest()))
        root.graceful = self.graceful(clock, 5, busy)
        root.graceful.setServiceParent(root)
        Listener(log).setServiceParent(root.graceful)
        root.startService()
        stopped = root.stopService()
        self.assertEqual(log, ["listener stopped"])
        clock.advance(1)
        self.assertNoResult(stopped)
        gone(busy)
        clock.advance(0.05)
        self.successResultOf(stopped)
        self.assertEqual(log, ["listener stopped", "cluster stopped"])
        self.assertIs(root.graceful.clean, True)

    def test_early_services_stop_at_once(self):
        """An early service (the election) stops with the listeners, before the drain ends."""
        clock = Clock()
        log = []
        root = DrainFirst()
        Cluster(log).setServiceParent(root)
        election = Listener(log)
        election.setServiceParent(root)
        root.early = (election,)
        busy = Built(channel(FakeRequest()))
        root.graceful = self.graceful(clock, 5, busy)
        root.graceful.setServiceParent(root)
        root.startService()
        stopped = root.stopService()
        self.assertEqual(log, ["listener stopped"])
        self.assertFalse(election.running)
        gone(busy)
        clock.advance(0.05)
        self.successResultOf(stopped)
        self.assertEqual(log, ["listener stopped", "cluster stopped"])

    def test_unclean_reported(self):
        """A cut request tells the exit status."""
        clock = Clock()
        told = []
        busy = Built(channel(FakeRequest()))
        graceful = self.graceful(clock, 1, busy, on_unclean=lambda: told.append(1))
        graceful.startService()
        stopped = graceful.stopService()
        clock.advance(1.05)
        gone(busy)
        clock.advance(0.05)
        self.successResultOf(stopped)
        self.assertEqual((graceful.clean, told), (False, [1]))

    def test_exit_status_not_the_signal(self):
        """After draining, twistd is not told to end the process with the signal."""
        clock = Clock()
        clock._exitSignal = 15
        busy = Built(channel())
        graceful = self.graceful(clock, 1, busy)
        graceful.startService()
        stopped = graceful.stopService()
        gone(busy)
        clock.advance(0.05)
        self.successResultOf(stopped)
        self.assertIsNone(clock._exitSignal)

    def test_stop_twice(self):
        """A second stop waits for the first one's drain."""
        clock = Clock()
        busy = Built(channel(FakeRequest()))
        graceful = self.graceful(clock, 1, busy)
        graceful.startService()
        first = graceful.stopService()
        second = graceful.stopService()
        self.assertNoResult(second)
        gone(busy)
        clock.advance(0.05)
        self.successResultOf(first)
        self.successResultOf(second)
        self.successResultOf(graceful.stopService())
