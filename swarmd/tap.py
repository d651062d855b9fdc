"""
The C{twistd swarm} command line: classic Swarm's commands and flags.

    twistd -n swarm [--debug] [--log-level LEVEL] [--experimental] COMMAND ...

Commands (with their urfave-style one-letter aliases): C{manage}/C{m},
C{join}/C{j}, C{list}/C{l}, C{create}/C{c} and C{help}/C{h}.  Every flag of
classic Swarm 1.2.9 is parsed, with its aliases, defaults and environment
variables (C{SWARM_DISCOVERY}, C{SWARM_HOST}, C{SWARM_ADVERTISE}, C{DEBUG}),
and checked the way classic Swarm checks it.  A mistake is one
L{usage.UsageError} line, which twistd prints under the usage text.

Like Go's C{flag} package (which classic Swarm's urfave/cli sits on), flags
may be spelled with one dash or two (C{-strategy binpack}), booleans take
C{--flag=true} / C{--flag=false}, and a command's flags may follow its
C{<discovery>} argument (L{swarmd._goflags}).

Each command's L{usage.Options} (in L{swarmd.options}, one module a
command) builds the matching frozen settings object of L{swarmd.config} and
keeps it as C{.config}; L{makeService} turns it into a service.  The value
checks are in L{swarmd._checks}, the exit status in L{swarmd._exit}, the
one-shot commands (C{list}, C{create}) in L{swarmd.cli}.
"""

from __future__ import annotations

import sys

from twisted.python import usage

from swarmd import config as _config
from swarmd._exit import USAGE_STATUS, exit_status, stopper
from swarmd._log import LEVELS, set_level, use_for_twistd
from swarmd.options import (
    Command,
    CreateOptions,
    JoinOptions,
    ListOptions,
    ManageOptions,
    TokenServiceOptions,
)
from swarmd.options._command import print_and_exit

__all__ = [
    "CreateOptions",
    "HelpOptions",
    "JoinOptions",
    "ListOptions",
    "ManageOptions",
    "ONE_SHOT_CONFIGS",
    "Options",
    "TokenServiceOptions",
    "makeService",
]

#: The settings of the commands that run once and exit (see
#: L{swarmd.cli.one_shot}), never as a twistd service.
ONE_SHOT_CONFIGS = (_config.ListConfig, _config.CreateConfig)


class HelpOptions(Command):
    """
    Show the list of commands, or help for one command.
    """

    _name = "help"
    _arguments = "[command]"

    def parseArgs(self, command=None):
        self.topic = command

    def postOptions(self):
        parent = self.parent
        if not isinstance(parent, Options):
            parent = Options(environ=self._environ, check_url=self._check_url)
        if self.topic is None:
            print_and_exit(parent._top_usage())
        for name, short, factory, _doc in parent.subCommands:
            if self.topic in (name, short):
                sub = factory()
                sub.parent = parent
                print_and_exit(str(sub))
        raise usage.UsageError(
            f"No help topic for {self.topic!r}. See '{parent.command_line()} --help'."
        )


