"""
Simulated engines reached in memory: a cluster's engine clients send their
requests through C{treq.testing.RequestTraversalAgent}s to
L{swarmd.testing.simengine.SimEngine} resources, with no socket at all.

Answers that a simulated engine gives later (waits, streams) travel when
L{MemoryEngines.flush} pumps the in-memory connections; L{settle} pumps
them together with a C{StubTreq} client of the manager until a request is
answered.
"""

from treq.testing import RequestTraversalAgent

from swarmd.engine import EngineClient
from swarmd.testing.simengine import SimEngine


class MemoryEngines:
    """
    A set of simulated engines, and a client factory for a L{Cluster}.

    @ivar engines: C{dict} of address to L{SimEngine}.
    """

    def __init__(self, clock, registry=None):
        self.clock = clock
        self.registry = registry
        self.engines = {}
        self._agents = []

    def add(self, address, **options):
        """
        Add a simulated engine at C{address} (any string the cluster uses).

        @return: the L{SimEngine}.
        """
        options.setdefault("registry", self.registry)
        engine = SimEngine(clock=self.clock, **options)
        self.engines[address] = engine
        return engine

    def client(self, address):
        """
        The cluster's client factory.
        """
        agent = RequestTraversalAgent(self.engines[address].resource())
        self._agents.append(agent)
        return EngineClient(address, self.clock, agent=agent, timeout=30)

    def flush(self):
        """
        Deliver whatever the engines and their clients wrote.
        """
        for agent in self._agents:
            agent.flush()


def settle(deferred, engines, stub=None, rounds=100):
    """
    Pump the in-memory connections until C{deferred} fired.

    @param stub: the C{StubTreq} of the manager's resource, if any.
    @return: C{deferred}.
    """
    for _ in range(rounds):
        if deferred.called:
            break
        engines.flush()
        if stub is not None:
            stub.flush()
        engines.clock.advance(0)
    return deferred
