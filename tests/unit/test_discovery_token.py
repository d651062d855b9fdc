"""
token:// discovery and swarmd's token service (Docker Hub's token discovery
API): the conformance suite against the service over loopback, the API
itself, persistence across restarts, finding the service, bad input.
"""

from __future__ import annotations

import json

from treq.testing import StubTreq
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import Site

from swarmd.discovery import DiscoveryError, discovery_for
from swarmd.discovery._token import TokenDiscovery, create_token, token_service_url
from swarmd.discovery.tokenservice import TokenAPI, TokenStore
from swarmd.testing.conformance.discovery import make_idiscovery_tests
from swarmd.testing.kvstores.fixtures import real_source


def serve(testcase, folder=None, clock=None):
    """
    Serve a token service on a free loopback port for C{testcase}.

    @return: C{(store, port number)}.
    """
    store = TokenStore(folder or testcase.mktemp(), clock or reactor)
    port = reactor.listenTCP(0, Site(TokenAPI(store).resource()), interface="127.0.0.1")
    testcase.addCleanup(port.stopListening)
    return store, port.getHost().port


def token_fixture(testcase, entries):
    store, port = serve(testcase)
    token = store.create()

    def make(address, clock):
        return TokenDiscovery(token, 1.0, 3.0, clock, url=f"http://{address}", reactor=reactor)

    _, source = real_source(testcase, ("127.0.0.1", port), entries, make,
                            lambda values: store.set_addresses(token, values), key_order=False)
    return source


class TokenConformanceTests(make_idiscovery_tests(token_fixture, real=True)):
    """
    token discovery behaves as every IDiscovery does, against the service.
    """


class TokenURLTests(SynchronousTestCase):
    """
    Finding the token service; token:// URLs.
    """

    def test_option_wins(self):
        """
        --discovery-opt token.url= names the service.
        """
        provider = discovery_for("token://abc123", options=[("token.url", "http://127.0.0.1:8500")],
                                 clock=Clock())
        self.assertEqual(provider.url, "http://127.0.0.1:8500")
        self.assertEqual(provider.token, "abc123")

    def test_environment(self):
        """
        SWARM_TOKEN_URL names the service.
        """
        self.assertEqual(token_service_url(environ={"SWARM_TOKEN_URL": "http://127.0.0.1:9"}),
                         ("http", "127.0.0.1:9", ""))

    def test_no_service(self):
        """
        Without a service, one line says how to run one.
        """
        with self.assertRaises(DiscoveryError) as caught:
            token_service_url(environ={})
        self.assertIn("SWARM_TOKEN_URL", str(caught.exception))
        self.assertNotIn("\n", str(caught.exception))

    def test_bad_service_url(self):
        """
        A service URL that is not http[s]://host is refused.
        """
        with self.assertRaises(DiscoveryError):
            token_service_url("ftp://x")

    def test_bad_token(self):
        """
        A token with characters a token cannot have is refused.
        """
        with self.assertRaises(DiscoveryError) as caught:
            TokenDiscovery("a b", 1.0, 3.0, Clock(), url="http://127.0.0.1:1")
        self.assertIn("invalid token", str(caught.exception))

    def test_unknown_option(self):
        """
        Only token.url is a token discovery option.
        """
        with self.assertRaises(DiscoveryError) as caught:
            discovery_for("token://abc", options=[("kv.path", "x")], clock=Clock())
        self.assertIn("unknown discovery option 'kv.path' for token", str(caught.exception))


