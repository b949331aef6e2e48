"""``ringemu run``: one ring, bootstrapped and kept alive, then the tables."""
from __future__ import annotations

import argparse
import sys
import time

from ..cluster import Cluster
from ..config import RingConfig
from ..history import History, Narrator
from ..interrupts import Terminated, exit_status
from .options import add_ring_options, candidates, check_writable, non_negative, ring_config
from ..recovery import Orchestrator
from ..report import node_table, recovery_table



def register(commands) -> None:
    run = commands.add_parser(
        "run", help="start a ring, bootstrap the token, keep it circulating, report",
        description="Start a ring of node processes, bootstrap the token through the "
                    "recovery pipeline (snapshot finds none, election, the leader creates "
                    "it), keep it circulating for --duration seconds, recover from silence, "
                    "then print a table of every node. Narration goes to stderr.")
    add_ring_options(run)
    run.add_argument("--duration", type=non_negative("--duration"), default=3.0,
                     metavar="SECONDS", help="how long to keep the ring running after "
                                             "bootstrap (default 3)")
    run.add_argument("--trace", default=None, metavar="PATH",
                     help="write every event as a JSON line to PATH")
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    config = ring_config(args)
    if args.trace is not None:
        check_writable(args.trace, "--trace")
    return run_ring(config, duration_s=args.duration, seed=args.seed,
                    candidates=candidates(args, config.nodes), trace_path=args.trace)


def run_ring(config: RingConfig, *, duration_s: float, seed: int,
             candidates: int | None, trace_path: str | None) -> int:
    history = History(trace_path)
    history.subscribe(Narrator(sys.stderr, start_ns=time.monotonic_ns()))
    cluster = Cluster(config, sink=history)
    orchestrator = Orchestrator(cluster, history, seed=seed, candidates=candidates)
    sys.stderr.write(f"ringemu: {config.nodes} nodes, ids {list(config.ids)}, hold "
                     f"{config.hold_ns / 1e6:g} ms, start method {config.start_method}, "
                     f"fencing {'on' if config.fencing else 'off'}, announcement "
                     f"{'on' if config.announce else 'off'}, election {config.algorithm}\n")
    status = 0
    try:
        cluster.start()
        orchestrator.run(duration_s)
    except (KeyboardInterrupt, Terminated) as interrupt:
        sys.stderr.write(f"ringemu: {type(interrupt).__name__}; the ring is stopped\n")
        status = exit_status(interrupt)
    finally:
        cluster.stop()
        history.close()
    print(recovery_table(orchestrator.recoveries))
    print()
    print(node_table(cluster, history))
    if status == 0 and not all(r.ok for r in orchestrator.recoveries):
        status = 1
    return status
