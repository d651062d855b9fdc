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
