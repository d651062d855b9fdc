"""
Tests for L{swarmd.scheduler.expressions}: the C{key(==|!=)[~]value} grammar.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.scheduler import Expression, ExpressionError, parse_expression, parse_expressions
from swarmd.scheduler.expressions import KINDS


class ParseTests(SynchronousTestCase):
    """
    What parse_expression accepts and how it splits it.
    """

    def test_forms(self):
        """
        Each form is split into key, operator, value and softness.
        """
        table = [
            # text, key, operator, value, soft
            ("storage==ssd", "storage", "==", "ssd", False),
            ("storage!=ssd", "storage", "!=", "ssd", False),
            ("storage==~ssd", "storage", "==", "ssd", True),
            ("storage!=~ssd", "storage", "!=", "ssd", True),
            ("node==/n[12]/", "node", "==", "/n[12]/", False),
            ("kernelversion==6.1.*", "kernelversion", "==", "6.1.*", False),
            ("com.example.tier==front", "com.example.tier", "==", "front", False),
            ("_private-key==x", "_private-key", "==", "x", False),
            ("image==registry:5000/team/app:1.0", "image", "==",
             "registry:5000/team/app:1.0", False),
            ("image==busybox@sha256:0123abcd", "image", "==", "busybox@sha256:0123abcd", False),
            ("node==n1|n2", "node", "==", "n1|n2", False),
            ("Zone==EU West", "Zone", "==", "EU West", False),
        ]
        for text, key, operator, value, soft in table:
            e = parse_expression("constraint", text)
            self.assertEqual((e.kind, e.text, e.key, e.operator, e.value, e.soft),
                             ("constraint", text, key, operator, value, soft), text)

    def test_equal_wins(self):
        """
        == is looked for before !=, as classic Swarm does.
        """
        e = self.assertRaises(ExpressionError, parse_expression, "constraint", "ab!=c==d")
        self.assertIn("key 'ab!=c' is invalid", str(e))

    def test_str_names_kind(self):
        """
        An expression prints as kind:text, as written in the request.
        """
        self.assertEqual(str(parse_expression("affinity", "container!=~web")),
                         "affinity:container!=~web")

    def test_condition_is_classic_text(self):
        """
        condition() is classic's key, operator and value: no kind, no ~, soft shown on demand.
        """
        soft = parse_expression("affinity", "container!=~web")
        hard = parse_expression("constraint", "storage==/ss./")
        self.assertEqual(soft.condition(), "container!=web")
        self.assertEqual(soft.condition(show_soft=True), "container!=web (soft=true)")
        self.assertEqual(hard.condition(), "storage==/ss./")
        self.assertEqual(hard.condition(show_soft=True), "storage==/ss./ (soft=false)")

    def test_bad(self):
        """
        Bad operators, keys and values are refused, the message naming the expression.
        """
        table = [
            ("storage=ssd", "one of operator ==, != is expected"),
            ("storage", "one of operator ==, != is expected"),
            ("storage<=ssd", "one of operator ==, != is expected"),
            ("==ssd", "key '' is invalid"),
            ("s==ssd", "key 's' is invalid"),
            ("1abc==ssd", "key '1abc' is invalid"),
            ("sto rage==ssd", "key 'sto rage' is invalid"),
            ("sto!rage==ssd", "key 'sto!rage' is invalid"),
            ("storage==", "value '' is invalid"),
            ("storage==~", "value '~' is invalid"),
            ("storage==ss;d", "value 'ss;d' is invalid"),
            ("storage==ss\"d", "value 'ss\"d' is invalid"),
            ("storage==/(/", "regular expression '(' is invalid"),
        ]
        for text, why in table:
            e = self.assertRaises(ExpressionError, parse_expression, "constraint", text)
            self.assertIn('invalid expression "constraint:%s"' % (text,), str(e))
            self.assertIn(why, str(e))

    def test_non_string(self):
        """
        Something other than a string is refused.
        """
        self.assertRaises(ExpressionError, parse_expression, "constraint", 42)

    def test_unknown_kind(self):
        """
        Only constraint, affinity and whitelist expressions exist.
        """
        self.assertEqual(KINDS, ("constraint", "affinity", "whitelist"))
        self.assertRaises(ValueError, parse_expression, "reschedule", "a==b")

    def test_parse_many(self):
        """
        parse_expressions keeps order and stops at the first bad one.
        """
        parsed = parse_expressions("affinity", ["container==a", "image!=b"])
        self.assertEqual([e.text for e in parsed], ["container==a", "image!=b"])
        self.assertTrue(all(isinstance(e, Expression) for e in parsed))
        e = self.assertRaises(ExpressionError, parse_expressions, "affinity",
                              ["container==a", "oops", "x"])
        self.assertIn("affinity:oops", str(e))


class MatchTests(SynchronousTestCase):
    """
    How an expression matches strings.
    """

    def check(self, kind, table):
        for text, values, expected in table:
            e = parse_expression(kind, text)
            self.assertEqual(e.matches(values), expected, (text, values))
            self.assertEqual(e.matches(list(values) if not isinstance(values, str)
                                       else values), expected, (text, values, "list"))

    def test_literal(self):
        """
        A value without glob characters must equal a string exactly.
        """
        self.check("constraint", [
            ("storage==ssd", {"ssd"}, True),
            ("storage==ssd", {"ssd2"}, False),
            ("storage==ssd", {"SSD"}, False),
            ("storage==ssd", {"hdd", "ssd"}, True),
            ("storage==ssd", set(), False),
            ("storage==ssd", "ssd", True),
            ("storage!=ssd", {"ssd"}, False),
            ("storage!=ssd", {"hdd"}, True),
            ("storage!=ssd", set(), True),
            ("ver==1.2", {"1x2"}, False),
        ])

    def test_glob(self):
        """
        *, ? and [...] are globs anchored at both ends; other characters are literal.
        """
        self.check("constraint", [
            ("kernel==6.1.*", {"6.1.0-18-amd64"}, True),
            ("kernel==6.1.*", {"16.1.0"}, False),
            ("kernel==*amd64", {"6.1.0-18-amd64"}, True),
            ("kernel==*amd64", {"6.1.0-18-amd64-x"}, False),
            ("node==n?", {"n1"}, True),
            ("node==n?", {"n12"}, False),
            ("node==n[12]", {"n2"}, True),
            ("node==n[12]", {"n3"}, False),
            ("ver==1.*", {"1x2"}, False),
            ("ver==(a)*", {"(a)b"}, True),
            ("ver==*", {""}, True),
            ("storage!=ss*", {"ssd"}, False),
            ("storage!=ss*", {"hdd"}, True),
        ])

    def test_regex(self):
        """
        /regex/ is searched for anywhere in the string, unanchored.
        """
        self.check("constraint", [
            ("node==/n[12]/", {"n1"}, True),
            ("node==/n[12]/", {"xn2y"}, True),
            ("node==/n[12]/", {"n3"}, False),
            ("node==/^n[12]$/", {"xn2"}, False),
            ("os==/ubuntu|debian/", {"Debian GNU/Linux"}, False),
            ("os==/(?i)ubuntu|debian/", {"Debian GNU/Linux"}, True),
            ("node!=/n[12]/", {"n1"}, False),
            ("node!=/n[12]/", {"n3"}, True),
            ("ver==//", {"anything"}, True),
            ("ver==/", {"/"}, True),
        ])

    def test_soft_matches_like_hard(self):
        """
        ~ only marks the expression soft; matching is the same.
        """
        self.check("affinity", [
            ("container==~web", {"web"}, True),
            ("container==~web", {"db"}, False),
            ("container!=~web", {"web"}, False),
        ])

    def test_whitelist_alternatives(self):
        """
        A whitelist value lists |-separated alternatives, each a glob.
        """
        self.check("whitelist", [
            ("node==n1|n2", {"n2"}, True),
            ("node==n1|n2", {"n3"}, False),
            ("node==n1|web-*", {"web-7"}, True),
            ("node!=n1|n2", {"n1"}, False),
            ("node!=n1|n2", {"n3"}, True),
            ("node==/n1|n2/", {"xn2"}, True),
        ])

    def test_pipe_is_literal_elsewhere(self):
        """
        Outside whitelists | is an ordinary character of a glob.
        """
        self.check("constraint", [
            ("node==n1|n2", {"n1"}, False),
            ("node==n1|n2", {"n1|n2"}, True),
        ])

    def test_found_ignores_operator(self):
        """
        found() says whether the value matches, whatever the operator.
        """
        e = parse_expression("constraint", "storage!=ssd")
        self.assertTrue(e.found({"ssd"}))
        self.assertTrue(e.negated)
        self.assertFalse(e.matches({"ssd"}))


class LabelErrorTests(SynchronousTestCase):
    """
    A C{com.docker.swarm.constraints} or C{affinities} label that is not
    JSON is refused (classic Swarm ignored the whole label silently and
    placed the container anywhere), with its text, where it fails and the
    usual cause (issue 15 item 6).
    """

    def refused(self, labels=None, env=None):
        from swarmd.scheduler import ContainerConfig

        body = {"Image": "busybox", "Labels": labels or {}, "Env": env or []}
        return str(self.assertRaises(ExpressionError, ContainerConfig.from_create_body,
                                     body, "web"))

    def test_shell_backslash(self):
        """["container\\!=c1"] names the text, the place, the backslash and the fix."""
        for name in ("com.docker.swarm.constraints", "com.docker.swarm.affinities"):
            message = self.refused({name: '["container\\!=c1"]'})
            self.assertEqual(
                message,
                'invalid label %s=["container\\!=c1"]: expected a JSON array of strings, '
                'invalid \\escape at character 12 (\\!=c1"]). A shell left a backslash '
                "before ! (bash keeps it inside double quotes): quote the label with single "
                "quotes, as in --label '%s=[\"container!=c1\"]'" % (name, name))

    def test_not_an_array(self):
        """A bare expression instead of an array says the label holds a JSON array."""
        message = self.refused({"com.docker.swarm.constraints": "node==n1"})
        self.assertIn("invalid label com.docker.swarm.constraints=node==n1", message)
        self.assertIn('as in com.docker.swarm.constraints=["node==n1"]', message)

    def test_malformed(self):
        """Other malformed JSON names the text and the character where it fails."""
        message = self.refused({"com.docker.swarm.affinities": '["image==x",]'})
        self.assertIn('com.docker.swarm.affinities=["image==x",]', message)
        self.assertIn("at character 13", message)
        self.assertNotIn("backslash", message)

    def test_env_backslash(self):
        """-e "affinity:container\\!=c1" (bash, double quotes) names the cause too."""
        message = self.refused(env=["affinity:container\\!=c1"])
        self.assertIn("key 'container\\' is invalid", message)
        self.assertIn("write 'affinity:container!=c1' in single quotes", message)
