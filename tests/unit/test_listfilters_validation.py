"""
Tests for L{swarmd.api.listfilters}: the C{filters} value read and refused
as dockerd 20.10 does (issue 9 item 4), the C{is-task}, C{publish} and
C{expose} filters of C{ps} (issue 15 item 5), and users' regular
expressions in filters and expressions matched in linear time through the
API (issue 9 item 1).

dockerd's answers quoted here were taken from a 20.10.24 engine of the lab
(C{curl --unix-socket ... /v1.41/containers/json?filters=...}).
"""

import json
from urllib.parse import quote

from twisted.trial.unittest import SynchronousTestCase

from swarmd.api.errors import DockerError
from swarmd.api.listfilters import (
    CONTAINER_FILTERS,
    ContainerChecks,
    Filters,
    parse_container_filters,
    parse_filters,
    parse_port_filter,
    regex_match,
)
from swarmd.testing.memory import MemoryEngines, MemoryManager

#: 5,000 C{a}s then an C{X}: Python's C{re} would never finish
#: C{^(a+)+$} against it (27 a's took 5.8 s, each one more doubles it).
LONG = "a" * 5000 + "X"


def nested(depth):
    """
    A filters value nesting C{depth} arrays in a C{name} filter.
    """
    return '{"name":' + "[" * depth + "]" * depth + "}"


