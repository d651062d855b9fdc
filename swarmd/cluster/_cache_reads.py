"""
Reading one engine's containers, images, networks and volumes into its
cache: lists folded when asked for again while under way, inspects
pipelined in batches when the client can, and answers numbered so the
cache never goes back in time.
"""

import collections
import gc
from typing import Any

from twisted.internet.defer import Deferred, DeferredList, DeferredSemaphore, inlineCallbacks

from swarmd.cluster.containers import Container
from swarmd.engine import EngineError, EngineUnreachable, IBatchEngineClient

#: Inspect calls one engine refresh runs at once.
INSPECT_CONCURRENCY = 8

#: Containers inspected with one pipelined call when a refresh finds many
#: new or changed ones.
INSPECT_BATCH = 50


#: Containers read by first connections between two gc.freeze() calls.
FREEZE_AFTER = 5000

_read_since_freeze = [0]


def freeze_cache(containers):
    """
    Engines' first reads fill the cache with objects that live as long as
    their engine: once C{FREEZE_AFTER} containers were read, move every
    object alive into the collector's permanent generation, so collections
    stop scanning them (while 1,000 engines connect, collections over the
    growing cache took a third of the manager's CPU).  A collection first,
    so no cyclic garbage is frozen with them: it scans only what is not
    frozen yet.  A small cluster (and a test run) never gets there.
    """
    _read_since_freeze[0] += containers
    if _read_since_freeze[0] >= FREEZE_AFTER:
        _read_since_freeze[0] = 0
        gc.collect()
        gc.freeze()


