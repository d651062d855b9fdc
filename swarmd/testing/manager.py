"""
A real C{twistd -n swarm manage} process for functional tests and
benchmarks, with the real docker CLI pointed at it.
"""

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

#: The checkout this module lives in (so the child imports the same code).
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ManagerError(Exception):
    """
    The manager did not start or did not see its engines.
    """


def free_port():
    """
    @return: a TCP port on 127.0.0.1 that was free a moment ago.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagerProcess:
    """
    One manager process.

    @ivar url: C{http://127.0.0.1:PORT} of its API.
    @ivar docker_host: the C{DOCKER_HOST} value for clients.
    """

    def __init__(self, discovery, args=(), port=None, base=None, client_tls=None):
        """
        @param discovery: the discovery argument (e.g. C{nodes://...}).
        @param args: more C{swarm manage} flags.
        @param client_tls: for a manager started with C{--tlsverify}: the
            C{(ca, cert, key, cert_path)} a client uses (C{cert_path} is the
            folder the docker CLI reads).
        """
        self.discovery = discovery
        self.args = list(args)
        self.port = port or free_port()
        self.base = base or tempfile.mkdtemp(prefix="swarmd-manager-")
        self.log_path = os.path.join(self.base, "manager.log")
        self.client_tls = client_tls
        scheme = "https" if client_tls else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.docker_host = "tcp://127.0.0.1:%d" % (self.port,)
        self.process = None

    def command(self):
        return [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                "-n", "--pidfile=",
                "--logfile=" + self.log_path, "swarm", "manage",
                "-H", "tcp://127.0.0.1:%d" % (self.port,)] + self.args + [self.discovery]

    def start(self, healthy=0, timeout=30.0):
        """
        Start the manager and wait until it answers and sees C{healthy}
        healthy engines.

        @return: C{self}
        """
        env = dict(os.environ)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self._stderr = open(os.path.join(self.base, "stderr.txt"), "wb")
        self.process = subprocess.Popen(self.command(), cwd=self.base, env=env,
                                        stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise ManagerError("manager exited with %s: %s\n%s" % (
                    self.process.returncode, self.stderr(), self.log()))
            try:
                if len(self.healthy_nodes()) >= healthy:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ManagerError("manager did not see %d healthy engines in %ss\n%s" % (
                    healthy, timeout, self.log()))
            time.sleep(0.1)

    def stop(self):
        """
        Stop the manager (TERM, then KILL after 20 s: a manager with streams
        still open drains them for its --shutdown-timeout, 10 s by default).
        """
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def stderr(self):
        try:
            with open(os.path.join(self.base, "stderr.txt")) as f:
                return f.read()[-5000:]
        except OSError:
            return ""

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()[-5000:]
        except OSError:
            return ""

    def get(self, path):
        """
        GET a path of the manager's API.

        @return: the decoded JSON answer.
        """
        with urllib.request.urlopen(self.url + path, timeout=10,
                                    context=self.ssl_context()) as answer:
            return json.load(answer)

    def ssl_context(self):
        """
        @return: the client's C{ssl.SSLContext}, or L{None} without TLS.
        """
        if not self.client_tls:
            return None
        import ssl

        ca, cert, key, _ = self.client_tls
        context = ssl.create_default_context(cafile=ca)
        context.load_cert_chain(cert, key)
        return context

    def healthy_nodes(self):
        """
        @return: the names of the nodes the manager's C{/info} says are healthy.
        """
        rows = self.get("/info")["SystemStatus"]
        names = []
        current = None
        for key, value in rows:
            if key.startswith(" ") and not key.strip().startswith("└"):
                current = key.strip()
            elif key.strip() == "└ Status" and value == "Healthy":
                names.append(current)
        return names

    def docker(self, *args, input=None, check=False, timeout=60):
        """
        Run the real docker CLI against the manager.

        @return: the L{subprocess.CompletedProcess} (text mode).
        """
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.docker_host
        env.pop("DOCKER_CONTEXT", None)
        if self.client_tls:
            env["DOCKER_TLS_VERIFY"] = "1"
            env["DOCKER_CERT_PATH"] = self.client_tls[3]
        return subprocess.run(["docker"] + list(args), input=input, capture_output=True,
                              text=True, env=env, check=check, timeout=timeout)


_shared: dict = {}


def shared_manager(lab, args=(), healthy=None, client_tls=None):
    """
    One manager per lab and flag set, shared by the tests of this process
    and stopped when it exits.

    @param lab: a running L{swarmd.testing.lab.Lab}.
    @param args: more C{swarm manage} flags.
    @param healthy: how many healthy engines to wait for (default: all).
    @return: the running L{ManagerProcess}.
    """
    key = (lab.base, tuple(args))
    manager = _shared.get(key)
    if manager is not None and manager.process.poll() is None:
        return manager
    wanted = len(lab.engines) if healthy is None else healthy
    manager = ManagerProcess(lab.discovery(), args=args,
                             client_tls=client_tls).start(healthy=wanted)
    _shared[key] = manager
    return manager


@atexit.register
def stop_shared_managers():
    """
    Stop every manager L{shared_manager} started.
    """
    for key, manager in list(_shared.items()):
        del _shared[key]
        manager.cleanup()
