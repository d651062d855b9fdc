"""
Manager replication against real stores and real engines: three managers
over a 2-engine lab on one etcd; the docker CLI through a replica; the
primary killed, restarted, frozen; a checker polls every manager's
C{/info} all along and fails if it ever sees two primaries.
"""

import base64
import json
import os
import signal
import threading
import time
import urllib.request

from twisted.trial.unittest import TestCase

from swarmd.testing.functional import shared_lab
from swarmd.testing.kvstores.etcd import start_etcd
from swarmd.testing.manager import ManagerProcess, free_port

#: Short enough for a quick test, long enough for a loaded 2-core machine.
TTL = 3.0


def role_of(url, timeout=2.0):
    """
    @return: C{(role, primary)} from a manager's C{/info}, or L{None} when
        it does not answer.
    """
    try:
        with urllib.request.urlopen(url + "/info", timeout=timeout) as answer:
            rows = json.load(answer)["SystemStatus"]
    except (OSError, ValueError):
        return None
    values = dict((key, value) for key, value in rows[:2])
    return values.get("Role"), values.get("Primary")


class _TwoPrimariesChecker(threading.Thread):
    """
    Polls every manager's role; records any sweep that saw two primaries.
    """

    def __init__(self, managers):
        super().__init__(daemon=True)
        self.managers = managers
        self.seen_two = []
        self.sweeps = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            primaries = []
            for manager in list(self.managers):
                if manager.process is None or manager.process.poll() is not None:
                    continue
                # A frozen manager answers nothing: do not wait long on it.
                found = role_of(manager.url, timeout=0.3)
                if found is not None and found[0] == "primary":
                    primaries.append(manager.port)
            if len(primaries) > 1:
                self.seen_two.append(primaries)
            self.sweeps += 1
            self._halt.wait(0.05)

    def stop(self):
        self._halt.set()
        self.join(10)


