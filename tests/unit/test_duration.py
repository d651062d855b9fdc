"""
Tests for L{swarmd._duration}.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from swarmd._duration import format_duration, parse_duration

PARSED = [
    ("30s", 30.0),
    ("1m30s", 90.0),
    ("500ms", 0.5),
    ("1h", 3600.0),
    ("1.5h", 5400.0),
    ("2h45m", 9900.0),
    ("1h2m3s4ms", 3723.004),
    ("250us", 0.00025),
    ("250\u00b5s", 0.00025),
    ("250\u03bcs", 0.00025),
    ("10ns", 1e-8),
    (".5s", 0.5),
    ("1.s", 1.0),
    ("0", 0.0),
    ("0s", 0.0),
    ("-30s", -30.0),
    ("+5m", 300.0),
    ("30", 30.0),
    ("7", 7.0),
    ("-3", -3.0),
    ("1.5", 1.5),
]

REFUSED = [
    ("", "invalid duration"),
    ("asdf", "invalid duration"),
    ("-", "invalid duration"),
    ("s", "invalid duration"),
    ("1x", "unknown unit 'x'"),
    ("1d", "unknown unit 'd'"),
    ("1e3s", "unknown unit 'e'"),
    ("1h30", "missing unit"),
    ("1..5s", "missing unit"),
    (" 30s", "invalid duration"),
    ("30s ", "unknown unit"),
]

FORMATTED = [
    (0, "0s"),
    (30, "30s"),
    (60, "1m0s"),
    (90, "1m30s"),
    (3600, "1h0m0s"),
    (3723.5, "1h2m3.5s"),
    (1.5, "1.5s"),
    (0.5, "500ms"),
    (0.0015, "1.5ms"),
    (0.00025, "250\u00b5s"),
    (1e-8, "10ns"),
    (-90, "-1m30s"),
]


class ParseDurationTests(SynchronousTestCase):
    """
    Tests for L{parse_duration}.
    """

    def test_accepted(self):
        """
        Go-style durations and bare numbers of seconds read as seconds.
        """
        for text, seconds in PARSED:
            self.assertAlmostEqual(parse_duration(text), seconds, places=12, msg=text)

    def test_refused(self):
        """
        Anything else raises ValueError naming the text and the problem.
        """
        for text, reason in REFUSED:
            with self.assertRaises(ValueError, msg=text) as caught:
                parse_duration(text)
            message = str(caught.exception)
            self.assertIn(reason, message, text)
            self.assertIn(repr(text), message, text)

    def test_not_a_string(self):
        """
        A non-string is refused with ValueError, not TypeError.
        """
        self.assertRaises(ValueError, parse_duration, None)


class FormatDurationTests(SynchronousTestCase):
    """
    Tests for L{format_duration}.
    """

    def test_formatted(self):
        """
        Durations are written as Go's time.Duration.String writes them.
        """
        for seconds, text in FORMATTED:
            self.assertEqual(format_duration(seconds), text, seconds)

    @given(st.integers(min_value=-(2**63 - 1), max_value=2**63 - 1))
    def test_round_trip(self, nanos):
        """
        parse_duration reads back what format_duration writes, over Go's
        whole int64-nanosecond range, to the float's precision.
        """
        seconds = nanos / 1_000_000_000
        self.assertEqual(parse_duration(format_duration(seconds)), seconds)

    def test_exact_sum(self):
        """
        Parts are summed in whole nanoseconds, as Go does.
        """
        self.assertEqual(parse_duration("2562047h47m16.854775807s"), (2**63 - 1) / 1e9)
        self.assertEqual(parse_duration("1.0000000009s"), 1.0)
        self.assertEqual(format_duration(parse_duration("1h0m0.000001s")), "1h0m0.000001s")
