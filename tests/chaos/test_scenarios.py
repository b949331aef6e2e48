"""Every built-in scenario on a real small ring: it runs, it recovers, the checker
finds nothing; and without fencing, pause-holder is caught."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.chaos.campaign import CampaignConfig, replay_command, summarise
from harness.chaos.trial import run_trial
from harness.config import RingConfig
from harness.chaos.scenarios import SCENARIOS
from harness.tracefile import read_trace

pytestmark = pytest.mark.real

IDS = (3, 6, 1, 5, 2)  # five nodes: every scenario's minimum, and still quick


def _trial(name: str, tmp_path, *, fencing: bool = True, seed: int = 4,
           start_method: str = "fork", trace: bool = True):
    """One trial as a campaign runs and summarises it (trial 0 of a campaign seeded S)."""
    trace_path = str(tmp_path / f"{name}.jsonl") if trace else None
    config = CampaignConfig([SCENARIOS[name]], RingConfig(ids=IDS, fencing=fencing,
                                                          start_method=start_method), seed=seed)
    outcome = run_trial(config.ring, SCENARIOS[name], seed=seed, trace_path=trace_path)
    return summarise(outcome, 0, replay_command(config, name, seed), trace_path)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_recovers_and_holds_every_invariant(name, tmp_path):
    result = _trial(name, tmp_path)
    assert result.error is None
    assert result.ok, result.violations
    assert result.faults >= 1
    trace = read_trace(str(tmp_path / f"{name}.jsonl"))
    assert trace[-1]["kind"] == "hygiene" and not trace[-1]["leftover_pids"]
    assert any(r["kind"] == "trial_end" for r in trace)


def test_losing_scenarios_count_zero_tokens_and_elect_a_new_epoch(tmp_path):
    for name in ("drop-token", "kill-holder", "kill-in-flight"):
        result = _trial(name, tmp_path)
        assert result.snapshot_tokens == 0, name
        assert result.rounds and result.rounds[0] >= 2, name
        assert result.leader_id == result.expected_leader_id, name


def test_a_duplicate_is_counted_two(tmp_path):
    result = _trial("duplicate-token", tmp_path)
    assert result.snapshot_tokens == 2 and result.rounds


def test_sigterm_hands_the_token_over_and_is_explained(tmp_path):
    result = _trial("terminate-holder", tmp_path)
    assert any("SIGTERM" in note and "143" in note for note in result.notes)
    trace = read_trace(str(tmp_path / "terminate-holder.jsonl"))
    assert any(r["kind"] == "node_stopping" and r["reason"] == "SIGTERM" for r in trace)


def test_the_supervisor_gives_up_past_the_restart_intensity(tmp_path):
    result = _trial("restart-storm", tmp_path)
    trace = read_trace(str(tmp_path / "restart-storm.jsonl"))
    gave_up = [r for r in trace if r["kind"] == "supervisor_gave_up"]
    assert len(gave_up) == 1 and result.ok
    unlucky = gave_up[0]["pos"]
    # Every death is bypassed at once while a replacement boots; the node given up on
    # is never rejoined and ends the trial outside the ring.
    after = [r for r in trace if r["t_ns"] >= gave_up[0]["t_ns"] and r["pos"] == unlucky]
    assert not any(r["kind"] in ("rejoined", "restarted") for r in after)
    end = next(r for r in trace if r["kind"] == "trial_end")
    assert unlucky not in end["active_positions"]


def test_without_fencing_pause_holder_is_a_violation_the_checker_names(tmp_path):
    result = _trial("pause-holder", tmp_path, fencing=False)
    assert not result.ok
    assert any(v.startswith("one_token") and "stale token" in v for v in result.violations)
    assert "--no-fencing" in result.replay


def test_the_cli_campaign_exits_1_on_a_violation_and_keeps_its_results(tmp_path):
    report = tmp_path / "chaos.json"
    runs = tmp_path / "runs"
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "chaos", "--scenario", "pause-holder",
         "--ids", "3,6,1,5,2", "--trials", "1", "--no-fencing", "--json", str(report),
         "--runs-dir", str(runs)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert completed.returncode == 1, completed.stderr
    assert "one_token" in completed.stdout and "replay: ringemu chaos" in completed.stdout
    document = json.loads(report.read_text())
    assert document["config"]["fencing"] is False
    trial = document["trials"][0]
    for key in ("scenario", "trial", "seed", "nodes", "faults", "snapshot_tokens", "rounds",
                "leader_id", "expected_leader_id", "election_messages", "detect_ms",
                "elect_ms", "recover_ms", "violations", "ok"):
        assert key in trial
    assert document["summary"][0]["violations"] == 1
    (store,) = runs.iterdir()
    assert (store / "trial-0.jsonl").exists()
    assert json.loads((store / "results.jsonl").read_text())["ok"] is False


def test_the_cli_campaign_exits_0_when_every_invariant_held(tmp_path):
    completed = subprocess.run(
        [sys.executable, "-m", "harness", "chaos", "--scenario", "drop-token", "kill-holder",
         "--nodes", "4", "--trials", "1", "--runs-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "median recover ms" in completed.stdout
    assert completed.stdout.count(" ok") >= 2


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_kill_holder_recovers_under_every_start_method(tmp_path, start_method):
    """Children that take a second to import are waited for, not taken for mute."""
    result = _trial("kill-holder", tmp_path, seed=2, start_method=start_method, trace=False)
    assert result.ok, result.violations
    assert result.snapshot_tokens == 0


def test_a_round_whose_candidate_died_is_abandoned_at_once_and_its_successor_follows(tmp_path):
    """Rounds end when their cause is known: the death of the largest candidate is
    named by the abandonment, and the next round starts after that death, not after a
    timeout."""
    for seed in (4, 5, 6):  # the kill may come after the round was won: try another
        result = _trial("kill-during-election", tmp_path, seed=seed)
        assert result.ok, result.violations
        trace = read_trace(str(tmp_path / "kill-during-election.jsonl"))
        abandoned = [r for r in trace if r["kind"] == "round_abandoned" and r.get("died")]
        if abandoned:
            break
    else:
        pytest.skip("in three trials the largest candidate died after its round was won")
    first = abandoned[0]
    death = next(r for r in trace if r["kind"] == "node_exited" and r["pos"] in first["died"])
    successor = next(r for r in trace if r["kind"] == "election_round"
                     and r["round"] > first["round"])
    assert death["t_ns"] <= first["t_ns"] <= successor["t_ns"]
    assert str(death["pos"]) in first["reason"] and "died" in first["reason"]
