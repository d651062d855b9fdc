"""
Tests for L{swarmd.testing.lab}, the lab of real Docker engines, and for
L{swarmd.testing.functional}.

The first classes need nothing; the others start real engines (root and
Debian's docker.io) and are skipped without them, or fail under C{CI=true}.
"""

import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.request

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from twisted.trial.unittest import SynchronousTestCase, TestCase

from swarmd.testing import functional, lab
from swarmd.testing.functional import require_docker, shared_lab
from swarmd.testing.lab import Lab, LabError, _cgroups, _processes
from swarmd.testing.lab import _host as host
from swarmd.testing.lab._image import is_static, rootfs_tar
from swarmd.testing.lab._tls import make_certificates

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _elf(interpreter):
    """
    A minimal 64-bit little-endian ELF header with one program header, of
    type PT_INTERP (3) if C{interpreter}, else PT_LOAD (1).
    """
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 0x20, 64)
    struct.pack_into("<HH", header, 0x36, 56, 1)
    program = bytearray(56)
    struct.pack_into("<I", program, 0, 3 if interpreter else 1)
    return bytes(header + program)


class ImageTests(SynchronousTestCase):
    """
    The busybox image's root file system and the static-binary check.
    """

    def test_is_static(self):
        """An ELF file without a PT_INTERP header is static; with one, or not ELF, it is not."""
        folder = self.mktemp()
        os.makedirs(folder)
        for name, data, expected in (("static", _elf(False), True),
                                     ("dynamic", _elf(True), False),
                                     ("text", b"#!/bin/sh\necho hi\n" * 10, False)):
            path = os.path.join(folder, name)
            with open(path, "wb") as f:
                f.write(data)
            self.assertEqual(is_static(path), expected, name)
        self.assertFalse(is_static(os.path.join(folder, "missing")))

    def test_rootfs(self):
        """The root file system holds busybox, a link per applet, a root user and /tmp."""
        if not is_static("/bin/busybox"):
            raise unittest.SkipTest("no static busybox here")
        with tarfile.open(fileobj=io.BytesIO(rootfs_tar())) as tar:
            members = {m.name: m for m in tar.getmembers()}
            self.assertTrue(members["bin/busybox"].isfile())
            self.assertEqual(members["bin/busybox"].mode, 0o755)
            for applet in ("sh", "echo", "sleep", "httpd"):
                self.assertTrue(members["bin/" + applet].issym())
                self.assertEqual(members["bin/" + applet].linkname, "busybox")
            self.assertEqual(tar.extractfile("etc/passwd").read(),
                             b"root:x:0:0:root:/root:/bin/sh\n")
            self.assertTrue(members["tmp"].isdir())
            self.assertEqual(members["tmp"].mode, 0o1777)


class CertificateTests(SynchronousTestCase):
    """
    The lab's CA, server and client certificates.
    """

    def setUp(self):
        self.folder = self.mktemp()
        self.tls = make_certificates(self.folder, ["10.78.3.2"])

    def _load(self, path):
        with open(path, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())

    def test_server_names(self):
        """The server certificate names 127.0.0.1, localhost and the given addresses."""
        cert = self._load(self.tls.server_cert)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual([str(ip) for ip in names.get_values_for_type(x509.IPAddress)],
                         ["127.0.0.1", "10.78.3.2"])
        self.assertEqual(names.get_values_for_type(x509.DNSName), ["localhost"])

    def test_signed_by_ca(self):
        """Both leaf certificates are issued by the CA, for server and client use."""
        ca = self._load(self.tls.ca)
        for path, usage in ((self.tls.server_cert, ExtendedKeyUsageOID.SERVER_AUTH),
                            (self.tls.cert, ExtendedKeyUsageOID.CLIENT_AUTH)):
            cert = self._load(path)
            cert.verify_directly_issued_by(ca)
            usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
            self.assertEqual(list(usages), [usage])

    def test_cert_path(self):
        """The client folder has the three files DOCKER_CERT_PATH wants; keys are private."""
        self.assertEqual(sorted(os.listdir(self.tls.cert_path)), ["ca.pem", "cert.pem", "key.pem"])
        self.assertEqual(os.stat(self.tls.key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.tls.server_key).st_mode & 0o777, 0o600)
        self.assertEqual(lab.LabTLS.from_json(self.tls.to_json()), self.tls)


