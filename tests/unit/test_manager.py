"""
Tests for L{swarmd.manager.make_manager_service}: the settings of C{swarm
manage} become a running manager, listening on every C{--host}.
"""

import os
import tempfile

import treq
from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, HTTPConnectionPool

from swarmd import API_VERSION
from swarmd.manager import ListenError, listen_endpoint, make_manager_service
from swarmd.tap import Options


def manage_config(*args):
    """
    @return: the L{swarmd.config.ManageConfig} of C{swarm manage args}.
    """
    options = Options(environ={})
    options.parseOptions(["manage"] + list(args))
    return options.subOptions.config


class _UnixAgent:
    """
    An agent for one unix socket (the manager's C{unix://} host).
    """

    def __init__(self, path):
        from twisted.internet.endpoints import UNIXClientEndpoint
        from twisted.web.iweb import IAgentEndpointFactory
        from zope.interface import implementer

        @implementer(IAgentEndpointFactory)
        class Endpoints:
            def endpointForURI(self, uri):
                return UNIXClientEndpoint(reactor, path)

        self.agent = Agent.usingEndpointFactory(
            reactor, Endpoints(), pool=HTTPConnectionPool(reactor, persistent=False))


class MakeManagerServiceTests(TestCase):
    """
    A manager built from command-line settings, with the real reactor on
    loopback (its one engine address refuses connections).
    """

    def setUp(self):
        folder = tempfile.mkdtemp(prefix="swarmd-manager-", dir="/tmp")
        self.addCleanup(lambda: os.path.isdir(folder) and os.rmdir(folder))
        self.socket = os.path.join(folder, "swarm.sock")
        self.addCleanup(lambda: os.path.exists(self.socket) and os.unlink(self.socket))
        config = manage_config(
            "-H", "unix://" + self.socket, "-H", "tcp://127.0.0.1:0",
            "--engine-failure-retry", "5", "--engine-refresh-min-interval", "7s",
            "--engine-refresh-max-interval", "9s", "--engine-relist-interval", "2m",
            "--refresh-on-node-filter",
            "--container-name-refresh-filter", "swarm-agent", "--strategy", "binpack",
            "-f", "health", "-f", "constraint", "nodes://127.0.0.1:1")
        self.service = make_manager_service(config, reactor)
        self.service.startService()
        self.addCleanup(self.service.stopService)

    def _tcp_port(self):
        for child in self.service.graceful:
            waiting = getattr(child, "_waitingForPort", None)
            if waiting is not None and "TCP" in type(child.endpoint).__name__:
                number = Deferred()

                def seen(port, number=number):
                    # The service stops the port it gets from here: pass it on.
                    number.callback(port.getHost().port)
                    return port

                waiting.addCallback(seen)
                return number
        self.fail("no TCP listener")

    @inlineCallbacks
    def test_every_host_answers(self):
        """The manager answers /_ping with its API version on the unix socket and TCP."""
        port = yield self._tcp_port()
        answers = [
            (yield treq.get("http://127.0.0.1:%d/_ping" % (port,),
                            pool=HTTPConnectionPool(reactor, persistent=False))),
            (yield treq.request("GET", "http://swarm/_ping",
                                agent=_UnixAgent(self.socket).agent)),
        ]
        for response in answers:
            self.assertEqual(response.code, 200)
            self.assertEqual(response.headers.getRawHeaders(b"Api-Version"),
                             [API_VERSION.encode("ascii")])
            self.assertEqual((yield response.content()), b"OK")
        self.assertEqual(os.stat(self.socket).st_mode & 0o777, 0o660)

    def test_settings_reach_the_manager(self):
        """Refresh, failure, scheduling and list-refresh flags are the running manager's."""
        options = self.service.cluster.options
        self.assertEqual((options.refresh_min, options.refresh_max, options.failure_retry,
                          options.relist_interval), (7.0, 9.0, 5, 120.0))
        api = self.service.api
        self.assertEqual((api.system.strategy, api.system.filters),
                         ("binpack", ("health", "constraint")))
        self.assertEqual((api.containers.refresh_on_node_filter,
                          api.containers.container_name_refresh_filter),
                         (True, "swarm-agent"))


class ListenEndpointTests(TestCase):
    """
    C{--host} values.
    """

    def test_bad_hosts(self):
        """Hosts that are neither tcp://host:port nor unix:///path are refused clearly."""
        for host in ("tcp://127.0.0.1:http", "udp://1.2.3.4:5", "127.0.0.1:2375"):
            self.assertRaises(ListenError, listen_endpoint, reactor, host)

    def test_ipv6(self):
        """A bracketed IPv6 address listens on that interface."""
        endpoint = listen_endpoint(reactor, "tcp://[::1]:2375")
        self.assertEqual((type(endpoint).__name__, endpoint._interface, endpoint._port),
                         ("TCP6ServerEndpoint", "::1", 2375))
