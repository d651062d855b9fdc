"""
Graceful shutdown of the manager's API listeners.

On C{SIGTERM} (twistd stops the application's services before the reactor
stops, and waits for the L{Deferred} they return):

  1. the listeners stop accepting connections;
  2. idle keep-alive connections are closed, and a connection busy with a
     request is closed once its answer is complete (it takes no new
     request);
  3. open requests and hijacked sessions (attach, exec, a replica's
     tunnels) get up to C{--shutdown-timeout} seconds to finish;
  4. what is left then is closed: a streamed answer (C{logs -f},
     C{events}, C{pull} progress, C{stats}) gets its end (the last chunk),
     a hijacked session its end of stream; a request still waiting for its
     answer is cut.

The shutdown was I{clean} unless a request had to be cut before its answer
began; twistd's exit status says so (see L{swarmd._exit.exit_status}).
"""

from __future__ import annotations

import re

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, gatherResults, maybeDeferred, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IProtocol
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper
from twisted.python.failure import Failure
from twisted.web.http import HTTPChannel

from swarmd._log import SHUTDOWN, SHUTDOWN_FORCED, observer

__all__ = ["ConnectionTracker", "Drain", "DrainFirst", "GracefulService"]

#: How often, in seconds, the drain looks at the open connections.
POLL_INTERVAL = 0.05

#: A container wait still waiting when the grace ends (C{docker run} and
#: C{docker attach} wait too) is answered as dockerd answers a wait that
#: failed, so the client says why instead of "EOF".
_WAIT = re.compile(rb"/containers/[^/]+/wait\Z")
_WAIT_ANSWER = (b'{"Error":{"Message":"the swarm manager stopped before the container '
                b'exited"},"StatusCode":-1}\n')


class ConnectionTracker:
    """
    Knows the open connections of a server factory, hijacked ones included.

    It does not wrap the connections' protocols (a wrapper would hide the
    TCP transport's half-close from a hijacked session, and TLS's from
    L{swarmd.api.hijack}): it remembers each protocol the factory builds,
    and reads what runs on its transport when asked.  Closed connections'
    are forgotten every L{PRUNE_EVERY} connections.

    @ivar protocols: a C{set} of the protocols the factory built.
    """

    #: How many connections are made between two looks for closed ones.
    PRUNE_EVERY = 256

    def __init__(self, factory):
        """
        @param factory: the server factory (a site, or TLS around it) whose
            C{buildProtocol} is watched.
        """
        self.factory = factory
        self.protocols: set[IProtocol] = set()
        self._built = 0
        build = factory.buildProtocol

        def buildProtocol(addr):
            protocol = build(addr)
            if protocol is not None:
                self.protocols.add(protocol)
                self._built += 1
                if self._built % self.PRUNE_EVERY == 0:
                    self.connections()
            return protocol

        factory.buildProtocol = buildProtocol

    def connections(self):
        """
        @return: a C{list} of C{(transport, top)} for each open connection:
            its transport (TCP or UNIX) and the protocol running on it now
            (TLS, an HTTP channel's, or a hijacked session's).
        """
        result = []
        for protocol in list(self.protocols):
            transport = _transport(protocol)
            if transport is None or not getattr(transport, "connected", False):
                if transport is not None:
                    self.protocols.discard(protocol)
                continue
            # A plain hijack replaces the transport's protocol; TLS keeps
            # its own and swaps the one inside.
            while isinstance(transport, ProtocolWrapper):
                transport = transport.transport
            result.append((transport, transport.protocol))
        return result


def _transport(protocol):
    """
    @return: the transport of a protocol a factory built (Twisted's HTTP
        protocol is a proxy keeping it on its channel), or L{None} before
        it is connected.
    """
    transport = getattr(protocol, "transport", None)
    if transport is None:
        transport = getattr(getattr(protocol, "_channel", None), "transport", None)
    return transport


def _innermost(protocol):
    """
    @return: the protocol at the bottom of a stack of wrappers (tracking,
        TLS): an HTTP channel's protocol or a hijacked session's.
    """
    while True:
        inner = getattr(protocol, "wrappedProtocol", None)
        if inner is None:
            return protocol
        protocol = inner


def _channel(protocol):
    """
    @return: the L{HTTPChannel} of a site's protocol (Twisted wraps it to
        choose between HTTP/1.1 and HTTP/2), or L{None} for anything else
        (a hijacked session).
    """
    channel = getattr(protocol, "_channel", protocol)
    if isinstance(channel, HTTPChannel):
        return channel
    from swarmd.tls import _PlainHTTPSniffer

    if isinstance(protocol, _PlainHTTPSniffer):
        # A TLS listener's connection before its first bytes: no request
        # yet, as idle as an HTTP channel without one.
        return _NOTHING_YET
    return None


