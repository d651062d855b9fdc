"""
Calling a watcher's callbacks without letting its errors into our timers.
"""

from twisted.logger import Logger

from swarmd._log import observer

_log = Logger(observer=observer, namespace="swarmd.discovery")


def deliver(function, value, what):
    """
    Call C{function(value)}, logging (not raising) anything it raises, so
    that a broken watcher cannot kill a L{LoopingCall} or a delayed call.

    @param function: a watcher's callback or errback.
    @param value: the address list or the L{Failure}.
    @param what: names the discovery in the log message.
    """
    try:
        function(value)
    except Exception:  # noqa: BLE001 - any watcher bug, logged
        _log.failure("discovery {what}: a watcher's callback failed", what=what)
