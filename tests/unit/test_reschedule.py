"""
Tests for L{swarmd.cluster.reschedule.RescheduleWatchdog}: containers with
the C{on-node-failure} policy are recreated elsewhere once their node has
been unhealthy for the grace period, and exactly one copy is left whatever
the order of events.  Fake engines in memory, on a L{Clock}.
"""

import json

from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from swarmd.cluster import HEALTHY, UNHEALTHY, EngineOptions
from swarmd.cluster.reschedule import (
    POLICY_LABEL,
    RescheduleWatchdog,
    default_grace,
    recreate_body,
    wants_rescheduling,
)
from swarmd.scheduler.config import LABELS
from tests.unit.test_hung_engine import Harness

SWARM_ID = "5" * 64
GRACE = 10.0


def policy_labels(policy="on-node-failure", swarm_id=SWARM_ID, **more):
    labels = {"com.docker.swarm.id": swarm_id, POLICY_LABEL: json.dumps([policy])}
    labels.update(more)
    return labels


class RescheduleTests(SynchronousTestCase):
    """
    A 3-node cluster, a container with the policy on n3.
    """

    def setUp(self):
        self.logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.lab = Harness(options=EngineOptions(refresh_min=1.0, refresh_max=1.0,
                                                 failure_retry=2, ping_timeout=2.0))
        self.watchdog = self.start_watchdog()

    def start_watchdog(self):
        watchdog = RescheduleWatchdog(self.lab.cluster, self.lab.clock, GRACE, interval=0.5)
        watchdog.startService()
        self.addCleanup(lambda: watchdog.running and watchdog.stopService())
        self.addCleanup(self.lab.cluster.stop)
        return watchdog

    def place(self, name="web", node="n3", running=True, labels=None, **body):
        """
        Create (and start) a container straight on a fake engine, then let
        the cluster see it.

        @return: its ID.
        """
        fake = self.lab.fakes[node]
        body.setdefault("Image", "busybox")
        body.setdefault("Cmd", ["sleep", "100000"])
        body["Labels"] = policy_labels() if labels is None else labels
        container_id, _ = fake.create(body, name)
        if running:
            fake.start(container_id)
        self.successResultOf(self.lab.engine(node).refresh_containers())
        return container_id

    def kill(self, node="n3"):
        """
        The node's dockerd dies: its port refuses connections.
        """
        self.lab.agents[node].down = True

    def revive(self, node="n3"):
        """
        The node's dockerd is back, its containers stopped by the crash.
        """
        fake = self.lab.fakes[node]
        for container in list(fake.containers.values()):
            if container.running:
                fake.kill(container.id)
        self.lab.agents[node].down = False

    def wait_unhealthy(self, node="n3"):
        engine = self.lab.engine(node)
        for _ in range(200):
            if engine.state == UNHEALTHY:
                return
            self.lab.advance(0.5, step=0.5)
        self.fail("%s never unhealthy" % (node,))

    def wait_healthy(self, node="n3"):
        engine = self.lab.engine(node)
        for _ in range(400):
            if engine.state == HEALTHY:
                return
            self.lab.advance(0.5, step=0.5)
        self.fail("%s never healthy again" % (node,))

    def copies(self, swarm_id=SWARM_ID):
        """
        @return: C{{node: [(name, running)]}} of the fakes' containers with
            this Swarm ID.
        """
        found = {}
        for node, fake in self.lab.fakes.items():
            for container in fake.containers.values():
                if container.labels.get("com.docker.swarm.id") == swarm_id:
                    found.setdefault(node, []).append((container.name.lstrip("/"),
                                                       container.running))
        return found

    def listed(self, name="web"):
        return [c for c in self.lab.cluster.containers if c.name == name]

    def logs(self, text):
        return [e for e in self.logged if text in e.get("log_format", "")]

    def test_rescheduled_after_grace(self):
        """After the grace period the container runs elsewhere: same name, swarm ID, labels."""
        old = self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE - 1)
        self.assertEqual(self.copies(), {"n3": [("web", True)]})
        self.lab.advance(3)
        copies = self.copies()
        self.assertEqual(copies["n3"], [("web", True)])
        moved = [node for node in copies if node != "n3"]
        self.assertEqual(len(moved), 1)
        self.assertEqual(copies[moved[0]], [("web", True)])
        new = self.lab.cluster.container("web")
        self.assertEqual((new.engine.name, new.swarm_id), (moved[0], SWARM_ID))
        self.assertTrue(wants_rescheduling(new))
        self.assertEqual(new.labels[POLICY_LABEL], '["on-node-failure"]')
        self.assertEqual(len(self.listed()), 1)
        line = self.logs("Rescheduled container")[0]
        self.assertEqual((line["id"], line["old"], line["new"], line["new_id"]),
                         (old, "n3", moved[0], new.id))
        self.assertEqual(len(self.logs("was running, starting")), 1)
        events = [e for e in self.lab.cluster.recent_events if e.get("Action") == "reschedule"]
        self.assertEqual(len(events), 1)
        attributes = events[0]["Actor"]["Attributes"]
        self.assertEqual((events[0]["Actor"]["ID"], attributes["rescheduled.from.id"],
                          attributes["rescheduled.from.node"], attributes["node.name"]),
                         (new.id, old, "n3", moved[0]))

    def test_back_before_grace(self):
        """A node back before the grace period keeps its container; nothing is recreated."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE / 2)
        self.revive()
        self.wait_healthy()
        self.lab.advance(GRACE * 2)
        self.assertEqual(self.copies(), {"n3": [("web", False)]})
        self.assertEqual(self.logs("Rescheduled container"), [])

    def test_stale_copy_removed_when_node_returns(self):
        """When the old node returns its stale copy is removed, never the new one."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        new = self.lab.cluster.container("web")
        self.revive()
        self.wait_healthy()
        self.lab.advance(2)
        self.assertEqual(self.copies(), {new.engine.name: [("web", True)]})
        self.assertIs(self.lab.cluster.container("web").engine, new.engine)
        self.assertEqual(len(self.listed()), 1)
        self.assertEqual(len(self.logs("it was rescheduled on")), 1)

    def test_hidden_while_node_down(self):
        """While the old node is down its copy is out of listings and lookups."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.assertEqual([c.engine.name for c in self.listed()], ["n3"])
        self.lab.advance(GRACE + 2)
        self.assertEqual(len(self.listed()), 1)
        self.assertNotEqual(self.listed()[0].engine.name, "n3")
        # The old copy is still known to its engine, for removal later.
        self.assertEqual(len(self.lab.engine("n3").containers), 1)

    def test_flapping_twice(self):
        """n3 fails, comes back, fails and comes back again: exactly one copy at the end."""
        self.place()
        for _ in range(2):
            self.kill()
            self.wait_unhealthy()
            self.lab.advance(GRACE + 2)
            self.revive()
            self.wait_healthy()
            self.lab.advance(2)
        copies = self.copies()
        self.assertEqual(sum(len(v) for v in copies.values()), 1, copies)
        self.assertNotIn("n3", copies)
        self.assertEqual(len(self.logs("Rescheduled container")), 1)

    def test_flapping_within_grace(self):
        """Short failures that never last the grace period never reschedule."""
        self.place()
        for _ in range(3):
            self.kill()
            self.wait_unhealthy()
            self.lab.advance(GRACE / 3)
            self.revive()
            self.wait_healthy()
        self.lab.advance(GRACE * 2)
        self.assertEqual(list(self.copies()), ["n3"])
        self.assertEqual(self.logs("Rescheduled container"), [])

    def test_new_node_fails_too(self):
        """The new copy's node fails as well: it moves on, never back onto a node with a copy."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        first = self.lab.cluster.container("web").engine.name
        self.kill(first)
        self.wait_unhealthy(first)
        self.lab.advance(GRACE + 2)
        third = ({"n1", "n2"} - {first}).pop()
        self.assertEqual(self.lab.cluster.container("web").engine.name, third)
        self.assertEqual(self.copies()[third], [("web", True)])
        self.revive()
        self.revive(first)
        self.wait_healthy()
        self.wait_healthy(first)
        self.lab.advance(2)
        self.assertEqual(self.copies(), {third: [("web", True)]})

    def test_create_failure_retried(self):
        """A failed create puts the old copy back (its name kept) and is tried again later."""
        self.place()
        for node in ("n1", "n2"):
            self.lab.agents[node].refuse = b"/containers/create"
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        self.assertGreaterEqual(len(self.logs("Failed to reschedule container")), 1)
        self.assertEqual([c.engine.name for c in self.listed()], ["n3"])
        for node in ("n1", "n2"):
            self.lab.agents[node].refuse = None
        self.lab.advance(2)
        copies = self.copies()
        self.assertEqual(sum(len(v) for v in copies.values()), 2, copies)
        self.assertEqual(len(self.listed()), 1)
        self.assertNotEqual(self.listed()[0].engine.name, "n3")

    def test_create_failure_keeps_name(self):
        """While the create keeps failing, the old copy keeps its name and its listing."""
        self.place()
        for node in ("n1", "n2"):
            self.lab.agents[node].refuse = b"/containers/create"
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 3)
        self.assertEqual([c.engine.name for c in self.listed()], ["n3"])
        self.assertEqual(self.lab.cluster.name_owner("web").engine.name, "n3")

    def test_failing_create_backs_off(self):
        """A rescheduling that keeps failing is tried less and less often (up to a minute)."""
        self.place()
        for node in ("n1", "n2"):
            self.lab.agents[node].refuse = b"/containers/create"
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 60, step=0.5)
        tries = len(self.logs("Failed to reschedule container"))
        # Every 0.5 s check would be 120 tries; doubling delays give 7.
        self.assertGreaterEqual(tries, 5)
        self.assertLessEqual(tries, 8)

    def test_manager_restarted_after_reschedule(self):
        """A new manager finds the new copy; when n3 returns its stale copy goes."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        new_node = self.lab.cluster.container("web").engine.name
        self.watchdog.stopService()
        self.successResultOf(self.lab.cluster.stop())
        self.lab.cluster = self.lab.make_cluster()
        self.lab.cluster.start()
        self.lab.settle()
        self.watchdog = self.start_watchdog()
        self.lab.advance(GRACE * 2)
        # n3 never connected to this manager: nothing known, nothing done.
        self.assertEqual(len(self.logs("Rescheduled container")), 1)
        self.revive()
        self.wait_healthy()
        self.lab.advance(2)
        self.assertEqual(self.copies(), {new_node: [("web", True)]})

    def test_manager_restarted_before_reschedule(self):
        """A manager restarted between the failure and the grace's end: one copy at the end."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.watchdog.stopService()
        self.successResultOf(self.lab.cluster.stop())
        self.lab.cluster = self.lab.make_cluster()
        self.lab.cluster.start()
        self.lab.settle()
        self.watchdog = self.start_watchdog()
        self.lab.advance(GRACE * 2)
        self.revive()
        self.wait_healthy()
        self.lab.advance(GRACE * 2)
        self.assertEqual(self.copies(), {"n3": [("web", False)]})

    def test_without_policy(self):
        """Containers without the policy, or with policy off, stay where they were."""
        self.place("plain", labels={"com.docker.swarm.id": "1" * 64})
        self.place("off", labels=policy_labels("off", swarm_id="2" * 64))
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE * 2)
        self.assertEqual(self.logs("Rescheduled container"), [])
        self.assertEqual(set(self.lab.fakes["n3"].containers), set(
            c.id for c in self.lab.engine("n3").containers.values()))

    def test_stopped_container_not_started(self):
        """A container that was not running is recreated, not started."""
        self.place(running=False)
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        moved = [v for node, v in self.copies().items() if node != "n3"]
        self.assertEqual(moved, [[("web", False)]])
        self.assertEqual(self.logs("was running, starting"), [])

    def test_stopped_service_does_nothing(self):
        """A manager that does not own scheduling (its watchdog stopped) reschedules nothing."""
        self.place()
        self.watchdog.stopService()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE * 2)
        self.assertEqual(list(self.copies()), ["n3"])

    def test_constraints_kept(self):
        """The constraints it was created with still apply (a soft one falls back)."""
        labels = policy_labels(**{LABELS["constraint"]: '["node==~n3"]'})
        self.place(labels=labels)
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        new = self.lab.cluster.container("web")
        self.assertNotEqual(new.engine.name, "n3")
        self.assertEqual(new.labels[LABELS["constraint"]], '["node==~n3"]')


    def read_labels(self):
        """
        Count the containers whose policy label the watchdog reads from now
        on.

        @return: a C{list} that gets each container's ID.
        """
        from swarmd.cluster import reschedule

        read = []
        real = reschedule.wants_rescheduling

        def counting(container):
            read.append(container.id)
            return real(container)

        self.patch(reschedule, "wants_rescheduling", counting)
        return read

    def test_idle_check_reads_no_labels(self):
        """A check with no container changed since the last reads no container's labels."""
        self.place()
        self.place("plain", labels={"com.docker.swarm.id": "1" * 64})
        self.watchdog.check()
        read = self.read_labels()
        self.watchdog.check()
        self.watchdog.check()
        self.assertEqual(read, [])

    def test_check_reads_changed_engine_only(self):
        """After a change, the next check reads the labels of that engine's containers only."""
        self.place()
        self.watchdog.check()
        read = self.read_labels()
        other = self.place("other", node="n1", labels=policy_labels(swarm_id="6" * 64))
        self.watchdog.check()
        self.assertEqual(read, [other])
        self.assertEqual(
            {sid: [c.id for c in copies] for sid, copies in self.watchdog._scan().items()},
            {SWARM_ID: [self.lab.cluster.container("web").id], "6" * 64: [other]})

    def test_idle_check_looks_at_no_engine(self):
        """
        A check with no engine changed since the last one does not look at
        any engine: what it costs does not grow with the cluster.
        """
        self.place()
        self.watchdog.check()
        cluster = self.lab.cluster
        engines = cluster.engines

        class Watched(dict):
            looked = 0

            def get(self, *args):
                Watched.looked += 1
                return dict.get(self, *args)

            def __getitem__(self, key):
                Watched.looked += 1
                return dict.__getitem__(self, key)

            def values(self):
                Watched.looked += 1
                return dict.values(self)

            def items(self):
                Watched.looked += 1
                return dict.items(self)

        cluster.engines = Watched(engines)
        self.addCleanup(setattr, cluster, "engines", engines)
        self.watchdog.check()
        self.watchdog.check()
        self.assertEqual(Watched.looked, 0)
        self.assertEqual(list(self.watchdog._scan()), [SWARM_ID])

    def test_engine_left(self):
        """
        An engine that leaves discovery takes its copies and its down time
        with it.
        """
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.watchdog.check()
        self.assertEqual(list(self.watchdog._scan()), [SWARM_ID])
        address = self.lab.engine("n3").address
        self.lab.cluster.set_addresses([a for a in self.lab.cluster.engines if a != address])
        self.watchdog.check()
        self.assertEqual(self.watchdog._scan(), {})
        self.assertNotIn(address, self.watchdog._down_since)

    def test_down_before_restart(self):
        """
        A node down when the service stopped is found down again when it
        starts (a replica that becomes the primary), with a new grace.
        """
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.watchdog.stopService()
        self.lab.advance(GRACE * 2)
        self.watchdog.startService()
        self.lab.advance(GRACE - 2)
        self.assertEqual(self.copies(), {"n3": [("web", True)]})
        self.lab.advance(4)
        self.assertEqual(sorted(self.copies()), sorted(["n3", self.lab.cluster.container(
            "web").engine.name]))
        self.assertNotEqual(self.lab.cluster.container("web").engine.name, "n3")

    def test_removed_container_leaves_index(self):
        """A container gone from its engine's cache is not a copy any more."""
        container_id = self.place()
        self.watchdog.check()
        self.lab.engine("n3").forget_container(container_id)
        self.assertEqual(self.watchdog._scan(), {})

    def test_policy_index_after_reschedule(self):
        """Both copies are found (the hidden stale one too), then the stale one is removed."""
        self.place()
        self.kill()
        self.wait_unhealthy()
        self.lab.advance(GRACE + 2)
        self.assertEqual(sorted(c.engine.name != "n3" for c in self.watchdog._scan()[SWARM_ID]),
                         [False, True])
        self.revive()
        self.wait_healthy()
        self.lab.advance(2)
        self.assertEqual([c.engine.name != "n3" for c in self.watchdog._scan()[SWARM_ID]],
                         [True])

