"""
Streams of the image fan-outs: one request body sent to several engines
(L{TeeBody}), and several engines' progress streams merged into one answer
(L{FanIn}).
"""

from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone, readBody
from twisted.web.http import PotentialDataLoss
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from swarmd.api._images_merge import encode, message_error, node_failed
from swarmd.engine import EngineError, JSONStreamParser

#: Bytes read from the spooled body at once.
CHUNK = 64 * 1024


@implementer(IBodyProducer)
class _Branch:
    """
    The body producer of one engine's request, fed by its L{TeeBody}.
    """

    def __init__(self, tee, length):
        self._tee = tee
        self.length = length
        self.consumer = None
        self.paused = False
        self.done = None

    def startProducing(self, consumer):
        self.consumer = consumer
        self.done = Deferred(lambda d: self._tee._drop(self))
        self._tee._started(self)
        return self.done

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        self._tee._schedule()

    def stopProducing(self):
        self._tee._drop(self)


class TeeBody:
    """
    One reader of a file (the client's spooled request body) feeding the
    same bytes to several engine requests.

    Reading starts once every branch's request is writing its body (or
    gave up: L{abandon}); a chunk is read only when no branch still sending
    is paused, so the slowest engine sets the pace and nothing piles up in
    memory.  A branch whose engine goes away is dropped; the others go on.

    @ivar branches: one C{IBodyProducer} per engine request.
    """

    def __init__(self, source, length, count, clock, chunk=CHUNK):
        """
        @param source: a file object positioned at the body's start.
        @param length: the body's length (every branch's C{length}).
        @param count: how many engine requests.
        @param clock: what schedules the reads (C{callLater}).
        """
        self._source = source
        self._clock = clock
        self._chunk = chunk
        self.branches = [_Branch(self, length) for _ in range(count)]
        self._waiting = set(self.branches)
        self._live = []
        self._call = None
        self._finished = False

    def abandon(self, index):
        """
        The request of branch C{index} failed: do not wait for it.
        """
        self._drop(self.branches[index])

    def _started(self, branch):
        self._waiting.discard(branch)
        self._live.append(branch)
        self._schedule()

    def _drop(self, branch):
        self._waiting.discard(branch)
        if branch in self._live:
            # Like FileBodyProducer: a stopped producer's Deferred never
            # fires (a cancelled one fails with CancelledError).
            self._live.remove(branch)
        self._schedule()

    def _schedule(self):
        if self._finished or self._call is not None:
            return
        self._call = self._clock.callLater(0, self._step)

    def _step(self):
        self._call = None
        if self._finished or self._waiting:
            return
        if not self._live:
            self._finished = True
            return
        if any(b.paused for b in self._live):
            return
        data = self._source.read(self._chunk)
        if not data:
            self._finished = True
            for branch in list(self._live):
                branch.done.callback(None)
            self._live = []
            return
        for branch in list(self._live):
            branch.consumer.write(data)
        self._schedule()


class _NodeStream(Protocol):
    """
    One engine's progress stream, message by message.
    """

    # The response body's transport: it also provides IPushProducer.
    transport: Any

    def __init__(self, fan, node):
        self._fan = fan
        self._node = node
        self._parser = JSONStreamParser(lambda m: fan._message(node, m))
        self.broken = None

    def connectionMade(self):
        if self._fan._paused:
            self.transport.pauseProducing()

    def dataReceived(self, data):
        if self.broken is not None:
            return
        try:
            self._parser.feed(data)
        except ValueError as e:
            self.broken = "invalid progress stream: %s" % (e,)
            self.transport.stopProducing()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._fan._ended(self._node, reason, self.broken)


