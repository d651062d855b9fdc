"""
Tests for hung engines (L{swarmd.cluster.engine.Engine.watch}): an engine
that accepts requests but never answers (a stopped dockerd) gets no new
containers once it has been silent for the ping timeout, is unhealthy
C{failure_retry} ping timeouts after it went silent, and healthy again
when it answers.  Fake engines in memory, on a L{Clock}.
"""

import random

from treq.testing import RequestTraversalAgent
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster import (
    HEALTHY,
    UNHEALTHY,
    Cluster,
    ClusterError,
    CreateOutcomeUnknown,
    EngineOptions,
)
from swarmd.engine import EngineClient, EngineUnreachable
from swarmd.scheduler import ContainerConfig, Scheduler, filters_for, strategy_for
from swarmd.testing.fakediscovery import FakeDiscovery
from swarmd.testing.fakeengine import FakeEngine, FakeEngineAPI


class HangingAgent:
    """
    An agent in front of a fake engine that can hang: while L{hung}, every
    request is held unanswered (as a stopped dockerd whose socket still
    accepts); L{resume} sends the held ones on.  While L{down} every
    connection is refused (a dead dockerd); so are requests whose URL
    contains L{refuse} (C{bytes}).
    """

    def __init__(self, agent):
        self.agent = agent
        self.hung = False
        self.down = False
        self.refuse = None
        self.held = []

    def request(self, method, uri, headers=None, bodyProducer=None):
        if self.down or (self.refuse is not None and self.refuse in uri):
            # A dead dockerd: its port refuses connections.
            return fail(ConnectionRefusedError("Connection refused"))
        if not self.hung:
            return self.agent.request(method, uri, headers, bodyProducer)
        d = Deferred()
        self.held.append((d, (method, uri, headers, bodyProducer)))
        return d

    def resume(self, lost=None):
        """
        Answer again.  The held requests reach the engine now, even the
        ones whose caller gave up (as a stopped dockerd, continued, reads
        what waited in its socket), but the ones whose URL contains C{lost}.
        """
        self.hung = False
        held, self.held = self.held, []
        for d, args in held:
            if lost is not None and lost in args[1]:
                continue
            answer = self.agent.request(*args)
            if d.called:
                answer.addErrback(lambda _: None)
            else:
                answer.chainDeferred(d)

    def flush(self):
        self.agent.flush()


class Harness:
    """
    A cluster over fake engines named C{n1}, C{n2}, ..., each behind a
    L{HangingAgent}, driven by a L{Clock}.

    @ivar fakes: C{dict} of name to L{FakeEngine}.
    @ivar agents: C{dict} of name to L{HangingAgent}.
    """

    def __init__(self, count=3, options=None, filters=("health", "constraint"),
                 wrap_cluster=None, clock=None):
        if clock is None:
            clock = Clock()
            clock.advance(1795860000)
        self.clock = clock
        self.fakes = {}
        self.agents = {}
        self.addresses = {}
        for index in range(1, count + 1):
            name = "n%d" % (index,)
            address = "127.0.0.1:%d" % (2375 + index,)
            self.fakes[name] = FakeEngine(clock, name=name, seed=index)
            self.agents[name] = HangingAgent(
                RequestTraversalAgent(FakeEngineAPI(self.fakes[name]).resource()))
            self.addresses[name] = address
        self.by_address = {a: n for n, a in self.addresses.items()}
        self.options = options or EngineOptions(refresh_min=30.0, refresh_max=30.0,
                                                failure_retry=3, ping_timeout=2.0)
        self.filters = filters
        self.discovery = FakeDiscovery(list(self.addresses.values()), clock=clock)
        self.cluster = self.make_cluster()
        self.cluster.start()
        self.settle()

    def make_cluster(self):
        return Cluster(
            self.clock, self.discovery, self.client,
            Scheduler(strategy_for("spread", random=random.Random(1)),
                      filters_for(list(self.filters))),
            self.options, random=random.Random(1))

    def client(self, address):
        return EngineClient(address, self.clock, agent=self.agents[self.by_address[address]],
                            timeout=10)

    def engine(self, name):
        return self.cluster.engines[self.addresses[name]]

    def flush(self):
        for agent in self.agents.values():
            agent.flush()

    def settle(self, rounds=20):
        for _ in range(rounds):
            self.flush()
            self.clock.advance(0)

    def advance(self, seconds, step=0.1):
        """
        Move the clock on by C{seconds}, in steps, the engines answering as
        it goes.
        """
        moved = 0.0
        while moved < seconds - 1e-9:
            self.clock.advance(min(step, seconds - moved))
            moved += step
            self.settle(3)

    def create(self, name=None, **body):
        body.setdefault("Image", "busybox")
        body.setdefault("Cmd", ["sleep", "1000"])
        d = self.cluster.create_container(ContainerConfig.from_create_body(body, name))
        self.settle()
        return d


