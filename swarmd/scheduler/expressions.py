"""
Constraint, affinity and whitelist expressions: C{key(==|!=)[~]value}.

The value is matched against one or more strings:

  - C{/regex/}: an unanchored regular expression, in Go's syntax as classic
    Swarm reads it, matched in linear time by RE2 (L{swarmd.regex});
  - anything else: an anchored glob (C{*}, C{?}, C{[...]}, read as
    C{fnmatch} does), so a value without those characters must equal the
    string exactly.

C{==} holds when any of the strings matches, C{!=} when none does.  A C{~}
right after the operator makes the expression soft: the scheduler first
tries with it and, if no node is left, again without it.

In a whitelist the value is a C{|}-separated list of alternatives (unless
it is a C{/regex/}); the whole value is one too, since node IDs contain C{|}.
"""

from __future__ import annotations

import re

import attr

from swarmd.regex import RegexError, compile_glob, compile_regex
from swarmd.scheduler.errors import ExpressionError

__all__ = ["KINDS", "OPERATORS", "Expression", "parse_expression", "parse_expressions"]

#: The kinds of expression, as written before the colon in C{-e kind:...}.
KINDS = ("constraint", "affinity", "whitelist")

#: Operators, in the order they are looked for (classic Swarm's order).
OPERATORS = ("==", "!=")

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9\-_.]+\Z")
# Classic Swarm's value characters, plus "@" so that image digests can be
# used in image affinities.
_VALUE = re.compile(r"[=!/]?~?[A-Za-z0-9:\-_\s.*/()?+\[\]\\^$|@]+\Z")
_GLOB = frozenset("*?[")


def _bad(kind, text, why):
    return ExpressionError('invalid expression "%s:%s": %s' % (kind, text, why))


@attr.s(frozen=True, eq=False, repr=False)
class _Matcher:
    """
    Strings equal to one of C{literals} or matched by one of C{patterns}.
    """

    literals = attr.ib()
    patterns = attr.ib()

    def any(self, values):
        if self.literals and not self.literals.isdisjoint(values):
            return True
        for pattern in self.patterns:
            for value in values:
                if pattern(value):
                    return True
        return False


def _glob(kind, text, value):
    if _GLOB.isdisjoint(value):
        return frozenset([value]), ()
    try:
        return frozenset(), (compile_glob(value),)
    except RegexError as e:
        raise _bad(kind, text, "glob %r is invalid: %s" % (value, e.reason)) from None


def _matcher(kind, text, value):
    if len(value) >= 2 and value[0] == "/" and value[-1] == "/":
        try:
            return _Matcher(frozenset(), (compile_regex(value[1:-1]),))
        except RegexError as e:
            raise _bad(kind, text, "regular expression %r is invalid: %s"
                       % (value[1:-1], e.reason)) from None
    alternatives = [value]
    if kind == "whitelist" and "|" in value:
        # Node IDs contain "|" ("<docker ID>|<address>"): the whole value
        # stays an alternative too.
        alternatives += value.split("|")
    literals, patterns = set(), []
    for alternative in alternatives:
        more_literals, more_patterns = _glob(kind, text, alternative)
        literals |= more_literals
        patterns.extend(more_patterns)
    return _Matcher(frozenset(literals), tuple(patterns))


def _tester(matcher, negated):
    """
    The quickest function answering L{Expression.matches} for a collection.
    """
    literals, patterns = matcher.literals, matcher.patterns
    if not patterns and len(literals) == 1:
        (literal,) = literals
        if negated:
            return lambda values: literal not in values
        return lambda values: literal in values
    found = matcher.any
    if negated:
        return lambda values: not found(values)
    return found


