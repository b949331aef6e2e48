"""Quick foundation numbers: start cost per start method, bootstrap time, hop latency.

Run: .venv/bin/python scripts/measure_foundation.py   (the full suite is issue 4's `make bench`)
"""
from __future__ import annotations

import statistics
import time

from emulator.records import NODE_STARTED, TOKEN_RECEIVED
from harness.config import RingConfig
from harness.ring import Ring


def one_ring(method: str, nodes: int = 8) -> dict:
    ring = Ring(RingConfig(ids=tuple(range(1, nodes + 1)), hold_ns=0, start_method=method),
                seed=1)
    cluster, history = ring.cluster, ring.history
    t0 = time.perf_counter()
    ring.start()
    started = time.perf_counter()
    cluster.wait_until(lambda: len(history.of_kind(NODE_STARTED)) == nodes, 30)
    all_up = time.perf_counter()
    recovery = ring.pipeline.recover("bootstrap")
    booted = time.perf_counter()
    mark = len(history.records)
    hops_seen = []
    history.subscribe(lambda r: r["kind"] == TOKEN_RECEIVED and hops_seen.append(1))
    cluster.wait_until(lambda: len(hops_seen) >= 4000, 30)
    hops = [r["t_ns"] for r in history.records[mark:] if r["kind"] == TOKEN_RECEIVED]
    ring.stop()
    gaps = [(b - a) / 1e3 for a, b in zip(hops, hops[1:])]
    return {"start_per_node_ms": (started - t0) * 1e3 / nodes,
            "all_started_ms": (all_up - t0) * 1e3,
            "bootstrap_ms": (booted - all_up) * 1e3, "recovery_total_ms": recovery.total_ms,
            "hop_us_median": statistics.median(gaps)}


if __name__ == "__main__":
    for method in ("fork", "forkserver", "spawn"):
        runs = [one_ring(method) for _ in range(5)]
        summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(method, {k: round(v, 2) for k, v in summary.items()})
