"""
Tests for L{swarmd.cluster.cluster.Cluster}: engines from discovery, the
container index, scheduler views, and race-free creation.
"""

import collections
import json
import random

from twisted.internet.defer import CancelledError, Deferred, fail, gatherResults
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster import Cluster, ClusterError, EngineOptions
from swarmd.cluster.engine import Engine
from swarmd.engine import EngineError, EngineUnreachable
from swarmd.scheduler import ContainerConfig, Scheduler, filters_for, strategy_for
from swarmd.scheduler.node import apply_overcommit
from swarmd.testing.fakediscovery import FakeDiscovery
from swarmd.testing.stubengine import StubClient, inspect

GIB = 1024 ** 3
ALL_FILTERS = ["health", "port", "containerslots", "dependency", "affinity", "constraint",
               "whitelist"]


def make_cluster(n=2, strategy="spread", create_retry=0, overcommit=0.05, **client_options):
    clock = Clock()
    clients = {}

    def factory(address):
        index = int(address.rsplit(":", 1)[1]) - 2375
        client = StubClient(address, name="n%d" % index, clock=clock, **client_options)
        clients[address] = client
        return client

    discovery = FakeDiscovery(clock=clock)
    cluster = Cluster(clock, discovery, factory,
                      Scheduler(strategy_for(strategy, random=random.Random(1)),
                                filters_for(ALL_FILTERS)),
                      EngineOptions(overcommit=overcommit), create_retry=create_retry,
                      random=random.Random(2))
    cluster.start()
    discovery.set_entries(["127.0.0.1:%d" % (2375 + i) for i in range(1, n + 1)])
    clock.advance(0)
    return cluster, clients, clock, discovery


def config(name=None, **body):
    body.setdefault("Image", "busybox")
    return ContainerConfig.from_create_body(body, name)


