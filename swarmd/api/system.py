"""
System routes: C{/_ping}, C{/version}, C{/info}, C{/system/df}.
"""

from collections.abc import Callable
from typing import Any

from twisted.internet.defer import inlineCallbacks

from swarmd.api import info as _info
from swarmd.api._helpers import json_answer
from swarmd.api._routing import EngineRouting


def merge_disk_usage(answers):
    """
    Add up C{/system/df} answers of several engines.

    @param answers: C{[(engine, answer)]}.
    @return: one answer for the cluster: layer sizes summed, every node's
        images, containers (named C{/node/name}), volumes (named
        C{node/name}) and build cache listed.
    """
    merged: dict[str, Any] = {"LayersSize": 0, "Images": [], "Containers": [], "Volumes": [],
              "BuildCache": []}
    for engine, answer in answers:
        answer = answer or {}
        merged["LayersSize"] += answer.get("LayersSize") or 0
        merged["Images"].extend(answer.get("Images") or [])
        for container in answer.get("Containers") or []:
            container = dict(container)
            container["Names"] = ["/" + engine.name + n for n in container.get("Names") or []]
            merged["Containers"].append(container)
        for volume in answer.get("Volumes") or []:
            volume = dict(volume)
            volume["Name"] = "%s/%s" % (engine.name, volume.get("Name", ""))
            merged["Volumes"].append(volume)
        merged["BuildCache"].extend(answer.get("BuildCache") or [])
    return merged


def standalone():
    """
    The role of a manager without replication.
    """
    return ("primary", None)


class ManagerStatus:
    """
    What the manager tells of itself (in C{/info}, and in its metrics)
    that more than one handler group knows.

    @ivar event_listeners: the clients following C{/events} now (counted
        by L{swarmd.api.events.EventRoutes}).
    @ivar role: returns this manager's role: C{("primary", None)}, or under
        replication C{("replica", primary address)} (set by the manager,
        see L{swarmd.ha}).
    """

    def __init__(self):
        self.event_listeners = 0
        self.role: Callable[[], Any] = standalone


class SystemRoutes(EngineRouting):
    """
    Answered by the manager itself, or summed over every engine.

    @ivar strategy: the strategy name shown by C{/info}.
    @ivar filters: the filter names shown by C{/info}.
    @ivar debug: C{/info}'s C{Debug}.
    """

    def __init__(self, cluster, clock, status, strategy="spread", filters=(), debug=False):
        """
        @param status: the L{ManagerStatus}, shown by C{/info}.
        """
        EngineRouting.__init__(self, cluster, clock)
        self.status = status
        self.strategy = strategy
        self.filters = tuple(filters)
        self.debug = debug

    def ping(self, request, version=None):
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache, no-store, must-revalidate")
        request.setHeader(b"Pragma", b"no-cache")
        return b"OK"

    def version(self, request, version=None):
        return json_answer(request, _info.version())

    def info(self, request, version=None):
        request.setHeader(b"Content-Type", b"application/json")
        return _info.info_bytes(self.cluster, self.strategy, self.filters, debug=self.debug,
                                events_listeners=self.status.event_listeners,
                                role=self.status.role())

    @inlineCallbacks
    def system_df(self, request, version=None):
        answers = yield self._fan_out(self.cluster.healthy_engines(), "GET", "/system/df",
                                      version, query=request.uri.partition(b"?")[2])
        return json_answer(request, merge_disk_usage(answers))