class EnsureInstalledTests(SynchronousTestCase):
    """
    L{lab.ensure_installed} runs apt-get only for what is missing.
    """

    def setUp(self):
        self.calls = []
        self.returncode = 0

    def fake_run(self, argv, **kwargs):
        self.calls.append((argv, kwargs["env"]["DEBIAN_FRONTEND"]))
        return subprocess.CompletedProcess(argv, self.returncode, "", "apt says no")

    def static_busybox(self):
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(_elf(False))
        return path

    def test_nothing_missing(self):
        """With dockerd, ip and a static busybox present, nothing runs."""
        installed = lab.ensure_installed(run=self.fake_run, find=lambda p: "/usr/bin/" + p,
                                         busybox=self.static_busybox())
        self.assertEqual((installed, self.calls), ([], []))

    def test_dockerd_missing(self):
        """Without dockerd: apt-get update, then install docker.io, busybox-static, iptables."""
        installed = lab.ensure_installed(
            run=self.fake_run, find=lambda p: None if p == "dockerd" else "/usr/bin/" + p,
            busybox=self.static_busybox())
        self.assertEqual(installed, ["docker.io", "busybox-static", "iptables"])
        self.assertEqual(self.calls, [
            (["apt-get", "update", "-qq"], "noninteractive"),
            (["apt-get", "install", "-y", "-qq", "--no-install-recommends",
              "docker.io", "busybox-static", "iptables"], "noninteractive"),
        ])

    def test_busybox_not_static(self):
        """A busybox that is missing or dynamic gets busybox-static alone."""
        installed = lab.ensure_installed(run=self.fake_run, find=lambda p: "/usr/bin/" + p,
                                         busybox=self.mktemp())
        self.assertEqual(installed, ["busybox-static"])
        self.assertEqual(self.calls[-1][0][-1], "busybox-static")

    def test_apt_fails(self):
        """A failing apt-get is a LabError holding its output, and stops there."""
        self.returncode = 100
        error = self.assertRaises(LabError, lab.ensure_installed, run=self.fake_run,
                                  find=lambda p: None, busybox=self.mktemp())
        self.assertIn("apt says no", str(error))
        self.assertEqual(len(self.calls), 1)


class RegistryTests(SynchronousTestCase):
    """
    Slot claims shared by every lab on the machine.
    """

    def setUp(self):
        self.registry = host.SlotRegistry(self.mktemp())

    def test_pick_skips_claims(self):
        """Claimed slots are never picked; picked ones are free on the host."""
        with self.registry.locked():
            first = self.registry.pick(2, {})
            claims = {slot: {"base": "/elsewhere"} for slot in first}
            second = self.registry.pick(2, claims)
        self.assertEqual(len(set(first + second)), 4)
        addresses = host.host_addresses()
        for slot in first + second:
            self.assertIsNone(host.slot_in_use(slot, addresses))

    def test_release_own_claims_only(self):
        """release drops the claims of its own lab and leaves another lab's."""
        with self.registry.locked():
            self.registry.claim([7], {"base": "/a"})
            self.registry.claim([8], {"base": "/b"})
        self.registry.release([7, 8], "/a")
        self.assertEqual(self.registry.claims(), {8: {"base": "/b"}})

    def test_stale_claims_forgotten(self):
        """reap_orphans forgets claims whose lab folder has no state."""
        with self.registry.locked():
            self.registry.claim([9], {"base": self.mktemp(), "persistent": True})
        self.assertEqual(lab.reap_orphans(self.registry), [])
        self.assertEqual(self.registry.claims(), {})

    def test_pid_identity(self):
        """A pid with the wrong start time is not the recorded process."""
        started = _processes.start_time(os.getpid())
        self.assertTrue(_processes.alive(os.getpid(), started))
        self.assertFalse(_processes.alive(os.getpid(), started + 1))
        self.assertFalse(_processes.alive(None))


