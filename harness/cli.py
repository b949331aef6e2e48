"""The ``ringemu`` command line.

stdout carries results (tables); progress and the narration go to stderr.
Bad input is one line on stderr naming the value and what is allowed, exit 2.
"""
from __future__ import annotations

import argparse
import os
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


def _add_ring_options(parser: argparse.ArgumentParser) -> None:
    """The options that describe a ring, shared by every command that makes one."""
    parser.add_argument("--nodes", type=_integer("--nodes", 2), default=None, metavar="N",
                        help="number of nodes (default 8, or the length of --ids)")
    ids = parser.add_mutually_exclusive_group()
    ids.add_argument("--ids", default=None, metavar="5,9,2,...",
                     help="explicit node IDs by position: unique natural numbers")
    ids.add_argument("--arrangement", choices=ARRANGEMENTS, default="random",
                     help="how IDs 1..N are laid out: a seeded random permutation "
                          "(default), ascending or descending in the token's direction")
    parser.add_argument("--seed", type=_integer("--seed", 0), default=1,
                        help="seed for the ID permutation, the candidates and every "
                             "fault's target and timing (default 1)")
    parser.add_argument("--hold-ms", type=_non_negative("--hold-ms"), default=2.0,
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
    _add_ring_options(run)
    run.add_argument("--duration", type=_non_negative("--duration"), default=3.0,
                     metavar="SECONDS", help="how long to keep the ring running after "
                                             "bootstrap (default 3)")
    run.add_argument("--trace", default=None, metavar="PATH",
                     help="write every event as a JSON line to PATH")

    chaos = commands.add_parser(
        "chaos", help="fault-injection campaign: scenarios x trials, checked, tabulated",
        description="Run fault scenarios on fresh rings, check every invariant over each "
                    "trial's history, and print a per-trial and a per-scenario table. Exit "
                    "status 0: every trial held every invariant; 1: some did not; 2: bad "
                    "input. Traces and results go to the run store as trials finish.")
    chaos.add_argument("--scenario", nargs="+", default=["all"], metavar="NAME",
                       help="scenarios to run, or 'all' (default); see 'ringemu scenarios'")
    chaos.add_argument("--file", default=None, metavar="EXPERIMENT.json",
                       help="run the timed faults of an experiment file instead")
    _add_ring_options(chaos)
    chaos.add_argument("--trials", type=_integer("--trials", 1), default=3,
                       help="trials per scenario (default 3)")
    chaos.add_argument("--json", default=None, metavar="PATH",
                       help="write config, every trial and the summary as JSON to PATH")
    chaos.add_argument("--runs-dir", default="runs", metavar="DIR",
                       help="run store: traces and results per trial (default ./runs)")
    commands.add_parser("scenarios", help="list the built-in chaos scenarios",
                        description="Name and one-line description of every scenario.")
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
        if args.command == "scenarios":
            return _list_scenarios()
        if args.command == "chaos":
            return _chaos(args)
        config = ring_config(args)
        if args.trace is not None:
            _check_writable(args.trace, "--trace")
    except ConfigError as bad:
        sys.stderr.write(f"ringemu {args.command}: error: {bad}\n")
        return EXIT_BAD_INPUT
    from .run import run_ring  # the heavy imports only once the input is known good
    return run_ring(config, duration_s=args.duration, seed=args.seed,
                    candidates=_resolve_candidates(args.candidates, config.nodes),
                    trace_path=args.trace)


def _resolve_candidates(candidates: int | None, nodes: int) -> int | None:
    return nodes if candidates == 0 else candidates


def _list_scenarios() -> int:
    from tabulate import tabulate

    from .faults import SCENARIOS
    print(tabulate([[s.name, s.description] for s in SCENARIOS.values()],
                   headers=["scenario", "what happens"]))
    return 0


def _chaos(args: argparse.Namespace) -> int:
    from .chaos import run_chaos
    from .faults import SCENARIOS
    if args.file is not None:
        from .experiment import load_experiment
        experiment = load_experiment(args.file)
        scenarios = [experiment.scenario()]
        config = RingConfig(ids=experiment.ids, hold_ns=int(args.hold_ms * 1e6),
                            fencing=args.fencing, announce=args.announce,
                            start_method=args.start_method)
        seed = experiment.seed
    else:
        names = list(SCENARIOS) if args.scenario == ["all"] else args.scenario
        for name in names:
            if name not in SCENARIOS:
                raise ConfigError(f"--scenario {name!r} is unknown; choose from "
                                  + ", ".join(SCENARIOS) + " or all")
        scenarios = [SCENARIOS[name] for name in dict.fromkeys(names)]
        config = ring_config(args)
        seed = args.seed
        for scenario in scenarios:
            if config.nodes < scenario.min_nodes:
                raise ConfigError(f"--nodes {config.nodes} is too small for scenario "
                                  f"{scenario.name!r}; it needs at least {scenario.min_nodes}")
    if args.json is not None:
        _check_writable(args.json, "--json")
    _check_directory(args.runs_dir, "--runs-dir")
    return run_chaos(scenarios, config, trials=args.trials, seed=seed,
                     arrangement=args.arrangement,
                     candidates=_resolve_candidates(args.candidates, config.nodes),
                     runs_dir=args.runs_dir, json_path=args.json)


def _check_writable(path: str, option: str) -> None:
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as why:
        raise ConfigError(f"{option} {path!r} cannot be written: {why.strerror}") from None


def _check_directory(path: str, option: str) -> None:
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as why:
        raise ConfigError(f"{option} {path!r} cannot be created: {why.strerror}") from None
    if not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path!r} is not writable")


if __name__ == "__main__":
    sys.exit(main())
