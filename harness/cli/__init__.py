"""The ``ringemu`` command line: one module per command, registered here.

stdout carries results (tables); progress and the narration go to stderr.
Exit status: 0 all is well; 1 an invariant was violated (or a recovery failed);
2 bad input, one line on stderr naming the value and what is allowed; 3 an
internal error (a bug: one line, the traceback in a log file it names); 4 an
output could not be written after the work was done (one line; everything
already written is kept); 130 and 143 interrupted by SIGINT and SIGTERM.
Each command module has ``register(commands)``, which adds its subparser(s)
with ``set_defaults(handler=...)``; a handler takes the parsed arguments and
returns the exit status, raising ``ConfigError`` for bad input.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import traceback
from typing import Sequence

from ..config import ConfigError
from ..files import EXIT_OUTPUT_FAILED, OutputError
from ..interrupts import Terminated, exit_status, install_sigterm_handler
from .options import EXIT_BAD_INPUT, Parser

EXIT_INTERNAL_ERROR = 3

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
    except OutputError as failed:
        sys.stderr.write(f"ringemu {args.command}: error: {failed}\n")
        return EXIT_OUTPUT_FAILED
    except (KeyboardInterrupt, Terminated) as interrupt:
        return exit_status(interrupt)  # a command with nothing to keep: just the status
    except RecursionError:
        sys.stderr.write(f"ringemu {args.command}: error: the input is nested too deeply\n")
        return EXIT_BAD_INPUT
    except Exception as bug:  # noqa: BLE001 - the last resort: one line, the log has the rest
        log = _log_traceback(args.command)
        sys.stderr.write(f"ringemu {args.command}: internal error: {type(bug).__name__}: "
                         f"{bug}; the traceback is in {log}\n")
        return EXIT_INTERNAL_ERROR


def _log_traceback(command: str) -> str:
    """Keep the traceback of a bug for its report, out of the user's way."""
    handle = tempfile.NamedTemporaryFile("w", prefix=f"ringemu-{command}-error-",
                                         suffix=".log", delete=False, encoding="utf-8")
    with handle:
        traceback.print_exc(file=handle)
    return handle.name


if __name__ == "__main__":
    sys.exit(main())
