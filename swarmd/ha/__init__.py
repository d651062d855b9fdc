"""
High availability: several managers, one primary elected through the
discovery store (C{swarm manage --replication}); replicas answer C{/_ping},
C{/version} and C{/info} themselves and forward everything else to the
primary.
"""

from swarmd.ha._interfaces import IElectionListener, ILeaderStore
from swarmd.ha.election import PRIMARY, REPLICA, Election
from swarmd.ha.errors import LeadershipLost

__all__ = ["PRIMARY", "REPLICA", "Election", "IElectionListener", "ILeaderStore",
           "LeadershipLost"]
