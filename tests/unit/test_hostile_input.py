"""
Hostile and malformed input (issue 9): the cases a fuzzing run found, kept
as explicit regression tests.
"""

import io
import json
import re

from OpenSSL import SSL
from twisted.internet import reactor, ssl
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol, wrapClientTLS
from twisted.internet.error import ConnectingCancelledError, ConnectionLost
from twisted.internet.protocol import Protocol
from twisted.internet.testing import EventLoggingObserver, StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd import references, versions
from swarmd.api import events
from swarmd.api._helpers import json_depth
from swarmd.api.events import parse_timestamp
from swarmd.api.site import DockerSite
from swarmd.config import TLSOptions
from swarmd.engine.client import failure_reason as client_reason
from swarmd.testing import fuzz, lab
from swarmd.testing.lab._tls import LabTLS, make_certificates
from swarmd.testing.memory import MemoryManager
from swarmd.tls import tls_error_text, wrap_server_factory

ADDRESSES = ["127.0.0.1:2376", "127.0.0.1:2377"]


class _StartedLab:
    """
    What L{lab.Lab} gives L{lab.main} once started, without any engine.
    """

    base = "/tmp/lab"
    engines = ()
    tls = LabTLS(ca="/l/ca.pem", cert="/l/client/cert.pem", key="/l/client/key.pem",
                 cert_path="/l/client", server_cert="/l/server-cert.pem",
                 server_key="/l/server-key.pem", manager_cert="/l/manager-cert.pem",
                 manager_key="/l/manager-key.pem")

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def start(self):
        return self

    def discovery(self):
        return "nodes://127.0.0.1:1"


class LabFlagsTests(SynchronousTestCase):
    """
    C{lab start --tls} prints flags that work.
    """

    def test_manager_flags(self):
        """The manager's flags name its own certificate (IP SAN), not the client's."""
        self.patch(lab._command, "Lab", _StartedLab)
        out = io.StringIO()
        self.assertEqual(lab.main(["start", "--tls", "-n", "1"], out=out), 0)
        lines = out.getvalue().splitlines()
        manager = [line for line in lines if line.startswith("# manager tls:")]
        self.assertEqual(manager, [
            "# manager tls: --tlsverify --tlscacert /l/ca.pem --tlscert /l/manager-cert.pem "
            "--tlskey /l/manager-key.pem"])
        client = [line for line in lines if line.startswith("# docker client tls:")]
        self.assertEqual(len(client), 1)
        self.assertIn("--tlscert /l/client/cert.pem", client[0])


def _deep(depth):
    return '{"Image":"busybox","X":' + "[" * depth + "]" * depth + "}"


