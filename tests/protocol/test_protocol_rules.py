"""Claims about the protocols' guard rails and the simulator's wiring."""
import pytest

from emulator.protocol import (
    Candidate, Elected, Elector, InjectToken, LinkDown, LinkUp, Marker, NodeProtocol,
    ProtocolViolation, Side, SnapshotId, StartElection, TimerFired, Token,
    TokenKeeper,
)
from emulator.simulator import Delivery, RingSimulator, TimerStep

# --- ProtocolViolation: transitions the protocol forbids ----------------------


def test_given_a_waiting_elector_when_it_becomes_leader_then_protocol_violation():
    with pytest.raises(ProtocolViolation):
        Elector(3).become_leader()


def test_given_a_not_leader_elector_when_it_becomes_candidate_then_protocol_violation():
    elector = Elector(3)
    elector.become_not_leader()
    with pytest.raises(ProtocolViolation):
        elector.become_candidate()


def test_given_a_candidate_when_it_becomes_leader_then_it_leads():
    elector = Elector(3)
    elector.become_candidate()
    elector.become_leader()
    assert elector.status.value == "leader" and elector.leader_id == 3


def test_given_a_fence_when_a_token_below_it_is_created_then_protocol_violation():
    keeper = TokenKeeper(epoch=5, hold_ns=0)
    with pytest.raises(ProtocolViolation):
        keeper.create(4)
    assert keeper.held == []


def test_given_a_negative_hold_then_protocol_violation():
    with pytest.raises(ProtocolViolation):
        TokenKeeper(epoch=0, hold_ns=-1)


@pytest.mark.parametrize("event", [TimerFired("no-such-timer"), object()])
def test_given_an_unknown_input_then_protocol_violation(event):
    with pytest.raises(ProtocolViolation):
        NodeProtocol(1).handle(event)


# --- messages reject what is not a natural number ------------------------------


@pytest.mark.parametrize("build", [
    lambda: Token(-1, 0), lambda: Token(0, -1), lambda: Token(1.0, 0), lambda: Token(True, 0),
    lambda: Token("1", 0), lambda: SnapshotId(-1, 0), lambda: SnapshotId(0, None),
    lambda: Candidate(0, 1), lambda: Candidate(1, 0), lambda: Candidate(1, 2.5),
    lambda: Elected(0, 1), lambda: Elected(1, 0), lambda: Elected(1, False),
    lambda: StartElection(0), lambda: StartElection(-3),
])
def test_given_a_non_natural_field_when_a_message_is_built_then_value_error(build):
    with pytest.raises(ValueError):
        build()


def test_given_natural_fields_then_messages_build_and_are_immutable():
    token = Token(0, 0)
    assert token.passed() == Token(0, 1)
    assert Candidate(1, 1).node_id == 1 and Elected(2, 7).leader_id == 7
    with pytest.raises(AttributeError):
        token.epoch = 3  # frozen


# --- the simulator's wiring ---------------------------------------------------


def test_given_a_send_right_then_the_right_neighbour_receives_it_on_its_left():
    sim = RingSimulator([1, 2, 3])
    sim.command(2, InjectToken())
    assert sim.enabled() == [TimerStep(2, "hold")]
    sim.step(0)
    assert sim.enabled() == [Delivery(0, Side.LEFT)]  # 2 + 1 mod 3
    sim.step(0)
    assert sim.nodes[0].token.held == [Token(0, 1)]


def test_given_a_marker_sent_left_then_the_left_neighbour_receives_it_on_its_right():
    sim = RingSimulator([1, 2, 3, 4])
    sim.start_snapshot(0)
    assert sim.enabled() == [Delivery(1, Side.LEFT), Delivery(3, Side.RIGHT)]
    assert sim.sent["Marker"] == 2


def test_given_a_timer_set_twice_then_one_timer_is_pending():
    sim = RingSimulator([1, 2], hold_ns=5)
    sim.command(0, LinkDown(Side.RIGHT))
    sim.command(0, InjectToken())            # SetTimer("hold", 5)
    sim.command(0, LinkUp(Side.RIGHT))       # SetTimer("hold", 0) while that one pends
    assert sim.timers == {(0, "hold"): 0}
    sim.step(0)
    assert sim.enabled() == [Delivery(1, Side.LEFT)]  # one pass, not two


def test_given_a_seed_then_the_run_is_reproducible_and_other_seeds_differ():
    def history(seed):
        sim = RingSimulator([3, 1, 4, 2, 5], seed=seed)
        sim.elect(range(5), timers=True)
        sim.start_snapshot(2)
        sim.run(40)
        return [(e.step, e.pos, e.kind, e.fields) for e in sim.events]
    assert history(1) == history(1)
    assert len({str(history(seed)) for seed in range(5)}) > 1


def test_given_a_right_link_down_then_the_token_waits_and_goes_once_rewired():
    sim = RingSimulator([1, 2, 3])
    sim.command(0, LinkDown(Side.RIGHT))
    sim.command(0, InjectToken())
    sim.run(5)
    assert sim.events_of("token_blocked") and sim.in_flight() == [] and sim.timers == {}
    sim.command(0, LinkUp(Side.RIGHT))
    assert sim.enabled() == [TimerStep(0, "hold")]  # rewiring re-arms the hold timer
    sim.step(0)
    sim.step(0)
    assert [e.pos for e in sim.events_of("token_received")] == [1]


def test_given_a_message_that_never_dies_then_run_until_quiet_raises():
    sim = RingSimulator([1, 2])
    sim.channels[(1, Side.LEFT)].append(Marker(SnapshotId(0, 1)))
    sim.command(0, InjectToken())
    with pytest.raises(RuntimeError):
        sim.run_until_quiet(max_steps=0)
