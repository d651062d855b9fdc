"""
Tests for L{swarmd.api.routes}: the one route table, its handlers found
when L{swarmd.api.app.DockerAPI} is built, the fast lane's patterns made
from it, and the handler groups the API is made of.
"""

import json
import re

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.api import app as app_module
from swarmd.api.app import DockerAPI
from swarmd.api.containers import ContainerRoutes
from swarmd.api.errors import DockerError
from swarmd.api.fastlane import FastLane
from swarmd.api.routes import (
    ROUTES,
    NotSupported,
    Route,
    UnknownHandler,
    fast_pattern,
    resolve_handlers,
    route_template,
)
from swarmd.api.system import ManagerStatus, SystemRoutes
from swarmd.testing.memory import MemoryManager


class _Group:
    """
    A handler group with one public handler, one private method and one
    attribute that is not callable.
    """

    answer = "not a handler"

    def ping(self, request, version=None):
        return b"OK"

    def _private(self, request, version=None):
        return b"secret"


class ResolveTests(SynchronousTestCase):
    """
    L{resolve_handlers}: every route's handler is a public method of a
    group, or the construction fails.
    """

    def test_every_route_resolves(self):
        """The API built from the table has a callable handler for every route."""
        api = DockerAPI(None, Clock())
        for route in ROUTES:
            self.assertTrue(callable(api.handlers[route.handler]), route)

    def test_handlers_are_the_groups_methods(self):
        """A handler name is a method of the group it names, bound to the API's group."""
        api = DockerAPI(None, Clock())
        self.assertEqual(api.handlers["system.ping"], api.system.ping)
        self.assertEqual(api.handlers["containers.container_json"],
                         api.containers.container_json)

    def test_unknown_name_fails_construction(self):
        """A route whose handler no group has stops the API from being built, naming it."""
        self.patch(app_module, "ROUTES", ROUTES + (
            Route("GET", "/containers/<path:name>/json", "containers.inpsect"),))
        with self.assertRaises(UnknownHandler) as caught:
            DockerAPI(None, Clock())
        self.assertIn("'containers.inpsect'", str(caught.exception))
        self.assertIn("GET /containers/<path:name>/json", str(caught.exception))

    def test_what_does_not_resolve(self):
        """An unknown group or method, a private method, an attribute or a bare name fail."""
        groups = {"g": _Group()}
        for name in ("h.ping", "g.pong", "g._private", "g.answer", "ping", "g.", ""):
            self.assertRaises(UnknownHandler, resolve_handlers,
                              [Route("GET", "/x", name)], groups)

    def test_resolved(self):
        """A public method resolves to the group's bound method; NotSupported to itself."""
        group = _Group()
        unsupported = NotSupported("no")
        handlers = resolve_handlers([Route("GET", "/x", "g.ping"),
                                     Route("GET", "/y", unsupported)], {"g": group})
        self.assertEqual(handlers, {"g.ping": group.ping, unsupported: unsupported})

    def test_not_supported_explicit(self):
        """The routes not served on purpose are marked NotSupported in the table."""
        unsupported = sorted(route.path for route in ROUTES
                             if isinstance(route.handler, NotSupported))
        self.assertEqual(unsupported, ["/build/cancel", "/images/viz", "/session"])
        error = self.assertRaises(DockerError, NotSupported("not here"), object())
        self.assertEqual((error.status, error.message), (501, "not here"))

    def test_one_entry_per_route(self):
        """No method and path is in the table twice."""
        keys = [(route.method, route.path) for route in ROUTES]
        self.assertEqual(len(keys), len(set(keys)))


