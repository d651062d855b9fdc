"""
Reading engine answers: a JSON body, a stream of JSON documents (events,
pull progress) and the C{GET /events} stream as an L{IEventStream}.
"""

import json

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.web.client import ResponseDone
from zope.interface import implementer

from swarmd.engine._failures import failure_reason
from swarmd.engine._interfaces import IEventStream
from swarmd.engine.errors import EngineError, EngineUnreachable


def decode_json(data, address, path):
    """
    Decode an engine's JSON answer.

    @return: the value, or L{None} for an empty body.
    @raise EngineError: 502 when the engine sent something else.
    """
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError:
        raise EngineError(502, "engine %s sent invalid JSON for %s" % (address, path)) from None


class JSONStreamParser:
    """
    Split a stream of concatenated JSON documents (Docker's events and
    progress streams) into decoded objects.

    @ivar callback: called with each decoded object.
    """

    _decoder = json.JSONDecoder()

    def __init__(self, callback, limit=16 * 1024 * 1024):
        self.callback = callback
        self._buffer = ""
        self._pending = b""
        self._limit = limit

    def feed(self, data):
        """
        Feed bytes; complete documents are passed to C{callback}.

        @raise ValueError: on malformed JSON or a document over the size limit.
        """
        data = self._pending + data
        # Keep an incomplete UTF-8 sequence for the next chunk.
        try:
            text = data.decode("utf-8")
            self._pending = b""
        except UnicodeDecodeError as e:
            if e.start < len(data) - 3:
                raise ValueError("invalid UTF-8 in JSON stream") from None
            text = data[: e.start].decode("utf-8")
            self._pending = data[e.start:]
        buf = self._buffer + text
        index = 0
        end = len(buf)
        while True:
            while index < end and buf[index] in " \t\r\n":
                index += 1
            if index == end:
                break
            try:
                obj, index = self._decoder.raw_decode(buf, index)
            except ValueError:
                # Incomplete document: wait for more, unless it can never end.
                if end - index > self._limit:
                    raise ValueError("JSON document too large in stream") from None
                if buf[index] not in "{[":
                    raise
                break
            self.callback(obj)
        self._buffer = buf[index:]


class EventsProtocol(Protocol):
    def __init__(self, callback, ended, answered=None):
        self._parser = JSONStreamParser(callback)
        self._ended = ended
        self._answered = answered

    def dataReceived(self, data):
        if self._answered is not None:
            self._answered()
        try:
            self._parser.feed(data)
        except ValueError:
            # Connected while data arrives; an HTTP body's transport is a producer.
            self.transport.stopProducing()  # type: ignore[union-attr]

    def connectionLost(self, reason):  # type: ignore[override]  # Twisted always passes the reason
        ended, self._ended = self._ended, None
        if ended is not None:
            ended(reason)


@implementer(IEventStream)
class EventStream:
    def __init__(self, address, response, callback, answered=None):
        self._stopped = False
        self._address = address
        self.done: Deferred[None] = Deferred()
        self._protocol = EventsProtocol(callback, self._ended, answered)
        response.deliverBody(self._protocol)

    def _ended(self, reason):
        if self._stopped or reason.check(ResponseDone):
            self.done.callback(None)
        else:
            self.done.errback(EngineUnreachable(self._address, failure_reason(reason)))

    def stop(self):
        if self._stopped:
            return
        self._stopped = True
        transport = self._protocol.transport
        if transport is not None:
            transport.stopProducing()  # type: ignore[attr-defined]  # a body transport produces