class _NothingYet:
    """
    Stands for the HTTP channel of a connection that sent nothing yet.
    """

    requests: list = []
    persistent = False


_NOTHING_YET = _NothingYet()


class Drain:
    """
    Lets the open connections of some L{ConnectionTracker}s finish, up to a
    deadline, then closes what is left.

    @ivar cut: how many requests were cut before their answer began.
    @ivar ended: how many streams and sessions were ended at the deadline.
    """

    _log = Logger(observer=observer)

    def __init__(self, clock, trackers, timeout, interval=POLL_INTERVAL):
        """
        @param clock: an L{IReactorTime}.
        @param trackers: the L{ConnectionTracker}s of the listeners.
        @param timeout: the grace period, in seconds.
        @param interval: how often to look, in seconds.
        """
        self._clock = clock
        self._trackers = list(trackers)
        self.timeout = timeout
        self._interval = interval
        self.cut = 0
        self.ended = 0

    def connections(self):
        """
        @return: a C{list} of C{(connection, channel)}: an object to close
            each open connection with (its TLS layer, so a close is a TLS
            close, or its transport) and its L{HTTPChannel}, or L{None} for
            a hijacked session.
        """
        result = []
        for tracker in self._trackers:
            for transport, top in tracker.connections():
                closer = top if isinstance(top, ProtocolWrapper) else transport
                result.append((_Connection(closer, transport),
                               _channel(_innermost(top))))
        return result

    def _counts(self):
        requests = sessions = 0
        for _, channel in self.connections():
            if channel is None:
                sessions += 1
            elif channel.requests:
                requests += 1
        return requests, sessions

    def _close_idle(self):
        """
        Close connections with no request under way; let the others close
        after their answer.

        @return: C{True} when no connection is left.
        """
        left = False
        for wrapper, channel in self.connections():
            if channel is not None and not channel.requests:
                wrapper.loseConnection()
                continue
            if channel is not None:
                channel.persistent = False
            left = True
        return not left

    def run(self):
        """
        Drain the connections.

        @return: a L{Deferred} firing with C{True} when every connection
            closed by itself in time (or was ended in order at the
            deadline), C{False} when a request had to be cut.
        """
        requests, sessions = self._counts()
        self._log.info("shutting down: {requests} requests and {sessions} sessions open, "
                       "waiting up to {timeout}s for them", requests=requests,
                       sessions=sessions, timeout=self.timeout, swarmd_event=SHUTDOWN)
        done: Deferred[bool] = Deferred()
        deadline = self._clock.seconds() + self.timeout

        def look():
            if self._close_idle():
                done.callback(self.cut == 0)
            elif self._clock.seconds() >= deadline:
                self._end_all()
                # Closing takes a reactor turn or two: wait for it, briefly.
                self._clock.callLater(self._interval, settle, 20)
            else:
                self._clock.callLater(self._interval, look)

        def settle(tries):
            if tries <= 0:
                self._log.debug("still open after the grace: {left}",
                                left=[repr(c.transport.protocol) for c, _ in self.connections()])
            if not self.connections() or tries <= 0:
                for wrapper, _ in self.connections():
                    wrapper.transport.abortConnection()
                done.callback(self.cut == 0)
            else:
                self._clock.callLater(self._interval, settle, tries - 1)

        look()
        return done

    def _end_all(self):
        """
        At the deadline: end every stream and session, cut every request
        whose answer has not begun.
        """
        requests, sessions = self._counts()
        for wrapper, channel in self.connections():
            if channel is None:
                # A hijacked session: its client reads the end of the stream.
                wrapper.end()
                self.ended += 1
                continue
            for request in list(channel.requests):
                if request.startedWriting and request.chunked and not request.finished:
                    # A streamed answer: its last chunk, then its handler
                    # hears that the client is gone (Klein cancels it, its
                    # proxy chain lets go of the engine) and writes no more.
                    if _WAIT.search(request.path or b""):
                        channel.write(b"%x\r\n%s\r\n" % (len(_WAIT_ANSWER), _WAIT_ANSWER))
                    channel.write(b"0\r\n\r\n")
                    request.connectionLost(Failure(ConnectionDone("the manager is stopping")))
                    self.ended += 1
                elif not request.finished:
                    self.cut += 1
            if self.cut:
                wrapper.transport.abortConnection()
            else:
                wrapper.end()
        self._log.warn("shutdown grace of {timeout}s over: ended {ended} streams and "
                       "sessions, cut {cut} requests ({requests} requests and {sessions} "
                       "sessions were open)", timeout=self.timeout, ended=self.ended,
                       cut=self.cut, requests=requests, sessions=sessions,
                       swarmd_event=SHUTDOWN_FORCED)


