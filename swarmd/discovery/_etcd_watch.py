"""
The watches of C{etcd://}: v3 reads the prefix once, then follows a watch
stream from the next revision, and after an error resumes from the revision
it last saw (or reads again if etcd compacted it away); v2 reads the
directory, long-polls its next change and reads it again.
"""

from __future__ import annotations

from typing import Any

from twisted.python.failure import Failure

from swarmd.discovery._errors import DiscoveryError
from swarmd.discovery._etcd_client import WatchCompacted
from swarmd.discovery._kv import KVWatch, drop

__all__ = ["V2Watch", "V3Watch", "entries_of"]


class V3Watch(KVWatch):
    """
    Read the prefix, then follow a watch stream from the next revision.
    """

    def __init__(self, discovery, clock, callback, errback):
        # key -> value once the first range has answered.
        self._keys: Any = None
        self._stream = None
        super().__init__(discovery, clock, callback, errback)

    def _begin(self):
        if self._keys is None:
            self._await(self._discovery.client.range_prefix(self._discovery.key_prefix),
                        self._ranged)
        else:
            self._follow()

    def _ranged(self, result):
        kvs, revision = result
        self._keys = {kv.key: kv.value for kv in kvs}
        self._got(self._entries(), revision)
        self._follow()

    def _entries(self):
        return entries_of(self._keys)

    def _follow(self):
        if self.stopped:
            return
        self._await(self._discovery.client.watch(
            self._discovery.key_prefix, self.index + 1, self._events, opened=self._opened),
            self._ended)

    def _opened(self, stream):
        self._stream = stream
        if self.stopped:
            stream.stop()

    def _events(self, events, revision):
        if self.stopped:
            return
        for event in events:
            if event.kind == "DELETE":
                self._keys.pop(event.key, None)
            else:
                self._keys[event.key] = event.value
        if not events:
            # Created (or a progress note): nothing changed yet.  The
            # header's revision says nothing of the events still to come.
            if self.failing:
                self._got(self._entries())
            return
        self._got(self._entries(), max(event.revision for event in events))

    def _ended(self, ignored):
        self._stream = None
        self._failed(Failure(DiscoveryError(
            f"{self._discovery.describe()}: the watch stream ended")))

    def _broke(self, failure):
        self._stream = None
        if failure.check(WatchCompacted):
            self._keys = None
        super()._broke(failure)

    def _halt(self):
        pending, self._pending = self._pending, None
        if self._stream is not None:
            self._stream.stop()
        self._stream = None
        drop(pending)


class V2Watch(KVWatch):
    """
    Read the directory, then long-poll its next change and read again.
    """

    def __init__(self, discovery, clock, callback, errback):
        self._wait_index = None
        super().__init__(discovery, clock, callback, errback)

    def _begin(self):
        if self._wait_index is None:
            self._await(self._discovery.client.list(self._discovery.key_prefix), self._listed)
        else:
            self._await(self._discovery.client.wait(self._discovery.key_prefix,
                                                    self._wait_index), self._changed)

    def _listed(self, result):
        values, index = result
        self._wait_index = index + 1
        self._got(entries_of(values), index)
        if not self.stopped:
            self._begin()

    def _changed(self, index):
        # Read the whole directory again: a change may be an expiry of a
        # directory, and reading is cheap.
        self._wait_index = None
        self._begin()

    def _broke(self, failure):
        if failure.check(WatchCompacted):
            self._wait_index = None
        super()._broke(failure)


def entries_of(values):
    """
    The engines of a read.

    @param values: key -> address.
    @return: the addresses in order (the order of their keys, as a key is
        the prefix and the address), each once.
    """
    return sorted({value for value in values.values() if value})
