"""
Replication wired into the manager (L{swarmd.ha.service}): the role shown
by C{/info}, the event and log line of each change of leadership.
"""

import json

from twisted.internet.task import Clock
from twisted.internet.testing import EventLoggingObserver
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from swarmd.ha import Election
from swarmd.ha.service import RoleAnnouncer, role_of
from swarmd.testing.ha.fake import MemoryLeaderBackend, MemoryLeaderStore
from swarmd.testing.memory import MemoryManager


class RoleTests(TestCase):
    """
    A manager under replication says its role in /info and tells of changes.
    """

    def setUp(self):
        self.manager = MemoryManager(["10.0.0.1:2375"])
        self.addCleanup(self.manager.stop)
        self.clock = Clock()
        self.backend = MemoryLeaderBackend(self.clock)

    def election(self, address):
        election = Election(MemoryLeaderStore(self.backend), address, 6.0, self.clock)
        self.addCleanup(election.stop)
        return election

    def status(self):
        answer = self.manager.request("GET", "/info")
        status, _, body = self.successResultOf(answer)
        self.assertEqual(status, 200)
        return json.loads(body)["SystemStatus"]

    def test_info_of_primary_and_replica(self):
        """/info says Role primary alone, or Role replica and the primary's address."""
        primary, replica = self.election("10.0.0.5:3376"), self.election("10.0.0.6:3376")
        primary.start()
        replica.start()
        self.manager.api.role = role_of(primary)
        self.assertEqual(self.status()[:2], [["Role", "primary"], ["Strategy", "spread"]])
        self.manager.api.role = role_of(replica)
        self.assertEqual(self.status()[:2], [["Role", "replica"], ["Primary", "10.0.0.5:3376"]])

    def test_leadership_change_is_event_and_log(self):
        """Every change of role is a swarm event for /events subscribers and a log line."""
        events = []
        self.manager.cluster.subscribe(events.append)
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        election = self.election("10.0.0.5:3376")
        election.add_listener(RoleAnnouncer(self.manager.cluster, "10.0.0.5:3376", self.clock))
        election.start()
        self.backend.down = True
        self.clock.advance(6.0)
        actions = [(e["Type"], e["Action"], e["Actor"]["Attributes"]["role"]) for e in events]
        self.assertEqual(actions, [("swarm", "leader_elected", "primary"),
                                   ("swarm", "leader_changed", "replica")])
        self.assertEqual(events[0]["Actor"]["Attributes"]["primary"], "10.0.0.5:3376")
        texts = [e.get("log_format", "") for e in logged]
        self.assertIn("manager {address} is {role}; primary: {primary}", texts)
        self.assertTrue(any(e.get("role") == "replica" for e in logged))
