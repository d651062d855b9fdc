"""
The conformance suite of L{IEngineClient}: behaviour every engine shows
through L{swarmd.engine.EngineClient}, run against the fake engine in unit
tests and against a real dockerd in functional tests, so the fake stays
honest::

    def fixture(testcase):
        ...start or find an engine, register its cleanup on testcase...
        return succeed(EngineClient(address, reactor))

    class FakeEngineConformance(make_iengine_tests(fixture)):
        pass

The tests run on the real reactor (engines answer over real sockets).
Every container a test makes has a unique C{conf-...} name and is removed
when the test ends, whether it passed or not.
"""

from twisted.trial.unittest import TestCase

from swarmd.testing.conformance.engine._support import (
    EngineCase,
    HijackedStream,
    demux,
    frame,
    http_request,
    parse_head,
    stream_error,
    stream_messages,
    stream_text,
)
from swarmd.testing.conformance.engine.container_ops import ContainerOpsConformance
from swarmd.testing.conformance.engine.containers import ContainerConformance
from swarmd.testing.conformance.engine.exec_attach import AttachConformance, ExecConformance
from swarmd.testing.conformance.engine.files import FileConformance
from swarmd.testing.conformance.engine.images import ImageConformance
from swarmd.testing.conformance.engine.networks import NetworkConformance
from swarmd.testing.conformance.engine.system import SystemConformance
from swarmd.testing.conformance.engine.volumes import VolumeConformance

__all__ = ["HijackedStream", "demux", "frame", "http_request", "make_iengine_tests",
           "parse_head", "stream_error", "stream_messages", "stream_text"]


def make_iengine_tests(fixture, registry=None):
    """
    Build the conformance suite of L{IEngineClient}: the interface's calls,
    and (as raw calls through C{request}) the network, volume, image, build,
    push, search and login routes the manager proxies.

    @param fixture: called as C{fixture(testcase)}; returns a L{Deferred}
        firing with an L{IEngineClient} talking to the engine under test
        (with C{busybox:latest} present), after registering on C{testcase}
        whatever cleanup the engine and client need.
    @param registry: L{None}, or called as C{registry(testcase)}, returning
        (or firing with) the C{host:port} of a registry the engine can push
        to, pull from and log in to (the push test is skipped without).
    @return: a L{TestCase} subclass; subclass it in a test module to run it.
    """

    class IEngineClientTests(SystemConformance, ContainerConformance, ExecConformance,
                             AttachConformance, FileConformance, ContainerOpsConformance,
                             ImageConformance, NetworkConformance, VolumeConformance,
                             EngineCase, TestCase):
        """
        Behaviour every Docker engine shows through L{IEngineClient}.
        """

        timeout = 120
        _fixture = staticmethod(fixture)
        _registry = None if registry is None else staticmethod(registry)

    return IEngineClientTests