#: C{(create body, status, message)}: what the manager answers each body of
#: the fuzzing run (the messages are dockerd 20.10's, which answers them
#: with a 500).
CREATE_CORPUS = [
    ('{"Image":"busybox","HostConfig":{"PortBindings":"x"}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortMap"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":["80"]}}', 400,
     "json: cannot unmarshal array into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortMap"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":"8080"}}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.PortBindings "
     "of type []nat.PortBinding"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[5]}}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.PortBindings "
     "of type nat.PortBinding"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":8080.5}]}}}', 400,
     "json: cannot unmarshal number into Go struct field "
     "PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ('{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":["1"]}]}}}', 400,
     "json: cannot unmarshal array into Go struct field "
     "PortBinding.HostConfig.PortBindings.HostPort of type string"),
    ('{"Image":"busybox","HostConfig":{"NetworkMode":5}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.NetworkMode "
     "of type container.NetworkMode"),
    ('{"Image":"busybox","HostConfig":{"VolumesFrom":[5]}}', 400,
     "json: cannot unmarshal number into Go struct field HostConfig.HostConfig.VolumesFrom "
     "of type string"),
    ('{"Image":"busybox","HostConfig":{"VolumesFrom":[null]}}', 400,
     "volumes-from specification cannot be an empty string"),
    ('{"Image":"busybox","HostConfig":{"Links":[null]}}', 400,
     "empty string specified for links"),
    ('{"Image":"busybox","HostConfig":{"Links":"web"}}', 400,
     "json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Links "
     "of type []string"),
    ('{"Image":"busybox","Labels":{"com.docker.swarm.id":["a"]}}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels "
     "of type string"),
    ('{"Image":"busybox","Labels":["a"]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Labels "
     "of type map[string]string"),
    ('{"Image":"busybox","Env":"a"}', 400,
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.Env "
     "of type []string"),
    ('{"Image":5}', 400,
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Image "
     "of type string"),
    ('{"Image":"busybox","HostConfig":5}', 400,
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.HostConfig "
     "of type container.HostConfig"),
    ('{"Image":"busybox","HostConfig":{"Memory":1.5}}', 400,
     "json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory "
     "of type int64"),
    ('{"Image":"busybox","HostConfig":{"Memory":99999999999999999999}}', 400,
     "json: cannot unmarshal number 99999999999999999999 into Go struct field "
     "HostConfig.HostConfig.Memory of type int64"),
    ('{"Image":"busybox","HostConfig":{"CpuShares":true}}', 400,
     "json: cannot unmarshal bool into Go struct field HostConfig.HostConfig.CpuShares "
     "of type int64"),
    ('{"Image":"busybox","CpuShares":"1"}', 400,
     "json: cannot unmarshal string into Go struct field ContainerConfigWrapper.CpuShares "
     "of type int64"),
    ('{"Image":"busybox","ExposedPorts":["80"]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.ExposedPorts "
     "of type nat.PortSet"),
    ('{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"x":5}}}', 400,
     "json: cannot unmarshal number into Go struct field "
     "NetworkingConfig.NetworkingConfig.EndpointsConfig of type network.EndpointSettings"),
    ('{"Image":"busybox","HostConfig":{"Mounts":[{"Type":5}]}}', 400,
     "json: cannot unmarshal number into Go struct field Mount.HostConfig.Mounts.Type "
     "of type mount.Type"),
    ('{"Image":"busybox","Cmd":[{}]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Cmd "
     "of type string"),
    ('{"Image":"busybox","Cmd":5}', 400,
     "json: cannot unmarshal number into Go struct field ContainerConfigWrapper.Cmd "
     "of type string"),
    ('{"Image":"busybox","Entrypoint":[5]}', 400,
     "json: cannot unmarshal array into Go struct field ContainerConfigWrapper.Entrypoint "
     "of type string"),
    ('[1]', 400,
     "json: cannot unmarshal array into Go value of type runconfig.ContainerConfigWrapper"),
    ('null', 400, "Config cannot be empty in order to create a container"),
    (_deep(1000), 400, "invalid JSON in request body: nested deeper than 256 levels"),
    (_deep(100000), 400, "invalid JSON in request body: nested deeper than 256 levels"),
    ('\ufeff{"Image":"busybox"}', 400,
     "invalid JSON in request body: invalid character '\u00ef' looking for beginning of value"),
    ('{"Image":"busybox","Labels":{"a":NaN}}', 400,
     "invalid JSON in request body: invalid character 'N' looking for beginning of value"),
]

#: Create bodies dockerd accepts (201), and so must the manager.
CREATE_ACCEPTED = [
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[null]}}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":null}}}',
    '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":null}]}}}',
    '{"Image":"busybox","Labels":{"a":null}}',
    '{"Image":"busybox","Labels":{"com.docker.swarm.id":null}}',
    '{"Image":"busybox","ExposedPorts":{"80/tcp":null}}',
    '{"Image":"busybox","HostConfig":null,"Labels":null,"Env":null}',
    '{"Image":"busybox","HostConfig":{"Binds":[null],"Mounts":[null]}}',
    '{"Image":"busybox","Cmd":"echo hi","Entrypoint":null}',
    '{"Image":"busybox","Cmd":[null]}',
    '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":null}}}',
    '{"Image":"busybox","X":[[[[[[[[[[[]]]]]]]]]]],"Y":{"Z":5}}',
    '{"Image":"busybox"} trailing bytes, as Go ignores them',
    _deep(200),
]


