"""Election algorithms side by side: messages per all-candidate round, the bound
each algorithm's module proves next to the count, wall time, real ring = simulator.

For every algorithm and N = 8 ... 1024, two arrangements: a seeded random one and
IDs descending in the direction of travel (Chang–Roberts' worst case). The
simulator runs each round (``elect(quick=True)``: order-independent counts for
every algorithm but Hirschberg–Sinclair, whose count depends on the order and is
compared with its bound); a round whose exact count is known and above
``SIM_BUDGET`` messages (LeLann's n², Chang–Roberts descending at N = 1024) is
given by its formula instead, marked so. Real rings run the same round, every
node a candidate, at the smaller N: their counts (events, after the ring
stopped) must equal the simulator's, and their wall time is from the first
``candidate`` record to ``election_complete`` on the shared clock.
"""
from __future__ import annotations

import math
import time

from emulator.protocol.algorithms import ALGORITHMS, TITLES
from emulator.records import CANDIDATE, ELECTION_COMPLETE, NODE_STATS
from emulator.simulator import RingSimulator, arrangement

from ..config import RingConfig
from .rings import BenchError, BenchRing

ARRANGEMENTS = ("random", "descending")
SIM_BUDGET = 300_000  # messages: past this an exact formula stands in for the run


def lg_floor(n: int) -> int:
    return n.bit_length() - 1


def lg_ceil(n: int) -> int:
    return (n - 1).bit_length()


def formula(algorithm: str, kind: str, n: int) -> tuple[str, float, str]:
    """(formula text, its value, 'exact' | 'mean' | 'bound') for a whole round with
    every node a candidate, announcement included."""
    if algorithm == "cr":
        if kind == "descending":
            return "n(n+1)/2 + n", n * (n + 1) / 2 + n, "exact"
        if kind == "ascending":
            return "2n-1 + n", 3 * n - 1, "exact"
        harmonic = sum(1 / k for k in range(1, n + 1))
        return "n·H_n + n", n * harmonic + n, "mean"
    if algorithm == "lelann":
        return "n² + n", n * n + n, "exact"
    if algorithm == "hs":
        return "8n⌈lg n⌉ + 8n", 8 * n * lg_ceil(n) + 8 * n, "bound"
    if algorithm == "franklin":
        if kind in ("ascending", "descending"):
            return "4n + n", 5 * n, "exact"
        return "2n⌊lg n⌋ + 3n", 2 * n * lg_floor(n) + 3 * n, "bound"
    if algorithm == "peterson":
        if kind in ("ascending", "descending"):
            return "5n-1 + n", 6 * n - 1, "exact"
        return "2n⌊lg n⌋ + 4n - 1", 2 * n * lg_floor(n) + 4 * n - 1, "bound"
    raise ValueError(f"no formula for {algorithm!r}")


def simulate(algorithm: str, ids: list[int], seed: int) -> tuple[int, float]:
    """(messages, CPU ms) of one all-candidate round in the simulator."""
    sim = RingSimulator(ids, seed=seed, algorithm=algorithm, forwarding_events=False)
    started = time.process_time()
    outcome = sim.elect(range(len(ids)), quick=True, max_steps=10 * SIM_BUDGET)
    cpu_ms = (time.process_time() - started) * 1e3
    if outcome.leaders != (max(ids),):
        raise AssertionError(f"{algorithm}: simulator elected {outcome.leaders}")
    return outcome.messages, cpu_ms


def real_round(algorithm: str, ids: list[int], start_method: str, seed: int) -> dict:
    """One bootstrap round on a real ring, every node a candidate."""
    n = len(ids)
    config = RingConfig(ids=tuple(ids), hold_ns=0, start_method=start_method,
                        token_report_every=n, algorithm=algorithm)
    with BenchRing(config, candidates=n, seed=seed) as ring:
        recovery = ring.bootstrap()
    round_ = recovery.rounds[-1]
    records = [r for r in ring.history.records if r.get("round") == round_]
    first = min(r["t_ns"] for r in records if r["kind"] == CANDIDATE)
    complete = min(r["t_ns"] for r in records if r["kind"] == ELECTION_COMPLETE)
    # The nodes' own send counters (reported as they stop), for this one round.
    counters = sum(count for r in ring.history.of_kind(NODE_STATS)
                   for kind, count in r["sent"].items() if kind not in ("Token", "Marker"))
    return {"messages": ring.view.messages_sent.get(round_, 0), "counters": counters,
            "ms": (complete - first) / 1e6, "leader_id": recovery.leader_id,
            "rounds": len(recovery.rounds),
            "candidates_started": sum(r["kind"] == CANDIDATE for r in records)}


def measure(quick: bool, start_method: str, algorithms: list[str] | None = None) -> dict:
    names = algorithms or list(ALGORITHMS)
    if quick:
        sizes, real_sizes, real_kinds = (8, 16, 32, 64, 128), (8,), ("random",)
    else:
        sizes, real_sizes = (8, 16, 32, 64, 128, 256, 512, 1024), (8, 32, 128)
        real_kinds = ARRANGEMENTS
    rows = []
    for name in names:
        for n in sizes:
            for kind in ARRANGEMENTS:
                real = n in real_sizes and kind in real_kinds
                rows.append(_row(name, kind, n, real, start_method))
    real = [r for r in rows if r["real_messages"] is not None]
    failed = [r for r in rows if r.get("real_error")]
    return {"algorithms": {name: TITLES[name] for name in names}, "rows": rows,
            "sizes": list(sizes), "real_sizes": list(real_sizes),
            "real_agree": sum(bool(r["real_agrees"]) for r in real), "real_rows": len(real),
            "real_errors": [{"algorithm": r["algorithm"], "nodes": r["nodes"],
                             "arrangement": r["arrangement"], "error": r["real_error"]}
                            for r in failed],
            "within_bound": sum(r["within_formula"] for r in rows if r["kind"] == "bound"),
            "bound_rows": sum(r["kind"] == "bound" for r in rows)}


def _row(name: str, arrangement_kind: str, n: int, on_real_ring: bool,
         start_method: str) -> dict:
    seed = 1
    ids = arrangement(arrangement_kind, n, seed)
    text, value, kind = formula(name, arrangement_kind, n)
    if kind == "exact" and value > SIM_BUDGET:
        messages, cpu_ms, simulated = int(value), None, False
    else:
        messages, cpu_ms = simulate(name, ids, seed)
        simulated = True
    row = {"algorithm": name, "nodes": n, "arrangement": arrangement_kind,
           "messages": messages, "simulated": simulated, "sim_cpu_ms": cpu_ms,
           "per_node": messages / n, "per_node_log": messages / (n * math.log2(n)),
           "formula": text, "formula_value": value, "kind": kind,
           "within_formula": messages <= value + 1e-9 if kind == "bound"
           else (messages == value if kind == "exact" else None),
           "real_messages": None, "real_ms": None, "real_agrees": None}
    if on_real_ring:
        try:
            real = real_round(name, ids, start_method, seed)
        except BenchError as failed:  # a ring that could not bootstrap: say so, go on
            row["real_error"] = str(failed)
            return row
        agrees = (real["messages"] <= value if name == "hs" else real["messages"] == messages)
        row.update({"real_messages": real["messages"], "real_ms": real["ms"],
                    "real_candidates_started": real["candidates_started"],
                    "real_leader_id": real["leader_id"], "real_rounds": real["rounds"],
                    "real_counters": real["counters"],
                    "real_agrees": agrees and real["leader_id"] == max(ids)})
    return row
