"""What the neighbours and the harness saw after each fault, and how soon.

One row per fault of a recorded history, and each row describes its own
signal:

* SIGKILL and SIGTERM end the process: which neighbours read EOF (or saw
  nothing: the hidden death), when it exited and how (a signal's name, or the
  status the process chose itself), when it was restarted and with which pid,
  when the next snapshot started and when the ring had recovered.
* SIGSTOP ends nothing: no EOF, no exit. The row says how long the node stayed
  stopped (a *catch* lasts a millisecond or so: the harness checking that a
  holder still holds the token before the real fault), and a snapshot or
  recovery only counts if it began while the node was still stopped.
* SIGCONT wakes it: the row says whether and when the node rejoined the ring.
* Faults without a signal (drop_token, inject_token) show what followed.

"ring recovered" is the recovery the row's snapshot began; "(no election)" when
it counted the token alive (a death notice that cost a snapshot, nothing more).

``ringemu trace`` prints it; the lessons quote it.
"""
from __future__ import annotations

import math

from tabulate import tabulate

from emulator.protocol.messages import SEND_FAILED
from emulator.records import (
    FAULT, LINK_DOWN, LINK_RETIRED, NODE_EXITED, NODE_STOPPING, RECOVERED, REJOINED,
    RESTARTED, RING_STOPPING, SNAPSHOT_STARTED, Record,
)

DEATHS = ("SIGKILL", "SIGTERM")
HEADERS = ["signal/fault", "target", "at ms", "neighbours saw EOF", "exited / stopped",
           "restarted / rejoined", "next snapshot", "ring recovered"]


def _first(ordered: list[Record], begin: int, end: float, test) -> Record | None:
    return next((r for r in ordered if begin <= r["t_ns"] < end and test(r)), None)


def _ms(r: Record | None, t_ns: int) -> str:
    return "-" if r is None else f"+{(r['t_ns'] - t_ns) / 1e6:.2f} ms"


def fault_timeline(records: list[Record]) -> list[list[str]]:
    """One row per fault: what its neighbours and the harness saw, and how soon."""
    ordered = sorted(records, key=lambda r: r["t_ns"])
    if not ordered:
        return []
    origin = ordered[0]["t_ns"]
    n = max(r["pos"] for r in ordered) + 1
    stopping = next((r["t_ns"] for r in ordered if r["kind"] == RING_STOPPING
                     or (r["kind"] == NODE_STOPPING and r.get("reason") == "shutdown")),
                    math.inf)
    faults = [r for r in ordered if r["kind"] == FAULT]
    rows = []
    for fault in faults:
        name = fault["fault"]
        if name in DEATHS:
            cells = _death(fault, ordered, faults, n, stopping)
        elif name == "SIGSTOP":
            cells = _stop(fault, ordered, faults)
        elif name == "SIGCONT":
            cells = ["-", "-", _rejoined(fault, ordered, faults), "-", "-"]
        else:
            cells = ["-", "-", "-"] + _recovery(fault, ordered, fault["t_ns"], math.inf)
        rows.append([name, f"p{fault['pos']} id {fault['id']} pid {fault['pid']}",
                     f"{(fault['t_ns'] - origin) / 1e6:.1f}", *cells])
    return rows


def _next_fault_on(fault: Record, faults: list[Record]) -> float:
    """When the next signal reached the same process (it ends this one's story)."""
    return next((f["t_ns"] for f in faults if f["t_ns"] > fault["t_ns"]
                 and f["pid"] == fault["pid"]), math.inf)


def _how(link_record: Record) -> str:
    if link_record["kind"] == LINK_RETIRED:
        return " (old link)"
    if link_record.get("cause") == SEND_FAILED:
        return " (EPIPE: it wrote first)"
    return ""


def _death(fault: Record, ordered: list[Record], faults: list[Record], n: int,
           stopping: float) -> list[str]:
    t, pos, pid = fault["t_ns"], fault["pos"], fault["pid"]
    neighbours = {(pos - 1) % n: "right", (pos + 1) % n: "left"}
    # link_retired is an EOF too: on the old link, when the new one came first
    seen: dict[int, Record] = {}
    for r in ordered:
        if (t <= r["t_ns"] < min(stopping, t + 5e9) and r["kind"] in (LINK_DOWN, LINK_RETIRED)
                and neighbours.get(r["pos"]) == r.get("side")):
            seen.setdefault(r["pos"], r)
    eof_text = ", ".join(f"p{p} {_ms(r, t)}" + _how(r) for p, r in sorted(seen.items())) or "none"
    exited = _first(ordered, t, math.inf, lambda r: r["kind"] == NODE_EXITED
                    and r["pid"] == pid)
    exit_text = "-"
    restarted = None
    if exited is not None:
        # A signal's name: the kernel ended it. A status: the process chose it (143 =
        # 128 + SIGTERM is what a node's SIGTERM handler exits with).
        exit_text = f"{_ms(exited, t)}: " + (exited.get("signal")
                                             or f"status {exited['exitcode']}")
        next_death = next((f["t_ns"] for f in faults if f["t_ns"] > exited["t_ns"]
                           and f["pos"] == pos and f["fault"] in DEATHS), math.inf)
        restarted = _first(ordered, exited["t_ns"], next_death,
                           lambda r: r["kind"] == RESTARTED and r["pos"] == pos)
    restart_text = "-" if restarted is None else f"{_ms(restarted, t)} pid {restarted['pid']}"
    return [eof_text, exit_text, restart_text, *_recovery(fault, ordered, t, math.inf)]


def _stop(fault: Record, ordered: list[Record], faults: list[Record]) -> list[str]:
    """A stopped process keeps its pipes: no EOF, no exit, only silence."""
    t = fault["t_ns"]
    until = _next_fault_on(fault, faults)
    stopped = ("until the end" if until == math.inf
               else f"stopped {(until - t) / 1e6:.2f} ms")
    return ["none", stopped, "-", *_recovery(fault, ordered, t, until)]


def _rejoined(fault: Record, ordered: list[Record], faults: list[Record]) -> str:
    found = _first(ordered, fault["t_ns"], _next_fault_on(fault, faults),
                   lambda r: r["kind"] == REJOINED and r["pid"] == fault["pid"])
    return "-" if found is None else f"rejoined {_ms(found, fault['t_ns'])}"


def _recovery(fault: Record, ordered: list[Record], t: int, began_before: float) -> list[str]:
    """The next snapshot and recovery, if they began before ``began_before``."""
    snapshot = _first(ordered, t, began_before, lambda r: r["kind"] == SNAPSHOT_STARTED)
    recovered = None
    if snapshot is not None:  # the recovery that snapshot began
        recovered = _first(ordered, snapshot["t_ns"], math.inf,
                           lambda r: r["kind"] == RECOVERED and r.get("cause") != "bootstrap")
    recovered_text = _ms(recovered, t)
    if recovered is not None and not recovered.get("rounds"):
        recovered_text += " (no election)"  # the count found the token: a false alarm
    return [_ms(snapshot, t), recovered_text]


def fault_table(records: list[Record]) -> str:
    return tabulate(fault_timeline(records), headers=HEADERS)
