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


class SystemRoutes(EngineRouting):
    """
    Answered by the manager itself, or summed over every engine.
    """

    # Set by DockerAPI, with the cluster.
    strategy: str
    filters: tuple[str, ...]
    debug: bool
    event_listeners: int
    role: Callable[[], Any]

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
                                events_listeners=self.event_listeners, role=self.role())

    @inlineCallbacks
    def system_df(self, request, version=None):
        answers = yield self._fan_out(self.cluster.healthy_engines(), "GET", "/system/df",
                                      version, query=request.uri.partition(b"?")[2])
        return json_answer(request, merge_disk_usage(answers))
