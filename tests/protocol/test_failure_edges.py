"""Edges that only failure reaches: a restarted node re-started mid-round, and a
snapshot whose markers will never come."""
from __future__ import annotations

from emulator.protocol import Marker, NodeProtocol, Received, Side, SnapshotId, StartElection
from emulator.simulator import RingSimulator


def test_a_node_restarted_and_restarted_mid_round_cannot_make_a_second_leader():
    """Given IDs [2, 3, 1] where node 0 (id 2) alone won round 1, when node 1 (id 3)
    is restarted and then told to start round 1 again, then the leader swallows
    its larger ID and round 1 still has exactly one leader."""
    sim = RingSimulator([2, 3, 1], seed=1)
    sim.elect([0])
    sim.restart(1)
    sim.command(1, StartElection(1))
    sim.run_until_quiet(timers=False)
    leaders = {e.node_id for e in sim.events_of("leader", round=1)}
    assert leaders == {2}
    assert sim.events_of("candidate_swallowed", round=1, candidate_id=3)


def test_a_recording_that_can_never_complete_is_given_up_not_kept_forever():
    """Given a node that got one marker each for 40 snapshots whose second marker
    never comes, then at most 16 recordings stay open and the rest are reported
    abandoned."""
    node = NodeProtocol(7)
    abandoned = []
    for counter in range(40):
        outputs = node.handle(Received(Side.LEFT, Marker(SnapshotId(0, counter))))
        abandoned += [o for o in outputs if getattr(o, "kind", "") == "snapshot_abandoned"]
    assert len(node.snapshot.in_progress()) == 16
    assert len(abandoned) == 40 - 16


def test_a_pass_that_the_kernel_refused_gives_the_token_back():
    """Given a holder whose pass failed with EPIPE (the right link broke under it),
    then it holds the token again, and passes it as soon as a new link is up."""
    from emulator.protocol import LinkDown, LinkUp, SendFailed, TimerFired, Token

    node = NodeProtocol(4, epoch=3, hold_ns=0)
    node.handle(Received(Side.LEFT, Token(3, 9)))
    sent = [o for o in node.handle(TimerFired("hold")) if type(o).__name__ == "Send"]
    assert sent[0].message == Token(3, 10) and not node.token.held
    node.handle(LinkDown(Side.RIGHT))
    returned = node.handle(SendFailed(Side.RIGHT, Token(3, 10)))
    assert [o.kind for o in returned if hasattr(o, "kind")] == ["token_returned"]
    assert node.token.held == [Token(3, 9)]
    outputs = node.handle(LinkUp(Side.RIGHT))
    assert any(type(o).__name__ == "SetTimer" for o in outputs)
    resent = [o for o in node.handle(TimerFired("hold")) if type(o).__name__ == "Send"]
    assert resent[0].message == Token(3, 10)


def test_an_id_whose_sender_left_the_ring_passes_each_node_at_most_once():
    """Given node 0 (the largest ID) sent its candidate ID and was then spliced out
    (bypassed while paused), when the ID goes round the remaining nodes, then the
    first node it reaches a second time drops it: no message circulates forever."""
    from emulator.protocol import Candidate, Received, Side

    survivors = [NodeProtocol(node_id) for node_id in (3, 5, 2)]  # ring without id 9
    message = Candidate(1, 9)
    hops = 0
    kinds = []
    for _ in range(3 * len(survivors)):
        node = survivors[hops % len(survivors)]
        outputs = node.handle(Received(Side.LEFT, message))
        kinds.append([o.kind for o in outputs if hasattr(o, "kind")])
        hops += 1
        if not any(type(o).__name__ == "Send" for o in outputs):
            break
    assert hops == len(survivors) + 1
    assert kinds[-1] == ["candidate_dropped"]
