"""
The command line of the store discoveries: discovery URLs and options are
checked while parsing (one line each), C{token-service} and C{create} run
for real.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

from twisted.python import usage
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from swarmd.config import CreateConfig, TokenServiceConfig
from swarmd.tap import Options
from swarmd.testing.kvstores._process import free_port

ROOT = FilePath(__file__).parent().parent().parent()


def parse(args, environ=None):
    options = Options(environ={} if environ is None else environ)
    options.parseOptions(args)
    return options.subOptions.config


class ParseTests(SynchronousTestCase):
    """
    Discovery URLs and options of join, list and manage, and the token
    commands, as parsed.
    """

    def refused(self, args, expected, environ=None):
        with self.assertRaises(usage.UsageError) as caught:
            parse(args, environ)
        message = str(caught.exception)
        self.assertIn(expected, message)
        self.assertNotIn("\n", message)
        return message

    def test_malformed_urls(self):
        """
        Malformed store URLs are one line naming the expected form.
        """
        for command in (["list"], ["join", "--advertise", "127.0.0.1:2375"], ["manage"]):
            self.refused([*command, "etcd://"], "etcd://host:port")
            self.refused([*command, "zk://h/p"], "missing port")
            self.refused([*command, "consul://h:0/p"], "invalid port")
            self.refused([*command, "token://a b"], "invalid token")

    def test_unknown_option(self):
        """
        An unknown --discovery-opt key is refused while parsing.
        """
        self.refused(["list", "--discovery-opt", "kv.nope=1", "etcd://127.0.0.1:2379/p"],
                     "unknown discovery option 'kv.nope' for etcd discovery")
        self.refused(["join", "--advertise", "127.0.0.1:2375", "--discovery-opt", "x=1",
                      "zk://127.0.0.1:2181/p"], "unknown discovery option 'x' for zk")

    def test_token_needs_service(self):
        """
        token:// without SWARM_TOKEN_URL or token.url says how to run one.
        """
        self.refused(["list", "token://abc"], "needs a token service")

    def test_token_url_from_environment(self):
        """
        SWARM_TOKEN_URL reaches the discovery as the token.url option.
        """
        config = parse(["list", "token://abc"], {"SWARM_TOKEN_URL": "http://127.0.0.1:8500"})
        self.assertEqual(config.discovery_opts, (("token.url", "http://127.0.0.1:8500"),))
        config = parse(["list", "--discovery-opt", "token.url=http://127.0.0.1:9", "token://abc"],
                       {"SWARM_TOKEN_URL": "http://127.0.0.1:8500"})
        self.assertEqual(config.discovery_opts, (("token.url", "http://127.0.0.1:9"),))

    def test_create_takes_environment(self):
        """
        create carries SWARM_TOKEN_URL.
        """
        self.assertEqual(parse(["create"], {"SWARM_TOKEN_URL": "http://127.0.0.1:1"}),
                         CreateConfig(token_url="http://127.0.0.1:1"))

    def test_token_service(self):
        """
        token-service takes --listen and --data; --data is mandatory and
        --listen must be a strports description.
        """
        self.assertEqual(parse(["token-service", "--data", "/d"]),
                         TokenServiceConfig(listen="tcp:8500:interface=127.0.0.1", data="/d"))
        self.refused(["token-service"], "missing mandatory --data")
        self.refused(["token-service", "--data", "/d", "--listen", "bogus:1"], "invalid --listen")


class TokenServiceProcessTests(SynchronousTestCase):
    """
    twistd swarm token-service and swarm create, run for real.
    """

    def start_service(self, port, data):
        process = subprocess.Popen(
            [sys.executable, "-c", "from twisted.scripts.twistd import run; run()", "-n",
             "--pidfile=", "--logfile=" + data + ".log", "swarm", "token-service",
             "--listen", f"tcp:{port}:interface=127.0.0.1", "--data", data],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": ROOT.path})
        self.addCleanup(self.stop, process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/clusters/x", timeout=1)
            except urllib.error.HTTPError:
                return process
            except OSError:
                time.sleep(0.1)
        self.fail("the token service did not answer")

    def stop(self, process):
        if process.poll() is None:
            process.terminate()
            process.wait(30)

    def swarm(self, *args, environ=None):
        return subprocess.run(
            [sys.executable, "-m", "swarmd.cli", *args], capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": ROOT.path, **(environ or {})}, timeout=120)

    def test_create_list_restart(self):
        """
        swarm create prints a token alone on its line; the cluster survives
        a restart of the service; swarm list of an empty cluster prints
        nothing and exits 0.
        """
        port = free_port()
        data = self.mktemp()
        service = self.start_service(port, data)
        environ = {"SWARM_TOKEN_URL": f"http://127.0.0.1:{port}"}
        created = self.swarm("create", environ=environ)
        self.assertEqual(created.returncode, 0, created.stderr)
        self.assertRegex(created.stdout, r"^[0-9a-f]{32}\n$")
        token = created.stdout.strip()
        self.stop(service)
        self.start_service(port, data)
        listed = self.swarm("list", f"token://{token}", environ=environ)
        self.assertEqual((listed.returncode, listed.stdout), (0, ""), listed.stderr)
        unknown = self.swarm("list", "token://0000", environ=environ)
        self.assertEqual(unknown.returncode, 1)
        self.assertTrue(re.match(r"swarm list: .*does not know token 0000\n$", unknown.stderr),
                        unknown.stderr)
