"""
The whole container list (C{GET /containers/json?all=1}, no filter) kept
between calls and brought up to date by what changed, not by a look at
every container.

Each entry is a head (everything but its C{Status}) and a tail (the
C{Status} and the closing brace: one shared object per text), from
L{swarmd.cluster.containers.Container.listing_parts}.  The list keeps the
answer's pieces in the index's order, each entry's status clock and the
moment its text may next change (L{DueMoments}), and each engine's health
and specs as it last saw them: a call works out again the tails whose
moment passed and encodes again the entries of the engines that changed,
then joins the pieces once.  Anything else about a container (its state,
its name) comes with a new index order, which makes the list again.

At 30,000 containers a call used to check every container's kept entry
(29 % of the call in a profile) and compare 30,000 entries with the last
answer's; then, when the statuses of containers started together rolled
over together, to copy every entry that moved (~140 ms for 30,000 against
~40 ms as tails).
"""

import heapq
from array import array

from swarmd.cluster.containers import clock_tail

_NEVER = float("inf")


def join_entries(parts):
    """
    @param parts: encoded list entries, each a C{(head, tail)} pair of
        C{bytes} (L{swarmd.cluster.containers.Container.listing_parts}).
    @return: the list answer, joined in one copy.
    """
    return b"".join(_pieces(parts))


def _pieces(parts):
    """
    The pieces of a list answer: C{[}, then each entry's head, tail and a
    comma (the last one's a closing C{]} and newline).
    """
    if not parts:
        return [b"[]\n"]
    pieces = [b","] * (3 * len(parts) + 1)
    pieces[0] = b"["
    pieces[1::3] = [head for head, _ in parts]
    pieces[2::3] = [tail for _, tail in parts]
    pieces[-1] = b"]\n"
    return pieces


class DueMoments:
    """
    When each entry of a list is due to be worked out again, by position:
    a calendar of buckets a quarter of a second wide, so that filing and
    taking out an entry is a list append, not a heap's log-time shuffle
    of tuples (the heap was a fifth of the cost of 30,000 statuses rolling
    over together).

    @ivar at: each position's moment (C{array("d")}; infinity for never).
    """

    #: Buckets a second.
    RESOLUTION = 4

    def __init__(self, moments):
        """
        @param moments: each position's first moment (infinity for never).
        """
        self.at = array("d", moments)
        self._buckets: dict[int, list[int]] = {}
        self._keys: list[int] = []
        self._filed = 0
        self._file_all()

    def _file_all(self):
        self._buckets.clear()
        self._keys.clear()
        self._filed = 0
        for position, moment in enumerate(self.at):
            if moment != _NEVER:
                self._file(position, moment)

    def __len__(self):
        """
        How many filings are kept, superseded ones included.
        """
        return self._filed

    def set(self, position, moment):
        """
        Note C{position}'s next moment; an earlier filing of it is
        superseded (dropped when its bucket is due).
        """
        self.at[position] = moment
        if moment == _NEVER:
            return
        self._file(position, moment)
        if self._filed > 2 * len(self.at) + 64:
            # Superseded filings leave when due; flapping engines could
            # pile them up before that.
            self._file_all()

    def _file(self, position, moment):
        key = int(moment * self.RESOLUTION)
        bucket = self._buckets.get(key)
        if bucket is None:
            self._buckets[key] = [position]
            heapq.heappush(self._keys, key)
        else:
            bucket.append(position)
        self._filed += 1

    def due(self, now):
        """
        Take out the positions whose moment is C{now} or before, each once:
        their moment is then infinity until L{set} again.
        """
        at, buckets, keys = self.at, self._buckets, self._keys
        limit = now * self.RESOLUTION
        taken = []
        while keys and keys[0] <= limit:
            key = keys[0]
            bucket = buckets[key]
            if key + 1 <= limit:
                # Every moment in it is before now.
                heapq.heappop(keys)
                del buckets[key]
                self._filed -= len(bucket)
                candidates = bucket
            else:
                candidates = [position for position in bucket if at[position] <= now]
                if not candidates:
                    break
                bucket[:] = [position for position in bucket if at[position] > now]
                self._filed -= len(candidates)
                if not bucket:
                    heapq.heappop(keys)
                    del buckets[key]
            for position in candidates:
                if at[position] <= now:  # not superseded by a later filing
                    at[position] = _NEVER
                    taken.append(position)
        return taken


class KeptList:
    """
    The unfiltered container list of one manager, kept between calls.
    """

    def __init__(self):
        self._ordered = None
        # The answer's pieces (L{_pieces}): entry i's head and tail are at
        # 3i + 1 and 3i + 2.
        self._pieces: list[bytes] = [b"[]\n"]
        # Each entry's status clock (L{swarmd.cluster.containers.status_clock}).
        self._clocks: list[tuple] = []
        self._due = DueMoments(())
        self._engines: dict = {}
        self._body = b"[]\n"

    def answer(self, ordered, now):
        """
        @param ordered: the index's containers, newest first: the same
            C{list} object as long as no container changed.
        @param now: the clock's time.
        @return: the encoded list answer.
        """
        if ordered is not self._ordered:
            self._make(ordered, now)
            return self._body
        changed = self._engines_changed(ordered, now)
        changed = self._retail(now) or changed
        if changed:
            self._body = b"".join(self._pieces)
        return self._body

    def _retail(self, now):
        """
        Work out again the status of the entries whose moment has come.
        Their engines are healthy and their specs as last seen (an engine
        that changed had its entries encoded again, which moved their
        moments), so only the entries' tails may move: this loop is the
        whole cost of 30,000 statuses rolling over together.

        @return: whether an entry changed.
        """
        changed = False
        due, clocks, pieces = self._due, self._clocks, self._pieces
        for position in due.due(now):
            tail, until = clock_tail(clocks[position], now)
            due.set(position, until)
            at = 3 * position + 2
            if pieces[at] is not tail:
                pieces[at] = tail
                changed = True
        return changed

    def _make(self, ordered, now):
        parts = [container.listing_parts(now) for container in ordered]
        self._clocks = [container.status_clock() for container in ordered]
        self._due = DueMoments([container.listing_until() for container in ordered])
        engines: dict = {}
        for position, container in enumerate(ordered):
            engine = container.engine
            seen = engines.get(engine)
            if seen is None:
                seen = engines[engine] = [engine.healthy, engine.specs_revision, []]
            seen[2].append(position)
        self._ordered, self._engines = ordered, engines
        self._pieces = _pieces(parts)
        self._body = b"".join(self._pieces)

    def _encode(self, ordered, position, now):
        """
        Encode the entry at C{position} again, and note when it is next due.

        @return: whether the entry changed.
        """
        container = ordered[position]
        head, tail = container.listing_parts(now)
        until = container.listing_until()
        if until != self._due.at[position]:
            self._due.set(position, until)
        pieces = self._pieces
        at = 3 * position + 1
        if head is pieces[at] and tail is pieces[at + 1]:
            return False
        pieces[at] = head
        pieces[at + 1] = tail
        return True

    def _engines_changed(self, ordered, now):
        """
        Encode again the entries of the engines whose health or specs
        changed since the last call.

        @return: whether an entry changed.
        """
        changed = False
        for engine, seen in self._engines.items():
            healthy, specs = engine.healthy, engine.specs_revision
            if seen[0] is healthy and seen[1] == specs:
                continue
            seen[0], seen[1] = healthy, specs
            for position in seen[2]:
                changed = self._encode(ordered, position, now) or changed
        return changed