class ShareTests(SynchronousTestCase):
    """
    Each engine's share of the host, computed without engines.
    """

    def test_cpu_shares(self):
        """CPUs are split in even blocks; with fewer CPUs than engines, one each in turn."""
        self.assertEqual(_cgroups.cpu_shares(3, [0, 1]), [[0], [1], [0]])
        self.assertEqual(_cgroups.cpu_shares(2, [0, 1]), [[0], [1]])
        self.assertEqual(_cgroups.cpu_shares(1, [0, 1]), [[0, 1]])
        self.assertEqual(_cgroups.cpu_shares(3, range(8)), [[0, 1, 2], [3, 4, 5], [6, 7]])
        self.assertEqual(_cgroups.cpu_shares(2, [4, 2, 6]), [[2, 4], [6]])
        self.assertEqual(sorted(sum(_cgroups.cpu_shares(1), [])), sorted(os.sched_getaffinity(0)))

    def test_meminfo(self):
        """The meminfo copy reports the share as MemTotal, caps free memory, keeps the rest."""
        folder = self.mktemp()
        os.makedirs(folder)
        real = os.path.join(folder, "real")
        with open(real, "w") as f:
            f.write("MemTotal:       24000000 kB\nMemFree:        20000000 kB\n"
                    "MemAvailable:    1000000 kB\nSwapTotal:             0 kB\n")
        copy = os.path.join(folder, "copy")
        _cgroups.write_meminfo(copy, 8000000 * 1024, meminfo=real)
        self.assertEqual(_cgroups.memory_total(copy), 8000000 * 1024)
        with open(copy) as f:
            lines = [line.split() for line in f]
        self.assertEqual(lines, [["MemTotal:", "8000000", "kB"], ["MemFree:", "8000000", "kB"],
                                 ["MemAvailable:", "1000000", "kB"], ["SwapTotal:", "0", "kB"]])


class CommandLineTests(SynchronousTestCase):
    """
    C{python -m swarmd.testing.lab} without a lab.
    """

    def test_stop_nothing(self):
        """stop on a folder without a lab says so and succeeds."""
        out = io.StringIO()
        self.assertEqual(lab.main(["stop", "--base", self.mktemp()], out=out), 0)
        self.assertIn("no lab in", out.getvalue())

    def test_suspend_nothing(self):
        """suspend on a folder without a lab says so and succeeds."""
        out = io.StringIO()
        self.assertEqual(lab.main(["suspend", "--base", self.mktemp()], out=out), 0)
        self.assertIn("no lab in", out.getvalue())

    def test_suspended_lab_not_replaced(self):
        """start (without --resume) refuses a folder holding a suspended lab: its data stays."""
        folder = tempfile.mkdtemp(prefix="sl-", dir="/tmp")
        self.addCleanup(shutil.rmtree, folder, ignore_errors=True)
        with open(os.path.join(folder, lab.STATE), "w") as f:
            json.dump({"status": "suspended", "engines": []}, f)
        error = self.assertRaises(LabError, Lab(n=1, base=folder)._prepare_base)
        self.assertIn("suspended lab", str(error))
        self.assertEqual(os.listdir(folder), [lab.STATE])

    def test_status_nothing(self):
        """status on a folder without a lab fails."""
        self.assertEqual(lab.main(["status", "--base", self.mktemp()], out=io.StringIO()), 1)

    def test_foreign_folder_refused(self):
        """start refuses a folder that holds other things than a lab, and touches nothing."""
        folder = self.mktemp()
        os.makedirs(folder)
        with open(os.path.join(folder, "precious"), "w") as f:
            f.write("keep me")
        the_lab = Lab(n=1, base=folder)
        error = self.assertRaises(LabError, the_lab._prepare_base)
        self.assertIn("neither empty nor a lab folder", str(error))
        self.assertEqual(os.listdir(folder), ["precious"])

    def test_default_labels(self):
        """Odd engines are storage=ssd, even ones storage=disk."""
        self.assertEqual([lab.default_labels(i)["storage"] for i in (1, 2, 3, 4)],
                         ["ssd", "disk", "ssd", "disk"])


