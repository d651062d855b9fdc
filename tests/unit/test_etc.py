"""
The operator files under etc/: certificates made by etc/make-certs load into
the manager's TLS contexts; the service files start the plugin.
"""

import os
import shutil
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd.config import TLSOptions
from swarmd.tls import engine_tls, server_options

ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "etc")


class MakeCertsTests(SynchronousTestCase):
    """
    etc/make-certs.
    """

    def test_certificates_load(self):
        """The CA, manager and client certificates verify and load as --tlsverify needs."""
        if shutil.which("openssl") is None:
            self.skipTest("openssl is not installed")
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        subprocess.run(["sh", os.path.join(ETC, "make-certs"), folder, "127.0.0.1",
                        "10.0.0.5"], check=True, capture_output=True)
        tls = TLSOptions(tls=True, verify=True, cacert=os.path.join(folder, "ca.pem"),
                         cert=os.path.join(folder, "cert.pem"),
                         key=os.path.join(folder, "key.pem"))
        self.assertIsNotNone(server_options(tls).getContext())
        self.assertIsNotNone(engine_tls(tls)("10.0.0.5"))
        done = subprocess.run(
            ["openssl", "verify", "-CAfile", os.path.join(folder, "ca.pem"),
             os.path.join(folder, "cert.pem"), os.path.join(folder, "client", "cert.pem"),
             os.path.join(folder, "engine-cert.pem")], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in",
                               os.path.join(folder, "cert.pem")],
                              capture_output=True, text=True).stdout
        self.assertIn("TLS Web Server Authentication", text)
        self.assertIn("TLS Web Client Authentication", text)


class ServiceFileTests(SynchronousTestCase):
    """
    The systemd units.
    """

    def test_units_run_the_plugin(self):
        """Both units run twistd swarm in the foreground with the settings file."""
        for unit, command in (("swarmd-manage.service", " manage "),
                              ("swarmd-join.service", " join ")):
            with open(os.path.join(ETC, "systemd", unit)) as f:
                text = f.read()
            self.assertIn("EnvironmentFile=/etc/default/swarmd", text)
            self.assertIn("twistd -n --pidfile= --logfile=- swarm", text)
            self.assertIn(command, text)


CI = os.path.join(os.path.dirname(ETC), ".ci")

#: What apt-get 2.6 writes when another run holds the lists lock.
LOCK_ERROR = ("E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 "
              "(apt-get)\nE: Unable to lock directory /var/lib/apt/lists/\n")

#: A fake apt-get: records its arguments, fails on a lock (LOCKED times) or
#: with FAILURE, then succeeds.
FAKE_APT_GET = """#!/bin/sh
echo "$*" >> "$CALLS"
n=$(wc -l < "$CALLS")
if [ "$n" -le "${LOCKED:-0}" ]; then printf '%s' "$LOCK_ERROR" >&2; exit 100; fi
if [ -n "${FAILURE:-}" ]; then echo "$FAILURE" >&2; exit 100; fi
echo "W: a warning" >&2
"""


