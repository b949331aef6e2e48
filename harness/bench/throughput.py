"""Campaign throughput: chaos trials per minute, next to a trial with no fault.

Each trial is ``harness.chaos.trial.run_trial`` exactly as ``ringemu chaos`` runs
it (fresh ring of 8, the chaos defaults: hold 2 ms, random IDs, a random subset
of candidates; bootstrap, the fault, recovery, a settled lap, a final snapshot,
stop and reap, hygiene, the invariant checker), without a trace file. The
reference is the same trial with a scenario that injects nothing: what a trial
costs before any fault.
"""
from __future__ import annotations

import time

from ..chaos.trial import run_trial
from ..config import RingConfig, arrange_ids
from ..chaos.campaign import summarise
from ..chaos.scenarios import SCENARIOS, Scenario
from .stats import Summary, ratio

NODES = 8
SCENARIO_NAMES = ("drop-token", "kill-holder")
NO_FAULT = Scenario("no-fault", "bootstrap, a lap and a snapshot: no fault", lambda trial: None)


def trials(scenario: Scenario, count: int, start_method: str, seed: int) -> list[dict]:
    ring = RingConfig(ids=arrange_ids(NODES, "random", seed), start_method=start_method)
    results = []
    for trial_no in range(count):
        started = time.perf_counter_ns()
        outcome = run_trial(ring, scenario, seed=seed + trial_no)
        result = summarise(outcome, trial_no, replay="", trace_path=None)
        results.append({"seconds": (time.perf_counter_ns() - started) / 1e9, "ok": result.ok,
                        "violations": result.violations, "recover_ms": result.recover_ms})
    return results


def measure(quick: bool, start_method: str) -> dict:
    count = 1 if quick else 8
    reference: list[dict] = []
    rows = []
    for index, name in enumerate(SCENARIO_NAMES):
        # The reference trials are spread between the scenarios: same noise.
        reference += trials(NO_FAULT, max(1, count // 2), start_method, seed=100 + index)
        runs = trials(SCENARIOS[name], count, start_method, seed=1)
        seconds = Summary.of(r["seconds"] for r in runs)
        rows.append({"scenario": name, "nodes": NODES, "trials": len(runs),
                     "ok": sum(r["ok"] for r in runs),
                     "violations": [v for r in runs for v in r["violations"]],
                     "trial_s": seconds.as_dict(), "per_minute": 60 / seconds.median,
                     "recover_ms": Summary.of(r["recover_ms"] for r in runs
                                              if r["recover_ms"] is not None).as_dict()
                     if any(r["recover_ms"] is not None for r in runs) else None})
    base = Summary.of(r["seconds"] for r in reference)
    for row in rows:
        row["vs_no_fault"] = ratio(row["trial_s"]["median"], base.median)
    return {"rows": rows, "no_fault": {"trials": len(reference), "trial_s": base.as_dict(),
                                       "per_minute": 60 / base.median,
                                       "ok": sum(r["ok"] for r in reference)},
            "start_method": start_method}
