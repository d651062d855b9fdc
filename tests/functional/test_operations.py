"""
Operating a real manager (issue 16): SIGTERM ends open streams in order
and exits 0 within the grace period, and C{--log-format json} writes one
JSON object a line to twistd's C{--logfile}.
"""

import base64
import json
import signal
import subprocess
import time
import urllib.request

from twisted.trial.unittest import TestCase

from swarmd import _log
from swarmd.testing.functional import FAST_REFRESH, shared_lab
from swarmd.testing.manager import ManagerProcess, free_port

#: The grace period of the manager under test, in seconds.
GRACE = 3


def read_line(process, timeout=30):
    """
    @return: the next line C{process} prints, or fail after C{timeout}.
    """
    import select

    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError("no output in %ss" % (timeout,))
    return process.stdout.readline()


class ShutdownTests(TestCase):
    """
    SIGTERM with clients attached to a container and following its logs.
    """

    #: Mutual TLS between the clients, the manager and the engines.
    tls = False

    def setUp(self):
        self.lab = shared_lab(n=2, testcase=self, tls=self.tls)
        self.addCleanup(self.lab.clean)
        args = FAST_REFRESH + ("--shutdown-timeout", "%ds" % GRACE, "--log-format", "json")
        client_tls = None
        if self.tls:
            tls = self.lab.tls
            args += ("--tlsverify", "--tlscacert", tls.ca, "--tlscert", tls.manager_cert,
                     "--tlskey", tls.manager_key)
            client_tls = (tls.ca, tls.cert, tls.key, tls.cert_path)
        self.manager = ManagerProcess(self.lab.discovery(), args=args, client_tls=client_tls)
        self.manager.start(healthy=2)
        self.addCleanup(self.manager.cleanup)

    def client(self, *args):
        env = {"DOCKER_HOST": self.manager.docker_host, "PATH": "/usr/bin:/bin"}
        if self.tls:
            env.update(DOCKER_TLS_VERIFY="1", DOCKER_CERT_PATH=self.lab.tls.cert_path)
        process = subprocess.Popen(["docker", *args], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        return process

    def test_sigterm_ends_attach_and_logs_follow(self):
        """attach, logs -f and events get their stream's end; the manager exits 0."""
        done = self.manager.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                                   "while true; do echo tick; sleep 0.2; done")
        self.assertEqual(done.returncode, 0, done.stderr)
        attach = self.client("attach", "--no-stdin", "--sig-proxy=false", "ticker")
        follow = self.client("logs", "-f", "ticker")
        watcher = self.client("events", "--format", "{{.Action}}", "--filter", "event=pause",
                              "--filter", "event=unpause")
        self.assertEqual(read_line(attach), b"tick\n")
        self.assertEqual(read_line(follow), b"tick\n")
        # The events stream is open once it relays something.
        self.assertEqual(self.manager.docker("pause", "ticker").returncode, 0)
        self.assertEqual(read_line(watcher), b"pause\n")
        self.assertEqual(self.manager.docker("unpause", "ticker").returncode, 0)

        self.manager.process.send_signal(signal.SIGTERM)
        status = self.manager.process.wait(GRACE + 20)
        # Both streams ended: each client read to the end and exited.
        attach_out, attach_err = attach.communicate(timeout=20)
        follow_out, follow_err = follow.communicate(timeout=20)
        watched, watcher_err = watcher.communicate(timeout=20)
        self.assertEqual(status, 0, self.manager.log())
        # logs -f read its stream to its end: a clean exit.
        self.assertEqual((follow.returncode, follow_err), (0, b""))
        self.assertIn(b"tick\n", follow_out)
        self.assertEqual((watcher.returncode, watched, watcher_err), (0, b"unpause\n", b""))
        # attach read the container's output to its end; the container
        # still runs, so the wait it also made is answered as dockerd
        # answers a wait that failed, and the CLI says why.
        self.assertIn(b"tick\n", attach_out)
        self.assertEqual(attach_err, b"the swarm manager stopped before the container exited\n")
        self.assertNotEqual(attach.returncode, 0)

        # The log: one JSON object a line, the shutdown told in its events.
        with open(self.manager.log_path) as f:
            events = [json.loads(line) for line in f]
        names = [e.get(_log.EVENT_FIELD) for e in events]
        [begun] = [e for e in events if e.get(_log.EVENT_FIELD) == _log.SHUTDOWN]
        [forced] = [e for e in events if e.get(_log.EVENT_FIELD) == _log.SHUTDOWN_FORCED]
        # logs -f, events and attach's wait are requests, the attach a session.
        self.assertEqual((begun["requests"], begun["sessions"], begun["timeout"]),
                         (3, 1, GRACE))
        self.assertEqual((forced["ended"], forced["cut"]), (4, 0))
        self.assertIn(_log.ENGINE_STATE, names)
        self.assertIn(_log.SCHEDULE, names)
        self.assertTrue(all("text" in e and "level" in e for e in events))
        [placed] = [e for e in events if e.get(_log.EVENT_FIELD) == _log.SCHEDULE]
        self.assertEqual((placed["container"], placed["candidates"]), ("ticker", 2))
        self.assertEqual([e["text"] for e in events if e["level"] in ("error", "critical")], [])

    def test_no_line_per_healthy_request(self):
        """At info, healthy requests log nothing but the scheduling decision."""
        with open(self.manager.log_path) as f:
            before = len(f.readlines())
        for args in (("ps",), ("info",), ("ps", "-a"), ("run", "--rm", "busybox", "echo", "hi"),
                     ("run", "-d", "--name", "sleeper", "busybox", "sleep", "60"),
                     ("exec", "sleeper", "true"), ("logs", "sleeper"), ("rm", "-f", "sleeper")):
            done = self.manager.docker(*args)
            self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.manager.log_path) as f:
            events = [json.loads(line) for line in f.readlines()[before:]]
        self.assertEqual([(e.get(_log.EVENT_FIELD), e["level"]) for e in events],
                         [(_log.SCHEDULE, "info")] * 2, [e["text"] for e in events])

    def test_idle_manager_stops_at_once(self):
        """With nothing open, SIGTERM ends the manager without waiting for the grace."""
        self.manager.get("/info")
        self.manager.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.manager.process.wait(GRACE + 20), 0, self.manager.log())
        with open(self.manager.log_path) as f:
            events = [json.loads(line) for line in f]
        [begun] = [e for e in events if e.get(_log.EVENT_FIELD) == _log.SHUTDOWN]
        self.assertEqual((begun["requests"], begun["sessions"]), (0, 0))
        self.assertEqual([e for e in events if e.get(_log.EVENT_FIELD) == _log.SHUTDOWN_FORCED],
                         [])


