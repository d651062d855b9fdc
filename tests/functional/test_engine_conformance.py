"""
A real dockerd from the lab passes the engine conformance suite through
L{swarmd.engine.EngineClient}: the simulated engine is held to the same
suite, which keeps it honest.
"""

from twisted.internet import reactor

from swarmd.engine import EngineClient
from swarmd.testing.functional import shared_lab
from swarmd.testing.iengine import make_iengine_tests


def real_engine(testcase, tcp=False):
    lab = shared_lab(n=2, testcase=testcase)
    engine = lab.engines[0]
    client = EngineClient(engine.tcp if tcp else engine.unix_url, reactor, timeout=30)
    testcase.addCleanup(client.close)
    return client


class RealEngineUnixConformanceTests(make_iengine_tests(real_engine)):
    """
    A real dockerd over its unix socket behaves as the suite says.
    """


class RealEngineTCPConformanceTests(make_iengine_tests(lambda case: real_engine(case, True))):
    """
    A real dockerd over loopback TCP behaves as the suite says.
    """