class HungEngineTests(SynchronousTestCase):
    """
    One engine stops answering while calls are under way.
    """

    def setUp(self):
        self.logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.lab = Harness()
        self.addCleanup(self.lab.cluster.stop)

    def _hang_with_a_call(self, name="n1"):
        """
        Hang an engine and start a call on it, as a client's list would.
        """
        self.lab.agents[name].hung = True
        engine = self.lab.engine(name)
        call = engine.track(engine.client.list_containers())
        call.addErrback(lambda f: f.trap(EngineUnreachable))
        return engine

    def test_every_engine_healthy(self):
        """The harness starts with every engine healthy and not stalled."""
        self.assertEqual([(e.state, e.stalled) for e in self.lab.cluster.engines.values()],
                         [(HEALTHY, False)] * 3)

    def test_stalled_after_half_ping_timeout(self):
        """Silent for half the ping timeout with a call under way: one failure, no placement."""
        engine = self._hang_with_a_call()
        self.lab.advance(0.8)
        self.assertFalse(engine.stalled)
        self.assertTrue(next(n for n in self.lab.cluster.nodes() if n.name == "n1").healthy)
        self.lab.advance(0.6)
        self.assertTrue(engine.stalled)
        self.assertEqual((engine.state, engine.failures), (HEALTHY, 1))
        self.assertFalse(next(n for n in self.lab.cluster.nodes() if n.name == "n1").healthy)
        warnings = [e for e in self.logged if "silent for" in e.get("log_format", "")]
        self.assertEqual([e["engine"] for e in warnings], ["n1"])

    def test_unhealthy_within_retry_times_ping_timeout(self):
        """The engine turns unhealthy failure_retry ping timeouts after it went silent."""
        engine = self._hang_with_a_call()
        hung_at = self.lab.clock.seconds()
        while engine.state == HEALTHY and self.lab.clock.seconds() - hung_at < 60:
            self.lab.advance(0.1)
        took = self.lab.clock.seconds() - hung_at
        options = self.lab.options
        self.assertEqual(engine.state, UNHEALTHY)
        self.assertLessEqual(took, options.failure_retry * options.ping_timeout)
        self.assertGreaterEqual(took, (options.failure_retry - 1) * options.ping_timeout)

    def test_creates_placed_elsewhere(self):
        """Creates made once the engine is stalled all land on the other engines."""
        self.lab.agents["n1"].hung = True
        stuck = self.lab.create("stuck", Env=["constraint:node==n1"])
        self.assertNoResult(stuck)
        self.lab.advance(2.5)
        placed = []
        for index in range(12):
            engine, _ = self.successResultOf(self.lab.create("web%d" % (index,)))
            placed.append(engine.name)
        self.assertNotIn("n1", placed)
        self.assertEqual(set(placed), {"n2", "n3"})
        self.lab.advance(60)
        self.failureResultOf(stuck, EngineUnreachable)

    def test_back_to_healthy(self):
        """When the engine answers again (its ping answered), it is healthy and placeable."""
        engine = self._hang_with_a_call()
        self.lab.advance(10)
        self.assertEqual(engine.state, UNHEALTHY)
        self.lab.agents["n1"].resume()
        self.lab.settle()
        self.assertEqual((engine.state, engine.stalled, engine.failures), (HEALTHY, False, 0))
        self.assertTrue(next(n for n in self.lab.cluster.nodes() if n.name == "n1").healthy)
        events = [e["Action"] for e in self.lab.cluster.recent_events if e.get("Type") == "swarm"]
        self.assertEqual(events[-2:], ["engine_disconnect", "engine_reconnect"])

    def test_quiet_engine_not_stalled(self):
        """An engine with nothing under way is never judged, however long it is quiet."""
        engine = self.lab.engine("n2")
        self.lab.agents["n2"].hung = True
        self.lab.advance(20)
        self.assertEqual((engine.state, engine.stalled, engine.failures), (HEALTHY, False, 0))

    def test_slow_call_on_live_engine(self):
        """A long call on an engine that still answers its ping is not a hang."""
        engine = self.lab.engine("n2")
        # A pull that takes minutes, with nothing else asked of the engine
        # (the client says when a call starts while none was under way).
        engine.client.outstanding[object()] = self.lab.clock.seconds()
        engine.client.on_busy()
        for _ in range(5):
            self.lab.advance(2.5)
            # Each silence made it stalled and sent a ping, answered at once.
            self.assertEqual((engine.state, engine.stalled, engine.failures),
                             (HEALTHY, False, 0))
        answered = [e for e in self.logged if "answers again" in e.get("log_format", "")]
        self.assertEqual({e["engine"] for e in answered}, {"n2"})

    def test_idle_engines_not_watched(self):
        """
        The cluster watches only the engines with calls under way: an idle
        cluster's watch loop looks at no engine, whatever its size.
        """
        watched = []
        for name in ("n1", "n2", "n3"):
            engine = self.lab.engine(name)
            real = engine.watch
            engine.watch = lambda real=real, name=name: (watched.append(name), real())[1]
        self.lab.advance(1)
        watched[:] = []
        self.lab.advance(5)
        self.assertEqual(watched, [])
        engine = self._hang_with_a_call("n2")
        self.lab.advance(1.5)
        self.assertEqual(set(watched), {"n2"})
        self.assertTrue(engine.stalled)
        self.lab.agents["n2"].resume()
        self.lab.advance(1)
        self.assertFalse(engine.stalled)
        watched[:] = []
        self.lab.advance(5)
        self.assertEqual(watched, [])

    def test_left_engine_not_watched(self):
        """An engine that left discovery with calls under way is not watched any more."""
        engine = self._hang_with_a_call("n2")
        self.lab.cluster.set_addresses([self.lab.addresses["n1"], self.lab.addresses["n3"]])
        self.lab.advance(10)
        self.assertEqual((engine.stalled, engine.failures), (False, 0))

    def test_engine_without_call_tracking(self):
        """Clients that keep no record of their calls are left alone."""
        engine = self.lab.engine("n3")
        engine.client = object()
        engine.watch()
        self.assertEqual((engine.state, engine.stalled), (HEALTHY, False))


