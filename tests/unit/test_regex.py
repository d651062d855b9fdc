"""
Tests for L{swarmd.regex}: users' regular expressions and globs, matched
in linear time with Go's syntax (issue 9 item 1).

The pathological cases are sized so that Python's backtracking C{re} would
take far longer than any test run (C{^(a+)+$} doubles its time with each
C{a}: 27 of them took 5.8 s); there is no timing assertion, a regression
would simply never finish.
"""

import fnmatch
import itertools
import re

from twisted.trial.unittest import SynchronousTestCase

from swarmd.regex import Pattern, RegexError, compile_glob, compile_regex, escape, glob_source
from swarmd.scheduler import ExpressionError, parse_expression

#: 5,000 C{a}s then an C{X}: no pathological pattern below matches it.
LONG = "a" * 5000 + "X"


class PathologicalTests(SynchronousTestCase):
    """
    Patterns that make a backtracking engine exponential answer at once.
    """

    def test_nested_plus(self):
        """^(a+)+$ against 5,000 a's and an X is no match."""
        self.assertFalse(compile_regex("^(a+)+$")(LONG))
        self.assertTrue(compile_regex("^(a+)+$")("a" * 5000))

    def test_alternation(self):
        """(a|aa)+$ against 5,000 a's and an X is no match (the X ends the text)."""
        self.assertFalse(compile_regex("(a|aa)+$")(LONG))
        self.assertTrue(compile_regex("(a|aa)+$")(LONG[:-1]))

    def test_repeated_dot_star(self):
        """(.*a){20} against 19 a's among 5,000 other characters is no match."""
        text = "a" * 19 + "X" * 5000
        self.assertFalse(compile_regex("(.*a){20}")(text))
        self.assertTrue(compile_regex("(.*a){20}")(text + "a"))

    def test_many_stars_glob(self):
        """A glob of many stars against a long text that ends wrong is no match."""
        glob = "*a" * 30 + "*b"
        self.assertFalse(compile_glob(glob)(LONG))
        self.assertTrue(compile_glob(glob)(LONG + "b"))


class SyntaxTests(SynchronousTestCase):
    """
    Go's syntax: what Go refuses is refused, with RE2's words.
    """

    def test_refused(self):
        """Python-only syntax, and plain mistakes, raise RegexError naming the pattern."""
        for pattern, reason in [
            ("(?=a)", "invalid perl operator: (?="),
            ("(?!a)", "invalid perl operator: (?!"),
            ("(?<=a)b", "invalid perl operator: (?<="),
            (r"(a)\1", r"invalid escape sequence: \1"),
            ("(?P<n>a)(?P=n)", "invalid perl operator: (?P"),
            (r"a\Z", r"invalid escape sequence: \Z"),
            ("a++", "bad repetition operator: ++"),
            ("(?#comment)", "invalid perl operator: (?#"),
            ("(?x)a b", "invalid perl operator: (?x"),
            ("(a", "missing ): (a"),
            ("[a", "missing ]: [a"),
            ("*a", "no argument for repetition operator: *"),
            ("a{1001}", "invalid repetition size: {1001}"),
            (r"\C", r"invalid escape sequence: \C"),
            ("\ud800", "invalid UTF-8"),
        ]:
            e = self.assertRaises(RegexError, compile_regex, pattern)
            self.assertEqual(e.pattern, pattern)
            self.assertIn(reason, e.reason, pattern)
            self.assertIsInstance(e.reason, str)
            self.assertIn(repr(pattern), str(e))

    def test_not_a_string(self):
        """Something other than a string is refused, not crashed on."""
        self.assertRaises(RegexError, compile_regex, 5)
        self.assertRaises(RegexError, compile_glob, None)
        self.assertRaises(RegexError, compile_regex, ["a"])

    def test_accepted(self):
        """Go's own syntax compiles and matches as in Go."""
        for pattern, text, expected in [
            ("^n[12]$", "n2", True),
            ("(?i)UBUNTU", "ubuntu", True),
            ("[[:digit:]]+", "x12", True),
            (r"\pL", "é", True),
            (r"\x{41}", "A", True),
            (r"\Qa.b\E", "axb", False),
            (r"\Qa.b\E", "a.b", True),
            ("(?P<name>a)", "a", True),
            (r"\\C", "\\C", True),
            (r"a\z", "a", True),
            ("a{1000}", "a" * 1000, True),
            ("", "anything", True),
        ]:
            self.assertEqual(compile_regex(pattern)(text), expected, pattern)

    def test_go_semantics(self):
        """$ is the end of the text (not before a final newline) and . no newline, as in Go."""
        self.assertFalse(compile_regex("^web$")("web\n"))
        self.assertTrue(re.search("^web$", "web\n"))
        self.assertFalse(compile_regex("a.b")("a\nb"))
        self.assertTrue(compile_regex("(?s)a.b")("a\nb"))

    def test_unanchored(self):
        """A regular expression is searched for anywhere, as Go's MatchString does."""
        self.assertTrue(compile_regex("eb")("web"))
        self.assertFalse(compile_regex("^eb")("web"))

    def test_surrogates_in_text(self):
        """A text with a lone surrogate is matched as with U+FFFD, not crashed on."""
        self.assertTrue(compile_regex("a.b")("a\ud800b"))
        self.assertFalse(compile_regex("^ab$")("a\ud800b"))

    def test_cached(self):
        """One pattern is compiled once."""
        self.assertIs(compile_regex("^cached$"), compile_regex("^cached$"))
        self.assertIsInstance(compile_regex("^cached$"), Pattern)
        self.assertEqual(compile_regex("^cached$").text, "^cached$")