class CreateBodyTests(SynchronousTestCase):
    """
    Create bodies of the wrong types get dockerd's message with a 400; what
    dockerd accepts, the manager accepts.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)

    def create(self, body, query=""):
        return self.successResultOf(self.manager.request(
            "POST", "/v1.41/containers/create" + query, body.encode("utf-8")))

    def test_corpus(self):
        """Each body of the fuzzing run gets its status and Docker-style message."""
        for body, status, message in CREATE_CORPUS:
            code, headers, content = self.create(body)
            self.assertEqual((code, json.loads(content)), (status, {"message": message}),
                             body[:100])
            self.assertEqual(headers.getRawHeaders(b"Content-Type"), [b"application/json"])

    def test_accepted(self):
        """Bodies dockerd accepts create a container through the manager too."""
        for body in CREATE_ACCEPTED:
            code, _, content = self.create(body)
            self.assertEqual(code, 201, (body[:100], content))
        listed = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/json?all=1"))[2])
        self.assertEqual(len(listed), len(CREATE_ACCEPTED))

    def test_null_port_binding_is_dynamic(self):
        """A null port binding reaches the engine as a binding with no host port."""
        code, _, content = self.create(
            '{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[null]}}}')
        self.assertEqual(code, 201, content)
        created = json.loads(content)["Id"]
        inspected = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/%s/json" % (created,)))[2])
        self.assertEqual(inspected["HostConfig"]["PortBindings"],
                         {"80/tcp": [{"HostIp": "", "HostPort": ""}]})

    def test_links_string_not_split(self):
        """C{Links: "web"} is refused, never read as the links w, e and b."""
        self.create('{"Image":"busybox"}', "?name=w")
        code, _, content = self.create('{"Image":"busybox","HostConfig":{"Links":"web"}}')
        self.assertEqual(code, 400)
        self.assertIn("[]string", json.loads(content)["message"])

    def test_name_with_newline(self):
        """A container name ending in a newline is refused, as dockerd does."""
        code, _, content = self.create('{"Image":"busybox"}', "?name=web%0A")
        self.assertEqual((code, json.loads(content)["message"]), (
            400, "Invalid container name (web\n), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"))

    def test_manager_read_fields_pass_through(self):
        """Fields the manager does not read reach the engine unchanged."""
        code, _, content = self.create(
            '{"Image":"busybox","Hostname":"h1","HostConfig":{"ShmSize":1048576}}')
        self.assertEqual(code, 201, content)
        created = json.loads(content)["Id"]
        inspected = json.loads(self.successResultOf(self.manager.request(
            "GET", "/containers/%s/json" % (created,)))[2])
        self.assertEqual(inspected["Config"]["Hostname"], "h1")
        self.assertEqual(inspected["HostConfig"]["ShmSize"], 1048576)


class JSONBodyTests(SynchronousTestCase):
    """
    L{read_json_value} reads a body as Go's decoder does.
    """

    def test_depth(self):
        """L{json_depth} counts nesting without recursion, ignoring strings."""
        self.assertEqual(json_depth(b"[" * 5000 + b"]" * 5000), 5000)
        self.assertEqual(json_depth(b'["' + b"[" * 5000 + b'"]'), 0)
        self.assertEqual(json_depth(b'{"a":[[]]}', limit=1), 3)


class _RawClient(Protocol):
    """
    Sends bytes and collects the answer until the server closes.
    """

    def __init__(self, data):
        self.data = data
        self.received = b""
        self.closed = Deferred()

    def connectionMade(self):
        self.transport.write(self.data)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.closed.callback(self.received)


class _ServedTestCase(TestCase):
    """
    The manager's API served by a L{DockerSite} on a loopback port.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.site = DockerSite(self.manager.api.resource())
        self.port = reactor.listenTCP(0, self.site, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    @inlineCallbacks
    def send(self, data):
        """
        @return: a L{Deferred} firing with C{(status, headers, body)} of
            the answer to the raw request C{data}.
        """
        client = _RawClient(data)
        yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port), client)
        answer = yield client.closed
        head, _, body = answer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        return status, headers, body


