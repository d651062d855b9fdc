"""
Mutual TLS on both sides: the docker CLI to the manager, the manager to
engines that demand client certificates.
"""

import json
import ssl
import urllib.error
import urllib.request

from twisted.trial.unittest import TestCase

from swarmd.testing.functional import shared_lab
from swarmd.testing.manager import shared_manager


class MutualTLSTests(TestCase):
    """
    A manager started with --tlsverify in front of TLS-only engines.
    """

    def setUp(self):
        self.lab = shared_lab(n=2, testcase=self, tls=True)
        self.addCleanup(self.lab.clean)
        tls = self.lab.tls
        self.manager = shared_manager(
            self.lab,
            ("--tlsverify", "--tlscacert", tls.ca, "--tlscert", tls.manager_cert,
             "--tlskey", tls.manager_key, "--engine-refresh-min-interval", "1s",
             "--engine-refresh-max-interval", "2s"),
            client_tls=(tls.ca, tls.cert, tls.key, tls.cert_path))

    def test_cli_over_mutual_tls(self):
        """The CLI with its certificate sees both TLS engines healthy and runs containers."""
        info = self.manager.docker("info")
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertEqual(info.stdout.count("└ Status: Healthy"), 2)
        done = self.manager.docker("run", "--rm", "busybox", "echo", "over-tls")
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "over-tls"), done.stderr)

    def test_stdin_half_close_over_tls(self):
        """stdin's end reaches the container through TLS on both sides; output still comes."""
        done = self.manager.docker("run", "-i", "--rm", "busybox", "sh", "-c",
                                   "cat; echo after-eof", input="line one\nline two\n")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.split("\n")[:3], ["line one", "line two", "after-eof"])

    def test_client_without_certificate_refused(self):
        """A TLS client without a certificate is refused during the handshake."""
        context = ssl.create_default_context(cafile=self.lab.tls.ca)
        with self.assertRaises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(self.manager.url + "/_ping", timeout=10, context=context)

    def test_plain_http_refused(self):
        """Plain HTTP to a TLS manager gets no Docker answer."""
        with self.assertRaises((urllib.error.URLError, ConnectionError, OSError)):
            with urllib.request.urlopen(self.manager.url.replace("https", "http") + "/_ping",
                                        timeout=10) as answer:
                answer.read()

    def test_engines_reached_with_tls(self):
        """The node table's addresses are the engines' TLS listeners, all error free."""
        rows = dict((k.strip(), v) for k, v in self.manager.get("/info")["SystemStatus"])
        self.assertEqual(rows["└ Error"], "(none)")
        tcp = {e.tcp for e in self.lab.engines}
        table = {v for k, v in self.manager.get("/info")["SystemStatus"]
                 if k.startswith(" ") and not k.strip().startswith("└")}
        self.assertEqual(table, tcp)
        self.assertNotIn("unix://", json.dumps(self.manager.get("/info")))
