"""``ringemu check``: explore every reachable state of N protocol instances.

The protocols are pure state machines, so the very code the node processes run
can be explored exhaustively in one process (emulator/explore): every delivery
order, the chosen faults at every point they can happen, and the harness's
recovery actions. stdout gets the numbers and the verdict (and the shortest
counterexample); progress goes to stderr.
"""
from __future__ import annotations

import argparse
import sys

from emulator.explore import CR_MUTATIONS, FAULTS, MUTATIONS, explore, trace

from ..config import ConfigError, parse_ids
from ..tracefile import write_trace
from ..files import check_output_path
from .options import EXIT_BAD_INPUT, algorithm_option, algorithms, integer
from .view import add_view_option, check_view, write_view

EXIT_OK, EXIT_VIOLATION = 0, 1
MAX_NODES = 5          # 5 only with --max-states
INVARIANTS_CHECKED = ("single leader per round", "correct leader", "mutual exclusion",
                      "stale tokens fenced", "no message circulates forever")


def register(commands) -> None:
    check = commands.add_parser(
        "check", help="model-check the protocols: every state, every order, chosen faults",
        description="Explore every reachable state of N protocol instances (the same code "
                    "the node processes run) under every delivery order, with the chosen "
                    "faults at every point, and the harness's recovery (elections when "
                    "the token is lost; restart, bypass, rejoin). Checks the DESIGN.md "
                    "safety invariants in every state and, fault-free, that every "
                    "execution reaches one token, one leader. Exit 0: no violation, "
                    "1: violation (the shortest counterexample is printed), 2: bad input.")
    check.add_argument("--nodes", type=integer("--nodes", 2, MAX_NODES), default=None,
                       metavar="N", help=f"ring size, 2..{MAX_NODES - 1} ({MAX_NODES} needs "
                                         "--max-states); default 3, or the length of --ids")
    check.add_argument("--ids", default=None, metavar="5,9,2,...",
                       help="one ID arrangement (relabelled 1..N by rank: only order "
                            "matters); default: every arrangement, up to rotation")
    check.add_argument("--faults", default="", metavar="LIST",
                       help="comma-separated, from " + ",".join(FAULTS) + " (default none)")
    check.add_argument("--max-faults", type=integer("--max-faults", 0), default=1,
                       metavar="F", help="faults per execution (default 1)")
    check.add_argument("--max-rounds", type=integer("--max-rounds", 1), default=None,
                       metavar="R", help="election rounds per execution (default: "
                                         "max-faults + 1, at least 2)")
    check.add_argument("--max-states", type=integer("--max-states", 1), default=None,
                       metavar="M", help="stop after M states (the result is then partial)")
    check.add_argument("--eager-harness", dest="patient", action="store_false",
                       help="the harness may abandon a round at any instant, even while its "
                            "messages are still moving (default: once it has run its "
                            "course, as its timeouts are far longer than a round)")
    check.add_argument("--no-announce", dest="announce", action="store_false",
                       help="the article's bare election: no Elected message")
    check.add_argument("--no-symmetry", dest="symmetry", action="store_false",
                       help="do not fold rotations of the ring together (to measure it)")
    check.add_argument("--no-por", dest="por", action="store_false",
                       help="no partial-order reduction (to measure it)")
    check.add_argument("--no-compaction", dest="compact", action="store_false",
                       help="keep whole states in the visited set, not 64-bit hashes")
    check.add_argument("--mutation", choices=MUTATIONS, default=None,
                       help="put a known bug back, inside this run only: no-fencing, "
                            "forward-own-id (a restarted node forwards its own ID), "
                            "duplicate-ids, never-win")
    check.add_argument("--trace", default=None, metavar="PATH",
                       help="write the counterexample as JSON lines (harness trace format)")
    add_view_option(check, "the counterexample")
    algorithm_option(check, allow_all=True)
    check.set_defaults(handler=check_command)


def parse_faults(text: str) -> tuple[str, ...]:
    chosen = [f.strip() for f in text.split(",") if f.strip()]
    for fault in chosen:
        if fault not in FAULTS:
            raise ConfigError(f"--faults: {fault!r} is not a fault; choose from "
                              + ", ".join(FAULTS))
    return tuple(dict.fromkeys(chosen))


