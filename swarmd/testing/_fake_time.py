"""
Docker's ways of writing times, for the fake engine: RFC 3339 with
nanoseconds, the zero time, C{docker ps}' human durations, and the
C{since}/C{until} timestamps of the API.
"""

import time

from swarmd.testing._fake_errors import server_error

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