class RequireDockerTests(SynchronousTestCase):
    """
    L{require_docker} skips outside CI and fails in CI.
    """

    def setUp(self):
        self.patch(functional, "docker_unavailable", lambda: "no engines here")
        self.environ = dict(os.environ)
        self.patch(os, "environ", self.environ)

    def test_skip(self):
        """Without CI=true an unavailable engine is a skip with the reason."""
        self.environ.pop("CI", None)
        error = self.assertRaises(unittest.SkipTest, require_docker, self)
        self.assertEqual(str(error), "no engines here")

    def test_ci_fails(self):
        """With CI=true an unavailable engine fails the test."""
        self.environ["CI"] = "true"
        error = self.assertRaises(self.failureException, require_docker, self)
        self.assertIn("no engines here", str(error))

    def test_ci_fails_without_testcase(self):
        """With CI=true and no test case, it raises AssertionError."""
        self.environ["CI"] = "true"
        self.assertRaises(AssertionError, require_docker, None)

    def test_available(self):
        """When engines can run, nothing is raised, CI or not."""
        self.patch(functional, "docker_unavailable", lambda: None)
        self.environ["CI"] = "true"
        self.assertIsNone(require_docker(self))


# -- with real engines --------------------------------------------------------

def _info(engine, tcp=False):
    out = engine.docker("info", "--format", "{{json .}}", tcp=tcp).stdout
    return json.loads(out)


def _assert_gone(testcase, the_lab, pids, slots):
    """
    Nothing of a stopped lab is left: processes, links, namespaces, cgroups,
    mounts, claims.
    """
    for pid, started in pids:
        testcase.assertFalse(_processes.alive(pid, started), "pid %d still alive" % (pid,))
    for slot in slots:
        testcase.assertFalse(host.link_exists(host.bridge_name(slot)))
        testcase.assertFalse(host.link_exists(host.veth_name(slot)))
        testcase.assertFalse(host.netns_exists(host.netns_name(slot)))
        testcase.assertEqual(host.cgroup_folders(host.cgroup_name(slot)), [])
        testcase.assertEqual(host.links_with_addresses(host.slot_prefixes(slot)), [])
        claim = host.SlotRegistry().claims().get(slot, {})
        testcase.assertNotEqual(claim.get("base"), the_lab.base)
    if os.path.exists(the_lab.base):
        testcase.assertEqual(host.mounts_under(the_lab.base), [])


class SharedLabTests(TestCase):
    """
    A two-engine lab, shared with other test modules of the process.
    """

    def setUp(self):
        self.lab = shared_lab(n=2, testcase=self)

    def test_names_ids_labels(self):
        """docker info: names n1 and n2, distinct IDs, node and storage labels."""
        infos = [_info(e) for e in self.lab.engines]
        self.assertEqual([i["Name"] for i in infos], ["n1", "n2"])
        self.assertNotEqual(infos[0]["ID"], infos[1]["ID"])
        self.assertEqual(sorted(infos[0]["Labels"]), ["node=n1", "storage=ssd"])
        self.assertEqual(sorted(infos[1]["Labels"]), ["node=n2", "storage=disk"])
        self.assertEqual([e.labels for e in self.lab.engines],
                         [{"node": "n1", "storage": "ssd"}, {"node": "n2", "storage": "disk"}])

    def test_run_echo(self):
        """docker run --rm busybox echo hi prints hi on every engine."""
        for engine in self.lab.engines:
            self.assertEqual(engine.docker("run", "--rm", "busybox", "echo", "hi").stdout, "hi\n")

    def test_tcp_listener(self):
        """The TCP listener is on loopback and reaches the same engine as the socket."""
        for engine in self.lab.engines:
            self.assertEqual(engine.address, "127.0.0.1")
            self.assertEqual(_info(engine, tcp=True)["ID"], _info(engine)["ID"])
        self.assertEqual(self.lab.discovery(),
                         "nodes://" + ",".join(e.tcp for e in self.lab.engines))

    def test_pids(self):
        """The recorded pid is the dockerd of the pidfile."""
        for engine in self.lab.engines:
            with open(engine.pidfile) as f:
                self.assertEqual(int(f.read()), engine.pid)
            self.assertEqual(os.path.basename(_processes.cmdline(engine.pid)[0]), "dockerd")
            self.assertTrue(engine.running())

    def test_shared(self):
        """shared_lab gives the same running lab for the same configuration."""
        self.assertIs(shared_lab(n=2, testcase=self), self.lab)


