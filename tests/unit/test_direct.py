"""
Tests for L{swarmd.api.direct}: the fast lane's plain requests answered by
the HTTP channel itself answer the same bytes as Twisted's path, in order,
counted, gated and timed out the same; everything unusual takes Twisted's
path.
"""

import json
import re
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor, ssl, tcp
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.protocol import Protocol
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.http import datetimeToString

from swarmd.api import direct
from swarmd.api.site import MAX_HEADER_BYTES, DockerSite
from swarmd.config import TLSOptions
from swarmd.ha.gate import ReplicaGate
from swarmd.testing import fuzz
from swarmd.testing.lab._tls import make_certificates
from swarmd.testing.memory import MemoryManager
from swarmd.tls import wrap_server_factory

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]

_DATE = re.compile(rb"\r\nDate: [^\r]*\r\n")

#: /info's wall-clock time, the only part of its body that moves.
_SYSTEM_TIME = re.compile(rb'"SystemTime":"[^"]*"')


def _same_second(answer):
    """
    @return: C{answer} with its C{Date} headers' values and /info's
        C{SystemTime} blanked (two answers made a moment apart differ
        there only).
    """
    return _SYSTEM_TIME.sub(b'"SystemTime":"-"', _DATE.sub(b"\r\nDate: -\r\n", answer))


class _Taken:
    """
    Wraps L{direct.answer}: records whether each read was taken.
    """

    def __init__(self, test):
        self.taken = []
        answer = direct.answer

        def counted(channel, data, factory):
            taken = answer(channel, data, factory)
            self.taken.append(taken)
            return taken

        test.patch(direct, "answer", counted)


def _manager(test, **options):
    """
    @return: a L{MemoryManager} with metrics, two containers (C{web} on
        n1, running; C{db} on n2) and C{twin} on both nodes.
    """
    manager = MemoryManager(ADDRESSES, metrics=True, **options)
    test.addCleanup(manager.stop)
    for name, node in (("web", "n1"), ("db", "n2")):
        code, _, content = test.successResultOf(manager.request(
            "POST", "/containers/create?name=" + name,
            {"Image": "busybox", "Cmd": ["sleep", "300"], "Env": ["constraint:node==" + node]}))
        test.assertEqual(code, 201, content)
    test.successResultOf(manager.request("POST", "/containers/web/start"))
    for address in ADDRESSES:
        manager.engines.engines[address].create({"Image": "busybox"}, "twin")
    for _ in range(2):
        manager.clock.advance(1)
        manager.engines.flush()
    return manager


def _root(manager):
    """
    @return: the manager's root resource as C{swarm manage} serves it
        (metrics in front of the fast lane in front of Klein).
    """
    from swarmd.metrics import InstrumentedRoot

    return InstrumentedRoot(manager.api.resource(), manager.metrics)


class _Connection:
    """
    One connection to a site, in memory: its channel, transport and clock.
    """

    def __init__(self, site, direct_answers=True):
        self.clock = Clock()
        self.protocol = site.buildProtocol(None)
        self.protocol.callLater = self.clock.callLater
        self.channel = self.protocol._channel
        self.channel.direct_answers = direct_answers
        self.transport = StringTransport()
        self.protocol.makeConnection(self.transport)

    def send(self, *reads):
        for data in reads:
            self.protocol.dataReceived(data)
        return self.transport.value()


