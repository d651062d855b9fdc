"""
Go-style durations, as classic Swarm's flags take them.

C{"30s"}, C{"1m30s"}, C{"500ms"}, C{"1h"}, C{"1.5h"}, C{"-2s"} are read the way
Go's C{time.ParseDuration} reads them.  One extension: a bare number means
seconds (C{"30"} is C{"30s"}), which Go refuses.
"""

from __future__ import annotations

import re
from fractions import Fraction

#: Nanoseconds per unit, every unit Go accepts.
UNITS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"
_BARE = re.compile(r"[-+]?" + _NUMBER)
_PART = re.compile(r"(" + _NUMBER + r")([^\d.]*)")


def parse_duration(text: str) -> float:
    """
    Read a Go-style duration.

    Like Go, the sum is made in whole nanoseconds (finer fractions are
    dropped), so C{"1h0m0.000000001s"} is exact.

    @param text: e.g. C{"1m30s"}; a bare number is a count of seconds.
    @return: the duration in seconds (negative if C{text} starts with C{-}).
    @raise ValueError: with a one-line message naming C{text} when it is not
        a duration.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}")
    if _BARE.fullmatch(text):
        return float(text)
    body = text
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if not body:
        raise ValueError(f"invalid duration {text!r}")
    nanos = 0
    position = 0
    while position < len(body):
        match = _PART.match(body, position)
        if match is None:
            raise ValueError(f"invalid duration {text!r}")
        number, unit = match.groups()
        if not unit:
            raise ValueError(f"missing unit in duration {text!r}")
        if unit not in UNITS:
            raise ValueError(
                f"unknown unit {unit!r} in duration {text!r} (units: ns, us, ms, s, m, h)"
            )
        nanos += int(Fraction(number) * UNITS[unit])
        position = match.end()
    return sign * nanos / 1_000_000_000


def _fraction(whole: int, nanos: int, digits: int) -> str:
    """
    Write C{whole} plus C{nanos} (a fraction with C{digits} digits) the way
    Go does: no trailing zeros, no dot for whole numbers.
    """
    if not nanos:
        return str(whole)
    return f"{whole}." + f"{nanos:0{digits}d}".rstrip("0")


def format_duration(seconds: float) -> str:
    """
    Write a duration the way Go's C{time.Duration.String} does, e.g.
    C{"1m0s"}, C{"1h2m3.5s"}, C{"500ms"}, C{"0s"}.

    @param seconds: the duration in seconds.
    @return: the Go-style text; L{parse_duration} reads it back.
    """
    nanos = round(Fraction(seconds) * 1_000_000_000)
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    nanos = abs(nanos)
    if nanos < 1_000:
        return f"{sign}{nanos}ns"
    if nanos < 1_000_000:
        return sign + _fraction(nanos // 1_000, nanos % 1_000, 3) + "\u00b5s"
    if nanos < 1_000_000_000:
        return sign + _fraction(nanos // 1_000_000, nanos % 1_000_000, 6) + "ms"
    hours, rest = divmod(nanos, 3600 * 1_000_000_000)
    minutes, rest = divmod(rest, 60 * 1_000_000_000)
    text = _fraction(rest // 1_000_000_000, rest % 1_000_000_000, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m" + text
    if hours:
        text = f"{hours}h" + text
    return sign + text
