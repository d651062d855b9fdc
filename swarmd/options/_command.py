"""
What every level of the C{swarm} command line shares: L{Command} (Go-style
flag spelling, environment variables, usage lines, the discovery check) and
L{DiscoveryCommand} (the commands that take a C{<discovery>} argument).
"""

from __future__ import annotations

import os
import sys
from typing import cast

from twisted.python import usage

import swarmd
from swarmd._checks import INTEGER, check_address, key_values
from swarmd._duration import parse_duration
from swarmd._goflags import parse_bool, to_getopt
from swarmd._log import LOG_FORMATS

__all__ = [
    "LOG_FORMAT_PARAMETER",
    "Command",
    "DiscoveryCommand",
    "default_check_url",
    "print_and_exit",
]

#: The C{--log-format} flag of the commands that run as a service.
LOG_FORMAT_PARAMETER = [
    "log-format",
    None,
    "text",
    "Log format: text, or json (one JSON object a line, written where twistd's --logfile "
    "says: - for stdout).",
]


def default_check_url(url, options=()):
    """
    Check a discovery URL (and its C{--discovery-opt} pairs) with
    L{swarmd.discovery.check_url}, imported only when needed.

    @raise usage.UsageError: with the discovery's message if it refuses
        C{url} or an option.
    """
    from swarmd.discovery import DiscoveryError, check_url

    try:
        check_url(url, options=options)
    except DiscoveryError as e:
        raise usage.UsageError(str(e)) from None


def print_and_exit(text):
    """
    Print C{text} (help) and exit 0, quietly if stdout was closed early
    (C{swarm --help | head}).
    """
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Nothing more can be written; keep the interpreter's final flush
        # from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)


class Command(usage.Options):
    """
    What every level of the C{swarm} command line shares: Go-style flag
    spelling, environment variables, and the discovery check.

    @ivar _environ: the environment variables to read.
    @ivar _check_url: one-argument callable raising L{usage.UsageError} for
        a discovery URL it refuses.
    @ivar _false: flags explicitly set false with C{--flag=false}.
    """

    #: A command with subcommands stops reading flags at its first argument;
    #: one without reads flags after its arguments too.
    _stop_at_argument = False

    #: Long aliases, e.g. C{{"addr": "advertise"}}.  Kept out of
    #: L{usage.Options}' tables, whose usage text cannot show them.
    _aliases: dict = {}

    #: The command's name as typed after C{swarm} (L{None} for C{swarm}
    #: itself).
    _name: str | None = None

    #: What follows the command in its usage line.
    _arguments = "[options]"

    def __init__(self, environ=None, check_url=None):
        """
        @param environ: mapping of environment variables; L{os.environ} by
            default.
        @param check_url: checks the discovery URL; by default
            L{swarmd.discovery.check_url}.
        """
        super().__init__()
        self._environ = os.environ if environ is None else environ
        self._check_url = default_check_url if check_url is None else check_url
        self._false = set()
        # Handlers' docstrings are the usage text: one paragraph each.
        for name, doc in self.docs.items():
            if doc:
                self.docs[name] = " ".join(doc.split())

    @property
    def longdesc(self):
        return self.__doc__.strip().split("\n\n")[0] if self.__doc__ else ""

    def command_line(self, placeholders=False):
        """
        How this command is typed: C{swarm manage} from the console script,
        C{twistd swarm manage} under twistd.

        @param placeholders: keep twistd's C{[options]} placeholder, for a
            usage line.
        @return: the words, space-separated.
        """
        parent = self.parent
        if isinstance(parent, Command):
            return f"{parent.command_line(placeholders)} {self._name}"
        if parent is None:
            words = ["swarm"]
        else:
            # twistd's ServerOptions: "Usage: twistd [options]" + "swarm".
            words = parent.getSynopsis().split()[1:] + [cast(str, parent.subCommand)]
            if not placeholders:
                words = [w for w in words if not w.startswith("[")]
        if self._name is not None:
            words.append(self._name)
        return " ".join(words)

    def getSynopsis(self):
        """
        One usage line, e.g. C{Usage: swarm manage [options] <discovery>},
        instead of L{usage.Options}' chain of every level's synopsis.
        """
        return f"Usage: {self.command_line(placeholders=True)} {self._arguments}".rstrip()

    def error_line(self, error):
        """
        The one line a usage error is reported with: what is wrong and where
        to get help.

        @param error: the L{usage.UsageError} raised while parsing this
            command line.
        @return: e.g. C{swarm: option --stratgy not recognized. See 'swarm
            manage --help'.}, without a newline.
        """
        where = self.__dict__.get("subOptions", self)
        message = str(error).rstrip()
        if "See '" not in message:
            message = f"{message.rstrip('.')}. See '{where.command_line()} --help'."
        return f"{self.command_line()}: {message}"

    def _help_pointer(self):
        """
        @return: classic Swarm's pointer to this command's help, spelled
            for the program that runs it (C{See 'swarm join --help'.}).
        """
        return f"See '{self.command_line()} --help'."

    def opt_version(self):
        """
        Print the version and exit.
        """
        print(f"swarm version {swarmd.__version__} (swarmd, API {swarmd.API_VERSION})")
        sys.exit(0)

    def opt_help(self):
        """
        Show help and exit.
        """
        print_and_exit(self.__str__())

    opt_h = opt_help

    def parseOptions(self, options=None):
        if options is None:
            options = sys.argv[1:]
        super().parseOptions(self._go_style(list(options)))

    def _go_style(self, args):
        """
        Rewrite Go-style arguments into what L{getopt} reads (see
        L{swarmd._goflags.to_getopt}), remembering the flags set false.

        @param args: the arguments as typed.
        @return: equivalent arguments for L{usage.Options.parseOptions}.
        """
        return to_getopt(
            args,
            long_opts=self.longOpt,
            short_opts=self.shortOpt,
            synonyms=self.synonyms,
            aliases=self._aliases,
            stop_at_argument=self._stop_at_argument,
            false=self._false,
        )

    def _flag(self, name, env=None):
        """
        The value of a boolean flag: the command line first, then the
        environment variable C{env} (read as C{strconv.ParseBool} would).

        @return: C{True} or C{False}.
        """
        if name in self._false:
            return False
        if self.get(name):
            return True
        if env is not None:
            return parse_bool(self._environ.get(env, "")) is True
        return False

    def _duration(self, name):
        """
        @return: the duration flag C{name} in seconds.
        @raise usage.UsageError: if it is not a duration.
        """
        try:
            return parse_duration(self[name])
        except ValueError as e:
            raise usage.UsageError(f"invalid --{name}: {e}") from None

    def _unsigned_duration(self, name):
        """
        @return: the duration flag C{name} in seconds.
        @raise usage.UsageError: if it is not a duration, or negative.
        """
        seconds = self._duration(name)
        if seconds < 0:
            raise usage.UsageError(f"--{name} can not be negative (got {self[name]})")
        return seconds

    def _log_format(self):
        """
        @return: the C{--log-format} value, checked.
        @raise usage.UsageError: for an unknown format.
        """
        value = self["log-format"]
        if value not in LOG_FORMATS:
            raise usage.UsageError(
                f"invalid --log-format {value!r} (options: {', '.join(LOG_FORMATS)})"
            )
        return value

    def _integer(self, name):
        """
        @return: the integer flag C{name}.
        @raise usage.UsageError: if it is not an integer.
        """
        text = self[name]
        if not isinstance(text, str) or not INTEGER.fullmatch(text):
            raise usage.UsageError(f"invalid --{name} {text!r}: not an integer")
        return int(text)

    def _globals(self):
        """
        @return: a dict with the global C{debug}, C{log_level} and
            C{experimental} settings, from the parent L{swarmd.tap.Options}
            (the one with C{global_settings}) if there is one.
        """
        global_settings = getattr(self.parent, "global_settings", None)
        if global_settings is not None:
            return global_settings()
        return {
            "debug": parse_bool(self._environ.get("DEBUG", "")) is True,
            "log_level": "info",
            "experimental": False,
        }


