"""
The engine conformance suite against a real dockerd of the lab, so the fake
engine (which passes the same suite in tests.unit.test_fakeengine) stays
honest.  Skipped without root and docker.io, a failure under C{CI=true}.
"""

from twisted.internet import reactor
from twisted.internet.defer import succeed

from swarmd.engine import EngineClient
from swarmd.testing.conformance.engine import make_iengine_tests
from swarmd.testing.functional import shared_lab
from swarmd.testing.lab.registry import Registry


def real_fixture(testcase):
    """
    A client to the first engine of the shared one-engine lab, over its unix
    socket.
    """
    lab = shared_lab(n=1, testcase=testcase)
    client = EngineClient(lab.engines[0].unix_url, reactor)
    testcase.addCleanup(client.close)
    return succeed(client)


def real_tcp_fixture(testcase):
    """
    The same engine reached over its TCP listener.
    """
    lab = shared_lab(n=1, testcase=testcase)
    client = EngineClient(lab.engines[0].tcp, reactor)
    testcase.addCleanup(client.close)
    return succeed(client)


def loopback_registry(testcase):
    """
    A loopback registry for the push and pull test (dockerd speaks plain
    HTTP to registries on 127.0.0.0/8), stopped after the test.

    @return: its C{host:port}.
    """
    registry = Registry().start()
    testcase.addCleanup(registry.stop)
    return registry.address


class RealEngineConformance(make_iengine_tests(real_fixture, registry=loopback_registry)):
    """
    A real dockerd, over its unix socket, passes the engine suite.
    """


class RealEngineTCPConformance(make_iengine_tests(real_tcp_fixture,
                                                   registry=loopback_registry)):
    """
    A real dockerd, over TCP, passes the engine suite.
    """
