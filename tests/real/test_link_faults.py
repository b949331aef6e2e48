"""Link faults on a real ring: each fault in the sending node's shim, judged by event order.

The token is held 20 ms at each node, so the harness can act while it is somewhere
known; every claim is about the order of recorded events (a marker before or after
a token on one link), never about how long something took.
"""
from __future__ import annotations

import pytest

from emulator.protocol import Side, SnapshotId, StartSnapshot
from emulator.runtime.link_shim import LinkFault

pytestmark = pytest.mark.real

IDS = (3, 1, 5, 2, 4)


def _is(kind, **fields):
    return lambda r: r["kind"] == kind and all(r.get(k) == v for k, v in fields.items())


def _bootstrapped(make_ring, hold_ms=20.0):
    ring = make_ring(ids=IDS, hold_ms=hold_ms, candidates=len(IDS))
    assert ring.pipeline.recover("bootstrap").ok
    return ring


def _index(ring, record):
    return next(i for i, r in enumerate(ring.history.records) if r is record)


def _snapshot_at(ring, pos, counter):
    """Start a snapshot at ``pos`` (not through the pipeline: these tests look at
    one link, not at what the pipeline decides)."""
    ring.cluster.send(pos, StartSnapshot(SnapshotId(pos, counter)))
    return [pos, counter]


def _token_then_snapshot(ring, fault, held_kind, counter):
    """Set ``fault`` on link 1 -> 2; once it holds a token (``held_kind`` at node 1),
    node 1 records a snapshot. The held record, the snapshot's id, and node 2's
    receipts of the marker from its left and of that token, as recorded."""
    ring.cluster.set_link_fault(1, Side.RIGHT, fault, seed=1)
    mark = ring.mark()
    held = ring.wait_for(_is(held_kind, pos=1, message="Token"), since=mark)
    sid = _snapshot_at(ring, 1, counter)
    marker = ring.wait_for(_is("marker_received", pos=2, side="left", sid=sid), since=mark)
    received = ring.wait_for(_is("token_received", pos=2, hop=held["hop"]), since=mark)
    return mark, held, sid, marker, received


def test_a_delayed_token_stays_ahead_of_the_marker_sent_after_it(make_ring):
    """Given a 300 ms delay on link 1 -> 2, when node 1 passes the token and then
    records a snapshot, then node 2 receives the token before the marker from its
    left (FIFO kept), counts it in the channel, and nothing is reported lost."""
    ring = _bootstrapped(make_ring)
    mark, delayed, sid, marker, received = _token_then_snapshot(
        ring, LinkFault(delay_ms=300), "message_delayed", 1001)
    assert _index(ring, received) < _index(ring, marker)
    part = ring.wait_for(_is("snapshot_part", pos=2, sid=sid), since=mark)
    assert part["in_channel"] == [delayed["epoch"]]
    assert not ring.history.of_kind("message_lost_by_link")


def test_a_lossy_link_loses_the_token_but_not_the_markers(make_ring):
    """Given loss p=1 of tokens only on link 1 -> 2, when the token reaches node 1,
    then it is lost by the link and never received by node 2, while a snapshot's
    markers cross the same link and the snapshot counts 0."""
    ring = _bootstrapped(make_ring)
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(loss=1.0, token_only=True), seed=1)
    mark = ring.mark()
    lost = ring.wait_for(_is("message_lost_by_link", pos=1, message="Token", cause="loss"),
                         since=mark)
    sid = _snapshot_at(ring, 0, 1002)
    parts = [ring.wait_for(_is("snapshot_part", pos=p, sid=sid), since=mark)
             for p in range(len(IDS))]
    assert sum(len(part["tokens"]) for part in parts) == 0
    assert not any(r["kind"] == "token_received" and r["hop"] == lost["hop"]
                   for r in ring.history.records[mark:])


