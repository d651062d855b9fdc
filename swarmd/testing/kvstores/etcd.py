"""
A real etcd on loopback ports for tests.

    etcd = start_etcd(self)                 # stopped by the test's cleanup
    url = f"etcd://{etcd.address}/prefix"
    etcd.stop(); etcd.start()               # an outage, same data
"""

from __future__ import annotations

import json
import os
import tempfile
import urllib.request

from swarmd.testing.kvstores._process import StoreProcess, free_port, require_program

__all__ = ["ETCD", "EtcdServer", "start_etcd"]

#: Debian's etcd-server.
ETCD = "/usr/bin/etcd"


class EtcdServer(StoreProcess):
    """
    One etcd member on 127.0.0.1.

    @ivar port: its client port.
    @ivar address: C{127.0.0.1:port}.
    @ivar tls: the L{swarmd.testing.lab._tls.LabTLS} it demands client
        certificates of, or L{None}.
    """

    def __init__(self, folder, tls=None, v2=False, program=ETCD):
        self.port = free_port()
        peer = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.tls = tls
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://{self.address}"
        argv = [
            program, "--name", "t1", "--data-dir", os.path.join(folder, "data"),
            "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"t1=http://127.0.0.1:{peer}",
            "--log-level", "warn", "--logger", "zap",
        ]
        if v2:
            argv.append("--enable-v2")
        if tls is not None:
            # etcd's gateway dials etcd itself with the server certificate:
            # under --client-cert-auth it must be good for clientAuth too,
            # as the lab's manager certificate is.
            argv += ["--cert-file", tls.manager_cert, "--key-file", tls.manager_key,
                     "--client-cert-auth", "--trusted-ca-file", tls.ca]
        super().__init__(argv, os.path.join(folder, "etcd.log"), self._answers, "etcd")

    def _context(self):
        import ssl

        context = ssl.create_default_context(cafile=self.tls.ca)
        context.load_cert_chain(self.tls.cert, self.tls.key)
        return context

    def _answers(self):
        try:
            kwargs = {"context": self._context()} if self.tls is not None else {}
            with urllib.request.urlopen(self.url + "/health", timeout=1, **kwargs) as r:
                return json.load(r).get("health") == "true"
        except (OSError, ValueError):
            return False

    def call(self, path, body):
        """
        POST C{body} as JSON to etcd's gateway, blocking (for fixtures).

        @return: the decoded answer.
        """
        kwargs = {"context": self._context()} if self.tls is not None else {}
        request = urllib.request.Request(self.url + path, json.dumps(body).encode(),
                                         method="POST")
        with urllib.request.urlopen(request, timeout=10, **kwargs) as r:
            return json.load(r)

    def v2(self, method, path, data=None):
        """
        A blocking request to the v2 API (C{path} after C{/v2/keys}).
        """
        from urllib.parse import urlencode

        body = urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.url + "/v2/keys" + path, body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            return json.load(e)


def start_etcd(testcase, tls=None, v2=False) -> EtcdServer:
    """
    Start an etcd for C{testcase}, stopped by its cleanup.

    @param tls: a L{LabTLS}: serve HTTPS and demand client certificates.
    @param v2: also serve the v2 API (C{--enable-v2}).
    """
    program = require_program(ETCD, "apt-get install etcd-server", testcase)
    folder = tempfile.mkdtemp(prefix="swarmd-etcd-")
    server = EtcdServer(folder, tls=tls, v2=v2, program=program)
    testcase.addCleanup(_remove, folder)
    testcase.addCleanup(server.stop)
    server.start()
    return server


def _remove(folder):
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
