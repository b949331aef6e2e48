"""Chaos campaigns: every scenario, several trials each, checked and stored.

Each trial is ``trial.run_trial``: a fresh ring, bootstrap, the scenario's
faults, recovery, settled laps, a final snapshot, stop, hygiene and the whole
checker. The campaign summarises each trial for the tables and hands it to the
run store (store.py) as it ends, so an interrupted campaign keeps everything
already done.

Trial ``i`` of a campaign seeded ``S`` uses seed ``S + i``; ``--seed S+i
--trials 1`` replays its fault schedule.
"""
from __future__ import annotations

import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, TextIO

from emulator.records import FAULT, NODE_EXITED, NODE_STOPPING, TOKEN_PASSED

from ..config import RingConfig
from .scenarios import Scenario
from .store import RunStore
from ..invariants import RECOVERY_DEADLINE_MS
from .trial import TrialOutcome, run_trial


@dataclass
class CampaignConfig:
    scenarios: list[Scenario]
    ring: RingConfig
    trials: int = 3
    seed: int = 1
    arrangement: str = "random"
    candidates: int | None = None
    runs_dir: str = "runs"
    recovery_deadline_ms: float = RECOVERY_DEADLINE_MS

    def as_dict(self) -> dict:
        return {"scenarios": [s.name for s in self.scenarios], "nodes": self.ring.nodes,
                "ids": list(self.ring.ids), "arrangement": self.arrangement,
                "trials": self.trials, "seed": self.seed, "candidates": self.candidates,
                "hold_ms": self.ring.hold_ns / 1e6, "fencing": self.ring.fencing,
                "announce": self.ring.announce, "start_method": self.ring.start_method,
                "algorithm": self.ring.algorithm,
                "recovery_deadline_ms": self.recovery_deadline_ms}


@dataclass
class TrialResult:
    scenario: str
    trial: int
    seed: int
    nodes: int
    faults: int = 0
    snapshot_tokens: int | None = None
    rounds: list[int] = field(default_factory=list)
    leader_id: int | None = None
    expected_leader_id: int | None = None
    election_messages: int = 0
    cause: str | None = None        # what started the first recovery after the fault
    detect_ms: float | None = None
    false_alarms: int = 0           # silences the snapshot cleared: one snapshot each
    elect_ms: float | None = None
    recover_ms: float | None = None
    violations: list[str] = field(default_factory=list)
    ok: bool = False
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    trace: str | None = None
    replay: str = ""
    traceback: str | None = None  # an unexpected exception's, also in the run store's log
    error_log: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def replay_command(config: CampaignConfig, scenario: str, seed: int) -> str:
    parts = ["ringemu chaos", f"--scenario {scenario}", f"--seed {seed}", "--trials 1"]
    parts.append(f"--ids {','.join(map(str, config.ring.ids))}")
    if config.candidates is not None:
        parts.append(f"--candidates {config.candidates}")
    if config.ring.hold_ns != 2_000_000:
        parts.append(f"--hold-ms {config.ring.hold_ns / 1e6:g}")
    if not config.ring.fencing:
        parts.append("--no-fencing")
    if not config.ring.announce:
        parts.append("--no-announce")
    if config.ring.start_method != "fork":
        parts.append(f"--start-method {config.ring.start_method}")
    if config.ring.detector_floor_ms != 20.0:
        parts.append(f"--detector-floor-ms {config.ring.detector_floor_ms:g}")
    if config.ring.algorithm != "cr":
        parts.append(f"--algorithm {config.ring.algorithm}")
    return " ".join(parts)