def test_a_blackhole_swallows_everything_and_the_link_stays_open(make_ring):
    """Given a blackhole on link 1 -> 2, when a snapshot runs, then node 1's marker to
    node 2 is swallowed, node 2 never completes its part, and nobody sees EOF."""
    ring = _bootstrapped(make_ring)
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(blackhole=True), seed=1)
    mark = ring.mark()
    sid = _snapshot_at(ring, 0, 1003)
    ring.wait_for(_is("message_lost_by_link", pos=1, message="Marker", cause="blackhole"),
                  since=mark)
    ring.wait_for(_is("snapshot_part", pos=1, sid=sid), since=mark)  # 1 hears from 2
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(), seed=1)  # lifted: 2 still waits
    later = _snapshot_at(ring, 0, 1004)
    ring.wait_for(_is("snapshot_part", pos=2, sid=later), since=mark)
    assert not any(r["kind"] == "snapshot_part" and r["sid"] == sid and r["pos"] == 2
                   for r in ring.history.records[mark:])
    assert not any(r["kind"] == "link_down" for r in ring.history.records[mark:])


def test_a_duplicating_link_delivers_the_token_twice(make_ring):
    """Given duplicate p=1 of tokens on link 1 -> 2, when node 1 passes the token,
    then node 2 receives the same (epoch, hop) twice: a second token exists."""
    ring = _bootstrapped(make_ring)
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(duplicate=1.0, token_only=True),
                                seed=1)
    mark = ring.mark()
    twice = ring.wait_for(_is("message_duplicated", pos=1, message="Token"), since=mark)
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(), seed=1)
    first = ring.wait_for(_is("token_received", pos=2, hop=twice["hop"]), since=mark)
    ring.wait_for(_is("token_received", pos=2, hop=twice["hop"]),
                  since=_index(ring, first) + 1)


def test_a_reordering_link_lets_a_later_marker_overtake_the_token(make_ring):
    """Given reorder p=1 of tokens (held back 400 ms) on link 1 -> 2, when node 1
    passes the token and then records a snapshot, then node 2 gets the marker first
    and the token after it: FIFO is broken, and the cut misses the token."""
    ring = _bootstrapped(make_ring)
    mark, _, sid, marker, received = _token_then_snapshot(
        ring, LinkFault(reorder=1.0, reorder_ms=400, token_only=True), "message_reordered",
        1005)
    assert _index(ring, marker) < _index(ring, received)
    parts = [ring.wait_for(_is("snapshot_part", pos=p, sid=sid), since=mark)
             for p in range(len(IDS))]
    assert sum(len(part["tokens"]) for part in parts) == 0  # the token was alive


def test_a_cut_link_is_eof_at_both_ends_and_a_heal_wires_a_new_pipe(make_ring):
    """Given a circulating token, when link 1 -> 2 is cut, then node 1 severs it and
    node 2 reads EOF; the token waits at node 1 (blocked); after the heal both ends
    are rewired and the token crosses the healed link."""
    ring = _bootstrapped(make_ring)
    mark = ring.mark()
    link = ring.cluster.cut_link(1, Side.RIGHT)
    assert link == (1, 2) and ring.cluster.arcs() == [[2, 3, 4, 0, 1]]
    ring.wait_for(_is("link_severed", pos=1, side="right", one_way=False), since=mark)
    ring.wait_for(_is("link_down", pos=1, side="right", cause="cut"), since=mark)
    ring.wait_for(_is("link_down", pos=2, side="left", cause="eof"), since=mark)
    blocked = ring.wait_for(_is("token_blocked", pos=1), since=mark)
    ring.cluster.heal_link(*link)
    ring.wait_for(_is("rewired", pos=1, side="right"), since=mark)
    ring.wait_for(_is("rewired", pos=2, side="left"), since=mark)
    ring.wait_for(_is("token_received", pos=2, epoch=blocked["epoch"]),
                  since=_index(ring, blocked))


