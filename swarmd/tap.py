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
C{<discovery>} argument.

Each command's L{usage.Options} builds the matching frozen settings object of
L{swarmd.config} and keeps it as C{.config}; L{makeService} turns it into a
service.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import re
import sys

from twisted.logger import Logger
from twisted.python import usage

import swarmd
from swarmd import config as _config
from swarmd._duration import parse_duration
from swarmd._log import LEVELS, LOG_FORMATS, observer, set_level, use_for_twistd
from swarmd.address import AddressError, parse_port, split_host_port

__all__ = [
    "CLUSTER_OPTIONS",
    "CreateOptions",
    "TokenServiceOptions",
    "ExitStatus",
    "ONE_SHOT_CONFIGS",
    "HelpOptions",
    "JoinOptions",
    "ListOptions",
    "ManageOptions",
    "Options",
    "USAGE_STATUS",
    "check_address",
    "check_host",
    "exit_status",
    "makeService",
    "parse_bool",
]

_log = Logger(observer=observer)

#: The C{--cluster-opt} keys of the C{swarm} cluster driver.
CLUSTER_OPTIONS = ("swarm.overcommit", "swarm.createretry", "swarm.reschedule-grace")

#: Old spellings C{--strategy} accepts, and the strategy each means (the
#: names themselves are the scheduler registry's).
STRATEGY_ALIASES = {"binpacking": "binpack"}

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")
_INTEGER = re.compile(r"[-+]?\d+")
_PORT = re.compile(r"\d{1,5}")

#: The C{--log-format} flag of the commands that run as a service.
LOG_FORMAT_PARAMETER = [
    "log-format",
    None,
    "text",
    "Log format: text, or json (one JSON object a line, written where twistd's --logfile "
    "says: - for stdout).",
]
_HOSTNAME = re.compile(r"[0-9A-Za-z._-]+|\[[0-9A-Fa-f:.%a-zA-Z]+\]")


def parse_bool(text):
    """
    Read a boolean the way Go's C{strconv.ParseBool} does.

    @param text: C{"1"}, C{"t"}, C{"true"}, C{"0"}, C{"false"}...
    @return: C{True}, C{False}, or L{None} if C{text} is not a boolean.
    """
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _port(text):
    """
    @return: the port number in C{text} (at most five digits) if it is one
        of 1..65535, else L{None}.
    """
    return parse_port(text) if len(text) <= 5 else None


def _split_host_port(address):
    """
    Split C{host:port} or C{[v6]:port} (L{swarmd.address.split_host_port}),
    keeping the brackets of an IPv6 host.

    @return: C{(host, port)} strings, or L{None} when C{address} does not
        split (no port, too many colons, stray brackets).
    """
    try:
        host, port = split_host_port(address)
    except AddressError:
        return None
    return ("[%s]" % (host,) if address.startswith("[") else host), port


def check_address(address):
    """
    Is C{address} a C{host:port} another machine could reach (classic
    C{checkAddrFormat}: IPv4, hostname or C{[IPv6]}, port 1..65535)?

    @param address: the value of C{--advertise}.
    @return: C{True} or C{False}.
    """
    parts = _split_host_port(address)
    if parts is None:
        return False
    host, port = parts
    return bool(host) and bool(_HOSTNAME.fullmatch(host)) and _port(port) is not None


def check_host(host):
    """
    Check one C{--host} listening address.

    C{tcp://host:port} (host may be empty for every interface, port 0 asks
    for a free one) and C{unix:///absolute/path} are accepted; a bare
    C{host:port} means C{tcp://host:port}, as in classic Swarm.

    @param host: the value given to C{-H}.
    @return: the address with its scheme.
    @raise usage.UsageError: for anything else.
    """
    scheme, sep, rest = host.partition("://")
    if not sep:
        scheme, rest = "tcp", host
    if scheme == "unix":
        if not rest.startswith("/") or rest == "/":
            raise usage.UsageError(
                f"invalid --host {host!r}: a unix socket needs an absolute path (unix:///path)"
            )
        return host
    if scheme != "tcp":
        raise usage.UsageError(
            f"invalid --host {host!r}: use tcp://host:port or unix:///path"
        )
    parts = _split_host_port(rest)
    if parts is not None:
        name, port = parts
        good_name = not name or _HOSTNAME.fullmatch(name)
        if good_name and _PORT.fullmatch(port) and int(port) <= 65535:
            return "tcp://" + rest
    raise usage.UsageError(
        f"invalid --host {host!r}: use tcp://host:port (port 0-65535) or unix:///path"
    )


