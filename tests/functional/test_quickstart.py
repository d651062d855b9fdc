"""
C{etc/quickstart} for real: three engines and a manager, run again, stopped,
started again and wiped, in a folder and on a port of the test's own.
"""

import os
import shutil
import socket
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing.functional import require_docker
from swarmd.testing.lab._engine import _docker_cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuickstartTests(SynchronousTestCase):
    """
    The quickstart never deletes the user's work unless told to wipe.
    """

    def quickstart(self, *args):
        """
        Run C{sh etc/quickstart ARGS} on the test's folder and port (without
        the install step).

        @return: its standard output; the test fails if it fails.
        """
        done = subprocess.run(["sh", os.path.join(ROOT, "etc", "quickstart"), *args],
                              capture_output=True, text=True, env=self.env, timeout=600)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout

    def docker(self, *args):
        """
        Run the docker CLI against the quickstart's manager.

        @return: its standard output, stripped.
        """
        env = {k: v for k, v in os.environ.items()
               if k not in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")}
        env["DOCKER_HOST"] = "tcp://127.0.0.1:%d" % (self.port,)
        done = subprocess.run([_docker_cli(), *args], capture_output=True, text=True, env=env,
                              timeout=120)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        return done.stdout.strip()

    def test_rerun_stop_start_keep_work_wipe_deletes(self):
        """
        Re-running the quickstart while it runs reuses the lab and manager:
        a container, a volume and a network survive.  stop keeps them and
        the next start brings them back (the container stopped, as after a
        reboot).  wipe says what it deletes and deletes it.
        """
        require_docker(self)
        base = tempfile.mkdtemp(prefix="qs-", dir="/tmp")
        self.port = _free_port()
        self.env = {**os.environ, "SWARMD_DEMO_DIR": base, "SWARMD_DEMO_PORT": str(self.port),
                    "SWARMD_SKIP_SETUP": "1"}
        self.addCleanup(shutil.rmtree, base, ignore_errors=True)
        self.addCleanup(subprocess.run, ["sh", os.path.join(ROOT, "etc", "quickstart"), "wipe"],
                        env=self.env, capture_output=True, timeout=600)

        out = self.quickstart()
        self.assertIn("export DOCKER_HOST=tcp://127.0.0.1:%d" % (self.port,), out)
        self.docker("run", "-d", "--name", "keep", "busybox", "sleep", "3000")
        self.docker("volume", "create", "n2/keepvol")
        self.docker("network", "create", "n3/keepnet")
        container = self.docker("inspect", "-f", "{{.Id}}", "keep")

        out = self.quickstart()
        self.assertIn("reusing the running swarmd manager", out)
        self.assertEqual(self.docker("inspect", "-f", "{{.Id}} {{.State.Running}}", "keep"),
                         container + " true")

        out = self.quickstart("stop")
        self.assertIn("are kept", out)
        self.assertTrue(os.path.isdir(os.path.join(base, "lab", "n1", "data")))

        self.quickstart()
        self.assertEqual(self.docker("inspect", "-f", "{{.Id}}", "keep"), container)
        self.assertIn("n2/keepvol", self.docker("volume", "ls", "--format", "{{.Name}}"))
        self.assertIn("n3/keepnet", self.docker("network", "ls", "--format", "{{.Name}}"))

        out = self.quickstart("wipe")
        self.assertIn("deleting every container, image, volume and", out)
        self.assertFalse(os.path.exists(base))