class SameBytesTests(SynchronousTestCase):
    """
    The same reads answered by the channel directly and by Twisted's path.
    """

    def setUp(self):
        self.manager = _manager(self)
        self.taken = _Taken(self)

    def both(self, *reads, cors=False):
        """
        @return: what a connection wrote for C{reads}, directly and by
            Twisted's path (C{Date} blanked), and whether each read was
            taken directly.
        """
        site = DockerSite(_root(self.manager), cors=cors)
        answers = []
        for direct_answers in (True, False):
            del self.taken.taken[:]
            connection = _Connection(site, direct_answers)
            answers.append(_same_second(connection.send(*reads)))
            self.manager.engines.flush()
            if direct_answers:
                taken = list(self.taken.taken)
            else:
                self.assertEqual(self.taken.taken, [])
        return answers[0], answers[1], taken

    def test_fast_routes(self):
        """Every fast route, its errors and queries: the same bytes, taken directly."""
        web = self.manager.cluster.container("web").id
        paths = [b"/_ping", b"/v1.41/_ping", b"/version", b"/v1.24/version",
                 b"/containers/json", b"/v1.41/containers/json?all=1&limit=2",
                 b"/containers/json?filters=" + json.dumps({"status": ["running"]},
                                                          separators=(",", ":")).encode(),
                 b"/containers/web/json", b"/v1.41/containers/n2/db/json",
                 b"/containers/%s/json" % (web[:10].encode(),), b"/containers/web/json?size=1",
                 b"/containers/ghost/json", b"/containers/twin/json", b"/v9.99/info",
                 b"/v1.0/_ping", b"/containers/json?filters=%7Bbad", b"/containers/json?limit=x",
                 b"/vx/version", b"/containers/json?filters=%80&all=%ff"]
        for path in paths:
            for cors in (False, True):
                read = b"GET %s HTTP/1.1\r\nHost: swarm\r\nUser-Agent: t\r\n\r\n" % (path,)
                mine, twisted, taken = self.both(read, cors=cors)
                self.assertEqual(mine, twisted, path)
                self.assertEqual(taken, [True], path)
                self.assertTrue(mine.startswith(b"HTTP/1.1 "), mine)

    def test_info(self):
        """/info: the same bytes but its SystemTime (the wall clock's)."""
        mine, twisted, taken = self.both(b"GET /info HTTP/1.1\r\n\r\n")
        self.assertEqual((mine, taken), (twisted, [True]))
        self.assertIn(b'"SystemTime":"-"', mine)

    def test_keep_alive_and_headers(self):
        """Connection: keep-alive, cookies and odd spacing still take the direct path."""
        read = (b"GET /_ping HTTP/1.1\r\nConnection: Keep-Alive\r\nCookie: a=b; c=d\r\n"
                b"X-Spaced:  \t v \t\r\nX-Empty:\r\n\r\n")
        mine, twisted, taken = self.both(read)
        self.assertEqual((mine, taken), (twisted, [True]))

    def test_fallbacks(self):
        """Anything unusual takes Twisted's path, and answers as it does."""
        reads = [
            b"HEAD /_ping HTTP/1.1\r\n\r\n",
            b"POST /_ping HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"get /_ping HTTP/1.1\r\n\r\n",
            b"GET /_ping HTTP/1.0\r\n\r\n",
            b"GET /_ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nContent-Length: 2\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nUpgrade: tcp\r\n\r\n",
            b"GET /containers/w%65b/json HTTP/1.1\r\n\r\n",
            b"GET /images/json HTTP/1.1\r\n\r\n",
            b"GET /nowhere HTTP/1.1\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nX-Folded: a\r\n b\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nNo-Colon\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nX: a\x00b\r\n\r\n",
            b"GET /_ping HTTP/1.1\r\nX: a\nb\r\n\r\n",
            b"GET /_p\x7fing HTTP/1.1\r\n\r\n",
            b"GET  /_ping HTTP/1.1\r\n\r\n",
            b"GET http://swarm/_ping HTTP/1.1\r\n\r\n",
            b"\r\nGET /_ping HTTP/1.1\r\n\r\n",
            b"GET /_ping HTTP/1.1\n\n",
        ]
        for read in reads:
            mine, twisted, taken = self.both(read)
            self.assertEqual(mine, twisted, read)
            self.assertNotIn(True, taken, read)

    @settings(max_examples=200, deadline=None)
    @given(path=st.one_of(fuzz.paths, st.sampled_from(
               ["/_ping", "/v1.41/version", "/containers/json", "/containers/web/json",
                "/containers/n1/web/json", "/containers/twin/json"])),
           query=st.one_of(st.just(""), fuzz.filters.map(
               lambda f: "?all=1&filters=" + quote(f, safe=""))),
           headers=fuzz.headers)
    def test_any_head(self, path, query, headers):
        """Any GET head, fast route or not, odd headers or not: the same bytes either way."""
        lines = ["GET %s%s HTTP/1.1" % (path, query)]
        lines += ["%s: %s" % item for item in headers.items()]
        read = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        mine, twisted, _ = self.both(read)
        self.assertEqual(mine, twisted, read)

    def test_two_heads_in_one_read(self):
        """Two pipelined requests in one read take Twisted's path, answered in order."""
        read = b"GET /_ping HTTP/1.1\r\n\r\nGET /version HTTP/1.1\r\n\r\n"
        mine, twisted, taken = self.both(read)
        self.assertEqual((mine, taken), (twisted, [False]))
        self.assertLess(mine.index(b"OK"), mine.index(b"ApiVersion"))

    def test_head_in_pieces(self):
        """A head arriving in two reads takes Twisted's path; the next one is direct."""
        mine, twisted, taken = self.both(b"GET /_ping HTTP/1.1\r\nHo", b"st: x\r\n\r\n",
                                         b"GET /version HTTP/1.1\r\n\r\n")
        # The first read is not a whole head; the second is read by
        # Twisted's line parser, which holds the first line.
        self.assertEqual((mine, taken), (twisted, [True]))

    def test_too_long(self):
        """A head over the size limit is refused as before: Twisted's path answers 431."""
        read = (b"GET /_ping HTTP/1.1\r\nX-Big: " + b"a" * MAX_HEADER_BYTES + b"\r\n\r\n")
        mine, twisted, taken = self.both(read)
        self.assertEqual((mine, taken), (twisted, []))
        self.assertTrue(mine.startswith(b"HTTP/1.1 431 "), mine[:100])

    def test_metrics_path(self):
        """/metrics is answered by Twisted's path (its answer is written piece by piece)."""
        site = DockerSite(_root(self.manager))
        connection = _Connection(site)
        connection.send(b"GET /metrics HTTP/1.1\r\n\r\n")
        self.assertEqual(self.taken.taken, [False])

    def test_counted(self):
        """A direct answer is counted under its route template, method and status."""
        site = DockerSite(_root(self.manager))
        connection = _Connection(site)
        connection.send(b"GET /v1.41/containers/web/json HTTP/1.1\r\n\r\n")
        connection.send(b"GET /containers/ghost/json HTTP/1.1\r\n\r\n")
        self.assertEqual(self.taken.taken, [True, True])
        text = self.manager.metrics.exposition().decode("utf-8")
        for code in ("200", "404"):
            self.assertIn('swarm_api_requests_total{code="%s",method="GET",'
                          'route="/containers/{name}/json"} 1.0' % (code,), text)


