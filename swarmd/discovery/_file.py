"""
C{file:///path}: engines listed in a file, one a line, re-read every
heartbeat.

Blank lines are skipped; C{#} starts a comment (whole-line or after an
entry); spaces around entries are ignored; ranges are expanded.  The file is
small, so it is read synchronously.
"""

from __future__ import annotations

from twisted.internet.defer import fail, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from swarmd._log import observer
from swarmd.discovery._deliver import deliver
from swarmd.discovery._entries import parse_entry
from swarmd.discovery._errors import DiscoveryError, DiscoveryNotSupported
from swarmd.discovery._interfaces import IDiscovery, IDiscoveryWatch
from swarmd.discovery._registry import register_backend

__all__ = ["FileDiscovery", "parse_file_content"]


def parse_file_content(text, source="file"):
    """
    Read the entries of a discovery file.

    @param text: the file's content.
    @param source: names the file in error messages.
    @return: the canonical, de-duplicated addresses, in file order.
    @raise DiscoveryError: naming the line of the first bad entry.
    """
    seen: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            addresses = parse_entry(line)
        except DiscoveryError as e:
            raise DiscoveryError(f"{source} line {number}: {e}") from None
        for address in addresses:
            seen.setdefault(address, None)
    return list(seen)


@implementer(IDiscoveryWatch)
class _FileWatch:
    """
    Poll a L{FileDiscovery} every heartbeat, starting on the next reactor
    turn; call back when the list differs from the last one called back.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._discovery = discovery
        self._callback = callback
        self._errback = errback
        self._last = None
        self.failing = False
        self._loop = LoopingCall(self._poll)
        self._loop.clock = clock
        self._starting = clock.callLater(0, self._start)

    def _start(self):
        self._starting = None
        self._loop.start(self._discovery.heartbeat, now=True)

    def _poll(self):
        # Never raises: a LoopingCall stops for good on its first error.
        try:
            entries = self._discovery.read()
        except Exception:  # noqa: BLE001 - unexpected errors go to the errback too
            self.failing = True
            deliver(self._errback, Failure(), self._discovery.path)
            return
        self.failing = False
        if entries != self._last:
            self._last = entries
            deliver(self._callback, list(entries), self._discovery.path)

    def stop(self):
        if self._starting is not None:
            self._starting.cancel()
            self._starting = None
        if self._loop.running:
            self._loop.stop()


@implementer(IDiscovery)
class FileDiscovery:
    """
    Engine addresses read from a file every C{heartbeat} seconds.

    @ivar path: the file.
    @ivar heartbeat: seconds between reads while watching.
    """

    scheme = "file"
    _log = Logger(observer=observer)

    def __init__(self, path, heartbeat, clock):
        """
        @param path: the file to read (relative paths are relative to the
            working directory, as in classic Swarm's C{file://path}).
        @param heartbeat: seconds between reads while watching; above 0.
        @param clock: the L{IReactorTime} the polls run on.
        @raise DiscoveryError: for an empty path or a heartbeat not above 0.
        """
        if not path:
            raise DiscoveryError("file discovery needs a path: file:///path/to/file")
        if not heartbeat > 0:
            raise DiscoveryError(f"file discovery needs a heartbeat above 0, not {heartbeat!r}")
        self.path = path
        self.heartbeat = heartbeat
        self._clock = clock

    @classmethod
    def from_url(cls, rest, *, heartbeat, ttl, options, clock):
        """
        The registry's factory: C{rest} is the path after C{file://}.
        """
        return cls(rest, heartbeat, clock)

    def __repr__(self):
        return f"<FileDiscovery {self.path!r} every {self.heartbeat}s>"

    def read(self):
        """
        Read the file now.

        @return: the canonical, de-duplicated addresses it lists.
        @raise DiscoveryError: if it cannot be read or holds a bad entry.
        """
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise DiscoveryError(f"failed to read {self.path!r}: {_reason(e)}") from None
        entries = parse_file_content(text, repr(self.path))
        self._log.debug("discovery file {path} lists {count} engines",
                        path=self.path, count=len(entries))
        return entries

    def fetch(self):
        try:
            return succeed(self.read())
        except DiscoveryError:
            return fail()

    def watch(self, callback, errback):
        return _FileWatch(self, self._clock, callback, errback)

    def register(self, address):
        return fail(DiscoveryNotSupported(
            "file discovery cannot register engines: add them to the file"
        ))


def _reason(error):
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)


register_backend("file", FileDiscovery.from_url)
