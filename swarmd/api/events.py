"""
C{GET /events}: one stream of every engine's events, each with its node's
name, ID, address and IP, plus the manager's own C{engine_connect},
C{engine_disconnect} and C{engine_reconnect}.
"""

import json
import re
from datetime import datetime
from typing import cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.web.client import readBody
from zope.interface import implementer

from swarmd._log import observer
from swarmd.api._fanout import fan_out
from swarmd.api._helpers import arg
from swarmd.api._routing import EngineRouting
from swarmd.api.errors import bad_request
from swarmd.api.listfilters import parse_filters
from swarmd.engine import EngineError

EVENT_FILTERS = frozenset([
    "container", "event", "image", "label", "network", "volume", "type", "daemon", "node",
    "scope", "plugin", "config", "secret", "service",
])

#: Events queued for a client that does not read before it is dropped.
MAX_QUEUED = 100000

#: Bytes of events queued for a client that does not read before it is
#: dropped: dockerd holds a slow client's events in a buffered channel
#: (about 1,000 events of a few hundred bytes); a few MB is as generous.
MAX_QUEUED_BYTES = 4 * 1024 * 1024

_NUMBER = re.compile(r"([0-9]+)(?:\.([0-9]{1,9}))?\Z")


def parse_timestamp(text, now):
    """
    A Docker events time bound: C{"1700000000"}, C{"1700000000.5"}, an RFC
    3339 time, or a duration before now (C{"10m"}, as C{docker events
    --since 10m} means).

    @return: nanoseconds since the epoch.
    @raise DockerError: 400 for anything else.
    """
    text = text.strip()
    match = _NUMBER.match(text)
    if match:
        return int(match.group(1)) * 10 ** 9 + int(((match.group(2) or "") + "0" * 9)[:9])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return int(when.timestamp() * 10 ** 9)
    except ValueError:
        pass
    from swarmd._duration import parse_duration

    try:
        return int((now - parse_duration(text)) * 10 ** 9)
    except ValueError:
        raise bad_request("invalid timestamp %r for since/until" % (text,)) from None


def event_nanos(event):
    return int(event.get("timeNano") or int(event.get("time") or 0) * 10 ** 9)


def event_matches(event, filters):
    """
    Docker's event filters, plus C{node} (a node's name or ID).
    """
    if not filters:
        return True
    kind = event.get("Type") or ""
    action = event.get("Action") or event.get("status") or ""
    actor = event.get("Actor") or {}
    actor_id = actor.get("ID") or event.get("id") or ""
    attributes = actor.get("Attributes") or {}

    def wants(key, *candidates):
        values = filters.get(key)
        return not values or any(c and c in values for c in candidates)

    if not wants("type", kind):
        return False
    if not wants("event", action, action.split(":")[0]):
        return False
    if not wants("scope", event.get("scope")):
        return False
    if filters.get("container") and not (kind == "container" and wants(
            "container", actor_id, attributes.get("name"), actor_id[:12])):
        return False
    if filters.get("image"):
        image = attributes.get("image") or (actor_id if kind == "image" else "")
        if not wants("image", image, image.split(":")[0], attributes.get("name")):
            return False
    for kind_filter in ("network", "volume", "plugin", "config", "secret", "service"):
        if filters.get(kind_filter) and not (kind == kind_filter and wants(
                kind_filter, actor_id, attributes.get("name"))):
            return False
    if filters.get("daemon") and not (kind == "daemon" and wants("daemon", actor_id)):
        return False
    if filters.get("node") and not wants("node", attributes.get("node.name"),
                                         attributes.get("node.id")):
        return False
    for label in filters.get("label", []):
        key, sep, value = label.partition("=")
        if key not in attributes or (sep and attributes[key] != value):
            return False
    return True


