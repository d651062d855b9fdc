"""
Hostile and malformed input (issue 9): the cases a fuzzing run found, kept
as explicit regression tests.
"""

import io

from twisted.trial.unittest import SynchronousTestCase

from swarmd.testing import lab
from swarmd.testing._lab_tls import LabTLS


class _StartedLab:
    """
    What L{lab.Lab} gives L{lab.main} once started, without any engine.
    """

    base = "/tmp/lab"
    engines = ()
    tls = LabTLS(ca="/l/ca.pem", cert="/l/client/cert.pem", key="/l/client/key.pem",
                 cert_path="/l/client", server_cert="/l/server-cert.pem",
                 server_key="/l/server-key.pem", manager_cert="/l/manager-cert.pem",
                 manager_key="/l/manager-key.pem")

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def start(self):
        return self

    def discovery(self):
        return "nodes://127.0.0.1:1"


class LabFlagsTests(SynchronousTestCase):
    """
    C{lab start --tls} prints flags that work.
    """

    def test_manager_flags(self):
        """The manager's flags name its own certificate (IP SAN), not the client's."""
        self.patch(lab, "Lab", _StartedLab)
        out = io.StringIO()
        self.assertEqual(lab.main(["start", "--tls", "-n", "1"], out=out), 0)
        lines = out.getvalue().splitlines()
        manager = [line for line in lines if line.startswith("# manager tls:")]
        self.assertEqual(manager, [
            "# manager tls: --tlsverify --tlscacert /l/ca.pem --tlscert /l/manager-cert.pem "
            "--tlskey /l/manager-key.pem"])
        client = [line for line in lines if line.startswith("# docker client tls:")]
        self.assertEqual(len(client), 1)
        self.assertIn("--tlscert /l/client/cert.pem", client[0])
