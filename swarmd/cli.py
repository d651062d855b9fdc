"""
The C{swarm} console script: classic Swarm's command line.

    swarm [--debug] [--log-level LEVEL] COMMAND [options] [<discovery>]

C{swarm list} and C{swarm create} run here and exit with their status
(L{one_shot}, which C{twistd swarm list} and C{twistd swarm create} run
too).  C{swarm manage} and C{swarm join} run twistd in the foreground, as
C{twistd --nodaemon --pidfile= swarm ...} would, without needing twistd's
plugin scan (which misses editable installs).
"""

from __future__ import annotations

import sys

from twisted.internet.defer import TimeoutError, maybeDeferred
from twisted.python import usage

from swarmd import tap
from swarmd._duration import format_duration
from swarmd._exit import USAGE_STATUS
from swarmd._log import set_level
from swarmd.config import ListConfig

__all__ = ["list_nodes", "main", "one_shot", "run"]

#: What C{swarm manage}/C{join} put before their own arguments for twistd:
#: foreground, no PID file (classic Swarm writes none).
TWISTD_ARGS = ("--nodaemon", "--pidfile=")


def _react(main):
    """
    Run C{main(reactor)} on the global reactor until its L{Deferred} fires.

    @param main: callable taking the reactor, returning a L{Deferred} that
        fires with an exit status.
    @return: the exit status.
    """
    from twisted.internet import task

    def checked(reactor):
        def status(code):
            if code:
                raise SystemExit(code)

        return maybeDeferred(main, reactor).addCallback(status)

    try:
        task.react(checked)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else 1
    return 0


def _server_options():
    """
    @return: twistd's L{ServerOptions} that knows the C{swarm} command
        without scanning for plugins: the plugin module's one
        L{ServiceMaker}, imported directly.
    """
    from twisted.scripts.twistd import ServerOptions

    from twisted.plugins.swarm_plugin import swarm as maker

    class SwarmServerOptions(ServerOptions):
        @property
        def subCommands(self):
            self.loadedPlugins = {maker.tapname: maker}
            yield (maker.tapname, None, maker.options, maker.description)

    return SwarmServerOptions()


def _twistd(args):
    """
    Run twistd in this process.

    @param args: twistd's arguments, e.g. C{["--nodaemon", "swarm", ...]}.
    @return: 2 for a usage error of twistd's own options, else 0 once the
        reactor has stopped (a failed service makes the process exit
        non-zero at exit, see L{swarmd._exit.ExitStatus}).
    """
    from twisted.scripts.twistd import runApp

    config = _server_options()
    try:
        config.parseOptions(list(args))
    except usage.UsageError as e:
        sys.stderr.write(f"swarm: {e}\n")
        return USAGE_STATUS
    runApp(config)
    return 0


def _default_discovery_for(url, **settings):
    from swarmd.discovery import discovery_for

    return discovery_for(url, **settings)


def list_nodes(config, discovery, clock, out, err):
    """
    Fetch the discovery's entries once and print them, one a line, as
    C{swarm list} does.

    @param config: a L{swarmd.config.ListConfig}.
    @param discovery: an L{swarmd.discovery.IDiscovery} provider.
    @param clock: the L{IReactorTime} that times out the fetch after
        C{config.timeout} seconds.
    @param out: text file the entries are written to.
    @param err: text file an error is written to.
    @return: a L{Deferred} firing with the exit status: 0 when the entries
        were printed, 1 after writing the error to C{err}.
    """
    d = maybeDeferred(discovery.fetch)
    d.addTimeout(config.timeout, clock)

    def printed(entries):
        for entry in entries:
            out.write(f"{entry}\n")
        out.flush()
        return 0

    def failed(failure):
        if failure.check(TimeoutError):
            message = (
                f"Timed out after {format_duration(config.timeout)} "
                f"reading {config.discovery}"
            )
        else:
            message = failure.getErrorMessage() or failure.type.__name__
        err.write(f"swarm list: {message}\n")
        err.flush()
        return 1

    d.addCallback(printed)
    d.addErrback(failed)
    return d


def _list(config, out, err, react, discovery_for):
    """
    Run C{swarm list}.

    @return: the exit status.
    """
    from swarmd.discovery import DiscoveryError

    def main(reactor):
        try:
            # As classic Swarm: the timeout doubles as the discovery's
            # heartbeat.
            discovery = discovery_for(
                config.discovery,
                heartbeat=config.timeout,
                options=config.discovery_opts,
                clock=reactor,
            )
        except DiscoveryError as e:
            err.write(f"swarm list: {e}\n")
            err.flush()
            return 1
        return list_nodes(config, discovery, reactor, out, err)

    return react(main)


def one_shot(config, out=None, err=None, react=None, discovery_for=None):
    """
    Run a command that does its work once and exits (C{list}, C{create}):
    its result alone on C{out}, its errors on C{err}.

    @param config: a L{swarmd.config.ListConfig} or
        L{swarmd.config.CreateConfig}.
    @param out: text file for the result; L{sys.stdout} by default.
    @param err: text file for errors; L{sys.stderr} by default.
    @param react: runs C{main(reactor)} to completion and returns its exit
        status; the global reactor by default.
    @param discovery_for: builds an L{IDiscovery} like
        L{swarmd.discovery.discovery_for}.
    @return: the exit status: 0 on success, 1 on failure.
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    react = _react if react is None else react
    discovery_for = _default_discovery_for if discovery_for is None else discovery_for
    set_level("debug" if config.debug else config.log_level)
    if isinstance(config, ListConfig):
        return _list(config, out, err, react, discovery_for)
    return _create(config, out, err, react)


def _create(config, out, err, react):
    """
    Run C{swarm create}: ask the token service for a token and print it
    alone on its line.

    @return: the exit status.
    """
    from swarmd.discovery import DiscoveryError, create_token

    def main(reactor):
        d = create_token(config.token_url, reactor=reactor)

        def printed(token):
            out.write(f"{token}\n")
            out.flush()
            return 0

        def failed(failure):
            failure.trap(DiscoveryError)
            err.write(f"swarm create: {failure.getErrorMessage()}\n")
            err.flush()
            return 1

        return d.addCallbacks(printed, failed)

    return react(main)


def run(argv, environ=None, out=None, err=None, react=None, twistd=None, discovery_for=None):
    """
    Run the C{swarm} command line.

    @param argv: the arguments after the program name.
    @param environ: environment variables; L{os.environ} by default.
    @param out: text file for output; L{sys.stdout} by default.
    @param err: text file for errors; L{sys.stderr} by default.
    @param react: runs C{main(reactor)} to completion and returns its exit
        status (tests pass one driving a L{Clock}).
    @param twistd: runs twistd with a list of arguments and returns an exit
        status.
    @param discovery_for: builds an L{IDiscovery} like
        L{swarmd.discovery.discovery_for}.
    @return: the exit status: 0 on success, 1 on a failure, 2
        (L{swarmd._exit.USAGE_STATUS}) on a usage error.
    @raise SystemExit: for C{--help} and C{--version} (status 0).
    """
    err = sys.stderr if err is None else err
    twistd = _twistd if twistd is None else twistd

    options = tap.Options(environ=environ)
    try:
        options.parseOptions(list(argv))
    except usage.UsageError as e:
        err.write(options.error_line(e) + "\n")
        err.flush()
        return USAGE_STATUS

    config = options.subOptions.config
    if isinstance(config, tap.ONE_SHOT_CONFIGS):
        return one_shot(config, out, err, react, discovery_for)
    return twistd([*TWISTD_ARGS, "swarm", *argv])


def main():
    """
    Entry point of the C{swarm} console script.
    """
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
