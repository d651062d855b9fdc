"""
Tests for L{swarmd.join.JoinService}.
"""

from twisted.application.service import IService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from swarmd.config import JoinConfig
from swarmd.discovery import DiscoveryError, DiscoveryNotSupported, IDiscovery
from swarmd.join import JoinService

ADDRESS = "10.0.0.5:2375"
URL = "etcd://127.0.0.1:2379/swarm"


@implementer(IDiscovery)
class RecordingDiscovery:
    """
    An L{IDiscovery} whose C{register} answers, in turn, the results queued
    in C{results} (then succeeds), recording each call's time.

    @ivar registered: C{(time, address)} for each C{register} call.
    """

    scheme = "etcd"

    def __init__(self, clock, results=()):
        self._clock = clock
        self.results = list(results)
        self.registered = []

    def fetch(self):
        return succeed([address for _, address in self.registered])

    def watch(self, callback, errback):
        raise NotImplementedError("join never watches")

    def register(self, address):
        self.registered.append((self._clock.seconds(), address))
        if self.results:
            result = self.results.pop(0)
            if isinstance(result, Exception):
                raise result
            return result
        return succeed(None)


class FixedRandom:
    """
    Stands in for L{random.Random}: C{uniform} answers C{value} and records
    its bounds.
    """

    def __init__(self, value):
        self.value = value
        self.bounds = []

    def uniform(self, low, high):
        self.bounds.append((low, high))
        return self.value


