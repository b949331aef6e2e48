"""Claims about the Chang–Roberts election with rounds, checked in the simulator."""
import itertools
import random

import pytest

from emulator.protocol import Candidate, StartElection
from emulator.simulator import RingSimulator, arrangement

DELIVERY_SEEDS = (0, 1, 2)


def harmonic(n: int) -> float:
    return sum(1 / k for k in range(1, n + 1))


def arrangements(n: int):
    yield "ascending", arrangement("ascending", n)
    yield "descending", arrangement("descending", n)
    for seed in range(5):
        yield f"random-{seed}", arrangement("random", n, seed)


@pytest.mark.parametrize("n", range(2, 10))
def test_given_every_node_a_candidate_when_the_round_runs_then_the_largest_id_leads(n):
    for name, ids in arrangements(n):
        for seed in DELIVERY_SEEDS:
            sim = RingSimulator(ids, seed=seed)
            outcome = sim.elect(range(n))
            assert outcome.leaders == (n,), (name, ids, seed)
            leader_pos = ids.index(n)
            # Announce on: every follower knows the leader, and nothing is left in flight.
            for pos, node in enumerate(sim.nodes):
                assert node.role == ("leader" if pos == leader_pos else "not_leader")
                assert node.election.leader_id == n
            assert sim.events_of("election_complete", round=1, leader_id=n)
            assert not sim.in_flight()


@pytest.mark.parametrize("n", range(2, 7))
def test_given_any_subset_of_candidates_when_the_round_runs_then_their_largest_id_leads(n):
    ids = arrangement("random", n, seed=100 + n)
    for size in range(1, n + 1):
        for subset in itertools.combinations(range(n), size):
            for seed in DELIVERY_SEEDS[:2]:
                sim = RingSimulator(ids, seed=seed)
                outcome = sim.elect(subset)
                assert outcome.leader_id == max(ids[p] for p in subset), (ids, subset, seed)
                assert len(sim.events_of("leader")) == 1


def test_given_starts_interleaved_with_deliveries_then_the_largest_actual_candidate_leads():
    """Given the start reaches candidates at different moments, when a larger ID
    has already passed a chosen node, then that node stays out (DESIGN: it is no
    longer waiting) and the leader is the largest ID that did become candidate."""
    stayed_out = 0
    for seed in range(300):
        rng = random.Random(seed)
        n = rng.randint(2, 8)
        ids = arrangement("random", n, seed)
        sim = RingSimulator(ids, seed=seed)
        chosen = rng.sample(range(n), rng.randint(1, n))
        for pos in chosen:
            sim.command(pos, StartElection(1))
            sim.run(rng.randint(0, 3))
        outcome = sim.elect([], round_=1)
        actual = {e.node_id for e in sim.events_of("candidate", round=1)}
        assert outcome.leader_id == max(actual)
        stayed_out += len(chosen) - len(actual)
    assert stayed_out > 0  # the interleaving really exercised "stay out"


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 13])
@pytest.mark.parametrize("announce", [True, False])
def test_given_all_candidates_then_the_message_count_matches_the_arrangement(n, announce):
    """Given IDs descending along the direction of travel (rightwards), a round
    costs n(n+1)/2 Candidate messages; ascending, 2n-1; plus n Elected messages
    when announcing, none in bare mode -- in every delivery order."""
    for seed in DELIVERY_SEEDS:
        descending = RingSimulator(arrangement("descending", n), seed=seed, announce=announce)
        ascending = RingSimulator(arrangement("ascending", n), seed=seed, announce=announce)
        down, up = descending.elect(range(n)), ascending.elect(range(n))
        assert down.candidate_messages == n * (n + 1) // 2
        assert up.candidate_messages == 2 * n - 1
        assert down.elected_messages == up.elected_messages == (n if announce else 0)
        assert descending.sent["Candidate"] == down.candidate_messages  # nothing else sent one


def test_given_bare_mode_then_followers_only_learn_they_are_not_leader():
    ids = arrangement("random", 6, seed=3)
    sim = RingSimulator(ids, announce=False)
    outcome = sim.elect(range(6))
    assert outcome.leader_id == 6
    followers = [node for node in sim.nodes if node.node_id != 6]
    assert all(node.role == "not_leader" and node.election.leader_id is None
               for node in followers)
    assert not sim.events_of("elected")
    # The leader knows at once that its round is complete: nobody else will hear.
    assert sim.events_of("election_complete", round=1, leader_id=6)


def test_given_random_arrangements_then_the_average_cost_is_near_n_h_n():
    n, trials = 16, 200
    total = 0
    for seed in range(trials):
        sim = RingSimulator(arrangement("random", n, seed), seed=seed)
        total += sim.elect(range(n)).candidate_messages
    expected = n * harmonic(n)  # 54.09 for n = 16
    assert abs(total / trials - expected) <= 0.15 * expected
    # and strictly between the two extremes
    assert 2 * n - 1 < total / trials < n * (n + 1) / 2


def test_given_fifo_links_when_the_winner_wins_then_it_has_swallowed_every_other_id():
    """On FIFO links every smaller ID is ahead of the winner's own ID on every
    link it shares with it, so when the winner's ID comes home no Candidate
    message of the round is left in flight: all others were swallowed."""
    for seed in range(150):
        rng = random.Random(seed)
        n = rng.randint(2, 9)
        ids = arrangement("random", n, seed)
        subset = rng.sample(range(n), rng.randint(1, n))
        winner = max(subset, key=lambda p: ids[p])
        sim = RingSimulator(ids, seed=seed)
        for pos in subset:
            sim.command(pos, StartElection(1))
        sim.run_until_quiet(until=lambda s: s.nodes[winner].role == "leader")
        assert sim.nodes[winner].role == "leader"
        assert sim.in_flight(Candidate) == []
        assert len(sim.events_of("candidate_swallowed", round=1)) == len(subset) - 1


def test_given_the_same_round_twice_when_started_again_at_a_follower_then_it_stays_out():
    sim = RingSimulator([1, 3, 2])
    assert sim.elect(range(3)).leader_id == 3
    sim.command(0, StartElection(1))
    assert sim.nodes[0].role == "not_leader"
    assert sim.in_flight() == []
