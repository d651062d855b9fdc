"""
Tests for L{swarmd.api._list_answer.KeptList}: the unfiltered container list
kept between calls.
"""

import json
import random

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api import _list_answer
from swarmd.api._list_answer import DueMoments, KeptList, join_entries
from swarmd.cluster.containers import Container
from tests.unit.test_cluster_containers import NOW, _ListedEngine, info

#: Started 5 s before NOW: its text moves every second.
_SECONDS = "2026-11-28T09:59:55.000Z"
#: Started three hours before NOW: its text moves at half hours.
_HOURS = "2026-11-28T07:10:00.750Z"


def _container(engine, number):
    """
    Container C{number}: up for seconds, up for hours, or created (a text
    no time moves), by its number modulo 3.
    """
    data = info("%064x" % number, "c%d" % number)
    if number % 3 == 2:
        data["State"] = {"Status": "created", "Running": False, "ExitCode": 0,
                         "StartedAt": "0001-01-01T00:00:00Z",
                         "FinishedAt": "0001-01-01T00:00:00Z"}
    else:
        data["State"] = dict(data["State"], StartedAt=[_SECONDS, _HOURS][number % 3])
    return Container(engine, data)


def naive(ordered, now):
    """
    The list answer of C{ordered} at C{now}, each entry encoded afresh.
    """
    fresh = [Container(c.engine, c.info).listing_parts(now) for c in ordered]
    return join_entries(fresh)


class KeptListTests(SynchronousTestCase):

    def setUp(self):
        self.engines = [_ListedEngine("n1"), _ListedEngine("n2")]
        self.ordered = [_container(self.engines[i % 2], i) for i in range(12)]
        self.kept = KeptList()
        # Which containers' status clocks each call works out again.
        self.worked = []
        real = _list_answer.clock_tail

        def counted(clock, now):
            self.worked.append(clock)
            return real(clock, now)

        self.patch(_list_answer, "clock_tail", counted)

    def test_same_answer_while_nothing_changes(self):
        """Between two calls where nothing is due, the answer is the same object."""
        first = self.kept.answer(self.ordered, NOW + 0.1)
        self.assertEqual(json.loads(first)[0]["Names"], ["/n1/c0"])
        self.assertIs(self.kept.answer(self.ordered, NOW + 0.6), first)
        self.assertEqual(self.worked, [])

    def test_due_entries_encoded_again(self):
        """Only the entries whose status may have moved are worked out again."""
        self.kept.answer(self.ordered, NOW + 0.1)
        answer = self.kept.answer(self.ordered, NOW + 1.3)
        moved = [c.name for c in self.ordered if c.status_clock() in self.worked]
        self.assertEqual(moved, [c.name for c in self.ordered if int(c.name[1:]) % 3 == 0])
        self.assertEqual(len(self.worked), len(moved))
        self.assertEqual(answer, naive(self.ordered, NOW + 1.3))
        self.assertEqual(json.loads(answer)[0]["Status"], "Up 6 seconds")

    def test_engine_change(self):
        """An engine that went down has its containers shown as Host Down."""
        self.kept.answer(self.ordered, NOW)
        self.engines[1].healthy = False
        answer = json.loads(self.kept.answer(self.ordered, NOW + 1))
        self.assertEqual({e["Status"] for e in answer if e["Names"][0].startswith("/n2/")},
                         {"Host Down"})
        self.engines[1].healthy = True
        self.engines[0].specs_revision += 1
        self.engines[0].name = "renamed"
        self.assertEqual(self.kept.answer(self.ordered, NOW + 2), naive(self.ordered, NOW + 2))
        self.assertIn(b'"/renamed/c0"', self.kept.answer(self.ordered, NOW + 2))

    def test_new_order_makes_the_list_again(self):
        """A new index order (a container added, removed or changed) is listed whole."""
        self.kept.answer(self.ordered, NOW)
        ordered = [_container(self.engines[0], 99)] + self.ordered[1:]
        answer = self.kept.answer(ordered, NOW)
        self.assertEqual([e["Names"][0] for e in json.loads(answer)][:2], ["/n1/c99", "/n2/c1"])
        self.assertEqual(answer, naive(ordered, NOW))

    def test_empty(self):
        """No container: an empty list."""
        self.assertEqual(self.kept.answer([], NOW), b"[]\n")

    def test_same_as_listing_everything(self):
        """
        Over random times, health flips, renames and new orders, the kept
        answer is always what listing every container afresh answers.
        """
        rng = random.Random(3)
        now = NOW
        ordered = self.ordered
        for _ in range(400):
            now += rng.choice([0.0, 0.3, 1.0, 7.0, 31.0, 900.0])
            roll = rng.random()
            if roll < 0.1:
                engine = rng.choice(self.engines)
                engine.healthy = not engine.healthy
            elif roll < 0.13:
                engine = rng.choice(self.engines)
                engine.name += "x"
                engine.specs_revision += 1
            elif roll < 0.18:
                ordered = ordered[:]
                rng.shuffle(ordered)
            self.assertEqual(self.kept.answer(ordered, now), naive(ordered, now))
            # Superseded filings never pile up past twice the entries (and some).
            self.assertLessEqual(len(self.kept._due), 2 * len(ordered) + 64)

    def test_flapping_engine(self):
        """
        An engine flipping health many times between two due moments
        leaves at most twice as many heap items as entries, and the
        answer right.
        """
        self.kept.answer(self.ordered, NOW)
        for i in range(50):
            self.engines[0].healthy = not self.engines[0].healthy
            self.kept.answer(self.ordered, NOW + i * 0.01)
            self.assertLessEqual(len(self.kept._due), 2 * len(self.ordered) + 64)
        self.assertEqual(self.kept.answer(self.ordered, NOW + 70.0),
                         naive(self.ordered, NOW + 70.0))