def _key_values(flag, values):
    """
    Split C{key=value} option strings.

    @param flag: the flag name, for messages.
    @param values: the strings given.
    @return: a tuple of C{(key, value)} pairs in the order given.
    @raise usage.UsageError: for a string without C{=}, an empty key, or a
        key given twice.
    """
    pairs = []
    seen = set()
    for option in values:
        key, equals, value = option.partition("=")
        if not equals or not key:
            raise usage.UsageError(
                f"--{flag} must contain key=value strings, got {option!r}"
            )
        if key in seen:
            raise usage.UsageError(f"--{flag} {key} given more than once")
        seen.add(key)
        pairs.append((key, value))
    return tuple(pairs)


def _cluster_options(values):
    """
    Check the C{--cluster-opt} values of the C{swarm} driver.

    @param values: the C{key=value} strings given.
    @return: a L{swarmd.config.ClusterOptions}.
    @raise usage.UsageError: for an unknown key or a bad value.
    """
    settings = {}
    for key, value in _key_values("cluster-opt", values):
        if key == "swarm.overcommit":
            try:
                overcommit = float(value)
            except ValueError:
                overcommit = math.nan
            if not math.isfinite(overcommit) or value.strip() != value:
                raise usage.UsageError(
                    f"invalid swarm.overcommit {value!r}: not a number"
                )
            if overcommit <= -1:
                raise usage.UsageError(
                    f"swarm.overcommit should be larger than -1, {overcommit:f} is invalid"
                )
            if overcommit < 0:
                _log.warn(
                    "-1 < swarm.overcommit < 0 will make swarm take less resource "
                    "than docker engine offers (swarm.overcommit={overcommit})",
                    overcommit=overcommit,
                )
            settings["overcommit"] = overcommit
        elif key == "swarm.createretry":
            if not _INTEGER.fullmatch(value):
                raise usage.UsageError(
                    f"invalid swarm.createretry {value!r}: not an integer"
                )
            retry = int(value)
            if retry < 0:
                raise usage.UsageError(
                    f"swarm.createretry can not be negative, {retry} is invalid"
                )
            settings["create_retry"] = retry
        elif key == "swarm.reschedule-grace":
            try:
                grace = parse_duration(value)
            except ValueError as e:
                raise usage.UsageError(f"invalid swarm.reschedule-grace: {e}") from None
            if grace < 0:
                raise usage.UsageError(f"swarm.reschedule-grace can not be negative: {value}")
            settings["reschedule_grace"] = grace
        else:
            raise usage.UsageError(
                f"unknown --cluster-opt {key!r} (options: {', '.join(CLUSTER_OPTIONS)})"
            )
    return _config.ClusterOptions(**settings)


def _unreadable(path):
    """
    @param path: a file name, or L{None}.
    @return: L{None} if C{path} is L{None} or can be opened for reading,
        else why not, worded as Go's C{os.Open} error (C{open PATH: no such
        file or directory}).
    """
    if path is None:
        return None
    try:
        with open(path, "rb"):
            return None
    except OSError as e:
        return f"open {path}: {(e.strerror or str(e)).lower()}"


def _default_check_url(url, options=()):
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


def _print_and_exit(text):
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


