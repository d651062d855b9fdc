"""
The HTTP site serving L{swarmd.api.app.DockerAPI}: Docker's default
headers on every answer, optional CORS, no per-request access log, and a
Docker-style JSON answer to requests Twisted's channel refuses before any
resource sees them (a request line or headers too long, a malformed
request line or header), where Twisted closes the connection without an
answer or with a bare C{400 Bad Request}.  The channel answers the fast
lane's plain requests itself, without Twisted's request machinery
(L{swarmd.api.direct}).
"""

from typing import Any

from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import connectionDone
from twisted.logger import Logger
from twisted.protocols.basic import LineReceiver
from twisted.protocols.policies import ProtocolWrapper
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel, _GenericHTTPChannelProtocol
from twisted.web.server import Request, Site

from swarmd import API_VERSION, __version__
from swarmd._log import observer
from swarmd.api import direct
from swarmd.api.errors import error_body

_HEADERS = (
    (b"Api-Version", API_VERSION.encode("ascii")),
    (b"Docker-Experimental", b"false"),
    (b"Ostype", b"linux"),
    (b"Server", ("swarmd/%s (linux)" % (__version__,)).encode("ascii")),
)

_CORS = (
    (b"Access-Control-Allow-Origin", b"*"),
    (b"Access-Control-Allow-Headers",
     b"Origin, X-Requested-With, Content-Type, Accept, X-Registry-Auth"),
    (b"Access-Control-Allow-Methods", b"HEAD, GET, POST, DELETE, PUT, OPTIONS"),
)


class _RequestLogger(Logger):
    """
    Twisted's request logger, without its line for every C{HEAD} answer
    rendered with a body (it sends the length, not the body: as it should).
    """

    def info(self, format=None, **kwargs):
        if format is not None and format.startswith("Warning: HEAD request"):
            return
        Logger.info(self, format, **kwargs)


class DockerRequest(Request):
    """
    A request whose answer carries Docker's headers.
    """

    _log = _RequestLogger(namespace="swarmd.api.site.DockerRequest", observer=observer)

    def render(self, resource):
        # Called by process() once it set Twisted's own Server header.
        for name, value in _HEADERS:
            self.setHeader(name, value)
        if getattr(self.site, "cors", False):
            for name, value in _CORS:
                self.setHeader(name, value)
            if self.method == b"OPTIONS":
                self.setResponseCode(200)
                self.finish()
                return
        super().render(resource)


class DirectDockerRequest(direct.DirectRequest, DockerRequest):
    """
    A L{DockerRequest} its channel parsed itself (L{swarmd.api.direct}).
    """


#: Longest request line, and longest request line plus headers, the manager
#: reads (Twisted's own limits).  dockerd (Go) reads up to 1 MB of headers,
#: but Twisted's line reader scans its whole buffer again on every read: a
#: client sending a 1 MB header a byte at a time would cost minutes of CPU.
MAX_HEADER_BYTES = 16384

#: How long a refused client may take to read its answer before its
#: connection is dropped.
REFUSED_LINGER = 5.0

_MAX_INT64 = 2 ** 63 - 1

_REASONS = {
    400: b"Bad Request",
    414: b"Request-URI Too Long",
    431: b"Request Header Fields Too Large",
}


