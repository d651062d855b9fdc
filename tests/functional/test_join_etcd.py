"""
swarm join and manage on a real etcd, over a lab of two real engines.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.kvstores.etcd import start_etcd
from swarmd.testing.kvstores.joins import JoinScenario


class EtcdJoinTests(JoinScenario, SynchronousTestCase):
    """
    The join scenario on etcd (v3).
    """

    def start_store(self):
        etcd = start_etcd(self)
        return f"etcd://{etcd.address}/functional", etcd.stop, etcd.start, []