class JoinTests(SynchronousTestCase):

    def test_join(self):
        """Entries' heads and tails joined into a JSON list; none: an empty list."""
        self.assertEqual(join_entries([]), b"[]\n")
        self.assertEqual(join_entries([(b'{"a":1', b"}")]), b'[{"a":1}]\n')
        self.assertEqual(json.loads(join_entries([(b'{"a":1', b"}"), (b'{"b":2', b"}")])),
                         [{"a": 1}, {"b": 2}])


class DueMomentsTests(SynchronousTestCase):

    def test_due_once_in_order_of_time(self):
        """
        A position is taken out once its moment has come, once, even in a
        bucket not yet wholly due; the others stay.
        """
        inf = float("inf")
        moments = DueMoments([10.1, 10.2, inf, 10.9, 12.0])
        self.assertEqual(moments.due(10.0), [])
        self.assertEqual(sorted(moments.due(10.15)), [0])
        self.assertEqual(sorted(moments.due(10.15)), [])
        self.assertEqual(sorted(moments.due(11.0)), [1, 3])
        self.assertEqual(moments.at[1], inf)
        moments.set(1, 11.5)
        moments.set(3, 30.0)
        moments.set(3, 11.2)  # the filing at 30.0 is superseded
        self.assertEqual(sorted(moments.due(12.0)), [1, 3, 4])
        self.assertEqual(moments.due(31.0), [])

    def test_same_as_scanning(self):
        """
        Over random filings and times, the positions taken out are those a
        scan of every moment finds due, and the filings kept stay bounded.
        """
        rng = random.Random(5)
        count = 40
        model = [rng.uniform(0, 20) for _ in range(count)]
        moments = DueMoments(model)
        now = 0.0
        for _ in range(500):
            now += rng.choice([0.0, 0.01, 0.1, 0.3, 2.0])
            expected = sorted(p for p in range(count) if model[p] <= now)
            self.assertEqual(sorted(moments.due(now)), expected)
            for position in expected:
                model[position] = float("inf")
            for position in rng.sample(range(count), 5):
                moment = now + rng.choice([0.05, 0.2, 1.0, 7.0, float("inf")])
                model[position] = moment
                moments.set(position, moment)
            self.assertEqual(list(moments.at), model)
            self.assertLessEqual(len(moments), 2 * count + 64)