class _Command(usage.Options):
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
        self._check_url = _default_check_url if check_url is None else check_url
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
        if isinstance(parent, _Command):
            return f"{parent.command_line(placeholders)} {self._name}"
        if parent is None:
            words = ["swarm"]
        else:
            # twistd's ServerOptions: "Usage: twistd [options]" + "swarm".
            words = parent.getSynopsis().split()[1:] + [parent.subCommand]
            if not placeholders:
                words = [w for w in words if not w.startswith("[")]
        if self._name is not None and not isinstance(self, Options):
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
        _print_and_exit(self.__str__())

    opt_h = opt_help

    def parseOptions(self, options=None):
        if options is None:
            options = sys.argv[1:]
        super().parseOptions(self._go_style(list(options)))

    def _go_style(self, args):
        """
        Rewrite Go-style arguments into what L{getopt} reads: single-dash
        long flags, C{--bool=true|false}, C{-X=value}, and flags after
        arguments (for a command without subcommands).

        @param args: the arguments as typed.
        @return: equivalent arguments for L{usage.Options.parseOptions}.
        """
        takes_value = {o[:-1] for o in self.longOpt if o.endswith("=")}
        flags = {o for o in self.longOpt if not o.endswith("=")}
        short_value = set()
        short_flag = set()
        letters = self.shortOpt
        for i, letter in enumerate(letters):
            if letter == ":":
                continue
            if letters[i + 1 : i + 2] == ":":
                short_value.add(letter)
            else:
                short_flag.add(letter)

        known = takes_value | flags | set(self._aliases)
        out = []
        arguments = []
        i = 0
        while i < len(args):
            arg = args[i]
            i += 1
            if arg == "--":
                arguments.extend(args[i:])
                break
            if not arg.startswith("-") or arg == "-":
                if self._stop_at_argument:
                    arguments.extend(args[i - 1 :])
                    break
                arguments.append(arg)
                continue
            if arg.startswith("--"):
                body = arg[2:]
            else:
                body = arg[1:]
                name = body.partition("=")[0]
                if len(name) == 1 or name not in known:
                    letter, rest = body[0], body[1:]
                    if letter in short_value:
                        if rest.startswith("="):
                            rest = rest[1:]
                        if rest:
                            out.append("-" + letter + rest)
                        elif i < len(args):
                            out.extend(["-" + letter, args[i]])
                            i += 1
                        else:
                            raise usage.UsageError(f"option -{letter} requires argument")
                        continue
                    if letter in short_flag and rest.startswith("="):
                        body = self.synonyms.get(letter, letter) + rest
                    else:
                        out.append(arg)
                        continue
            name, equals, value = body.partition("=")
            name = self._aliases.get(name, name)
            if name in flags:
                truth = parse_bool(value) if equals else True
                if truth is None:
                    raise usage.UsageError(
                        f"invalid boolean value {value!r} for --{name}"
                    )
                # As with Go's flag package, the last spelling wins.
                canonical = self.synonyms.get(name, name)
                if truth:
                    self._false.discard(canonical)
                    out.append("--" + name)
                else:
                    self._false.add(canonical)
            elif name in takes_value:
                if equals:
                    out.append(f"--{name}={value}")
                elif i < len(args):
                    out.append(f"--{name}={args[i]}")
                    i += 1
                else:
                    raise usage.UsageError(f"option --{name} requires argument")
            else:
                # Refused here rather than by getopt, which would accept
                # abbreviations (--strat) that Go's flag package refuses.
                raise usage.UsageError(f"option --{name} not recognized")
        if arguments:
            out.append("--")
            out.extend(arguments)
        return out

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
        if not isinstance(text, str) or not _INTEGER.fullmatch(text):
            raise usage.UsageError(f"invalid --{name} {text!r}: not an integer")
        return int(text)

    def _globals(self):
        """
        @return: a dict with the global C{debug}, C{log_level} and
            C{experimental} settings, from the parent L{Options} if there is
            one.
        """
        parent = self.parent
        if isinstance(parent, Options):
            return parent.global_settings()
        return {
            "debug": parse_bool(self._environ.get("DEBUG", "")) is True,
            "log_level": "info",
            "experimental": False,
        }


class _DiscoveryCommand(_Command):
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
        if self._check_url is _default_check_url:
            _default_check_url(url, self._discovery_opts())
        else:
            self._check_url(url)
        return url

    def _discovery_opts(self):
        pairs = _key_values("discovery-opt", self["discovery-opt"])
        url = self._url or self._environ.get("SWARM_DISCOVERY", "")
        token_url = self._environ.get("SWARM_TOKEN_URL")
        if (url.startswith("token://") and token_url
                and not any(key == "token.url" for key, _ in pairs)):
            # The environment's token service, for every command alike.
            pairs = (*pairs, ("token.url", token_url))
        return pairs

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