class EnginesTests(SynchronousTestCase):
    """
    Engines follow discovery.
    """

    def test_engines_follow_discovery(self):
        """New addresses become healthy engines; gone ones leave with their containers."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        self.assertEqual(sorted(e.name for e in cluster.healthy_engines()), ["n1", "n2"])
        clients["127.0.0.1:2377"].containers["c1"] = inspect("c1", "web")
        cluster.engines["127.0.0.1:2377"].refresh_containers()
        self.assertIsNotNone(cluster.container("web"))
        discovery.set_entries(["127.0.0.1:2376"])
        clock.advance(0)
        self.assertEqual(list(cluster.engines), ["127.0.0.1:2376"])
        self.assertIsNone(cluster.container("web"))
        self.assertTrue(clients["127.0.0.1:2377"].streams[0].stopped)

    def test_engine_lookup(self):
        """An engine is found by name, ID or address."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        engine = cluster.engines["127.0.0.1:2376"]
        for reference in ("n1", "ID-n1|127.0.0.1:2376", "127.0.0.1:2376"):
            self.assertIs(cluster.engine(reference), engine)
        self.assertIsNone(cluster.engine("n9"))

    def test_events_decorated_with_node(self):
        """Engine events reach subscribers with the node's name, ID, address and IP."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        seen = []
        unsubscribe = cluster.subscribe(seen.append)
        clients["127.0.0.1:2376"].streams[0].callback(
            {"Type": "container", "Action": "start", "Actor": {"ID": "x", "Attributes": {}},
             "timeNano": 1795860001000000000})
        unsubscribe()
        clients["127.0.0.1:2376"].streams[0].callback(
            {"Type": "container", "Action": "stop", "Actor": {"ID": "x"},
             "timeNano": 1795860002000000000})
        self.assertEqual(len(seen), 1)
        attributes = seen[0]["Actor"]["Attributes"]
        self.assertEqual(attributes["node.name"], "n1")
        self.assertEqual(attributes["node.addr"], "127.0.0.1:2376")
        self.assertEqual(attributes["node.ip"], "127.0.0.1")
        self.assertEqual(seen[0]["node"]["Name"], "n1")


class ViewTests(SynchronousTestCase):
    """
    Scheduler views are kept per engine.
    """

    def test_views_reused_until_engine_changes(self):
        """The same Node object is returned until the engine's state changes."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        first = {n.name: n for n in cluster.nodes()}
        again = {n.name: n for n in cluster.nodes()}
        self.assertIs(first["n1"], again["n1"])
        clients["127.0.0.1:2376"].containers["c1"] = inspect("c1", "web")
        cluster.engines["127.0.0.1:2376"].refresh_containers()
        after = {n.name: n for n in cluster.nodes()}
        self.assertIsNot(after["n1"], first["n1"])
        self.assertIs(after["n2"], first["n2"])
        self.assertEqual([c["Id"] for c in after["n1"].containers], ["c1"])

    def test_views_made_in_the_background(self):
        """
        The views are made every VIEWS_INTERVAL seconds, before any create
        asks: the first nodes() then makes none, and a changed engine's view
        is made again by the next background update.
        """
        from swarmd.cluster import cluster as cluster_module

        cluster, clients, clock, discovery = make_cluster(n=3)
        self.addCleanup(cluster.stop)
        made = []
        real = cluster._view
        cluster._view = lambda engine, cached: (made.append(engine.name), real(engine, cached))[1]
        clock.advance(cluster_module.VIEWS_INTERVAL)
        self.assertEqual(sorted(made), ["n1", "n2", "n3"])
        made[:] = []
        first = {n.name: n for n in cluster.nodes()}
        self.assertEqual(made, [])
        clients["127.0.0.1:2377"].containers["c1"] = inspect("c1", "web")
        cluster.engines["127.0.0.1:2377"].refresh_containers()
        clock.advance(cluster_module.VIEWS_INTERVAL)
        self.assertEqual(made, ["n2"])
        after = {n.name: n for n in cluster.nodes()}
        self.assertEqual(made, ["n2"])
        self.assertIs(after["n1"], first["n1"])
        self.assertEqual([c["Id"] for c in after["n2"].containers], ["c1"])

    def test_list_entries_made_in_the_background(self):
        """
        The list entries of containers an engine reports are made on a
        later turn, before any list asks; one read again gets its own.
        """
        cluster, clients, clock, discovery = make_cluster(n=1)
        self.addCleanup(cluster.stop)
        client = clients["127.0.0.1:2376"]
        client.containers["c1"] = inspect("c1", "web")
        client.containers["c2"] = inspect("c2", "db")
        engine = cluster.engines["127.0.0.1:2376"]
        engine.refresh_containers()
        first = {c.name: c for c in engine.containers.values()}
        self.assertEqual([c.listing_until() for c in first.values()], [0.0, 0.0])
        clock.advance(0)
        self.assertNotIn(0.0, [c.listing_until() for c in first.values()])
        client.containers["c1"] = inspect("c1", "web", status="exited")
        engine.refresh_container("c1")
        web = engine.containers["c1"]
        self.assertIsNot(web, first["web"])
        self.assertEqual(web.listing_until(), 0.0)
        clock.advance(0)
        self.assertNotEqual(web.listing_until(), 0.0)

    def test_health_change_updates_view(self):
        """A health change shows in the view without a rebuild of its containers."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        engine = cluster.engines["127.0.0.1:2376"]
        self.assertTrue(cluster.nodes()[0].healthy)
        for _ in range(3):
            engine.failed(__import__("swarmd.engine", fromlist=["x"]).EngineUnreachable(
                engine.address, "down"))
        view = cluster.nodes()[0]
        self.assertFalse(view.healthy)
        self.assertEqual(view.health_indicator, 0)


class NodeListTests(SynchronousTestCase):
    """
    Cluster.nodes() looks again only at engines that changed, and still
    sees every change a view depends on.
    """

    def test_images_refresh_shows(self):
        """A new image (a revision bump with no container change) is in the next view."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        before = {n.name: n for n in cluster.nodes()}
        self.assertNotIn("redis:latest", before["n1"].image_refs)
        clients["127.0.0.1:2376"].images.add("redis")
        cluster.engines["127.0.0.1:2376"].refresh_list("images")
        after = {n.name: n for n in cluster.nodes()}
        self.assertIn("redis:latest", after["n1"].image_refs)
        self.assertIs(after["n2"], before["n2"])

    def test_one_failure_lowers_health_indicator(self):
        """A failure that leaves the engine healthy still lowers its view's health indicator."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        engine = cluster.engines["127.0.0.1:2376"]
        self.assertEqual(cluster.nodes()[0].health_indicator, 100)
        engine.failed(EngineUnreachable(engine.address, "timeout"))
        view = cluster.nodes()[0]
        self.assertTrue(view.healthy)
        self.assertEqual(view.health_indicator, engine.health_indicator)
        self.assertLess(view.health_indicator, 100)
        engine.succeeded()
        self.assertEqual(cluster.nodes()[0].health_indicator, 100)

    def test_late_engine_joins_in_order(self):
        """An engine connecting after the others joins the list at its place; a leaving one goes."""
        cluster, clients, clock, discovery = make_cluster(n=0)
        factory = cluster._client_factory

        def down_at_first(address):
            client = factory(address)
            client.down = address == "127.0.0.1:2377"
            return client

        cluster._client_factory = down_at_first
        discovery.set_entries(["127.0.0.1:%d" % p for p in (2376, 2377, 2378)])
        clock.advance(0)
        self.assertEqual([n.name for n in cluster.nodes()], ["n1", "n3"])
        clients["127.0.0.1:2377"].down = False
        self.successResultOf(cluster.engines["127.0.0.1:2377"].connect())
        self.assertEqual([n.name for n in cluster.nodes()], ["n1", "n2", "n3"])
        discovery.set_entries(["127.0.0.1:2376", "127.0.0.1:2378"])
        clock.advance(0)
        self.assertEqual([n.name for n in cluster.nodes()], ["n1", "n3"])

    def test_pending_copies_not_kept(self):
        """A pending container shows in the views given out, never in the views kept."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        clients["127.0.0.1:2376"].delay = 1.0
        base = cluster.nodes()[0]
        d = cluster.create_container(config("web", HostConfig={"Memory": GIB}))
        during = cluster.nodes()[0]
        self.assertEqual(during.used_memory, GIB)
        self.assertEqual(base.used_memory, 0)
        self.assertEqual(cluster.nodes()[0].used_memory, GIB)
        clock.advance(1.0)
        self.successResultOf(d)
        self.assertEqual(cluster.pending, {})
        after = cluster.nodes()[0]
        self.assertEqual(after.used_memory, GIB)
        self.assertEqual([c["Name"] for c in after.containers], ["/web"])

    def test_engine_stays_an_engine(self):
        """The cluster's engines are Engines whose watched fields read and write as before."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        engine = cluster.engines["127.0.0.1:2376"]
        self.assertIsInstance(engine, Engine)
        revision = engine.revision
        engine.revision += 1
        self.assertEqual(engine.revision, revision + 1)
        self.assertEqual(engine.state, "Healthy")


class OvercommitTests(SynchronousTestCase):
    """
    Engines reserve CPUs and memory with classic Swarm's overcommit.
    """

    def test_negative_overcommit_truncates_toward_zero(self):
        """3 CPUs at swarm.overcommit=-0.5 give 2 (Go's division), 1001 bytes give 501."""
        cluster, clients, clock, discovery = make_cluster(n=1, overcommit=-0.5, cpus=3,
                                                          memory=1001)
        engine = cluster.engines["127.0.0.1:2376"]
        self.assertEqual((engine.total_cpus, engine.total_memory), (2, 501))
        self.assertEqual((engine.total_cpus, engine.total_memory),
                         (apply_overcommit(3, -0.5), apply_overcommit(1001, -0.5)))
        view = cluster.nodes()[0]
        self.assertEqual((view.total_cpus, view.total_memory), (2, 501))

    def test_positive_overcommit(self):
        """4 CPUs and 8 GiB at the default 0.05 give 4 CPUs and 8 GiB plus 5%."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        engine = cluster.engines["127.0.0.1:2376"]
        self.assertEqual((engine.total_cpus, engine.total_memory),
                         (4, 8 * GIB + 8 * GIB * 5 // 100))


class CreateTests(SynchronousTestCase):
    """
    Creation: placement, pending entries, pulls, retries.
    """

    def test_create_caches_container(self):
        """A created container is in the cache at once, with its Swarm ID; nothing pending."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        engine, answer = self.successResultOf(cluster.create_container(config("web")))
        container = cluster.container("web")
        self.assertEqual(container.id, answer["Id"])
        self.assertIs(container.engine, engine)
        self.assertEqual(len(container.swarm_id), 64)
        self.assertEqual(cluster.pending, {})

    def test_pending_name_refused(self):
        """While a create is under way, its name is taken: a second create gets 409."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        for client in clients.values():
            client.delay = 1.0
        first = cluster.create_container(config("web"))
        failure = self.failureResultOf(cluster.create_container(config("web")), ClusterError)
        self.assertEqual(failure.value.status, 409)
        self.assertIn('"/web" is already in use', failure.value.message)
        self.assertEqual(len(cluster.pending), 1)
        clock.advance(1.0)
        self.successResultOf(first)
        self.assertEqual(cluster.pending, {})

    def test_invalid_name_is_400(self):
        """Names Docker refuses are refused before scheduling."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        for bad in ("x", "-web", "we b"):
            failure = self.failureResultOf(cluster.create_container(config(bad)), ClusterError)
            self.assertEqual(failure.value.status, 400)
        self.assertEqual(clients["127.0.0.1:2376"].calls.count("create_container"), 0)

    def test_no_healthy_node(self):
        """With every engine down the classic message comes back as a 500."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        engine = cluster.engines["127.0.0.1:2376"]
        from swarmd.engine import EngineUnreachable

        for _ in range(3):
            engine.failed(EngineUnreachable(engine.address, "down"))
        failure = self.failureResultOf(cluster.create_container(config("web")), ClusterError)
        self.assertEqual(failure.value.status, 500)
        self.assertEqual(failure.value.message, "No healthy node available in the cluster")

    def test_missing_image_pulled_where_placed(self):
        """An image missing on the chosen node is pulled there, then created."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        client.registry.add("alpine")
        engine, answer = self.successResultOf(cluster.create_container(
            config("web", Image="alpine")))
        self.assertEqual(client.calls.count("create_container"), 2)
        self.assertIn("pull_image", client.calls)
        self.assertEqual(cluster.container("web").info["Config"]["Image"], "alpine")

    def test_pull_failure_places_next_to_image(self):
        """If the pull fails, the container goes to a node that has the image."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        n1, n2 = clients["127.0.0.1:2376"], clients["127.0.0.1:2377"]
        n1.images.discard("special")
        n2.images.add("special")
        cluster.engines["127.0.0.1:2377"].refresh_list("images")
        # n2 gets a container so that spread picks n1 first.
        self.successResultOf(cluster.create_container(config("filler", **{
            "Labels": {"com.docker.swarm.constraints": '["node==n2"]'}})))
        engine, answer = self.successResultOf(cluster.create_container(
            config("web", Image="special")))
        self.assertEqual(engine.name, "n2")
        self.assertIn("pull_image", n1.calls)
        labels = cluster.container("web").labels
        self.assertNotIn("com.docker.swarm.affinities", labels)

    def test_registry_auth_passed_to_create_and_pull(self):
        """The client's X-Registry-Auth reaches the chosen engine's create and pull, unchanged."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        client.registry.add("private/app")
        seen = record_auth(client)
        auth = b"eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAifQ=="
        self.successResultOf(cluster.create_container(config("web", Image="private/app"),
                                                      auth=auth))
        self.assertEqual(seen, [("create_container", auth), ("pull_image", auth),
                                ("create_container", auth)])

    def test_registry_auth_follows_image_affinity_retry(self):
        """After a failed pull the create next to the image carries the same auth."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        n1, n2 = clients["127.0.0.1:2376"], clients["127.0.0.1:2377"]
        n2.images.add("special")
        cluster.engines["127.0.0.1:2377"].refresh_list("images")
        self.successResultOf(cluster.create_container(config("filler", **{
            "Labels": {"com.docker.swarm.constraints": '["node==n2"]'}})))
        seen1, seen2 = record_auth(n1), record_auth(n2)
        engine, answer = self.successResultOf(cluster.create_container(
            config("web", Image="special"), auth="token"))
        self.assertEqual(engine.name, "n2")
        self.assertEqual(seen1, [("create_container", "token"), ("pull_image", "token")])
        self.assertEqual(seen2, [("create_container", "token")])

    def test_node_constraint_suppresses_image_retry(self):
        """With node==n1, a failed pull on n1 is the answer: no retry next to the image on n2."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        n1, n2 = clients["127.0.0.1:2376"], clients["127.0.0.1:2377"]
        n2.images.add("special")
        cluster.engines["127.0.0.1:2377"].refresh_list("images")
        self.assertTrue(cluster.has_image("special"))
        failure = self.failureResultOf(cluster.create_container(config("web", **{
            "Image": "special", "Env": ["constraint:node==n1"]})), EngineError)
        self.assertEqual(failure.value.status, 404)
        self.assertIn("No such image: special (pull on n1 failed", failure.value.message)
        self.assertEqual(n1.calls.count("pull_image"), 1)
        self.assertNotIn("create_container", n2.calls)
        self.assertIsNone(cluster.container("web"))
        self.assertEqual(cluster.pending, {})

    def test_soft_node_constraint_allows_image_retry(self):
        """A soft node==~n1 does not pin: after the failed pull the container goes to n2."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        n1, n2 = clients["127.0.0.1:2376"], clients["127.0.0.1:2377"]
        n2.images.add("special")
        cluster.engines["127.0.0.1:2377"].refresh_list("images")
        engine, answer = self.successResultOf(cluster.create_container(config("web", **{
            "Image": "special", "Env": ["constraint:node==~n1"]})))
        self.assertEqual(engine.name, "n2")
        self.assertIn("pull_image", n1.calls)

    def test_missing_everywhere_is_404(self):
        """An image nobody has and nobody can pull is a 404 naming it."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        failure = self.failureResultOf(cluster.create_container(
            config("web", Image="ghost")), EngineError)
        self.assertEqual(failure.value.status, 404)
        self.assertIn("No such image: ghost", failure.value.message)
        self.assertEqual(cluster.pending, {})

    def test_create_retry_uses_another_node(self):
        """With swarm.createretry, an engine failure is retried on a node that has not failed."""
        cluster, clients, clock, discovery = make_cluster(n=2, create_retry=1)
        n1, n2 = clients["127.0.0.1:2376"], clients["127.0.0.1:2377"]
        original = n1.create_container

        def broken(body, name=None, auth=None):
            n1.calls.append("create_container")
            from twisted.internet.defer import fail

            return fail(EngineError(500, "engine exploded"))

        n1.create_container = broken
        n2.create_container = lambda *a, **k: original.__func__(n2, *a, **k)
        results = [self.successResultOf(cluster.create_container(config("web%d" % i)))
                   for i in range(4)]
        self.assertEqual({engine.name for engine, _ in results}, {"n2"})

    def test_create_retry_zero_fails(self):
        """Without retries an engine failure is returned as is."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        from twisted.internet.defer import fail

        clients["127.0.0.1:2376"].create_container = (
            lambda *a, **k: fail(EngineError(500, "engine exploded")))
        failure = self.failureResultOf(cluster.create_container(config("web")), EngineError)
        self.assertEqual(failure.value.message, "engine exploded")


def record_auth(client):
    """
    Make C{client} note the registry auth of each create and pull.

    @return: the C{list} of C{(call, auth)} it appends to.
    """
    seen = []
    create, pull = client.create_container, client.pull_image

    def create_container(body, name=None, auth=None):
        seen.append(("create_container", auth))
        return create(body, name, auth)

    def pull_image(image, auth=None):
        seen.append(("pull_image", auth))
        return pull(image, auth)

    client.create_container, client.pull_image = create_container, pull_image
    return seen


def flaky_inspect(client, failures=1):
    """
    Make the next C{failures} inspects of C{client} fail with a 500 (the
    container exists, the manager just cannot read it yet).
    """
    original = client.inspect_container
    left = [failures]

    def inspect_container(cid):
        if left[0]:
            left[0] -= 1
            client.calls.append("inspect_container")
            return fail(EngineError(500, "inspect timed out"))
        return original(cid)

    client.inspect_container = inspect_container


class PendingSettleTests(SynchronousTestCase):
    """
    A container created but not yet inspected keeps its pending entry until
    the cache holds it, a later complete refresh does not find it, or its
    engine leaves.
    """

    def test_kept_until_cached(self):
        """After a failed inspect the entry holds name and memory until a refresh caches it."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        flaky_inspect(client)
        engine, answer = self.successResultOf(cluster.create_container(
            config("web", HostConfig={"Memory": GIB})))
        self.assertIsNone(cluster.container("web"))
        (entry,) = cluster.pending.values()
        self.assertEqual((entry.name, entry.info["Id"]), ("web", answer["Id"]))
        self.assertEqual(cluster.nodes()[0].used_memory, GIB)
        failure = self.failureResultOf(cluster.create_container(config("/web")), ClusterError)
        self.assertEqual(failure.value.status, 409)
        clock.advance(cluster.options.refresh_min)
        self.assertEqual(cluster.pending, {})
        self.assertEqual(cluster.container("web").id, answer["Id"])
        self.assertEqual(cluster.nodes()[0].used_memory, GIB)

    def test_dropped_when_refresh_does_not_find_it(self):
        """A complete refresh after the create that does not list the container drops the entry."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        flaky_inspect(client)
        engine, answer = self.successResultOf(cluster.create_container(config("web")))
        del client.containers[answer["Id"]]
        clock.advance(cluster.options.refresh_min - 1)
        self.assertEqual(len(cluster.pending), 1)
        clock.advance(1)
        self.assertEqual(cluster.pending, {})
        self.assertIsNone(cluster.container("web"))
        self.successResultOf(cluster.create_container(config("web")))

    def test_kept_while_refreshes_fail(self):
        """While the engine cannot be refreshed the entry stays; it goes once the cache has it."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        flaky_inspect(client)
        engine, answer = self.successResultOf(cluster.create_container(config("web")))
        client.down = True
        for _ in range(10):
            clock.advance(cluster.options.refresh_min)
        self.assertEqual([p.name for p in cluster.pending.values()], ["web"])
        self.assertFalse(engine.healthy)
        client.down = False
        for _ in range(600):
            if not cluster.pending:
                break
            clock.advance(10)
        self.assertEqual(cluster.pending, {})
        self.assertEqual(cluster.container("web").id, answer["Id"])

    def test_dropped_when_engine_leaves(self):
        """An engine leaving discovery takes its pending entries and their follow-ups with it."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        for client in clients.values():
            flaky_inspect(client)
        engine, answer = self.successResultOf(cluster.create_container(config("web")))
        client = clients[engine.address]
        self.assertEqual(len(cluster.pending), 1)
        discovery.set_entries([a for a in clients if a != engine.address])
        clock.advance(0)
        self.assertEqual(cluster.pending, {})
        listed = client.calls.count("list_containers")
        clock.advance(cluster.options.refresh_min)
        self.assertEqual(client.calls.count("list_containers"), listed)

    def test_kept_when_cancelled_during_inspect(self):
        """A create cancelled (client gone) after the engine created it still holds its entry."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        original = client.inspect_container
        hanging = []

        def inspect_container(cid):
            if not hanging:
                hanging.append(Deferred())
                return hanging[0]
            return original(cid)

        client.inspect_container = inspect_container
        d = cluster.create_container(config("web"))
        self.assertEqual(len(hanging), 1)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual([p.name for p in cluster.pending.values()], ["web"])
        clock.advance(cluster.options.refresh_min)
        self.assertEqual(cluster.pending, {})
        self.assertIsNotNone(cluster.container("web"))

    def test_failed_create_drops_entry_at_once(self):
        """A create the engine refused leaves nothing pending and schedules no follow-up."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        client = clients["127.0.0.1:2376"]
        client.create_container = lambda *a, **k: fail(EngineError(500, "engine exploded"))
        self.failureResultOf(cluster.create_container(config("web")), EngineError)
        self.assertEqual(cluster.pending, {})
        self.assertEqual([c for c in clock.getDelayedCalls()
                          if getattr(c.func, "__name__", "") == "_settle"], [])


class ConcurrencyTests(SynchronousTestCase):
    """
    Many creates at once never double-book a node.
    """

    def test_200_concurrent_binpack_creates(self):
        """200 creates in flight, names colliding: no node over-reserved, names unique."""
        cluster, clients, clock, discovery = make_cluster(n=4, strategy="binpack")
        for client in clients.values():
            client.delay = 0.5
        # Every tenth create from 3 on takes the name of the one three
        # before it with a leading "/", and every tenth from 7 on repeats
        # the name of the one seven before it.
        names = []
        for i in range(200):
            if i % 10 == 3:
                names.append("/" + names[i - 3])
            elif i % 10 == 7:
                names.append(names[i - 7])
            else:
                names.append("job%03d" % i)
        creates = [cluster.create_container(config(name, HostConfig={"Memory": GIB}))
                   for name in names]
        # All 200 are placed before any engine answers: the reservations
        # (cached plus pending) fit on every node.
        for node in cluster.nodes():
            self.assertLessEqual(node.used_memory, node.total_memory)
        self.assertEqual(len(cluster.pending), 32)
        outcomes = []
        for name, d in zip(names, creates, strict=True):
            d.addCallbacks(lambda r, name=name: outcomes.append((name, "ok", r)),
                           lambda f, name=name: outcomes.append((name, "error", f.value)))
        clock.advance(1)
        self.assertEqual(len(outcomes), 200)
        ok = [(name, r) for name, kind, r in outcomes if kind == "ok"]
        errors = [(name, e) for name, kind, e in outcomes if kind == "error"]
        # 8 GiB + 5% overcommit holds 8 containers of 1 GiB on each of 4 nodes.
        self.assertEqual(len(ok), 32)
        statuses = collections.Counter()
        for name, error in errors:
            self.assertIsInstance(error, ClusterError)
            statuses[error.status] += 1
            if error.status == 409:
                self.assertEqual(
                    error.message,
                    'Conflict. The container name "/%s" is already in use by container "%s". '
                    "You have to remove (or rename) that container to be able to reuse that "
                    "name." % (name.lstrip("/"), cluster.container(name.lstrip("/")).swarm_id))
            else:
                self.assertEqual(error.status, 500)
                self.assertEqual(error.message.split("\n")[0],
                                 "no resources available to schedule container")
        # The twins and repeats of the 32 that got room are refused by name;
        # the others' owners had failed already, so they fail for room.
        self.assertEqual(statuses, {409: 8, 500: 160})
        for engine in cluster.engines.values():
            self.assertLessEqual(engine.used_memory, engine.total_memory)
            self.assertEqual(len(engine.containers), 8)
        cached = [c.name for c in cluster.containers]
        self.assertEqual(len(cached), 32)
        self.assertEqual(len(cached), len(set(cached)))
        on_engines = [c["Name"] for client in clients.values()
                      for c in client.containers.values()]
        self.assertEqual(sorted(on_engines), sorted("/" + name for name in cached))
        self.assertEqual(sorted(cached), sorted(name.lstrip("/") for name, _ in ok))
        self.assertEqual(cluster.pending, {})

    def test_concurrent_same_name(self):
        """Twenty creates of one name at once: one wins, the others get 409."""
        cluster, clients, clock, discovery = make_cluster(n=3)
        for client in clients.values():
            client.delay = 0.2
        creates = [cluster.create_container(config("only")) for _ in range(20)]
        statuses = []
        for d in creates:
            d.addCallbacks(lambda r: statuses.append(201),
                           lambda f: statuses.append(f.value.status))
        clock.advance(1)
        self.assertEqual(sorted(statuses), [201] + [409] * 19)
        self.assertEqual(len(cluster.containers.named("only")), 1)

    def test_slash_prefixed_twin_refused_while_pending(self):
        """A create of "/web" and one of "web" in flight at once: one wins, the other gets 409."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        for client in clients.values():
            client.delay = 0.5
        first = cluster.create_container(config("/web"))
        self.assertEqual([p.name for p in cluster.pending.values()], ["web"])
        failure = self.failureResultOf(cluster.create_container(config("web")), ClusterError)
        self.assertEqual(failure.value.status, 409)
        self.assertIn('"/web" is already in use', failure.value.message)
        reverse = self.failureResultOf(cluster.create_container(config("/web")), ClusterError)
        self.assertEqual(reverse.value.status, 409)
        clock.advance(1)
        engine, answer = self.successResultOf(first)
        self.assertEqual(len(cluster.containers.named("web")), 1)
        self.assertEqual(cluster.container("web").id, answer["Id"])
        created = [c for client in clients.values() for c in client.containers.values()]
        self.assertEqual([c["Name"] for c in created], ["/web"])

    def test_slash_prefixed_name_refused_after_create(self):
        """Once "web" is cached, "/web" is taken too (and the other way round)."""
        cluster, clients, clock, discovery = make_cluster(n=2)
        self.successResultOf(cluster.create_container(config("web")))
        self.successResultOf(cluster.create_container(config("/db")))
        for name in ("/web", "db"):
            failure = self.failureResultOf(cluster.create_container(config(name)),
                                           ClusterError)
            self.assertEqual(failure.value.status, 409)

    def test_reserved_name_blocks_slash_twin(self):
        """A name held for a rename as "/new" blocks a create of "new"."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        release = cluster.reserve_name("/new")
        failure = self.failureResultOf(cluster.create_container(config("new")), ClusterError)
        self.assertEqual(failure.value.status, 409)
        release()
        self.successResultOf(cluster.create_container(config("new")))

    def test_concurrent_spread_balances_with_pending(self):
        """Pending creations count: 30 concurrent spread creates split 10/10/10."""
        cluster, clients, clock, discovery = make_cluster(n=3)
        for client in clients.values():
            client.delay = 0.3
        d = gatherResults([cluster.create_container(config("s%02d" % i)) for i in range(30)])
        clock.advance(1)
        self.successResultOf(d)
        self.assertEqual(sorted(len(e.containers) for e in cluster.engines.values()),
                         [10, 10, 10])

    def test_port_conflict_with_pending(self):
        """Two concurrent -p 8080:80 on one-IP nodes: the second sees the first's pending port."""
        cluster, clients, clock, discovery = make_cluster(n=1)
        clients["127.0.0.1:2376"].delay = 0.5
        body = {"HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}},
                "ExposedPorts": {"80/tcp": {}}}
        first = cluster.create_container(config("web1", **json.loads(json.dumps(body))))
        second = cluster.create_container(config("web2", **json.loads(json.dumps(body))))
        failure = self.failureResultOf(second, ClusterError)
        self.assertIn("Unable to find a node", failure.value.message)
        clock.advance(1)
        self.successResultOf(first)
