"""
The exit status of C{twistd swarm} and C{swarm}.

twistd always exits 0 once its reactor has stopped; L{ExitStatus} makes a
failed service's process exit non-zero anyway, and L{stopper} is how a
service reports its status and stops the reactor.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys

__all__ = ["USAGE_STATUS", "ExitStatus", "exit_status", "stopper"]

#: The exit status of a usage error (as Go's flag package and most Unix
#: tools give), from twistd as from the console script.
USAGE_STATUS = 2


class ExitStatus:
    """
    The status the process exits with once twistd has returned.

    twistd (Twisted 26) always exits 0 after its reactor stops: C{SystemExit}
    raised in a reactor callback is logged and swallowed, and
    C{twisted.scripts.twistd.runApp} returns nothing.  So a failure is
    remembered here, and an C{atexit} handler ends the process with
    C{os._exit(code)} once twistd has cleaned up (PID file, log files) and
    the interpreter is exiting.

    @ivar code: the status to exit with, or L{None} for the default.
    """

    def __init__(self, register=atexit.register, exit=os._exit):
        """
        @param register: registers a callable to run at interpreter exit.
        @param exit: ends the process with a status, without unwinding.
        """
        self._register = register
        self._exit = exit
        self._registered = False
        self.code = None

    def fail(self, code=1):
        """
        Make the process exit with C{code} when the interpreter exits.

        @param code: a non-zero status.
        """
        self.code = code
        if not self._registered:
            self._registered = True
            self._register(self._exit_now)

    def _exit_now(self):
        if self.code is None:
            return
        if "logging" in sys.modules:
            sys.modules["logging"].shutdown()
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        self._exit(self.code)


#: The exit status of this process, set by services that fail.
exit_status = ExitStatus()


def stopper(reactor, status):
    """
    @return: a callable taking an exit status that records it in C{status}
        when non-zero and stops C{reactor}.
    """

    def done(code):
        if code:
            status.fail(code)
        reactor.callWhenRunning(reactor.stop)

    return done
