"""
Docker API version strings (C{"1.41"}).
"""

import re

_VERSION = re.compile(r"([0-9]+)\.([0-9]+)\Z")


def parse_version(text):
    """
    @return: C{(major, minor)} integers.
    @raise ValueError: when C{text} is not C{"X.Y"}.
    """
    match = _VERSION.match(text or "")
    if match is None:
        raise ValueError("invalid API version %r" % (text,))
    return int(match.group(1)), int(match.group(2))


def lower_version(a, b):
    """
    @return: the lower of two version strings (C{a} if C{b} is malformed).
    """
    try:
        return b if parse_version(b) < parse_version(a) else a
    except ValueError:
        return a


def version_less(a, b):
    """
    @return: whether version C{a} is lower than version C{b}.
    """
    return parse_version(a) < parse_version(b)