class OrphanCreateTests(SynchronousTestCase):
    """
    A create sent to an engine that hangs past the create's timeout: the
    client is told the outcome is unknown, the name stays held, and once the
    engine answers the manager adopts or removes what it finds.
    """

    def setUp(self):
        self.logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.lab = Harness()
        self.addCleanup(self.lab.cluster.stop)

    def _unknown_create(self, name="web", node="n2"):
        self.lab.agents[node].hung = True
        d = self.lab.create(name, Env=["constraint:node==" + node])
        self.lab.advance(61, step=0.5)
        return self.failureResultOf(d, CreateOutcomeUnknown).value

    def _outcomes(self):
        return [e["log_format"].split(";")[1].split(":")[0].strip()
                for e in self.logged
                if e.get("log_format", "").startswith("create of {name} on {engine} had happened")]

    def test_client_told_outcome_unknown(self):
        """The error says the outcome is unknown and the name may be held, naming the node."""
        error = self._unknown_create()
        text = str(error)
        self.assertIn("timed out", text)
        self.assertIn("outcome of the create is unknown", text)
        self.assertIn('its name "web" may be held', text)
        self.assertIn("node n2", text)

    def test_name_held_meanwhile(self):
        """While the engine does not answer, a create with the same name is refused."""
        self._unknown_create()
        self.assertEqual(self.lab.cluster.name_owner("web").unknown, True)
        d = self.lab.create("web")
        self.assertEqual(self.failureResultOf(d, ClusterError).value.status, 409)

    def test_adopted(self):
        """The engine created it: once it answers, the container is cached and its name taken."""
        self._unknown_create()
        self.lab.agents["n2"].resume()
        self.lab.advance(3)
        container = self.lab.cluster.container("web")
        self.assertIsNotNone(container)
        self.assertEqual(container.engine.name, "n2")
        self.assertEqual(self.lab.cluster.pending, {})
        self.assertEqual(self._outcomes(), ["adopted it"])
        d = self.lab.create("web")
        self.assertEqual(self.failureResultOf(d, ClusterError).value.status, 409)

    def test_removed_when_rival(self):
        """Another container with its Swarm ID exists: the late copy is removed, not adopted."""
        error = self._unknown_create()
        swarm_id = next(iter(self.lab.cluster.pending))
        self.assertEqual(error.name, "web")
        # A copy with the same Swarm ID appeared elsewhere (a rescheduling).
        engine, _ = self.successResultOf(self.lab.create(
            "web-copy", Labels={"com.docker.swarm.id": "x"}, Env=["constraint:node==n3"]))
        copy = self.lab.cluster.container("web-copy")
        self.lab.cluster.containers.replace(copy, None)
        copy.info["Config"]["Labels"]["com.docker.swarm.id"] = swarm_id
        self.lab.cluster.containers.replace(None, copy)
        self.lab.agents["n2"].resume()
        self.lab.advance(3)
        self.assertEqual(self._outcomes(), ["removed it"])
        self.assertEqual(self.lab.fakes["n2"].containers, {})
        self.assertIsNone(self.lab.cluster.name_owner("web"))

    def test_never_created(self):
        """The request never reached the engine: the name and resources are let go."""
        self._unknown_create()
        self.lab.agents["n2"].resume(lost=b"/containers/create")
        self.lab.advance(3)
        self.assertIsNone(self.lab.cluster.name_owner("web"))
        self.assertEqual(self._outcomes(), [])
        absent = [e for e in self.logged if "had not happened" in e.get("log_format", "")]
        self.assertEqual(len(absent), 1)
        engine, _ = self.successResultOf(self.lab.create("web"))
        self.assertIsNotNone(self.lab.cluster.container("web"))

    def test_not_retried_elsewhere(self):
        """With create retries, an unknown outcome is not retried on another node."""
        self.lab.cluster.create_retry = 2
        self.lab.agents["n2"].hung = True
        d = self.lab.create("solo", Env=["constraint:node==~n2"])
        self.lab.advance(61, step=0.5)
        self.failureResultOf(d, CreateOutcomeUnknown)
        self.assertIsNone(self.lab.cluster.container("solo"))

    def test_engine_leaves(self):
        """An engine that leaves the cluster takes its unknown creates with it."""
        self._unknown_create()
        self.lab.discovery.set_entries([self.lab.addresses["n1"], self.lab.addresses["n3"]])
        self.lab.advance(3)
        self.assertIsNone(self.lab.cluster.name_owner("web"))
        self.assertEqual(self.lab.cluster.creations._unknown, {})


