"""
L{swarmd.ha.gate.ReplicaGate} over real loopback sockets: a replica serves
its local paths, forwards the rest to the primary (bodies and upgraded
streams included), waits a bounded time when no primary is known.
"""

import json

from treq.client import HTTPClient
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP4ServerEndpoint, connectProtocol
from twisted.internet.protocol import Protocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from swarmd.api import hijack
from swarmd.ha import Election
from swarmd.ha.gate import LOCAL_PATHS, ReplicaGate
from swarmd.testing.ha.fake import MemoryLeaderBackend, MemoryLeaderStore


class _Recording(Resource):
    """
    A server that says who it is and echoes the request it got; on
    C{/raw} it upgrades the connection and echoes bytes.
    """

    isLeaf = True

    def __init__(self, name):
        Resource.__init__(self)
        self.name = name
        self.requests = []

    def render(self, request):
        body = request.content.read()
        self.requests.append((request.method, request.uri, body))
        if request.path == b"/raw":
            request.channel.transport.write(
                b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            transport = request.channel.transport

            class _Echo(Protocol):
                def dataReceived(self, data):
                    transport.write(b"echo:" + data)

            echo = _Echo()
            leftover = hijack.take_over(request, echo)
            if leftover:
                echo.dataReceived(leftover)
            return NOT_DONE_YET
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps({"server": self.name, "method": request.method.decode(),
                           "uri": request.uri.decode(), "body": body.decode()}).encode()


class _TrackingSite(Site):
    """
    A site that can drop every connection it accepted (the upgraded and
    tunnelled ones included) at the end of a test.
    """

    def buildProtocol(self, addr):
        protocol = Site.buildProtocol(self, addr)
        self.__dict__.setdefault("protocols", []).append(protocol)
        return protocol


def site_connections_closed(site):
    for protocol in site.__dict__.get("protocols", []):
        channel = getattr(protocol, "_channel", protocol)
        transport = getattr(channel, "transport", None)
        if transport is not None:
            transport.abortConnection()
    return deferLater(reactor, 0.01, lambda: None)


class _UpgradeClient(Protocol):
    def __init__(self):
        self.data = b""
        self.sent = False
        self.got = Deferred()

    def dataReceived(self, data):
        self.data += data
        if b"\r\n\r\n" in self.data and not self.sent:
            # Like the docker CLI: stdin once the stream is upgraded.
            self.sent = True
            self.transport.write(b"hello")
        if b"echo:" in self.data and not self.got.called:
            self.got.callback(self.data)


class ReplicaGateTests(TestCase):
    """
    A replica in front of a primary, both on loopback.
    """

    def setUp(self):
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.http = HTTPClient(Agent(reactor, pool=pool))
        self.addCleanup(pool.closeCachedConnections)
        self.backend = MemoryLeaderBackend(reactor)
        self.primary = _Recording("primary")
        self.local = _Recording("replica")

    async def _serve(self, resource):
        site = _TrackingSite(resource)
        port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(site)
        self.addCleanup(port.stopListening)
        self.addCleanup(site_connections_closed, site)
        return port.getHost().port

    async def _replica(self, primary_port=None, wait=None):
        if primary_port is not None:
            self.backend.value = "127.0.0.1:%d" % (primary_port,)
            self.backend.holder = -1
            self.backend.expires = reactor.seconds() + 3600
        election = Election(MemoryLeaderStore(self.backend), "127.0.0.1:1", 30.0, reactor,
                            interval=0.05)
        election.start()
        self.addCleanup(election.stop)
        self.gate = ReplicaGate(election, self.local, reactor, wait=wait)
        port = await self._serve(self.gate)
        self.election = election
        return "http://127.0.0.1:%d" % (port,)

    async def _get_json(self, response):
        return json.loads(await response.content())

    async def test_forwards_to_primary(self):
        """A request that is not local reaches the primary, with its body and query."""
        primary = await self._serve(self.primary)
        url = await self._replica(primary)
        response = await self.http.post(url + "/v1.41/containers/create?name=web",
                                   data=b'{"Image": "busybox"}',
                                   headers={b"Content-Type": [b"application/json"]})
        self.assertEqual(response.code, 200)
        answer = await self._get_json(response)
        self.assertEqual(answer["server"], "primary")
        self.assertEqual(answer["uri"], "/v1.41/containers/create?name=web")
        self.assertEqual(answer["body"], '{"Image": "busybox"}')
        self.assertEqual(self.local.requests, [])

    async def test_local_paths_served_here(self):
        """_ping, version and info are answered by the replica itself."""
        primary = await self._serve(self.primary)
        url = await self._replica(primary)
        for path in ("/_ping", "/v1.41/info", "/version"):
            answer = await self._get_json(await self.http.get(url + path))
            self.assertEqual(answer["server"], "replica", path)
        self.assertEqual(self.primary.requests, [])

    def test_local_path_pattern(self):
        """Only exact local paths are local: no prefix tricks, no trailing newline."""
        self.assertTrue(LOCAL_PATHS.match(b"/v1.24/_ping"))
        for path in (b"/containers/info", b"/v1.41/info\n", b"/infox", b"/x/_ping"):
            self.assertIsNone(LOCAL_PATHS.match(path), path)

    async def test_upgraded_stream_forwarded(self):
        """An attach-style upgraded connection is spliced through to the primary."""
        primary = await self._serve(self.primary)
        url = await self._replica(primary)
        port = int(url.rsplit(":", 1)[1])
        client = await connectProtocol(TCP4ClientEndpoint(reactor, "127.0.0.1", port),
                                       _UpgradeClient())
        self.addCleanup(client.transport.loseConnection)
        client.transport.write(b"POST /raw HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                               b"Upgrade: tcp\r\nContent-Length: 0\r\n\r\n")
        data = await client.got
        self.assertIn(b"101 UPGRADED", data)
        self.assertIn(b"echo:hello", data)

    async def test_no_primary_is_503(self):
        """With no primary known, a request waits its bounded time, then gets a 503."""
        self.backend.down = True
        url = await self._replica(wait=0.3)
        response = await self.http.get(url + "/containers/json")
        self.assertEqual(response.code, 503)
        message = (await self._get_json(response))["message"]
        self.assertIn("no primary manager is known", message)

    async def test_primary_found_while_waiting(self):
        """A request waiting for a primary goes to it as soon as one is known."""
        primary = await self._serve(self.primary)
        self.backend.down = True
        url = await self._replica(wait=30)
        pending = self.http.get(url + "/containers/json")

        def elect():
            self.backend.down = False
            self.backend.value = "127.0.0.1:%d" % (primary,)
            self.backend.holder = -1
            self.backend.expires = reactor.seconds() + 3600

        await deferLater(reactor, 0.2, elect)
        answer = await self._get_json(await pending)
        self.assertEqual(answer["server"], "primary")

    async def test_primary_unreachable_is_503(self):
        """A primary that cannot be reached gives a 503 naming it."""
        # Port 9 of loopback: nothing listens there.
        url = await self._replica(9)
        response = await self.http.get(url + "/containers/json")
        self.assertEqual(response.code, 503)
        self.assertIn("cannot reach the primary manager 127.0.0.1:9",
                      (await self._get_json(response))["message"])

    async def test_primary_serves_everything(self):
        """A manager that is primary serves every path itself."""
        url = await self._replica()
        await deferLater(reactor, 0.2, lambda: None)
        self.assertTrue(self.election.is_primary())
        answer = await self._get_json(await self.http.get(url + "/containers/json"))
        self.assertEqual(answer["server"], "replica")