class ManageOptions(_DiscoveryCommand):
    """
    Manage a docker cluster: serve the Docker API in front of the engines the
    discovery lists.
    """

    _verb = "manage"
    _name = "manage"
    _aliases = {"addr": "advertise", "cors": "api-enable-cors"}

    optFlags = [
        ["replication", None, "Enable Swarm manager replication."],
        ["tls", None, "Use TLS; implied by --tlsverify."],
        ["tlsverify", None, "Use TLS and verify the remote."],
        [
            "refresh-on-node-filter",
            None,
            "Refresh the cache when a ContainerList call comes in with a node filter.",
        ],
    ]

    optParameters = [
        ["strategy", None, "spread", "Placement strategy to use [spread, binpack, random]."],
        ["replication-ttl", None, "20s", "Leader lock release time on failure."],
        [
            "tlscacert",
            None,
            None,
            "Trust only remotes providing a certificate signed by the CA given here.",
        ],
        ["tlscert", None, None, "Path to TLS certificate file."],
        ["tlskey", None, None, "Path to TLS key file."],
        ["engine-refresh-min-interval", None, "30s", "Engine refresh minimum interval."],
        ["engine-refresh-max-interval", None, "60s", "Engine refresh maximum interval."],
        ["engine-failure-retry", None, "3", "Engine failure retry count."],
        [
            "engine-refresh-retry",
            None,
            "3",
            "Deprecated; replaced by --engine-failure-retry.",
        ],
        ["heartbeat", None, "60s", "Period between each heartbeat (discovery poll period)."],
        [
            "metrics-addr",
            None,
            None,
            "Also serve /metrics (Prometheus) on this host:port, plain HTTP and nothing "
            "else (it is always on the API listeners too).",
        ],
        ["cluster-driver", "c", "swarm", "Cluster driver to use [swarm]."],
        [
            "container-name-refresh-filter",
            None,
            "",
            "If set, refresh the cache when a ContainerList call comes in with "
            "a name filter set to this value.",
        ],
        [
            "shutdown-timeout",
            None,
            "10s",
            "On SIGTERM, how long open requests and hijacked sessions (attach, exec, logs -f, "
            "events) get to finish before they are closed.",
        ],
        LOG_FORMAT_PARAMETER,
    ]

    def __init__(self, environ=None, check_url=None):
        super().__init__(environ=environ, check_url=check_url)
        self["host"] = []
        self["filter"] = []
        self["cluster-opt"] = []
        self["advertise"] = None
        self["api-enable-cors"] = False

    def opt_host(self, value):
        """
        Address to listen on, tcp://host:port or unix:///path (repeatable; env
        SWARM_HOST, comma-separated) [default: tcp://127.0.0.1:2375].
        """
        self["host"].append(value)

    opt_H = opt_host

    def opt_filter(self, value):
        """
        Filter to use (repeatable; replaces the default list) [health, port, containerslots,
        dependency, affinity, constraint, whitelist].
        """
        self["filter"].append(value)

    opt_f = opt_filter

    def opt_cluster_opt(self, value):
        """
        Cluster driver options, key=value (repeatable): swarm.overcommit, swarm.createretry,
        swarm.reschedule-grace.
        """
        self["cluster-opt"].append(value)

    def opt_advertise(self, value):
        """
        Address of this manager for other managers, host:port (alias --addr; env SWARM_ADVERTISE;
        needed by --replication).
        """
        self["advertise"] = value

    def opt_api_enable_cors(self):
        """
        Enable CORS headers in the remote API (alias --cors).
        """
        self["api-enable-cors"] = True

    def _tls(self):
        tls = self._flag("tls")
        verify = self._flag("tlsverify")
        cacert, cert, key = self["tlscacert"], self["tlscert"], self["tlskey"]
        if tls or verify:
            if cert is None or key is None:
                raise usage.UsageError(
                    "--tlscert and --tlskey must be provided when using --tls"
                )
            if verify and cacert is None:
                raise usage.UsageError(
                    "--tlscacert must be provided when using --tlsverify"
                )
            # Classic Swarm's messages, with Go's "open PATH: REASON".
            for flag, path in (("tlscert", cert), ("tlskey", key)):
                problem = _unreadable(path)
                if problem:
                    raise usage.UsageError(
                        f"Couldn't load X509 key pair ({cert}, {key}): {problem}. "
                        f"Key encrypted? (--{flag})"
                    )
            problem = _unreadable(cacert)
            if problem:
                raise usage.UsageError(
                    f"Couldn't read CA certificate: {problem} (--tlscacert)"
                )
        elif cacert is not None or cert is not None or key is not None:
            raise usage.UsageError(
                "--tlscert, --tlskey and --tlscacert require the use of either "
                "--tls or --tlsverify"
            )
        return _config.TLSOptions(
            tls=tls or verify, verify=verify, cacert=cacert, cert=cert, key=key
        )

    def _hosts(self):
        hosts = self["host"]
        if not hosts:
            env = self._environ.get("SWARM_HOST", "")
            hosts = [h.strip() for h in env.split(",") if h.strip()]
        if not hosts:
            return _config.ManageConfig.__attrs_attrs__.hosts.default
        return tuple(check_host(h) for h in hosts)

    def postOptions(self):
        tls = self._tls()

        minimum = self._duration("engine-refresh-min-interval")
        maximum = self._duration("engine-refresh-max-interval")
        if minimum <= 0:
            raise usage.UsageError(
                "min refresh interval should be a positive number "
                f"(--engine-refresh-min-interval {self['engine-refresh-min-interval']})"
            )
        if maximum < minimum:
            raise usage.UsageError(
                "max refresh interval cannot be less than min refresh interval "
                f"(--engine-refresh-max-interval {self['engine-refresh-max-interval']}, "
                f"--engine-refresh-min-interval {self['engine-refresh-min-interval']})"
            )
        if self._integer("engine-refresh-retry") != 3:
            raise usage.UsageError(
                "--engine-refresh-retry is deprecated. Use --engine-failure-retry"
            )
        failure_retry = self._integer("engine-failure-retry")
        if failure_retry <= 0:
            raise usage.UsageError(
                f"invalid failure retry count {failure_retry}: "
                "--engine-failure-retry must be at least 1"
            )

        discovery = self._discovery()
        heartbeat = self._duration("heartbeat")
        if heartbeat < 1:
            raise usage.UsageError(
                f"--heartbeat should be at least one second (got {self['heartbeat']})"
            )

        # Any strategy and filter the scheduler's registry knows, registered
        # ones included.
        from swarmd.scheduler import filter_names, strategy_names

        strategies = strategy_names()
        strategy = STRATEGY_ALIASES.get(self["strategy"], self["strategy"])
        if strategy not in strategies:
            raise usage.UsageError(
                f"strategy not supported: {self['strategy']!r} "
                f"(options: {', '.join(strategies)})"
            )

        known = filter_names()
        filters = tuple(self["filter"]) or _config.DEFAULT_FILTERS
        for name in filters:
            if name not in known:
                raise usage.UsageError(
                    f"filter not supported: {name!r} (options: {', '.join(known)})"
                )

        if self["cluster-driver"] != "swarm":
            raise usage.UsageError(
                f'unsupported cluster "{self["cluster-driver"]}" '
                "(--cluster-driver options: swarm)"
            )
        cluster_opts = _cluster_options(self["cluster-opt"])

        hosts = self._hosts()
        advertise = self._advertise(self["advertise"])
        replication_ttl = self._duration("replication-ttl")
        if replication_ttl <= 0:
            raise usage.UsageError(
                f"--replication-ttl should be a positive number (got {self['replication-ttl']})"
            )
        replication = self._flag("replication")
        if replication:
            if advertise is None:
                raise usage.UsageError(
                    "--advertise address must be provided when using --leader-election "
                    "(--replication needs this manager's host:port)"
                )
            if discovery.partition("://")[0] not in ("consul", "etcd", "zk"):
                raise usage.UsageError(
                    "Leader election is only supported with consul, etcd and "
                    "zookeeper discovery."
                )
            if discovery.startswith("consul://") and replication_ttl < 10:
                raise usage.UsageError(
                    "--replication-ttl should be at least 10s with consul discovery "
                    "(consul refuses shorter sessions)"
                )
            if discovery.startswith("etcd://") and ("etcd.api", "v2") in self._discovery_opts():
                raise usage.UsageError(
                    "Leader election needs etcd's v3 API: drop --discovery-opt etcd.api=v2"
                )
        discovery_opts = self._discovery_opts()
        metrics_addr = self["metrics-addr"]
        if metrics_addr:
            try:
                metrics_addr = check_host(metrics_addr)
            except usage.UsageError:
                raise usage.UsageError(
                    f"invalid --metrics-addr {metrics_addr!r}: use host:port "
                    "(e.g. 127.0.0.1:9323)"
                ) from None
        shutdown_timeout = self._duration("shutdown-timeout")
        if shutdown_timeout < 0:
            raise usage.UsageError(
                f"--shutdown-timeout can not be negative (got {self['shutdown-timeout']})"
            )

        self.config = _config.ManageConfig(
            discovery=discovery,
            hosts=hosts,
            strategy=strategy,
            filters=filters,
            replication=replication,
            replication_ttl=replication_ttl,
            advertise=advertise,
            tls=tls,
            engine_refresh_min_interval=minimum,
            engine_refresh_max_interval=maximum,
            engine_failure_retry=failure_retry,
            heartbeat=heartbeat,
            cors=self._flag("api-enable-cors"),
            cluster_driver="swarm",
            cluster_opts=cluster_opts,
            discovery_opts=discovery_opts,
            refresh_on_node_filter=self._flag("refresh-on-node-filter"),
            container_name_refresh_filter=self["container-name-refresh-filter"],
            metrics_addr=metrics_addr or None,
            shutdown_timeout=shutdown_timeout,
            log_format=self._log_format(),
            **self._globals(),
        )