class HelpersTests(SynchronousTestCase):
    """
    The watchdog's helpers.
    """

    def test_default_grace(self):
        """The default grace period is three of the longest refresh intervals."""
        self.assertEqual(default_grace(60.0), 180.0)

    def test_wants_rescheduling(self):
        """Only the on-node-failure policy, in a well-formed label, counts."""

        class Fake:
            def __init__(self, labels):
                self.labels = labels

        self.assertTrue(wants_rescheduling(Fake({POLICY_LABEL: '["on-node-failure"]'})))
        for labels in ({}, {POLICY_LABEL: '["off"]'}, {POLICY_LABEL: "on-node-failure"},
                       {POLICY_LABEL: '{"a": 1}'}):
            self.assertFalse(wants_rescheduling(Fake(labels)))

    def test_recreate_body(self):
        """CPU shares become CPUs again; Config and HostConfig are kept."""

        class Engine:
            cpus = 4

        class Fake:
            engine = Engine()

            def full_info(self):
                return {"Config": {"Image": "busybox", "Labels": {"a": "b"}},
                        "HostConfig": {"CpuShares": 512, "Memory": 64 * 2 ** 20}}

        body = recreate_body(Fake())
        self.assertEqual(body, {"Image": "busybox", "Labels": {"a": "b"},
                                "HostConfig": {"CpuShares": 2, "Memory": 64 * 2 ** 20}})