class TLSShutdownTests(ShutdownTests):
    """
    The same over mutual TLS: streams end with TLS's own close.
    """

    tls = True


def role_of(manager):
    """
    @return: the C{Role} row of a manager's C{/info}, or L{None}.
    """
    try:
        with urllib.request.urlopen(manager.url + "/info", timeout=2) as answer:
            rows = json.load(answer)["SystemStatus"]
    except (OSError, ValueError):
        return None
    return dict((key, value) for key, value in rows[:2]).get("Role")


class ReplicatedShutdownTests(TestCase):
    """
    SIGTERM of a replicated primary.
    """

    timeout = 180

    def test_primary_resigns_then_drains(self):
        """A stopping primary gives the key up at once: a replica leads while it drains."""
        from swarmd.testing.kvstores.etcd import start_etcd

        lab = shared_lab(n=2, testcase=self)
        self.addCleanup(lab.clean)
        etcd = start_etcd(self)
        for address in lab.discovery()[len("nodes://"):].split(","):
            key = "/stop/docker/swarm/nodes/" + address
            etcd.call("/v3/kv/put", {"key": base64.b64encode(key.encode()).decode(),
                                     "value": base64.b64encode(address.encode()).decode()})
        managers = []
        for _ in range(2):
            port = free_port()
            manager = ManagerProcess(
                "etcd://%s/stop" % (etcd.address,), port=port,
                args=FAST_REFRESH + ("--replication", "--replication-ttl", "3s",
                                     "--advertise", "127.0.0.1:%d" % (port,),
                                     "--shutdown-timeout", "8s"))
            self.addCleanup(manager.cleanup)
            managers.append(manager.start(healthy=2, timeout=60))
        deadline = time.monotonic() + 20
        while True:
            roles = [role_of(m) for m in managers]
            if sorted(roles) == ["primary", "replica"] or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(sorted(roles), ["primary", "replica"])
        primary = managers[roles.index("primary")]
        replica = managers[roles.index("replica")]
        done = primary.docker("run", "-d", "--name", "stopper", "busybox", "sh", "-c",
                              "while true; do echo tick; sleep 0.2; done")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.addCleanup(replica.docker, "rm", "-f", "stopper")
        env = {"DOCKER_HOST": primary.docker_host, "PATH": "/usr/bin:/bin"}
        follow = subprocess.Popen(["docker", "logs", "-f", "stopper"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env)
        self.addCleanup(lambda: follow.poll() is None and follow.kill())
        self.assertEqual(read_line(follow), b"tick\n")

        primary.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        while role_of(replica) != "primary" and time.monotonic() < deadline:
            time.sleep(0.1)
        # The replica leads while the old primary still drains its stream.
        self.assertEqual(role_of(replica), "primary")
        self.assertIsNone(primary.process.poll())
        self.assertIsNone(follow.poll())
        self.assertEqual(primary.process.wait(30), 0, primary.log())
        out, err = follow.communicate(timeout=20)
        self.assertEqual((follow.returncode, err), (0, b""))
        done = replica.docker("run", "--rm", "busybox", "echo", "after")
        self.assertEqual((done.returncode, done.stdout), (0, "after\n"), done.stderr)