class JoinOptions(_DiscoveryCommand):
    """
    Join a docker cluster: register this engine's address with the discovery
    service every heartbeat.
    """

    _verb = "join"
    _name = "join"
    _aliases = {"addr": "advertise"}

    optParameters = [
        ["heartbeat", None, "60s", "Period between each heartbeat."],
        ["ttl", None, "180s", "Expiration of the ephemeral node; must exceed --heartbeat."],
        [
            "delay",
            None,
            "0s",
            "Add a random delay in [0s,delay] to avoid synchronized registration.",
        ],
        LOG_FORMAT_PARAMETER,
    ]

    def __init__(self, environ=None, check_url=None):
        super().__init__(environ=environ, check_url=check_url)
        self["advertise"] = None

    def opt_advertise(self, value):
        """
        Address of the Docker engine joining the cluster, host:port (mandatory; alias --addr; env
        SWARM_ADVERTISE).
        """
        self["advertise"] = value

    def postOptions(self):
        discovery = self._discovery()
        given = self["advertise"]
        if not (given if given is not None else self._environ.get("SWARM_ADVERTISE")):
            raise usage.UsageError("missing mandatory --advertise flag")
        advertise = self._advertise(given)

        delay = self._duration("delay")
        if delay < 0:
            raise usage.UsageError(
                f"--delay should not be a negative number (got {self['delay']})"
            )
        heartbeat = self._duration("heartbeat")
        if heartbeat < 1:
            raise usage.UsageError(
                f"--heartbeat should be at least one second (got {self['heartbeat']})"
            )
        ttl = self._duration("ttl")
        if ttl <= heartbeat:
            raise usage.UsageError(
                "--ttl must be strictly superior to the heartbeat value "
                f"(--ttl {self['ttl']}, --heartbeat {self['heartbeat']})"
            )

        settings = self._globals()
        self.config = _config.JoinConfig(
            discovery=discovery,
            advertise=advertise,
            heartbeat=heartbeat,
            ttl=ttl,
            delay=delay,
            discovery_opts=self._discovery_opts(),
            log_format=self._log_format(),
            debug=settings["debug"],
            log_level=settings["log_level"],
        )


