"""
Following one engine's C{GET /events} stream: opened once the engine is
connected, reopened when it ends or breaks, resumed from the last event
seen (an event replayed twice is applied once), each event applied to the
engine's cache and passed on to its listener.
"""

import re
from datetime import datetime
from typing import Any

from twisted.logger import Logger

from swarmd._log import observer
from swarmd.engine import EngineError, EngineUnreachable

#: Container event actions that change nothing the manager caches.
_IGNORED_ACTIONS = frozenset(["attach", "detach", "resize", "top", "export", "commit", "copy",
                              "archive-path", "extract-to-dir"])


def event_since(event):
    """
    The C{since} value that replays events from C{event}'s time on.
    """
    nano = event.get("timeNano")
    if nano:
        return "%d.%09d" % divmod(int(nano), 1000000000)
    if event.get("time"):
        return "%d.000000000" % int(event["time"])
    return None


def event_key(event):
    actor = event.get("Actor") or {}
    return (event.get("timeNano") or event.get("time"), event.get("Type"),
            event.get("Action") or event.get("status"), actor.get("ID") or event.get("id"))


_SYSTEM_TIME = re.compile(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def time_to_since(text):
    """
    Turn Docker's RFC 3339 C{SystemTime} into an events C{since} value.

    @return: C{"<seconds>.<nanoseconds>"}, or L{None} when unparseable.
    """
    match = _SYSTEM_TIME.match(text or "")
    if match is None:
        return None
    base, fraction, zone = match.groups()
    try:
        when = datetime.fromisoformat(base + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    nanos = int(((fraction or "") + "000000000")[:9])
    return "%d.%09d" % (int(when.timestamp()), nanos)


class EventsFollower:
    """
    The events stream of one L{swarmd.cluster.engine.Engine}, which owns it.

    @ivar stream: the open L{swarmd.engine.IEventStream}, or L{None}.
    @ivar since: the C{since} the stream (re)opens from: the engine's time
        when it connected, then the time of the last event seen.
    """

    _log = Logger(observer=observer)

    def __init__(self, engine, clock, listener, wait):
        """
        @param listener: the engine's L{EngineListener}, told every event.
        @param wait: a callable giving the seconds before a stream that
            ended or broke is reopened.
        """
        self._engine = engine
        self._clock = clock
        self._listener = listener
        self._wait = wait
        self.stream = None
        self.since = None
        self._opening = False
        self._seen: tuple[Any, set[Any]] = (None, set())
        self._retry_call = None
        #: Whether the stream ended or broke since it was last open.
        self._gap = False

    @property
    def flowing(self):
        """
        Whether the stream is open: no change on the engine goes unseen.
        """
        return self.stream is not None

    def start(self, since):
        """
        Open the stream of a newly connected engine.

        @param since: the engine's own time, the first C{since} (unless
            events were seen before).
        """
        if self.since is None:
            self.since = since
        self.open()

    def stop(self):
        """
        Close the stream and cancel a pending reopening.
        """
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        if self.stream is not None:
            self.stream.stop()
            self.stream = None

    def open(self):
        """
        Open the stream unless it is open, being opened, or the engine
        stopped; a failure to open is retried as a break.
        """
        if self._engine.stopped or self.stream is not None or self._opening:
            return
        self._opening = True
        d = self._engine.client.events(self._on_event, since=self.since)

        def opened(stream):
            self._opening = False
            if self._engine.stopped:
                stream.stop()
                return
            self.stream = stream
            if self._gap:
                # Reopened after a break: what the replay (from the last
                # event seen) may lack is read by the next run's re-list.
                self._gap = False
                self._engine.events_missed()
            stream.done.addCallbacks(self._ended, self._broke)

        def failed(failure):
            self._opening = False
            self._broke(failure)

        d.addCallbacks(opened, failed)

    def _ended(self, _):
        self.stream = None
        self._gap = True
        self._engine.events_missed()
        if not self._engine.stopped:
            self._log.info("events stream of engine {address} ended; reopening",
                           address=self._engine.address)
            self._retry()

    def _broke(self, failure):
        self.stream = None
        self._gap = True
        self._engine.events_missed()
        if self._engine.stopped:
            return
        error = failure.value
        if isinstance(error, (EngineUnreachable, EngineError)):
            self._engine.failed(error)
        else:
            self._log.failure("events stream of engine {address} broke", failure,
                              address=self._engine.address)
        self._retry()

    def _retry(self):
        if self._retry_call is not None and self._retry_call.active():
            return
        self._retry_call = self._clock.callLater(self._wait(), self.open)

    def _on_event(self, event):
        if not isinstance(event, dict):
            return
        since = event_since(event)
        key = event_key(event)
        seen_at, seen = self._seen
        if since is not None:
            if since == seen_at:
                if key in seen:
                    return
                seen.add(key)
            elif seen_at is None or since > seen_at:
                self._seen = (since, {key})
            self.since = max(since, self.since or since)
        try:
            self._apply(event)
        except Exception:
            self._log.failure("applying event {event} of engine {address} failed",
                              event=event, address=self._engine.address)
        self._listener.engine_event(self._engine, event)

    def _apply(self, event):
        kind = event.get("Type") or ("container" if event.get("id") else "")
        action = event.get("Action") or event.get("status") or ""
        actor = (event.get("Actor") or {}).get("ID") or event.get("id") or ""
        if kind == "container" and actor:
            base = action.split(":", 1)[0].strip()
            if base in _IGNORED_ACTIONS:
                return
            if base == "destroy":
                self._engine.forget_container(actor)
                return
            if base == "create" and actor in self._engine.containers:
                # Cached already (the manager inspects what it creates): a
                # create says nothing more; later changes have their events.
                return
            self._ignore(self._engine.refresh_container(actor))
        elif kind == "image":
            self._ignore(self._engine.refresh_list("images"))
        elif kind == "network":
            self._ignore(self._engine.refresh_list("networks"))
            container = (event.get("Actor") or {}).get("Attributes", {}).get("container")
            if container in self._engine.containers:
                self._ignore(self._engine.refresh_container(container))
        elif kind == "volume":
            self._ignore(self._engine.refresh_list("volumes"))
        elif kind == "daemon":
            self._ignore(self._engine.update_specs())

    def _ignore(self, d):
        d.addErrback(lambda f: f.trap(EngineUnreachable, EngineError))
        return d
