"""Claims about the exhaustive explorer run on the real protocol code."""
from __future__ import annotations

import pytest

from emulator.explore import explore, model
from emulator.explore.search import strongly_connected
from emulator.protocol import ALGORITHMS, NodeProtocol, StartElection, Token


@pytest.mark.parametrize("n", [2, 3])
def test_given_a_fault_free_ring_then_every_execution_reaches_one_token_one_leader(n):
    result = explore(n)
    assert result.violation is None
    assert result.complete and result.liveness_checked
    assert result.goal_states > 0
    assert result.states > 10 * n


def test_given_crash_restart_and_drop_then_the_real_protocols_break_no_invariant():
    """The issue's 'done': ringemu check --nodes 3 --faults crash,restart,drop."""
    result = explore(3, faults=("crash", "restart", "drop"))
    assert result.violation is None and result.complete
    clean = explore(3)
    assert result.states > 2 * clean.states  # the faults really were injected


@pytest.mark.parametrize("faults", [("pause",), ("duplicate",)])
def test_given_pauses_or_duplicates_on_three_nodes_then_no_invariant_breaks(faults):
    result = explore(3, faults=faults)
    assert result.violation is None and result.complete


def test_given_one_arrangement_then_its_rotations_have_the_same_state_space():
    """Every field of a state is position-relative: rotating the IDs rotates the world.
    (Without partial-order reduction, whose choice of step follows position order.)"""
    counts = {explore(3, ids=ids, faults=("crash",), symmetry=False, por=False).states
              for ids in ([1, 2, 3], [2, 3, 1], [3, 1, 2])}
    assert len(counts) == 1


def test_given_symmetry_then_states_shrink_and_the_verdict_stays():
    # Drops, not crashes: the same 3x fold in 1 s instead of 17 (crashes are
    # explored folded by the tests below).
    folded = explore(3, faults=("drop",))
    unfolded = explore(3, faults=("drop",), symmetry=False)
    assert folded.violation is None and unfolded.violation is None
    assert unfolded.states > 2.5 * folded.states


def test_given_partial_order_reduction_then_fewer_states_same_verdicts():
    for kwargs in ({}, {"faults": ("crash", "restart")}):
        reduced, full = explore(3, **kwargs), explore(3, por=False, **kwargs)
        assert reduced.violation is None and full.violation is None
        assert reduced.states < full.states
    for mutation, faults in (("forward-own-id", ("restart",)), ("no-fencing", ("pause",))):
        reduced = explore(3, faults=faults, mutation=mutation)
        full = explore(3, faults=faults, mutation=mutation, por=False)
        assert reduced.violation.invariant == full.violation.invariant
        assert len(reduced.trace) >= len(full.trace)  # full BFS: the shortest


def test_given_hash_compaction_off_then_the_same_states_are_found():
    assert (explore(3, faults=("restart",), compact=False).states
            == explore(3, faults=("restart",)).states)


def test_given_a_bound_then_the_search_stops_and_says_it_is_incomplete():
    result = explore(3, faults=("crash",), max_states=500)
    assert not result.complete
    assert 500 <= result.states < 1500


def test_the_encoding_covers_every_attribute_of_the_protocol_objects():
    """If a protocol class grows state, the explorer must learn it, not forget it."""
    assert model.unknown_attributes() == {}


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_given_a_protocol_tuple_then_building_and_encoding_round_trips(algorithm):
    cfg = model.Config(3, ((1, 2, 3),), algorithm=algorithm)
    node = NodeProtocol(2, epoch=3, algorithm=algorithm)
    node.token.held = [Token(3, 0), Token(2, 0)]
    node.token.right_up = False
    node.election.round = 3
    node.handle(StartElection(4))  # a candidate of round 4, with its algorithm's state
    encoded = model.encode_protocol(node, keep_hops=False)
    assert model.encode_protocol(model.build_protocol(cfg, 2, encoded), False) == encoded


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_given_a_state_then_every_rotation_has_the_same_canonical_form(algorithm):
    cfg = model.Config(3, ((1, 2, 3),), algorithm=algorithm)
    state = model.initial_state(cfg, (3, 1, 2))
    state = model.successor(cfg, state, ("elect", (0, 2))).state()
    forms = {model.canonical(model.rotate(state, k))[0] for k in range(3)}
    assert len(forms) == 1


def test_strongly_connected_components_find_the_cycle_and_only_it():
    edges = [[1], [2], [1, 3], []]
    components = sorted(sorted(c) for c in strongly_connected(edges))
    assert components == [[0], [1, 2], [3]]


def test_given_bad_configurations_then_they_are_refused():
    with pytest.raises(ValueError, match="repeats an ID"):
        model.Config(3, ((1, 1, 2),))
    with pytest.raises(ValueError, match="unknown fault"):
        model.Config(3, ((1, 2, 3),), faults=("meteor",))
