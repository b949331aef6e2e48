"""The checker over every election algorithm's records: a simulated round's events,
as the harness would record them, pass; a message that laps the ring does not."""
from __future__ import annotations

import pytest

from emulator.protocol import ALGORITHMS, StartElection
from emulator.simulator import RingSimulator
from harness.invariants import check_termination


def _records(sim: RingSimulator) -> list[dict]:
    return [{"t_ns": e.step * 1000 + i, "pos": e.pos, "id": e.node_id, "pid": 100 + e.pos,
             "kind": e.kind, **e.fields} for i, e in enumerate(sim.events)]


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_a_round_of_any_algorithm_sends_no_message_round_the_ring_twice(algorithm):
    sim = RingSimulator([3, 7, 1, 6, 2, 5, 4], seed=2, algorithm=algorithm)
    sim.elect(range(7))
    assert check_termination(_records(sim), nodes=7) == []


def test_a_message_sent_more_often_than_there_are_nodes_is_a_termination_violation():
    sim = RingSimulator([3, 1, 2], algorithm="hs")
    sim.command(0, StartElection(1))
    sim.run_until_quiet(timers=False)
    records = _records(sim)
    sent = next(r for r in records if r["kind"] == "election_sent")
    lapping = records + [dict(sent, pos=p % 3) for p in range(3)]
    found = check_termination(lapping, nodes=3)
    assert len(found) == 1 and found[0].invariant == "termination"
    assert "was sent 4 times on a ring of 3 nodes" in found[0].detail
