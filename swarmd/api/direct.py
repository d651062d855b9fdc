"""
Direct answers: the fast-lane requests (L{swarmd.api.fastlane}) answered by
the HTTP channel itself (L{swarmd.api.site.DockerChannel}) from one read,
without Twisted's line-by-line parsing and its request bookkeeping.

A read that holds exactly one plain request head (C{GET}, C{HTTP/1.1}, no
body, no C{Expect}, no C{Transfer-Encoding}, no C{Connection} other than
C{keep-alive}, a path without percent-escapes) whose route the site's
resources say they answer themselves (L{answers_directly}: a fast route,
not C{/metrics}, not forwarded by a replica) becomes a L{DirectRequest}:
a L{swarmd.api.site.DockerRequest} set up from the parsed head, rendered
by the same resources (metrics, replica gate, fast lane, handler) as any
other request.  When the handler answers at once with bytes, the channel
writes the head and the body in one write (L{answer}); an answer that
takes time, an error page, anything the tail of
L{twisted.web.server.Request.render} does differently, is left to the
request's own Twisted methods, the channel holding later requests in order
as for any request.  Anything else about a read (a partial head, two
pipelined heads, a request while another is being answered, HTTP/1.0, ...)
takes Twisted's path: both answer the same bytes.

Measured (bench/README.md, "Real-engine ratios, issue 17"): a cached
inspect takes 42-51 µs of Python in memory instead of 74-79 µs, 124 µs of
the manager's CPU instead of 160 µs, and goes out in the reactor turn that
read its request.
"""

import re
import time
from functools import cached_property
from io import BytesIO
from urllib.parse import unquote_to_bytes

from twisted.python.failure import Failure
from twisted.web.http import (
    NO_BODY_CODES,
    NO_CONTENT,
    NOT_MODIFIED,
    datetimeToString,
    parse_qs,
)
from twisted.web.http_headers import Headers
from twisted.web.server import NOT_DONE_YET, Request, version

from swarmd.api._send_now import send_now

__all__ = ["DirectRequest", "answer", "answers_directly", "parse_head"]

#: Bodies up to this many bytes are joined to their head and sent in one
#: write; larger ones are written apart (L{_finish}).
JOINED_AT_MOST = 256 * 1024

#: A request target the fast lane may take: printable ASCII, no space.
#: (Twisted takes a few more bytes; those requests take its path.)
_TARGET = re.compile(rb"/[!-~]*\Z")

#: A header name (RFC 9110 token), as Twisted's header name check.
_TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")

#: Headers that change how a request is read or answered: a request with
#: any of them takes Twisted's path (C{Connection: keep-alive} excepted).
_TWISTED_HEADERS = frozenset((b"content-length", b"transfer-encoding", b"expect",
                              b"connection", b"upgrade"))


def parse_head(data):
    """
    Parse a read holding exactly one request head the fast lane may take.

    @param data: C{bytes} read from the client, ending with the head's
        empty line and holding nothing after it.
    @return: C{(uri, path, query or None, [(name, value)])}, the header
        names as sent and their values stripped as Twisted strips them; or
        L{None} when the request should take Twisted's path (another method
        or version, a malformed line, a header above, more than one head).
    """
    head = data[:-4]
    if not data.endswith(b"\r\n\r\n") or b"\r\n\r\n" in head:
        return None
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1":
        return None
    uri = parts[1]
    if _TARGET.match(uri) is None:
        return None
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or _TOKEN.match(name) is None:
            return None
        value = value.strip(b" \t")
        if b"\x00" in value or b"\r" in value or b"\n" in value:
            return None
        lower = name.lower()
        if lower in _TWISTED_HEADERS and not (lower == b"connection"
                                              and value.lower() == b"keep-alive"):
            return None
        headers.append((name, value))
    path, question, query = uri.partition(b"?")
    return uri, path, (query if question else None), headers


def answers_directly(resource, method, path):
    """
    @param resource: a site's root resource.
    @return: whether C{resource} answers C{method} of C{path} itself, with
        a fast-lane handler (its C{answers_directly(method, path)}; a
        resource without that method does not).
    """
    check = getattr(resource, "answers_directly", None)
    return check is not None and bool(check(method, path))


class _Date:
    """
    Twisted's C{Date} header value, formatted once a second.
    """

    def __init__(self, now=time.time):
        self._now = now
        self._second = None
        self._value = b""

    def __call__(self):
        second = int(self._now())
        if second != self._second:
            self._value = datetimeToString(second)
            self._second = second
        return self._value


_date = _Date()