def test_a_one_way_cut_refuses_sends_and_leaves_the_other_direction(make_ring):
    """Given a one-way cut of 1 -> 2, then node 1 keeps the token (its link is down
    for it), node 2 sees no EOF, and markers still travel 2 -> 1."""
    ring = _bootstrapped(make_ring)
    mark = ring.mark()
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(cut_out=True), seed=1)
    ring.wait_for(_is("link_severed", pos=1, side="right", one_way=True), since=mark)
    ring.wait_for(_is("link_down", pos=1, side="right", cause="cut"), since=mark)
    ring.wait_for(_is("token_blocked", pos=1), since=mark)
    sid = _snapshot_at(ring, 3, 1006)
    ring.wait_for(_is("marker_received", pos=1, side="right", sid=sid), since=mark)
    assert not any(r["kind"] == "link_down" and r["pos"] == 2
                   for r in ring.history.records[mark:])
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(), seed=1)
    ring.wait_for(_is("link_restored", pos=1, side="right"), since=mark)
    ring.wait_for(_is("token_received", pos=2), since=mark)


def test_a_partition_splits_the_ring_into_arcs_and_heal_all_joins_them(make_ring):
    """Given a token, when the links after 0 and 2 are cut, then the ring is two arcs,
    a snapshot from arc [1, 2] never reaches arc [3, 4, 0]; after heal_all the token
    laps the whole ring again."""
    ring = _bootstrapped(make_ring)
    arcs = ring.cluster.partition([0, 2])
    assert sorted(arcs) == [[1, 2], [3, 4, 0]]
    for pos, side in ((1, "left"), (3, "left")):
        ring.wait_for(_is("link_down", pos=pos, side=side))
    mark = ring.mark()
    sid = _snapshot_at(ring, 1, 1007)
    ring.wait_for(_is("snapshot_part", pos=2, sid=sid), since=mark)
    assert not any(r["kind"] == "marker_received" and r["pos"] in (3, 4, 0)
                   and r["sid"] == sid for r in ring.history.records[mark:])
    ring.cluster.heal_all()
    assert not ring.cluster.cuts
    epoch = ring.pipeline.epoch
    healed = ring.mark()
    for pos in range(len(IDS)):
        ring.wait_for(_is("token_received", pos=pos, epoch=epoch), since=healed)


def test_a_restarted_node_gets_its_link_fault_back(make_ring):
    """A link fault is the network's, not the process's: when node 1 is restarted,
    the new process's shim gets the same fault (with the same seed)."""
    ring = _bootstrapped(make_ring)
    ring.cluster.set_link_fault(1, Side.RIGHT, LinkFault(delay_ms=5), seed=7)
    ring.wait_for(_is("link_fault_set", pos=1, seed=7))
    old_pid = ring.cluster.nodes[1].pid
    mark = ring.mark()
    ring.cluster.restart(1)
    found = ring.wait_for(_is("link_fault_set", pos=1, seed=7), since=mark)
    assert found["pid"] != old_pid and found["fault"] == {"delay_ms": 5}


def test_a_token_blocked_behind_a_cut_is_suspected_ever_less_eagerly(make_ring):
    """Given a token blocked behind a cut link, when the silence detector's
    suspicions keep ending in false alarms (the snapshot finds the one token), then
    each one doubles its suspicion timeout, up to 16x; once the link is healed and
    the token moves, the timeout is the detector's own again."""
    ring = _bootstrapped(make_ring, hold_ms=2.0)
    detector = ring.view.detector
    link = ring.cluster.cut_link(1, Side.RIGHT)
    ring.wait_for(_is("token_blocked", pos=1))
    seen = []

    def false_alarms() -> int:
        alarms = [r for r in ring.pipeline.recoveries if r.false_alarm]
        if len(alarms) > len(seen):
            seen.append(detector.backoff)  # right after each one
        return len(alarms)

    assert ring.pipeline.run_until(lambda: false_alarms() >= 6, 30)
    assert seen == [2, 4, 8, 16, 16, 16]
    assert detector.suspicion_timeout_s() == 16 * detector.timeout_s()
    ring.cluster.heal_link(*link)
    mark = ring.mark()
    assert ring.pipeline.run_until(lambda: any(
        r["kind"] == "token_received" for r in ring.history.records[mark:]), 30)
    assert detector.backoff == 1
