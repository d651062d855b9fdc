"""
Starting and stopping a store's process for a test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import unittest

__all__ = ["StoreProcess", "free_port", "require_program"]


def free_port() -> int:
    """
    @return: a TCP port of 127.0.0.1 free right now.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_program(path: str, install: str, testcase: unittest.TestCase | None = None) -> str:
    """
    Skip the test if C{path} is not installed, or fail it under C{CI=true}.

    @param path: the program (absolute, or looked up in C{PATH}).
    @param install: how to install it, for the message.
    @return: the program's path.
    """
    found = shutil.which(path)
    if found is not None:
        return found
    reason = f"{path} is not installed ({install}, or run .ci/setup)"
    if os.environ.get("CI", "").lower() == "true":
        message = "CI=true and " + reason
        if testcase is not None:
            testcase.fail(message)
        raise AssertionError(message)
    raise unittest.SkipTest(reason)


class StoreProcess:
    """
    One store process, restartable with the same arguments.

    @ivar argv: its command line.
    @ivar log: the file its output goes to.
    """

    def __init__(self, argv, log, healthy, name, cwd=None, env=None):
        """
        @param argv: the command line.
        @param log: the file its output goes to (appended).
        @param healthy: a callable returning whether it answers.
        @param name: names it in errors.
        """
        self.argv = argv
        self.log = log
        self._healthy = healthy
        self.name = name
        self._cwd = cwd
        self._env = env
        self.process = None

    def start(self, timeout=30.0):
        """
        Start it and wait until it answers.

        @raise RuntimeError: if it exits or does not answer in C{timeout}.
        """
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self._cwd,
                                            env=self._env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; "
                                   f"see {self.log}: {self.tail()}")
            if self._healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer in {timeout}s; see {self.log}")

    def tail(self, lines=5):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return " | ".join(f.read().splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self):
        """
        Stop it (SIGTERM, then SIGKILL after 10 s); harmless if stopped.
        """
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