def check_command(args: argparse.Namespace) -> int:
    faults = parse_faults(args.faults)
    ids = None
    if args.ids is not None:
        ids = parse_ids(args.ids) if args.mutation != "duplicate-ids" else _any_ids(args.ids)
        if args.nodes is not None and args.nodes != len(ids):
            raise ConfigError(f"--ids lists {len(ids)} IDs but --nodes is {args.nodes}; "
                              "give one ID per node")
        if not 2 <= len(ids) <= MAX_NODES:
            raise ConfigError(f"--ids lists {len(ids)} IDs; need 2..{MAX_NODES}")
    n = len(ids) if ids is not None else (args.nodes or 3)
    if n == MAX_NODES and args.max_states is None:
        raise ConfigError(f"--nodes {MAX_NODES} needs a bound: give --max-states")
    max_rounds = args.max_rounds or max(2, args.max_faults + 1)
    if args.trace is not None:
        check_output_path(args.trace, "--trace")
    check_view(args)
    if args.mutation in CR_MUTATIONS and args.algorithm != "cr":
        raise ConfigError(f"--mutation {args.mutation} is a Chang–Roberts bug; it needs "
                          f"--algorithm cr (got {args.algorithm})")
    status = EXIT_OK
    for algorithm in algorithms(args):
        status = _check_one(args, algorithm, n, ids, faults, max_rounds)
        if status != EXIT_OK:
            break  # the first counterexample is the one printed (and written)
    return status


def _check_one(args: argparse.Namespace, algorithm: str, n: int, ids, faults,
               max_rounds: int) -> int:
    fault_text = (f"faults {','.join(faults)} (at most {args.max_faults} per execution)"
                  if faults and args.max_faults else "fault-free")
    layout = (f"IDs {list(ids)} (relabelled by rank)" if ids is not None
              else "every ID arrangement" + (" up to rotation" if args.symmetry else ""))
    print(f"ringemu check: {n} nodes, {layout}, {fault_text}, at most {max_rounds} "
          f"election rounds, {'patient' if args.patient else 'eager'} harness, "
          f"election {algorithm}"
          + (f", MUTATION {args.mutation}" if args.mutation else ""))
    result = explore(n, ids=ids, faults=faults, max_faults=args.max_faults,
                     max_rounds=max_rounds, announce=args.announce, mutation=args.mutation,
                     patient=args.patient, symmetry=args.symmetry, compact=args.compact,
                     por=args.por, max_states=args.max_states, algorithm=algorithm,
                     progress=lambda line: print(f"  ... {line}", file=sys.stderr, flush=True))
    for line in trace.summary(result):
        print(line)
    if result.violation is not None:
        for line in trace.render(result):
            print(line)
        if args.trace is not None:
            count = write_trace(args.trace, trace.records(result))
            print(f"trace: {count} records written to {args.trace}")
        if args.view is not None:
            _write_counterexample_view(result, args.view)
        return EXIT_VIOLATION
    checked = ", ".join(INVARIANTS_CHECKED)
    if result.liveness_checked and result.complete:
        checked += "; every execution reaches one token, one leader"
    if not result.complete:
        print(f"no violation in the first {result.states} states (--max-states reached: "
              f"the search is INCOMPLETE)")
    else:
        print(f"no violation ({checked})")
    if args.trace is not None:
        open(args.trace, "w", encoding="utf-8").close()
        print(f"trace: no counterexample, {args.trace} left empty")
    if args.view is not None:
        print(f"view: no counterexample, so no page ({args.view} not written)")
    return EXIT_OK


def _write_counterexample_view(result, path: str) -> None:
    """The shortest counterexample as a page; its verdict is the explorer's (the
    trace's clock is the step number, so the run checker's timings do not apply)."""
    found = result.violation
    verdict = {"source": "ringemu check", "complete": True,
               "checked": list(INVARIANTS_CHECKED),
               "note": "time is the step number x 1 µs: the explorer has no clock",
               "violations": [{"invariant": found.invariant,
                               "t_ns": len(result.trace) * 1000, "detail": found.detail}]}
    write_view(trace.records(result), path,
               f"ringemu check: counterexample ({found.invariant})", verdict=verdict)
    print(f"view: {path}  (open it in a browser)")


def _any_ids(text: str) -> tuple[int, ...]:
    """IDs for the duplicate-ids mutation: natural numbers, repeats allowed."""
    try:
        ids = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(f"--ids {text!r} is not a comma-separated list of integers") from None
    if any(i < 1 for i in ids):
        raise ConfigError(f"--ids {text!r}: IDs are natural numbers >= 1")
    return ids


__all__ = ["register", "check_command", "EXIT_BAD_INPUT"]
