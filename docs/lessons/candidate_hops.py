"""Lesson 7: how far each candidate's ID travelled in a recorded election.

A hop is one Candidate message sent: the candidate's own send, then one per node
that forwarded it. The last hop, into the node that swallows it (or home, to
the winner), counts: it is a message too.

    python candidate_hops.py TRACE.jsonl
"""
import sys
from collections import Counter

from emulator.records import CANDIDATE, CANDIDATE_FORWARDED, ELECTED
from harness.tracefile import read_trace

records = read_trace(sys.argv[1])
first_round = min(r["round"] for r in records if r["kind"] == CANDIDATE)
ids_by_pos = {r["pos"]: r["id"] for r in records}
hops = Counter()
for r in records:
    if r.get("round") != first_round:
        continue
    if r["kind"] == CANDIDATE:
        hops[r["id"]] += 1
    elif r["kind"] == CANDIDATE_FORWARDED:
        hops[r["candidate_id"]] += 1
for pos in sorted(ids_by_pos):
    node_id = ids_by_pos[pos]
    print(f"p{pos} id {node_id}: {hops[node_id]} hop(s)")
announced = sum(r["kind"] == ELECTED and r["round"] == first_round for r in records)
print(f"candidate messages: {sum(hops.values())}, plus {announced + 1} for the announcement")
