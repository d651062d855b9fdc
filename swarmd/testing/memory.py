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
from twisted.web.server import Site

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
                 metrics=False, **api_options):
        """
        @param addresses: one fake engine each, named C{n1}, C{n2}, ...
        @param metrics: if true, the manager's metrics (C{self.metrics}, a
            L{swarmd.metrics.ManagerMetrics} timed by the clock) are kept
            and served at C{/metrics}, as C{swarm manage} does.
        @param api_options: more L{DockerAPI} arguments.
        """
        import random

        from treq.testing import StubTreq
        from twisted.internet.task import Clock

        from swarmd.api.app import DockerAPI
        from swarmd.cluster import Cluster, EngineOptions
        from swarmd.scheduler import Scheduler, filters_for, strategy_for
        from swarmd.testing.fakediscovery import FakeDiscovery

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
        root = self.api.resource()
        self.metrics = None
        if metrics:
            from swarmd.metrics import InstrumentedRoot, ManagerMetrics

            self.metrics = ManagerMetrics(self.cluster, api=self.api, timer=clock.seconds)
            root = InstrumentedRoot(root, self.metrics)
        self.stub = StubTreq(root)

    def settle(self, deferred, step=0.1):
        """
        Pump engines and API until C{deferred} fired (see L{settle}).
        """
        return settle(deferred, self.engines, self.stub, step=step)

    def request(self, method, path, body=None, headers=None):
        """
        Send one request to the manager and read the whole answer.

        @param body: a JSON-able value, C{bytes}, or L{None}.
        @param headers: L{None}, or C{{name: value}} of request headers (a
            JSON body is sent without C{Content-Type} unless given here).
        @return: a L{Deferred} firing with C{(status, headers, content bytes)}.
        """
        import json

        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        answer = self.settle(self.stub.request(method, "http://swarm" + path, data=data,
                                               headers=headers))

        def read(response):
            content = self.settle(response.content())
            return content.addCallback(lambda data: (response.code, response.headers, data))

        answer.addCallback(read)
        # Let what the engines' containers do next (print, exit) happen.
        answer.addCallback(lambda result: (self.clock.advance(0.01), result)[1])
        return answer

    def stop(self):
        return self.cluster.stop()