class ParseFiltersTests(SynchronousTestCase):
    """
    The C{filters} value read as dockerd's C{filters.FromJSON}.
    """

    def refused(self, text, allowed=CONTAINER_FILTERS):
        e = self.assertRaises(DockerError, parse_filters, text, allowed)
        self.assertEqual(e.status, 400)
        return e.message

    def test_both_forms(self):
        """{"k": {"v": true}} and the older {"k": ["v"]} give the same values."""
        self.assertEqual(parse_filters('{"name": {"web": true}}', CONTAINER_FILTERS),
                         {"name": ["web"]})
        self.assertEqual(parse_filters('{"name": ["web", "db"]}', CONTAINER_FILTERS),
                         {"name": ["web", "db"]})

    def test_empty_and_null(self):
        """No value, an empty one and null are no filter, as dockerd (200)."""
        for text in (None, "", "null"):
            filters = parse_filters(text, CONTAINER_FILTERS)
            self.assertEqual(filters, {}, text)
            self.assertIsInstance(filters, Filters)
        self.assertEqual(parse_filters('{"name": null}', CONTAINER_FILTERS), {"name": []})
        self.assertEqual(parse_filters('{"name": [null]}', CONTAINER_FILTERS), {"name": [""]})

    def test_false_values(self):
        """A value given as false is still a value, but not an exact match (dockerd)."""
        filters = parse_filters('{"name": {"web": false}, "is-task": {"true": false}}',
                                CONTAINER_FILTERS)
        self.assertEqual(filters["name"], ["web"])
        self.assertFalse(filters.exact_match("is-task", "true"))
        self.assertTrue(filters.exact_match("status", "anything"))

    def test_wrong_types(self):
        """Wrong JSON types are a 400 with Go's decoder's words, as dockerd's (its 500)."""
        for text, message in [
            ('{"name":5}', "json: cannot unmarshal number into Go value of type map[string]bool"),
            ('{"label":[5]}',
             "json: cannot unmarshal array into Go value of type map[string]bool"),
            ('{"name":"x"}', "json: cannot unmarshal string into Go value of type map[string]bool"),
            ('{"name":{"x":5}}', "json: cannot unmarshal number into Go value of type bool"),
            ('{"label":{"a":"b"}}', "json: cannot unmarshal string into Go value of type bool"),
            ('{"name":["x",5]}',
             "json: cannot unmarshal array into Go value of type map[string]bool"),
            ('{"name":{"x":true},"status":["running"]}',
             "json: cannot unmarshal array into Go value of type map[string]bool"),
            ("[]", "json: cannot unmarshal array into Go value of type "
                   "map[string]map[string]bool"),
            ("5", "json: cannot unmarshal number into Go value of type "
                  "map[string]map[string]bool"),
            ('"x"', "json: cannot unmarshal string into Go value of type "
                    "map[string]map[string]bool"),
            ("true", "json: cannot unmarshal bool into Go value of type "
                     "map[string]map[string]bool"),
        ]:
            self.assertEqual(self.refused(text), message, text)

    def test_unknown_filter(self):
        """An unknown filter is dockerd's 400 'Invalid filter'."""
        self.assertEqual(self.refused('{"color":["x"]}'), "Invalid filter 'color'")

    def test_malformed(self):
        """Malformed JSON is a 400 with the words of dockerd's Go decoder (its 500)."""
        for text, message in [
            ("{bad", "invalid character 'b' looking for beginning of object key string"),
            ("{", "unexpected end of JSON input"),
            ('"abc', "unexpected end of JSON input"),
            ('{"a" 1}', "invalid character '1' after object key"),
            ('{"a":1 2}', "invalid character '2' after object key:value pair"),
            ('{"a":[1 2]}', "invalid character '2' after array element"),
            ('{"a":[1,]}', "invalid character ']' looking for beginning of value"),
            ('{"a":{"b":1,}}', "invalid character '}' looking for beginning of object key string"),
            ('["a\\!b"]', "invalid character '!' in string escape code"),
            ('["\\u12g4"]', "invalid character 'g' in \\u hexadecimal character escape"),
            ('{"\\', "invalid character ' ' in string escape code"),
            ('["a\nb"]', "invalid character '\\n' in string literal"),
            ("{} x", "invalid character 'x' after top-level value"),
            ("'x'", "invalid character '\\'' looking for beginning of value"),
            ("NaN", "invalid character 'N' looking for beginning of value"),
            ("-Infinity", "invalid character 'I' in numeric literal"),
            ('{"a":NaN}', "invalid character 'N' looking for beginning of value"),
            ("[-]", "invalid character ']' in numeric literal"),
            ('{"a":1.}', "invalid character '}' after decimal point in numeric literal"),
            ("1e+", "invalid character ' ' in exponent of numeric literal"),
            ("[1.5.3]", "invalid character '.' after array element"),
            ('{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
            ("nul", "invalid character ' ' in literal null (expecting 'l')"),
            ("\ufeff{}", "invalid character '\u00ef' looking for beginning of value"),
        ]:
            self.assertEqual(self.refused(text), "invalid filter: " + message, text)

    def test_deep_nesting(self):
        """JSON nested 1,000 (or 100,000) deep is a 400, not a recursion error."""
        self.assertEqual(self.refused(nested(100)),
                         "json: cannot unmarshal array into Go value of type map[string]bool")
        self.assertEqual(self.refused(nested(1000)), "invalid filter: JSON nested too deeply")
        self.assertIn("nested too deeply", self.refused(nested(100000)))
        self.assertIn("nested too deeply", self.refused("[" * 100000 + "]" * 100000))


class ContainerChecksTests(SynchronousTestCase):
    """
    Container filter values dockerd refuses.
    """

    def refused(self, value):
        e = self.assertRaises(DockerError, parse_container_filters, json.dumps(value))
        self.assertEqual(e.status, 400)
        return e.message

    def test_dockerd_refusals(self):
        """The values dockerd refuses get its message (and 400, where dockerd 20.10 says 500)."""
        for value, message in [
            ({"health": ["x"]}, "Unrecognised filter value for health: x"),
            ({"health": ["healthy", "x"]}, "Unrecognised filter value for health: x"),
            ({"is-task": ["maybe"]}, "Invalid filter 'is-task=[maybe]'"),
            ({"is-task": ["1"]}, "Invalid filter 'is-task=[1]'"),
            ({"is-task": {"true": False}}, "Invalid filter 'is-task=[true]'"),
            ({"status": ["x"]}, "Invalid filter 'status=x'"),
            ({"exited": ["x"]}, 'strconv.Atoi: parsing "x": invalid syntax'),
            ({"exited": [" 3"]}, 'strconv.Atoi: parsing " 3": invalid syntax'),
            ({"exited": ["99999999999999999999"]},
             'strconv.Atoi: parsing "99999999999999999999": value out of range'),
            ({"is-task": ["", None]}, "Invalid filter 'is-task=[]'"),
            ({"publish": ["x/y/z"]},
             'error while looking up for publish x/y/z: strconv.ParseUint: parsing "x": '
             'invalid syntax'),
            ({"publish": ["18080:80"]}, "filter for 'publish' should not contain ':': 18080:80"),
            ({"publish": ["70000"]}, 'error while looking up for publish 70000: '
                                     'strconv.ParseUint: parsing "70000": value out of range'),
            ({"publish": ["80-70"]}, "error while looking up for publish 80-70: Invalid range "
                                     "specified for the Port: 80-70"),
            ({"publish": [""]},
             "error while looking up for publish : Empty string specified for ports."),
            ({"expose": ["/tcp"]},
             "error while looking up for expose /tcp: Empty string specified for ports."),
            ({"name": ["(a"]}, "Invalid filter 'name=(a': error parsing regexp: missing ): (a"),
            ({"id": ["(?=a)"]},
             "Invalid filter 'id=(?=a)': error parsing regexp: invalid perl operator: (?="),
            ({"node": ["a++"]},
             "Invalid filter 'node=a++': error parsing regexp: bad repetition operator: ++"),
        ]:
            self.assertEqual(self.refused(value), message, value)

    def test_dockerd_accepts(self):
        """What dockerd accepts is accepted."""
        for value in [{"is-task": ["true"]}, {"is-task": ["false"]},
                      {"is-task": ["maybe", "true"]}, {"is-task": []},
                      {"health": ["starting", "healthy", "unhealthy", "none"]},
                      {"publish": ["80"]}, {"publish": ["80/"]}, {"publish": ["80/udp"]},
                      {"expose": ["1-2-3"]}, {"isolation": ["x"]}, {"name": ["^(a+)+$"]}]:
            parse_container_filters(json.dumps(value))

    def test_is_task(self):
        """is-task is true, false, or (dockerd) true when both or no value are given."""
        for value, expected in [(["true"], True), (["false"], False),
                                (["true", "false"], True), (["maybe", "false"], False),
                                ([], True)]:
            checks = ContainerChecks(parse_container_filters(json.dumps({"is-task": value})))
            self.assertEqual(checks.is_task, expected, value)
        self.assertIsNone(ContainerChecks(Filters()).is_task)

    def test_port_values(self):
        """publish and expose values read as dockerd's nat.ParsePortRange and SplitProtoPort."""
        self.assertEqual(parse_port_filter("publish", "80"), {"80/tcp"})
        self.assertEqual(parse_port_filter("publish", "80/"), {"80/tcp"})
        self.assertEqual(parse_port_filter("publish", "53/udp"), {"53/udp"})
        self.assertEqual(parse_port_filter("expose", "8000-8002/tcp"),
                         {"8000/tcp", "8001/tcp", "8002/tcp"})
        self.assertEqual(parse_port_filter("expose", "1-2-3"), {"1/tcp", "2/tcp"})
        self.assertEqual(parse_port_filter("expose", "5/y/z"), {"5/y"})

    def test_regex_match(self):
        """regex_match: an exact value, else an unanchored Go regular expression."""
        self.assertTrue(regex_match([], "web"))
        self.assertTrue(regex_match(["web"], "web"))
        self.assertTrue(regex_match(["^w"], "web"))
        self.assertFalse(regex_match(["^(a+)+$"], LONG))
        self.assertTrue(regex_match(["^(a+)+X$"], LONG))
        e = self.assertRaises(DockerError, regex_match, ["(?<=a)"], "web", "node")
        self.assertEqual((e.status, e.message), (
            400, "Invalid filter 'node=(?<=a)': error parsing regexp: "
                 "invalid perl operator: (?<="))


class MemoryAPITests(SynchronousTestCase):
    """
    Container lists and creates through a manager over two fake engines, in
    memory; the first engine carries the label C{zone=aaaa...X}.
    """

    def setUp(self):
        add = MemoryEngines.add

        def add_labelled(engines, address, **options):
            if not engines.engines:
                options["labels"] = ["zone=" + LONG]
            return add(engines, address, **options)

        self.patch(MemoryEngines, "add", add_labelled)
        self.manager = MemoryManager(filters=("health", "constraint", "affinity"))
        self.addCleanup(self.manager.stop)

    def request(self, method, path, body=None):
        status, _, content = self.successResultOf(self.manager.request(method, path, body))
        return status, json.loads(content) if content.strip() else None

    def ping(self):
        """
        @return: the status and body of C{/_ping}.
        """
        status, _, content = self.successResultOf(self.manager.request("GET", "/_ping"))
        return status, content

    def ps(self, filters, status=200):
        if not isinstance(filters, str):
            filters = json.dumps(filters)
        code, answer = self.request("GET", "/containers/json?all=1&filters=" + quote(filters))
        self.assertEqual(code, status, answer)
        if status == 200:
            return sorted(c["Names"][0].split("/")[-1] for c in answer)
        return answer["message"]

    def create(self, name, status=201, env=(), labels=None, **more):
        body = {"Image": "busybox", "Cmd": ["sleep", "300"], "Env": list(env)}
        if labels:
            body["Labels"] = labels
        body.update(more)
        code, answer = self.request("POST", "/containers/create?name=" + name, body)
        self.assertEqual(code, status, answer)
        return answer

    def test_pathological_name_filters(self):
        """Pathological name, id and node filters answer right at once over a 5,001-char name."""
        self.create(LONG)
        self.create("web")
        self.assertEqual(self.ps({"name": ["^(a+)+$"]}), [])
        self.assertEqual(self.ps({"name": ["(a|aa)+$"]}), [])
        self.assertEqual(self.ps({"name": ["(.*a){20}$"]}), [])
        self.assertEqual(self.ps({"name": ["^(a+)+X$"]}), [LONG])
        self.assertEqual(self.ps({"name": ["^(a+)+$", "^w"]}), ["web"])
        self.assertEqual(self.ps({"id": ["^(a+)+$"]}), [])
        self.assertEqual(self.ps({"node": ["^(a+)+$"]}), [])
        self.assertEqual(self.ps({"node": ["^n[12]$"]}), sorted([LONG, "web"]))
        self.assertEqual(self.ping(), (200, b"OK"))

    def test_refused_regex(self):
        """A filter RE2 (Go) refuses is a 400 naming it."""
        self.assertEqual(self.ps({"name": [r"(a)\1"]}, status=400),
                         r"Invalid filter 'name=(a)\1': error parsing regexp: "
                         r"invalid escape sequence: \1")
        code, answer = self.request("GET", "/networks?filters=" + quote('{"name":["(?!x)"]}'))
        self.assertEqual(code, 400, answer)
        self.assertIn("(?!x)", answer["message"])

    def test_dockerd_400s(self):
        """The five filters dockerd refuses are refused here too, no longer a 200 []."""
        self.create("web")
        for value in ({"health": ["x"]}, {"name": 5}, {"label": [5]},
                      {"publish": ["x/y/z"]}, {"is-task": ["maybe"]}):
            self.assertIsInstance(self.ps(value, status=400), str)

    def test_null_and_nesting(self):
        """filters=null is a 200 as dockerd; JSON nested 1,000 deep is a 400."""
        self.create("web")
        self.assertEqual(self.ps("null"), ["web"])
        self.assertIn("nested too deeply", self.ps(nested(1000), status=400))
        self.assertIn("cannot unmarshal", self.ps(nested(100), status=400))
        self.assertIn("nested too deeply", self.ps("[" * 1000 + "]" * 1000, status=400))
        self.assertEqual(self.ping(), (200, b"OK"))

    def test_is_task(self):
        """is-task=true lists the containers labelled com.docker.swarm.task, false the others."""
        self.create("task1", labels={"com.docker.swarm.task": "x"})
        self.create("task2", labels={"com.docker.swarm.task": ""})
        self.create("plain")
        self.assertEqual(self.ps({"is-task": ["true"]}), ["task1", "task2"])
        self.assertEqual(self.ps({"is-task": ["false"]}), ["plain"])
        self.assertEqual(self.ps({"is-task": {"false": True}}), ["plain"])
        self.assertEqual(self.ps({}), ["plain", "task1", "task2"])

    def test_publish_expose(self):
        """publish matches a published host port, expose a container port, as dockerd."""
        self.create("published", ExposedPorts={"80/tcp": {}},
                    HostConfig={"PortBindings": {"80/tcp": [{"HostPort": "18080"}]}})
        self.create("exposed", ExposedPorts={"8080/tcp": {}})
        for name in ("published", "exposed"):
            self.assertEqual(self.request("POST", "/containers/%s/start" % (name,))[0], 204)
        self.assertEqual(self.ps({"publish": ["18080"]}), ["published"])
        self.assertEqual(self.ps({"publish": ["18000-18100/tcp"]}), ["published"])
        self.assertEqual(self.ps({"publish": ["80"]}), [])
        self.assertEqual(self.ps({"publish": ["18080/udp"]}), [])
        self.assertEqual(self.ps({"expose": ["80"]}), ["published"])
        self.assertEqual(self.ps({"expose": ["8080"]}), ["exposed"])
        self.assertEqual(self.ps({"expose": ["8080"], "publish": ["18080"]}),
                         ["exposed", "published"])

    def test_pathological_constraints(self):
        """Constraints and affinities with ^(a+)+$ over a 5,001-char label or name decide right."""
        self.create("c1", env=["constraint:node==/^(a+)+$/"], status=500)
        self.create("c2", env=["constraint:zone==/^(a+)+$/"], status=500)
        self.create("c3", env=["constraint:zone==/^(a+)+X$/"])
        self.assertEqual(self.request("GET", "/containers/c3/json")[1]["Node"]["Name"], "n1")
        self.create("c4", env=["constraint:zone!=/^(a+)+$/"])
        self.create(LONG, env=["constraint:node==n2"])
        self.create("c5", env=["affinity:container==/^(a+)+$/"], status=500)
        self.create("c6", env=["affinity:container==/^(a+)+X$/"])
        self.assertEqual(self.request("GET", "/containers/c6/json")[1]["Node"]["Name"], "n2")
        self.create("c7", labels={"com.docker.swarm.constraints": '["zone==/(a|aa)+$/"]'},
                    status=500)

    def test_refused_expression_regex(self):
        """A /regex/ RE2 refuses is a 400 naming the expression."""
        answer = self.create("c1", env=[r"constraint:node==/(n)\1/"], status=400)
        self.assertEqual(answer["message"],
                         r'invalid expression "constraint:node==/(n)\1/": regular expression '
                         r"'(n)\\1' is invalid: invalid escape sequence: \1")
