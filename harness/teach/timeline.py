"""What the neighbours and the harness saw after each fault, and how soon.

One row per fault of a recorded history: which neighbours read EOF (or saw
nothing: the hidden death), when the process exited and with what, when it was
restarted and with which pid, when the next snapshot started and when the ring
had recovered. ``ringemu trace`` prints it; the lessons quote it.
"""
from __future__ import annotations

from tabulate import tabulate

from emulator.records import (
    FAULT, LINK_DOWN, LINK_RETIRED, NODE_EXITED, NODE_STOPPING, RECOVERED, RESTARTED,
    SNAPSHOT_STARTED, Record,
)


def _after(records: list[Record], t_ns: int, test) -> Record | None:
    return next((r for r in records if r["t_ns"] >= t_ns and test(r)), None)


def _ms(r: Record | None, t_ns: int) -> str:
    return "-" if r is None else f"+{(r['t_ns'] - t_ns) / 1e6:.2f} ms"


def fault_timeline(records: list[Record]) -> list[list[str]]:
    """One row per fault: what its neighbours and the harness saw, and how soon."""
    ordered = sorted(records, key=lambda r: r["t_ns"])
    if not ordered:
        return []
    origin = ordered[0]["t_ns"]
    n = max(r["pos"] for r in ordered) + 1
    rows = []
    for fault in (r for r in ordered if r["kind"] == FAULT):
        t, pos, pid = fault["t_ns"], fault["pos"], fault["pid"]
        neighbours = {(pos - 1) % n: "right", (pos + 1) % n: "left"}
        # link_retired is an EOF too: on the old link, when the new one came first
        eofs = [r for r in ordered if r["t_ns"] >= t
                and r["kind"] in (LINK_DOWN, LINK_RETIRED)
                and neighbours.get(r["pos"]) == r.get("side")
                and r["t_ns"] - t < 5e9 and not _orderly(r, ordered)]
        seen = {}
        for r in eofs:
            seen.setdefault(r["pos"], r)
        eof_text = ", ".join(f"p{p} {_ms(r, t)}" + (" (old link)" if r["kind"] ==
                                                     LINK_RETIRED else "")
                             for p, r in sorted(seen.items())) or "none"
        exited = _after(ordered, t, lambda r: r["kind"] == NODE_EXITED and r["pid"] == pid
                        and (r["exitcode"] != 0 or fault["fault"] in ("SIGKILL", "SIGTERM")))
        restarted = _after(ordered, t, lambda r: r["kind"] == RESTARTED and r["pos"] == pos)
        snapshot = _after(ordered, t, lambda r: r["kind"] == SNAPSHOT_STARTED)
        recovered = _after(ordered, t, lambda r: r["kind"] == RECOVERED
                           and r.get("cause") != "bootstrap")
        exit_text = "-" if exited is None else (
            f"{_ms(exited, t)}: " + (exited.get("signal") or f"status {exited['exitcode']}"))
        rows.append([fault["fault"], f"p{pos} id {fault['id']} pid {pid}",
                     f"{(t - origin) / 1e6:.1f}", eof_text, exit_text,
                     "-" if restarted is None else f"{_ms(restarted, t)} pid {restarted['pid']}",
                     _ms(snapshot, t), _ms(recovered, t)])
    return rows


def _orderly(link_down: Record, ordered: list[Record]) -> bool:
    """A link_down during the orderly shutdown at the end is not news."""
    return any(r["kind"] == NODE_STOPPING and r.get("reason") == "shutdown"
               and r["t_ns"] <= link_down["t_ns"] for r in ordered)


def fault_table(records: list[Record]) -> str:
    return tabulate(fault_timeline(records),
                    headers=["fault", "target", "at ms", "neighbours saw EOF", "exited",
                             "restarted", "next snapshot", "recovered"])
