"""
L{Engine}: one Docker engine of the cluster, its cached state, its health
and the loops that keep both fresh.

States follow classic Swarm: an engine is I{pending} until the first
successful connection, then I{healthy}; after C{failure_retry} connection
failures in a row it turns I{unhealthy}, and back to I{healthy} on the next
success.  A refresh loop (a L{JitteredLoop}) re-reads the engine every
random wait between the refresh min and max interval, multiplied by a
backoff factor once the engine keeps failing; a C{/events} stream drives
targeted refreshes in between.  While that stream is open a run only pings
the engine, and lists it again every C{relist_interval} or after a gap.
"""

import random as _random
from typing import Any

import attr
from twisted.internet.defer import (
    Deferred,
    DeferredSemaphore,
    inlineCallbacks,
)
from twisted.logger import Logger

from swarmd._log import observer
from swarmd._loop import JitteredLoop
from swarmd.cluster._cache_reads import CacheReads, freeze_cache
from swarmd.cluster._events_follower import EventsFollower, time_to_since
from swarmd.cluster._hang_watch import HangWatch
from swarmd.cluster._states import DISCONNECTED, HEALTHY, PENDING, UNHEALTHY
from swarmd.cluster.errors import CreateOutcomeUnknown, is_missing_image
from swarmd.cluster.listener import EngineListener
from swarmd.engine import (
    EngineError,
    EngineUnreachable,
    ICallRecord,
    address_ip,
)
from swarmd.engine.tracked import TrackedClient
from swarmd.scheduler.node import apply_overcommit

#: Classic Swarm caps the refresh backoff at this factor.
MAX_BACKOFF_FACTOR = 1000

#: Specs (info) of healthy engines are re-read this often, in seconds.
SPEC_UPDATE_INTERVAL = 300.0

#: The fields of an engine's C{GET /info} answer kept in L{Engine.info}:
#: what its specs (name, CPUs, memory, labels) and C{/info}'s node table
#: come from.  The rest (C{SystemTime}, counts, goroutines, registry
#: settings...) is not used, and a re-read whose kept fields are the same
#: changes nothing: at 5,000 engines the re-reads (17 a second) kept each
#: answer's ~80 objects for 300 s, a third of what each full collection of
#: the cyclic garbage collector walked (100-180 ms), and bumped every
#: engine's revision, so its views and C{/info} rows were made again.
SPEC_FIELDS = ("ID", "Name", "NCPU", "MemTotal", "Driver", "KernelVersion",
               "OperatingSystem", "OSType", "Labels", "ServerVersion")

#: While the events stream is open, images, networks and volumes are
#: re-read on one refresh run in this many (containers on every run).
LISTS_EVERY = 5

#: Seconds between two safety re-lists of an engine whose events stream
#: stays open (L{EngineOptions.relist_interval}, C{--engine-relist-interval}).
RELIST_INTERVAL = 600.0

@attr.s(frozen=True, auto_attribs=True, kw_only=True)
class EngineOptions:
    """
    Tuning of every engine of a cluster.
    """

    refresh_min: float = 30.0
    refresh_max: float = 60.0
    failure_retry: int = 3
    overcommit: float = 0.05
    #: Seconds before a broken events stream is opened again (times the
    #: backoff factor).
    events_retry: float = 1.0
    #: Seconds a ping may go unanswered before it counts as one failure.
    #: An engine silent for half of it with calls under way counts one
    #: failure at once and gets no new containers; each ping timeout
    #: after that without an answer counts one more, so a hung engine is
    #: unhealthy within C{failure_retry} times this.
    ping_timeout: float = 2.0
    #: Seconds between two full re-lists of the engine's containers (and
    #: images, networks, volumes) while its events stream is open: events
    #: keep the cache current, so a refresh run then only pings the engine
    #: (its liveness, as before).  A re-list still follows every reopening
    #: of the stream and every connection failure.  0 re-lists on every
    #: run, as classic Swarm does.
    relist_interval: float = RELIST_INTERVAL