class ChannelLimitTests(_ServedTestCase):
    """
    Requests Twisted's channel refuses get Docker-style answers.
    """

    @inlineCallbacks
    def test_long_header(self):
        """A header over 16 KB gets a 431 JSON answer, not a silent close."""
        status, headers, body = yield self.send(
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        self.assertEqual(status, 431)
        self.assertEqual(headers[b"Content-Type"], b"application/json")
        self.assertEqual(json.loads(body), {
            "message": "request headers longer than 16384 bytes"})

    @inlineCallbacks
    def test_many_headers(self):
        """Headers adding up to over 16 KB get a 431 JSON answer."""
        status, _, body = yield self.send(
            b"GET /_ping HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1234567890\r\n" * 2000 + b"\r\n")
        self.assertEqual(status, 431)
        self.assertIn("headers longer", json.loads(body)["message"])

    @inlineCallbacks
    def test_long_request_line(self):
        """A request line over 16 KB gets a 414 JSON answer."""
        status, _, body = yield self.send(
            b"GET /_ping?x=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status, 414)
        self.assertEqual(json.loads(body), {
            "message": "request line longer than 16384 bytes"})

    @inlineCallbacks
    def test_malformed_request_line(self):
        """A malformed request line gets a 400 JSON answer."""
        status, _, body = yield self.send(b"NONSENSE\r\n\r\n")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body), {"message": "malformed HTTP request"})

    @inlineCallbacks
    def test_ping_after(self):
        """A request under the limits is answered as usual."""
        status, _, body = yield self.send(
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 15000
            + b"\r\n\r\n")
        self.assertEqual((status, body), (200, b"OK"))


class PathTests(SynchronousTestCase):
    """
    Paths a client may send wrong.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def request(self, method, path):
        code, headers, content = self.successResultOf(self.manager.request(method, path))
        return code, json.loads(content)

    def test_version_with_newline(self):
        """An API version ending in a newline is not a version."""
        self.assertEqual(self.request("GET", "/v1.41%0A/info"),
                         (404, {"message": "page not found"}))
        self.assertEqual(self.request("GET", "/v1.41%0A/containers/json"),
                         (404, {"message": "page not found"}))
        self.assertEqual(self.request("GET", "/v1.41%0A/_ping"),
                         (404, {"message": "page not found"}))

    def test_version_digits_ascii(self):
        """An API version of other scripts' digits is not a version."""
        self.assertEqual(self.request("GET", "/v%D9%A1.%D9%A4%D9%A1/info"),
                         (404, {"message": "page not found"}))

    def test_patterns_end_at_end(self):
        """Validating patterns refuse a trailing newline."""
        self.assertFalse(references._id_match("sha256:abc", "abc\n"))
        self.assertFalse(versions._VERSION.match("1.41\n"))
        self.assertEqual(parse_timestamp("1700000000.5", 0), 1700000000500000000)
        self.assertIsNone(events._NUMBER.match("\u0661\u0667"))

    def test_not_utf8(self):
        """A path not UTF-8 once decoded gets a JSON 400 and one log line, no traceback."""
        for path in ("/v1.41/containers/%ff/json", "/v1.41/info%ff", "/%ff%fe/x"):
            code, body = self.request("GET", path)
            self.assertEqual(code, 400, path)
            self.assertIn("not UTF-8", body["message"])
        self.assertEqual([e for e in self.observer if e.get("log_failure")], [])
        self.assertEqual(len(self.observer), 3)


