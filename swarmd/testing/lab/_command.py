"""
The lab from a shell: C{python -m swarmd.testing.lab start|status|suspend|stop}.
"""

from __future__ import annotations

import argparse
import sys

from swarmd.testing.lab._engine import LabError, read_state
from swarmd.testing.lab._lab import Lab
from swarmd.testing.lab._teardown import lab_status, stop_lab

# -- command line -------------------------------------------------------------

def _parse_label(text: str) -> tuple[int, str, str]:
    try:
        index, pair = text.split(":", 1)
        key, value = pair.split("=", 1)
        return int(index), key, value
    except ValueError:
        raise argparse.ArgumentTypeError("labels are I:KEY=VALUE, e.g. 2:storage=ssd") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m swarmd.testing.lab",
        description="A lab of real Docker engines on this machine (needs root).")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start N engines and print their addresses")
    start.add_argument("-n", type=int, default=3, help="how many engines (default 3)")
    start.add_argument("--base", help="the lab's folder (default: a new temporary folder)")
    start.add_argument("--netns", action="store_true",
                       help="one network namespace per engine (API on 10.78.S.2:2375)")
    start.add_argument("--tls", action="store_true",
                       help="TCP listeners demand client certificates from the lab's CA")
    start.add_argument("--label", action="append", type=_parse_label, default=[],
                       metavar="I:KEY=VALUE",
                       help="extra label of engine I (replaces the storage defaults)")
    start.add_argument("--prefix", default="n", help="engine name prefix (default n)")
    start.add_argument("--resume", action="store_true",
                       help="if --base holds a lab (running or suspended), start its stopped "
                            "engines on their data instead of a new lab")
    for name, text in (("stop", "stop the lab in --base and delete its data"),
                       ("suspend", "stop the lab in --base, keeping its data for start --resume"),
                       ("status", "show the engines of the lab in --base")):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--base", required=True, help="the lab's folder")
    return parser


def main(argv: list[str] | None = None, out=None) -> int:
    """
    The command line: C{start}, C{suspend}, C{stop}, C{status}.

    @return: the exit status.
    """
    out = out or sys.stdout
    options = _parser().parse_args(argv)
    try:
        if options.command == "start":
            labels: dict[int, dict[str, str]] | None = None
            if options.label:
                labels = {}
                for index, key, value in options.label:
                    labels.setdefault(index, {})[key] = value
            saved = read_state(options.base) if options.resume and options.base else None
            if saved is not None and saved.get("status") != "stopped":
                lab = Lab.load(options.base).resume()
            else:
                lab = Lab(n=options.n, base=options.base, labels=labels, netns=options.netns,
                          tls=options.tls, name_prefix=options.prefix, persistent=True).start()
            print("# lab in %s; stop it with: python -m swarmd.testing.lab stop --base %s"
                  % (lab.base, lab.base), file=out)
            for e in lab.engines:
                print("%s %s %s" % (e.name, e.unix_url, e.tcp_url), file=out)
            if lab.tls is not None:
                # The manager serves clients and is a client of the engines
                # with one certificate: the manager's (IP SAN 127.0.0.1,
                # serverAuth and clientAuth).  The client certificate has no
                # SAN: a manager serving it fails every docker client.
                print("# manager tls: --tlsverify --tlscacert %s --tlscert %s --tlskey %s"
                      % (lab.tls.ca, lab.tls.manager_cert, lab.tls.manager_key), file=out)
                print("# docker client tls: --tlsverify --tlscacert %s --tlscert %s "
                      "--tlskey %s (or DOCKER_CERT_PATH=%s)"
                      % (lab.tls.ca, lab.tls.cert, lab.tls.key, lab.tls.cert_path), file=out)
            print(lab.discovery(), file=out)
            return 0
        if options.command == "stop":
            if not stop_lab(options.base):
                print("no lab in %s" % (options.base,), file=out)
            return 0
        if options.command == "suspend":
            try:
                Lab.load(options.base).suspend()
            except LabError:
                print("no lab in %s" % (options.base,), file=out)
            return 0
        rows = lab_status(options.base)
        for row in rows:
            state = "answering" if row["answering"] else (
                "running" if row["running"] else "stopped")
            print("%s %s pid=%s %s %s %s" % (
                row["name"], state, row["pid"], row["unix"], row["tcp"],
                ",".join("%s=%s" % kv for kv in row["labels"].items())), file=out)
        return 0 if rows and all(r["answering"] for r in rows) else 1
    except LabError as e:
        print("lab: %s" % (e,), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("lab: interrupted", file=sys.stderr)
        return 130