class Engine:
    """
    One Docker engine of the cluster.

    @ivar address: the discovery address.
    @ivar client: its L{swarmd.engine.IEngineClient}, for the engine's own
        bookkeeping.
    @ivar api: the same client with health tracking applied to every call
        (L{swarmd.engine.tracked.TrackedClient}), for everyone else.
    @ivar state: L{PENDING}, L{HEALTHY}, L{UNHEALTHY} or L{DISCONNECTED}.
    @ivar failures: connection failures in a row.
    @ivar error: the last error, C{""} when the last call succeeded.
    @ivar updated_at: when the cache was last refreshed (clock seconds), or
        L{None}.
    @ivar containers: C{dict} of container ID to L{Container}.
    @ivar images: the engine's C{/images/json} list.
    @ivar networks: the engine's C{/networks} list.
    @ivar volumes: the engine's C{/volumes} list.
    """

    _log = Logger(observer=observer)

    def __init__(self, client, clock, options=EngineOptions(), listener=None, random=None,
                 limiter=None):
        """
        @param limiter: a L{DeferredSemaphore} shared by the engines of a
            cluster: connections and refresh runs go through it, so a
            thousand engines starting together do not swamp the manager.
        """
        self.address = client.address
        self.client = client
        #: The client for calls made on behalf of Docker clients: every
        #: call's outcome counts toward this engine's health (L{track}).
        self.api = TrackedClient(client, self.track)
        self.ip = address_ip(self.address)
        self.options = options
        self._clock = clock
        self._random = random or _random.Random()
        self._listener = listener or EngineListener()
        self.state = PENDING
        self.failures = 0
        self.error = ""
        #: Whether the engine went silent with calls under way for longer
        #: than L{stall_after}: it gets no new containers until it answers.
        self.stalled = False
        self._hang = HangWatch(self, clock)
        if ICallRecord.providedBy(client):
            client.on_busy = self._calls_started
        self.updated_at = None
        self.docker_id = ""
        self.name = ""
        self.info = {}
        self.version = {}
        self.labels = {}
        self.cpus = 0
        self.memory = 0
        self.containers = {}
        self.images = []
        self.networks = []
        self.volumes = []
        #: Bumped whenever containers, images or specs change, so views built
        #: from this engine (the scheduler's nodes) know when to rebuild.
        self.revision = 0
        #: Bumped when the engine's own specs (name, labels, CPUs...) change.
        self.specs_revision = 0
        self._stopped = False
        self._runs = 0
        self._connecting = None
        self._specs_at = None
        #: The engine's C{/events} stream (L{EventsFollower}).
        self.events_follower = EventsFollower(self, clock, self._listener, self._events_wait)
        #: How the cache is read from the engine (L{CacheReads}).
        self.reads = CacheReads(self, clock, self._guard, self._bump, self._listener)
        self._limiter = limiter or DeferredSemaphore(1)
        self._loop = JitteredLoop(self.refresh, self._next_wait, clock,
                                  name="refresh of engine %s" % (self.address,))

    def __repr__(self):
        return "<Engine %s %s %s>" % (self.name or "?", self.address, self.state)

    # -- identity and resources ---------------------------------------------

    @property
    def docker_id(self):
        """
        The engine's own ID (C{docker info}), C{""} before the first
        connection.
        """
        return self._docker_id

    @docker_id.setter
    def docker_id(self, value):
        self._docker_id = value
        #: C{"<docker info ID>|<address>"}, or C{""} before the first
        #: connection.
        self.id = "%s|%s" % (value, self.address) if value else ""

    @property
    def healthy(self):
        return self.state == HEALTHY

    @property
    def total_cpus(self):
        """
        CPUs the scheduler may reserve: classic Swarm's overcommit, Go's
        truncating division (3 CPUs at C{-0.5} give 2, not 1).
        """
        return apply_overcommit(self.cpus, self.options.overcommit)

    @property
    def total_memory(self):
        """
        Bytes of memory the scheduler may reserve, as L{total_cpus}.
        """
        return apply_overcommit(self.memory, self.options.overcommit)

    @property
    def used_cpus(self):
        """
        CPUs reserved by containers (classic: shares turned back into CPUs).
        """
        if not self.cpus:
            return 0
        return sum(((c.info.get("HostConfig") or {}).get("CpuShares") or 0) * self.cpus // 1024
                   for c in self.containers.values())

    @property
    def used_memory(self):
        return sum(((c.info.get("HostConfig") or {}).get("Memory") or 0)
                   for c in self.containers.values())

    @property
    def health_indicator(self):
        """
        0 (unhealthy or pending) to 100 (last call succeeded), as classic.
        """
        retry = self.options.failure_retry
        if self.state != HEALTHY or self.failures >= retry:
            return 0
        return 100 - self.failures * 100 // retry

    # -- lifecycle ------------------------------------------------------------

    def start(self):
        """
        Connect now and start the refresh loop.

        @return: a L{Deferred} that fires (never fails) once the first
            connection attempt ended.
        """
        self._stopped = False
        self._loop.start(now=False)
        return self.connect()

    def stop(self):
        """
        Stop every loop and stream; the engine leaves the cluster.
        """
        self._stopped = True
        self._loop.stop()
        self._hang.stop()
        self.events_follower.stop()
        self._set_state(DISCONNECTED)

    def _next_wait(self):
        low, high = self.options.refresh_min, self.options.refresh_max
        wait = low + (self._random.random() * (high - low) if high > low else 0.0)
        return wait * (self._backoff_factor() + 1)

    def _events_wait(self):
        """
        Seconds before a broken events stream is reopened: C{events_retry},
        backed off as the refresh loop.
        """
        return self.options.events_retry * (self._backoff_factor() + 1)

    @property
    def stopped(self):
        """
        Whether the engine left the cluster (L{stop}) and was not started
        again.
        """
        return self._stopped

    def events_missed(self):
        """
        Something may have gone unseen (the events stream broke, a call
        failed to connect): the next refresh run lists the engine again.
        """
        self.reads.relist_needed = True

    def _backoff_factor(self):
        return min(max(self.failures - self.options.failure_retry, 0), MAX_BACKOFF_FACTOR)

    def _set_state(self, new):
        old = self.state
        if old == new:
            return
        self.state = new
        self._listener.engine_view_changed(self)
        self._listener.engine_state_changed(self, old, new)
        action = {
            (PENDING, HEALTHY): "engine_connect",
            (HEALTHY, UNHEALTHY): "engine_disconnect",
            # Dropped from discovery (or the manager stops) while connected;
            # an unhealthy engine already said engine_disconnect.
            (HEALTHY, DISCONNECTED): "engine_disconnect",
            (UNHEALTHY, HEALTHY): "engine_reconnect",
        }.get((old, new))
        if action is not None:
            self._emit_swarm_event(action)

    def _emit_swarm_event(self, action):
        now = self._clock.seconds()
        self._listener.engine_event(self, {
            "status": action,
            "from": "swarm",
            "Type": "swarm",
            "Action": action,
            "Actor": {"ID": self.id, "Attributes": {}},
            "scope": "local",
            "time": int(now),
            "timeNano": int(now * 1e9),
        })

    def _bump(self):
        """
        The cached state changed: a new C{revision}, and the listener told.
        """
        self.revision += 1
        self._listener.engine_view_changed(self)

    # -- failure accounting -----------------------------------------------------

    def succeeded(self):
        """
        Record that a call to the engine worked.
        """
        if self.failures:
            self.failures = 0
            self._listener.engine_view_changed(self)
        self.error = ""
        if self.stalled:
            self.stalled = False
            self._log.info("engine {engine} ({address}) answers again",
                           engine=self.name, address=self.address)
            self._listener.engine_view_changed(self)
        if self.state == UNHEALTHY:
            self._log.info("engine {engine} ({address}) is healthy again",
                           engine=self.name, address=self.address)
            self._set_state(HEALTHY)

    def failed(self, error):
        """
        Record that a call to the engine failed.  Only connection failures
        (L{EngineUnreachable}) count towards unhealthiness.

        @param error: the exception.
        """
        self.error = str(error)
        self._listener.engine_failed(self, error)
        if not isinstance(error, EngineUnreachable):
            return
        self.failures += 1
        self.reads.relist_needed = True
        self._listener.engine_view_changed(self)
        if self.state == HEALTHY and self.failures >= self.options.failure_retry:
            self._log.warn("engine {engine} ({address}) unhealthy after {failures} failures: "
                           "{error}", engine=self.name, address=self.address,
                           failures=self.failures, error=self.error)
            self._set_state(UNHEALTHY)

    def track(self, d):
        """
        Let the engine's health follow the outcome of a call made for a
        client: a success heals, a connection failure counts; error answers
        (404, 409...) say nothing about health.

        @return: C{d}, with the outcome unchanged.
        """

        def ok(result):
            self.succeeded()
            return result

        def bad(failure):
            if failure.check(EngineUnreachable):
                self.failed(failure.value)
            return failure

        return d.addCallbacks(ok, bad)

    def _guard(self, d):
        """
        Count the outcome of an engine call made for bookkeeping (error
        answers are recorded as the engine's error too).
        """

        def ok(result):
            self.succeeded()
            return result

        def bad(failure):
            failure.trap(EngineUnreachable, EngineError)
            self.failed(failure.value)
            return failure

        return d.addCallbacks(ok, bad)

    # -- hung engines ---------------------------------------------------------------

    def _calls_started(self):
        self._listener.engine_busy(self)

    def watch(self):
        """
        Look for a hung engine (L{HangWatch.check}): called often (a
        fraction of C{ping_timeout}) by the cluster, for the engines that
        said they were L{busy<EngineListener.engine_busy>}.

        @return: whether the engine is still to be watched: it has calls
            under way, or a ping waiting for an answer.
        """
        hang = self._hang
        if hang.probe is None and not getattr(self.client, "outstanding", None):
            # No call under way, no ping waiting: nothing can hang.
            return False
        hang.check()
        return hang.probe is not None or bool(getattr(self.client, "outstanding", None))

    # -- connecting and refreshing ------------------------------------------------

    def connect(self):
        """
        Validate the engine and load its whole state.

        @return: a L{Deferred} firing with C{True} when the engine is now
            connected, C{False} otherwise; it never fails.
        """
        if self._connecting is not None:
            # One attempt at a time; later callers wait for its outcome.
            waiter: Deferred[Any] = Deferred()
            self._connecting.append(waiter)
            return waiter
        waiters = self._connecting = []

        def done(result):
            self._connecting = None
            for waiter in waiters:
                waiter.callback(result)
            return result

        return self._limiter.run(self._connect).addBoth(done)

    @inlineCallbacks
    def _connect(self):
        try:
            yield self._guard(self.client.version()).addCallback(self._set_version)
            since = yield self.update_specs()
            yield self.reads.refresh_all(full=True)
        except (EngineUnreachable, EngineError) as e:
            self._log.info("engine {address} not connected: {error}", address=self.address,
                           error=str(e))
            return False
        except Exception:
            self._log.failure("connecting engine {address} failed", address=self.address)
            return False
        if self._stopped:
            return False
        self.events_follower.start(since)
        self.updated_at = self._clock.seconds()
        freeze_cache(len(self.containers))
        self._log.info("engine {engine} ({address}) connected: {containers} containers",
                       engine=self.name, address=self.address, containers=len(self.containers))
        self._set_state(HEALTHY)
        return True

    def _set_version(self, version):
        self.version = version

    @inlineCallbacks
    def update_specs(self):
        info = yield self._guard(self.client.info())
        if not isinstance(info, dict) or not info.get("ID"):
            raise EngineError(502, "engine %s sent no ID in its info" % (self.address,))
        self._specs_at = self._clock.seconds()
        since = time_to_since(info.get("SystemTime"))
        kept = {field: info[field] for field in SPEC_FIELDS if field in info}
        if kept == self.info:
            return since
        self.info = info = kept
        if self.docker_id and info["ID"] != self.docker_id:
            self._log.warn("engine {address} changed its ID from {old} to {new}",
                           address=self.address, old=self.docker_id, new=info["ID"])
        self.docker_id = info["ID"]
        self.name = info.get("Name") or ""
        self.cpus = int(info.get("NCPU") or 0)
        self.memory = int(info.get("MemTotal") or 0)
        labels = {}
        for key, field in (("storagedriver", "Driver"), ("kernelversion", "KernelVersion"),
                           ("operatingsystem", "OperatingSystem"), ("ostype", "OSType")):
            if info.get(field):
                labels[key] = info[field]
        for label in info.get("Labels") or []:
            key, sep, value = label.partition("=")
            if sep:
                labels[key] = value
        self.labels = labels
        self._bump()
        self.specs_revision += 1
        return since

    def refresh(self):
        """
        One run of the refresh loop.

        @return: a L{Deferred} firing when done; it never fails.
        """
        if self._stopped:
            return None
        if self.state == PENDING:
            return self.connect()
        return self._limiter.run(self._refresh)

    @inlineCallbacks
    def _refresh(self):
        started = self._clock.seconds()
        ok = False
        try:
            stale = (self._specs_at is None
                     or self._clock.seconds() - self._specs_at > SPEC_UPDATE_INTERVAL)
            asked = not self.healthy or stale
            if asked:
                yield self.update_specs()
            self.events_follower.open()
            self._runs += 1
            if self.events_follower.flowing and self.options.relist_interval:
                if self._relist_due():
                    yield self.reads.refresh_all(full=False)
                elif not asked:
                    # Events keep the cache current: the run only proves
                    # the engine alive (a hung one is then found by
                    # watch(), a dead one counts a failure).
                    yield self._guard(self.client.ping())
            elif self.events_follower.flowing and self._runs % LISTS_EVERY:
                # Events keep images, networks and volumes fresh; the loop
                # re-reads them only now and then, as a safety net.
                yield self.refresh_containers(full=False)
            else:
                yield self.reads.refresh_all(full=False)
            self.updated_at = self._clock.seconds()
            ok = True
        except (EngineUnreachable, EngineError) as e:
            self._log.debug("refresh of engine {address} failed: {error}",
                            address=self.address, error=str(e))
        self._listener.engine_refreshed(self, self._clock.seconds() - started, ok)

    def _relist_due(self):
        """
        Whether a refresh run with the events stream open should list the
        engine again: something may have gone unseen since the last list
        (the stream was reopened, a call failed to connect) or it is
        L{EngineOptions.relist_interval} old.
        """
        listed_at = self.reads.listed_at
        return (self.reads.relist_needed or listed_at is None
                or self._clock.seconds() - listed_at >= self.options.relist_interval)

    def refresh_list(self, kind):
        """
        Re-read C{images}, C{networks} or C{volumes}
        (L{CacheReads.refresh_list}).

        @return: a L{Deferred} firing with L{None} once the list is fresh.
        """
        return self.reads.refresh_list(kind)

    def refresh_containers(self, full=False):
        """
        List the engine's containers and read what changed
        (L{CacheReads.refresh_containers}).
        """
        return self.reads.refresh_containers(full)

    def refresh_container(self, container_id):
        """
        Inspect one container into the cache (L{CacheReads.refresh_container}).

        @return: a L{Deferred} firing with the cached L{Container}, or
            L{None} when the container is gone.
        """
        return self.reads.refresh_container(container_id)

    def is_fresh(self, container_id):
        """
        Whether the cached inspect of a container can be served as is: the
        engine is healthy, its events stream is open (no change can go
        unseen), and no refresh of that container is under way (an event
        announced a change whose inspect has not come back yet).
        """
        return (self.state == HEALTHY and self.events_follower.flowing
                and not self.reads.refreshing(container_id))

    def forget_container(self, container_id):
        """
        Drop a container from the cache now (after a successful remove).
        """
        self.reads.drop(container_id)

    # -- creating ---------------------------------------------------------------------

    @inlineCallbacks
    def create_container(self, body, name=None, auth=None, pull=True):
        """
        Create a container here, pulling its image first when this engine
        does not have it (and C{pull}).  Calls count toward health as
        L{api}'s do.

        @param body: the create request as the engine takes it.
        @param auth: the client's C{X-Registry-Auth} header, or L{None}.
        @return: a L{Deferred} firing with the engine's create answer.
        @raise CreateOutcomeUnknown: a create got no answer but may have
            reached the engine.
        @raise EngineError: the engine's refusal; a missing image whose pull
            failed is a 404 saying why.
        """
        try:
            answer = yield self._create(body, name, auth)
        except EngineError as e:
            if not pull or not is_missing_image(e):
                raise
            image = body.get("Image") or ""
            self._log.info("pulling {image} on {engine}", image=image, engine=self.name)
            try:
                yield self.api.pull_image(image, auth)
            except EngineError as failed:
                # Still a missing image: the cluster may place the container
                # next to the image instead.
                raise EngineError(404, "No such image: %s (pull on %s failed: %s)" % (
                    image, self.name, failed.message)) from None
            self.refresh_list("images")
            answer = yield self._create(body, name, auth)
        return answer

    def _create(self, body, name, auth):
        def unknown(failure):
            failure.trap(EngineUnreachable)
            if failure.value.outcome_unknown:
                raise CreateOutcomeUnknown(failure.value, self.name, name)
            return failure

        return self.api.create_container(body, name, auth).addErrback(unknown)