class OrderTests(SynchronousTestCase):
    """
    Answers that take time, pipelining, leaving clients, the idle timeout.
    """

    def setUp(self):
        # A container list with a node filter re-reads that node first: an
        # answer that takes the engine's latency.
        self.manager = _manager(self, refresh_on_node_filter=True)
        self.manager.engines.engines[ADDRESSES[1]].latency = 5
        self.site = DockerSite(_root(self.manager))
        self.taken = _Taken(self)
        self.later = (b"GET /containers/json?all=1&filters=%s HTTP/1.1\r\n\r\n"
                      % (json.dumps({"node": ["n2"]}).replace(" ", "").encode(),))

    def settle(self):
        for _ in range(20):
            self.manager.clock.advance(1)
            self.manager.engines.flush()

    def test_later_answer_then_pipelined(self):
        """A request read while a direct one waits is answered after it, as by Twisted."""
        answers = []
        for direct_answers in (True, False):
            connection = _Connection(self.site, direct_answers)
            connection.send(self.later, b"GET /_ping HTTP/1.1\r\n\r\n")
            self.assertEqual(connection.transport.value(), b"")
            self.settle()
            answers.append(_same_second(connection.transport.value()))
        self.assertEqual(answers[0], answers[1])
        # The waiting one, then the /_ping: held, and read again (directly)
        # once the first answer was written.
        self.assertEqual(self.taken.taken, [True, True])
        self.assertIn(b"Transfer-Encoding: chunked", answers[0])
        self.assertLess(answers[0].index(b"\r\n0\r\n\r\n"), answers[0].index(b"\r\n\r\nOK"))

    def test_next_direct_after_later_answer(self):
        """Once a waiting answer is written, the next read is answered directly again."""
        connection = _Connection(self.site)
        connection.send(self.later)
        self.settle()
        connection.send(b"GET /_ping HTTP/1.1\r\n\r\n")
        self.assertEqual(self.taken.taken, [True, True])
        self.assertTrue(connection.transport.value().endswith(b"\r\n\r\nOK"))

    def test_client_leaves(self):
        """A client leaving a waiting direct answer cancels it; nothing is written."""
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        connection = _Connection(self.site)
        connection.send(self.later)
        self.assertEqual(len(connection.channel.requests), 1)
        connection.protocol.connectionLost(Failure(ConnectionDone()))
        self.settle()
        self.assertEqual((self.taken.taken, connection.transport.value()), ([True], b""))

    def test_idle_timeout(self):
        """The idle timeout runs from a direct answer, and stops while one waits."""
        connection = _Connection(self.site)
        timeout = connection.channel.timeOut
        connection.send(b"GET /_ping HTTP/1.1\r\n\r\n")
        connection.clock.advance(timeout - 1)
        self.assertFalse(connection.transport.disconnecting)
        connection.send(self.later)
        connection.clock.advance(timeout + 1)
        self.assertFalse(connection.transport.disconnecting)
        self.settle()
        connection.clock.advance(timeout - 1)
        self.assertFalse(connection.transport.disconnecting)
        connection.clock.advance(2)
        self.assertTrue(connection.transport.disconnecting)
        self.assertEqual(self.taken.taken, [True, True])

    def test_not_persistent(self):
        """A connection told to close after its answer (a stopping manager) closes after it."""
        connection = _Connection(self.site)
        connection.send(self.later)
        connection.channel.persistent = False
        self.settle()
        self.assertTrue(connection.transport.disconnecting)