def summarise(outcome: TrialOutcome, trial_no: int, replay: str,
              trace_path: str | None) -> TrialResult:
    """One trial's row: what the first recovery after the fault found and cost."""
    records = outcome.records
    result = TrialResult(outcome.scenario, trial_no, outcome.seed, outcome.config.nodes,
                         trace=trace_path, replay=replay, error=outcome.error,
                         traceback=outcome.traceback, violations=list(outcome.violations),
                         ok=outcome.ok)
    faults = [r for r in records if r["kind"] == FAULT]
    result.faults = len(faults)
    after = [r for r in outcome.recoveries if r.cause != "bootstrap"]
    if after:
        result.snapshot_tokens = after[0].snapshot_tokens
        result.rounds = [n for r in after for n in r.rounds]
        with_leader = [r for r in after if r.leader_id is not None]
        if with_leader:
            result.leader_id = with_leader[-1].leader_id
            result.expected_leader_id = with_leader[-1].expected_leader_id
        result.election_messages = sum(r.election_messages for r in after)
        result.cause = after[0].cause
        result.detect_ms = after[0].detect_ms
        result.elect_ms = sum(r.election_ms for r in after)
        if faults:
            result.recover_ms = (after[-1].ended_ns - faults[0]["t_ns"]) / 1e6
    result.false_alarms = sum(r.false_alarm for r in outcome.recoveries)
    result.notes += _signal_notes(records)
    return result


def _signal_notes(records: list[dict]) -> list[str]:
    """What a SIGTERMed node did that a SIGKILLed one cannot."""
    notes = []
    for fault in (r for r in records if r["kind"] == FAULT and r["fault"] == "SIGTERM"):
        goodbye = next((r for r in records if r["kind"] == NODE_STOPPING
                        and r["pid"] == fault["pid"]), None)
        exited = next((r for r in records if r["kind"] == NODE_EXITED
                       and r["pid"] == fault["pid"]), None)
        handed = any(r["kind"] == TOKEN_PASSED and r.get("handover")
                     and r["pid"] == fault["pid"] for r in records)
        if goodbye and exited:
            notes.append(
                f"SIGTERM: node {fault['pos']} ran its handler, "
                + ("handed the token on, " if handed else "")
                + f"reported its counters and said goodbye "
                f"{(exited['t_ns'] - goodbye['t_ns']) / 1e6:.1f} ms before exiting with "
                f"status {exited['exitcode']}; a SIGKILLed node exits with -9, says nothing "
                "and takes the token with it. The neighbours see the same EOF either way.")
    return notes


class Progress:
    """One self-overwriting line on stderr, only when stderr is a terminal."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()

    def show(self, label: str) -> None:
        if self.live:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r[{self.done}/{self.total}] {elapsed:5.1f}s {label:<40}")
            self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def run_campaign(config: CampaignConfig,
                 on_result: Callable[[TrialResult], None] = lambda result: None
                 ) -> list[TrialResult]:
    """Every scenario, ``trials`` times; results in order. Interrupts propagate
    after the finished trials reached the run store and ``on_result``."""
    store = RunStore.create(config.runs_dir, [s.name for s in config.scenarios])
    progress = Progress(len(config.scenarios) * config.trials)
    results: list[TrialResult] = []
    try:
        for scenario in config.scenarios:
            for trial_no in range(config.trials):
                progress.show(f"{scenario.name} trial {trial_no}")
                seed = config.seed + trial_no
                trace_path = store.trace_path(scenario.name, trial_no)
                outcome = run_trial(config.ring, scenario, seed=seed,
                                    candidates=config.candidates, trace_path=trace_path,
                                    recovery_deadline_ms=config.recovery_deadline_ms)
                if outcome.interrupted is not None:
                    raise outcome.interrupted  # this trial is unfinished: not stored
                result = summarise(outcome, trial_no,
                                   replay_command(config, scenario.name, seed), trace_path)
                store.add(result)
                results.append(result)
                on_result(result)
                progress.done += 1
    finally:
        progress.finish()
        store.close()
    return results


def summary(results: list[TrialResult]) -> list[dict]:
    rows = []
    for name in dict.fromkeys(r.scenario for r in results):
        mine = [r for r in results if r.scenario == name]
        recover = sorted(r.recover_ms for r in mine if r.recover_ms is not None)
        rows.append({
            "scenario": name, "trials": len(mine), "ok": sum(r.ok for r in mine),
            "violations": sum(not r.ok for r in mine),
            "false_alarms": sum(r.false_alarms for r in mine),
            "median_recover_ms": statistics.median(recover) if recover else None,
            "p95_recover_ms": _percentile(recover, 95) if recover else None,
        })
    return rows


def _percentile(sorted_values: list[float], percent: float) -> float:
    # Nearest rank: with a handful of trials, interpolation would invent values.
    rank = max(1, -(-len(sorted_values) * percent // 100))
    return sorted_values[int(rank) - 1]
