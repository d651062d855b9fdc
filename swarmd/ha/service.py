"""
Manager replication wired into the manager: the election as a service, the
gate in front of the API, the role shown by C{/info}, and an event plus a
log line at every change of leadership.
"""

from twisted.logger import Logger
from zope.interface import implementer

from swarmd._log import observer
from swarmd._service import RunningService
from swarmd.ha._interfaces import IElectionListener
from swarmd.ha.election import PRIMARY, REPLICA, Election
from swarmd.ha.gate import ReplicaGate

__all__ = ["ElectionService", "PrimaryOnly", "RoleAnnouncer", "replicate"]


#: The election as a service: it campaigns for as long as the manager
#: runs; a primary that stops gives the key up, so a replica takes over at
#: its next turn.
ElectionService = RunningService


@implementer(IElectionListener)
class RoleAnnouncer:
    """
    Tells the cluster's C{/events} subscribers and the log when this
    manager's role or the known primary changes.
    """

    _log = Logger(observer=observer)

    def __init__(self, cluster, address, clock):
        self.cluster = cluster
        self.address = address
        self.clock = clock

    def role_changed(self, role, primary):
        self._log.info("manager {address} is {role}; primary: {primary}",
                       address=self.address, role=role, primary=primary or "unknown")
        now = self.clock.seconds()
        action = "leader_elected" if role == PRIMARY else "leader_changed"
        self.cluster.publish_event({
            "status": action,
            "from": "swarm",
            "Type": "swarm",
            "Action": action,
            "Actor": {"ID": self.address, "Attributes": {
                "manager": self.address, "role": role, "primary": primary or ""}},
            "scope": "local",
            "time": int(now),
            "timeNano": int(now * 1e9),
        })


@implementer(IElectionListener)
class PrimaryOnly:
    """
    Runs a service (e.g. rescheduling) only while this manager is primary.
    """

    def __init__(self, service):
        self.service = service

    def role_changed(self, role, primary):
        if role == PRIMARY and not self.service.running:
            self.service.startService()
        elif role == REPLICA and self.service.running:
            self.service.stopService()


def replicate(store, address, ttl, reactor, cluster, root, tls=None, interval=None):
    """
    Put a manager under replication.

    @param store: the L{ILeaderStore} of the discovery's store.
    @param address: C{--advertise}.
    @param ttl: C{--replication-ttl} in seconds.
    @param root: the API's root resource.
    @param tls: what reaches the primary over TLS (see L{ReplicaGate}).
    @return: C{(election, gate, service)}: the gate is the new root
        resource; the service runs the election.
    """
    election = Election(store, address, ttl, reactor, interval=interval)
    election.add_listener(RoleAnnouncer(cluster, address, reactor))
    gate = ReplicaGate(election, root, reactor, tls=tls)
    return election, gate, ElectionService(election)


def role_of(election):
    """
    @return: a callable giving C{/info}'s role: C{("primary", None)} or
        C{("replica", primary address or None)}.
    """
    def role():
        if election.is_primary():
            return (PRIMARY, None)
        return (REPLICA, election.known_primary())
    return role