class CacheReads:
    """
    The reads that fill the cache of one L{swarmd.cluster.engine.Engine},
    which owns it.

    @ivar listed_at: when the last full list of the containers was sent
        (clock seconds), or L{None}.
    @ivar relist_needed: whether something may have been missed since (a
        broken events stream, a connection failure, a failed list).
    """

    def __init__(self, engine, clock, guard, bump, listener):
        """
        @param guard: the engine's accounting of a bookkeeping call: takes
            and returns its L{Deferred}.
        @param bump: called when the cached state changed.
        @param listener: the engine's L{EngineListener}, told of every
            cached container that changes.
        """
        self._engine = engine
        self._clock = clock
        self._guard = guard
        self._bump = bump
        self._listener = listener
        self.listed_at = None
        self.relist_needed = True
        self._refreshing: collections.Counter[Any] = collections.Counter()
        self._sent = {}
        self._applied = {}
        self._lists_busy = {}
        self._inspect_limit = DeferredSemaphore(INSPECT_CONCURRENCY)

    def refreshing(self, container_id):
        """
        Whether an inspect of C{container_id} is under way.
        """
        return container_id in self._refreshing

    @inlineCallbacks
    def refresh_all(self, full):
        """
        Read the containers (every one inspected when C{full}), then the
        images, networks and volumes.
        """
        yield self.refresh_containers(full=full)
        kinds = ("images", "networks", "volumes")
        batch = IBatchEngineClient.providedBy(self._engine.client)
        if batch and not any(k in self._lists_busy for k in kinds):
            # One pipelined connection for the three lists (closed after:
            # at 5,000 engines pooled connections would be 15,000 files).
            yield self._refresh_lists(kinds)
            return
        yield DeferredList([self.refresh_list(kind) for kind in kinds], consumeErrors=True)

    @inlineCallbacks
    def _refresh_lists(self, kinds):
        for kind in kinds:
            self._lists_busy[kind] = {}
        try:
            paths = [self._PATHS[k] for k in kinds]
            answers = yield self._guard(self._engine.client.get_many(paths))
        except (EngineUnreachable, EngineError):
            answers = None
        finally:
            waiting = [(kind, self._lists_busy.pop(kind).get("again")) for kind in kinds]
        if answers is not None:
            for kind, answer in zip(kinds, answers, strict=True):
                if isinstance(answer, EngineError):
                    self._engine.failed(answer)
                    continue
                if kind == "volumes":
                    answer = (answer or {}).get("Volumes") or []
                setattr(self._engine, kind, answer or [])
            self._bump()
        for kind, again in waiting:
            if again:
                follow = self.refresh_list(kind)
                for waiter in again:
                    follow.addBoth(lambda r, w=waiter: (w.callback(None), r)[1])

    _PATHS = {
        "images": "/images/json",
        "networks": "/networks",
        "volumes": "/volumes",
    }

    _LISTS = {
        "images": "list_images",
        "networks": "list_networks",
        "volumes": "list_volumes",
    }

    def refresh_list(self, kind):
        """
        Re-read C{images}, C{networks} or C{volumes}.  Calls made while one is
        running are folded into one more run after it.

        @return: a L{Deferred} firing with L{None} once the list is fresh.
        """
        busy = self._lists_busy.get(kind)
        if busy is not None:
            waiters = busy.setdefault("again", [])
            d: Deferred[Any] = Deferred()
            waiters.append(d)
            return d
        self._lists_busy[kind] = {}

        def got(items):
            setattr(self._engine, kind, items or [])
            self._bump()

        def done(result):
            state = self._lists_busy.pop(kind)
            again = state.get("again")
            if again:
                follow = self.refresh_list(kind)
                for waiter in again:
                    follow.addBoth(lambda r, w=waiter: (w.callback(None), r)[1])
            return result

        d = self._guard(getattr(self._engine.client, self._LISTS[kind])())
        d.addCallback(got)
        d.addBoth(done)
        return d

    @inlineCallbacks
    def refresh_containers(self, full=False):
        """
        List the engine's containers; inspect new or changed ones (all when
        C{full}); drop the ones that are gone.
        """
        snapshot = dict(self._engine.containers)
        # What happens after the list is sent is in the list or in the
        # events; a failure or a broken stream from now on asks again.
        self.relist_needed = False
        sent = self._clock.seconds()
        try:
            summaries = yield self._guard(self._engine.client.list_containers(all=True))
        except BaseException:
            self.relist_needed = True
            raise
        self.listed_at = sent
        seen = set()
        wanted = []
        for summary in summaries or []:
            cid = summary.get("Id")
            if not cid:
                continue
            seen.add(cid)
            current = self._engine.containers.get(cid)
            if full or current is None or self._differs(current, summary):
                wanted.append(cid)
        for cid in list(self._engine.containers):
            # Only what was cached before the list was asked for, unchanged
            # since, can be judged by it.
            if cid not in seen and self._engine.containers.get(cid) is snapshot.get(cid, False):
                self.drop(cid)
        if len(wanted) > 1 and IBatchEngineClient.providedBy(self._engine.client):
            # Pipelined on one connection per batch: a first read of an
            # engine is then one round trip, not one request per container.
            batches = [wanted[i:i + INSPECT_BATCH] for i in range(0, len(wanted), INSPECT_BATCH)]
            calls = [self._inspect_limit.run(self.refresh_containers_batch, batch)
                     for batch in batches]
        else:
            calls = [self._inspect_limit.run(self.refresh_container, cid) for cid in wanted]
        results = yield DeferredList(calls, consumeErrors=True)
        for ok, result in results:
            if not ok:
                result.raiseException()

    @inlineCallbacks
    def refresh_containers_batch(self, container_ids):
        """
        L{refresh_container} for several containers, inspected with one
        pipelined call (C{client.inspect_containers}); the same ordering
        rules apply to each answer.
        """
        sequences = []
        for cid in container_ids:
            self._sent[cid] = sequence = self._sent.get(cid, 0) + 1
            sequences.append(sequence)
            self._refreshing[cid] += 1
        try:
            answers = yield self._guard(self._engine.client.inspect_containers(container_ids,
                                                                       raw=True))
        finally:
            for cid in container_ids:
                self._refreshing[cid] -= 1
                if not self._refreshing[cid]:
                    del self._refreshing[cid]
        first_error = None
        for cid, sequence, answer in zip(container_ids, sequences, answers, strict=True):
            if isinstance(answer, EngineError):
                if answer.status == 404:
                    if self._newest(cid, sequence):
                        self.drop(cid)
                elif first_error is None:
                    first_error = answer
                continue
            if self._engine.stopped or not self._newest(cid, sequence):
                continue
            self._store(*answer)
        if first_error is not None:
            self._engine.failed(first_error)
            raise first_error

    @staticmethod
    def _differs(container, summary):
        names = summary.get("Names") or []
        return (summary.get("State") != container.status
                or (names and names[0] != "/" + container.name)
                or (summary.get("Labels") or {}) != container.labels)

    @inlineCallbacks
    def refresh_container(self, container_id):
        """
        Inspect one container and update the cache (drop it on 404).

        Refreshes of a container are numbered as they are sent; an answer
        is applied only if no later-sent refresh (nor a destroy event) was
        applied before it, so the cache never goes back in time however the
        answers are ordered.

        @return: a L{Deferred} firing with the cached L{Container} once the
            answer is in (L{None} when the container is gone).
        """
        self._sent[container_id] = sequence = self._sent.get(container_id, 0) + 1
        self._refreshing[container_id] += 1
        try:
            info = yield self._guard(self._engine.client.inspect_container(container_id))
        except EngineError as e:
            if e.status != 404:
                raise
            if self._newest(container_id, sequence):
                self.drop(container_id)
            return None
        finally:
            self._refreshing[container_id] -= 1
            if not self._refreshing[container_id]:
                del self._refreshing[container_id]
        if self._engine.stopped or not self._newest(container_id, sequence):
            return self._engine.containers.get(container_id)
        return self._store(info)

    def _newest(self, container_id, sequence):
        """
        Whether the answer of refresh C{sequence} is newer than what the
        cache holds; if so it becomes the applied one.
        """
        if sequence <= self._applied.get(container_id, 0):
            return False
        self._applied[container_id] = sequence
        return True

    def _store(self, info, raw=None):
        old = self._engine.containers.get(info["Id"])
        new = Container(self._engine, info, raw)
        self._engine.containers[info["Id"]] = new
        self._bump()
        self._listener.container_changed(self._engine, old, new)
        return new

    def drop(self, container_id):
        """
        Drop a container from the cache.
        """
        # Answers to refreshes sent before the drop must not bring it back.
        self._applied[container_id] = self._sent.get(container_id, 0)
        old = self._engine.containers.pop(container_id, None)
        if old is not None:
            self._bump()
            self._listener.container_changed(self._engine, old, None)
