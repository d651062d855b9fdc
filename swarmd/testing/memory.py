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