class DirectRequest(Request):
    """
    A request its channel parsed itself (L{parse_head}), set up as
    L{twisted.web.server.Request} would be once C{process} begins, with
    what no fast-lane handler reads (peer and host addresses, the request
    headers) made on first use.  Mixed into the site's request class
    (L{swarmd.api.site.DirectDockerRequest}), whose C{render} sets
    Docker's headers as for any request.
    """

    queued = False

    def __init__(self, channel, uri, path, query, headers):
        """
        @param channel: the L{swarmd.api.site.DockerChannel}.
        @param uri: the request target, C{bytes}.
        @param path: its path.
        @param query: its query, or L{None} without C{?}.
        @param headers: C{[(name, value)]} as L{parse_head} returned them.
        """
        # Request.__init__, Componentized.__init__, requestReceived and the
        # start of process(), for a GET without a body.
        self.notifications = []
        self.channel = channel
        self.transport = channel.transport
        self._raw_headers = headers
        self.received_cookies = {}
        self.responseHeaders = Headers()
        self.cookies = []
        self._parsePOSTFormSubmission = False
        self._adapterCache = {}
        self.content = BytesIO()
        self.method = b"GET"
        self.uri = uri
        self.path = path
        self.clientproto = b"HTTP/1.1"
        # Twisted's parse_qs, as Request.requestReceived (urllib's decodes
        # escapes as ASCII).
        self.args = {} if query is None else parse_qs(query, 1)
        self.site = channel.site
        self.prepath = []
        self.sitepath = []
        self.postpath = [unquote_to_bytes(p) for p in path[1:].split(b"/")]

    @cached_property
    def client(self):  # type: ignore[override]
        return self.transport.getPeer()  # type: ignore[union-attr]

    @cached_property
    def host(self):  # type: ignore[override]
        return self.transport.getHost()  # type: ignore[union-attr]

    @cached_property
    def requestHeaders(self):  # type: ignore[override]
        headers = Headers()
        for name, value in self._raw_headers:
            headers.addRawHeader(name, value)
        return headers


def answer(channel, data, factory):
    """
    Answer the request in C{data} on C{channel} directly, if it may be.

    The caller (the channel's C{dataReceived}) has checked the channel is
    between requests: nothing buffered, no request under way, persistent.

    @param channel: the L{swarmd.api.site.DockerChannel}.
    @param data: one read from the client.
    @param factory: the L{DirectRequest} class to make the request with.
    @return: whether the request was taken (answered, or under way as a
        request of the channel); L{False} leaves C{data} to Twisted.
    """
    parsed = parse_head(data)
    if parsed is None:
        return False
    uri, path, query, headers = parsed
    resource = channel.site.resource
    if not answers_directly(resource, b"GET", path):
        return False
    request = factory(channel, uri, path, query, headers)
    for name, _ in headers:
        if name.lower() == b"cookie":
            request.parseCookies()
            break
    # What allContentReceived does before rendering (but the idle timeout,
    # stopped only if the answer takes time, below), then process().
    channel.requests.append(request)
    channel._handlingRequest = True
    channel.setRawMode()
    request.setHeader(b"Server", version)
    request.setHeader(b"Date", _date())
    keep = _Keep(resource)
    try:
        # The site's request class sets Docker's headers, then Twisted's
        # render calls the resource: its tail writes any answer L{_Keep}
        # does not keep.
        request.render(keep)
    except BaseException:
        request.processingFailed(Failure())
        return True
    if keep.body is None:
        if not request.finished and channel.timeOut:
            channel._savedTimeOut = channel.setTimeout(None)
        return True
    _finish(channel, request, keep.body)
    return True


class _Keep:
    """
    Stands between Twisted's C{Request.render} and the resource: keeps a
    plain-bytes answer for L{_finish} to write, instead of Twisted's tail.

    @ivar body: the answer kept, or L{None}.
    """

    body = None

    def __init__(self, resource):
        self._resource = resource

    def render(self, request):
        body = self._resource.render(request)
        if type(body) is bytes and not request.finished and not request.startedWriting:
            self.body = body
            return NOT_DONE_YET
        return body


def _finish(channel, request, body):
    """
    Write a plain answer as C{Request.render}, C{write} and C{finish} would,
    in one write, and end the request as C{requestDone} would.
    """
    headers = request.responseHeaders
    code = request.code
    if (request.lastModified is not None or request.etag is not None or request.cookies
            or request._encoder is not None):
        # Twisted's own path writes those: give it the body back.
        Request.render(request, _Body(body))
        return
    length = len(body)
    headers.setRawHeaders(b"Content-Length", [b"%d" % (length,)])
    if (code not in (NOT_MODIFIED, NO_CONTENT) and length
            and request.defaultContentType is not None
            and not headers.hasHeader(b"Content-Type")):
        headers.setRawHeaders(b"Content-Type", [request.defaultContentType])
    pieces = [b"HTTP/1.1 %d " % (code,), request.code_message, b"\r\n"]
    for name, values in headers.getAllRawHeaders():
        for value in values:
            pieces += (name, b": ", value, b"\r\n")
    pieces.append(b"\r\n")
    request.startedWriting = 1
    if code not in NO_BODY_CODES:
        request.sentLength = length
        if length > JOINED_AT_MOST:
            # Not copied behind its head, nor again for what one send left:
            # the head goes at once, the body leaves from its own bytes
            # (a 25 MB container list was copied twice on its way out).
            send_now(channel.transport, b"".join(pieces))
            channel.transport.write(body)
            body = None
        else:
            pieces.append(body)
    if body is not None:
        send_now(channel.transport, b"".join(pieces))
    factory = getattr(channel, "factory", None)
    if factory is not None:
        factory.log(request)
    request.finished = 1
    # Request._cleanup and HTTPChannel.requestDone, without touching the
    # idle timeout (never stopped for this request) or the transport
    # (never paused: nothing was buffered).
    del channel.requests[0]
    del request.channel
    request.content.close()
    del request.content
    if channel.persistent:
        channel._handlingRequest = False
        buffered = b"".join(channel._dataBuffer)
        channel._dataBuffer = []
        channel.setLineMode(buffered)
    else:
        channel.loseConnection()
    notifications, request.notifications = request.notifications, []
    for d in notifications:
        d.callback(None)


class _Body:
    """
    A resource answering a body already made.
    """

    def __init__(self, body):
        self._body = body

    def render(self, request):
        return self._body
