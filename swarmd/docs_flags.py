"""
The flag reference of C{twistd swarm}, generated from the L{usage.Options}
classes of L{swarmd.tap} and L{swarmd.options} (their flags, short letters, aliases, defaults and
help texts), as Markdown::

    python -m swarmd.docs_flags > docs/flags.md

A unit test (C{tests/unit/test_docs.py}) fails when docs/flags.md is not
what this prints, so the reference never drifts from the code.
"""

from __future__ import annotations

import sys

from swarmd import tap

__all__ = ["COMMAND", "flag_rows", "render"]

#: How the file says it is made.
COMMAND = "python -m swarmd.docs_flags > docs/flags.md"

#: Flags every command has, listed once.
_COMMON = ("help", "version")


def _options(factory):
    """
    @return: a fresh options object of C{factory}, reading no environment.
    """
    return factory(environ={}, check_url=lambda url: None)


def flag_rows(options):
    """
    The flags of one command.

    @param options: a L{swarmd.options.Command} instance.
    @return: a C{list} of C{(flag, short, aliases, default, text)} strings,
        sorted by flag.
    """
    aliases: dict[str, list[str]] = {}
    for alias, name in getattr(options, "_aliases", {}).items():
        aliases.setdefault(name, []).append(alias)
    shorts = {}
    for letter, name in options.synonyms.items():
        if len(letter) == 1:
            shorts[name] = letter
    rows = []
    for spelled in options.longOpt:
        name = spelled.rstrip("=")
        if name in _COMMON:
            continue
        takes_value = spelled.endswith("=")
        default = options.defaults.get(name) if takes_value else None
        if takes_value:
            shown = "" if default in (None, "", []) else str(default)
        else:
            shown = "false"
        rows.append(("--" + name + ("=VALUE" if takes_value else ""),
                     "-" + shorts[name] if name in shorts else "",
                     ", ".join("--" + a for a in sorted(aliases.get(name, ()))),
                     shown, " ".join((options.docs.get(name) or "").split())))
    return sorted(rows)


def _escape(text):
    return text.replace("|", "\\|")


def _table(rows):
    lines = ["| Flag | Short | Alias | Default | Meaning |", "|---|---|---|---|---|"]
    for flag, short, alias, default, text in rows:
        cells = ["`%s`" % flag, "`%s`" % short if short else "",
                 alias.replace("--", "`--").replace(", ", "`, ") + "`" if alias else "",
                 "`%s`" % default if default else "", _escape(text)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render():
    """
    @return: the whole flag reference, Markdown text ending in a newline.
    """
    top = _options(tap.Options)
    parts = [
        "# Flag reference",
        "",
        "<!-- Generated from swarmd/tap.py and swarmd/options/ by `%s`; "
        "do not edit by hand. -->" % (COMMAND,),
        "",
        "    twistd [twistd options] swarm [global flags] COMMAND [flags] [<discovery>]",
        "",
        "Flags are spelled with one dash or two (`-strategy binpack`), a boolean takes "
        "`--flag=true` / `--flag=false`, and a command's flags may follow its `<discovery>` "
        "argument, as with classic Swarm's Go flag parser. Every command also takes `--help` "
        "(`-h`) and `--version`. twistd's own options (`-n`, `--logfile`, `--pidfile`, "
        "`--logger`...) come before `swarm`: `twistd --help` lists them.",
        "",
        "## Global flags",
        "",
        "Before the command: `twistd swarm --log-level debug manage ...`.",
        "",
        _table(flag_rows(top)),
        "",
        "## Commands",
        "",
    ]
    commands = list(top.subCommands)
    for name, short, _factory, doc in commands:
        alias = " (`%s`)" % (short,) if short else ""
        parts.append("- [`%s`](#swarm-%s)%s: %s" % (
            name, name, alias, doc.split(") ", 1)[-1] if doc.startswith("(") else doc))
    parts.append("")
    for name, _short, factory, _doc in commands:
        # The factories carry the top level's environment and URL check.
        options = factory()
        options.parent = top
        parts += ["## swarm %s" % (name,), ""]
        description = " ".join((options.__doc__ or "").split())
        if description:
            parts += [description, ""]
        parts += ["    " + options.getSynopsis().replace("Usage: ", ""), ""]
        rows = flag_rows(options)
        parts += [_table(rows) if rows else "No flags of its own.", ""]
    return "\n".join(parts)


def main(out=None):
    """
    Print the reference.
    """
    (out or sys.stdout).write(render())


if __name__ == "__main__":
    main()
