"""
Regular expressions and globs that users supply, matched in linear time.

Docker's list filters (C{name}, C{id}, C{node}) and classic Swarm's
C{/regex/} constraints, affinities and whitelists are Go regular
expressions, and Go's C{regexp} is RE2: matching takes time linear in the
text whatever the pattern.  Python's C{re} backtracks: C{^(a+)+$} against
thirty C{a}s and an C{X} takes seconds, and the manager's reactor thread
would be blocked that long.  Every user-supplied pattern is therefore
compiled here, with Google's RE2 (the C{google-re2} binding, module
C{re2}), which takes Go's syntax and refuses what Go refuses (lookarounds,
back-references, C{\\Z}, possessive quantifiers...); globs are translated to
RE2 too.  The manager's own fixed patterns stay on C{re}.
"""

from __future__ import annotations

import functools

import re2

__all__ = ["Pattern", "RegexError", "compile_glob", "compile_regex", "escape"]

_OPTIONS = re2.Options()
# RE2 logs every refused pattern to stderr: a client could flood the log.
_OPTIONS.log_errors = False
# Only "does it match" is ever asked: no submatch bookkeeping.
_OPTIONS.never_capture = True

# How many compiled patterns are kept (a list request compiles its
# filter's patterns once per request, a constraint once per create).
_CACHE_SIZE = 256


class RegexError(ValueError):
    """
    A pattern that RE2 (Go's syntax) refuses.

    @ivar pattern: the pattern as the user wrote it.
    @ivar reason: why, in RE2's words, e.g. C{"missing ): (a"}.
    """

    def __init__(self, pattern, reason):
        ValueError.__init__(self, pattern, reason)
        self.pattern = pattern
        self.reason = reason

    def __str__(self):
        return "invalid regular expression %r: %s" % (self.pattern, self.reason)


class Pattern:
    """
    A compiled pattern.

    @ivar text: the pattern as the user wrote it (a regular expression or a
        glob).
    @ivar source: the RE2 expression it was compiled from.
    """

    __slots__ = ("text", "source", "_search")

    def __init__(self, text, source, compiled):
        self.text = text
        self.source = source
        self._search = compiled.search

    def __call__(self, value):
        """
        @param value: a C{str}.
        @return: whether the pattern matches C{value} (anywhere in it for a
            regular expression, the whole of it for a glob).
        """
        try:
            return self._search(value) is not None
        except UnicodeEncodeError:
            # A lone surrogate cannot be UTF-8: Go reads such bytes as U+FFFD.
            return self._search(_without_surrogates(value)) is not None

    search = __call__

    def __repr__(self):
        return "<Pattern %r>" % (self.text,)


def _without_surrogates(value):
    return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)


def _check_go_escapes(source):
    """
    Refuse the one escape RE2 takes and Go does not: C{\\C} (any byte).
    """
    i, n = 0, len(source)
    while i < n:
        char = source[i]
        if char == "\\" and i + 1 < n:
            following = source[i + 1]
            if following == "C":
                return "invalid escape sequence: \\C"
            if following == "Q":
                end = source.find("\\E", i + 2)
                if end < 0:
                    return None
                i = end + 2
                continue
            i += 2
            continue
        i += 1
    return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(text, source):
    reason = _check_go_escapes(source)
    if reason is None:
        try:
            compiled = re2.compile(source, _OPTIONS)
        except re2.error as e:
            reason = e.args[0] if e.args else "invalid"
            if isinstance(reason, bytes):
                reason = reason.decode("utf-8", "replace")
        except UnicodeEncodeError:
            reason = "invalid UTF-8"
        else:
            return Pattern(text, source, compiled)
    raise RegexError(text, reason)


def compile_regex(text):
    """
    Compile a user's regular expression, with Go's syntax and semantics
    (C{.} does not match a newline, C{$} is the end of the text).

    @param text: the expression, a C{str}.
    @return: a L{Pattern} searching for it anywhere in a string, as Go's
        C{regexp.MatchString} does.
    @raise RegexError: when RE2 refuses it.
    """
    if not isinstance(text, str):
        raise RegexError(text, "expected a string")
    return _compile(text, text)


def escape(text):
    """
    @return: an RE2 expression matching exactly C{text}: letters, digits
        and C{_} as they are, anything else as a C{\\x{...}} escape.
    """
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "\\x{%x}" % (ord(c),)
                   for c in text)


def glob_source(pattern):
    """
    Translate a glob as Python's C{fnmatch} reads it (C{*} any run of
    characters, C{?} one, C{[...]} a class, C{[!...]} its complement, an
    unclosed C{[} itself) to an RE2 expression for the whole string.

    C{fnmatch.translate} itself cannot be used: its output ends with
    C{\\Z} and uses atomic groups, which RE2 refuses.

    @return: the RE2 source, anchored at both ends.
    """
    res: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if not res or res[-1] != ".*":
                res.append(".*")
        elif c == "?":
            res.append(".")
        elif c == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                res.append(escape("["))
                continue
            negated = pattern[i] == "!"
            start = i + 1 if negated else i
            stuff = pattern[start:j]
            if "-" not in stuff:
                chunks = [stuff]
            else:
                # fnmatch's reading of ranges: a hyphen makes a range of the
                # characters around it; one right after a range, first or
                # last is itself.
                chunks = []
                k = start + 1
                begin = start
                while True:
                    k = pattern.find("-", k, j)
                    if k < 0:
                        break
                    chunks.append(pattern[begin:k])
                    begin = k + 1
                    k = k + 3
                chunk = pattern[begin:j]
                if chunk:
                    chunks.append(chunk)
                else:
                    chunks[-1] += "-"
                # Reversed ranges are empty: fnmatch drops them.
                for k in range(len(chunks) - 1, 0, -1):
                    if chunks[k - 1][-1] > chunks[k][0]:
                        chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                        del chunks[k]
            i = j + 1
            if not "".join(chunks):
                # [!] cannot happen here; an empty class never matches.
                res.append("[^\\x00-\\x{10ffff}]" if not negated else ".")
            else:
                res.append(_range_class(chunks, negated))
        else:
            res.append(escape(c))
    return "(?s:^%s$)" % ("".join(res),)


def _range_class(chunks, negated):
    """
    An RE2 class from C{fnmatch}'s chunks: the pieces of a class between
    its range hyphens (C{["a", "cx", "z"]} for C{a-cx-z}).
    """
    items = []
    last = len(chunks) - 1
    for index, chunk in enumerate(chunks):
        chars = list(chunk)
        if index > 0:
            # The first character ends the range the previous chunk began.
            items.append("-" + escape(chars.pop(0)))
        if index < last:
            # The last character begins the next range.
            closing = chars.pop() if chars else None
            items.extend(escape(c) for c in chars)
            if closing is not None:
                items.append(escape(closing))
        else:
            items.extend(escape(c) for c in chars)
    return "[%s%s]" % ("^" if negated else "", "".join(items))


def compile_glob(text):
    """
    Compile a user's glob (see L{glob_source}).

    @return: a L{Pattern} matching whole strings.
    @raise RegexError: when RE2 refuses the translation (too long a
        pattern).
    """
    if not isinstance(text, str):
        raise RegexError(text, "expected a string")
    return _compile(text, glob_source(text))
