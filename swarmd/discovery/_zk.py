"""
C{zk://host:port[,host:port...]/prefix}: engines registered in ZooKeeper.

A node registers as an ephemeral znode C{<prefix>/docker/swarm/nodes/<address>}
of its session (the session timeout is C{--ttl}: the node goes that long
after its join stops); a session that expires is replaced by kazoo and
every registration is made again at once.  A manager reads the children of
the directory with a child watch, and reads again each time it fires or the
connection comes back.

kazoo (the maintained ZooKeeper client) runs its own threads: L{ZKClient}
turns its asynchronous results and watch callbacks into L{Deferred}s and
calls on the reactor thread (C{callFromThread}), so the reactor never
waits on ZooKeeper.  L{ZKClient} is also what other modules (leader
election) build on: ephemeral nodes, watches, session listeners.

Znode names cannot hold C{/}: an address is percent-encoded in its name
(C{unix:%2F%2F%2Fvar%2Frun%2Fdocker.sock}) and kept verbatim in its data.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote, unquote

from twisted.internet.defer import Deferred, inlineCallbacks, returnValue
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from swarmd._log import observer
from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._interfaces import IDiscovery
from swarmd.discovery._kv import KVDiscovery, KVWatch, reactor_for
from swarmd.discovery._registry import register_backend

__all__ = ["ZKClient", "ZKDiscovery"]

#: Seconds one ZooKeeper operation may take.
OPERATION_TIMEOUT = 10.0


class _ToTwistedLog(logging.Handler):
    """
    One client's kazoo log records (kazoo logs through the standard
    library) into ours, at debug level: the discovery reports connection
    trouble itself, once.  The last warning is kept as the reason the
    client cannot connect.
    """

    _log = Logger(observer=observer, namespace="swarmd.discovery.zk")

    def __init__(self, client):
        super().__init__()
        self._client = client

    def emit(self, record):
        message = self.format(record)
        if record.levelno >= logging.WARNING:
            self._client.last_error = message
        self._log.debug("kazoo: {message}", message=message)


def _kazoo_logger(client):
    logger = logging.getLogger(f"swarmd.discovery.kazoo.{id(client):x}")
    logger.propagate = False
    logger.handlers[:] = [_ToTwistedLog(client)]
    logger.setLevel(logging.DEBUG)
    return logger


def _reason(exception):
    name = type(exception).__name__
    text = str(exception)
    return f"{name}: {text}" if text else name


class ZKClient:
    """
    A kazoo client driven from the reactor.

    Every method returns a L{Deferred} fired on the reactor thread, failing
    with L{DiscoveryError} (its C{zk_error} attribute holds kazoo's
    exception).

    @ivar connected: whether the session is connected (as last reported to
        the reactor thread).
    @ivar session_id: the current session's ID, or L{None}.
    """

    _log = Logger(observer=observer)

    def __init__(self, hosts, reactor, session_timeout, options=None, logger=None):
        """
        @param hosts: C{host:port} strings.
        @param reactor: the reactor results are delivered on.
        @param session_timeout: seconds (ZooKeeper bounds it with its tick).
        @param options: the L{KVOptions} (TLS files).
        @param logger: the standard library logger kazoo logs to (ours, at
            debug level, by default).
        """
        self._kazoo_logger = logger or _kazoo_logger(self)
        self.hosts = list(hosts)
        self._reactor = reactor
        self._session_timeout = session_timeout
        self._options = options
        self._kazoo: Any = None  # a KazooClient once connecting
        self._listeners = []
        self._connecting = []
        self.connected = False
        self.session_id = None
        self.last_error = None

    def describe(self):
        return f"zookeeper at {','.join(self.hosts)}"

    def add_listener(self, listener):
        """
        Call C{listener(state)} on the reactor thread each time the session
        changes: C{"connected"} (with a new or the same session),
        C{"suspended"} (connection lost, session may survive), C{"lost"}
        (session expired: ephemeral nodes are gone).
        """
        self._listeners.append(listener)

    def _make(self):
        from kazoo.client import KazooClient

        kwargs = {}
        options = self._options
        if options is not None and options.tls:
            kwargs = {"use_ssl": True, "ca": options.cacert, "certfile": options.cert,
                      "keyfile": options.key, "verify_certs": bool(options.cacert)}
        self._kazoo = KazooClient(
            hosts=",".join(self.hosts), timeout=self._session_timeout,
            connection_retry={"max_tries": -1, "delay": 0.1, "backoff": 1.5,
                              "max_delay": 2.0},
            command_retry=None, logger=self._kazoo_logger, **kwargs)
        self._kazoo.add_listener(self._state_from_thread)
        self._kazoo.start_async()

    def _state_from_thread(self, state):
        # kazoo's thread: hand over to the reactor.
        self._reactor.callFromThread(self._state, str(state).lower())

    def _state(self, state):
        if self._kazoo is None:
            return
        if state == "connected":
            session = self._kazoo.client_id[0] if self._kazoo.client_id else None
            self.connected = True
            self.last_error = None
            self.session_id = session
            waiting, self._connecting = self._connecting, []
            for d in waiting:
                d.callback(None)
        else:
            self.connected = False
        self._log.debug("{zk}: session {state}", zk=self.describe(), state=state)
        for listener in list(self._listeners):
            try:
                listener(state)
            except Exception:  # noqa: BLE001 - a listener's bug, logged
                self._log.failure("zookeeper session listener failed")

    def connect(self, timeout=OPERATION_TIMEOUT):
        """
        Start the client if needed and wait until it is connected.
        """
        if self._kazoo is None:
            self._make()
        if self.connected:
            from twisted.internet.defer import succeed

            return succeed(None)
        if self.last_error is not None:
            # kazoo keeps trying; say why it has not connected yet.
            return _failed(DiscoveryError(f"cannot reach {self.describe()}: {self.last_error}"))
        d: Deferred[Any] = Deferred(
            lambda d: self._connecting.remove(d) if d in self._connecting else None
        )
        self._connecting.append(d)
        d.addTimeout(timeout, self._reactor)
        return d.addErrback(self._not_reached)

    def _not_reached(self, failure):
        from twisted.internet.defer import TimeoutError as DeferTimeout
        from twisted.internet.error import TimeoutError

        if failure.check(TimeoutError, DeferTimeout):
            raise DiscoveryError(f"cannot reach {self.describe()}: no session")
        return failure

    def _bridge(self, start):
        """
        Run C{start()} (a kazoo C{*_async} call) when connected, and fire
        a L{Deferred} with its result on the reactor thread.
        """
        if self._kazoo is None or not self.connected:
            return self.connect().addCallback(lambda ignored: self._bridge(start))
        d: Deferred[Any] = Deferred()

        def done_in_thread(result):
            self._reactor.callFromThread(fire, result)

        def fire(result):
            if d.called:
                return
            try:
                value = result.get_nowait()
            except Exception as e:  # noqa: BLE001 - kazoo's errors, mapped
                error = DiscoveryError(f"{self.describe()}: {_reason(e)}")
                error.zk_error = e  # type: ignore[attr-defined]
                d.errback(Failure(error))
            else:
                d.callback(value)

        try:
            start().rawlink(done_in_thread)
        except Exception as e:  # noqa: BLE001 - e.g. the connection closing
            error = DiscoveryError(f"{self.describe()}: {_reason(e)}")
            error.zk_error = e  # type: ignore[attr-defined]
            return _failed(error)
        d.addTimeout(OPERATION_TIMEOUT, self._reactor)
        return d

    def _thread_watch(self, watcher):
        if watcher is None:
            return None

        def in_thread(event):
            self._reactor.callFromThread(watcher, event)

        return in_thread

    def get_children(self, path, watcher=None):
        """
        @param watcher: called once on the reactor thread with kazoo's
            C{WatchedEvent} when the children change.
        @return: C{(names, stat)}.
        """
        return self._bridge(lambda: self._kazoo.get_children_async(
            path, watch=self._thread_watch(watcher), include_data=True))

    def get(self, path, watcher=None):
        """
        @return: C{(data, stat)}.
        """
        return self._bridge(lambda: self._kazoo.get_async(path, watch=self._thread_watch(watcher)))

    def exists(self, path, watcher=None):
        """
        @return: the stat, or L{None}.
        """
        return self._bridge(lambda: self._kazoo.exists_async(
            path, watch=self._thread_watch(watcher)))

    def create(self, path, value=b"", ephemeral=False, sequence=False, makepath=True):
        """
        @return: the created path.
        """
        return self._bridge(lambda: self._kazoo.create_async(
            path, value, ephemeral=ephemeral, sequence=sequence, makepath=makepath))

    def set(self, path, value):
        return self._bridge(lambda: self._kazoo.set_async(path, value))

    def delete(self, path):
        return self._bridge(lambda: self._kazoo.delete_async(path))

    def ensure_path(self, path):
        return self._bridge(lambda: self._kazoo.ensure_path_async(path))

    def close(self):
        """
        Close the session (ephemeral nodes go at once) and stop kazoo's
        threads, in a thread of the reactor's pool.
        """
        kazoo, self._kazoo = self._kazoo, None
        self.connected = False
        for d in self._connecting:
            d.cancel()
        if kazoo is None:
            from twisted.internet.defer import succeed

            return succeed(None)
        from twisted.internet.threads import deferToThreadPool

        def stop():
            kazoo.stop()
            kazoo.close()

        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), stop)


def _failed(error):
    from twisted.internet.defer import fail

    return fail(error)


def _is(failure, name):
    error = getattr(failure.value, "zk_error", None)
    return error is not None and type(error).__name__ == name


def _addresses(names):
    return sorted({unquote(name) for name in names})


class _ZKWatch(KVWatch):
    """
    Children of the directory with a child watch, read again when the watch
    fires or the session reconnects.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._generation = 0
        super().__init__(discovery, clock, callback, errback)
        discovery.client.add_listener(self._session)

    def _begin(self):
        if self.stopped or self._pending is not None:
            return
        self._generation += 1
        generation = self._generation
        client = self._discovery.client
        d = client.ensure_path(self._discovery.path)
        d.addCallback(lambda ignored: client.get_children(
            self._discovery.path, lambda event: self._fired(generation)))
        self._await(d, self._read)

    def _read(self, result):
        names, stat = result
        self._got(_addresses(names), stat.cversion)

    def _fired(self, generation):
        if not self.stopped and generation == self._generation:
            self._begin()

    def _session(self, state):
        if self.stopped:
            return
        if state == "connected":
            self._begin()
        elif not self.failing:
            self._failed(Failure(DiscoveryError(
                f"{self._discovery.describe()}: connection {state}")), retry=False)

    def _halt(self):
        self._generation += 1
        listeners = self._discovery.client._listeners
        if self._session in listeners:
            listeners.remove(self._session)
        super()._halt()


