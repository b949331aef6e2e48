"""Claims about the Chandy–Lamport snapshot, checked in the simulator."""
import pickle
import random

import pytest

from emulator.protocol import DropToken, InjectToken, Marker, Token
from emulator.simulator import RingSimulator, SnapshotResult, TimerStep, arrangement


def ring_with_token(n: int, seed: int) -> RingSimulator:
    """Given a ring whose first election (round 1) created the token, which then moved a while."""
    rng = random.Random(seed)
    sim = RingSimulator(arrangement("random", n, seed), seed=seed)
    sim.elect(rng.sample(range(n), rng.randint(1, n)))
    sim.run(rng.randint(0, 4 * n))
    return sim


def test_given_a_new_ring_then_the_snapshot_finds_no_token():
    sim = RingSimulator([2, 1, 3])
    sid = sim.start_snapshot(1)
    assert not sim.snapshot_result(sid).complete
    sim.run_until_quiet()
    assert sim.snapshot_result(sid) == SnapshotResult(sid, tokens=0, epoch=0, complete=True)


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_given_a_moving_token_when_a_snapshot_runs_then_it_is_counted_once(n):
    moved_during_snapshot = 0
    for seed in range(60):
        sim = ring_with_token(n, seed)
        start = sim.steps
        sid = sim.start_snapshot(random.Random(seed).randrange(n))
        sim.run_until_quiet()  # timers fire: the token keeps moving
        assert sim.snapshot_result(sid) == SnapshotResult(sid, 1, 1, True), seed
        moved_during_snapshot += sum(1 for e in sim.events_of("token_received") if e.step > start)
    assert moved_during_snapshot > 0  # the cut really had a moving token to catch


def test_given_two_overlapping_snapshots_then_each_counts_the_token_once():
    for seed in range(40):
        sim = ring_with_token(5, seed)
        first = sim.start_snapshot(seed % 5)
        sim.run(random.Random(seed).randint(0, 6))
        second = sim.start_snapshot((seed + 2) % 5)
        sim.run_until_quiet()
        assert sim.snapshot_result(first).tokens == 1
        assert sim.snapshot_result(second).tokens == 1


def _signature(sim: RingSimulator, token_moves: int):
    """Everything a later step or the result can depend on (for deduplication)."""
    nodes = tuple(
        (tuple(node.token.held),
         tuple(sorted((tuple(sorted(r.recording)), tuple(r.local_tokens), tuple(r.channel_tokens))
                      for r in node.snapshot._active.values())))
        for node in sim.nodes)
    parts = tuple((e.pos, tuple(e.fields["tokens"])) for e in sim.events_of("snapshot_part"))
    return (tuple(tuple(ch) for ch in sim.channels.values()), tuple(sim.timers), nodes, parts,
            token_moves)


def every_order(sim: RingSimulator, token_budget: int):
    """Yield the end state of every delivery order until all markers are in,
    the token taking at most ``token_budget`` steps (timer fire or delivery)."""
    seen = set()
    stack = [(sim, 0)]
    while stack:
        state, moves = stack.pop()
        if not state.in_flight(Marker):
            yield state
            continue
        for index, step in enumerate(state.enabled()):
            token_step = isinstance(step, TimerStep) or isinstance(
                state.channels[(step.pos, step.side)][0], Token)
            if token_step and moves == token_budget:
                continue
            child = pickle.loads(pickle.dumps(state))  # cheaper than deepcopy
            child.step(index)
            key = _signature(child, moves + token_step)
            if key not in seen:
                seen.add(key)
                stack.append((child, moves + token_step))


@pytest.mark.parametrize("n, token_budget", [(2, 4), (3, 3)])
def test_given_every_delivery_order_then_the_snapshot_counts_the_token_once(n, token_budget):
    """Given the token at each of its 2n places (held at p, or in flight to p) when
    node 0 starts the snapshot (by rotation this covers every initiator), when
    every interleaving of markers with up to ``token_budget`` token steps runs,
    then every cut counts exactly one token."""
    orders = 0
    for phase in range(2 * n):
        sim = RingSimulator(list(range(1, n + 1)))
        sim.command(0, InjectToken())  # Token(0, 0) at node 0
        for _ in range(phase):
            sim.step(0)  # only the token can move: walk it to its phase
        sid = sim.start_snapshot(0)
        for end in every_order(sim, token_budget):
            assert end.snapshot_result(sid) == SnapshotResult(sid, 1, 0, True)
            orders += 1
    assert orders > 10 * n  # many distinct cuts were checked, not one


def test_given_the_token_lost_in_flight_then_the_snapshot_counts_zero():
    for seed in range(40):
        sim = ring_with_token(4, seed)
        while not sim.in_flight(Token):
            sim.step_random()
        assert sim.drop_in_flight(Token) == 1
        sid = sim.start_snapshot(seed % 4)
        sim.run_until_quiet()
        assert sim.snapshot_result(sid) == SnapshotResult(sid, 0, 1, True)


def test_given_the_holder_drops_the_token_then_the_snapshot_counts_zero():
    sim = RingSimulator([3, 1, 4, 2], seed=7)
    leader = sim.ids.index(sim.elect(range(4)).leader_id)
    sim.command(leader, DropToken())
    assert sim.tokens() == 0 and sim.events_of("token_dropped", epoch=1)
    sid = sim.start_snapshot(0)
    sim.run_until_quiet()
    assert sim.snapshot_result(sid).tokens == 0


def test_given_an_injected_duplicate_then_the_snapshot_counts_two():
    for seed in range(40):
        sim = ring_with_token(5, seed)
        sim.command(random.Random(seed).randrange(5), InjectToken())
        sim.run(seed % 7)
        sid = sim.start_snapshot((seed * 3) % 5)
        sim.run_until_quiet()
        assert sim.snapshot_result(sid) == SnapshotResult(sid, 2, 1, True), seed
