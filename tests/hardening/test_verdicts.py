"""No wrong verdict: a node that dies on its own is a violation; a harness that was
itself stopped is not the protocol's fault; experiment files end like the scenarios
they imitate, and the replay line they print replays them."""
from __future__ import annotations

import json
import shlex
import time

import psutil
import pytest

from emulator.records import NODE_CRASHED, NODE_EXITED, RESTARTED
from harness.chaos.scenarios import SCENARIOS, Scenario
from harness.chaos.trial import run_trial
from harness.config import RingConfig
from harness.invariants import RECOVERY_DEADLINE_MS, check_liveness, check_unexpected_exit
from ringemu_cli import finish, ringemu, start, wait_for

pytestmark = pytest.mark.real


# --- unexpected_exit ---------------------------------------------------------------------


def _crash_node_1(trial) -> None:
    """A real crash: a command the node's protocol cannot handle raises inside it."""
    pid = trial.cluster.nodes[1].pid
    trial.hops(trial.nodes)
    trial.cluster.send(1, "not a command")
    trial.keep_alive_until(lambda: trial.cluster.nodes[1].running
                           and trial.cluster.nodes[1].pid != pid, what="the restart")
    trial.hops(2 * trial.nodes)


def test_a_node_that_crashes_and_is_restarted_is_a_violation_naming_its_error():
    """Given a node process that raises (no fault aimed at it), when the supervisor
    restarts it and the token goes on, then the trial is not ok: unexpected_exit,
    with the node's own error text."""
    crash = Scenario("crash", "a node raises", _crash_node_1)
    outcome = run_trial(RingConfig(ids=(3, 1, 2)), crash, seed=1)
    assert any(r["kind"] == RESTARTED and r["pos"] == 1 for r in outcome.records)
    crashed = [r for r in outcome.records if r["kind"] == NODE_CRASHED]
    assert len(crashed) == 1 and "ProtocolViolation" in crashed[0]["error"]
    exited = next(r for r in outcome.records if r["kind"] == NODE_EXITED
                  and r["pid"] == crashed[0]["pid"])
    assert exited["exitcode"] == 1
    assert not outcome.ok
    [violation] = [v for v in outcome.violations if v.startswith("unexpected_exit")]
    assert "node 1" in violation and "unknown input 'not a command'" in violation


def test_faults_and_the_harness_own_kills_are_not_unexpected():
    """kill-holder (a SIGKILL fault), terminate-holder (SIGTERM, exit 143) and
    restart-storm (the supervisor's bypass and the final stop) end cleanly."""
    for name in ("kill-holder", "terminate-holder", "restart-storm"):
        outcome = run_trial(RingConfig(ids=(4, 1, 3, 2)), SCENARIOS[name], seed=2)
        assert check_unexpected_exit(outcome.records) == [], name
        assert any(r["kind"] == NODE_EXITED and r["exitcode"] != 0 for r in outcome.records)


def test_the_unexpected_exit_rule_on_hand_made_histories():
    def exit_(pid, code, **extra):
        return {"t_ns": pid, "pos": 0, "id": 5, "pid": pid, "kind": NODE_EXITED,
                "exitcode": code, **extra}

    kill = {"t_ns": 0, "pos": 0, "id": 5, "pid": 10, "kind": "fault", "fault": "SIGKILL",
            "target_pos": 0, "signal": 9}
    assert check_unexpected_exit([kill, exit_(10, -9)]) == []
    assert check_unexpected_exit([exit_(11, -9, by_harness=True), exit_(12, 0)]) == []
    found = check_unexpected_exit([exit_(13, -9), exit_(14, 143), kill, exit_(10, 1)])
    assert [v.detail.split(" exited")[0] for v in found] == [
        "node 0 (id 5, pid 10)", "node 0 (id 5, pid 13)", "node 0 (id 5, pid 14)"]


def test_an_id_past_the_wire_format_is_refused_up_front(tmp_path):
    too_large = str(2**64)
    completed = ringemu("run", "--ids", f"1,{too_large},3", "--duration", "0")
    assert completed.returncode == 2 and "18446744073709551615" in completed.stderr
    experiment = tmp_path / "ids.json"
    experiment.write_text(json.dumps({"ids": [1, 2**64, 3], "faults": [
        {"at_ms": 1, "fault": "kill", "target": 0}]}))
    completed = ringemu("chaos", "--file", experiment, "--runs-dir", tmp_path)
    assert completed.returncode == 2 and "ids" in completed.stderr
    assert "Traceback" not in completed.stderr


# --- harness_stalled -----------------------------------------------------------------------