class SettingsTests(SynchronousTestCase):
    """
    C{--cluster-opt swarm.reschedule-grace} reaches the manager's watchdog.
    """

    def _service(self, *args):
        from twisted.internet.task import Clock

        from swarmd.manager import make_manager_service
        from swarmd.tap import Options

        options = Options(environ={})
        if not args or "://" not in args[-1]:
            args = args + ("nodes://127.0.0.1:1",)
        options.parseOptions(["manage", "-H", "tcp://127.0.0.1:0"] + list(args))
        return make_manager_service(options.subOptions.config, Clock())

    def test_grace_given(self):
        """The grace period given as a duration is the watchdog's."""
        service = self._service("--cluster-opt", "swarm.reschedule-grace=45s")
        self.assertEqual(service.watchdog.grace, 45.0)
        self.assertIn(service.watchdog, list(service))

    def test_default_grace(self):
        """Without it, the grace is three of the longest refresh intervals."""
        service = self._service("--engine-refresh-max-interval", "20s",
                                "--engine-refresh-min-interval", "10s")
        self.assertEqual(service.watchdog.grace, 60.0)

    def test_bad_grace(self):
        """A value that is not a duration, or a negative one, is a usage error."""
        from twisted.python.usage import UsageError

        for value in ("soon", "-5s"):
            self.assertRaises(UsageError, self._service, "--cluster-opt",
                              "swarm.reschedule-grace=" + value)

    def test_primary_only_when_replicated(self):
        """A replicated manager runs the watchdog only while it is the primary."""
        from swarmd.ha.election import PRIMARY, REPLICA

        service = self._service("--replication", "--advertise", "127.0.0.1:2375",
                                "--cluster-opt", "swarm.reschedule-grace=45s",
                                "etcd://127.0.0.1:1/swarm")
        self.assertNotIn(service.watchdog, list(service))
        self.assertFalse(service.watchdog.running)
        listeners = [one for one in service.election._listeners
                     if getattr(one, "service", None) is service.watchdog]
        self.assertEqual(len(listeners), 1)
        listeners[0].role_changed(PRIMARY, "127.0.0.1:2375")
        self.assertTrue(service.watchdog.running)
        listeners[0].role_changed(REPLICA, "127.0.0.1:2376")
        self.assertFalse(service.watchdog.running)
