"""Claims about fencing, restarts, stale rounds and the regenerated token."""
import random

import pytest

from emulator.protocol import (
    Candidate, Elected, InjectToken, NodeProtocol, Received, Send, Side, StartElection, Token,
)
from emulator.simulator import RingSimulator, TimerStep, arrangement


def kinds(outputs):
    return [getattr(o, "kind", type(o).__name__) for o in outputs]


# --- fencing ----------------------------------------------------------------


@pytest.mark.parametrize("fencing", [True, False])
def test_given_a_node_that_saw_a_newer_epoch_when_an_old_token_arrives_then_it_is_fenced(fencing):
    sim = RingSimulator([1, 2, 3], epochs=[1, 2, 1], fencing=fencing)
    sim.command(0, InjectToken())           # Token(1, 0) at node 0, whose fence is 1
    sim.take(TimerStep(0, "hold"))          # passed right, to node 1 (fence 2)
    sim.run_until_quiet(timers=False)
    if fencing:
        assert sim.events_of("token_fenced", epoch=1, node_epoch=2)
        assert sim.tokens() == 0
    else:
        assert not sim.events_of("token_fenced")
        assert [e.pos for e in sim.events_of("token_received", epoch=1)] == [1]
        assert sim.nodes[1].token.held == [Token(1, 1)]


@pytest.mark.parametrize("fencing", [True, False])
def test_given_a_node_that_saw_a_newer_round_when_an_old_token_arrives_then_it_is_fenced(fencing):
    sim = RingSimulator([1, 2, 3], epochs=[1, 1, 1], fencing=fencing)
    sim.command(0, InjectToken())
    sim.take(TimerStep(0, "hold"))          # Token(1, 1) in flight to node 1
    sim.command(1, StartElection(2))        # node 1 sees round 2 first
    assert sim.nodes[1].epoch == 2 and sim.persisted[1] == 2
    sim.take(sim.enabled(timers=False)[0])  # the token is the only message in flight
    fenced = sim.events_of("token_fenced", epoch=1, node_epoch=2)
    assert bool(fenced) is fencing
    assert sim.nodes[1].token.held == ([] if fencing else [Token(1, 1)])


def test_given_a_holder_of_an_old_token_when_a_newer_round_passes_then_it_fences_what_it_holds():
    node = NodeProtocol(5, epoch=1)
    node.handle(InjectToken())
    outputs = node.handle(Received(Side.LEFT, Candidate(2, 9)))
    assert "token_fenced" in kinds(outputs) and node.token.held == []
    assert Send(Side.RIGHT, Candidate(2, 9)) in outputs


def test_given_fencing_off_when_a_second_round_runs_then_two_tokens_circulate():
    """Why fencing exists: without it the old token survives the new round."""
    sim = RingSimulator([2, 4, 1, 3], seed=1, fencing=False)
    sim.elect(range(4))
    sim.run(9)
    sim.elect([0, 2], timers=True)
    sim.run(50)
    assert sim.tokens(epoch=1) == 1 and sim.tokens(epoch=2) == 1


# --- the regenerated token ---------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_given_an_election_then_the_leader_holds_the_one_new_token_and_it_circulates(seed):
    n = 5
    sim = RingSimulator(arrangement("random", n, seed), seed=seed)
    outcome = sim.elect(range(n))
    leader = sim.ids.index(outcome.leader_id)
    assert sim.nodes[leader].token.held == [Token(outcome.round, 0)]
    assert sim.events_of("token_created", epoch=outcome.round)[0].pos == leader
    for _ in range(300):
        sim.step_random()
        assert sim.tokens() == 1
    received = sim.events_of("token_received")
    assert len(received) > 2 * n
    # It travels rightwards, one hop per pass, starting at the leader's right.
    for hop, event in enumerate(received, start=1):
        assert event.fields == {"epoch": outcome.round, "hop": hop}
        assert event.pos == (leader + hop) % n