class DiscoveryCommand(Command):
    """
    A command that takes the C{<discovery>} argument (or C{SWARM_DISCOVERY})
    and C{--discovery-opt}.
    """

    #: The verb of classic Swarm's "discovery required to ... a cluster".
    _verb = ""
    _arguments = "[options] <discovery>"

    def __init__(self, environ=None, check_url=None):
        super().__init__(environ=environ, check_url=check_url)
        self._url = None
        self["discovery-opt"] = []

    def opt_discovery_opt(self, value):
        """
        Discovery options, key=value (repeatable): kv.path, kv.cacertfile, kv.certfile, kv.keyfile
        (etcd, zk, consul), etcd.api=v2 (etcd), token.url (token; env SWARM_TOKEN_URL).
        """
        self["discovery-opt"].append(value)

    def parseArgs(self, *args):
        if len(args) > 1:
            raise usage.UsageError(
                f"too many arguments {' '.join(args)!r}: give one <discovery>. "
                + self._help_pointer()
            )
        self._url = args[0] if args else None

    def _discovery(self):
        """
        @return: the discovery URL, checked.
        @raise usage.UsageError: if there is none or the discovery refuses it.
        """
        url = self._url or self._environ.get("SWARM_DISCOVERY", "")
        if not url:
            raise usage.UsageError(
                f"discovery required to {self._verb} a cluster. " + self._help_pointer()
            )
        if self._check_url is default_check_url:
            default_check_url(url, self._discovery_opts())
        else:
            self._check_url(url)
        return url

    def _discovery_opts(self):
        pairs = key_values("discovery-opt", self["discovery-opt"])
        url = self._url or self._environ.get("SWARM_DISCOVERY", "")
        token_url = self._environ.get("SWARM_TOKEN_URL")
        if (url.startswith("token://") and token_url
                and not any(key == "token.url" for key, _ in pairs)):
            # The environment's token service, for every command alike.
            pairs = (*pairs, ("token.url", token_url))
        return pairs

    def _heartbeat(self):
        """
        @return: C{--heartbeat} in seconds.
        @raise usage.UsageError: if it is not a duration of a second or more.
        """
        heartbeat = self._duration("heartbeat")
        if heartbeat < 1:
            raise usage.UsageError(
                f"--heartbeat should be at least one second (got {self['heartbeat']})"
            )
        return heartbeat

    def _advertise(self, given):
        """
        @return: C{--advertise} (or C{SWARM_ADVERTISE}), checked if set, or
            L{None}.
        """
        address = given if given is not None else self._environ.get("SWARM_ADVERTISE")
        if not address:
            return None
        if not check_address(address):
            raise usage.UsageError(
                f"--advertise should be of the form ip:port or hostname:port, got {address!r}"
            )
        return address