class DockerChannel(HTTPChannel):
    """
    An HTTP channel that answers what it refuses with a Docker error, logs
    an idle client's timeout at debug level, and answers the fast lane's
    plain requests itself (L{swarmd.api.direct}).

    @ivar direct_answers: whether it answers the fast lane's requests
        itself (else every request takes Twisted's path).
    """

    direct_answers = True

    MAX_LENGTH = MAX_HEADER_BYTES
    totalHeadersSize = MAX_HEADER_BYTES
    # Go counts header bytes, not headers: the size bounds their number.
    maxHeaders = MAX_HEADER_BYTES
    _docker_log = Logger(observer=observer)
    _refused = False
    _linger: IDelayedCall | None = None
    # A TCP (or TLS) transport: getPeer, write, abortConnection.
    transport: Any

    def dataReceived(self, data):
        self.resetTimeout()
        # One whole request head, between two requests: maybe a fast one.
        # "Between two requests" reads HTTPChannel's and LineReceiver's own
        # state (Twisted 26.10); tests/unit/test_direct.py compares both
        # paths' bytes, so a Twisted that keeps it elsewhere fails there.
        if (self.direct_answers and self.line_mode and not self._buffer and not self.requests
                and self.persistent and not self._handlingRequest
                and not self._receivedHeaderSize and not self._busyReceiving
                and not self._waitingForTransport and not self._refused
                and len(data) <= MAX_HEADER_BYTES and data.endswith(b"\r\n\r\n")
                and self.requestFactory is DockerRequest
                and not self.transport.disconnecting
                and direct.answer(self, data, DirectDockerRequest)):
            # The same state as after Twisted's own request.
            self._HTTPChannel__first_line = 1
            return
        LineReceiver.dataReceived(self, data)

    def lineLengthExceeded(self, line):
        # No line ended within MAX_LENGTH: the request line when no header
        # line came yet, else a header.
        if self._receivedHeaderSize == 0:
            self._refuse(414, "request line longer than %d bytes" % (MAX_HEADER_BYTES,))
        else:
            self._refuse(431, "request headers longer than %d bytes" % (MAX_HEADER_BYTES,))

    def lineReceived(self, line):
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._refuse(431, "request headers longer than %d bytes" % (MAX_HEADER_BYTES,))
            return
        HTTPChannel.lineReceived(self, line)

    def _maybeChooseTransferDecoder(self, header, data):
        # Go refuses a length beyond an int64 ("bad Content-Length"); Twisted
        # would wait for its 10^20 bytes.
        if header == b"Content-Length" and data.isdigit() and int(data) > _MAX_INT64:
            self._refuse(400, "bad Content-Length %s" % (data.decode("ascii"),))
            self.length = None
            return False
        return HTTPChannel._maybeChooseTransferDecoder(self, header, data)

    def _respondToBadRequestAndDisconnect(self):
        self._refuse(400, "malformed HTTP request")

    def _refuse(self, status, message):
        """
        Answer C{status} with a Docker error and close: the rest of what the
        client sends is read and dropped, so the answer is not lost to a
        reset.
        """
        if self._refused:
            return
        self._refused = True
        self._docker_log.debug("refused a request from {peer}: {status} {message}",
                               peer=str(self.transport.getPeer()), status=status,
                               message=message)
        body = error_body(message)
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            b"Connection: close\r\n\r\n%s" % (status, _REASONS[status], len(body), body))
        self.setTimeout(None)
        # Read and drop the rest: closing with unread data would reset the
        # connection, and the client might never see the answer.
        self.dataReceived = self.lineReceived = self.rawDataReceived = _discard  # type: ignore[method-assign]
        self.persistent = False
        # Half-close plain TCP only: a TLS wrapper would hand the call to
        # the TCP transport under it, skipping TLS's own close.
        loseWrite = None
        if not isinstance(self.transport, ProtocolWrapper):
            loseWrite = getattr(self.transport, "loseWriteConnection", None)
        if loseWrite is None:
            self.loseConnection()
            return
        loseWrite()
        self._linger = self.callLater(REFUSED_LINGER, self.transport.abortConnection)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        if self._linger is not None and self._linger.active():
            self._linger.cancel()
        HTTPChannel.connectionLost(self, reason)

    def timeoutConnection(self):
        # Twisted logs every idle client it times out at info level: one
        # line per keep-alive connection a client forgot.
        self._docker_log.debug("timing out idle client {peer}",
                               peer=str(self.transport.getPeer()))
        self._log = _QUIET  # type: ignore[assignment]
        try:
            HTTPChannel.timeoutConnection(self)
        finally:
            del self._log


def _discard(data):
    return None


class _Quiet:
    """
    A logger that drops everything (Twisted's own timeout line).
    """

    def info(self, *args, **kwargs):
        pass


_QUIET = _Quiet()


def docker_channel_protocol(factory):
    """
    The site's protocol factory: Twisted's HTTP/1.1 (and HTTP/2) wrapper
    around a L{DockerChannel}.
    """
    return _GenericHTTPChannelProtocol(DockerChannel())


class DockerSite(Site):
    """
    A site for the Docker API.

    @ivar cors: answer with CORS headers and accept C{OPTIONS} everywhere.
    """

    requestFactory = DockerRequest
    protocol = docker_channel_protocol
    displayTracebacks = False
    noisy = False

    def __init__(self, resource, cors=False, **kwargs):
        Site.__init__(self, resource, **kwargs)
        self.cors = cors

    def log(self, request):
        """
        No access log: the manager logs what matters itself.
        """
