"""
Go-style command lines for L{twisted.python.usage}.

Classic Swarm's command line is urfave/cli on Go's C{flag} package: flags
may be spelled with one dash or two (C{-strategy binpack}), booleans take
C{--flag=true} / C{--flag=false}, C{-X=value} sets a short flag, and a
command's flags may follow its arguments.  L{to_getopt} rewrites such a
command line into what L{usage.Options.parseOptions} (L{getopt}) reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from twisted.python import usage

__all__ = ["parse_bool", "to_getopt"]

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def parse_bool(text: str) -> bool | None:
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


def _short_letters(letters: str) -> tuple[set[str], set[str]]:
    """
    @param letters: a L{getopt} short-option string, e.g. C{"H:f:h"}.
    @return: the letters that take a value and the letters that do not.
    """
    short_value = set()
    short_flag = set()
    for i, letter in enumerate(letters):
        if letter == ":":
            continue
        if letters[i + 1 : i + 2] == ":":
            short_value.add(letter)
        else:
            short_flag.add(letter)
    return short_value, short_flag


def to_getopt(
    args: Sequence[str],
    long_opts: Sequence[str],
    short_opts: str,
    synonyms: Mapping[str, str],
    aliases: Mapping[str, str],
    stop_at_argument: bool,
    false: set[str],
) -> list[str]:
    """
    Rewrite Go-style arguments into what L{getopt} reads: single-dash
    long flags, C{--bool=true|false}, C{-X=value}, and flags after
    arguments (unless C{stop_at_argument}).

    @param args: the arguments as typed.
    @param long_opts: the L{usage.Options}' C{longOpt} (C{"name="} for a
        flag that takes a value).
    @param short_opts: the L{usage.Options}' C{shortOpt}.
    @param synonyms: the L{usage.Options}' C{synonyms} (letter or long
        name to canonical name).
    @param aliases: extra long spellings, e.g. C{{"addr": "advertise"}}.
    @param stop_at_argument: stop reading flags at the first argument (a
        command with subcommands).
    @param false: the canonical names of the boolean flags set false with
        C{--flag=false}; updated in place (as with Go's flag package, the
        last spelling wins).
    @return: equivalent arguments for L{usage.Options.parseOptions}.
    @raise usage.UsageError: for an unknown flag, a missing value or a bad
        boolean.
    """
    takes_value = {o[:-1] for o in long_opts if o.endswith("=")}
    flags = {o for o in long_opts if not o.endswith("=")}
    short_value, short_flag = _short_letters(short_opts)

    known = takes_value | flags | set(aliases)
    out: list[str] = []
    arguments: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            arguments.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            if stop_at_argument:
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
                    body = synonyms.get(letter, letter) + rest
                else:
                    out.append(arg)
                    continue
        name, equals, value = body.partition("=")
        name = aliases.get(name, name)
        if name in flags:
            truth = parse_bool(value) if equals else True
            if truth is None:
                raise usage.UsageError(
                    f"invalid boolean value {value!r} for --{name}"
                )
            # As with Go's flag package, the last spelling wins.
            canonical = synonyms.get(name, name)
            if truth:
                false.discard(canonical)
                out.append("--" + name)
            else:
                false.add(canonical)
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