class _Election:
    """
    A replica's election: never primary, no primary known.
    """

    ttl = 10
    interval = 3
    address = "127.0.0.1:1"

    def is_primary(self):
        return False

    def known_primary(self):
        return None

    def wait_for_primary(self, seconds):
        return Deferred()


class GateTests(SynchronousTestCase):
    """
    The replica gate decides before any direct answer.
    """

    def test_replica(self):
        """A replica answers its local paths directly; every other request takes the gate."""
        manager = _manager(self)
        gate = ReplicaGate(_Election(), manager.api.resource(), manager.clock, wait=1)
        from swarmd.metrics import InstrumentedRoot

        site = DockerSite(InstrumentedRoot(gate, manager.metrics))
        taken = _Taken(self)
        connection = _Connection(site)
        connection.send(b"GET /v1.41/_ping HTTP/1.1\r\n\r\n")
        self.assertTrue(connection.transport.value().endswith(b"\r\n\r\nOK"))
        connection.transport.clear()
        # Waits for a primary (Twisted's path, then the gate's).
        connection.send(b"GET /containers/json HTTP/1.1\r\n\r\n")
        self.assertEqual(connection.transport.value(), b"")
        self.assertEqual(taken.taken, [True, False])
        self.assertTrue(gate.answers_directly(b"GET", b"/info"))
        self.assertFalse(gate.answers_directly(b"GET", b"/containers/web/json"))

    def test_no_hook(self):
        """A root resource that says nothing about direct answers gets none."""
        manager = _manager(self)
        site = DockerSite(manager.api.app.resource())
        taken = _Taken(self)
        answer = _Connection(site).send(b"GET /_ping HTTP/1.1\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
        self.assertEqual(taken.taken, [False])


class ParseTests(SynchronousTestCase):
    """
    L{direct.parse_head} and the C{Date} value.
    """

    def test_parsed(self):
        """A plain head gives its target, path, query and headers, stripped."""
        self.assertEqual(
            direct.parse_head(b"GET /a/b?x=1&y HTTP/1.1\r\nHost:  h \r\nX-Y:\r\n\r\n"),
            (b"/a/b?x=1&y", b"/a/b", b"x=1&y", [(b"Host", b"h"), (b"X-Y", b"")]))
        self.assertEqual(direct.parse_head(b"GET /a? HTTP/1.1\r\n\r\n"),
                         (b"/a?", b"/a", b"", []))
        self.assertEqual(direct.parse_head(b"GET /a HTTP/1.1\r\n\r\n"),
                         (b"/a", b"/a", None, []))

    def test_refused(self):
        """Partial heads, two heads, bodies' headers: not parsed."""
        for data in (b"GET /a HTTP/1.1\r\n", b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
                     b"GET /a HTTP/1.1\r\n\r\nbody",
                     b"GET /a HTTP/1.1\r\nContent-length: 0\r\n\r\n",
                     b"GET /a HTTP/1.1\r\nconnection: close\r\n\r\n", b"GET /a\r\n\r\n",
                     b"GET /\xc3\xa9 HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1\r\n: x\r\n\r\n"):
            self.assertIsNone(direct.parse_head(data), data)

    def test_date(self):
        """The Date value is Twisted's, for the current second."""
        now = [1e9 + 0.25]
        date = direct._Date(lambda: now[0])
        self.assertEqual(date(), datetimeToString(1e9))
        now[0] += 1
        self.assertEqual(date(), datetimeToString(1e9 + 1))


class _Client(Protocol):
    """
    Sends one request, then a second one once the first answer (ending with
    C{first_end}) came; collects until the server closes.
    """

    def __init__(self, first, first_end, second):
        self.pending = [first, second]
        self.first_end = first_end
        self.received = b""
        self.closed = Deferred()

    def connectionMade(self):
        self.transport.write(self.pending.pop(0))

    def dataReceived(self, data):
        self.received += data
        if self.pending and self.received.endswith(self.first_end):
            self.transport.write(self.pending.pop(0))

    def connectionLost(self, reason):
        self.closed.callback(self.received)


class SocketTests(TestCase):
    """
    Direct answers over real loopback connections, plain and TLS.
    """

    first = b"GET /v1.41/_ping HTTP/1.1\r\nHost: x\r\n\r\n"
    # Connection: close takes Twisted's path, which then closes.
    second = b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES, metrics=True)
        self.addCleanup(self.manager.stop)
        self.site = DockerSite(_root(self.manager))
        self.taken = _Taken(self)

    def check(self, answer):
        self.assertEqual(self.taken.taken, [True, False])
        first, _, second = answer.partition(b"\r\n\r\nOK")
        self.assertTrue(first.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
        self.assertTrue(first.endswith(b"\r\nContent-Length: 2"), first)
        self.assertTrue(second.startswith(b"HTTP/1.1 200 OK\r\n"), answer)
        self.assertIn(b"Connection: close\r\n", second)
        self.assertIn(b'"ApiVersion"', second)

    @inlineCallbacks
    def test_tcp(self):
        """Over TCP the answer is sent at once, not through the transport's buffer."""
        writes = []
        write = tcp.Server.write

        def counted(transport, data):
            writes.append(data)
            return write(transport, data)

        self.patch(tcp.Server, "write", counted)
        port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = _Client(self.first, b"\r\n\r\nOK", self.second)
        yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), client)
        self.check((yield client.closed))
        # Only the second (Twisted's) answer went through write().
        self.assertTrue(writes)
        self.assertFalse([w for w in writes if b"\r\n\r\nOK" in w])

    @inlineCallbacks
    def test_tls(self):
        """Over TLS the direct answer goes through the TLS layer."""
        certs = make_certificates(self.mktemp(), ["127.0.0.1"])
        options = TLSOptions(tls=True, verify=True, cacert=certs.ca,
                             cert=certs.manager_cert, key=certs.manager_key)
        port = reactor.listenTCP(0, wrap_server_factory(options, self.site),
                                 interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = _Client(self.first, b"\r\n\r\nOK", self.second)
        mine = ssl.PrivateCertificate.loadPEM(
            FilePath(certs.cert).getContent() + FilePath(certs.key).getContent())
        ca = ssl.Certificate.loadPEM(FilePath(certs.ca).getContent())
        endpoint = wrapClientTLS(
            ssl.optionsForClientTLS("127.0.0.1", trustRoot=ca, clientCertificate=mine),
            TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port))
        yield connectProtocol(endpoint, client)
        self.check((yield client.closed))
