"""The fault timeline (``ringemu trace``'s table): each row describes its own signal."""
from __future__ import annotations

from emulator.records import (
    FAULT, LINK_DOWN, NODE_EXITED, RECOVERED, REJOINED, RESTARTED, SNAPSHOT_STARTED,
)
from harness.teach.timeline import fault_timeline

MS = 1_000_000


def at(ms, kind, pos, pid, **fields):
    return {"t_ns": int(ms * MS), "pos": pos, "id": pos + 1, "pid": pid, "kind": kind,
            **fields}


def history():
    """A catch of p1 (SIGSTOP, then SIGKILL while stopped), a recovery; later a long
    SIGSTOP of p3 with its SIGCONT and rejoin. A 4-node ring: p1's neighbours are p0
    and p2."""
    return [
        at(0, "node_started", 0, 10, epoch=0),
        at(10, FAULT, 1, 11, fault="SIGSTOP", target_pos=1, signal=19),
        at(11, FAULT, 1, 11, fault="SIGKILL", target_pos=1, signal=9),
        at(12, LINK_DOWN, 0, 10, side="right"),
        at(12.5, LINK_DOWN, 2, 12, side="left"),
        at(13, NODE_EXITED, 1, 11, exitcode=-9, signal="SIGKILL"),
        at(15, RESTARTED, 1, 21, incarnation=2),
        at(170, SNAPSHOT_STARTED, 0, 10, sid=[0, 2]),
        at(190, RECOVERED, 0, 10, cause="silence", total_ms=180.0, epoch=2, rounds=[2]),
        at(300, FAULT, 3, 13, fault="SIGSTOP", target_pos=3, signal=19),
        at(460, SNAPSHOT_STARTED, 0, 10, sid=[0, 3]),
        at(700, RECOVERED, 0, 10, cause="silence", total_ms=400.0, epoch=3, rounds=[3]),
        at(750, FAULT, 3, 13, fault="SIGCONT", target_pos=3, signal=18),
        at(751, REJOINED, 3, 13, left_pos=2, right_pos=0),
        at(800, RESTARTED, 1, 22, incarnation=3),  # a later restart of p1: not the catch's
    ]


def test_a_catch_row_does_not_copy_the_kill_that_followed_it():
    catch, kill, stop, cont = fault_timeline(history())
    assert catch[0] == "SIGSTOP" and catch[3] == "none"
    assert catch[4] == "stopped 1.00 ms" and catch[5:] == ["-", "-", "-"]
    assert kill[0] == "SIGKILL"
    assert kill[3] == "p0 +1.00 ms, p2 +1.50 ms"
    assert kill[4] == "+2.00 ms: SIGKILL" and kill[5] == "+4.00 ms pid 21"
    assert kill[6] == "+159.00 ms" and kill[7] == "+179.00 ms"


def test_a_long_stop_owns_its_recovery_and_the_sigcont_says_when_it_rejoined():
    _, _, stop, cont = fault_timeline(history())
    assert stop[4] == "stopped 450.00 ms"
    assert stop[6] == "+160.00 ms" and stop[7] == "+400.00 ms"
    assert cont[3:] == ["-", "-", "rejoined +1.00 ms", "-", "-"]


def test_a_node_exit_status_is_shown_as_the_status_it_chose():
    records = history()[:3] + [at(13, NODE_EXITED, 1, 11, exitcode=143)]
    records[2] = at(11, FAULT, 1, 11, fault="SIGTERM", target_pos=1, signal=15)
    assert fault_timeline(records)[1][4] == "+2.00 ms: status 143"