class JoinServiceTests(SynchronousTestCase):
    """
    Tests for L{JoinService}.
    """

    def setUp(self):
        self.clock = Clock()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.fatal = []

    def service(self, discovery=None, random=None, **settings):
        """
        Build a JoinService for ADDRESS on URL with 10s heartbeats.
        """
        settings.setdefault("heartbeat", 10.0)
        settings.setdefault("ttl", 30.0)
        config = JoinConfig(discovery=URL, advertise=ADDRESS, **settings)
        if discovery is None:
            discovery = RecordingDiscovery(self.clock)
        self.discovery = discovery
        return JoinService(config, discovery, self.clock, random=random, on_fatal=self.fatal.append)

    def logged(self, level):
        return [e for e in self.events if e.get("log_level") == level]

    def test_interfaces(self):
        """
        JoinService is an IService and the stub an IDiscovery.
        """
        service = self.service()
        verifyObject(IService, service)
        verifyObject(IDiscovery, self.discovery)

    def test_heartbeat(self):
        """
        Without a delay, the address is registered at start and then every
        heartbeat.
        """
        service = self.service()
        service.startService()
        self.clock.advance(0)
        self.assertEqual(self.discovery.registered, [(0, ADDRESS)])
        self.clock.advance(9.9)
        self.assertEqual(len(self.discovery.registered), 1)
        self.clock.pump([0.1] + [10] * 3)
        self.assertEqual(self.discovery.registered, [(t, ADDRESS) for t in (0, 10, 20, 30, 40)])
        self.assertEqual((service.registrations, service.failures), (5, 0))

    def test_no_delay_no_random(self):
        """
        With --delay 0 the random source is not consulted.
        """
        random = FixedRandom(3.0)
        self.service(random=random).startService()
        self.clock.advance(0)
        self.assertEqual(random.bounds, [])
        self.assertEqual(len(self.discovery.registered), 1)

    def test_delay(self):
        """
        With --delay, the first registration waits a random time drawn from
        [0, delay], then beats every heartbeat from there.
        """
        random = FixedRandom(3.5)
        service = self.service(random=random, delay=5.0)
        service.startService()
        self.assertEqual(random.bounds, [(0, 5.0)])
        self.clock.advance(3.4)
        self.assertEqual(self.discovery.registered, [])
        self.clock.pump([0.1, 10, 10])
        self.assertEqual([t for t, _ in self.discovery.registered], [3.5, 13.5, 23.5])
        delays = [e for e in self.logged(LogLevel.info) if "random delay" in e["log_format"]]
        self.assertEqual([e["delay"] for e in delays], ["3.5s"])

    def test_real_random_delay(self):
        """
        The default random source draws delays inside [0, delay].
        """
        for _ in range(20):
            clock = Clock()
            discovery = RecordingDiscovery(clock)
            config = JoinConfig(discovery=URL, advertise=ADDRESS, heartbeat=10.0, delay=2.0)
            JoinService(config, discovery, clock).startService()
            clock.advance(2.0)
            self.assertEqual(len(discovery.registered), 1)
            self.assertTrue(0 <= discovery.registered[0][0] <= 2.0)

    def test_failure_logged_and_retried(self):
        """
        A failed registration is logged with structured fields and the next
        heartbeat registers again.
        """
        discovery = RecordingDiscovery(
            self.clock, [fail(DiscoveryError("etcd unreachable")), RuntimeError("boom")]
        )
        service = self.service(discovery)
        service.startService()
        self.clock.pump([0, 10, 10])
        self.assertEqual(len(discovery.registered), 3)
        self.assertEqual((service.registrations, service.failures), (1, 2))
        errors = self.logged(LogLevel.error)
        self.assertEqual([e["error"] for e in errors], ["etcd unreachable", "boom"])
        self.assertEqual([e["failures"] for e in errors], [1, 2])
        for event in errors:
            self.assertEqual((event["addr"], event["discovery"]), (ADDRESS, URL))
        self.assertEqual(self.fatal, [])

    def test_hung_registration(self):
        """
        A registration still pending at the next heartbeat is cancelled,
        counted and logged as a failure, and the beat stays on time.
        """
        hung = Deferred()
        discovery = RecordingDiscovery(self.clock, [hung])
        service = self.service(discovery)
        service.startService()
        self.clock.advance(0)
        self.clock.advance(9.9)
        self.assertFalse(hung.called)
        self.clock.advance(0.1)
        self.assertTrue(hung.called)
        self.assertEqual((service.registrations, service.failures), (1, 1))
        self.clock.advance(10)
        self.assertEqual([t for t, _ in discovery.registered], [0, 10, 20])
        self.assertEqual(service.registrations, 2)
        errors = self.logged(LogLevel.error)
        self.assertEqual(len(errors), 1)
        self.assertIn("no answer after one heartbeat (10s)", errors[0]["error"])

    def test_not_supported(self):
        """
        A discovery that cannot take registrations is reported once as a
        critical error, the beat stops and on_fatal gets the failure.
        """
        discovery = RecordingDiscovery(
            self.clock, [fail(DiscoveryNotSupported("nodes discovery cannot register"))]
        )
        service = self.service(discovery)
        service.startService()
        self.clock.pump([0] + [10] * 5)
        self.assertEqual(len(discovery.registered), 1)
        self.assertEqual(len(self.fatal), 1)
        self.assertTrue(self.fatal[0].check(DiscoveryNotSupported))
        self.assertIs(service.fatal, self.fatal[0])
        critical = self.logged(LogLevel.critical)
        self.assertEqual(len(critical), 1)
        self.assertEqual(critical[0]["error"], "nodes discovery cannot register")
        self.assertEqual(self.logged(LogLevel.error), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_not_supported_raised(self):
        """
        DiscoveryNotSupported raised synchronously is handled the same way.
        """
        discovery = RecordingDiscovery(self.clock, [DiscoveryNotSupported("static")])
        service = self.service(discovery)
        service.startService()
        self.clock.pump([0, 10, 10])
        self.assertEqual((len(discovery.registered), len(self.fatal)), (1, 1))

    def test_stop_during_delay(self):
        """
        Stopping before the delay has passed registers nothing.
        """
        service = self.service(random=FixedRandom(4.0), delay=5.0)
        service.startService()
        service.stopService()
        self.clock.advance(100)
        self.assertEqual(self.discovery.registered, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_stop(self):
        """
        Stopping ends the beat and cancels a pending registration without
        logging it as a failure.
        """
        hung = Deferred()
        discovery = RecordingDiscovery(self.clock, [succeed(None), hung])
        service = self.service(discovery)
        service.startService()
        self.clock.pump([0, 10])
        service.stopService()
        self.clock.advance(100)
        self.assertEqual(len(discovery.registered), 2)
        self.assertTrue(hung.called)
        self.assertEqual(service.failures, 0)
        self.assertEqual(self.logged(LogLevel.error), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_announces(self):
        """
        The start of the beat is logged with the address, discovery and
        heartbeat, as classic Swarm does.
        """
        self.service(heartbeat=90.0, ttl=300.0).startService()
        self.clock.advance(0)
        infos = [e for e in self.logged(LogLevel.info) if "every" in e["log_format"]]
        self.assertEqual(len(infos), 1)
        self.assertEqual(
            (infos[0]["addr"], infos[0]["discovery"], infos[0]["heartbeat"]),
            (ADDRESS, URL, "1m30s"),
        )


class SharedFakeDiscoveryTests(SynchronousTestCase):
    """
    JoinService against the project's L{swarmd.testing.fakediscovery.FakeDiscovery}.
    """

    def setUp(self):
        from swarmd.testing.fakediscovery import FakeDiscovery

        self.clock = Clock()
        self.events = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.fatal = []
        self.make_discovery = FakeDiscovery

    def service(self, discovery):
        config = JoinConfig(discovery=URL, advertise=ADDRESS, heartbeat=5.0, ttl=15.0)
        return JoinService(config, discovery, self.clock, on_fatal=self.fatal.append)

    def test_registers_every_heartbeat(self):
        """
        The advertised address is registered at start and every heartbeat;
        errors in between are logged and do not stop the beat.
        """
        discovery = self.make_discovery(clock=self.clock)
        service = self.service(discovery)
        service.startService()
        self.clock.advance(0)
        discovery.register_error = DiscoveryError("etcd: connection refused")
        self.clock.pump([5, 5])
        discovery.register_error = None
        self.clock.advance(5)
        self.assertEqual(discovery.registered, [ADDRESS] * 4)
        self.assertEqual((service.registrations, service.failures), (2, 2))
        errors = [e for e in self.events if e.get("log_level") == LogLevel.error]
        self.assertEqual([e["error"] for e in errors], ["etcd: connection refused"] * 2)
        self.assertEqual(self.fatal, [])

    def test_cannot_register(self):
        """
        A discovery that cannot register ends the service once, through
        on_fatal.
        """
        discovery = self.make_discovery(clock=self.clock, can_register=False)
        service = self.service(discovery)
        service.startService()
        self.clock.pump([0, 5, 5, 5])
        self.assertEqual(discovery.registered, [ADDRESS])
        self.assertEqual(len(self.fatal), 1)
        self.assertTrue(self.fatal[0].check(DiscoveryNotSupported))
        service.stopService()


class CloseOnStopTests(SynchronousTestCase):
    """
    Stopping join lets go of the discovery's client.
    """

    def test_close_on_stop(self):
        """
        stopService closes a discovery that has close() and returns its
        Deferred.
        """
        from swarmd.join import JoinService
        from swarmd.testing.fakediscovery import FakeDiscovery

        closing = Deferred()
        discovery = FakeDiscovery(["127.0.0.1:2375"])
        discovery.close = lambda: closing
        service = JoinService(JoinConfig(discovery="etcd://127.0.0.1:2379/p",
                                         advertise="127.0.0.1:2375"), discovery, Clock())
        service.startService()
        d = service.stopService()
        self.assertNoResult(d)
        closing.callback(None)
        self.assertIsNone(self.successResultOf(d))
