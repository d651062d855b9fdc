"""
Helpers for functional tests, the ones that run real Docker engines.

    from swarmd.testing.functional import require_docker, shared_lab

    class InfoTests(TestCase):
        def setUp(self):
            self.lab = shared_lab(n=2, testcase=self)   # skips if no engines
            self.addCleanup(self.lab.clean)

Without root, C{dockerd} or the right to make bridges, the tests are skipped
with the reason, except under C{CI=true}, where that is a failure: the suite
must not go green in CI by skipping everything.

Trial does not run C{setUpClass}; L{shared_lab} is the way to share engines:
it starts one lab per process for each distinct configuration, on first use,
and stops them all when the process exits (if the process dies instead, the
next lab started on the machine stops them; see L{swarmd.testing.lab}).
Tests that stop or break engines make their own L{Lab}.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import unittest

from twisted.trial.unittest import TestCase

from swarmd.testing.lab import Lab, LabError
from swarmd.testing.lab import _host as host
from swarmd.testing.lab._image import BUSYBOX, is_static

__all__ = ["FAST_REFRESH", "ManagerTestCase", "docker_unavailable", "require_docker",
           "shared_lab", "stop_shared_labs"]

_PROGRAMS = ("dockerd", "docker", "containerd", "runc", "unshare", "nsenter", "ip")

_checked: list[str | None] = []


def _probe_bridge() -> str | None:
    name = "swprobe%d" % (os.getpid() % 100000,)
    done = host.run("ip", "link", "add", name, "type", "bridge", check=False)
    if done.returncode != 0:
        return "cannot create network bridges: %s" % ((done.stderr or done.stdout).strip(),)
    host.run("ip", "link", "del", name, check=False)
    return None


def _find_problem() -> str | None:
    if not sys.platform.startswith("linux"):
        return "real Docker engines need Linux"
    if os.geteuid() != 0:
        return "real Docker engines need root"
    path = host.environment()["PATH"]
    for program in _PROGRAMS:
        if shutil.which(program, path=path) is None:
            return ("%s is not installed (run .ci/setup, or apt-get install docker.io "
                    "busybox-static iptables)" % (program,))
    if not is_static(BUSYBOX):
        return "%s is missing or not static (apt-get install busybox-static)" % (BUSYBOX,)
    return _probe_bridge()


def docker_unavailable() -> str | None:
    """
    Check (once per process) whether this machine can run a lab.

    @return: why real engines cannot run here, or C{None} if they can.
    """
    if not _checked:
        _checked.append(_find_problem())
    return _checked[0]


def require_docker(testcase: unittest.TestCase | None = None) -> None:
    """
    Skip the calling test if real engines cannot run here, or fail it under
    C{CI=true}.

    @param testcase: the running test, or C{None} (for module fixtures).
    @raise unittest.SkipTest: if engines are unavailable, outside CI.
    @raise AssertionError: if they are unavailable in CI (the test case's
        C{failureException} when one is given).
    """
    reason = docker_unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        message = "CI=true and real Docker engines are unavailable: " + reason
        if testcase is not None:
            testcase.fail(message)
        raise AssertionError(message)
    raise unittest.SkipTest(reason)


_shared: dict[str, Lab | LabError] = {}


def _key(n: int, options: dict) -> str:
    return repr((n, sorted(options.items())))


def shared_lab(n: int = 2, testcase: unittest.TestCase | None = None, **options) -> Lab:
    """
    The lab of this configuration shared by every test of this process,
    started on first use (after L{require_docker}).

    @param n: how many engines.
    @param testcase: the running test (see L{require_docker}).
    @param options: more L{Lab} arguments (C{labels}, C{netns}, C{tls}, ...).
    @raise LabError: if the lab does not start (and again on every later
        call for the same configuration: it is tried once per process).
    @return: the running L{Lab}; do not stop it.
    """
    require_docker(testcase)
    key = _key(n, options)
    found = _shared.get(key)
    if isinstance(found, LabError):
        raise LabError("the shared lab did not start earlier in this process: %s" % (found,))
    if found is not None:
        if all(e.running() for e in found.engines):
            return found
        # A test broke it: start it again.
        found.stop()
    lab = Lab(n=n, **options)
    try:
        lab.start()
    except LabError as e:
        _shared[key] = e
        raise
    _shared[key] = lab
    return lab


@atexit.register
def stop_shared_labs() -> None:
    """
    Stop every lab L{shared_lab} started (run when the process exits).
    """
    for key, lab in list(_shared.items()):
        del _shared[key]
        if isinstance(lab, Lab):
            try:
                lab.stop()
            except LabError as e:
                print("swarmd.testing.functional: %s" % (e,), file=sys.stderr)


#: Manager flags for functional tests: engines re-read every 1 to 2 seconds.
FAST_REFRESH = ("--engine-refresh-min-interval", "1s", "--engine-refresh-max-interval", "2s")


class ManagerTestCase(TestCase):
    """
    A test of the real docker CLI against a real manager over a shared lab.

    @cvar lab_size: engines in the lab.
    @cvar lab_options: more L{Lab} arguments (C{netns}, C{tls}, ...).
    @cvar manager_args: C{swarm manage} flags.
    """

    lab_size = 2
    lab_options: dict = {}
    manager_args = FAST_REFRESH

    def setUp(self):
        from swarmd.testing.manager import shared_manager

        self.lab = shared_lab(n=self.lab_size, testcase=self, **self.lab_options)
        self.addCleanup(self.lab.clean)
        self.manager = shared_manager(self.lab, self.manager_args)

    def docker(self, *args, ok=True, **kwargs):
        """
        Run the docker CLI against the manager; fail the test if it fails
        and C{ok}.
        """
        done = self.manager.docker(*args, **kwargs)
        if ok and done.returncode != 0:
            self.fail("docker %s failed (%d): %s%s" % (
                " ".join(args), done.returncode, done.stdout, done.stderr))
        return done

    def node_of(self, name):
        """
        @return: the name of the node container C{name} runs on.
        """
        return self.docker("inspect", "-f", "{{.Node.Name}}", name).stdout.strip()