def _inside_a_ring(runs) -> bool:
    """The newest trial's trace shows its ring started and not yet stopping: the
    harness's watchdog runs (it starts before the nodes, stops after ring_stopping)."""
    traces = sorted(runs.glob("*/trial-*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not traces:
        return False
    text = traces[-1].read_text()
    return '"node_started"' in text and '"ring_stopping"' not in text


def test_a_stopped_harness_is_reported_as_stalled_not_as_a_liveness_violation(tmp_path):
    """Given a campaign whose harness is SIGSTOPped while a ring runs, for longer than
    the recovery deadline, then SIGCONTed: that trial is reported as harness_stalled,
    no liveness violation, exit status 5."""
    report, runs = tmp_path / "out.json", tmp_path / "runs"
    campaign = start("chaos", "--scenario", "pause-holder", "--nodes", "4", "--trials", "3",
                     "--runs-dir", runs, "--json", report)
    harness = psutil.Process(campaign.pid)
    try:
        for _attempt in range(3):  # the ring may end between the look and the stop
            wait_for(lambda: _inside_a_ring(runs) or campaign.poll() is not None,
                     what="a running ring")
            harness.suspend()
            if _inside_a_ring(runs):  # the trace cannot change while it is stopped
                break
            harness.resume()
        else:
            pytest.fail("never caught the harness inside a ring")
        time.sleep(RECOVERY_DEADLINE_MS / 1e3 + 1)  # the stall itself, not a wait
    finally:
        if harness.is_running() and harness.status() == psutil.STATUS_STOPPED:
            harness.resume()
    completed = finish(campaign)
    assert completed.returncode == 5, completed.stdout + completed.stderr
    trials = json.loads(report.read_text())["trials"]
    stalled = [t for t in trials if t["stalled"]]
    assert len(stalled) == 1 and "did not run for 1" in stalled[0]["stalled"][0]
    assert not any(t["violations"] for t in trials)
    assert "harness_stalled" in completed.stdout and "could not be judged" in completed.stdout
    assert "liveness" not in completed.stdout


def test_liveness_gives_no_verdict_across_a_stall_but_does_elsewhere():
    fault = {"t_ns": 1_000, "pos": 0, "id": 1, "pid": 9, "kind": "fault", "fault": "SIGKILL",
             "target_pos": 0, "signal": 9}
    end = {"t_ns": 60 * 10**9, "pos": 0, "id": 1, "pid": 9, "kind": "trial_end",
           "active_positions": [0, 1], "final_epoch": 2}
    stall = {"t_ns": 15 * 10**9, "pos": 0, "id": 1, "pid": 8, "kind": "harness_stalled",
             "since_ns": 2 * 10**9, "stalled_ms": 13_000.0}
    assert [v.invariant for v in check_liveness([fault, end], recovery_deadline_ms=10_000)
            ] == ["liveness"]
    assert check_liveness([fault, stall, end], recovery_deadline_ms=10_000) == []
    later = dict(stall, t_ns=50 * 10**9, since_ns=40 * 10**9)  # after the deadline passed
    assert [v.invariant for v in check_liveness([fault, later, end],
                                                recovery_deadline_ms=10_000)] == ["liveness"]


# --- experiment files ------------------------------------------------------------------------


def _experiment(tmp_path, name, faults, nodes=4):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "nodes": nodes, "seed": 3, "faults": faults}))
    return path


@pytest.mark.parametrize("faults", [
    [{"at_ms": 30, "fault": "inject_token", "target": 1}],
    [{"at_ms": 30, "fault": "inject_token", "target": 1},
     {"at_ms": 60, "fault": "snapshot"}],
], ids=["audit-added", "explicit-snapshot"])
def test_an_injected_token_ends_like_duplicate_token(tmp_path, faults):
    """Two tokens move, so no silence reveals the second: an audit snapshot counts
    2, a new epoch restores one, and the trial is ok (not a guaranteed violation)."""
    report = tmp_path / "out.json"
    completed = ringemu("chaos", "--file", _experiment(tmp_path, "inject", faults),
                        "--trials", "1", "--json", report, "--runs-dir", tmp_path / "runs")
    assert completed.returncode == 0, completed.stdout
    [trial] = json.loads(report.read_text())["trials"]
    assert trial["ok"] and trial["snapshot_tokens"] == 2 and trial["rounds"]


def test_the_replay_line_of_an_experiment_trial_replays_it(tmp_path):
    path = _experiment(tmp_path, "two-kills", [{"at_ms": 20, "fault": "kill",
                                               "target": "holder"},
                                              {"at_ms": 60, "fault": "kill", "target": 2}])
    first = tmp_path / "first.json"
    completed = ringemu("chaos", "--file", path, "--trials", "2", "--seed", "7", "--json",
                        first, "--runs-dir", tmp_path / "runs")
    assert completed.returncode in (0, 1), completed.stderr  # a verdict, whichever
    trial = json.loads(first.read_text())["trials"][1]
    assert trial["seed"] == 8
    replay = shlex.split(trial["replay"])
    assert replay[:2] == ["ringemu", "chaos"] and ["--file", str(path)] == replay[2:4]
    again = tmp_path / "again.json"
    completed = ringemu(*replay[1:], "--json", again, "--runs-dir", tmp_path / "runs")
    assert completed.returncode in (0, 1), completed.stderr
    [replayed] = json.loads(again.read_text())["trials"]
    assert (replayed["scenario"], replayed["seed"], replayed["faults"]) == (
        "two-kills", 8, trial["faults"])