class ListOptions(_DiscoveryCommand):
    """
    List the nodes of a cluster: print the discovery's entries, one a line.
    """

    _verb = "list"
    _name = "list"

    optParameters = [["timeout", None, "10s", "Timeout period."]]

    def postOptions(self):
        discovery = self._discovery()
        timeout = self._duration("timeout")
        if timeout <= 0:
            raise usage.UsageError(
                f"--timeout should be a positive number (got {self['timeout']})"
            )
        settings = self._globals()
        self.config = _config.ListConfig(
            discovery=discovery,
            timeout=timeout,
            discovery_opts=self._discovery_opts(),
            debug=settings["debug"],
            log_level=settings["log_level"],
        )


#: The exit status of a usage error (as Go's flag package and most Unix
#: tools give), from twistd as from the console script.
USAGE_STATUS = 2

#: The settings of the commands that run once and exit (see
#: L{swarmd.cli.one_shot}), never as a twistd service.
ONE_SHOT_CONFIGS = (_config.ListConfig, _config.CreateConfig)

class CreateOptions(_Command):
    """
    Create a cluster token with the token service named by SWARM_TOKEN_URL
    (e.g. http://127.0.0.1:8500, a `swarm token-service`).
    """

    _name = "create"
    _arguments = ""

    def parseArgs(self, *args):
        if args:
            raise usage.UsageError(
                "the `create` command takes no arguments. " + self._help_pointer()
            )

    def postOptions(self):
        settings = self._globals()
        self.config = _config.CreateConfig(
            token_url=self._environ.get("SWARM_TOKEN_URL") or None,
            debug=settings["debug"], log_level=settings["log_level"]
        )