@implementer(IPushProducer)
class _EventFeed:
    """
    Writes events to one client; queues them while the client's connection
    is paused, and drops a client that stops reading altogether: once more
    than C{max_bytes} (or L{MAX_QUEUED} events) wait, the connection is
    aborted and the queue freed, with a log line.

    @ivar queued_bytes: bytes of events waiting for the client.
    """

    _log = Logger(observer=observer)

    def __init__(self, request, filters, until, done, max_bytes=None):
        self._request = request
        self._filters = filters
        self._until = until
        self._done = done
        self._paused = False
        self._queue = []
        self._max_bytes = MAX_QUEUED_BYTES if max_bytes is None else max_bytes
        self.queued_bytes = 0
        self.closed = False

    def send(self, event):
        if self.closed:
            return
        if self._until is not None and event_nanos(event) > self._until:
            self.close()
            return
        if not event_matches(event, self._filters):
            return
        data = json.dumps(event, separators=(",", ":")).encode("utf-8") + b"\n"
        if self._paused:
            self._queue.append(data)
            self.queued_bytes += len(data)
            if self.queued_bytes > self._max_bytes or len(self._queue) > MAX_QUEUED:
                self._log.warn(
                    "events client {client} dropped: it stopped reading with {events} events "
                    "({size} bytes) waiting, over the limit of {limit} bytes",
                    client=self._client(), events=len(self._queue), size=self.queued_bytes,
                    limit=self._max_bytes)
                self.close(abort=True)
            return
        self._request.write(data)

    def _client(self):
        try:
            address = self._request.getClientAddress()
        except Exception:
            return "?"
        host, port = getattr(address, "host", None), getattr(address, "port", None)
        if host is None:
            return str(address)
        return "%s:%s" % (host, port)

    def close(self, abort=False):
        if self.closed:
            return
        self.closed = True
        # Whatever waited for the client goes with it.
        self._queue = []
        self.queued_bytes = 0
        if abort:
            transport = getattr(self._request.channel, "transport", None)
            if transport is not None:
                transport.abortConnection()
        if not self._done.called:
            self._done.callback(b"")

    def pauseProducing(self):
        self._paused = True

    def resumeProducing(self):
        self._paused = False
        queue, self._queue = self._queue, []
        self.queued_bytes = 0
        if queue and not self.closed:
            self._request.write(b"".join(queue))

    def stopProducing(self):
        self.close()


def event_key(event):
    """
    What tells two copies of one engine event apart from another event (the
    hub's copy and an engine's replay of it).
    """
    actor = event.get("Actor") or {}
    node = (actor.get("Attributes") or {}).get("node.addr")
    return (node, event_nanos(event), event.get("Type"), event.get("Action"), actor.get("ID"))


def _timestamp_text(nanos):
    """
    A time bound as engines take it (C{"seconds.nanoseconds"}).
    """
    return "%d.%09d" % divmod(nanos, 10 ** 9)


class _Gate:
    """
    The hub's live events for one client: held while the past is replayed,
    then passed on, none twice (an engine's live stream may deliver an
    event after its replay did).
    """

    def __init__(self, feed):
        self._feed = feed
        self._held: list | None = []
        self._sent: frozenset = frozenset()
        self._until = -1

    def __call__(self, event):
        if self._held is not None:
            self._held.append(event)
        elif event_nanos(event) > self._until or event_key(event) not in self._sent:
            self._feed.send(event)

    def open(self, sent=frozenset(), until=-1):
        """
        Pass the held events on, then every later one, but for the replayed
        ones.

        @param sent: the keys (L{event_key}) of the events replayed.
        @param until: the end of the replayed window (nanoseconds): a live
            event after it cannot be among them.
        """
        # Opened once: the held list is still there.
        held, self._held = cast(list, self._held), None
        self._sent, self._until = sent, until
        for event in held:
            self(event)


