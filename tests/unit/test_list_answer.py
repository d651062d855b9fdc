"""
Tests for L{swarmd.api._list_answer.KeptList}: the unfiltered container list
kept between calls.
"""

import json
import random

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api._list_answer import KeptList, join_entries


class _Engine:
    def __init__(self, name):
        self.name = name
        self.healthy = True
        self.specs_revision = 1


class _Container:
    """
    A container whose entry is its name, its engine's name and health, and
    a status text that moves every C{period} seconds.
    """

    def __init__(self, name, engine, period):
        self.name = name
        self.engine = engine
        self.period = period
        self.encoded = 0
        self._listing = None

    def status(self, now):
        if not self.engine.healthy:
            return "Host Down", float("inf")
        if self.period is None:
            return "Exited", float("inf")
        step = int(now // self.period)
        return "up %d" % (step,), (step + 1) * self.period

    def listing_until(self):
        return 0.0 if self._listing is None else self._listing[0]

    def listing_bytes(self, now):
        cached = self._listing
        engine = self.engine
        if (cached is not None and now < cached[0] and cached[1] is engine.healthy
                and cached[2] == engine.specs_revision):
            return cached[3]
        status, until = self.status(now)
        self.encoded += 1
        data = json.dumps({"Names": ["/%s/%s" % (engine.name, self.name)],
                           "Status": status}).encode()
        self._listing = (until, engine.healthy, engine.specs_revision, data)
        return data


def naive(ordered, now):
    return join_entries([c.listing_bytes(now) for c in ordered])


class KeptListTests(SynchronousTestCase):

    def setUp(self):
        self.engines = [_Engine("n1"), _Engine("n2")]
        self.ordered = [_Container("c%d" % i, self.engines[i % 2], [10, 60, None][i % 3])
                        for i in range(12)]
        self.kept = KeptList()

    def test_same_answer_while_nothing_changes(self):
        """Between two calls where nothing is due, the answer is the same object."""
        first = self.kept.answer(self.ordered, 1.0)
        self.assertEqual(json.loads(first)[0]["Names"], ["/n1/c0"])
        encoded = sum(c.encoded for c in self.ordered)
        self.assertIs(self.kept.answer(self.ordered, 5.0), first)
        self.assertEqual(sum(c.encoded for c in self.ordered), encoded)

    def test_due_entries_encoded_again(self):
        """Only the entries whose status may have moved are encoded again."""
        self.kept.answer(self.ordered, 1.0)
        before = [c.encoded for c in self.ordered]
        answer = self.kept.answer(self.ordered, 10.5)
        after = [c.encoded for c in self.ordered]
        moved = [c.name for c, b, a in zip(self.ordered, before, after, strict=True) if a > b]
        self.assertEqual(moved, [c.name for c in self.ordered if c.period == 10])
        self.assertEqual(answer, naive(self.ordered, 10.5))

    def test_engine_change(self):
        """An engine that went down has its containers shown as Host Down."""
        self.kept.answer(self.ordered, 1.0)
        self.engines[1].healthy = False
        answer = json.loads(self.kept.answer(self.ordered, 2.0))
        self.assertEqual({e["Status"] for e in answer if e["Names"][0].startswith("/n2/")},
                         {"Host Down"})
        self.engines[1].healthy = True
        self.engines[0].specs_revision += 1
        self.engines[0].name = "renamed"
        self.assertEqual(self.kept.answer(self.ordered, 3.0), naive(self.ordered, 3.0))

    def test_new_order_makes_the_list_again(self):
        """A new index order (a container added, removed or changed) is listed whole."""
        self.kept.answer(self.ordered, 1.0)
        ordered = [_Container("new", self.engines[0], 10)] + self.ordered[1:]
        answer = self.kept.answer(ordered, 1.0)
        self.assertEqual([e["Names"][0] for e in json.loads(answer)][:2], ["/n1/new", "/n2/c1"])
        self.assertEqual(answer, naive(ordered, 1.0))

    def test_empty(self):
        """No container: an empty list."""
        self.assertEqual(self.kept.answer([], 1.0), b"[]\n")

    def test_same_as_listing_everything(self):
        """
        Over random times, health flips and new orders, the kept answer is
        always what listing every container would answer.
        """
        rng = random.Random(3)
        now = 0.0
        ordered = self.ordered
        for _ in range(300):
            now += rng.choice([0.0, 0.3, 1.0, 7.0, 31.0])
            roll = rng.random()
            if roll < 0.1:
                engine = rng.choice(self.engines)
                engine.healthy = not engine.healthy
            elif roll < 0.15:
                ordered = ordered[:]
                rng.shuffle(ordered)
            self.assertEqual(self.kept.answer(ordered, now), naive(ordered, now))
            # Superseded heap items never pile up past twice the entries.
            self.assertLessEqual(len(self.kept._due), 2 * len(ordered))

    def test_flapping_engine(self):
        """
        An engine flipping health many times between two due moments
        leaves at most twice as many heap items as entries, and the
        answer right.
        """
        self.kept.answer(self.ordered, 1.0)
        for i in range(50):
            self.engines[0].healthy = not self.engines[0].healthy
            self.kept.answer(self.ordered, 1.0 + i * 0.01)
            self.assertLessEqual(len(self.kept._due), 2 * len(self.ordered))
        self.assertEqual(self.kept.answer(self.ordered, 70.0), naive(self.ordered, 70.0))
