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


class RescheduleTests(NodeFailureCase):
    """
    A container with the on-node-failure policy on n3 when n3's dockerd is
    killed.
    """

    manager_args = FAST_REFRESH + ("--engine-failure-retry", "2",
                                   "--cluster-opt", "swarm.reschedule-grace=4s")

    def run_web(self):
        """
        Start C{web} on n3 (a soft constraint: it may go elsewhere later).

        @return: its Swarm ID.
        """
        done = self.manager.docker("run", "-d", "--name", "web", "-e",
                                   "reschedule:on-node-failure", "-e", "constraint:node==~n3",
                                   "busybox", "sleep", "100000")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(self.node_of("web"), "n3")
        return self.swarm_id("web")

    def swarm_id(self, reference):
        status, answer = call(self.manager.url + "/containers/%s/json" % (reference,))
        self.assertEqual(status, 200, answer)
        return answer["Config"]["Labels"]["com.docker.swarm.id"]

    def kill_n3(self):
        n3 = self.lab.engine("n3")
        os.kill(n3.pid, signal.SIGKILL)
        # Reaped, or its pid file names a live (zombie) process and the
        # next dockerd refuses to start.
        for process in self.lab._processes:
            if process.pid == n3.pid:
                process.wait(30)
        wait_for(lambda: not n3.running(), 30, "n3's dockerd gone")

    def web_lines(self):
        """
        @return: the C{docker ps -a} lines of C{web}: C{(names, state)}.
        """
        done = self.manager.docker("ps", "-a", "--filter", "name=web",
                                   "--format", "{{.Names}} {{.State}}")
        self.assertEqual(done.returncode, 0, done.stderr)
        return [tuple(line.split()) for line in done.stdout.splitlines() if line.strip()]

    def rescheduled(self):
        lines = self.web_lines()
        return (len(lines) == 1 and not lines[0][0].startswith("n3/")
                and lines[0][1] == "running" and lines[0])

    def wait_rescheduled(self, swarm_id):
        wait_for(self.rescheduled, 90, "web running elsewhere")
        self.assertEqual(self.swarm_id("web"), swarm_id)
        return self.node_of("web")

    def restart_n3(self):
        self.lab.start_engine("n3")
        wait_for(lambda: self.status_of("n3") == "Healthy", 60, "n3 healthy again")

    def copies_on_engines(self, swarm_id):
        """
        @return: C{{node: count}} of containers with this Swarm ID, asked of
            each engine itself.
        """
        found = {}
        for engine in self.lab.engines:
            if not engine.running():
                continue
            done = engine.docker("ps", "-aq", "--filter",
                                 "label=com.docker.swarm.id=" + swarm_id)
            count = len(done.stdout.split())
            if count:
                found[engine.name] = count
        return found

    def test_rescheduled_and_stale_copy_removed(self):
        """SIGKILL n3: web runs elsewhere, same name and Swarm ID; n3 back: its copy goes."""
        swarm_id = self.run_web()
        self.kill_n3()
        node = self.wait_rescheduled(swarm_id)
        self.assertIn(node, ("n1", "n2"))
        self.assertIn("Rescheduled container", self.manager_log())
        self.restart_n3()
        wait_for(lambda: self.copies_on_engines(swarm_id) == {node: 1}, 60,
                 "the stale copy removed from n3")
        self.assertEqual(self.web_lines(), [(node + "/web", "running")])
        # Engines and the manager agree: the name is taken.
        done = self.manager.docker("run", "-d", "--name", "web", "busybox", "true")
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("already in use", done.stderr)

    def test_flapping_twice(self):
        """n3 dies, returns, dies and returns again: one copy, running, at the end."""
        swarm_id = self.run_web()
        self.kill_n3()
        node = self.wait_rescheduled(swarm_id)
        self.restart_n3()
        wait_for(lambda: self.copies_on_engines(swarm_id) == {node: 1}, 60, "one copy")
        self.kill_n3()
        time.sleep(8)
        self.restart_n3()
        time.sleep(3)
        self.assertEqual(self.copies_on_engines(swarm_id), {node: 1})
        self.assertEqual(self.web_lines(), [(node + "/web", "running")])

    def test_manager_restarted_between_failure_and_reschedule(self):
        """The manager restarts while n3 is down, before the grace ends: one copy at the end."""
        swarm_id = self.run_web()
        self.kill_n3()
        self.manager.stop()
        self.manager = self.start_manager_with(healthy=2)
        time.sleep(8)
        self.restart_n3()
        time.sleep(6)
        copies = self.copies_on_engines(swarm_id)
        self.assertEqual(sum(copies.values()), 1, copies)
        self.assertEqual(len(self.web_lines()), 1)

    def start_manager_with(self, healthy):
        manager = ManagerProcess(self.lab.discovery(), args=self.manager_args,
                                 port=self.manager.port)
        manager.start(healthy=healthy)
        self.addCleanup(manager.cleanup)
        return manager