class TokenServiceAPITests(SynchronousTestCase):
    """
    The service's HTTP API, in memory.
    """

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.folder = self.mktemp()
        self.store = TokenStore(self.folder, self.clock)
        self.treq = StubTreq(TokenAPI(self.store).resource())

    def call(self, method, path, body=b"", **params):
        response = self.successResultOf(
            self.treq.request(method, "http://t" + path, data=body, params=params))
        return response.code, self.successResultOf(response.content())

    def test_create_register_list_delete(self):
        """
        POST /v1/clusters gives a token; addresses posted to it are listed
        until deleted.
        """
        code, token = self.call("POST", "/v1/clusters")
        self.assertEqual(code, 200)
        token = token.decode()
        self.assertRegex(token, "^[0-9a-f]{32}$")
        self.assertEqual(self.call("POST", f"/v1/clusters/{token}", b"10.0.0.1:2375", ttl="30")[0],
                         200)
        self.assertEqual(self.call("POST", f"/v1/clusters/{token}", b"10.0.0.2:2375", ttl="30")[0],
                         200)
        code, body = self.call("GET", f"/v1/clusters/{token}")
        self.assertEqual((code, json.loads(body)), (200, ["10.0.0.1:2375", "10.0.0.2:2375"]))
        self.assertEqual(self.call("DELETE", f"/v1/clusters/{token}")[0], 200)
        self.assertEqual(self.call("GET", f"/v1/clusters/{token}")[0], 404)

    def test_ttl_expires(self):
        """
        An address not posted again within its TTL leaves the list.
        """
        token = self.store.create()
        self.call("POST", f"/v1/clusters/{token}", b"10.0.0.1:2375", ttl="3")
        self.clock.advance(2)
        self.call("POST", f"/v1/clusters/{token}", b"10.0.0.2:2375", ttl="3")
        self.clock.advance(2)
        self.assertEqual(json.loads(self.call("GET", f"/v1/clusters/{token}")[1]),
                         ["10.0.0.2:2375"])

    def test_bad_input(self):
        """
        An unknown token is 404, a bad address or ttl 400, each with a
        Docker-style JSON message.
        """
        token = self.store.create()
        cases = [
            ("GET", "/v1/clusters/nope", b"", {}, 404),
            ("POST", "/v1/clusters/nope", b"10.0.0.1:2375", {"ttl": "3"}, 404),
            ("POST", f"/v1/clusters/{token}", b"not an address", {"ttl": "3"}, 400),
            ("POST", f"/v1/clusters/{token}", b"10.0.0.1:2375", {"ttl": "x"}, 400),
            ("POST", f"/v1/clusters/{token}", b"10.0.0.1:2375", {"ttl": "0"}, 400),
            ("DELETE", "/v1/clusters/nope", b"", {}, 404),
        ]
        for method, path, body, params, status in cases:
            code, answer = self.call(method, path, body, **params)
            self.assertEqual(code, status, (method, path, params))
            self.assertIn("message", json.loads(answer))

    def test_persisted(self):
        """
        Clusters and their addresses survive a restart of the service.
        """
        token = self.store.create()
        self.call("POST", f"/v1/clusters/{token}", b"10.0.0.1:2375", ttl="60")
        again = TokenStore(self.folder, self.clock)
        self.assertEqual(again.addresses(token), ["10.0.0.1:2375"])

    def test_corrupt_data(self):
        """
        A data file that is not JSON is one clear error.
        """
        with open(self.store.path, "w") as f:
            f.write("{garbage")
        with self.assertRaises(DiscoveryError) as caught:
            TokenStore(self.folder, self.clock)
        self.assertIn("cannot read the token service's data", str(caught.exception))


class TokenClientTests(TestCase):
    """
    create_token and registration against the service over loopback.
    """

    async def test_create_and_register(self):
        """
        create_token asks the service for a token; register posts the
        address with the TTL; fetch lists it.
        """
        store, port = serve(self, clock=Clock())
        url = f"http://127.0.0.1:{port}"
        token = await create_token(url)
        self.assertIn(token, store.clusters)
        provider = TokenDiscovery(token, 1.0, 7.0, Clock(), url=url, reactor=reactor)
        self.addCleanup(provider.close)
        await provider.register("127.0.0.1:2375")
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        self.assertEqual(store.clusters[token], {"127.0.0.1:2375": 7.0})

    async def test_unknown_token(self):
        """
        fetch of a token the service does not know is one clear error.
        """
        store, port = serve(self)
        provider = TokenDiscovery("deadbeef", 1.0, 3.0, Clock(),
                                  url=f"http://127.0.0.1:{port}", reactor=reactor)
        self.addCleanup(provider.close)
        try:
            await provider.fetch()
        except DiscoveryError as e:
            self.assertIn("does not know token deadbeef", str(e))
        else:
            self.fail("fetch did not fail")

    async def test_create_unreachable(self):
        """
        create_token with no service answering is one clear error.
        """
        from swarmd.testing.kvstores._process import free_port

        try:
            await create_token(f"http://127.0.0.1:{free_port()}")
        except DiscoveryError as e:
            self.assertIn("cannot reach the token service", str(e))
        else:
            self.fail("create_token did not fail")


class TokenServiceTLSTests(TestCase):
    """
    The token service behind an ssl: description, reached over HTTPS.
    """

    async def test_https(self):
        """
        make_service serves TLS from an ssl: strports description; token
        discovery reaches it with kv.cacertfile trusting its CA, and
        registers and lists over it.
        """
        from twisted.internet.task import deferLater

        from swarmd.discovery.tokenservice import make_service
        from swarmd.testing.kvstores._process import free_port
        from swarmd.testing.lab._tls import make_certificates

        tls = make_certificates(self.mktemp(), [])
        port = free_port()
        listen = (f"ssl:{port}:interface=127.0.0.1:privateKey={tls.manager_key}:"
                  f"certKey={tls.manager_cert}")
        service = make_service(listen, self.mktemp(), reactor=reactor)
        service.startService()
        self.addCleanup(service.stopService)
        token = await create_token(f"https://127.0.0.1:{port}",
                                   tls_options=[("kv.cacertfile", tls.ca)])
        provider = discovery_for(f"token://{token}", options=[
            ("token.url", f"https://127.0.0.1:{port}"), ("kv.cacertfile", tls.ca)],
            heartbeat=1.0, ttl=9.0, clock=Clock())
        self.addCleanup(provider.close)
        await provider.register("127.0.0.1:2375")
        self.assertEqual(await provider.fetch(), ["127.0.0.1:2375"])
        # Let the TLS connections close before the reactor is checked.
        await provider.close()
        await deferLater(reactor, 0.05, lambda: None)
