"""
The value checks of the C{swarm} command line: listening and advertised
addresses, C{--cluster-opt} and other C{key=value} lists, readable files.

Each check is worded as classic Swarm words it; a refusal is one
L{usage.UsageError} line.
"""

from __future__ import annotations

import math
import re
from typing import Any

from twisted.logger import Logger
from twisted.python import usage

from swarmd import config as _config
from swarmd._duration import parse_duration
from swarmd._log import observer
from swarmd.address import AddressError, parse_port, split_host_port

__all__ = [
    "CLUSTER_OPTIONS",
    "INTEGER",
    "check_address",
    "check_host",
    "cluster_options",
    "key_values",
    "unreadable",
]

# The command line's namespace, as when these checks lived in swarmd.tap.
_log = Logger(namespace="swarmd.tap", observer=observer)

#: The C{--cluster-opt} keys of the C{swarm} cluster driver.
CLUSTER_OPTIONS = ("swarm.overcommit", "swarm.createretry", "swarm.reschedule-grace")

#: An integer as Go's C{strconv.Atoi} reads it.
INTEGER = re.compile(r"[-+]?\d+")
_PORT = re.compile(r"\d{1,5}")
_HOSTNAME = re.compile(r"[0-9A-Za-z._-]+|\[[0-9A-Fa-f:.%a-zA-Z]+\]")


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


def key_values(flag, values):
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


def cluster_options(values):
    """
    Check the C{--cluster-opt} values of the C{swarm} driver.

    @param values: the C{key=value} strings given.
    @return: a L{swarmd.config.ClusterOptions}.
    @raise usage.UsageError: for an unknown key or a bad value.
    """
    settings: dict[str, Any] = {}
    for key, value in key_values("cluster-opt", values):
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
            if not INTEGER.fullmatch(value):
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


def unreadable(path):
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