@attr.s(frozen=True, eq=False)
class Expression:
    """
    One parsed expression.

    @ivar kind: C{"constraint"}, C{"affinity"} or C{"whitelist"}.
    @ivar text: the expression as written, without the C{kind:} prefix,
        e.g. C{"storage==~ssd"}.
    @ivar key: the part before the operator, e.g. C{"storage"}.
    @ivar operator: C{"=="} or C{"!="}.
    @ivar value: the part after the operator and C{~}, e.g. C{"ssd"}.
    @ivar soft: whether the value started with C{~}.
    @ivar test: the fastest form of L{matches}: a one-argument callable
        taking a collection of C{str} (never a bare C{str}), made for the
        expression's form.
    @ivar literal: when the value matches one string only (no glob, no
        regular expression, no alternatives), that string, else L{None}:
        filters then compare it directly, C{matches(values)} being
        C{literal in values} (C{not in} for C{!=}).
    """

    kind: str = attr.ib()
    text: str = attr.ib()
    key: str = attr.ib()
    operator: str = attr.ib()
    value: str = attr.ib()
    soft: bool = attr.ib()
    _matcher: _Matcher = attr.ib(repr=False)
    test = attr.ib(init=False, repr=False)
    literal = attr.ib(init=False, repr=False)

    def __attrs_post_init__(self):
        object.__setattr__(self, "test", _tester(self._matcher, self.operator == "!="))
        matcher = self._matcher
        literal = None
        if not matcher.patterns and len(matcher.literals) == 1:
            (literal,) = matcher.literals
        object.__setattr__(self, "literal", literal)

    @property
    def negated(self):
        """
        Whether the operator is C{!=}.
        """
        return self.operator == "!="

    def found(self, values):
        """
        @param values: a collection of C{str} (a set is fastest), or one C{str}.
        @return: whether the value matches any of C{values}, whatever the
            operator.
        """
        if isinstance(values, str):
            values = (values,)
        return self._matcher.any(values)

    def matches(self, values):
        """
        @param values: a collection of C{str} (a set is fastest), or one C{str}.
        @return: for C{==}, whether the value matches any of C{values}; for
            C{!=}, whether it matches none.
        """
        if isinstance(values, str):
            values = (values,)
        return self.test(values)

    def condition(self, show_soft=False):
        """
        The expression as classic Swarm lists it in "Unable to find a node
        that satisfies the following conditions": C{key}, operator and value,
        without the C{kind:} prefix nor the C{~}.

        @param show_soft: add C{" (soft=true)"} or C{" (soft=false)"}, as
            classic Swarm does for affinities and whitelists (not for
            constraints).
        @return: e.g. C{"storage==ssd"} or C{"container==web (soft=true)"}.
        """
        text = "%s%s%s" % (self.key, self.operator, self.value)
        if show_soft:
            text += " (soft=%s)" % ("true" if self.soft else "false")
        return text

    def __str__(self):
        return "%s:%s" % (self.kind, self.text)


def parse_expression(kind, text):
    """
    Parse one expression.

    @param kind: one of L{KINDS}.
    @param text: the expression without its C{kind:} prefix.
    @return: an L{Expression}.
    @raise ExpressionError: naming the expression, for a missing operator,
        a bad key or value, or a regular expression that does not compile.
    """
    if kind not in KINDS:
        raise ValueError("unknown kind of expression %r" % (kind,))
    if not isinstance(text, str):
        raise _bad(kind, text, "expected a string")
    for operator in OPERATORS:
        if operator in text:
            key, value = text.split(operator, 1)
            break
    else:
        raise _bad(kind, text, "one of operator ==, != is expected")
    if not _KEY.match(key):
        why = "key '%s' is invalid" % (key,)
        if key.endswith("\\") and operator == "!=":
            why += (" (a shell left a backslash before ! inside double quotes: write"
                    " '%s:%s!=%s' in single quotes)" % (kind, key[:-1], value))
        raise _bad(kind, text, why)
    if not _VALUE.match(value):
        raise _bad(kind, text, "value '%s' is invalid" % (value,))
    soft = value.startswith("~")
    value = value.lstrip("~")
    if not value:
        raise _bad(kind, text, "value is empty")
    return Expression(kind, text, key, operator, value, soft, _matcher(kind, text, value))


def parse_expressions(kind, texts):
    """
    Parse several expressions of one kind.

    @return: a C{list} of L{Expression}, in order.
    @raise ExpressionError: for the first bad one.
    """
    return [parse_expression(kind, text) for text in texts]
