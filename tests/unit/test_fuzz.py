"""
Fuzzing the manager's API in memory (issue 9): generated create bodies,
filters, paths and headers sent as raw HTTP to the manager's own site
(L{swarmd.testing.fuzz.RawSite}) over two fake engines.  Properties: no
answer carries Python's text or an unexpected internal error, every error is
Docker's JSON, and C{/_ping} answers right after each request.

The examples are derandomized (the same every run, a few seconds in all);
C{bench/fuzz.py} runs the same strategies for longer, at random.
"""

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing import fuzz
from swarmd.testing.memory import MemoryManager


def _settings(examples):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


class FuzzTests(SynchronousTestCase):
    """
    Properties of every answer to a hostile request.
    """

    def setUp(self):
        self.manager = MemoryManager(["127.0.0.1:2376", "127.0.0.1:2377"])
        self.addCleanup(self.manager.stop)
        self.site = fuzz.RawSite(self.manager)

    def check(self, method, path, body=None, headers=None):
        """
        Send one request, check its answer and that C{/_ping} answers next.
        """
        answer = self.site.request(method, path, body, headers)
        case = (method, path, (body or b"")[:300], headers)
        self.assertIsNotNone(answer, case)
        status, answer_headers, content = answer
        self.assertEqual(
            fuzz.problems(method, status, answer_headers.get(b"content-type"), content), [],
            case + (status, content[:300]))
        self.assertTrue(self.site.ping(), case)

    @_settings(50)
    @given(fuzz.create_payloads, fuzz.names)
    def test_create_bodies(self, body, name):
        """Generated create bodies get a Docker answer."""
        self.check("POST", "/v1.41/containers/create?name=" + quote(name, safe=""), body,
                   {"Content-Type": "application/json"})

    @_settings(50)
    @given(fuzz.filters, st.sampled_from(fuzz.FILTERED))
    def test_filters(self, value, route):
        """Generated filters get a Docker answer."""
        self.check("GET", route + "?filters=" + quote(value, safe=""))

    @_settings(50)
    @given(fuzz.methods, fuzz.paths)
    def test_paths(self, method, path):
        """Generated paths get a Docker answer."""
        self.check(method, path)

    @_settings(40)
    @given(fuzz.headers, st.sampled_from(["/_ping", "/info", "/containers/json", "/version"]))
    def test_headers(self, headers, path):
        """Generated headers get a Docker answer."""
        self.check("GET", path, None, headers)

    @_settings(40)
    @given(fuzz.requests())
    def test_requests(self, request):
        """Mixed requests get a Docker answer."""
        method, path, body, headers = request
        self.check(method, path, body, headers)
