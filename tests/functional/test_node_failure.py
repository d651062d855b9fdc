"""
Nodes that fail, on a lab of three real engines with a real manager:
a hung (SIGSTOPped) dockerd, a create whose outcome is unknown, a node that
dies with a container to reschedule.  Each test makes its own lab, since it
breaks engines.
"""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request

from twisted.python import log
from twisted.trial.unittest import TestCase

from swarmd.testing.functional import FAST_REFRESH, require_docker
from swarmd.testing.lab import Lab
from swarmd.testing.manager import ManagerProcess


def call(url, method="GET", body=None, timeout=120):
    """
    One request to the manager's API.

    @return: C{(status, decoded JSON or text)}.
    """
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (TimeoutError, urllib.error.URLError) as e:
        # The client gave up; the manager may still be waiting on an engine.
        return None, str(e)
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for(predicate, timeout=60.0, what="a condition"):
    """
    Poll C{predicate} until it is true.

    @raise AssertionError: after C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % (what,))
        time.sleep(0.2)


class NodeFailureCase(TestCase):
    """
    A lab of three engines of its own and a manager over it.
    """

    manager_args = FAST_REFRESH + ("--engine-failure-retry", "3")

    def setUp(self):
        require_docker(self)
        self.lab = Lab(n=3).start()
        self.addCleanup(self.lab.stop)
        self.addCleanup(self._resume_all)
        self.manager = self.start_manager()

    def start_manager(self):
        manager = ManagerProcess(self.lab.discovery(), args=self.manager_args)
        manager.start(healthy=3)
        self.addCleanup(manager.cleanup)
        return manager

    def manager_log(self):
        """
        @return: the manager's whole log.
        """
        with open(self.manager.log_path, errors="replace") as f:
            return f.read()

    def _resume_all(self):
        for engine in self.lab.engines:
            if engine.pid:
                try:
                    os.kill(engine.pid, signal.SIGCONT)
                except OSError:
                    pass

    def status_of(self, node):
        """
        @return: the Status /info shows for C{node} (C{None} if not listed).
        """
        rows = self.manager.get("/info")["SystemStatus"]
        current = None
        for key, value in rows:
            if key.startswith(" ") and not key.strip().startswith("└"):
                current = key.strip()
            elif key.strip() == "└ Status" and current == node:
                return value
        return None

    def node_of(self, reference):
        status, answer = call(self.manager.url + "/containers/%s/json" % (reference,))
        self.assertEqual(status, 200, answer)
        return answer["Node"]["Name"]


class HungEngineTests(NodeFailureCase):
    """
    A dockerd that stops answering (SIGSTOP) while clients create and list.
    """

    def test_creates_avoid_a_stopped_engine(self):
        """Creates sent once the manager saw n3 silent land elsewhere; SIGCONT: Healthy again."""
        n3 = self.lab.engine("n3")
        stop = threading.Event()
        results = []
        lock = threading.Lock()
        counter = iter(range(100000))

        def client(index):
            while not stop.is_set():
                with lock:
                    number = next(counter)
                sent = time.monotonic()
                # Clients give up after 5 s, so the ones whose create went to
                # n3 before the manager noticed go on creating.
                status, answer = call(self.manager.url + "/containers/create?name=h%d" % number,
                                      "POST", {"Image": "busybox", "Cmd": ["sleep", "600"]},
                                      timeout=5)
                with lock:
                    results.append((sent, number, status, answer))
                call(self.manager.url + "/containers/json?all=1")

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(20)]
        for thread in threads:
            thread.start()
        self.addCleanup(stop.set)
        time.sleep(2)
        started = time.monotonic()
        os.kill(n3.pid, signal.SIGSTOP)
        # The manager says when it stopped placing on n3: from then on, no
        # create may land there.
        wait_for(lambda: "silent for" in self.manager_log(), 30, "n3 judged silent")
        seen = time.monotonic()
        wait_for(lambda: self.status_of("n3") == "Unhealthy", 30, "n3 unhealthy")
        time.sleep(3)
        resumed = time.monotonic()
        os.kill(n3.pid, signal.SIGCONT)
        wait_for(lambda: self.status_of("n3") == "Healthy", 60, "n3 healthy again")
        stop.set()
        for thread in threads:
            thread.join(120)
        # A create sent just before the SIGCONT may be placed after it, on
        # n3 healthy again: the window ends a second before.
        later = [(number, status, answer) for sent, number, status, answer in results
                 if seen < sent < resumed - 1]
        self.assertGreater(len(later), 20, "%d results, %d after detection at %.1f: %r" % (
            len(results), len(later), seen - started,
            [(round(r[0] - started, 1), r[2], str(r[3])[:80]) for r in results[-30:]]))
        self.assertEqual([r for r in later if r[1] != 201], [])
        nodes = {"h%d" % number: self.node_of("h%d" % number) for number, _, _ in later}
        self.assertEqual(set(nodes.values()), {"n1", "n2"}, nodes)
        # Before the stop, n3 got its share.
        earlier = [number for sent, number, status, _ in results if sent < seen and status == 201]
        self.assertIn("n3", {self.node_of("h%d" % n) for n in earlier[:30]})


class OrphanCreateTests(NodeFailureCase):
    """
    A create whose engine hangs past the create's timeout (60 s).
    """

    def test_outcome_reconciled(self):
        """After SIGCONT exactly one of adopted/removed/absent, and ps -a agrees with a create."""
        n3 = self.lab.engine("n3")
        os.kill(n3.pid, signal.SIGSTOP)
        status, answer = call(self.manager.url + "/containers/create?name=orphan", "POST",
                              {"Image": "busybox", "Cmd": ["sleep", "600"],
                               "Env": ["constraint:node==n3"]}, timeout=120)
        self.assertEqual(status, 500, answer)
        message = answer["message"]
        self.assertIn("outcome of the create is unknown", message)
        self.assertIn('its name "orphan" may be held', message)
        # Meanwhile the name stays held.
        status, answer = call(self.manager.url + "/containers/create?name=orphan", "POST",
                              {"Image": "busybox", "Cmd": ["sleep", "600"]})
        self.assertEqual(status, 409, answer)
        os.kill(n3.pid, signal.SIGCONT)
        outcomes = ("adopted it", "removed it", "had not happened")

        def settled():
            return [line for line in self.manager_log().splitlines()
                    if "create of orphan on n3" in line and any(o in line for o in outcomes)]

        lines = wait_for(settled, 60, "the create reconciled")
        self.assertEqual(len(lines), 1, lines)
        log.msg("reconciled: %s" % (lines[0],))
        status, listed = call(self.manager.url + "/containers/json?all=1")
        names = [name for c in listed for name in c["Names"]]
        status, answer = call(self.manager.url + "/containers/create?name=orphan", "POST",
                              {"Image": "busybox", "Cmd": ["sleep", "600"]})
        if "adopted it" in lines[0]:
            self.assertIn("/n3/orphan", names)
            self.assertEqual(status, 409, answer)
        else:
            self.assertNotIn("/n3/orphan", names)
            self.assertEqual(status, 201, answer)
        # The engine agrees with the manager.
        on_n3 = n3.docker("ps", "-a", "--format", "{{.Names}}").stdout.split()
        self.assertEqual("orphan" in on_n3, "adopted it" in lines[0])
