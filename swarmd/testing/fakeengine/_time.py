"""
Docker's ways of writing times, for the fake engine: RFC 3339 with
nanoseconds, the zero time, C{docker ps}' human durations, and the
C{since}/C{until} timestamps of the API.
"""

import calendar
import re
import time

from swarmd.testing.fakeengine._errors import server_error

#: Go's zero C{time.Time}, as dockerd writes it.
ZERO_TIME = "0001-01-01T00:00:00Z"

NANO = 1000000000


def rfc3339(ns, fixed=False):
    """
    Format a time as Go does.

    @param ns: nanoseconds since the epoch, or L{None} for the zero time.
    @param fixed: always nine fraction digits (log timestamps) instead of
        Go's C{RFC3339Nano} with trailing zeros dropped (inspect).
    """
    if ns is None:
        return ZERO_TIME
    seconds, fraction = divmod(int(ns), NANO)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if fixed:
        return "%s.%09dZ" % (base, fraction)
    if fraction:
        return "%s.%sZ" % (base, ("%09d" % (fraction,)).rstrip("0"))
    return base + "Z"


def human_duration(seconds):
    """
    Go's C{units.HumanDuration}, as in C{Up 5 seconds} or C{Exited (0) About
    a minute ago}.
    """
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return "%d seconds" % (whole,)
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % (minutes,)
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % (hours,)
    if hours < 24 * 7 * 2:
        return "%d days" % (hours // 24,)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours // 24 // 7,)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours // 24 // 30,)
    return "%d years" % (int(seconds / 3600) // 24 // 365,)


def parse_timestamp(text):
    """
    Parse an API timestamp (C{since}, C{until}): C{"1700000000"} or
    C{"1700000000.000000001"}.

    @return: nanoseconds since the epoch, or L{None} for an empty value.
    @raise FakeAPIError: 500 with Go's C{strconv} message, as dockerd.
    """
    if text is None or text == "":
        return None
    seconds, dot, fraction = text.partition(".")
    try:
        whole = int(seconds)
    except ValueError:
        raise server_error('strconv.ParseInt: parsing "%s": invalid syntax' % (seconds,)) from None
    nanos = 0
    if dot:
        digits = (fraction + "000000000")[:9]
        try:
            nanos = int(digits)
        except ValueError:
            raise server_error('strconv.ParseInt: parsing "%s": invalid syntax'
                               % (fraction,)) from None
    return whole * NANO + nanos


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_until(text, now):
    """
    Parse the C{until} filter of a prune as dockerd does: a Go duration
    (C{10m}, C{1h30m}: that long before C{now}), a Unix timestamp, or an
    RFC 3339 date.

    @param now: the engine's time, seconds since the epoch.
    @return: the time, seconds since the epoch.
    @raise FakeAPIError: 500 with dockerd's message.
    """
    value = text.strip()
    if value and _GO_DURATION.sub("", value) == "" and _GO_DURATION.match(value):
        seconds = sum(float(n) * _GO_UNITS[u] for n, u in _GO_DURATION.findall(value))
        return now - seconds
    if re.match(r"^-?\d+(\.\d+)?$", value):
        return float(value)
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            return float(calendar.timegm(time.strptime(value, layout)))
        except ValueError:
            continue
    raise server_error('failed to parse value as time or duration: "%s"' % (text,))


def parse_rfc3339(text):
    """
    Parse a time as Go writes it (C{2026-11-28T13:00:56.180802541Z}).

    @return: nanoseconds since the epoch, or L{None} if it is no such time.
    """
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$",
                     text or "")
    if match is None:
        return None
    seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    zone = match.group(3)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return seconds * NANO + int((match.group(2) or "").ljust(9, "0"))
