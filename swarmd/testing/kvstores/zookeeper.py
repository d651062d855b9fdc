"""
A real ZooKeeper (Debian's C{zookeeper}, 3.8) on a loopback port for tests.

    zk = start_zookeeper(self)              # stopped by the test's cleanup
    url = f"zk://{zk.address}/prefix"
"""

from __future__ import annotations

import os
import socket
import tempfile

from swarmd.testing.kvstores._process import StoreProcess, free_port, require_program

__all__ = ["CLASSPATH", "ZooKeeperServer", "start_zookeeper"]

#: The jars ZooKeeper's server needs, from Debian's packages.
CLASSPATH = ":".join([
    "/usr/share/java/zookeeper.jar",
    "/usr/share/java/zookeeper-jute.jar",
    "/usr/share/java/slf4j-api.jar",
    "/usr/share/java/slf4j-nop.jar",
    "/usr/share/java/netty-all.jar",
    "/usr/share/java/commons-cli.jar",
    "/usr/share/java/metrics-core.jar",
])

JAR = "/usr/share/java/zookeeper.jar"


class ZooKeeperServer(StoreProcess):
    """
    One standalone ZooKeeper on 127.0.0.1.

    @ivar port: its client port.
    @ivar address: C{127.0.0.1:port}.
    """

    def __init__(self, folder, java="java", tick_ms=200):
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        data = os.path.join(folder, "data")
        os.makedirs(data, exist_ok=True)
        config = os.path.join(folder, "zoo.cfg")
        with open(config, "w") as f:
            f.write(f"tickTime={tick_ms}\ndataDir={data}\nclientPort={self.port}\n"
                    "clientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                    "4lw.commands.whitelist=ruok,stat\n"
                    f"minSessionTimeout={2 * tick_ms}\nmaxSessionTimeout=600000\n")
        argv = [java, "-Xmx128m", "-cp", CLASSPATH, f"-Dzookeeper.log.dir={folder}",
                "org.apache.zookeeper.server.quorum.QuorumPeerMain", config]
        super().__init__(argv, os.path.join(folder, "zookeeper.log"), self._answers,
                         "zookeeper")

    def _answers(self):
        # "ruok" answers imok before the server serves sessions; "stat"
        # says "not currently serving requests" until it does.
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"stat")
                answer = b""
                while True:
                    data = s.recv(4096)
                    if not data:
                        break
                    answer += data
        except OSError:
            return False
        return b"Mode: standalone" in answer

    def client(self, testcase=None):
        """
        A started (blocking) kazoo client for fixtures; stopped by
        C{testcase}'s cleanup if given.
        """
        from kazoo.client import KazooClient

        client = KazooClient(hosts=self.address, timeout=10)
        client.start(30)
        if testcase is not None:
            testcase.addCleanup(lambda: (client.stop(), client.close()))
        return client


def start_zookeeper(testcase) -> ZooKeeperServer:
    """
    Start a ZooKeeper for C{testcase}, stopped by its cleanup.
    """
    java = require_program("java", "apt-get install zookeeper", testcase)
    if not os.path.exists(JAR):
        require_program(JAR, "apt-get install zookeeper", testcase)
    folder = tempfile.mkdtemp(prefix="swarmd-zk-")
    server = ZooKeeperServer(folder, java=java)
    testcase.addCleanup(_remove, folder)
    testcase.addCleanup(server.stop)
    server.start()
    return server


def _remove(folder):
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