class Options(Command):
    """
    A Docker-native clustering system: classic (standalone) Docker Swarm.
    """

    _stop_at_argument = True

    optFlags = [
        ["debug", None, "Debug mode (env DEBUG)."],
        ["experimental", None, "Enable experimental features."],
    ]

    optParameters = [
        [
            "log-level",
            "l",
            "info",
            "Log level (options: debug, info, warn, error, fatal, panic).",
        ],
    ]

    opt_v = Command.opt_version

    _arguments = "[options] COMMAND [arg...]"

    @property
    def subCommands(self):
        def make(cls):
            return lambda: cls(environ=self._environ, check_url=self._check_url)

        return [
            ("manage", "m", make(ManageOptions), "(m) Manage a docker cluster"),
            ("join", "j", make(JoinOptions), "(j) Join a docker cluster"),
            ("list", "l", make(ListOptions), "(l) List nodes in a cluster"),
            ("create", "c", make(CreateOptions), "(c) Create a cluster token"),
            ("token-service", None, make(TokenServiceOptions),
             "Run a token service for token:// discovery"),
            ("help", "h", make(HelpOptions), "(h) Show the commands, or help for one"),
        ]

    def _top_usage(self):
        """
        @return: the usage text of the whole command line, whatever
            subcommand was parsed.
        """
        sub = self.__dict__.pop("subOptions", None)
        try:
            return str(self)
        finally:
            if sub is not None:
                self.subOptions = sub

    def global_settings(self):
        """
        @return: a dict of the global C{debug}, C{log_level} and
            C{experimental} settings, checked.
        @raise usage.UsageError: for an unknown log level.
        """
        level = self["log-level"]
        if not isinstance(level, str) or level.lower() not in LEVELS:
            raise usage.UsageError(
                f"invalid --log-level {level!r} "
                "(options: debug, info, warn, error, fatal, panic)"
            )
        return {
            "debug": self._flag("debug", env="DEBUG"),
            "log_level": level.lower(),
            "experimental": self._flag("experimental"),
        }

    def postOptions(self):
        self.global_settings()
        if self.subCommand is None:
            raise usage.UsageError("no command given: use manage, join, list or create")

    def parseOptions(self, options=None):
        """
        Parse the command line.  Under twistd (whose own options are the
        parent), a usage error is one line on stderr and exit status 2
        instead of twistd's usage dump, and the one-shot commands (C{list},
        C{create}) run here and exit with their status: twistd never
        daemonizes, writes a log or a PID file for them, and stdout holds
        only their result.

        @raise usage.UsageError: from the console script or tests (no
            parent).
        @raise SystemExit: under twistd, as above.
        """
        if self.parent is None:
            return super().parseOptions(options)
        try:
            super().parseOptions(options)
        except usage.UsageError as e:
            sys.stderr.write(self.error_line(e) + "\n")
            sys.stderr.flush()
            raise SystemExit(USAGE_STATUS) from None
        config = self.subOptions.config
        use_for_twistd(self.parent, getattr(config, "log_format", "text"))
        if isinstance(config, ONE_SHOT_CONFIGS):
            from swarmd.cli import one_shot

            raise SystemExit(one_shot(config))


def _make_discovery(config, reactor, discovery_for, **settings):
    """
    Build the discovery of C{config}, or end the process with its message.

    @param discovery_for: L{swarmd.discovery.discovery_for} (the default,
        for L{None}) or a stand-in.
    @param settings: C{heartbeat} and C{ttl} for C{discovery_for}.
    """
    from swarmd.discovery import DiscoveryError

    if discovery_for is None:
        from swarmd.discovery import discovery_for
    try:
        return discovery_for(
            config.discovery,
            options=config.discovery_opts,
            clock=reactor,
            **settings,
        )
    except DiscoveryError as e:
        raise SystemExit(f"swarm: {e}") from None


def makeService(options, reactor=None, status=None, discovery_for=None):
    """
    Build the service of the parsed C{swarm} command line.

    @param options: a parsed L{Options}.
    @param reactor: the reactor to run on; the global one by default.
    @param status: the L{swarmd._exit.ExitStatus} failures are reported to;
        L{swarmd._exit.exit_status} by default.
    @param discovery_for: builds the discovery of C{join} and C{list};
        L{swarmd.discovery.discovery_for} by default.
    @return: an L{IService} provider.
    @raise SystemExit: for C{list} and C{create}, which run once (see
        L{swarmd.cli.one_shot}) and exit with their status, and when the
        discovery cannot be built, with a one-line message.
    """
    if reactor is None:
        from twisted.internet import reactor
    if status is None:
        status = exit_status
    command = options.subOptions
    config = command.config
    set_level("debug" if config.debug else config.log_level)

    if isinstance(config, _config.ManageConfig):
        from swarmd.manager import make_manager_service

        return make_manager_service(config, reactor=reactor, status=status)
    if isinstance(config, _config.TokenServiceConfig):
        from swarmd.discovery import DiscoveryError
        from swarmd.discovery.tokenservice import make_service

        try:
            return make_service(config.listen, config.data, reactor=reactor)
        except DiscoveryError as e:
            raise SystemExit(f"swarm: {e}") from None
    if isinstance(config, _config.JoinConfig):
        from swarmd.join import JoinService

        discovery = _make_discovery(
            config, reactor, discovery_for, heartbeat=config.heartbeat, ttl=config.ttl
        )
        done = stopper(reactor, status)
        return JoinService(config, discovery, reactor, on_fatal=lambda failure: done(1))
    # list and create: twistd's parseOptions already ran them (see
    # Options.parseOptions); a caller that skipped it gets the same run.
    from swarmd.cli import one_shot

    raise SystemExit(one_shot(config, discovery_for=discovery_for))
