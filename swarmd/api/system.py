"""
System routes: C{/_ping}, C{/version}, C{/info}.
"""

from swarmd.api import info as _info
from swarmd.api._helpers import json_answer


class SystemRoutes:
    """
    Answered by the manager itself.
    """

    def ping(self, request, version=None):
        request.setHeader(b"Content-Type", b"text/plain; charset=utf-8")
        request.setHeader(b"Cache-Control", b"no-cache, no-store, must-revalidate")
        request.setHeader(b"Pragma", b"no-cache")
        return b"OK"

    def version(self, request, version=None):
        return json_answer(request, _info.version())

    def info(self, request, version=None):
        return json_answer(request, _info.info(
            self.cluster, self.strategy, self.filters, debug=self.debug,
            events_listeners=self.event_listeners))