class IncidentTests(SynchronousTestCase):
    """
    An error the manager does not expect reaches the client as an incident
    ID, and the log as one traceback with that ID.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def broken(self, request, version=None, **kwargs):
        return {}.get("x").get("y")

    def check(self, method, path):
        code, _, content = self.successResultOf(self.manager.request(method, path))
        message = json.loads(content)["message"]
        self.assertEqual(code, 500)
        match = re.match(r"internal error \(incident ([0-9a-f]{12})\)\Z", message)
        self.assertIsNotNone(match, message)
        failures = [e for e in self.observer if e.get("log_failure")]
        self.assertEqual(len(failures), 1)
        self.assertEqual(failures[0]["incident"], match.group(1))
        self.assertIn("NoneType", failures[0]["log_failure"].getErrorMessage())
        self.assertNotIn("NoneType", message)
        self.flushLoggedErrors(AttributeError)

    def test_fast_lane(self):
        """A route of the fast lane failing gives an incident."""
        self.manager.api.handlers["system.ping"] = self.broken
        self.check("GET", "/_ping")

    def test_klein_lane(self):
        """A route served by Klein failing gives an incident."""
        self.manager.api.handlers["containers.containers_prune"] = self.broken
        self.check("POST", "/v1.41/containers/prune")


class RawRequestTests(SynchronousTestCase):
    """
    Raw requests to the manager's site (L{fuzz.RawSite}) that once got a
    Twisted page, no answer, or a log line each.
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.site = fuzz.RawSite(self.manager)
        self.observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def test_bad_host(self):
        """A Host werkzeug cannot encode (C{0..0}) is ignored, as Go does."""
        status, _, body = self.site.request("GET", "/v1.24/containers/json", None,
                                            {"Host": "0..0"})
        self.assertEqual((status, body), (200, b"[]\n"))
        status, headers, body = self.site.request(
            "POST", "/v1.24/containers/create?name=web", b'{"Image":5}', {"Host": "0..0"})
        self.assertEqual(status, 400)
        self.assertEqual(headers[b"content-type"], b"application/json")

    def test_content_length_beyond_int64(self):
        """A Content-Length beyond an int64 is refused (Go's words), not waited for."""
        status, _, body = self.site.request(
            "POST", "/_ping", None, {"Content-Length": "99999999999999999999"})
        self.assertEqual((status, json.loads(body)), (
            400, {"message": "bad Content-Length 99999999999999999999"}))

    def test_head_error_quiet(self):
        """A HEAD answered with an error logs nothing and sends no body."""
        status, headers, body = self.site.request("HEAD", "/v1.41/nothing/here")
        self.assertEqual((status, body), (404, b""))
        status, headers, body = self.site.request("HEAD", "/v1.41/%ff")
        self.assertEqual((status, body), (400, b""))
        self.assertEqual([e for e in self.observer if "HEAD" in e.get("log_format", "")], [])