class ReplicationTests(TestCase):
    """
    Three replicated managers on etcd over a real lab.
    """

    timeout = 300

    def setUp(self):
        self.lab = shared_lab(n=2, testcase=self)
        self.addCleanup(self.lab.clean)
        self.discovery = self.start_store(self.lab.discovery()[len("nodes://"):].split(","))
        self.managers = []
        for _ in range(3):
            self.managers.append(self._manager())
        for manager in self.managers:
            manager.start(healthy=2, timeout=60)
        self.checker = _TwoPrimariesChecker(self.managers)
        self.checker.start()
        self.addCleanup(self.checker.stop)

    def start_store(self, addresses):
        """
        Start etcd with the engines registered as `swarm join` does (here
        without a lease).

        @return: the managers' discovery URL.
        """
        etcd = start_etcd(self)
        for address in addresses:
            key = "/ha/docker/swarm/nodes/" + address
            etcd.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                     "value": base64.b64encode(address.encode()).decode()})
        return "etcd://%s/ha" % (etcd.address,)

    def _manager(self, port=None):
        port = port or free_port()
        manager = ManagerProcess(
            self.discovery,
            args=["--replication", "--replication-ttl", "%gs" % (TTL,),
                  "--advertise", "127.0.0.1:%d" % (port,),
                  "--engine-refresh-min-interval", "1s", "--engine-refresh-max-interval", "2s"],
            port=port)
        self.addCleanup(manager.cleanup)
        return manager

    def primary(self, timeout=TTL * 4):
        """
        Wait for exactly one primary among the running managers.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            roles = {m.port: role_of(m.url) for m in self.managers
                     if m.process is not None and m.process.poll() is None}
            primaries = [p for p, r in roles.items() if r and r[0] == "primary"]
            if len(primaries) == 1:
                return next(m for m in self.managers if m.port == primaries[0])
            time.sleep(0.1)
        self.fail("no single primary after %ss: %r" % (timeout, roles))

    def replicas(self, primary):
        return [m for m in self.managers if m is not primary
                and m.process is not None and m.process.poll() is None]

    def assertNeverTwoPrimaries(self):
        self.checker.stop()
        self.assertGreater(self.checker.sweeps, 5)
        self.assertEqual(self.checker.seen_two, [])

    def wait_role(self, manager, role, primary=None, timeout=TTL * 4):
        deadline = time.monotonic() + timeout
        found = None
        while time.monotonic() < deadline:
            found = role_of(manager.url)
            if found is not None and found[0] == role and (
                    primary is None or found[1] == primary):
                return found
            time.sleep(0.1)
        self.fail("manager %d is %r, not %s" % (manager.port, found, role))

    def test_cli_through_replica(self):
        """
        The docker CLI pointed at a replica runs, logs, execs and attaches
        through it; the replica's info says replica and names the primary.
        """
        primary = self.primary()
        replica = self.replicas(primary)[0]
        self.assertEqual(role_of(replica.url), ("replica", "127.0.0.1:%d" % (primary.port,)))
        name = "ha-web-%d" % (os.getpid(),)
        done = replica.docker("run", "-d", "--name", name, "busybox", "sh", "-c",
                              "echo started; sleep 300")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.addCleanup(replica.docker, "rm", "-f", name)
        deadline = time.monotonic() + 20
        while True:
            logs = replica.docker("logs", name)
            if "started" in logs.stdout or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertIn("started", logs.stdout)
        done = replica.docker("exec", name, "echo", "from-exec")
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "from-exec"), done.stderr)
        done = replica.docker("run", "--rm", "-i", "busybox", "cat", input="through-replica\n")
        self.assertEqual((done.returncode, done.stdout), (0, "through-replica\n"), done.stderr)
        ps = replica.docker("ps", "--format", "{{.Names}}")
        self.assertTrue(any(line.endswith("/" + name) for line in ps.stdout.split()), ps.stdout)
        self.assertNeverTwoPrimaries()

    def test_failover_and_return(self):
        """
        SIGKILL the primary: a replica is primary within the TTL plus one
        renewal and the CLI pointed at it works; the old one restarted
        comes back as a replica.
        """
        primary = self.primary()
        killed_at = time.monotonic()
        primary.process.send_signal(signal.SIGKILL)
        primary.process.wait()
        new = self.primary()
        elapsed = time.monotonic() - killed_at
        # The lease lasts TTL after the last renewal; allow the renewal
        # interval and the polling on a loaded machine on top.
        self.assertLess(elapsed, TTL * 3, "failover took %.1f s" % (elapsed,))
        done = new.docker("run", "--rm", "busybox", "echo", "after-failover")
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "after-failover"),
                         done.stderr)
        again = self._manager(primary.port)
        self.managers[self.managers.index(primary)] = again
        again.start(healthy=2, timeout=60)
        self.wait_role(again, "replica", "127.0.0.1:%d" % (new.port,))
        self.assertIs(self.primary(), new)
        self.assertNeverTwoPrimaries()

    def test_frozen_primary_returns_as_replica(self):
        """
        SIGSTOP the primary for longer than the TTL, then SIGCONT: another
        manager took over, and the old one comes back as a replica, never a
        second primary.
        """
        primary = self.primary()
        primary.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(TTL * 2.5)
            new = self.primary()
            self.assertIsNot(new, primary)
        finally:
            primary.process.send_signal(signal.SIGCONT)
        self.wait_role(primary, "replica", "127.0.0.1:%d" % (new.port,))
        self.assertIs(self.primary(), new)
        self.assertNeverTwoPrimaries()


class ZooKeeperReplicationTests(ReplicationTests):
    """
    The same three managers with the leader node in a real ZooKeeper.
    """

    def start_store(self, addresses):
        from urllib.parse import quote

        from swarmd.testing.kvstores.zookeeper import start_zookeeper

        zk = start_zookeeper(self)
        client = zk.client(self)
        for address in addresses:
            client.create("/ha/docker/swarm/nodes/" + quote(address, safe=":[]"),
                          address.encode(), makepath=True)
        return "zk://%s/ha" % (zk.address,)


class TLSReplicationTests(TestCase):
    """
    Two replicated managers with --tlsverify in front of TLS engines: the
    replica reaches the primary over mutual TLS with its own certificate.
    """

    timeout = 300

    def test_cli_through_replica_over_tls(self):
        """The CLI with its certificate runs containers, stdin included, through a TLS replica."""
        lab = shared_lab(n=2, testcase=self, tls=True)
        self.addCleanup(lab.clean)
        tls = lab.tls
        etcd = start_etcd(self)
        for engine in lab.engines:
            key = "/ha/docker/swarm/nodes/" + engine.tcp
            etcd.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                     "value": base64.b64encode(engine.tcp.encode()).decode()})
        managers = []
        for _ in range(2):
            port = free_port()
            manager = ManagerProcess(
                "etcd://%s/ha" % (etcd.address,),
                args=["--replication", "--replication-ttl", "%gs" % (TTL,),
                      "--advertise", "127.0.0.1:%d" % (port,),
                      "--tlsverify", "--tlscacert", tls.ca, "--tlscert", tls.manager_cert,
                      "--tlskey", tls.manager_key],
                port=port, client_tls=(tls.ca, tls.cert, tls.key, tls.cert_path))
            self.addCleanup(manager.cleanup)
            manager.start(healthy=2, timeout=60)
            managers.append(manager)
        deadline = time.monotonic() + TTL * 4
        while True:
            roles = [manager.get("/info")["SystemStatus"][0][1] for manager in managers]
            if sorted(roles) == ["primary", "replica"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(sorted(roles), ["primary", "replica"])
        replica = managers[roles.index("replica")]
        done = replica.docker("run", "--rm", "busybox", "echo", "replica-over-tls")
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "replica-over-tls"),
                         done.stderr)
        done = replica.docker("run", "-i", "--rm", "busybox", "sh", "-c", "cat; echo after-eof",
                              input="line one\n")
        self.assertEqual((done.returncode, done.stdout.split("\n")[:2]),
                         (0, ["line one", "after-eof"]), done.stderr)