@implementer(IPushProducer)
class FanIn:
    """
    Several engines' JSON progress streams merged into one answer.

    Nothing is sent until an engine answers with success; if every engine
    fails first, nothing is sent at all and the caller answers with an
    error (L{started} stays false).  Once started, each message is
    rewritten for its node and written as it comes, engines that fail say
    so on their node's line, and the client's back-pressure pauses every
    engine.

    @ivar started: whether the answer began.
    @ivar failures: C{(node, status, message)} of every engine that failed.
    @ivar succeeded: the nodes whose stream ended well.
    @ivar done: fires with L{None} once every engine's stream ended;
        cancelling it drops every engine connection.
    """

    def __init__(self, request, rewrite):
        """
        @param rewrite: C{(message, node) -> message}, see
            L{swarmd.api._images_merge.node_message}.
        """
        self._request = request
        self._rewrite = rewrite
        self.started = False
        self.failures = []
        self.succeeded = []
        self._pending = {}
        self._streams = {}
        self._failed_in_stream = set()
        self._paused = False
        self._registered = False
        self.done: Deferred[None] = Deferred(self._cancel)

    def add(self, node, answer):
        """
        Follow one engine's answer.

        @param answer: a L{Deferred} firing with the engine's response.
        """
        self._pending[node] = answer
        answer.addCallback(self._answered, node)
        answer.addErrback(self._unreachable, node)

    def close(self):
        """
        No more engines will be added: fire L{done} now if all ended.
        """
        self._closed = True
        self._check()

    _closed = False

    # -- engine answers ---------------------------------------------------------

    def _answered(self, response, node):
        if response.code >= 300:
            d: Deferred[Any] = readBody(response)
            d.addCallback(lambda body: EngineError.from_body(response.code, body))
            d.addErrback(lambda f: EngineError(response.code, f.getErrorMessage()))
            d.addCallback(lambda error: self._fail(node, error.status, error.message))
            return d
        self._start()
        stream = _NodeStream(self, node)
        self._streams[node] = stream
        response.deliverBody(stream)
        return None

    def _unreachable(self, failure, node):
        if failure.check(CancelledError) and self.done.called:
            return None
        self._fail(node, getattr(failure.value, "status", 500), failure.getErrorMessage())
        return None

    def _fail(self, node, status, message):
        self.failures.append((node, status, message))
        self._pending.pop(node, None)
        if self.started:
            self._write(node_failed(node, message))
        self._check()

    def _start(self):
        if self.started:
            return
        self.started = True
        request = self._request
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/json")
        request.write(b"")
        if request.channel is not None:
            request.registerProducer(self, True)
            self._registered = True
        for node, _, message in self.failures:
            self._write(node_failed(node, message))

    def _message(self, node, message):
        error = message_error(message)
        if error is not None:
            self._failed_in_stream.add(node)
            self.failures.append((node, 500, error))
            self._write(node_failed(node, error))
            return
        self._write(self._rewrite(message, node))

    def _ended(self, node, reason, broken):
        self._streams.pop(node, None)
        self._pending.pop(node, None)
        if broken is not None:
            self._fail(node, 502, broken)
            return
        if not reason.check(ResponseDone, PotentialDataLoss):
            if self.done.called:
                return
            self._fail(node, 500, "stream broke: %s" % (reason.getErrorMessage(),))
            return
        if node not in self._failed_in_stream:
            self.succeeded.append(node)
        self._check()

    def _write(self, message):
        if self._request.channel is not None and not self.done.called:
            self._request.write(encode(message))

    def _check(self):
        if not self._closed or self._pending or self._streams or self.done.called:
            return
        self._unregister()
        self.done.callback(None)

    def _unregister(self):
        if self._registered:
            self._registered = False
            if self._request.channel is not None:
                self._request.unregisterProducer()

    def _cancel(self, _):
        self._unregister()
        for answer in list(self._pending.values()):
            answer.cancel()
        for stream in list(self._streams.values()):
            if stream.transport is not None:
                stream.transport.stopProducing()

    # -- IPushProducer, towards the client --------------------------------------

    def pauseProducing(self):
        self._paused = True
        for stream in self._streams.values():
            if stream.transport is not None:
                stream.transport.pauseProducing()

    def resumeProducing(self):
        self._paused = False
        for stream in list(self._streams.values()):
            if stream.transport is not None:
                stream.transport.resumeProducing()

    def stopProducing(self):
        if not self.done.called:
            self.done.cancel()

