"""
Fake engines reached in memory: a cluster's engine clients send their
requests through C{treq.testing.RequestTraversalAgent}s to
L{swarmd.testing.fakeengine.FakeEngine} resources, with no socket at all.

Answers that a fake engine gives later (waits, streams) travel when
L{MemoryEngines.flush} pumps the in-memory connections; L{settle} pumps
them together with a C{StubTreq} client of the manager until a request is
answered.
"""

from treq.testing import RequestTraversalAgent

from swarmd.engine import EngineClient
from swarmd.testing.fakeengine import FakeEngine, FakeEngineAPI


class MemoryEngines:
    """
    A set of fake engines, and a client factory for a L{Cluster}.

    @ivar engines: C{dict} of address to L{FakeEngine}.
    """

    def __init__(self, clock, registry=None):
        self.clock = clock
        self.registry = registry
        self.engines = {}
        self._agents = []

    def add(self, address, **options):
        """
        Add a fake engine at C{address} (any address the cluster uses).

        @param options: L{FakeEngine} arguments (C{name}, C{labels}, ...).
        @return: the L{FakeEngine}.
        """
        if self.registry is not None:
            options.setdefault("registry", self.registry)
        engine = FakeEngine(self.clock, **options)
        self.engines[address] = engine
        return engine

    def client(self, address):
        """
        The cluster's client factory.
        """
        agent = RequestTraversalAgent(FakeEngineAPI(self.engines[address]).resource())
        self._agents.append(agent)
        return EngineClient(address, self.clock, agent=agent, timeout=30)

    def flush(self):
        """
        Deliver whatever the engines and their clients wrote.
        """
        for agent in self._agents:
            agent.flush()


def settle(deferred, engines, stub=None, rounds=200, step=0.0):
    """
    Pump the in-memory connections until C{deferred} fired.

    @param stub: the C{StubTreq} of the manager's resource, if any.
    @param step: seconds the clock moves on each round (what a fake engine
        does over time, e.g. a stop's timeout, happens as it moves).
    @return: C{deferred}.
    """
    fired = []

    def note(result):
        fired.append(True)
        return result

    deferred.addBoth(note)
    for _ in range(rounds):
        if fired:
            break
        engines.flush()
        if stub is not None:
            stub.flush()
        engines.clock.advance(step)
    return deferred


class MemoryManager:
    """
    A whole manager (cluster and API) over fake engines, all in memory and
    driven by a Clock: what in-memory API tests talk to through C{StubTreq}.

    @ivar clock: the L{Clock}.
    @ivar engines: the L{MemoryEngines}.
    @ivar cluster: the L{swarmd.cluster.Cluster}.
    @ivar stub: a C{StubTreq} of the manager's API.
    """

    def __init__(self, addresses=("127.0.0.1:2376", "127.0.0.1:2377"), clock=None,
                 strategy="spread", filters=("health", "constraint"), registry=None,
                 **api_options):
        """
        @param addresses: one fake engine each, named C{n1}, C{n2}, ...
        @param api_options: more L{DockerAPI} arguments.
        """
        import random

        from treq.testing import StubTreq
        from twisted.internet.task import Clock

        from swarmd.api.app import DockerAPI
        from swarmd.cluster import Cluster, EngineOptions
        from swarmd.scheduler import Scheduler, filters_for, strategy_for
        from swarmd.testing.discovery import FakeDiscovery

        if clock is None:
            clock = Clock()
            clock.advance(1795860000)
        self.clock = clock
        self.engines = MemoryEngines(clock, registry=registry)
        for index, address in enumerate(addresses, 1):
            self.engines.add(address, name="n%d" % (index,))
        self.cluster = Cluster(
            clock, FakeDiscovery(list(addresses), clock=clock), self.engines.client,
            Scheduler(strategy_for(strategy, random=random.Random(1)),
                      filters_for(list(filters))),
            EngineOptions(), random=random.Random(1))
        self.cluster.start()
        clock.advance(0)
        self.engines.flush()
        clock.advance(0)
        self.api = DockerAPI(self.cluster, clock, **api_options)
        self.stub = StubTreq(self.api.resource())

    def settle(self, deferred, step=0.1):
        """
        Pump engines and API until C{deferred} fired (see L{settle}).
        """
        return settle(deferred, self.engines, self.stub, step=step)

    def request(self, method, path, body=None):
        """
        Send one request to the manager and read the whole answer.

        @param body: a JSON-able value, C{bytes}, or L{None}.
        @return: a L{Deferred} firing with C{(status, headers, content bytes)}.
        """
        import json

        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        answer = self.settle(self.stub.request(method, "http://swarm" + path, data=data))

        def read(response):
            content = self.settle(response.content())
            return content.addCallback(lambda data: (response.code, response.headers, data))

        answer.addCallback(read)
        # Let what the engines' containers do next (print, exit) happen.
        answer.addCallback(lambda result: (self.clock.advance(0.01), result)[1])
        return answer

    def stop(self):
        return self.cluster.stop()
