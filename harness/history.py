"""The recorded history of a run: every event, in arrival order, and the trace.

A record is one flat dict: ``t_ns`` (``time.monotonic_ns()``, one clock for
every process on the machine), ``pos``, ``id``, ``pid``, ``kind``, then the
kind's fields (DESIGN.md, "Trace"). The trace file gets each record as one
JSON line as soon as it is recorded, so a crash loses nothing already seen.
The narrator turns the notable records into one readable line each on stderr.
"""
from __future__ import annotations

import sys
from typing import Callable, TextIO

from emulator.protocol.messages import CUT, EOF, NEVER_WIRED, SEND_FAILED
from emulator.records import (
    Record,
    BAD_FRAME, BYPASSED, ELECTION_ROUND, FAULT, LEADER, LEADER_CONFLICT, LINK_DOWN,
    NODE_EXITED, NODE_STOPPING, RECOVERED, REJOINED, RESTARTED, RING_STOPPING,
    ROUND_ABANDONED, SNAPSHOT_RESULT, SUPERVISOR_GAVE_UP, TOKEN_CREATED, TOKEN_DROPPED,
    TOKEN_FENCED, TOKEN_RETURNED, TASK_STEP, LEADER_DEPOSED,
)

from .tracefile import TraceWriter

Listener = Callable[[Record], None]


class History:
    def __init__(self, trace_path: str | None = None) -> None:
        self.records: list[Record] = []
        self._listeners: list[Listener] = []
        self._trace = TraceWriter(trace_path) if trace_path is not None else None
        self._trace_error: str | None = None

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def __call__(self, record: Record) -> None:
        """The cluster's sink: keep, write, tell the listeners."""
        self.records.append(record)
        if self._trace is not None:
            self._trace.write(record)
        for listener in tuple(self._listeners):  # a listener may unsubscribe itself
            listener(record)

    def watch(self, predicate: Callable[[Record], bool], since: int = 0) -> "Watch":
        """A check, cheap to repeat, for the first record after ``since`` that
        satisfies ``predicate``: pass ``watch.seen`` to ``Cluster.wait_until``."""
        return Watch(self, predicate, since)

    def of_kind(self, *kinds: str) -> list[Record]:
        return [r for r in self.records if r["kind"] in kinds]

    @property
    def trace_error(self) -> str | None:
        """Why the trace file is incomplete (a full disk), or None."""
        return self._trace.error if self._trace is not None else self._trace_error

    def close(self) -> None:
        if self._trace is not None:
            self._trace.close()
            self._trace_error = self._trace.error
            self._trace = None


class Watch:
    def __init__(self, history: History, predicate: Callable[[Record], bool],
                 since: int) -> None:
        self.history = history
        self.predicate = predicate
        self.scanned = since
        self.found: Record | None = None

    def seen(self) -> bool:
        """Has a matching record arrived? Each call reads only what is new."""
        records = self.history.records
        while self.found is None and self.scanned < len(records):
            if self.predicate(records[self.scanned]):
                self.found = records[self.scanned]
            self.scanned += 1
        return self.found is not None



class Narrator:
    """One line on stderr per notable event, timed from the start of the run."""

    def __init__(self, stream: TextIO = sys.stderr, start_ns: int | None = None) -> None:
        self.stream = stream
        self.start_ns = start_ns
        self.shutting_down = False
        self.task_epoch = 0  # the epoch of the last task step applied

    def _first_step_of_an_epoch(self, r: Record) -> str | None:
        """A new leader's first task step is news; the rest, one per lap, is not."""
        if r["kind"] != TASK_STEP or r["outcome"] != "applied" or r["epoch"] <= self.task_epoch:
            return None
        self.task_epoch = r["epoch"]
        return (f"{_node(r)}, leader of epoch {r['epoch']}, applies task step {r['step']} "
                "(and one step each lap from now on)")

    def __call__(self, record: Record) -> None:
        if record["kind"] == RING_STOPPING:
            self.shutting_down = True
        if _orderly_exit(record) or (self.shutting_down and record["kind"] == LINK_DOWN):
            return  # the end of every run: not news
        line = describe(record) or self._first_step_of_an_epoch(record)
        if line is None:
            return
        if self.start_ns is None:
            self.start_ns = record["t_ns"]
        at_ms = (record["t_ns"] - self.start_ns) / 1e6
        self.stream.write(f"{at_ms:9.1f} ms  {line}\n")


def _orderly_exit(r: Record) -> bool:
    return ((r["kind"] == NODE_STOPPING and r["reason"] == "shutdown")
            or (r["kind"] == NODE_EXITED and r["exitcode"] == 0))


