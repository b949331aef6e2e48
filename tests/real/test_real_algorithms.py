"""Every election algorithm on a real ring: real processes, real pipes both ways.

Given a new ring of real node processes running algorithm A, when it bootstraps
with every node a candidate, then the largest ID leads and the round cost exactly
what the simulator counts for the same ring (every algorithm but HS, whose count
depends on the order of deliveries: within its bound); and a kill-holder chaos
trial recovers with every invariant the checker enforces holding.
"""
from __future__ import annotations

import pytest

from emulator.protocol import ALGORITHMS
from emulator.simulator import RingSimulator
from harness.chaos.campaign import CampaignConfig, replay_command, summarise
from harness.chaos.scenarios import SCENARIOS
from harness.chaos.trial import run_trial
from harness.config import RingConfig

pytestmark = pytest.mark.real

IDS = (3, 6, 1, 5, 2, 4)
HS_BOUND = 8 * 6 + 8 * 6 * 3  # 8n + 8n⌈lg n⌉


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_bootstrap_elects_the_largest_candidate_at_the_simulators_cost(make_ring, algorithm):
    ring = make_ring(ids=IDS, candidates=len(IDS), algorithm=algorithm)
    recovery = ring.pipeline.recover("bootstrap")
    assert recovery.ok and recovery.leader_id == max(IDS) == recovery.expected_leader_id
    round_ = recovery.rounds[-1]
    ring.stop()  # every node's reports read to the end before counting
    assert [r["id"] for r in ring.history.of_kind("leader")] == [max(IDS)]
    started = [r for r in ring.history.of_kind("candidate") if r["round"] == round_]
    assert len(started) == len(IDS)  # armed, then fired: every chosen node took part
    messages = ring.view.messages_sent[round_]
    simulated = RingSimulator(list(IDS), algorithm=algorithm).elect(range(len(IDS)))
    assert simulated.leader_id == max(IDS)
    if algorithm == "hs":
        assert len(IDS) * 4 < messages <= HS_BOUND
    else:
        assert messages == simulated.messages
    # The nodes' own send counters agree with the events.
    sent = sum(count for r in ring.history.of_kind("node_stats")
               for kind, count in r["sent"].items() if kind not in ("Token", "Marker"))
    assert sent == messages


@pytest.mark.parametrize("algorithm", [a for a in ALGORITHMS if a != "cr"])
def test_a_kill_holder_trial_recovers_and_the_checker_finds_nothing(tmp_path, algorithm):
    config = CampaignConfig([SCENARIOS["kill-holder"]],
                            RingConfig(ids=IDS[:5], algorithm=algorithm), seed=4)
    trace_path = str(tmp_path / "trial.jsonl")
    outcome = run_trial(config.ring, SCENARIOS["kill-holder"], seed=4, trace_path=trace_path)
    result = summarise(outcome, 0, replay_command(config, "kill-holder", 4), trace_path)
    assert result.error is None
    assert result.ok, result.violations
    assert result.snapshot_tokens == 0 and result.rounds[0] >= 2
    assert result.leader_id == result.expected_leader_id
    assert f"--algorithm {algorithm}" in result.replay