class GlobTests(SynchronousTestCase):
    """
    Globs read as C{fnmatch} reads them, compiled by RE2.
    """

    def test_like_fnmatch(self):
        """Every small glob over a tricky alphabet matches exactly what fnmatch matches."""
        texts = ["".join(t) for n in range(3) for t in itertools.product("ab-!^]\n", repeat=n)]
        count = 0
        for n in range(1, 4):
            for chars in itertools.product("a-!^[]*?", repeat=n):
                glob = "".join(chars)
                expected = re.compile(fnmatch.translate(glob), re.DOTALL)
                mine = compile_glob(glob)
                for text in texts:
                    self.assertEqual(mine(text), bool(expected.match(text)), (glob, text))
                count += 1
        self.assertEqual(count, 8 + 8 ** 2 + 8 ** 3)

    def test_forms(self):
        """*, ?, classes, negated classes, ranges, an unclosed [ and special characters."""
        for glob, text, expected in [
            ("6.1.*", "6.1.0-18-amd64", True),
            ("6.1.*", "16.1.0", False),
            ("n?", "n1", True),
            ("n?", "n12", False),
            ("n[1-3]", "n2", True),
            ("n[!1-3]", "n2", False),
            ("n[!1-3]", "n4", True),
            ("n[z-a]", "na", False),
            ("n[!z-a]", "nq", True),
            ("n[", "n[", True),
            ("(a)+", "(a)+", True),
            ("(a)+", "aa", False),
            ("a\\b", "a\\b", True),
            ("*", "", True),
            ("*", "multi\nline", True),
            ("é*", "été", True),
        ]:
            self.assertEqual(compile_glob(glob)(text), expected, (glob, text))

    def test_whole_string(self):
        """A glob matches the whole string, anchored by RE2's own syntax (not Python's \\Z)."""
        self.assertFalse(compile_glob("ssd")("ssd2"))
        self.assertTrue(compile_glob("ssd")("ssd"))
        self.assertNotIn("\\Z", glob_source("a*b?"))
        self.assertNotIn("(?>", glob_source("*a*b*c"))

    def test_escape(self):
        """escape() keeps word characters and writes anything else as \\x{...}."""
        self.assertEqual(escape("n1_x"), "n1_x")
        self.assertEqual(escape("a.b"), "a\\x{2e}b")
        self.assertEqual(escape("é"), "\\x{e9}")
        for text in ["a.b", "(x)", "[!]", "\\", "é+", "\n", "$^|"]:
            self.assertTrue(compile_regex("^%s$" % (escape(text),))(text), text)


class ExpressionTests(SynchronousTestCase):
    """
    Constraint, affinity and whitelist C{/regex/} values and globs go
    through RE2 (L{swarmd.scheduler.expressions}).
    """

    def test_pathological_regex(self):
        """constraint:node==/^(a+)+$/ against a 5,001-char value is answered right."""
        expression = parse_expression("constraint", "node==/^(a+)+$/")
        self.assertFalse(expression.matches({LONG}))
        self.assertTrue(expression.matches({LONG[:-1]}))
        self.assertTrue(parse_expression("affinity", "container!=/(a|aa)+$/").matches({LONG}))
        self.assertTrue(parse_expression("whitelist", "node==/^(a+)+X$/").matches({LONG}))

    def test_pathological_glob(self):
        """A glob of many stars against a long value is answered right."""
        expression = parse_expression("constraint", "zone==" + "*a" * 30 + "*b")
        self.assertFalse(expression.matches({LONG}))
        self.assertTrue(expression.matches({LONG + "b"}))

    def test_refused(self):
        """A /regex/ Go refuses is an ExpressionError naming the expression and RE2's reason."""
        e = self.assertRaises(ExpressionError, parse_expression, "constraint", r"node==/(n)\1/")
        self.assertEqual(str(e), 'invalid expression "constraint:node==/(n)\\1/": regular '
                                 "expression '(n)\\\\1' is invalid: invalid escape sequence: \\1")
