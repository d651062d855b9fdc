"""
The events of a fake engine: kept for C{since} queries as dockerd keeps
them (the last 256), and passed on to the open C{GET /events} streams.
"""

from collections import deque

from swarmd.testing.fakeengine._filters import Filters, event_included
from swarmd.testing.fakeengine._time import NANO

#: Events an engine keeps for C{since} queries (dockerd keeps 256).
EVENTS_KEPT = 256


class Event:
    """
    One event as kept (light: the JSON shape is built when it is served).

    @ivar ns: its time, nanoseconds since the epoch.
    @ivar type: C{container}, C{network}, C{image} or C{volume}.
    @ivar action: C{create}, C{start}, C{die}...
    @ivar actor: C{Actor.ID}.
    @ivar attributes: C{Actor.Attributes} (sorted, may be shared).
    @ivar image: C{from} of container events.
    """

    __slots__ = ("ns", "type", "action", "actor", "attributes", "image")

    def __init__(self, ns, type, action, actor, attributes, image=None):
        self.ns = ns
        self.type = type
        self.action = action
        self.actor = actor
        self.attributes = attributes
        self.image = image

    def __repr__(self):
        return "<Event %s %s %s>" % (self.type, self.action, self.actor[:12])

    def as_dict(self):
        """
        @return: the event as dockerd 20.10 streams it (legacy C{status},
            C{id}, C{from} for container and image events).
        """
        result = {}
        if self.type in ("container", "image"):
            result["status"] = self.action
            result["id"] = self.actor
            if self.type == "container":
                result["from"] = self.image
        result["Type"] = self.type
        result["Action"] = self.action
        result["Actor"] = {"ID": self.actor, "Attributes": dict(self.attributes)}
        result["scope"] = "local"
        result["time"] = self.ns // NANO
        result["timeNano"] = self.ns
        return result


class EventLog:
    """
    The events of one engine, oldest first (iterable, indexable).
    """

    def __init__(self, clock, kept=EVENTS_KEPT):
        """
        @param clock: the engine's C{IReactorTime}.
        @param kept: how many past events are kept.
        """
        self._clock = clock
        self._events = deque(maxlen=kept)
        self._listeners = []
        self._last_ns = 0

    def __iter__(self):
        return iter(self._events)

    def __len__(self):
        return len(self._events)

    def __getitem__(self, index):
        return self._events[index]

    def emit(self, type, action, actor, attributes, image=None):
        """
        Record an event now (its time strictly after the previous one's) and
        pass it to the matching subscribers.
        """
        ns = max(int(self._clock.seconds() * NANO), self._last_ns + 1)
        self._last_ns = ns
        event = Event(ns, type, action, actor, attributes, image)
        self._events.append(event)
        if self._listeners:
            shown = event.as_dict()
            for filters, callback in list(self._listeners):
                if event_included(filters, shown):
                    callback(shown)
        return event

    def past(self, since=None, until=None, filters=None):
        """
        Kept events between two times (both included), as C{GET /events}
        replays them.

        @param since: nanoseconds, or L{None}.
        @param until: nanoseconds, or L{None}.
        @param filters: L{Filters} or L{None}.
        @return: event C{dict}s, oldest first (none if both times are
            L{None}, as dockerd).
        """
        if since is None and until is None:
            return []
        filters = filters or Filters()
        result = []
        for event in self._events:
            if since is not None and event.ns < since:
                continue
            if until is not None and event.ns > until:
                continue
            shown = event.as_dict()
            if event_included(filters, shown):
                result.append(shown)
        return result

    def subscribe(self, callback, filters=None):
        """
        Call C{callback(event_dict)} for every new event passing C{filters}.

        @return: a callable that ends the subscription.
        """
        entry = (filters or Filters(), callback)
        self._listeners.append(entry)

        def unsubscribe():
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    @property
    def listeners(self):
        """
        How many subscriptions are open.
        """
        return len(self._listeners)
