"""
The functional scenario of issue 12 for one store: a lab of two real
engines, one C{twistd swarm join} per engine and a C{twistd swarm manage}
on the same store.

    class EtcdJoinTests(JoinScenario, SynchronousTestCase):
        def start_store(self):
            ...return a StoreHandle...

L{JoinScenario.test_join_leave_outage} checks: C{docker info} shows both
nodes; a stopped join's node leaves within its TTL; while the store is
down the manager keeps serving its known node (C{docker ps}, C{docker
run}) and shows the discovery error; a node that joins meanwhile appears
once the store is back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from swarmd.testing.functional import FAST_REFRESH, require_docker
from swarmd.testing.kvstores._process import StoreProcess, free_port
from swarmd.testing.lab import Lab
from swarmd.testing.manager import ROOT, ManagerProcess

__all__ = ["JoinProcess", "JoinScenario", "TokenServiceProcess", "wait_until"]

#: Short beats keep the scenario quick.
HEARTBEAT = "1s"
TTL = "3s"


def _twistd(*args):
    return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
            "--pidfile=", *args]


def _environment(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra or {})
    return env


def wait_until(predicate, timeout, what, details=lambda: ""):
    """
    Poll C{predicate} every 0.2 s until it is true.

    @raise AssertionError: naming C{what} (and C{details()}) after
        C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s\n{details()}")
        time.sleep(0.2)


class JoinProcess:
    """
    One C{twistd -n swarm join} process.
    """

    def __init__(self, discovery, advertise, folder, options=()):
        self.log_path = os.path.join(folder, f"join-{advertise.replace(':', '_')}.log")
        self.argv = _twistd(f"--logfile={self.log_path}", "swarm", "join",
                            "--advertise", advertise, "--heartbeat", HEARTBEAT, "--ttl", TTL,
                            *options, discovery)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.argv, env=_environment(),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self):
        """
        SIGTERM; wait for a clean exit.

        @return: the exit status.
        """
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"join did not stop on SIGTERM: {self.log()}") from None

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""


class TokenServiceProcess(StoreProcess):
    """
    C{twistd -n swarm token-service} on a loopback port, restartable.
    """

    def __init__(self, folder):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = os.path.join(folder, "data")
        argv = _twistd(f"--logfile={os.path.join(folder, 'token-service.log')}", "swarm",
                       "token-service", "--listen", f"tcp:{self.port}:interface=127.0.0.1",
                       "--data", self.data)
        super().__init__(argv, os.path.join(folder, "token-service.out"), self._answers,
                         "token service", env=_environment())

    def _answers(self):
        try:
            urllib.request.urlopen(self.url + "/v1/clusters/x", timeout=1)
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
        return True

    def create(self):
        request = urllib.request.Request(self.url + "/v1/clusters", b"", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.read().decode().strip()


def node_table(manager):
    """
    @return: C{(addresses, discovery error or None)} from the manager's
        C{/info}.
    """
    rows = manager.get("/info")["SystemStatus"]
    addresses = []
    error = None
    for key, value in rows:
        if key.startswith(" ") and not key.strip().startswith("└"):
            addresses.append(value)
        elif key == "Discovery Error":
            error = value
    return sorted(addresses), error


class JoinScenario:
    """
    The scenario, for a store given by L{start_store}: a mixin of a
    L{SynchronousTestCase}.
    """

    #: Seconds an entry may take to appear or leave (TTL + heartbeat +
    #: the manager's refresh, with room for a busy machine).
    WAIT = 60
    #: The issue's outage: the store down this long at least.
    OUTAGE = 30.0
    timeout = 300

    def start_store(self):
        """
        Start the store for this test (stopped by its cleanup).

        @return: C{(discovery URL, stop, start, options)}: C{stop()} and
            C{start()} take the store down and bring it back with its data;
            C{options} are more flags for manage and join (e.g.
            C{--discovery-opt token.url=...}).
        """
        raise NotImplementedError()

    def test_join_leave_outage(self):
        """
        Two joins register their engines and the manager shows both; a
        stopped join's node leaves; with the store down the manager keeps
        serving the known node and shows the error; a node joining meanwhile
        appears when the store is back.
        """
        require_docker(self)
        url, stop_store, start_store, options = self.start_store()
        lab = Lab(n=2)
        lab.start()
        self.addCleanup(lab.stop)
        folder = tempfile.mkdtemp(prefix="swarmd-join-")
        a, b = (engine.tcp for engine in lab.engines)
        manager = ManagerProcess(url, args=[*FAST_REFRESH, "--heartbeat", HEARTBEAT, *options])
        manager.start(healthy=0, timeout=60)
        self.addCleanup(manager.cleanup)
        joins = {address: JoinProcess(url, address, folder, options).start()
                 for address in (a, b)}
        for join in joins.values():
            self.addCleanup(join.stop)

        def details():
            return (f"manager log:\n{manager.log()}\njoin {a}:\n{joins[a].log()}\n"
                    f"join {b}:\n{joins[b].log()}")

        wait_until(lambda: node_table(manager)[0] == sorted([a, b]), self.WAIT,
                   "both nodes in docker info", details)
        info = manager.docker("info")
        self.assertIn("Nodes: 2", info.stdout, info.stdout + info.stderr)

        # twistd ends a process stopped by SIGTERM with that signal, once it
        # has shut down cleanly.
        self.assertIn(joins[b].stop(), (0, -signal.SIGTERM), joins[b].log())
        self.assertIn("stopped registering", joins[b].log())
        wait_until(lambda: node_table(manager)[0] == [a], self.WAIT,
                   f"{b} left after its join stopped", details)

        stop_store()
        down_since = time.monotonic()
        wait_until(lambda: node_table(manager)[1] is not None, self.WAIT,
                   "the discovery error in docker info", details)
        addresses, error = node_table(manager)
        self.assertEqual(addresses, [a])
        self.assertIn("serving the last known nodes", error)
        info = manager.docker("info")
        self.assertIn("Discovery Error", info.stdout, info.stdout + info.stderr)
        ps = manager.docker("ps", "-a")
        self.assertEqual(ps.returncode, 0, ps.stderr)
        run = manager.docker("run", "--rm", "busybox", "echo", "through the outage")
        self.assertEqual((run.returncode, run.stdout), (0, "through the outage\n"), run.stderr)
        self.assertIn("discovery failed", manager.log())

        joins[b] = JoinProcess(url, b, folder, options).start()
        self.addCleanup(joins[b].stop)
        wait_until(lambda: "failed" in joins[b].log(), self.WAIT,
                   "the new join retrying while the store is down", details)
        self.assertIsNone(joins[b].process.poll(), "join died while the store was down")
        # Still serving at the end of a long outage.
        time.sleep(max(0.0, self.OUTAGE - (time.monotonic() - down_since)))
        ps = manager.docker("ps", "-a")
        self.assertEqual(ps.returncode, 0, ps.stderr)
        self.assertEqual(node_table(manager)[0], [a])
        self.assertIsNone(joins[b].process.poll(), "join died while the store was down")

        start_store()
        wait_until(lambda: node_table(manager) == (sorted([a, b]), None), self.WAIT,
                   "the new node after the store came back", details)
        self.assertNotIn("Traceback", joins[b].log())
