"""Chaos campaigns: trials of scenarios on fresh rings, checked and stored.

A trial is one fresh ring: start, bootstrap, inject the scenario's fault, let
the pipeline recover, let the token settle into laps, take a final snapshot,
stop and reap everything, measure hygiene, and run the checker over the whole
history. Each trial's trace and result reach the run store as the trial ends,
so an interrupted campaign keeps everything already done.

Trial ``i`` of a campaign seeded ``S`` uses seed ``S + i``; ``--seed S+i
--trials 1`` replays its fault schedule.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import random
import statistics
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from typing import Callable, TextIO

import psutil

from .. import invariants
from ..cluster import Cluster
from ..config import RingConfig
from .scenarios import Scenario, ScenarioError, Trial
from ..history import History
from ..recovery import Orchestrator

RECOVERY_DEADLINE_MS = 10_000.0
# A large ring with a hold laps slowly (1024 nodes x 2 ms: over 2 s), and the
# pipeline waits 4 laps of silence before it suspects a loss: the liveness deadline
# is then this many laps, each of N x (hold + an allowance per hop), if that is longer.
DEADLINE_LAPS = 12
HOP_ALLOWANCE_MS = 0.5


def recovery_deadline_ms(ring: RingConfig) -> float:
    lap_ms = ring.nodes * (ring.hold_ns / 1e6 + HOP_ALLOWANCE_MS)
    return max(RECOVERY_DEADLINE_MS, DEADLINE_LAPS * lap_ms)


@dataclass
class CampaignConfig:
    scenarios: list[Scenario]
    ring: RingConfig
    trials: int = 3
    seed: int = 1
    arrangement: str = "random"
    candidates: int | None = None
    runs_dir: str = "runs"
    recovery_deadline_ms: float | None = None  # None: recovery_deadline_ms(ring)

    def __post_init__(self) -> None:
        if self.recovery_deadline_ms is None:
            self.recovery_deadline_ms = recovery_deadline_ms(self.ring)

    def as_dict(self) -> dict:
        return {"scenarios": [s.name for s in self.scenarios], "nodes": self.ring.nodes,
                "ids": list(self.ring.ids), "arrangement": self.arrangement,
                "trials": self.trials, "seed": self.seed, "candidates": self.candidates,
                "hold_ms": self.ring.hold_ns / 1e6, "fencing": self.ring.fencing,
                "announce": self.ring.announce, "start_method": self.ring.start_method,
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
    detect_ms: float | None = None
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


class RunStore:
    """``<runs_dir>/<timestamp>-<scenario>/``: one trace per trial, results as JSON lines."""

    def __init__(self, runs_dir: str, stamp: str) -> None:
        self.runs_dir = runs_dir
        self.stamp = stamp
        self._results: dict[str, TextIO] = {}

    def directory(self, scenario: str) -> str:
        path = os.path.join(self.runs_dir, f"{self.stamp}-{scenario}")
        os.makedirs(path, exist_ok=True)
        return path

    def trace_path(self, scenario: str, trial: int) -> str:
        return os.path.join(self.directory(scenario), f"trial-{trial}.jsonl")

    def add(self, result: TrialResult) -> None:
        if result.traceback:
            result.error_log = os.path.join(self.directory(result.scenario), "errors.log")
            with open(result.error_log, "a", encoding="utf-8") as log:
                log.write(f"--- trial {result.trial} (seed {result.seed})\n{result.traceback}\n")
        if result.scenario not in self._results:
            path = os.path.join(self.directory(result.scenario), "results.jsonl")
            self._results[result.scenario] = open(path, "a", encoding="utf-8")
        handle = self._results[result.scenario]
        handle.write(json.dumps(result.as_dict()) + "\n")
        handle.flush()

    def close(self) -> None:
        for handle in self._results.values():
            handle.close()
        self._results = {}


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
    return " ".join(parts)


def _ensure_start_method_helpers(method: str) -> None:
    # The fork server and the resource tracker keep descriptors for the whole
    # session: start them before the first trial counts, or they look like its leak.
    if method in ("spawn", "forkserver"):
        from multiprocessing import resource_tracker  # spawn's first child starts it
        resource_tracker.ensure_running()
    if method == "forkserver":
        from multiprocessing import forkserver
        forkserver.ensure_running()
    multiprocessing.get_context(method)


def _infrastructure_pids() -> set[int]:
    pids = set()
    from multiprocessing import forkserver, resource_tracker
    for pid in (getattr(forkserver._forkserver, "_forkserver_pid", None),
                getattr(resource_tracker._resource_tracker, "_pid", None)):
        if pid:
            pids.add(pid)
    return pids


def play(trial: Trial, scenario: Scenario) -> None:
    """The script of every trial: start, bootstrap, the fault, a settled lap after
    it, a final snapshot, and the ``trial_end`` record the checker judges by."""
    cluster, orchestrator = trial.cluster, trial.orchestrator
    cluster.start()
    orchestrator.recover("bootstrap")
    scenario.run(trial)
    trial.hops(len(cluster.active_positions()))
    final = orchestrator.snapshot()
    cluster.note(final.sid.initiator, "trial_end",
                 active_positions=cluster.active_positions(),
                 final_epoch=orchestrator.epoch)


def run_trial(config: CampaignConfig, scenario: Scenario, trial_no: int,
              trace_path: str | None) -> TrialResult:
    seed = config.seed + trial_no
    result = TrialResult(scenario.name, trial_no, seed, config.ring.nodes, trace=trace_path,
                         replay=replay_command(config, scenario.name, seed))
    me = psutil.Process()
    fds_before = me.num_fds()
    history = History(trace_path)
    cluster = Cluster(config.ring, sink=history)
    orchestrator = Orchestrator(cluster, history, seed=seed, candidates=config.candidates)
    trial = Trial(cluster, history, orchestrator, random.Random(seed))
    try:
        play(trial, scenario)
    except ScenarioError as stuck:
        result.error = str(stuck)
    except Exception as unexpected:  # a bug, not a fault: keep going, keep the traceback
        result.error = f"unexpected {type(unexpected).__name__}: {unexpected}"
        result.traceback = traceback.format_exc()
    finally:
        cluster.stop()
    infrastructure = _infrastructure_pids()
    children = [c for c in me.children(recursive=True) if c.pid not in infrastructure]
    zombies = [c.pid for c in children if _is_zombie(c)]
    cluster.note(0, "hygiene", leftover_pids=[c.pid for c in children], zombies=zombies,
                 fds_before=fds_before, fds_after=me.num_fds() - (1 if trace_path else 0))
    history.close()
    _summarise(result, history, orchestrator, config)
    return result


def _is_zombie(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _summarise(result: TrialResult, history: History, orchestrator: Orchestrator,
               config: CampaignConfig) -> None:
    records = history.records
    faults = [r for r in records if r["kind"] == "fault"]
    result.faults = len(faults)
    after = [r for r in orchestrator.recoveries if r.cause != "bootstrap"]
    if after:
        result.snapshot_tokens = after[0].snapshot_tokens
        result.rounds = [n for r in after for n in r.rounds]
        with_leader = [r for r in after if r.leader_id is not None]
        if with_leader:
            result.leader_id = with_leader[-1].leader_id
            result.expected_leader_id = with_leader[-1].expected_leader_id
        result.election_messages = sum(r.election_messages for r in after)
        result.detect_ms = after[0].detect_ms
        result.elect_ms = sum(r.election_ms for r in after)
        if faults:
            result.recover_ms = (after[-1].ended_ns - faults[0]["t_ns"]) / 1e6
    violations = invariants.check(records, nodes=config.ring.nodes,
                               recovery_deadline_ms=config.recovery_deadline_ms)
    result.violations = [f"{v.invariant}: {v.detail}" for v in violations]
    if result.error:
        result.violations.append(f"scenario: {result.error}")
    result.ok = not result.violations
    result.notes += _signal_notes(records)


def _signal_notes(records: list[dict]) -> list[str]:
    """What a SIGTERMed node did that a SIGKILLed one cannot."""
    notes = []
    for fault in (r for r in records if r["kind"] == "fault" and r["fault"] == "SIGTERM"):
        goodbye = next((r for r in records if r["kind"] == "node_stopping"
                        and r["pid"] == fault["pid"]), None)
        exited = next((r for r in records if r["kind"] == "node_exited"
                       and r["pid"] == fault["pid"]), None)
        handed = any(r["kind"] == "token_passed" and r.get("handover")
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
    _ensure_start_method_helpers(config.ring.start_method)
    store = RunStore(config.runs_dir, time.strftime("%Y%m%d-%H%M%S"))
    progress = Progress(len(config.scenarios) * config.trials)
    results: list[TrialResult] = []
    try:
        for scenario in config.scenarios:
            for trial_no in range(config.trials):
                progress.show(f"{scenario.name} trial {trial_no}")
                result = run_trial(config, scenario, trial_no,
                                   store.trace_path(scenario.name, trial_no))
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
            "median_recover_ms": statistics.median(recover) if recover else None,
            "p95_recover_ms": _percentile(recover, 95) if recover else None,
        })
    return rows


def _percentile(sorted_values: list[float], percent: float) -> float:
    # Nearest rank: with a handful of trials, interpolation would invent values.
    rank = max(1, -(-len(sorted_values) * percent // 100))
    return sorted_values[int(rank) - 1]


def write_json_atomically(path: str, document: dict) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1)
    os.replace(temporary, path)
