"""The ``ringemu`` command line: one module per command, registered here.

stdout carries results (tables); progress and the narration go to stderr.
Bad input is one line on stderr naming the value and what is allowed, exit 2.
Each command module has ``register(commands)``, which adds its subparser(s)
with ``set_defaults(handler=...)``; a handler takes the parsed arguments and
returns the exit status, raising ``ConfigError`` for bad input.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..config import ConfigError
from ..interrupts import install_sigterm_handler
from .options import EXIT_BAD_INPUT, Parser

COMMAND_MODULES = (
    "harness.cli.run",
    "harness.cli.chaos",
    "harness.cli.check",
    "harness.cli.trace",
    "harness.cli.demo",
    "harness.cli.bench",
    "harness.cli.view",
)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="ringemu", description=(
        "A local cluster emulator: a ring of real OS processes linked by pipes, a "
        "circulating token, real faults, Chandy-Lamport snapshots and ring election."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    install_sigterm_handler()
    try:
        return args.handler(args)
    except ConfigError as bad:
        sys.stderr.write(f"ringemu {args.command}: error: {bad}\n")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