class FastPatternTests(SynchronousTestCase):
    """
    The fast lane's patterns and the metrics' templates, made from the
    table's paths.
    """

    def test_fast_routes(self):
        """The table marks the five read-only routes clients call most, all GETs."""
        fast = [(route.method, route.path) for route in ROUTES if route.fast]
        self.assertEqual(sorted(fast), [
            ("GET", "/_ping"), ("GET", "/containers/<path:name>/json"),
            ("GET", "/containers/json"), ("GET", "/info"), ("GET", "/version")])

    def test_patterns(self):
        """A path variable matches across slashes, a plain one within one part, never a %."""
        pattern = re.compile(fast_pattern("/containers/<path:name>/json") + r"\Z")
        self.assertEqual(pattern.match("/containers/n1/web/json").group("name"), "n1/web")
        self.assertIsNone(pattern.match("/containers/w%2Fb/json"))
        plain = re.compile(fast_pattern("/exec/<execid>/json") + r"\Z")
        self.assertEqual(plain.match("/exec/abc/json").group("execid"), "abc")
        self.assertIsNone(plain.match("/exec/a/b/json"))
        self.assertEqual(fast_pattern("/a.b"), r"/a\.b")

    def test_unknown_converter(self):
        """A converter the fast lane cannot match is refused when its pattern is made."""
        self.assertRaises(ValueError, fast_pattern, "/x/<int:n>")

    def test_templates(self):
        """Templates name the variables as metrics label them."""
        self.assertEqual(route_template("/containers/<path:name>/json"),
                         "/containers/{name}/json")
        self.assertEqual(route_template("/exec/<execid>/json"), "/exec/{execid}/json")

    def test_lane_from_a_table(self):
        """The fast lane answers the fast routes of the table it is given, and no other."""
        table = (Route("GET", "/things/<path:name>", "g.ping", fast=True),
                 Route("GET", "/other", "g.ping"))
        lane = FastLane(None, None, routes=table)
        self.assertEqual(lane.match(b"GET", b"/v1.41/things/a/b"),
                         ("g.ping", {"name": "a/b", "version": "1.41"}))
        self.assertIsNone(lane.match(b"GET", b"/other"))
        self.assertIsNone(lane.match(b"POST", b"/things/a"))


class GroupTests(SynchronousTestCase):
    """
    The handler groups: objects with their own constructor arguments, the
    state several share passed to them.
    """

    def test_groups_built_from_arguments(self):
        """The API's arguments reach the groups that use them."""
        api = DockerAPI(None, Clock(), strategy="binpack", filters=["health"], debug=True,
                        refresh_on_node_filter=True, container_name_refresh_filter="agent")
        self.assertEqual((api.system.strategy, api.system.filters, api.system.debug),
                         ("binpack", ("health",), True))
        self.assertEqual((api.containers.refresh_on_node_filter,
                          api.containers.container_name_refresh_filter), (True, "agent"))
        for group in (api.system, api.events, api.containers, api.images, api.networks,
                      api.volumes):
            self.assertIs(group.clock, api.clock)
        self.assertIs(api.system.status, api.events.status)

    def test_group_alone(self):
        """A group works built on its own, without an API around it."""
        status = ManagerStatus()
        status.event_listeners = 3
        status.role = lambda: ("replica", "127.0.0.1:4000")
        manager = MemoryManager(["127.0.0.1:2376"])
        self.addCleanup(manager.stop)
        system = SystemRoutes(manager.cluster, manager.clock, status, strategy="random")
        request = _Request()
        answer = json.loads(system.info(request))
        self.assertEqual((answer["NEventsListener"], answer["SystemStatus"][0],
                          answer["SystemStatus"][1], answer["SystemStatus"][2]),
                         (3, ["Role", "replica"], ["Primary", "127.0.0.1:4000"],
                          ["Strategy", "random"]))
        containers = ContainerRoutes(manager.cluster, manager.clock)
        self.assertEqual(containers.containers_json(_Request()), b"[]\n")

    def test_status_shared(self):
        """The role set on the API and the events clients counted show in /info."""
        manager = MemoryManager(["127.0.0.1:2376"])
        self.addCleanup(manager.stop)
        manager.api.role = lambda: ("replica", "127.0.0.1:4000")
        manager.api.status.event_listeners += 2
        code, _, content = self.successResultOf(manager.request("GET", "/info"))
        answer = json.loads(content)
        self.assertEqual((code, answer["NEventsListener"], answer["SystemStatus"][0]),
                         (200, 2, ["Role", "replica"]))
        self.assertEqual(manager.api.event_listeners, 2)


class _Request:
    """
    Just enough of a request for a handler answering from the cache.
    """

    def __init__(self):
        self.args = {}
        self.headers = {}

    def setHeader(self, name, value):
        self.headers[name] = value
