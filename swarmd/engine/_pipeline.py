"""
Several C{GET}s pipelined on one connection to an engine, for the batch
reads of L{swarmd.engine.IBatchEngineClient}.
"""

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure

from swarmd.engine.errors import EngineError


class PipelinedGets(Protocol):
    """
    Send several C{GET}s at once on one connection (HTTP/1.1 pipelining,
    which dockerd's Go server and Twisted's both answer in order) and read
    the answers back to back: no connection, no request object and no
    L{Deferred} per call, which at 30,000 inspects is most of the
    manager's CPU when it first reads a big cluster.

    @ivar done: fires with a C{list} of C{(status, body bytes)}, in the
        order of the paths, once every answer is in; fails when the
        connection ends first.
    """

    def __init__(self, host, paths, answered=None):
        self._requests = b"".join(
            b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\n\r\n" for path in paths)
        self._wanted = len(paths)
        self._answered = answered
        self._buffer = b""
        self._results = []
        self.done: Deferred[Any] | None = Deferred(self._cancel)

    def _cancel(self, done):
        self.done = None
        if self.transport is not None:
            self.transport.abortConnection()  # type: ignore[attr-defined]  # a TCP/UNIX transport

    def connectionMade(self):
        self.transport.write(self._requests)  # type: ignore[union-attr]  # connected

    def dataReceived(self, data):
        if self._answered is not None:
            self._answered()
        self._buffer += data
        try:
            while self._parse_one():
                pass
        except ValueError as e:
            self._finish(Failure(EngineError(502, "unreadable answer: %s" % (e,))))
            return
        if len(self._results) == self._wanted:
            self._finish(self._results)

    def _parse_one(self):
        """
        Take one complete answer off the buffer.

        @return: whether one was taken.
        @raise ValueError: on an answer that is not HTTP.
        """
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > 65536:
                raise ValueError("answer head too long")
            return False
        lines = buffer[:end].split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ValueError("bad status line %r" % (lines[0][:80],))
        status = int(parts[1])
        length = None
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding":
                chunked = value.strip().lower() == b"chunked"
        start = end + 4
        if chunked:
            body: Any = []
            position = start
            while True:
                eol = buffer.find(b"\r\n", position)
                if eol < 0:
                    return False
                size = int(buffer[position:eol].split(b";", 1)[0], 16)
                chunk_start = eol + 2
                if len(buffer) < chunk_start + size + 2:
                    return False
                if size == 0:
                    # No trailers: dockerd sends none.
                    position = chunk_start + 2
                    break
                body.append(buffer[chunk_start:chunk_start + size])
                position = chunk_start + size + 2
            self._buffer = buffer[position:]
            body = b"".join(body)
        else:
            if length is None:
                if status not in (204, 304) and status >= 200:
                    raise ValueError("answer without a length")
                length = 0
            if len(buffer) < start + length:
                return False
            body = buffer[start:start + length]
            self._buffer = buffer[start + length:]
        self._results.append((status, body))
        return True

    def _finish(self, result):
        done, self.done = self.done, None
        if done is None:
            return
        # Nothing big stays with the connection once it is over (a
        # protocol and its transport are a cycle only a collection frees).
        self._buffer = self._requests = b""
        self._results = []
        self.transport.loseConnection()  # type: ignore[union-attr]  # still connected
        if isinstance(result, Failure):
            done.errback(result)
        else:
            done.callback(result)

    def connectionLost(self, reason):  # type: ignore[override]  # Twisted always passes the reason
        if self.done is not None:
            self._finish(reason)
