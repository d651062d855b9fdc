"""
L{ReplicaGate}: the root resource of a manager run with C{--replication}.

The primary serves everything.  A replica serves C{/_ping}, C{/version} and
C{/info} itself (its C{/info} says C{Role: replica} and names the primary,
as classic Swarm's) and hands every other connection over to the primary
(L{swarmd.api.hijack.tunnel}): streams, uploads and hijacked attach/exec
included, over TLS when the manager has TLS.  With no primary known a
request waits up to L{ReplicaGate.wait} seconds for one, then gets a 503.
"""

import re

from twisted.internet.defer import ensureDeferred
from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from swarmd._log import observer
from swarmd.api.direct import answers_directly
from swarmd.api.errors import write_error
from swarmd.api.hijack import tunnel
from swarmd.engine.endpoints import engine_endpoint, host_header

__all__ = ["LOCAL_PATHS", "ReplicaGate"]

#: What a replica answers itself (classic Swarm: paths ending in these).
LOCAL_PATHS = re.compile(rb"(?:/v[0-9]+\.[0-9]+)?/(?:_ping|version|info)\Z")


class ReplicaGate(Resource):
    """
    Serve locally when primary (or for the local paths), else forward.

    @ivar wait: seconds a request waits for a primary to be known.
    """

    isLeaf = True
    _log = Logger(observer=observer)

    def __init__(self, election, inner, reactor, tls=None, wait=None):
        """
        @param election: the manager's L{swarmd.ha.Election}.
        @param inner: the API's own resource.
        @param tls: what L{engine_endpoint} takes to reach the primary over
            TLS (the manager's own certificate as a client), or L{None}.
        @param wait: seconds to wait for a primary; the replication TTL plus
            one renewal interval by default (a failover's longest time).
        """
        Resource.__init__(self)
        self.election = election
        self.inner = inner
        self.reactor = reactor
        self.tls = tls
        self.wait = wait if wait is not None else election.ttl + election.interval
        self.forwarded = 0

    def answers_directly(self, method, path):
        """
        Whether a request the HTTP channel parsed itself may be rendered
        here (L{swarmd.api.direct}): one served locally, never forwarded,
        and if the API's resource says so.
        """
        return self._serves_here(path) and answers_directly(self.inner, method, path)

    def _serves_here(self, path):
        """
        Whether a request for C{path} is answered by this manager: it is the
        primary, or the path is one a replica answers itself.
        """
        return bool(self.election.is_primary() or LOCAL_PATHS.match(path))

    def render(self, request):
        if self._serves_here(request.path):
            return self.inner.render(request)
        primary = self.election.known_primary()
        if primary is not None:
            self._forward(request, primary)
            return NOT_DONE_YET
        waiting = self.election.wait_for_primary(self.wait)
        request.notifyFinish().addErrback(lambda _: waiting.cancel())

        def known(primary):
            if getattr(request, "_disconnected", False) or request.finished:
                return
            if primary is None:
                body = write_error(request, 503, (
                    "no primary manager is known after waiting %g s (manager replication): "
                    "the managers may be electing one; retry" % (self.wait,)))
                request.write(body)
                request.finish()
            elif primary == self.election.address:
                # This manager won meanwhile: serve it here.
                body = self.inner.render(request)
                if body is not NOT_DONE_YET:
                    request.write(body)
                    request.finish()
            else:
                self._forward(request, primary)

        waiting.addCallback(known)
        waiting.addErrback(lambda f: None)
        return NOT_DONE_YET

    def _forward(self, request, primary):
        self.forwarded += 1
        endpoint = engine_endpoint(self.reactor, primary, tls=self.tls)
        d = ensureDeferred(tunnel(request, endpoint, host_header(primary)))

        def failed(failure):
            self._log.warn("cannot forward {method} {path} to the primary {primary}: {error}",
                           method=request.method.decode("ascii", "replace"),
                           path=request.path.decode("ascii", "replace"),
                           primary=primary, error=failure.getErrorMessage())
            if getattr(request, "_disconnected", False) or request.finished:
                return
            request.write(write_error(request, 503, "cannot reach the primary manager %s: %s"
                                      % (primary, failure.getErrorMessage())))
            request.finish()

        d.addErrback(failed)
