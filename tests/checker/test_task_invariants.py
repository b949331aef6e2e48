"""task_applied_twice and task_lost on hand-made histories."""
from __future__ import annotations

from emulator.records import TASK_STEP, TASK_STORE, TOKEN_PASSED
from harness.invariants import check_task_applied_twice, check_task_lost


def record(kind, t, pos=0, **fields):
    return {"t_ns": t, "pos": pos, "id": pos + 1, "pid": 100 + pos, "kind": kind, **fields}


def store(*rows):
    return record(TASK_STORE, 99, steps=[[s, e, p, 100 + p, 0] for s, e, p in rows],
                  store_epoch=2, idempotent=False, fencing=False)


def test_the_store_rows_decide_a_step_applied_twice():
    history = [store((1, 1, 2), (2, 1, 2), (2, 2, 1), (3, 2, 1))]
    found = check_task_applied_twice(history)
    assert len(found) == 1 and "step 2 was applied 2 times" in found[0].detail
    assert "p2 as leader of epoch 1" in found[0].detail
    assert check_task_lost(history) == []


def test_the_store_wins_over_the_reports_a_killed_node_never_sent():
    reports = [record(TASK_STEP, 1, step=1, epoch=1, outcome="applied", store_epoch=1)]
    assert check_task_applied_twice(reports + [store((1, 1, 0), (1, 2, 1))])
    assert check_task_applied_twice(reports) == []


def test_a_step_told_but_never_applied_is_lost():
    history = [record(TOKEN_PASSED, 1, epoch=1, hop=3, task=3), store((1, 1, 0), (2, 1, 0))]
    found = check_task_lost(history)
    assert len(found) == 1 and "step(s) 3" in found[0].detail


def test_a_gap_below_the_highest_step_is_lost():
    assert "step(s) 2" in check_task_lost([store((1, 1, 0), (3, 2, 1))])[0].detail


def test_a_ring_without_the_task_has_nothing_to_judge():
    assert check_task_applied_twice([record(TOKEN_PASSED, 1, epoch=1, hop=1)]) == []
    assert check_task_lost([record(TOKEN_PASSED, 1, epoch=1, hop=1)]) == []