@implementer(IDiscovery)
class ZKDiscovery(KVDiscovery):
    """
    Engines registered as ephemeral znodes.

    @ivar client: the L{ZKClient}, started on first use.
    @ivar path: the directory of the engines' znodes.
    """

    scheme = "zk"
    watch_kind = _ZKWatch
    _log = Logger(observer=observer)

    def __init__(self, endpoints, prefix, heartbeat, ttl, options, clock, reactor=None):
        """
        @param ttl: the session timeout, seconds.
        @raise DiscoveryError: for bad options.
        """
        super().__init__(endpoints, prefix, heartbeat, ttl, options, clock)
        from twisted.internet.interfaces import IReactorThreads

        reactor = reactor_for(clock, reactor, needs=IReactorThreads)
        self.client = ZKClient(endpoints, reactor, ttl, self.options)
        self.path = "/" + self.options.path
        self._registered: set[str] = set()
        self.client.add_listener(self._session)

    def describe(self):
        return self.client.describe()

    def __repr__(self):
        return f"<ZKDiscovery {','.join(self.endpoints)} {self.path}>"

    def node(self, address):
        """
        @return: the znode of an address.
        """
        return self.path + "/" + quote(address, safe=":[]")

    def fetch(self):
        d = self.client.get_children(self.path)

        def missing(failure):
            if _is(failure, "NoNodeError"):
                return ([], None)
            return failure

        d.addErrback(missing)
        return d.addCallback(lambda result: _addresses(result[0]))

    @inlineCallbacks
    def register(self, address):
        self._registered.add(address)
        node = self.node(address)
        stat = yield self.client.exists(node)
        if stat is not None and stat.ephemeralOwner == self.client.session_id:
            return
        if stat is not None:
            # Left by a session of ours that expired: replace it.
            try:
                yield self.client.delete(node)
            except DiscoveryError as e:
                if type(getattr(e, "zk_error", None)).__name__ != "NoNodeError":
                    raise
        try:
            yield self.client.create(node, address.encode("utf-8"), ephemeral=True)
        except DiscoveryError as e:
            if type(getattr(e, "zk_error", None)).__name__ != "NodeExistsError":
                raise
        returnValue(None)

    def _session(self, state):
        if state == "connected" and self._registered:
            for address in sorted(self._registered):
                d = self.register(address)
                d.addErrback(lambda failure, address=address: self._log.warn(  # type: ignore[call-overload]
                    "registering {address} again on {zk} failed: {error}",
                    address=address, zk=self.describe(), error=failure.getErrorMessage()))


register_backend("zk", ZKDiscovery.from_url)
