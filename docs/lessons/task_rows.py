"""Lesson 8: the leader's task, from a trace: every attempt, and the store's rows at the end.

    python task_rows.py TRACE.jsonl [FIRST_STEP [LAST_STEP]]
"""
import sys

from emulator.records import TASK_STEP, TASK_STORE
from harness.tracefile import read_trace

records = read_trace(sys.argv[1])
first = int(sys.argv[2]) if len(sys.argv) > 2 else 1
last = int(sys.argv[3]) if len(sys.argv) > 3 else float("inf")
print("attempts, in order (step, by whom, as leader of which epoch: the store's answer)")
for r in sorted(records, key=lambda r: r["t_ns"]):
    if r["kind"] == TASK_STEP and first <= r["step"] <= last:
        print(f"  step {r['step']}  p{r['pos']} (id {r['id']})  epoch {r['epoch']}: "
              f"{r['outcome']}")
store = next(r for r in records if r["kind"] == TASK_STORE)
policy = ", ".join(f"{name} {'on' if store[name] else 'off'}" for name in ("idempotent", "fencing"))
print(f"the store at the end ({policy}; it has seen epoch {store['store_epoch']}):")
rows = [row for row in store["steps"] if first <= row[0] <= last]
print("  " + ", ".join(f"step {step} (epoch {epoch}, p{pos})" for step, epoch, pos, *_ in rows))