class EventRoutes(EngineRouting):
    """
    C{/events}

    The past (C{since}, or C{until} alone) is read from the engines
    themselves, the source of truth, merged with the manager's own buffer
    (its C{engine_*} events, and whatever an engine it cannot reach now
    sent before), so a manager restarted meanwhile loses nothing the
    engines kept.
    """

    #: Seconds an engine has to replay its past events.
    replay_timeout = 10.0

    def __init__(self, cluster, clock, status):
        """
        @param status: the L{swarmd.api.system.ManagerStatus} counting the
            clients following the events.
        """
        EngineRouting.__init__(self, cluster, clock)
        self.status = status

    def events(self, request, version=None):
        now = self.clock.seconds()
        now_ns = int(now * 10 ** 9)
        since_text = arg(request, "since")
        until_text = arg(request, "until")
        since = parse_timestamp(since_text, now) if since_text else None
        until = parse_timestamp(until_text, now) if until_text else None
        if since is not None and until is not None and until < since:
            raise bad_request("`since` time (%s) cannot be after `until` time (%s)" % (
                since_text, until_text))
        filters = parse_filters(arg(request, "filters"), EVENT_FILTERS)
        request.setResponseCode(200)
        request.setHeader(b"Content-Type", b"application/json")
        done: Deferred[None] = Deferred(lambda d: feed.close())
        feed = _EventFeed(request, filters, until, done)
        request.registerProducer(feed, True)
        request.write(b"")
        live = until is None or until > now_ns
        gate = _Gate(feed)
        unsubscribe = self.cluster.subscribe(gate) if live else (lambda: None)
        self.status.event_listeners += 1
        timer = None
        if until is not None and live:
            timer = self.clock.callLater(until / 10 ** 9 - now, feed.close)

        def finished(result):
            unsubscribe()
            self.status.event_listeners -= 1
            if timer is not None and timer.active():
                timer.cancel()
            if request.channel is not None:
                request.unregisterProducer()
            return result

        done.addBoth(finished)
        if since is None and until is None:
            gate.open()
            return done
        window = (since or 0, min(until, now_ns) if until is not None else now_ns)
        replay = self._replay(window, version)

        def replayed(events):
            sent = set()
            for event in events:
                if feed.closed:
                    break
                sent.add(event_key(event))
                feed.send(event)
            if not live:
                feed.close()
            gate.open(sent, window[1])

        replay.addCallback(replayed)
        replay.addErrback(lambda failure: (
            self._log.failure("events replay failed", failure),  # type: ignore[func-returns-value]
            feed.close()))
        return done

    def _replay(self, window, version):
        """
        The events of C{window} (nanoseconds, inclusive): every healthy
        engine's replay with node attributes, and the manager's buffer,
        merged oldest first without duplicates.

        @return: a L{Deferred} firing with the list.
        """
        low, high = window
        query = ("since=%s&until=%s" % (_timestamp_text(low), _timestamp_text(high))).encode()

        def ask(engine):
            target = self._engine_path(engine, version, "/events", query=query)
            d = engine.api.request("GET", target, timeout=self.replay_timeout)

            def answered(response):
                body = readBody(response)
                if response.code >= 400:
                    return body.addCallback(
                        lambda data: EngineError.from_body(response.code, data)).addCallback(
                        _raise)
                return body

            d.addCallback(answered)
            d.addCallback(lambda body: [self.cluster.decorate_event(engine, e)
                                        for e in _json_lines(body)])
            return d

        def merge(results):
            merged = {}
            for event in list(self.cluster.recent_events):
                if low <= event_nanos(event) <= high:
                    merged[event_key(event)] = event
            for engine, ok, events in results:
                if not ok:
                    self._log.warn("events replay from {engine} failed: {error}",
                                   engine=engine.name, error=str(events))
                    continue
                for event in events:
                    if low <= event_nanos(event) <= high:
                        merged.setdefault(event_key(event), event)
            return sorted(merged.values(), key=event_nanos)

        return fan_out(self.cluster.healthy_engines(), ask).addCallback(merge)


def _raise(error):
    raise error


def _json_lines(body):
    """
    The events of an engine's finished C{/events} answer (one JSON document
    a line; a line cut short is dropped).
    """
    events = []
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            events.append(value)
    return events