def _node(r: Record) -> str:
    return f"node {r['pos']} (id {r['id']}, pid {r['pid']})"


def _task_step(r: Record) -> str | None:
    """The leader's task: only what is news (a refusal, or a stale step let in); the
    ordinary step of every lap is not."""
    what = f"{_node(r)}, leader of epoch {r['epoch']}, finishes task step {r['step']}: "
    if r["outcome"] == "duplicate":
        return what + "refused, the store has it already (idempotency)"
    if r["outcome"] == "stale":
        return what + f"refused, the store has seen epoch {r['store_epoch']} (fencing)"
    if r["outcome"] == "unavailable":
        return what + "the store was busy; it will try again"
    if r["epoch"] < r["store_epoch"]:
        return what + f"applied, though the store has seen epoch {r['store_epoch']}"
    return None


_DESCRIPTIONS: dict[str, Callable[[Record], str]] = {
    FAULT: lambda r: f"fault: {r['fault']} -> {_node(r)}",
    NODE_EXITED: lambda r: f"{_node(r)} exited with "
                             + (r["signal"] if "signal" in r else f"status {r['exitcode']}"),
    NODE_STOPPING: lambda r: f"{_node(r)} is stopping ({r['reason']})",
    RESTARTED: lambda r: f"{_node(r)} restarted (incarnation {r['incarnation']})",
    LINK_DOWN: lambda r: f"{_node(r)} sees its {r['side']} link down "
                           + _LINK_DOWN_WHY.get(r.get("cause", EOF), ""),
    BYPASSED: lambda r: f"{_node(r)} bypassed: node {r['left_pos']} now links to "
                          f"node {r['right_pos']}",
    REJOINED: lambda r: f"{_node(r)} rejoined the ring",
    SNAPSHOT_RESULT: lambda r: (
        f"snapshot {tuple(r['sid'])}: {r['tokens']} token(s) of epoch {r['epoch']}"
        + ("" if r["complete"] else f", INCOMPLETE, no part from {r['missing']}")),
    ELECTION_ROUND: lambda r: f"election round {r['round']}: candidates "
                                f"{r['candidate_ids']}",
    ROUND_ABANDONED: lambda r: f"election round {r['round']} abandoned ({r['reason']})",
    LEADER: lambda r: f"{_node(r)} is leader of round {r['round']}",
    TOKEN_CREATED: lambda r: f"{_node(r)} created the token, epoch {r['epoch']}",
    TOKEN_FENCED: lambda r: f"{_node(r)} fenced a stale token of epoch {r['epoch']} "
                              f"(it has seen {r['node_epoch']})",
    TOKEN_RETURNED: lambda r: f"{_node(r)} could not pass the token (EPIPE): it keeps "
                                f"it (epoch {r['epoch']})",
    TOKEN_DROPPED: lambda r: f"{_node(r)} dropped the token (epoch {r['epoch']})",
    LEADER_CONFLICT: lambda r: f"{_node(r)} is leader but hears of leader "
                                 f"{r['leader_id']} in round {r['round']}",
    BAD_FRAME: lambda r: f"{_node(r)} got a bad frame on its {r['side']} link",
    TASK_STEP: lambda r: _task_step(r),
    LEADER_DEPOSED: lambda r: f"{_node(r)}, leader of round {r['round']}, learns from "
                                f"the {r['by']} that it was deposed (epoch {r['epoch']})",
    SUPERVISOR_GAVE_UP: lambda r: f"supervisor gave up on {_node(r)} after "
                                    f"{r['restarts']} restarts in {r['window_s']} s",
    RECOVERED: lambda r: _recovered(r),
}


_LINK_DOWN_WHY = {
    EOF: "(EOF)",
    SEND_FAILED: "(EPIPE: nobody reads the other end)",
    NEVER_WIRED: "(it started without one: that neighbour is down)",
    CUT: "(the harness cut it)",
}


def _recovered(r: Record) -> str:
    said = f"recovered ({r['cause']}) in {r['total_ms']:.1f} ms: "
    if r["rounds"]:
        return said + f"a new token of epoch {r['epoch']} completed a lap"
    # No election: the snapshot found the one token there was (a suspicion it
    # cleared, or a death that did not take the token with it).
    return said + (f"the snapshot found the one token, epoch {r['epoch']}: nothing to "
                   "repair" + (" (a false alarm)" if r.get("false_alarm") else ""))


def describe(record: Record) -> str | None:
    describe_kind = _DESCRIPTIONS.get(record["kind"])
    return describe_kind(record) if describe_kind else None

