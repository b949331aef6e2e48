"""The ``ringemu`` command line.

stdout carries results (tables); progress and the narration go to stderr.
Bad input is one line on stderr naming the value and what is allowed, exit 2.
"""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .config import (
    ARRANGEMENTS, DEFAULT_START_METHOD, START_METHODS, ConfigError, RingConfig, arrange_ids,
    parse_ids,
)

EXIT_BAD_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_BAD_INPUT)


def _integer(name: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} {text!r} is not a whole number; need an integer >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} {value} is too small; need >= {minimum}")
        return value
    return parse


def _non_negative(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} {text!r} is not a number; need a number >= 0") from None
        if not value >= 0 or value == float("inf"):  # also rejects nan
            raise argparse.ArgumentTypeError(f"{name} {text} is not allowed; need a "
                                             "finite number >= 0")
        return value
    return parse


def _candidates(text: str) -> int | None:
    if text == "all":
        return 0  # resolved to N once N is known
    return _integer("--candidates", 1)(text)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ringemu", description=(
        "A local cluster emulator: a ring of real OS processes linked by pipes, a "
        "circulating token, real faults, Chandy-Lamport snapshots and ring election."))
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)
    run = commands.add_parser(
        "run", help="start a ring, bootstrap the token, keep it circulating, report",
        description="Start a ring of node processes, bootstrap the token through the "
                    "recovery pipeline (snapshot finds none, election, the leader creates "
                    "it), keep it circulating for --duration seconds, recover from silence, "
                    "then print a table of every node. Narration goes to stderr.")
    run.add_argument("--nodes", type=_integer("--nodes", 2), default=None, metavar="N",
                     help="number of nodes (default 8, or the length of --ids)")
    ids = run.add_mutually_exclusive_group()
    ids.add_argument("--ids", default=None, metavar="5,9,2,...",
                     help="explicit node IDs by position: unique natural numbers")
    ids.add_argument("--arrangement", choices=ARRANGEMENTS, default="random",
                     help="how IDs 1..N are laid out: a seeded random permutation "
                          "(default), ascending or descending in the token's direction")
    run.add_argument("--seed", type=_integer("--seed", 0), default=1,
                     help="seed for the ID permutation and the choice of candidates "
                          "(default 1)")
    run.add_argument("--hold-ms", type=_non_negative("--hold-ms"), default=2.0, metavar="H",
                     help="how long a holder keeps the token, in ms (default 2)")
    run.add_argument("--duration", type=_non_negative("--duration"), default=3.0,
                     metavar="SECONDS", help="how long to keep the ring running after "
                                             "bootstrap (default 3)")
    run.add_argument("--start-method", choices=START_METHODS, default=DEFAULT_START_METHOD,
                     help=f"multiprocessing start method (default {DEFAULT_START_METHOD})")
    run.add_argument("--candidates", type=_candidates, default=None, metavar="K|all",
                     help="how many nodes start each election round (default: a random "
                          "subset, the article's 'arbitrary processes')")
    run.add_argument("--trace", default=None, metavar="PATH",
                     help="write every event as a JSON line to PATH")
    run.add_argument("--no-announce", dest="announce", action="store_false",
                     help="the article's bare election: no Elected message; followers "
                          "only learn they are not the leader")
    run.add_argument("--no-fencing", dest="fencing", action="store_false",
                     help="accept tokens of any epoch (shows why fencing is needed)")
    return parser


def ring_config(args: argparse.Namespace) -> RingConfig:
    if args.ids is not None:
        ids = parse_ids(args.ids)
        if args.nodes is not None and args.nodes != len(ids):
            raise ConfigError(f"--ids lists {len(ids)} IDs but --nodes is {args.nodes}; "
                              "give one ID per node")
    else:
        ids = arrange_ids(args.nodes or 8, args.arrangement, args.seed)
    return RingConfig(ids=ids, hold_ns=int(args.hold_ms * 1e6), fencing=args.fencing,
                      announce=args.announce, start_method=args.start_method)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = ring_config(args)
        if args.trace is not None:
            _check_writable(args.trace, "--trace")
    except ConfigError as bad:
        sys.stderr.write(f"ringemu {args.command}: error: {bad}\n")
        return EXIT_BAD_INPUT
    from .run import run_ring  # the heavy imports only once the input is known good
    candidates = args.candidates
    if candidates == 0:
        candidates = config.nodes
    return run_ring(config, duration_s=args.duration, seed=args.seed,
                    candidates=candidates, trace_path=args.trace)


def _check_writable(path: str, option: str) -> None:
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as why:
        raise ConfigError(f"{option} {path!r} cannot be written: {why.strerror}") from None


if __name__ == "__main__":
    sys.exit(main())
