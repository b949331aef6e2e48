"""``ringemu run``: one ring, bootstrapped and kept alive, then the tables."""
from __future__ import annotations

import argparse
import sys

from .. import invariants
from ..config import MAX_DURATION_S, RingConfig
from ..interrupts import Terminated, exit_status
from .options import add_ring_options, candidates, non_negative, ring_config
from ..report import node_table, recovery_table, verdict
from ..ring import Ring
from ..files import OutputError, check_output_path

EXIT_VIOLATION = 1
EXIT_INCONCLUSIVE = 5  # the harness itself was stalled: timing could not be judged



def register(commands) -> None:
    run = commands.add_parser(
        "run", help="start a ring, bootstrap the token, keep it circulating, report",
        description="Start a ring of node processes, bootstrap the token through the "
                    "recovery pipeline (snapshot finds none, election, the leader creates "
                    "it), keep it circulating for --duration seconds, recover from silence, "
                    "then print a table of every node. Narration goes to stderr.")
    add_ring_options(run)
    run.add_argument("--duration", type=non_negative("--duration", MAX_DURATION_S), default=3.0,
                     metavar="SECONDS", help="how long to keep the ring running after "
                                             "bootstrap (default 3)")
    run.add_argument("--trace", default=None, metavar="PATH",
                     help="write every event as a JSON line to PATH")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    config = ring_config(args)
    if args.trace is not None:
        check_output_path(args.trace, "--trace")
    return run_ring(config, duration_s=args.duration, seed=args.seed,
                    candidates=candidates(args, config.nodes), trace_path=args.trace)


def run_ring(config: RingConfig, *, duration_s: float, seed: int,
             candidates: int | None, trace_path: str | None) -> int:
    sys.stderr.write(f"ringemu: {config.nodes} nodes, ids {list(config.ids)}, hold "
                     f"{config.hold_ns / 1e6:g} ms, start method {config.start_method}, "
                     f"fencing {'on' if config.fencing else 'off'}, announcement "
                     f"{'on' if config.announce else 'off'}, election {config.algorithm}\n")
    status = 0
    ring = Ring(config, seed=seed, candidates=candidates, trace_path=trace_path,
                narrate=True)
    try:
        ring.start()
        ring.pipeline.run(duration_s)
    except (KeyboardInterrupt, Terminated) as interrupt:
        sys.stderr.write(f"ringemu: {type(interrupt).__name__}; the ring is stopped\n")
        status = exit_status(interrupt)
    finally:
        ring.stop()
    print(recovery_table(ring.pipeline.recoveries))
    print()
    print(node_table(ring.cluster, ring.history))
    violations = invariants.check(ring.records, nodes=config.nodes)
    print()
    print(verdict(violations))
    stalls = invariants.harness_stalls(ring.records)
    for stall in stalls:
        print(f"note: {invariants.describe_stall(stall)}")
    failed = violations or not all(r.ok for r in ring.pipeline.recoveries)
    if status == 0 and failed:
        # A recovery that failed while the harness itself was stopped is unjudged.
        status = EXIT_VIOLATION if violations or not stalls else EXIT_INCONCLUSIVE
    if ring.history.trace_error is not None and status in (0, EXIT_VIOLATION,
                                                             EXIT_INCONCLUSIVE):
        raise OutputError(f"{ring.history.trace_error} (the trace is incomplete; the "
                          "tables above are whole)")
    return status
