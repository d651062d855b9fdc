"""
The systemd units in etc/systemd/ and their settings file etc/default/swarmd:
C{systemd-analyze verify} accepts the units, and the command line each unit
runs, expanded from the settings file as systemd expands it, is one the
plugin accepts.
"""

import os
import shlex
import shutil
import subprocess
import tempfile

from twisted.trial.unittest import SynchronousTestCase

from swarmd import _log

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ETC = os.path.join(ROOT, "etc")
UNITS = ("swarmd-manage.service", "swarmd-join.service")

#: Where Debian's systemd keeps its own units (sysinit.target, ...).
SYSTEM_UNITS = "/usr/lib/systemd/system"


def require(testcase, program):
    """
    Skip C{testcase} when C{program} is missing, unless on CI (C{CI=true}),
    where it must be installed (.ci/setup installs it).
    """
    if shutil.which(program) is None:
        if os.environ.get("CI") == "true":
            testcase.fail("%s is not installed (.ci/setup installs it)" % (program,))
        testcase.skipTest("%s is not installed" % (program,))


def read_settings(path):
    """
    Read a systemd C{EnvironmentFile}: C{KEY=VALUE} lines, comments and
    blank lines ignored.

    @return: a C{dict}.
    """
    settings = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def unit_setting(unit, key):
    """
    @return: the value of C{key} in the unit file C{unit}.
    """
    with open(os.path.join(ETC, "systemd", unit)) as f:
        for line in f:
            if line.startswith(key + "="):
                return line[len(key) + 1:].strip()
    raise KeyError(key)


def expand(command, settings):
    """
    Expand a unit's C{ExecStart} as systemd does: a word that is C{$NAME}
    becomes the variable's words, C{${NAME}} one word.

    @return: the argument list.
    """
    words = []
    for word in shlex.split(command):
        if word.startswith("${") and word.endswith("}"):
            words.append(settings.get(word[2:-1], ""))
        elif word.startswith("$"):
            words.extend(settings.get(word[1:], "").split())
        else:
            words.append(word)
    return words


class VerifyTests(SynchronousTestCase):
    """
    C{systemd-analyze verify} on the units.
    """

    def test_units_verify(self):
        """systemd-analyze verify accepts both units, with no warning at all."""
        require(self, "systemd-analyze")
        if not os.path.isdir(SYSTEM_UNITS):
            self.skipTest("no %s to verify against" % (SYSTEM_UNITS,))
        # An image of the installed system: systemd's own units, the units
        # where the README installs them, and the program they run (verify
        # checks it is executable).
        root = tempfile.mkdtemp(prefix="swarmd-systemd-")
        self.addCleanup(shutil.rmtree, root)
        shutil.copytree(SYSTEM_UNITS, root + SYSTEM_UNITS, symlinks=True)
        os.makedirs(os.path.join(root, "etc/systemd/system"))
        os.makedirs(os.path.join(root, "etc/default"))
        shutil.copy(os.path.join(ETC, "default", "swarmd"), os.path.join(root, "etc/default"))
        for unit in UNITS:
            shutil.copy(os.path.join(ETC, "systemd", unit),
                        os.path.join(root, "etc/systemd/system", unit))
        program = expand(unit_setting(UNITS[0], "ExecStart"), {})[0]
        os.makedirs(os.path.dirname(root + program))
        with open(root + program, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(root + program, 0o755)
        done = subprocess.run(["systemd-analyze", "verify", "--root=" + root, *UNITS],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual((done.returncode, done.stdout + done.stderr), (0, ""))

    def test_broken_unit_refused(self):
        """The check fails on a unit systemd refuses (it is not a no-op)."""
        require(self, "systemd-analyze")
        folder = tempfile.mkdtemp(prefix="swarmd-systemd-")
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, "broken.service")
        with open(path, "w") as f:
            f.write("[Service]\nExecStrat=/bin/true\n")
        done = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                              text=True, timeout=60)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("ExecStrat", done.stderr)


class CommandLineTests(SynchronousTestCase):
    """
    What each unit runs, with etc/default/swarmd's settings, parses.
    """

    def setUp(self):
        self.patch(_log, "_twistd_target", dict(_log._twistd_target))
        self.settings = read_settings(os.path.join(ETC, "default", "swarmd"))

    def parse(self, unit, settings):
        """
        @return: twistd's parsed options for the unit's command line.
        """
        from twisted.scripts.twistd import ServerOptions

        words = expand(unit_setting(unit, "ExecStart"), settings)
        self.assertTrue(words[0].endswith("/twistd"))
        options = ServerOptions()
        environ = dict(os.environ)
        environ.update(settings)
        self.patch(os, "environ", environ)
        options.parseOptions(words[1:])
        return options

    def test_manage(self):
        """The manager's command line parses: JSON logs to stdout, the grace period."""
        require(self, "openssl")
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        subprocess.run(["sh", os.path.join(ETC, "make-certs"), folder, "127.0.0.1"],
                       check=True, capture_output=True)
        settings = {key: value.replace("/etc/swarmd/", folder + "/")
                    for key, value in self.settings.items()}
        options = self.parse("swarmd-manage.service", settings)
        config = options.subOptions.subOptions.config
        self.assertEqual((config.log_format, config.shutdown_timeout, config.tls.verify),
                         ("json", 10.0, True))
        self.assertEqual((options["nodaemon"], options["logfile"]), (True, "-"))
        self.assertIs(options["logger"], _log.twistd_observer)
        stop = unit_setting("swarmd-manage.service", "TimeoutStopSec")
        self.assertGreater(int(stop), config.shutdown_timeout)

    def test_join(self):
        """The join command line parses, with a discovery that takes registrations."""
        settings = dict(self.settings, SWARM_DISCOVERY="etcd://127.0.0.1:2379/swarm")
        options = self.parse("swarmd-join.service", settings)
        config = options.subOptions.subOptions.config
        self.assertEqual((config.advertise, config.log_format), ("192.0.2.10:2375", "json"))