class StopTests(TestCase):
    """
    Stopping a lab leaves nothing behind, whoever stops it.
    """

    def setUp(self):
        require_docker(self)

    def test_stop_leaves_nothing(self):
        """After stop: no dockerd or helper alive, no bridge, cgroup, mount, claim or folder."""
        # Without shares: each dockerd then mounts in the host's mount
        # namespace (with them, in its own, which dies with it), so its mounts
        # are there to be cleaned.
        the_lab = Lab(n=2, share=False)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        engine = the_lab.engines[0]
        engine.docker("network", "create", "lab-net")
        engine.docker("run", "-d", "--name", "sleeper", "--network", "lab-net", "busybox",
                      "sleep", "300")
        network = engine.docker("network", "inspect", "lab-net", "--format", "{{.Id}}")
        bridge = "br-" + network.stdout.strip()[:12]
        self.assertTrue(host.link_exists(bridge))
        pids = [(e.pid, e.started) for e in the_lab.engines]
        pids += [(p, _processes.start_time(p))
                 for e in the_lab.engines for p in _processes.children(e.pid)]
        slots = [e.slot for e in the_lab.engines]
        self.assertTrue(host.mounts_under(the_lab.base))
        the_lab.stop()
        _assert_gone(self, the_lab, pids, slots)
        self.assertFalse(host.link_exists(bridge))
        self.assertFalse(os.path.exists(the_lab.base))
        the_lab.stop()

    def test_killed_engine_cleaned(self):
        """stop also cleans up after an engine that was killed: its networks' bridges, mounts."""
        the_lab = Lab(n=1)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        engine = the_lab.engines[0]
        engine.docker("network", "create", "lab-net")
        engine.docker("run", "-d", "--network", "lab-net", "busybox", "sleep", "300")
        self.assertTrue(host.links_with_addresses(host.slot_prefixes(engine.slot)))
        os.kill(engine.pid, signal.SIGKILL)
        the_lab.stop()
        _assert_gone(self, the_lab, [(engine.pid, engine.started)], [engine.slot])

    def test_command_line(self):
        """The CLI starts a lab that outlives it, shows it, and stops it from another process."""
        base = tempfile.mkdtemp(prefix="swarmd-labtest-")
        self.addCleanup(shutil.rmtree, base, True)
        self.addCleanup(lab.stop_lab, base)
        env = dict(os.environ, PYTHONPATH=ROOT)

        def cli(*args):
            return subprocess.run([sys.executable, "-m", "swarmd.testing.lab", *args],
                                  capture_output=True, text=True, env=env, timeout=120)

        started = cli("start", "-n", "2", "--base", base, "--label", "2:zone=b")
        self.assertEqual(started.returncode, 0, started.stderr)
        lines = started.stdout.splitlines()
        the_lab = Lab.load(base)
        self.assertEqual(lines[1:], [
            "%s %s %s" % (e.name, e.unix_url, e.tcp_url) for e in the_lab.engines
        ] + [the_lab.discovery()])
        self.assertTrue(lines[-1].startswith("nodes://127.0.0.1:"))
        self.assertEqual([e.labels for e in the_lab.engines],
                         [{"node": "n1"}, {"node": "n2", "zone": "b"}])
        self.assertEqual(_info(the_lab.engines[1])["Name"], "n2")

        status = cli("status", "--base", base)
        self.assertEqual(status.returncode, 0)
        self.assertEqual([line.split()[:2] for line in status.stdout.splitlines()],
                         [["n1", "answering"], ["n2", "answering"]])

        again = cli("start", "-n", "1", "--base", base)
        self.assertEqual(again.returncode, 1)
        self.assertIn("a lab is running", again.stderr)

        pids = [(e.pid, e.started) for e in the_lab.engines]
        slots = [e.slot for e in the_lab.engines]
        for _ in range(2):
            stopped = cli("stop", "--base", base)
            self.assertEqual(stopped.returncode, 0, stopped.stderr)
        _assert_gone(self, the_lab, pids, slots)
        self.assertEqual(cli("status", "--base", base).returncode, 1)
        with open(os.path.join(base, lab.STATE)) as f:
            self.assertEqual(json.load(f)["status"], "stopped")

    def test_orphan_reaped(self):
        """A lab whose (non-persistent) owner was killed is stopped by reap_orphans."""
        base = tempfile.mkdtemp(prefix="swarmd-labtest-")
        self.addCleanup(shutil.rmtree, base, True)
        self.addCleanup(lab.stop_lab, base)
        owner = subprocess.Popen(
            [sys.executable, "-c", "import sys, time\n"
             "from swarmd.testing.lab import Lab\n"
             "Lab(n=1, base=sys.argv[1]).start()\n"
             "print('up', flush=True)\n"
             "time.sleep(600)\n", base],
            stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(owner.wait)
        self.addCleanup(owner.kill)
        self.assertEqual(owner.stdout.readline(), "up\n")
        the_lab = Lab.load(base)
        self.assertTrue(the_lab.engines[0].running())
        self.assertNotIn(base, lab.reap_orphans())
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        self.assertTrue(the_lab.engines[0].running())
        self.assertIn(base, lab.reap_orphans())
        engine = the_lab.engines[0]
        _assert_gone(self, the_lab, [(engine.pid, engine.started)], [engine.slot])

    def test_failed_start_cleans_up(self):
        """A start that fails raises LabError with the log and undoes everything."""
        the_lab = Lab(n=1, timeout=0)
        self.addCleanup(the_lab.stop)
        error = self.assertRaises(LabError, the_lab.start)
        self.assertIn("no answer from n1", str(error))
        self.assertIn("--- n1", str(error))
        engine = the_lab.engines[0]
        _assert_gone(self, the_lab, [(engine.pid, engine.started)], [engine.slot])
        self.assertFalse(os.path.exists(the_lab.base))


class SideBySideTests(TestCase):
    """
    Labs started at the same time never collide.
    """

    def setUp(self):
        require_docker(self)

    def test_two_labs(self):
        """Two labs get distinct slots, sockets, ports and IDs; stopping one spares the other."""
        first = Lab(n=2)
        self.addCleanup(first.stop)
        second = Lab(n=2, labels=[{"zone": "a"}, {"zone": "b"}])
        self.addCleanup(second.stop)
        first.start()
        second.start()
        engines = first.engines + second.engines
        for attribute in ("slot", "socket", "tcp", "pid"):
            values = [getattr(e, attribute) for e in engines]
            self.assertEqual(len(set(values)), 4, attribute)
        self.assertEqual(len({_info(e)["ID"] for e in engines}), 4)
        self.assertEqual([_info(e)["Name"] for e in second.engines], ["n1", "n2"])
        self.assertEqual(sorted(_info(second.engines[1])["Labels"]), ["node=n2", "zone=b"])
        first.stop()
        self.assertFalse(any(e.running() for e in first.engines))
        self.assertEqual(second.engines[0].docker("run", "--rm", "busybox", "echo", "ok").stdout,
                         "ok\n")

    def test_foreign_bridge(self):
        """A slot whose bridge exists already (made by someone else) is skipped."""
        registry = host.SlotRegistry()
        with registry.locked():
            slot = registry.pick(1, registry.claims())[0]
            host.add_bridge(host.bridge_name(slot), host.bridge_address(slot))
        self.addCleanup(host.delete_link, host.bridge_name(slot))
        the_lab = Lab(n=1)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        self.assertNotEqual(the_lab.engines[0].slot, slot)
        the_lab.stop()
        self.assertTrue(host.link_exists(host.bridge_name(slot)))


class HostShareTests(TestCase):
    """
    Three engines share the machine instead of each reporting all of it.
    """

    def setUp(self):
        require_docker(self)

    def test_three_engines_share_the_host(self):
        """
        Each engine reports its own CPUs (its affinity mask) and a third of the
        memory, its containers run on those CPUs under that memory limit, and
        together the engines report the machine's memory, not three times it.
        """
        the_lab = Lab(n=3)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        total = _cgroups.memory_total()
        infos = [_info(e) for e in the_lab.engines]
        self.assertEqual([e.cpus for e in the_lab.engines], _cgroups.cpu_shares(3))
        self.assertEqual([i["NCPU"] for i in infos], [len(e.cpus) for e in the_lab.engines])
        self.assertLessEqual(sum(i["NCPU"] for i in infos),
                             max(3, len(os.sched_getaffinity(0))))
        self.assertEqual([i["MemTotal"] for i in infos], [total // 3 // 1024 * 1024] * 3)
        for engine, info in zip(the_lab.engines, infos, strict=True):
            out = engine.docker("run", "--rm", "busybox", "nproc").stdout
            self.assertEqual(int(out), info["NCPU"])
            limit = os.path.join("/sys/fs/cgroup/memory", host.cgroup_name(engine.slot),
                                 "memory.limit_in_bytes")
            if os.path.isdir("/sys/fs/cgroup/memory"):
                with open(limit) as f:
                    self.assertLessEqual(int(f.read()), total // 3)

    def test_suspend_resume_keeps_data(self):
        """suspend stops the engines keeping their containers and images; resume starts
        them again on that data (from another Lab object, as another process would)."""
        the_lab = Lab(n=1, base=os.path.join(tempfile.mkdtemp(prefix="sr-", dir="/tmp"), "l"),
                      persistent=True)
        self.addCleanup(shutil.rmtree, os.path.dirname(the_lab.base), ignore_errors=True)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        engine = the_lab.engines[0]
        container = engine.docker("create", "--name", "kept", "busybox", "true").stdout.strip()
        pid = engine.pid
        the_lab.suspend()
        self.assertFalse(engine.running())
        again = Lab.load(the_lab.base).resume()
        self.assertNotEqual(again.engines[0].pid, pid)
        self.assertEqual(again.engines[0].docker("inspect", "-f", "{{.Id}}", "kept").stdout.strip(),
                         container)
        self.assertEqual(again.engines[0].slot, engine.slot)
        the_lab.engines = again.engines


class NamespaceTests(TestCase):
    """
    Engines in their own network namespaces.
    """

    def setUp(self):
        require_docker(self)

    def test_same_port_on_two_engines(self):
        """Both engines publish host port 18080; each address answers with its engine's page."""
        the_lab = Lab(n=2, netns=True)
        self.addCleanup(the_lab.stop)
        the_lab.start()
        for engine in the_lab.engines:
            self.assertEqual(engine.tcp, "10.78.%d.2:2375" % (engine.slot,))
            self.assertEqual(_info(engine, tcp=True)["Name"], engine.name)
            engine.docker("run", "-d", "-p", "18080:80", "busybox", "sh", "-c",
                          "echo %s > /tmp/index.html && exec httpd -f -p 80 -h /tmp"
                          % (engine.name,))
        for engine in the_lab.engines:
            url = "http://%s:18080/" % (engine.address,)
            page = None
            for _ in range(50):
                try:
                    with urllib.request.urlopen(url, timeout=2) as answer:
                        page = answer.read()
                    break
                except OSError:
                    time.sleep(0.1)
            self.assertEqual(page, engine.name.encode() + b"\n")
        pids = [(e.pid, e.started) for e in the_lab.engines]
        the_lab.stop()
        _assert_gone(self, the_lab, pids, [e.slot for e in the_lab.engines])


class TLSTests(TestCase):
    """
    Engines whose TCP listener demands a client certificate.
    """

    def setUp(self):
        require_docker(self)
        self.lab = Lab(n=1, tls=True)
        self.addCleanup(self.lab.stop)
        self.lab.start()
        self.engine = self.lab.engines[0]

    def _docker(self, *args):
        env = self.engine.environment(tcp=True)
        env.pop("DOCKER_TLS_VERIFY")
        env.pop("DOCKER_CERT_PATH")
        return subprocess.run(["docker", *args, "version", "--format", "{{.Server.APIVersion}}"],
                              capture_output=True, text=True, env=env, timeout=60)

    def test_with_certificate(self):
        """A client with the lab's certificate is served, the server's name checked."""
        self.assertEqual(self.engine.tls, self.lab.tls)
        self.assertEqual(self.engine.docker("version", "--format", "{{.Server.APIVersion}}",
                                            tcp=True).stdout, "1.41\n")
        done = self._docker("--tlsverify", "--tlscacert", self.lab.tls.ca,
                            "--tlscert", self.lab.tls.cert, "--tlskey", self.lab.tls.key)
        self.assertEqual((done.returncode, done.stdout), (0, "1.41\n"))

    def test_without_certificate(self):
        """A TLS client without a certificate is refused (bad certificate); plain HTTP too."""
        done = self._docker("--tls", "--tlscacert", self.lab.tls.ca)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("bad certificate", done.stderr)
        plain = self._docker()
        self.assertNotEqual(plain.returncode, 0)
        self.assertIn("HTTP request to an HTTPS server", plain.stderr)
