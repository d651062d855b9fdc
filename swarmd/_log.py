"""
One place for swarmd's log level, its event names and its log formats.

Every swarmd logger writes through L{observer}, which drops events below the
level chosen with C{--log-level} / C{--debug}::

    from swarmd._log import observer
    class Engine:
        _log = Logger(observer=observer)

Events an operator (or a log shipper) may want to select carry a stable
name in their C{swarmd_event} field, one of the constants below, and
stable fields next to it (documented with each name)::

    self._log.info("engine {engine} ({address}) {old} -> {new}",
                   swarmd_event=ENGINE_STATE, engine=..., address=..., old=..., new=...)

With C{--log-format json} (see L{json_observer_for}) every event is one
JSON object a line, as L{twisted.logger.jsonFileLogObserver} writes it
(its fields are the event's: C{swarmd_event}, C{log_level}, C{log_time},
C{log_namespace}, C{log_format} and the fields named above; without the
record separator character, so each line is plain JSON), plus C{text} (the
formatted message) and C{level} (C{debug} ... C{critical}) for readers
that do not know twisted.logger's format.
"""

import signal
import sys
from typing import cast

from twisted.logger import (
    FilteringLogObserver,
    ILogFilterPredicate,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    PredicateResult,
    formatEvent,
    globalLogPublisher,
    jsonFileLogObserver,
    textFileLogObserver,
)
from twisted.python import logfile
from zope.interface import provider

#: The field holding an event's stable name.
EVENT_FIELD = "swarmd_event"

#: An engine changed state.  Fields: C{engine} (name), C{address}, C{old},
#: C{new} (C{Pending}, C{Healthy}, C{Unhealthy}, C{Disconnected}).
ENGINE_STATE = "engine.state"

#: Discovery named a new engine address or dropped one.  Fields:
#: C{address}, C{change} (C{joined} or C{left}).
DISCOVERY_CHANGE = "discovery.change"

#: Discovery could not be read.  Fields: C{error}.
DISCOVERY_ERROR = "discovery.error"

#: The scheduler placed a container.  Fields: C{container} (its name, or
#: its Swarm ID when unnamed), C{swarm_id}, C{node} (the chosen node's
#: name), C{address}, C{candidates} (nodes offered), C{left} (nodes that
#: fit), C{removed} (a list of C{[filter, nodes removed]}, in the order the
#: filters ran), C{filters} (the same as text), C{soft_dropped} (soft
#: expressions ignored).
SCHEDULE = "schedule.placed"

#: No node could take a container.  Fields: as L{SCHEDULE} without
#: C{node}/C{address}/C{left}, and C{error} (the message the client got).
SCHEDULE_FAILED = "schedule.failed"

#: The API answered an error.  Fields: C{status}, C{method}, C{uri},
#: C{path}, C{route} (the route template, e.g. C{/containers/{name}/json},
#: or L{None}), C{error} (the answer's message) and C{incident} (for a
#: 5xx; also in the answer's body as C{"incident"}, else L{None}).  At
#: C{debug} for a 4xx, C{warn} for a 5xx an engine or the cluster
#: explained, C{critical} (with the traceback) for an internal error.
API_ERROR = "api.error"

#: The manager is shutting down.  Fields: C{timeout} (the grace period),
#: C{requests} and C{sessions} (still open when it began).
SHUTDOWN = "manager.shutdown"

#: The grace period ended with requests or sessions still open; they were
#: closed.  Fields: C{requests}, C{sessions}.
SHUTDOWN_FORCED = "manager.shutdown.forced"

#: Every stable name, for the docs and tests.
EVENT_NAMES = (ENGINE_STATE, DISCOVERY_CHANGE, DISCOVERY_ERROR, SCHEDULE, SCHEDULE_FAILED,
               API_ERROR, SHUTDOWN, SHUTDOWN_FORCED)

#: The C{--log-format} values.
LOG_FORMATS = ("text", "json")

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
    _predicate.setLogLevelForNamespace("", level)


def get_level():
    """
    @return: the current lowest L{LogLevel} logged.
    """
    return _predicate.logLevelForNamespace("")