class TokenServiceOptions(_Command):
    """
    Run a token service for token:// discovery: Docker Hub's API, its clusters kept in --data.
    """

    _name = "token-service"
    _arguments = "[options]"

    optParameters = [
        ["listen", None, "tcp:8500:interface=127.0.0.1",
         "Where to listen: a Twisted strports description (ssl:... for TLS)."],
        ["data", None, None, "Folder the clusters are kept in (mandatory)."],
    ]

    def parseArgs(self, *args):
        if args:
            raise usage.UsageError(
                "the `token-service` command takes no arguments. " + self._help_pointer()
            )

    def postOptions(self):
        if not self["data"]:
            raise usage.UsageError("missing mandatory --data flag (the folder clusters are "
                                   "kept in)")
        from twisted.application import strports

        try:
            strports.service(self["listen"], None)
        except (ValueError, KeyError, TypeError) as e:
            raise usage.UsageError(f"invalid --listen {self['listen']!r}: {e}") from None
        settings = self._globals()
        self.config = _config.TokenServiceConfig(
            listen=self["listen"], data=self["data"],
            debug=settings["debug"], log_level=settings["log_level"]
        )


class HelpOptions(_Command):
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
            _print_and_exit(parent._top_usage())
        for name, short, factory, _doc in parent.subCommands:
            if self.topic in (name, short):
                sub = factory()
                sub.parent = parent
                _print_and_exit(str(sub))
        raise usage.UsageError(
            f"No help topic for {self.topic!r}. See '{parent.command_line()} --help'."
        )


class Options(_Command):
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

    opt_v = _Command.opt_version

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
                stream.flush()
        self._exit(self.code)


#: The exit status of this process, set by services that fail.
exit_status = ExitStatus()


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


def _stopper(reactor, status):
    """
    @return: a callable taking an exit status that records it in C{status}
        when non-zero and stops C{reactor}.
    """

    def done(code):
        if code:
            status.fail(code)
        reactor.callWhenRunning(reactor.stop)

    return done


def makeService(options, reactor=None, status=None, discovery_for=None):
    """
    Build the service of the parsed C{swarm} command line.

    @param options: a parsed L{Options}.
    @param reactor: the reactor to run on; the global one by default.
    @param status: the L{ExitStatus} failures are reported to;
        L{exit_status} by default.
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
        done = _stopper(reactor, status)
        return JoinService(config, discovery, reactor, on_fatal=lambda failure: done(1))
    # list and create: twistd's parseOptions already ran them (see
    # Options.parseOptions); a caller that skipped it gets the same run.
    from swarmd.cli import one_shot

    raise SystemExit(one_shot(config, discovery_for=discovery_for))
