"""
swarm join and manage on a real ZooKeeper, over a lab of two real engines.
"""

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.kvstores.joins import JoinScenario
from swarmd.testing.kvstores.zookeeper import start_zookeeper


class ZooKeeperJoinTests(JoinScenario, SynchronousTestCase):
    """
    The join scenario on ZooKeeper.
    """

    def start_store(self):
        zk = start_zookeeper(self)
        return f"zk://{zk.address}/functional", zk.stop, zk.start, []