class TLSListenerTests(_ServedTestCase):
    """
    A TLS listener answers plain HTTP as dockerd does, and still serves TLS.
    """

    def setUp(self):
        _ServedTestCase.setUp(self)
        self.certs = make_certificates(self.mktemp(), ["127.0.0.1"])
        options = TLSOptions(tls=True, verify=True, cacert=self.certs.ca,
                             cert=self.certs.manager_cert, key=self.certs.manager_key)
        self.tls_port = reactor.listenTCP(0, wrap_server_factory(options, self.site),
                                          interface="127.0.0.1")
        self.addCleanup(self.tls_port.stopListening)

    @inlineCallbacks
    def test_plain_http(self):
        """Plain HTTP gets Go's 400 and its sentence, then the connection closes."""
        client = _RawClient(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
        yield connectProtocol(
            TCP4ClientEndpoint(reactor, "127.0.0.1", self.tls_port.getHost().port), client)
        answer = yield client.closed
        self.assertEqual(answer, b"HTTP/1.0 400 Bad Request\r\n\r\n"
                                 b"Client sent an HTTP request to an HTTPS server.\n")

    def send_tls(self, data):
        """
        @return: a L{Deferred} firing with what a TLS client holding the
            lab's client certificate got for C{data}.
        """
        client = _RawClient(data)
        mine = ssl.PrivateCertificate.loadPEM(
            FilePath(self.certs.cert).getContent() + FilePath(self.certs.key).getContent())
        ca = ssl.Certificate.loadPEM(FilePath(self.certs.ca).getContent())
        options = ssl.optionsForClientTLS("127.0.0.1", trustRoot=ca, clientCertificate=mine)
        endpoint = wrapClientTLS(
            options, TCP4ClientEndpoint(reactor, "127.0.0.1", self.tls_port.getHost().port))
        return connectProtocol(endpoint, client).addCallback(lambda _: client.closed)

    @inlineCallbacks
    def test_tls_still_served(self):
        """A TLS client with a certificate is served as before."""
        answer = yield self.send_tls(b"GET /_ping HTTP/1.0\r\nHost: x\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.0 200 OK\r\n"), answer[:100])
        self.assertTrue(answer.endswith(b"\r\n\r\nOK"), answer[-100:])

    @inlineCallbacks
    def test_tls_long_header(self):
        """Over TLS too, a header over 16 KB gets a 431 JSON answer."""
        answer = yield self.send_tls(
            b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n")
        status, headers, body = fuzz.parse_answer(answer)
        self.assertEqual((status, json.loads(body)), (
            431, {"message": "request headers longer than 16384 bytes"}))


class TLSErrorTextTests(SynchronousTestCase):
    """
    TLS failures are told in words.
    """

    def test_wrong_version(self):
        """pyOpenSSL's list of tuples becomes a sentence."""
        error = SSL.Error([("SSL routines", "", "wrong version number")])
        self.assertEqual(tls_error_text(error), "TLS handshake failed: wrong version number "
                                                "(the other side does not speak TLS)")

    def test_engine_reason(self):
        """An engine unreachable over TLS says why in words (docker info's Error row)."""
        from twisted.web._newclient import ResponseNeverReceived

        failure = Failure(ResponseNeverReceived([Failure(SSL.Error(
            [("SSL routines", "", "certificate verify failed")]))]))
        self.assertEqual(client_reason(failure),
                         "TLS handshake failed: certificate verify failed")

    def test_other_errors(self):
        """Anything else is not a TLS failure."""
        self.assertIsNone(tls_error_text(ValueError("x")))


class QuietLogTests(SynchronousTestCase):
    """
    Routine events write one line at most (issue 9 item 7).
    """

    def setUp(self):
        self.manager = MemoryManager(ADDRESSES)
        self.addCleanup(self.manager.stop)
        self.site = fuzz.RawSite(self.manager).site
        self.observer = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)

    def connect(self, data):
        address = IPv4Address("TCP", "127.0.0.1", 40001)
        protocol = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address)
        protocol.makeConnection(transport)
        protocol.dataReceived(data)
        return protocol, transport

    def create_then_leave(self, fail):
        """
        Send a create whose placement never ends, leave, and let the create
        fail with C{fail}'s result once cancelled.
        """
        pending = Deferred(lambda d: d.errback(fail()))
        self.patch(self.manager.cluster, "create_container", lambda config, auth: pending)
        body = b'{"Image":"busybox"}'
        protocol, transport = self.connect(
            b"POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
            % (len(body), body))
        self.assertEqual(transport.value(), b"")
        protocol.connectionLost(Failure(ConnectionLost()))
        self.manager.clock.advance(1)
        self.assertTrue(pending.called)

    def test_client_leaves_during_create(self):
        """A client leaving mid-create writes no traceback ("Unhandled Error")."""
        self.create_then_leave(
            lambda: ConnectingCancelledError(IPv4Address("TCP", "127.0.0.1", 2376)))
        self.assertEqual([e for e in self.observer if e.get("log_failure")], [])
        self.assertEqual([e for e in self.observer if "Unhandled" in formatEvent(e)], [])

    def test_bug_after_client_left(self):
        """An unexpected error after the client left is one incident, logged once."""
        self.create_then_leave(lambda: KeyError("x"))
        failures = [e for e in self.observer if e.get("log_failure")]
        self.assertEqual(len(failures), 1)
        self.assertIn("incident", failures[0])
        self.flushLoggedErrors(KeyError)

    def test_idle_timeout(self):
        """An idle client timing out is closed without an info line."""
        protocol, transport = self.connect(b"")
        self.manager.clock.advance(self.site.timeOut + 1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual([formatEvent(e) for e in self.observer], [])
