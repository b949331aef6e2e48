"""``ringemu run``: one ring, bootstrapped and kept alive, then the tables."""
from __future__ import annotations

import sys
import time

from .cluster import Cluster
from .config import RingConfig
from .history import History, Narrator
from .recovery import Orchestrator
from .report import node_table, recovery_table

EXIT_INTERRUPTED = 130


def run_ring(config: RingConfig, *, duration_s: float, seed: int,
             candidates: int | None, trace_path: str | None) -> int:
    history = History(trace_path)
    history.subscribe(Narrator(sys.stderr, start_ns=time.monotonic_ns()))
    cluster = Cluster(config, sink=history)
    orchestrator = Orchestrator(cluster, history, seed=seed, candidates=candidates)
    sys.stderr.write(f"ringemu: {config.nodes} nodes, ids {list(config.ids)}, hold "
                     f"{config.hold_ns / 1e6:g} ms, start method {config.start_method}, "
                     f"fencing {'on' if config.fencing else 'off'}, announcement "
                     f"{'on' if config.announce else 'off'}\n")
    status = 0
    try:
        cluster.start()
        orchestrator.run(duration_s)
    except KeyboardInterrupt:
        sys.stderr.write("ringemu: interrupted; stopping the ring\n")
        status = EXIT_INTERRUPTED
    finally:
        cluster.stop()
        history.close()
    print(recovery_table(orchestrator.recoveries))
    print()
    print(node_table(cluster, history))
    if status == 0 and not all(r.ok for r in orchestrator.recoveries):
        status = 1
    return status