@pytest.mark.parametrize("seed", range(25))
def test_given_a_circulating_token_when_a_higher_round_elects_then_the_old_token_dies_within_one_hop(seed):
    rng = random.Random(seed)
    n = rng.randint(2, 7)
    sim = RingSimulator(arrangement("random", n, seed), seed=seed)
    sim.elect(range(n))
    sim.run(rng.randint(0, 3 * n))
    second = sim.elect(rng.sample(range(n), rng.randint(1, n)), timers=True)  # token keeps moving
    assert second.round == 2 and second.leader_id is not None
    sim.run(20 * n)
    history = list(enumerate(sim.events))  # the index orders events within a step
    # Once a node has seen round 2, it never accepts an epoch-1 token.
    fenced_at = {e.pos: i for i, e in history if e.kind == "persist_epoch" and e.fields["epoch"] == 2}
    assert len(fenced_at) == n
    for i, e in history:
        if e.kind == "token_received" and e.fields["epoch"] == 1:
            assert i < fenced_at[e.pos]
    assert len(sim.events_of("token_fenced", epoch=1)) == 1
    # Once every node has seen the round, the old token makes at most one more hop:
    # the one it may be making (in flight), which ends fenced. Nobody passes it on.
    everyone = max(fenced_at.values())
    assert not [e for i, e in history if i > everyone and e.kind == "token_passed"
                and e.fields["epoch"] == 1]
    assert sim.tokens(epoch=1) == 0 and sim.tokens() == 1


# --- restarts and stale rounds -------------------------------------------------


def test_given_a_restarted_candidate_when_its_own_id_comes_home_then_it_drops_it():
    """Given ids [3, 1, 2] all candidates, when node 0 (id 3) restarts before any
    delivery, then its old Candidate comes home to a waiting node and is dropped,
    no one leads, and the ring falls quiet (no message circulates forever)."""
    sim = RingSimulator([3, 1, 2], seed=4)
    for pos in range(3):
        sim.command(pos, StartElection(1))
    sim.restart(0)
    assert sim.nodes[0].epoch == 1 and sim.nodes[0].role == "waiting"
    sim.run_until_quiet(max_steps=100)
    assert sim.events_of("candidate_dropped", candidate_id=3)[0].pos == 0
    assert not sim.events_of("leader")
    assert sim.quiet() and sim.sent["Candidate"] <= 3 * 3


def test_given_a_fresh_node_with_a_persisted_epoch_when_its_own_ids_arrive_then_it_drops_them():
    node = NodeProtocol(5, epoch=2)
    assert kinds(node.handle(Received(Side.LEFT, Candidate(2, 5)))) == ["candidate_dropped"]
    assert kinds(node.handle(Received(Side.LEFT, Elected(2, 5)))) == ["elected_dropped"]
    assert node.role == "waiting" and node.election.round == 2


@pytest.mark.parametrize("message", [Candidate(2, 7), Elected(2, 7)], ids=["candidate", "elected"])
def test_given_a_node_in_round_3_when_a_round_2_message_arrives_then_it_is_dropped(message):
    node = NodeProtocol(5)
    node.handle(StartElection(3))
    outputs = node.handle(Received(Side.LEFT, message))
    assert kinds(outputs) == ["election_stale"]
    assert outputs[0].fields["message"] == type(message).__name__
    assert node.role == "candidate" and node.election.round == 3


def test_given_a_leader_of_round_1_when_round_2_arrives_then_it_is_waiting_again():
    sim = RingSimulator([1, 3, 2])
    sim.elect(range(3))
    leader = sim.nodes[1]
    assert leader.role == "leader"
    # A smaller id of a newer round is forwarded, not swallowed: the old win is void.
    outputs = leader.handle(Received(Side.LEFT, Candidate(2, 1)))
    assert Send(Side.RIGHT, Candidate(2, 1)) in outputs
    assert leader.role == "not_leader" and leader.election.leader_id is None
    # A follower of round 1 started for round 3 becomes a candidate again.
    follower = sim.nodes[0]
    follower.handle(StartElection(3))
    assert follower.role == "candidate" and follower.election.round == 3
