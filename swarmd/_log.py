"""
One place for swarmd's log level.

Every swarmd logger writes through L{observer}, which drops events below the
level chosen with C{--log-level} / C{--debug}::

    from swarmd._log import observer
    class Engine:
        _log = Logger(observer=observer)
"""

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    globalLogPublisher,
)
from zope.interface import provider

#: Classic Swarm's level names (logrus) mapped to Twisted's.
LEVELS = {
    "debug": LogLevel.debug,
    "info": LogLevel.info,
    "warn": LogLevel.warn,
    "warning": LogLevel.warn,
    "error": LogLevel.error,
    "fatal": LogLevel.critical,
    "panic": LogLevel.critical,
}

_predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)


@provider(ILogObserver)
def _publish(event):
    # Looked up at call time so tests that swap the global publisher's
    # observers still see our events.
    globalLogPublisher(event)


observer = FilteringLogObserver(_publish, [_predicate])


def set_level(name):
    """
    Set the lowest level swarmd logs.

    @param name: one of the keys of L{LEVELS}.
    @raise ValueError: for an unknown level name.
    """
    try:
        level = LEVELS[name.lower()]
    except KeyError:
        raise ValueError(
            "invalid log level %r (options: debug, info, warn, error, fatal, panic)" % (name,)
        ) from None
    _predicate.setLogLevelForNamespace(None, level)


def get_level():
    """
    @return: the current lowest L{LogLevel} logged.
    """
    return _predicate.logLevelForNamespace(None)
