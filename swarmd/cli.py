"""
The C{swarm} console script: classic Swarm's command line.

    swarm [--debug] [--log-level LEVEL] COMMAND [options] [<discovery>]

C{swarm list} and C{swarm create} run here and exit with their status.
C{swarm manage} and C{swarm join} run twistd in the foreground, as
C{twistd --nodaemon --pidfile= swarm ...} would, without needing twistd's
plugin scan (which misses editable installs).
"""

from __future__ import annotations

import sys

from twisted.internet.defer import maybeDeferred
from twisted.python import usage

from swarmd import tap
from swarmd._log import set_level

__all__ = ["main", "run"]

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
        without scanning for plugins.
    """
    from twisted.application.service import ServiceMaker
    from twisted.scripts.twistd import ServerOptions

    maker = ServiceMaker(
        "swarmd", "swarmd.tap", "Classic Docker Swarm manager and node agent.", "swarm"
    )

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
    @return: 1 for a usage error, else 0 once the reactor has stopped (a
        failed service makes the process exit non-zero at exit, see
        L{swarmd.tap.ExitStatus}).
    """
    from twisted.scripts.twistd import runApp

    config = _server_options()
    try:
        config.parseOptions(list(args))
    except usage.UsageError as e:
        print(config)
        print(f"swarm: {e}")
        return 1
    runApp(config)
    return 0


def _default_discovery_for(url, **settings):
    from swarmd.discovery import discovery_for

    return discovery_for(url, **settings)


def _fail(err, command, message):
    err.write(f"swarm: {message}\n")
    if "See '" not in message:
        where = f"swarm {command} --help" if command else "swarm --help"
        err.write(f"See '{where}'.\n")
    err.flush()
    return 1


def _list(config, out, err, react, discovery_for):
    """
    Run C{swarm list}.

    @return: the exit status.
    """
    from swarmd.discovery import DiscoveryError

    def main(reactor):
        try:
            discovery = discovery_for(
                config.discovery,
                heartbeat=config.timeout,
                options=config.discovery_opts,
                clock=reactor,
            )
        except DiscoveryError as e:
            return _fail(err, "list", str(e))
        return tap.list_nodes(config, discovery, reactor, out, err)

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
    @return: the exit status: 0 on success, 1 on a usage error or failure.
    @raise SystemExit: for C{--help} and C{--version} (status 0).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    react = _react if react is None else react
    twistd = _twistd if twistd is None else twistd
    discovery_for = _default_discovery_for if discovery_for is None else discovery_for

    options = tap.Options(environ=environ)
    try:
        options.parseOptions(list(argv))
    except usage.UsageError as e:
        return _fail(err, options.subCommand, str(e))

    command = options.subCommand
    if command in ("manage", "join"):
        return twistd([*TWISTD_ARGS, "swarm", *argv])
    config = options.subOptions.config
    set_level("debug" if config.debug else config.log_level)
    if command == "list":
        return _list(config, out, err, react, discovery_for)
    err.write(tap.CREATE_REFUSAL + "\n")
    err.flush()
    return 1


def main():
    """
    Entry point of the C{swarm} console script.
    """
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