class _Connection:
    """
    One connection, as the drain closes it: C{loseConnection} in order
    (through TLS when there is TLS), C{transport.abortConnection} at once.
    """

    def __init__(self, closer, transport):
        self._closer = closer
        self.transport = transport

    def loseConnection(self):
        self._closer.loseConnection()

    def end(self):
        """
        Close in order now: a producer still registered on the transport
        (an HTTP channel, a relay, a paused splice) would keep it open.
        """
        # TLS waits for its own producer to go before it sends close_notify.
        for layer in (self._closer, self.transport):
            registered = getattr(layer, "producer", None) or getattr(layer, "_producer", None)
            if registered is not None:
                layer.unregisterProducer()
        self._closer.loseConnection()


class GracefulService(MultiService):
    """
    The manager's listeners: stopping them stops accepting at once, then
    drains their connections (L{Drain}) before the stop completes.

    @ivar trackers: the L{ConnectionTracker} of each listener's factory.
    @ivar clean: L{None} until stopped; then whether the drain was clean.
    """

    def __init__(self, clock, timeout, on_unclean=None):
        """
        @param clock: an L{IReactorTime}.
        @param timeout: the grace period, in seconds.
        @param on_unclean: called with no argument when a request had to be
            cut (the process then exits non-zero).
        """
        MultiService.__init__(self)
        self._clock = clock
        self.timeout = timeout
        self._on_unclean = on_unclean
        self.trackers = []
        self.clean = None
        self._stopping = None

    def track(self, factory):
        """
        Watch the connections of C{factory} (see L{ConnectionTracker}).

        @return: C{factory}, to listen with.
        """
        self.trackers.append(ConnectionTracker(factory))
        return factory

    def stopService(self):
        """
        Stop listening, then drain.  Stopping twice returns the first
        stop's L{Deferred} result.
        """
        if self._stopping is not None:
            return succeed(None) if self.clean is not None else _chain(self._stopping)
        stopped = MultiService.stopService(self)
        stopped.addCallback(lambda _: Drain(self._clock, self.trackers, self.timeout).run())
        stopped.addErrback(self._failed)
        stopped.addCallback(self._drained)
        self._stopping = stopped
        return _chain(stopped)

    def _failed(self, failure):
        Drain._log.failure("draining the connections failed", failure)
        return False

    def _drained(self, clean):
        self.clean = clean
        if not clean and self._on_unclean is not None:
            self._on_unclean()
        # twistd (Twisted >= 20) ends a process stopped by a signal with that
        # signal again, so it dies of SIGTERM whatever happened; a manager
        # that drained exits with a status instead, which says whether the
        # stop was clean (0) or cut requests (1: see swarmd._exit.exit_status).
        if getattr(self._clock, "_exitSignal", None) is not None:
            self._clock._exitSignal = None


def _chain(deferred):
    """
    @return: a new L{Deferred} firing with L{None} when C{deferred} does.
    """
    d: Deferred[None] = Deferred()

    def fire(result):
        d.callback(None)
        return result

    deferred.addBoth(fire)
    return d


class DrainFirst(MultiService):
    """
    A L{MultiService} that stops its L{GracefulService} (the listeners)
    first, together with its C{early} services (a replicated primary's
    election: it gives the leader key up at once, so a replica takes the
    new connections while this manager drains), and the rest (the cluster,
    its engines' connections) only once the listeners' connections are
    drained: a stream being relayed keeps its engine until it ends.

    @ivar graceful: the L{GracefulService} child, or L{None}.
    @ivar early: children to stop when stopping begins.
    """

    graceful: GracefulService | None = None
    early: tuple = ()

    def stopService(self):
        first = [s for s in (self.graceful, *self.early) if s is not None]
        if not first:
            return MultiService.stopService(self)
        d = gatherResults([maybeDeferred(s.stopService) for s in first], consumeErrors=True)
        d.addErrback(lambda f: Drain._log.failure("stopping failed", f))
        d.addCallback(lambda _: self._stop_rest(first))
        return d

    def _stop_rest(self, stopped):
        Service.stopService(self)
        rest = [s for s in reversed(list(self)) if s not in stopped]
        return gatherResults([maybeDeferred(s.stopService) for s in rest], consumeErrors=True)