class AptWaitTests(SynchronousTestCase):
    """
    .ci/apt-wait and .ci/setup: apt-get waits (bounded) for another apt or
    dpkg run's locks, the lists lock of apt-get update included.
    """

    def run_apt_wait(self, *args, **environ):
        """
        Run .ci/apt-wait with a fake apt-get first on PATH.

        @return: the finished process and the argument lines apt-get got.
        """
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        fake = os.path.join(folder, "apt-get")
        with open(fake, "w") as f:
            f.write(FAKE_APT_GET)
        os.chmod(fake, 0o755)
        calls = os.path.join(folder, "calls")
        env = {**os.environ, "PATH": folder + os.pathsep + os.environ["PATH"], "CALLS": calls,
               "LOCK_ERROR": LOCK_ERROR, "APT_WAIT_INTERVAL": "0", **environ}
        done = subprocess.run([os.path.join(CI, "apt-wait"), *args], capture_output=True,
                              text=True, env=env, timeout=60)
        with open(calls) as f:
            return done, f.read().splitlines()

    def test_setup_waits_on_every_call(self):
        """Every apt-get call of .ci/setup goes through .ci/apt-wait."""
        with open(os.path.join(CI, "setup")) as f:
            lines = [line.split("#")[0] for line in f]
        self.assertEqual([line for line in lines if "apt-get" in line], [])
        waits = [line.split() for line in lines if ".ci/apt-wait" in line]
        self.assertEqual([words[1] for words in waits], ["update", "install"])

    def test_retries_on_lock(self):
        """A lock held by another run is waited for: apt-get runs again until it gets it,
        always with DPkg::Lock::Timeout, and its warnings are kept."""
        done, calls = self.run_apt_wait("update", "-qq", LOCKED="2")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(calls, ["-o DPkg::Lock::Timeout=300 update -qq"] * 3)
        self.assertEqual(done.stderr.count("apt-wait: Could not get lock"), 2)
        self.assertIn("W: a warning", done.stderr)

    def test_bounded(self):
        """Past APT_WAIT_TIMEOUT seconds the lock error is apt-get's answer."""
        done, calls = self.run_apt_wait("update", LOCKED="5", APT_WAIT_TIMEOUT="0")
        self.assertEqual((done.returncode, len(calls)), (100, 1))
        self.assertIn("Could not get lock /var/lib/apt/lists/lock", done.stderr)

    def test_other_failure_not_retried(self):
        """A failure that is not a lock is reported at once."""
        done, calls = self.run_apt_wait("install", "nosuch", FAILURE="E: Unable to locate package")
        self.assertEqual((done.returncode, len(calls)), (100, 1))
        self.assertIn("E: Unable to locate package", done.stderr)

    def test_real_lists_lock(self):
        """Debian 12's apt-get update, whose lists lock DPkg::Lock::Timeout does not cover,
        waits for a lists lock another process holds and succeeds once it is released."""
        import fcntl

        if shutil.which("apt-get") is None or os.geteuid() != 0:
            self.skipTest("needs apt-get, as root")
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        lists = os.path.join(folder, "lists")
        os.makedirs(os.path.join(lists, "partial"))
        os.makedirs(os.path.join(folder, "cache", "archives", "partial"))
        lock = os.open(os.path.join(lists, "lock"), os.O_RDWR | os.O_CREAT, 0o640)
        fcntl.lockf(lock, fcntl.LOCK_EX)
        # No sources: update only takes its locks and reads nothing from the network.
        process = subprocess.Popen(
            [os.path.join(CI, "apt-wait"), "-o", "Dir::State::Lists=" + lists,
             "-o", "Dir::Cache=" + os.path.join(folder, "cache"),
             "-o", "Dir::Etc::sourcelist=/dev/null", "-o", "Dir::Etc::sourceparts=" + folder,
             "update", "-qq"],
            stderr=subprocess.PIPE, text=True, env={**os.environ, "APT_WAIT_INTERVAL": "0.2"})
        try:
            first = process.stderr.readline()
        finally:
            os.close(lock)
        rest = process.stderr.read()
        self.assertEqual(process.wait(timeout=60), 0, first + rest)
        self.assertIn("apt-wait: Could not get lock " + os.path.join(lists, "lock"), first)


class QuickstartScriptTests(SynchronousTestCase):
    """
    etc/quickstart's commands that start nothing (the real run is
    tests.functional.test_quickstart).
    """

    def quickstart(self, *args):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        base = os.path.join(folder, "demo")
        os.makedirs(base)
        with open(os.path.join(base, "manager.log"), "w") as f:
            f.write("log\n")
        done = subprocess.run(["sh", os.path.join(ETC, "quickstart"), *args],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "SWARMD_DEMO_DIR": base})
        return done, base

    def test_unknown_command(self):
        """An unknown command is a usage line and status 2; nothing is touched."""
        done, base = self.quickstart("restart")
        self.assertEqual((done.returncode, done.stdout), (2, ""))
        self.assertEqual(done.stderr, "usage: sh etc/quickstart [start|stop|wipe]\n")
        self.assertEqual(os.listdir(base), ["manager.log"])

    def test_stop_keeps(self):
        """stop deletes nothing and says how to start again or wipe."""
        done, base = self.quickstart("stop")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("are kept", done.stdout)
        self.assertIn("sh etc/quickstart wipe", done.stdout)
        self.assertEqual(os.listdir(base), ["manager.log"])

    def test_wipe_says_what_it_deletes(self):
        """wipe names what it deletes, then deletes the demo's folder."""
        done, base = self.quickstart("wipe")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("deleting every container, image, volume and", done.stdout)
        self.assertIn(base, done.stdout)
        self.assertFalse(os.path.exists(base))
