"""Invariant 8 on hand-made histories: a snapshot's cut is consistent only on FIFO links."""
from harness.invariants import check_consistent_snapshot

from tests.checker.test_checker import Trace

SID = [0, 1]


def snapshot_around_a_hop(order):
    """Node 1 passes the token (hop 5) to node 2 and a snapshot records both; ``order``
    says in which order node 1 passed/recorded and node 2 got the marker/the token."""
    trace = Trace().start()
    steps = {
        "pass": lambda: trace.at(1, "token_passed", epoch=1, hop=5),
        "record": lambda: trace.at(1, "marker_received", sid=SID, side="right", first=True),
        "marker": lambda: trace.at(2, "marker_received", sid=SID, side="left", first=True),
        "receive": lambda: trace.at(2, "token_received", epoch=1, hop=5),
    }
    for step in order:
        steps[step]()
    return trace.records


def test_fifo_orders_are_consistent():
    # Sent before the marker, received before it (held by 2 when it records) ...
    assert check_consistent_snapshot(snapshot_around_a_hop(
        ["pass", "record", "receive", "marker"])) == []
    # ... or sent after it and received after it.
    assert check_consistent_snapshot(snapshot_around_a_hop(
        ["record", "pass", "marker", "receive"])) == []


def test_a_marker_that_overtakes_the_token_is_caught():
    found = check_consistent_snapshot(snapshot_around_a_hop(
        ["pass", "record", "marker", "receive"]))
    assert [v.invariant for v in found] == ["consistent_snapshot"]
    assert "overtook the token" in found[0].detail and "(0, 1)" in found[0].detail


def test_a_token_that_overtakes_the_marker_is_caught():
    found = check_consistent_snapshot(snapshot_around_a_hop(
        ["record", "pass", "receive", "marker"]))
    assert [v.invariant for v in found] == ["consistent_snapshot"]
    assert "counts it twice" in found[0].detail


def test_no_verdict_across_a_rewiring():
    records = snapshot_around_a_hop(["pass", "record"])
    trace = Trace()
    trace.records, trace.t_ns = records, records[-1]["t_ns"]
    trace.at(2, "rewired", side="left")   # the marker may come on another socket
    trace.at(2, "marker_received", sid=SID, side="left", first=True)
    trace.at(2, "token_received", epoch=1, hop=5)
    assert check_consistent_snapshot(trace.records) == []