def _log_file(filename, nodaemon, install_signal=None):
    """
    The file twistd itself would log to for C{--logfile}: stdout for C{-}
    (or nothing, in the foreground), else a L{logfile.LogFile} rotated on
    C{SIGUSR1} as twistd does.
    """
    if install_signal is None:
        install_signal = signal.signal
    if filename == "-" and not nodaemon:
        sys.exit("Daemons cannot log to stdout, exiting!")
    if filename == "-" or (not filename and nodaemon):
        return sys.stdout
    log_file = logfile.LogFile.fromFullPath(filename or "twistd.log")

    def rotate(signum, frame):
        from twisted.internet import reactor
        from twisted.internet.interfaces import IReactorThreads

        cast(IReactorThreads, reactor).callFromThread(log_file.rotate)

    install_signal(signal.SIGUSR1, rotate)
    return log_file


def json_observer_for(filename, nodaemon=True, install_signal=None):
    """
    A JSON observer writing where twistd's C{--logfile} says.

    @param filename: twistd's C{--logfile} value (C{-} for stdout, empty
        for twistd's default).
    @param nodaemon: twistd's C{-n}: an empty C{filename} means stdout.
    @param install_signal: installs the C{SIGUSR1} (rotate) handler of a
        log file.
    @return: an L{ILogObserver} writing one JSON object a line.
    """
    return json_lines_observer(_log_file(filename, nodaemon, install_signal))


def json_lines_observer(out):
    """
    @param out: a text file.
    @return: an L{ILogObserver} writing each event to C{out} as one line of
        JSON: twisted.logger's own fields, plus C{text} and C{level}.
    """
    write = jsonFileLogObserver(out, recordSeparator="")

    @provider(ILogObserver)
    def observe(event):
        event = dict(event)
        event["text"] = formatEvent(event)
        level = event.get("log_level")
        event["level"] = getattr(level, "name", None)
        write(event)

    return observe


def observer_for(log_format, filename, nodaemon=True, install_signal=None):
    """
    @param log_format: one of L{LOG_FORMATS}.
    @return: the L{ILogObserver} of that format writing to C{filename} (as
        L{json_observer_for}).
    """
    if log_format == "json":
        return json_observer_for(filename, nodaemon, install_signal)
    return textFileLogObserver(_log_file(filename, nodaemon, install_signal))


def json_stdout_observer():
    """
    A factory for twistd's own C{--logger} option (which takes precedence
    over C{--logfile}): C{twistd --logger=swarmd._log.json_stdout_observer}
    logs JSON to stdout whatever the command's flags.

    @return: an L{ILogObserver}.
    """
    return json_lines_observer(sys.stdout)


#: Where L{twistd_observer} writes: twistd's C{--logfile} and C{-n}, as
#: L{use_for_twistd} saw them.
_twistd_target = {"format": "json", "logfile": "-", "nodaemon": True}


def use_for_twistd(twistd_options, log_format):
    """
    Make twistd log in C{log_format}, where its own C{--logfile} says, at
    the level of C{--log-level} (twistd's and Twisted's own events too).

    twistd builds its log observer from its options before it runs the
    service, and its C{--logger} option (a factory's qualified name) takes
    precedence over C{--logfile}; so this names L{twistd_observer} there,
    unless C{--logger} was given (or C{--syslog}, for text).  Called while
    twistd parses its command line (before its C{postOptions} imports the
    factory).

    @param twistd_options: twistd's L{ServerOptions} (a mapping with
        C{logger}, C{logfile}, C{nodaemon}).
    @param log_format: one of L{LOG_FORMATS}.
    """
    if twistd_options.get("logger"):
        return
    if log_format == "text" and twistd_options.get("syslog"):
        return
    _twistd_target.update(format=log_format, logfile=twistd_options.get("logfile") or "",
                          nodaemon=bool(twistd_options.get("nodaemon")))
    twistd_options["logger"] = __name__ + ".twistd_observer"


def twistd_observer():
    """
    The factory L{use_for_twistd} hands twistd.

    @return: the observer of L{observer_for} for twistd's settings.
    """
    target = _twistd_target
    return FilteringLogObserver(
        observer_for(target["format"], target["logfile"], target["nodaemon"]), [_at_level])


@provider(ILogFilterPredicate)
def _at_level(event):
    """
    Drop events below the level set with L{set_level}, whatever their
    namespace (swarmd's own loggers already filter; this catches twistd's
    and Twisted's).
    """
    level = event.get("log_level")
    if level is not None and level < get_level():
        return PredicateResult.no
    return PredicateResult.maybe