class LoopbackManager:
    """
    A whole manager over fake engines, on the real reactor and real loopback
    sockets: each fake engine served on a TCP port of its own
    (L{swarmd.testing.fakeengine.serve}), the manager's API served on one
    too.  What C{StubTreq} cannot carry goes through it: hijacked attach,
    attach/ws and exec start take the client's connection over and open one
    to the engine.

    In a trial L{twisted.trial.unittest.TestCase} (tests returning
    Deferreds)::

        manager = yield LoopbackManager().start(self)   # stopped after the test
        stream = yield manager.connect()                # a raw client connection

    @ivar engines: C{dict} of engine address to L{FakeEngine}, named C{n1},
        C{n2}, ... in order.
    @ivar cluster: the L{swarmd.cluster.Cluster}.
    @ivar address: C{127.0.0.1:PORT} of the manager's API.
    """

    def __init__(self, count=2, reactor=None, strategy="spread",
                 filters=("health", "constraint")):
        """
        @param count: how many fake engines.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.reactor = reactor
        self.count = count
        self.strategy = strategy
        self.filters = tuple(filters)
        self.engines = {}
        self.cluster = None
        self.address = None
        self._engine_ports = []
        self._port = None
        self._site = None
        self._clients = []

    def engine(self, name):
        """
        @return: the L{FakeEngine} named C{name}.
        """
        for engine in self.engines.values():
            if engine.name == name:
                return engine
        raise KeyError(name)

    def start(self, testcase=None, timeout=10.0):
        """
        Serve the engines, start the cluster, wait until every engine is
        healthy, then serve the API.

        @param testcase: if given, L{stop} is registered as its cleanup.
        @return: a L{Deferred} firing with C{self}.
        """
        from twisted.internet.defer import ensureDeferred

        if testcase is not None:
            testcase.addCleanup(self.stop)
        return ensureDeferred(self._start(timeout))

    async def _start(self, timeout):
        import random

        from twisted.internet.endpoints import TCP4ServerEndpoint
        from twisted.internet.task import deferLater

        from swarmd.api.app import DockerAPI
        from swarmd.cluster import Cluster, EngineOptions
        from swarmd.scheduler import Scheduler, filters_for, strategy_for
        from swarmd.testing.fakediscovery import FakeDiscovery
        from swarmd.testing.fakeengine import serve

        reactor = self.reactor
        for index in range(1, self.count + 1):
            engine = FakeEngine(reactor, name="n%d" % (index,), seed=index)
            port = await serve(engine, "127.0.0.1:0", reactor)
            self._engine_ports.append(port)
            self.engines[port.address] = engine
        self.cluster = Cluster(
            reactor, FakeDiscovery(list(self.engines), clock=reactor), self._client,
            Scheduler(strategy_for(self.strategy, random=random.Random(1)),
                      filters_for(list(self.filters))),
            EngineOptions(), random=random.Random(1))
        self.cluster.start()
        for _ in range(int(timeout / 0.01)):
            if len(self.cluster.healthy_engines()) == self.count:
                break
            await deferLater(reactor, 0.01, lambda: None)
        else:
            raise RuntimeError("engines never all healthy: %r" % (self.cluster.engines,))
        self._site = TrackingSite(DockerAPI(self.cluster, reactor, strategy=self.strategy,
                                             filters=self.filters).resource())
        self._port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
            self._site)
        self.address = "127.0.0.1:%d" % (self._port.getHost().port,)
        return self

    def _client(self, address):
        client = EngineClient(address, self.reactor, timeout=30)
        self._clients.append(client)
        return client

    def connect(self, protocol=None):
        """
        Open a raw connection to the manager's API.

        @param protocol: the client protocol (by default a new
            L{swarmd.testing.conformance.engine.HijackedStream}).
        @return: a L{Deferred} firing with it once connected (closed by
            L{stop} if still open).
        """
        from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol

        from swarmd.testing.conformance.engine import HijackedStream

        host, _, port = self.address.rpartition(":")
        protocol = protocol if protocol is not None else HijackedStream()
        return connectProtocol(TCP4ClientEndpoint(self.reactor, host, int(port)), protocol)

    def request(self, method, path, body=None, headers=None):
        """
        One request to the manager's API on a fresh connection, the whole
        answer read.

        @param body: a JSON-able value, C{bytes}, or L{None}.
        @param headers: C{{name: value}}.
        @return: a L{Deferred} firing with C{(status, headers, content)}.
        """
        import json

        import treq
        from twisted.web.client import HTTPConnectionPool

        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        sent = dict(headers or {})
        if body is not None and not isinstance(body, bytes):
            sent.setdefault("Content-Type", "application/json")
        pool = HTTPConnectionPool(self.reactor, persistent=False)
        d = treq.request(method, "http://%s%s" % (self.address, path), data=data,
                         headers=sent or None, pool=pool)

        def read(response):
            return treq.content(response).addCallback(
                lambda content: (response.code, response.headers, content))

        return d.addCallback(read)

    def stop(self):
        """
        Stop serving the API (dropping its connections), then the cluster
        (its calls in flight still answered), then the engines, whose
        containers' timers are cancelled.

        @return: a L{Deferred} firing once all is closed.
        """
        from twisted.internet.defer import ensureDeferred

        return ensureDeferred(self._stop())

    async def _stop(self):
        from twisted.internet.defer import maybeDeferred

        if self._port is not None:
            port, self._port = self._port, None
            self._site.drop_all()
            await maybeDeferred(port.stopListening)
        if self.cluster is not None:
            cluster, self.cluster = self.cluster, None
            await cluster.stop()
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()
        ports, self._engine_ports = self._engine_ports, []
        for port in ports:
            await maybeDeferred(port.stopListening)
        for engine in self.engines.values():
            engine.halt()


class TrackingSite(Site):
    """
    A quiet L{twisted.web.server.Site} that remembers its connections'
    transports, so a stop can drop them (hijacked ones included).
    """

    noisy = False
    displayTracebacks = False

    def __init__(self, resource):
        Site.__init__(self, resource)
        self.transports = []

    def log(self, request):
        pass

    def buildProtocol(self, addr):
        protocol = Site.buildProtocol(self, addr)
        made = protocol.makeConnection

        def makeConnection(transport):
            self.transports.append(transport)
            return made(transport)

        protocol.makeConnection = makeConnection
        return protocol

    def drop_all(self):
        """
        Abort every connection still open.
        """
        transports, self.transports = self.transports, []
        for transport in transports:
            if not getattr(transport, "disconnected", False):
                transport.abortConnection()