class OutcomeTests(SynchronousTestCase):
    """
    L{EngineClient} says whether a failed call may have reached the engine
    (L{EngineUnreachable.outcome_unknown}) and keeps its calls under way.
    """

    def _client(self, answer):
        class Agent:
            def request(self, method, uri, headers=None, bodyProducer=None):
                return answer()

        clock = Clock()
        return clock, EngineClient("127.0.0.1:2375", clock, agent=Agent(), timeout=10)

    def test_refused_is_known(self):
        """A refused connection never reached the engine."""
        _, client = self._client(lambda: fail(ConnectionRefusedError("refused")))
        error = self.failureResultOf(client.list_containers(), EngineUnreachable).value
        self.assertFalse(error.outcome_unknown)

    def test_timeout_is_unknown(self):
        """A call that timed out may have been done."""
        clock, client = self._client(Deferred)
        d = client.create_container({"Image": "busybox"}, "web")
        self.assertEqual(len(client.outstanding), 1)
        clock.advance(60)
        error = self.failureResultOf(d, EngineUnreachable).value
        self.assertTrue(error.outcome_unknown)
        self.assertEqual(error.reason, "timed out")
        self.assertEqual(client.outstanding, {})

    def test_lost_response_is_unknown(self):
        """A connection lost before the answer came may have carried the request."""
        from twisted.internet.error import ConnectionLost
        from twisted.python.failure import Failure
        from twisted.web._newclient import ResponseNeverReceived

        _, client = self._client(lambda: fail(ResponseNeverReceived(
            [Failure(ConnectionLost("lost"))])))
        error = self.failureResultOf(client.list_containers(), EngineUnreachable).value
        self.assertTrue(error.outcome_unknown)

    def test_answers_noted(self):
        """An error answer is an answer: the engine is alive."""
        from swarmd.engine import EngineError

        clock, client = self._client(lambda: fail(EngineError(404, "no such container")))
        clock.advance(5)
        self.failureResultOf(client.inspect_container("x"), EngineError)
        self.assertEqual(client.answered_at, 5)
        self.assertEqual(client.outstanding, {})

    def test_busy_told_once(self):
        """
        C{on_busy} is called when a call starts while none was under way,
        not for each call of a burst.
        """
        clock, client = self._client(Deferred)
        told = []
        client.on_busy = lambda: told.append(clock.seconds())
        first = client.list_containers()
        second = client.inspect_container("x")
        self.assertEqual(told, [0])
        for d in (first, second):
            d.cancel()
            self.failureResultOf(d)
        self.assertEqual(client.outstanding, {})
        clock.advance(3)
        third = client.list_containers()
        self.assertEqual(told, [0, 3])
        third.cancel()
        self.failureResultOf(third)
