"""Command-line building blocks shared by every ``ringemu`` command.

Every value is checked where it is parsed; a bad one becomes one line naming
the value and what is allowed (argparse's usage dump is suppressed), exit 2.
"""
from __future__ import annotations

import argparse
import sys

from emulator.protocol.algorithms import ALGORITHMS, DEFAULT_ALGORITHM

from ..config import (
    ARRANGEMENTS, DEFAULT_START_METHOD, START_METHODS, ConfigError, RingConfig, arrange_ids,
    ensure_descriptor_budget, parse_ids,
)

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(EXIT_BAD_INPUT)


def integer(name: str, minimum: int, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum]."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} {text!r} is not a whole number; need an integer >= {minimum}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{name} {value} is too small; need >= {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{name} {value} is too large; need <= {maximum}")
        return value
    return parse


def non_negative(name: str):
    """An argparse type: a finite number >= 0."""
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


def algorithm_option(parser: argparse.ArgumentParser, *, allow_all: bool,
                     default: str = DEFAULT_ALGORITHM) -> None:
    """``--algorithm``: one registered election algorithm, or (where a command runs
    several) ``all``."""
    names = list(ALGORITHMS) + (["all"] if allow_all else [])

    def parse(text: str) -> str:
        if text == "all" and not allow_all:
            raise argparse.ArgumentTypeError(
                "'all' runs each algorithm in turn, which only chaos, check and bench do; "
                f"choose one of {', '.join(names)}")
        if text not in names:
            raise argparse.ArgumentTypeError(
                f"algorithm {text!r} is unknown; choose one of {', '.join(names)}")
        return text
    parser.add_argument("--algorithm", type=parse, default=default, metavar="|".join(names),
                        help="the election algorithm every node runs: Chang–Roberts "
                             "(the article's), LeLann, Hirschberg–Sinclair, Franklin, "
                             f"Peterson/DKR (default {default})"
                             + ("; all: each in turn" if allow_all else ""))


def algorithms(args: argparse.Namespace) -> list[str]:
    """--algorithm as a list: every registered one for 'all'."""
    return list(ALGORITHMS) if args.algorithm == "all" else [args.algorithm]


def _candidates(text: str) -> int:
    if text == "all":
        return 0  # resolved to N once N is known
    return integer("--candidates", 1)(text)


def add_ring_options(parser: argparse.ArgumentParser, *, all_algorithms: bool = False) -> None:
    """The options that describe a ring, shared by every command that makes one
    (``all_algorithms``: the command runs each algorithm in turn for ``--algorithm all``)."""
    parser.add_argument("--nodes", type=integer("--nodes", 2), default=None, metavar="N",
                        help="number of nodes (default 8, or the length of --ids)")
    ids = parser.add_mutually_exclusive_group()
    ids.add_argument("--ids", default=None, metavar="5,9,2,...",
                     help="explicit node IDs by position: unique natural numbers")
    ids.add_argument("--arrangement", choices=ARRANGEMENTS, default="random",
                     help="how IDs 1..N are laid out: a seeded random permutation "
                          "(default), ascending or descending in the token's direction")
    parser.add_argument("--seed", type=integer("--seed", 0), default=1,
                        help="seed for the ID permutation, the candidates and every "
                             "fault's target and timing (default 1)")
    parser.add_argument("--hold-ms", type=non_negative("--hold-ms"), default=2.0,
                        metavar="H", help="how long a holder keeps the token, in ms "
                                          "(default 2)")
    parser.add_argument("--start-method", choices=START_METHODS,
                        default=DEFAULT_START_METHOD,
                        help=f"multiprocessing start method (default {DEFAULT_START_METHOD})")
    parser.add_argument("--candidates", type=_candidates, default=None, metavar="K|all",
                        help="how many nodes start each election round (default: a "
                             "random subset, the article's 'arbitrary processes')")
    parser.add_argument("--no-announce", dest="announce", action="store_false",
                        help="the article's bare election: no Elected message; followers "
                             "only learn they are not the leader")
    parser.add_argument("--no-fencing", dest="fencing", action="store_false",
                        help="accept tokens of any epoch (shows why fencing is needed)")
    parser.add_argument("--detector-floor-ms", type=non_negative("--detector-floor-ms"),
                        default=20.0, metavar="MS",
                        help="never suspect a lost token sooner than MS after its last "
                             "reported receipt; above the floor the timeout adapts to the "
                             "gaps between receipts (mean + 8 sigma; default 20)")
    algorithm_option(parser, allow_all=all_algorithms)


def ring_config(args: argparse.Namespace) -> RingConfig:
    """The ring the ring options describe (ConfigError if they contradict)."""
    if args.ids is not None:
        ids = parse_ids(args.ids)
        if args.nodes is not None and args.nodes != len(ids):
            raise ConfigError(f"--ids lists {len(ids)} IDs but --nodes is {args.nodes}; "
                              "give one ID per node")
    else:
        ensure_descriptor_budget(args.nodes or 8)  # before building a huge permutation
        ids = arrange_ids(args.nodes or 8, args.arrangement, args.seed)
    ensure_descriptor_budget(len(ids))
    # 'all' is resolved by the commands that allow it (algorithms()); cr stands in.
    algorithm = DEFAULT_ALGORITHM if args.algorithm == "all" else args.algorithm
    return RingConfig(ids=ids, hold_ns=int(args.hold_ms * 1e6), fencing=args.fencing,
                      announce=args.announce, start_method=args.start_method,
                      detector_floor_ms=args.detector_floor_ms, algorithm=algorithm)


def candidates(args: argparse.Namespace, nodes: int) -> int | None:
    """--candidates as a count: 'all' is N, absent is None (a random subset)."""
    return nodes if args.candidates == 0 else args.candidates
