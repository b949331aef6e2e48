"""Space-time diagrams of a recorded run: trace records in, SVG text out.

Theory of operation
-------------------
Lamport drew distributed runs this way (1978): one horizontal line per process,
time running left to right, every message an arrow from its send to its
receipt. Here the lines are the ring's positions, the clock is the one
``time.monotonic_ns()`` every process on the machine shares, and everything is
read from the history (DESIGN.md, "Trace"); nothing is assumed.

A trace logs sends and receipts as separate events, so messages are paired up:
each receipt takes the oldest unmatched send with the same contents (token
epoch and hop, snapshot id and direction, round and candidate ID) from the
nearest node upstream. Links are FIFO, so this is the send that produced it. A
send that nothing received (its reader died, or was stopped and bypassed) is
drawn as a dashed stub ending in a cross.

Bursts (an election is a few dozen messages in a few milliseconds) and long
silences (a detection timeout, a snapshot waiting for a stopped node) live on
the same trace, so the time axis is piecewise linear: linear within busy
stretches, each distinct instant at least a few pixels from the previous one,
and every silence longer than a threshold cut out and drawn as a labelled
break. Long stretches where nothing but the token moves are folded the same
way, keeping the first and last lap. Every break says how much time it hides,
and the tick labels are real times, so nothing is hidden without saying so.

The module is pure: no clock, no files; ``render_svg`` returns text.
"""
from __future__ import annotations

import bisect
import statistics
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from html import escape
from typing import Iterable

Record = dict

# Reports whose own ``id`` field (the candidate's ID) replaces the node's ID in the
# flat record: the node's ID has to come from elsewhere.
_CLOBBERED_ID = ("candidate_forwarded", "candidate_swallowed", "candidate_dropped",
                 "candidate_stale")

COLOURS = {
    "token": "#c98a00", "marker": "#8e44ad", "candidate": "#1f6fb4", "elected": "#2a9d3a",
    "stale": "#a0432a", "kill": "#d62728", "term": "#e8730c", "stop": "#9ecae1",
    "restart": "#2a9d3a", "eof": "#8b1a1a", "line": "#555", "cut": "#8e44ad",
    "break": "#f3f3f3", "text": "#222", "muted": "#777",
}
MESSAGE_KINDS = ("token", "marker", "candidate", "elected")


# --- what happened: messages, holdings, node lives ---------------------------------------


@dataclass
class Message:
    kind: str                 # token | marker | candidate | elected
    src: int
    sent_ns: int
    direction: str            # "right" or "left": the way it travels round the ring
    label: str                # what it carried, for tooltips and labels
    dst: int | None = None
    received_ns: int | None = None
    outcome: str = "lost"     # received, forwarded, swallowed, fenced, home, stale, ...
    # The node reported this send only after making it (``candidate_forwarded``), so
    # its stamp may be a little later than the receipt it caused.
    stamped_after: bool = False

    @property
    def delivered(self) -> bool:
        return self.received_ns is not None


@dataclass
class Hold:
    pos: int
    epoch: int
    start_ns: int
    end_ns: int | None = None
    stale_from_ns: int | None = None  # a newer epoch was created while it was held


def sorted_records(records: Iterable[Record]) -> list[Record]:
    """Time order (stable: one process's own events keep their order on a tie)."""
    return sorted(records, key=lambda r: r["t_ns"])


def positions(records: list[Record]) -> int:
    return max((r["pos"] for r in records), default=-1) + 1


def node_ids(records: list[Record]) -> dict[int, int]:
    """Position -> node ID, from the records that carry the node's own ID."""
    ids: dict[int, Counter] = defaultdict(Counter)
    for r in records:
        if r["kind"] not in _CLOBBERED_ID:
            ids[r["pos"]][r["id"]] += 3 if r["kind"] == "node_started" else 1
    return {pos: counts.most_common(1)[0][0] for pos, counts in ids.items()}


def candidate_id(record: Record) -> int:
    """The candidate ID a ``candidate_*`` record is about (see ``_CLOBBERED_ID``)."""
    return record.get("candidate_id", record["id"])


def _announced_rounds(records: list[Record]) -> set[int]:
    kinds = ("elected", "elected_dropped", "elected_stale")
    rounds = {r["round"] for r in records if r["kind"] in kinds}
    rounds |= {r["round"] for r in records
               if r["kind"] == "election_stale" and r.get("message") == "Elected"}
    # announce mode: election_complete comes later than leader, by an Elected's lap
    leaders = {r["round"]: r["t_ns"] for r in records if r["kind"] == "leader"}
    rounds |= {r["round"] for r in records if r["kind"] == "election_complete"
               and r["round"] in leaders and r["t_ns"] > leaders[r["round"]] + 20_000}
    return rounds


_LATE_STAMP_NS = 50_000_000


class _Pending:
    """Unmatched sends by contents; a receipt takes the nearest upstream, oldest first."""

    def __init__(self, n: int) -> None:
        self.n = max(n, 1)
        self.by_key: dict[tuple, deque[Message]] = defaultdict(deque)

    def add(self, key: tuple, message: Message) -> None:
        self.by_key[key].append(message)

    def take(self, key: tuple, pos: int, t_ns: int, partial: bool = False) -> Message | None:
        keys = ([k for k in self.by_key if k[:len(key)] == key] if partial else [key])
        best: tuple | None = None
        for k in keys:
            for message in self.by_key.get(k, ()):
                slack = _LATE_STAMP_NS if message.stamped_after else 0
                if message.src == pos or message.sent_ns > t_ns + slack:
                    continue
                if message.direction == "right":
                    distance = (pos - message.src) % self.n
                else:
                    distance = (message.src - pos) % self.n
                rank = (distance, message.sent_ns)
                if best is None or rank < best[0]:
                    best = (rank, k, message)
        if best is None:
            return None
        _, k, message = best
        self.by_key[k].remove(message)
        return message

    def leftovers(self) -> list[Message]:
        return [m for queue in self.by_key.values() for m in queue]


def extract_messages(records: Iterable[Record]) -> list[Message]:
    """Every ring message the trace shows, paired send-to-receipt, in send order."""
    return _pair(sorted_records(records))[0]


def _pair(ordered: list[Record]) -> tuple[list[Message], set[int]]:
    """The messages, and the ``token_fenced`` records (by ``id()``) that are receipts
    (a stale token refused at the door) rather than a held token being fenced.

    Sends first, all of them (a send is a fact of its own record), then every
    receipt in time order takes its send: so a send stamped a little after the
    receipt it caused (``stamped_after``) is still there to be taken."""
    n = positions(ordered)
    ids = node_ids(ordered)
    announced = _announced_rounds(ordered)
    pending = _Pending(n)
    messages: list[Message] = []
    fenced_receipts: set[int] = set()

    def send(key: tuple, kind: str, r: Record, direction: str, label: str) -> None:
        message = Message(kind, r["pos"], r["t_ns"], direction, label,
                          stamped_after=r["kind"] == "candidate_forwarded")
        messages.append(message)
        pending.add(key, message)

    for r in ordered:
        kind, pos = r["kind"], r["pos"]
        if kind == "token_passed":
            send(("token", r["epoch"], r["hop"], "right"), "token", r, "right",
                 f"token epoch {r['epoch']} hop {r['hop']}"
                 + (" (hand-over)" if r.get("handover") else ""))
        elif kind == "snapshot_started" or (kind == "marker_received" and r.get("first")):
            sid = tuple(r["sid"])
            for direction in ("right", "left"):
                send(("marker", sid, direction), "marker", r, direction,
                     f"marker {sid} going {direction}")
        elif kind == "candidate":
            node_id = ids.get(pos, r["id"])
            send(("candidate", r["round"], node_id), "candidate", r, "right",
                 f"candidate {node_id} (round {r['round']})")
        elif kind == "candidate_forwarded":
            cid = candidate_id(r)
            send(("candidate", r["round"], cid), "candidate", r, "right",
                 f"candidate {cid} (round {r['round']})")
        elif kind == "leader" and r["round"] in announced:
            node_id = ids.get(pos, r["id"])
            send(("elected", r["round"], node_id), "elected", r, "right",
                 f"elected {node_id} (round {r['round']})")
        elif kind == "elected":
            send(("elected", r["round"], r["leader_id"]), "elected", r, "right",
                 f"elected {r['leader_id']} (round {r['round']})")

    def receive(key: tuple, r: Record, outcome: str, partial: bool = False) -> bool:
        message = pending.take(key, r["pos"], r["t_ns"], partial)
        if message is None:
            return False
        message.dst, message.received_ns, message.outcome = r["pos"], r["t_ns"], outcome
        if message.sent_ns > message.received_ns:
            # Stamped late by its sender: it was sent before it arrived.
            message.sent_ns = message.received_ns
        return True

    for r in ordered:
        kind, pos = r["kind"], r["pos"]
        if kind == "token_received":
            receive(("token", r["epoch"], r["hop"], "right"), r, "received")
        elif kind == "token_fenced":
            if receive(("token", r["epoch"], r.get("hop"), "right"), r, "fenced"):
                fenced_receipts.add(id(r))
        elif kind == "marker_received":
            outcome = "first" if r.get("first") else ("late" if r.get("late") else "received")
            came_from_left = r["side"] == "left"
            receive(("marker", tuple(r["sid"]), "right" if came_from_left else "left"), r,
                    outcome)
        elif kind in ("candidate_forwarded", "candidate_swallowed", "candidate_dropped",
                      "candidate_stale"):
            receive(("candidate", r["round"], candidate_id(r)), r, kind.split("_")[1])
        elif kind == "leader":
            receive(("candidate", r["round"], ids.get(pos, r["id"])), r, "home")
        elif kind == "elected":
            receive(("elected", r["round"], r["leader_id"]), r, "forwarded")
        elif kind in ("election_complete", "elected_dropped"):
            receive(("elected", r["round"], r["leader_id"]), r,
                    "home" if kind == "election_complete" else "dropped")
        elif kind == "elected_stale":
            receive(("elected", r["round"]), r, "stale", partial=True)
        elif kind == "election_stale" and r.get("message") in ("Candidate", "Elected"):
            receive((r["message"].lower(), r["round"]), r, "stale", partial=True)
    messages.sort(key=lambda m: m.sent_ns)
    return messages, fenced_receipts


def holdings(records: Iterable[Record], fenced_receipts: set[int] | None = None) -> list[Hold]:
    """When each node held a token: from receipt/creation to pass/drop/fence/exit."""
    ordered = sorted_records(records) if fenced_receipts is None else list(records)
    if fenced_receipts is None:
        fenced_receipts = _pair(ordered)[1]
    created = sorted((r["t_ns"], r["epoch"]) for r in ordered if r["kind"] == "token_created")
    open_: dict[int, list[Hold]] = defaultdict(list)
    done: list[Hold] = []

    def close(pos: int, epoch: int | None, t_ns: int) -> None:
        for hold in open_[pos]:
            if epoch is None or hold.epoch == epoch:
                hold.end_ns = t_ns
                open_[pos].remove(hold)
                done.append(hold)
                return

    for r in ordered:
        kind, pos = r["kind"], r["pos"]
        if kind in ("token_received", "token_created", "token_injected"):
            open_[pos].append(Hold(pos, r["epoch"], r["t_ns"]))
        elif kind in ("token_passed", "token_dropped"):
            close(pos, r["epoch"], r["t_ns"])
        elif kind == "token_fenced" and id(r) not in fenced_receipts:
            close(pos, r["epoch"], r["t_ns"])
        elif kind == "node_exited":
            while open_[pos]:
                close(pos, None, r["t_ns"])
    done += [hold for holds in open_.values() for hold in holds]
    for hold in done:
        for t_ns, epoch in created:
            if epoch > hold.epoch and t_ns > hold.start_ns and (
                    hold.end_ns is None or t_ns < hold.end_ns):
                hold.stale_from_ns = t_ns
                break
    return sorted(done, key=lambda h: h.start_ns)


@dataclass
class Life:
    pos: int
    pid: int
    start_ns: int
    end_ns: int | None = None
    exitcode: int | None = None
    killed_ns: int | None = None   # SIGKILL sent: from here to the reap it is dying/zombie


def lives(records: list[Record]) -> list[Life]:
    found: dict[int, Life] = {}
    for r in records:
        pid = r.get("pid")
        if pid is None or r["kind"] in ("hygiene",):
            continue
        life = found.get(pid)
        if life is None:
            life = found[pid] = Life(r["pos"], pid, r["t_ns"])
        if r["kind"] == "node_exited":
            life.end_ns, life.exitcode = r["t_ns"], r.get("exitcode")
        elif r["kind"] == "fault" and r.get("fault") == "SIGKILL" and life.killed_ns is None:
            life.killed_ns = r["t_ns"]
    return sorted(found.values(), key=lambda life: life.start_ns)


def bands(records: list[Record], start_test, end_test) -> list[tuple]:
    """(pos, start_ns, end_ns or None) from a start record to the first end record."""
    found, open_ = [], {}
    for r in records:
        pos = r["pos"]
        if start_test(r) and pos not in open_:
            open_[pos] = r["t_ns"]
        elif end_test(r) and pos in open_:
            found.append((pos, open_.pop(pos), r["t_ns"]))
    found += [(pos, start, None) for pos, start in open_.items()]
    return found


@dataclass
class Cut:
    sid: tuple
    points: dict[int, int] = field(default_factory=dict)   # pos -> when it recorded
    result: Record | None = None
    parts: dict[int, Record] = field(default_factory=dict)


def cuts(records: list[Record]) -> list[Cut]:
    found: dict[tuple, Cut] = {}
    for r in records:
        if r["kind"] not in ("snapshot_started", "marker_received", "snapshot_part",
                             "snapshot_result"):
            continue
        sid = tuple(r["sid"])
        cut = found.setdefault(sid, Cut(sid))
        if r["kind"] == "snapshot_started" or (r["kind"] == "marker_received"
                                               and r.get("first")):
            cut.points.setdefault(r["pos"], r["t_ns"])
        elif r["kind"] == "snapshot_part":
            cut.parts[r["pos"]] = r
        elif r["kind"] == "snapshot_result":
            cut.result = r
    return [c for c in found.values() if c.points]


# --- the time axis ----------------------------------------------------------------------


@dataclass
class Break:
    start_ns: int
    end_ns: int
    label: str
    x0: float = 0.0
    x1: float = 0.0


class TimeAxis:
    """Piecewise-linear map from monotonic ns to x, with labelled breaks.

    ``instants`` are the moments something visible happens, in order; between two
    consecutive ones the axis advances by the elapsed time at ``px_per_ms`` but at
    least ``min_sep``, or by ``break_px`` where a break spans exactly that gap."""

    def __init__(self, instants: list[int], breaks: list[Break], x0: float,
                 px_per_ms: float, min_sep: float, break_px: float) -> None:
        by_gap = {(b.start_ns, b.end_ns): b for b in breaks}
        self.breaks: list[Break] = []
        self.anchors_t: list[int] = []
        self.anchors_x: list[float] = []
        x = x0
        for t in sorted(set(instants)):
            if self.anchors_t:
                previous = self.anchors_t[-1]
                cut = by_gap.get((previous, t))
                if cut is not None:
                    cut.x0, cut.x1 = x, x + break_px
                    self.breaks.append(cut)
                    x += break_px
                else:
                    x += max(min_sep, (t - previous) / 1e6 * px_per_ms)
            self.anchors_t.append(t)
            self.anchors_x.append(x)
        self.width = x - x0

    def x(self, t_ns: int) -> float:
        ts, xs = self.anchors_t, self.anchors_x
        if not ts:
            return 0.0
        if t_ns <= ts[0]:
            return xs[0]
        if t_ns >= ts[-1]:
            return xs[-1]
        i = bisect.bisect_right(ts, t_ns)
        t0, t1, x0, x1 = ts[i - 1], ts[i], xs[i - 1], xs[i]
        return x0 + (x1 - x0) * (t_ns - t0) / (t1 - t0)

    def in_break(self, t_ns: int) -> bool:
        return any(b.start_ns < t_ns < b.end_ns for b in self.breaks)


_ROUTINE = ("token_passed", "token_received")


def fold_quiet_laps(records: list[Record], keep_laps: int = 1,
                    min_laps: int = 4) -> list[Break]:
    """Stretches where only the token moves, longer than ``min_laps`` laps: fold the
    middle, keeping ``keep_laps`` at each end."""
    folds: list[Break] = []
    run: list[Record] = []

    def flush() -> None:
        receipts = [i for i, r in enumerate(run) if r["kind"] == "token_received"]
        lap = len({run[i]["pos"] for i in receipts}) or 1
        if len(receipts) < (min_laps + 2 * keep_laps) * lap:
            return
        first = receipts[keep_laps * lap - 1]
        last = receipts[len(receipts) - keep_laps * lap]
        # from just after a receipt to the pass that follows the last folded one
        end = next((j for j in range(last, len(run)) if run[j]["kind"] == "token_passed"),
                   None)
        if end is None or run[end]["t_ns"] <= run[first]["t_ns"]:
            return
        hops = sum(1 for r in run[first + 1:end] if r["kind"] == "token_received")
        a, b = run[first]["t_ns"], run[end]["t_ns"]
        folds.append(Break(a, b, f"{hops} hops in {_duration(b - a)} folded"))

    for r in records:
        if r["kind"] in _ROUTINE:
            run.append(r)
        else:
            if run:
                flush()
            run = []
    if run:
        flush()
    return folds


def _duration(ns: float) -> str:
    ms = ns / 1e6
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    return f"{ms:.1f} ms"


def parse_window(text: str) -> tuple[float | None, float | None]:
    """'START_MS:END_MS' (either side may be empty) -> (start, end) in ms."""
    if ":" not in text:
        raise ValueError(f"--window {text!r} is not START_MS:END_MS (e.g. 120:480)")
    start_text, end_text = text.split(":", 1)
    try:
        start = float(start_text) if start_text.strip() else None
        end = float(end_text) if end_text.strip() else None
    except ValueError:
        raise ValueError(f"--window {text!r} is not START_MS:END_MS with numbers "
                         "(e.g. 120:480)") from None
    for value in (start, end):
        if value is not None and (value != value or value in (float("inf"), float("-inf"))
                                  or value < 0):
            raise ValueError(f"--window {text!r}: times are milliseconds >= 0 since the "
                             "trace's first event")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--window {text!r}: the end must come after the start")
    return start, end


# --- drawing ------------------------------------------------------------------------------


class _Lane:
    """Labels above one line, placed where they do not overlap (a few levels)."""

    def __init__(self, levels: int = 2) -> None:
        self.taken: list[list[tuple[float, float]]] = [[] for _ in range(levels)]

    def place(self, x: float, width: float) -> int | None:
        for level, spans in enumerate(self.taken):
            if all(x + width < a or x > b for a, b in spans):
                spans.append((x - 2, x + width + 2))
                return level
        return None


def _text_width(text: str, size: float) -> float:
    return len(text) * size * 0.58


def _fmt_ms(ms: float) -> str:
    if abs(ms) >= 1000:
        return f"{ms / 1000:g} s" if ms % 1000 == 0 else f"{ms / 1000:.2f} s"
    if ms == int(ms):
        return f"{int(ms)} ms"
    return f"{ms:g} ms"


_STYLE = """
text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; fill: #222; }
.title { font-size: 15px; font-weight: bold; }
.subtitle { font-size: 11px; fill: #555; }
.tick { font-size: 10px; fill: #666; }
.ticks line { stroke: #ddd; stroke-width: 1; }
.rowlabel { font-size: 12px; font-weight: bold; }
.pidlabel { font-size: 10px; fill: #666; }
.life { stroke: #555; stroke-width: 1.6; }
.reaping { stroke: #d62728; stroke-width: 1.4; stroke-dasharray: 2 2; }
.bypassed { stroke: #bbb; stroke-width: 1.2; stroke-dasharray: 6 3; }
.hold { stroke: #e6b422; stroke-width: 6; stroke-linecap: butt; opacity: 0.55; }
.hold.stale { stroke: #a0432a; opacity: 0.6; }
.msg line, .msg path, .key line { fill: none; stroke-width: 1.3; }
.msg.token line, .msg.token path, .key.token line { stroke: #c98a00; stroke-width: 1.6; }
.msg.marker line, .msg.marker path, .key.marker line { stroke: #8e44ad; stroke-width: 0.9;
  opacity: 0.75; }
.msg.candidate line, .msg.candidate path, .key.candidate line { stroke: #1f6fb4; }
.msg.elected line, .msg.elected path, .key.elected line { stroke: #2a9d3a; }
.msg.lost line, .msg.lost path, .key.lost line { stroke-dasharray: 3 2; }
.msglabel { font-size: 9px; font-weight: bold; paint-order: stroke; stroke: #fff;
            stroke-width: 3px; }
.cut { fill: none; stroke: #8e44ad; stroke-width: 2.2; stroke-dasharray: 7 4; opacity: 0.8; }
.cutlabel { font-size: 10px; fill: #6c2e8a; font-weight: bold; }
.stopband { fill: #9ecae1; opacity: 0.45; }
.bandlabel { font-size: 9px; fill: #21618c; }
.mark { font-size: 9px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.kill { stroke: #d62728; stroke-width: 2.4; }
.term { stroke: #e8730c; stroke-width: 2.4; }
.note { font-size: 10px; fill: #333; }
.break rect { fill: #f4f4f4; opacity: 0.93; }
.break line { stroke: #aaa; stroke-width: 1; stroke-dasharray: 3 3; }
.breaklabel { font-size: 10px; fill: #666; }
.legend text { font-size: 10.5px; }
"""


def render_svg(records: Iterable[Record], *, title: str | None = None,
               window_ms: tuple[float | None, float | None] | None = None,
               fold: bool = True) -> str:
    """The space-time diagram of ``records`` as a self-contained SVG document."""
    everything = sorted_records(records)
    if not everything:
        raise ValueError("the trace has no events")
    n = positions(everything)
    ids = node_ids(everything)
    origin = everything[0]["t_ns"]
    messages, fenced_receipts = _pair(everything)
    holds = holdings(everything, fenced_receipts)
    node_lives = lives(everything)

    # --- the view: a window of the trace, quiet laps folded
    lo, hi = everything[0]["t_ns"], everything[-1]["t_ns"]
    if window_ms is not None:
        if window_ms[0] is not None:
            lo = origin + int(window_ms[0] * 1e6)
        if window_ms[1] is not None:
            hi = origin + int(window_ms[1] * 1e6)
    view = [r for r in everything if lo <= r["t_ns"] <= hi]
    if not view:
        raise ValueError(f"the window has no events; the trace spans "
                         f"0:{(everything[-1]['t_ns'] - origin) / 1e6:.0f} ms")
    lo, hi = min(lo, view[0]["t_ns"]), max(hi, view[-1]["t_ns"])
    folds = fold_quiet_laps(view) if fold else []

    def folded(t: int) -> bool:
        return any(f.start_ns < t < f.end_ns for f in folds)

    instants = sorted({r["t_ns"] for r in view if not folded(r["t_ns"])}
                      | ({lo, hi} if window_ms is not None else set()))
    fold_gaps = {(f.start_ns, f.end_ns) for f in folds}
    # The token's rhythm sets the scale: a hop about 24 px wide, and only a silence
    # of several hops is cut out.
    passes = [r["t_ns"] for r in view if r["kind"] == "token_passed"]
    hop_ns = statistics.median([b - a for a, b in zip(passes, passes[1:])] or [2e6]) or 2e6
    threshold = max(15e6, 4 * hop_ns)
    silences = [Break(a, b, f"{_duration(b - a)} of silence")
                for a, b in zip(instants, instants[1:])
                if b - a > threshold and (a, b) not in fold_gaps]
    breaks = folds + silences

    # --- scale: each instant at least min_sep from the last, the whole 760..7000 px
    left, right_margin = 168.0, 28.0
    break_px = 34.0
    px_per_ms, min_sep = min(10.0, max(0.5, 24.0 / (hop_ns / 1e6))), 5.0
    for _ in range(40):
        axis = TimeAxis(instants, breaks, left, px_per_ms, min_sep, break_px)
        if axis.width > 7000 and min_sep > 0.4:
            factor = max(0.5, (7000 - break_px * len(breaks)) / max(axis.width, 1))
            px_per_ms *= factor
            min_sep = max(0.4, min_sep * factor)
        elif axis.width < 760 and px_per_ms < 5000:
            px_per_ms *= 1.6
        else:
            break
    plot_right = left + axis.width
    width = plot_right + right_margin

    # --- rows
    row_h = 46.0 if n <= 8 else (36.0 if n <= 16 else max(20.0, 560.0 / n))
    header = 52.0 + 42.0 + 22.0   # title, annotation lane, axis
    top = header + row_h * 0.5
    y_of = {pos: top + row_h * (pos + 0.5) for pos in range(n)}
    wrap_top = top + row_h * 0.1
    wrap_bottom = top + row_h * (n + 0.9)
    rows_bottom = top + row_h * (n + 1)
    legend_y = rows_bottom + 18
    height = legend_y + 62

    out: list[str] = []
    add = out.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">')
    add(f"<style>{_STYLE}</style>")
    add(_defs())
    add(f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>')
    add(f'<clipPath id="plot"><rect x="{left - 6:.1f}" y="0" '
        f'width="{plot_right - left + 12:.1f}" height="{height:.0f}"/></clipPath>')

    # title
    span_ms = (hi - lo) / 1e6
    add(f'<text class="title" x="14" y="22">{escape(title or "ringemu space-time diagram")}'
        "</text>")
    counts = Counter(m.kind for m in messages if _visible(m, lo, hi, folded))
    subtitle = (f"{n} nodes · {len(view)} events · "
                + ", ".join(f"{counts[k]} {k}" for k in MESSAGE_KINDS if counts[k])
                + f" messages · {_fmt_ms(round((lo - origin) / 1e6, 1))} to "
                f"{_fmt_ms(round((hi - origin) / 1e6, 1))} after the first event"
                + (f" ({_duration(hi - lo)})" if span_ms else ""))
    add(f'<text class="subtitle" x="14" y="40">{escape(subtitle)}</text>')

    # time ticks
    add('<g class="ticks">')
    axis_y = header - 6
    step = _tick_step(px_per_ms)
    last_x = -1e9
    t_ms = (lo - origin) / 1e6
    t_ms = step * int(t_ms / step)
    end_ms = (hi - origin) / 1e6
    count = 0
    while t_ms <= end_ms + step and count < 5000:
        count += 1
        t_ns = origin + int(t_ms * 1e6)
        if lo <= t_ns <= hi and not axis.in_break(t_ns):
            x = axis.x(t_ns)
            if x - last_x >= 64:
                add(f'<line x1="{x:.1f}" y1="{axis_y + 4:.1f}" x2="{x:.1f}" '
                    f'y2="{rows_bottom:.1f}"/>')
                add(f'<text class="tick" x="{x:.1f}" y="{axis_y:.1f}" '
                    f'text-anchor="middle">{_fmt_ms(round(t_ms, 3))}</text>')
                last_x = x
        t_ms = round(t_ms + step, 6)
    add("</g>")

    add('<g clip-path="url(#plot)">')
    # SIGSTOP..SIGCONT bands
    stops = bands(everything,
                  lambda r: r["kind"] == "fault" and r.get("fault") == "SIGSTOP",
                  lambda r: (r["kind"] == "fault" and r.get("fault") == "SIGCONT")
                  or r["kind"] == "node_exited")
    add('<g class="bands">')
    for pos, start, end in stops:
        end = hi if end is None else end
        if end < lo or start > hi:
            continue
        x0, x1 = axis.x(max(start, lo)), axis.x(min(end, hi))
        y = y_of[pos]
        add(f'<rect class="stopband" x="{x0:.1f}" y="{y - row_h * 0.42:.1f}" '
            f'width="{max(x1 - x0, 1.5):.1f}" height="{row_h * 0.84:.1f}">'
            f"<title>node {pos} stopped (SIGSTOP) for {_duration(end - start)}</title></rect>")
        text = f"SIGSTOP · stopped {_duration(end - start)}"
        spot = _widest_visible(x0, x1, axis.breaks)
        if spot[1] - spot[0] > _text_width(text, 9) + 6:
            add(f'<text class="bandlabel" x="{spot[0] + 3:.1f}" y="{y + row_h * 0.36:.1f}">'
                f"{text}</text>")
    add("</g>")

    # node lives, bypassed stretches, reaping
    bypass = bands(everything, lambda r: r["kind"] in ("bypassed",),
                   lambda r: r["kind"] in ("rejoined", "restarted"))
    add('<g class="lives">')
    for pos in range(n):
        add(f'<g class="node" data-pos="{pos}">')
        for life in (lv for lv in node_lives if lv.pos == pos):
            start, end = max(life.start_ns, lo), min(life.end_ns or hi, hi)
            if end < lo or start > hi:
                continue
            reap_from = life.killed_ns if life.killed_ns is not None else end
            reap_from = min(max(reap_from, start), end)
            y = y_of[pos]
            add(f'<line class="life" x1="{axis.x(start):.1f}" y1="{y:.1f}" '
                f'x2="{axis.x(reap_from):.1f}" y2="{y:.1f}"><title>node {pos} '
                f"(id {ids.get(pos, '?')}) pid {life.pid}</title></line>")
            if reap_from < end:
                add(f'<line class="reaping" x1="{axis.x(reap_from):.1f}" y1="{y:.1f}" '
                    f'x2="{axis.x(end):.1f}" y2="{y:.1f}"><title>pid {life.pid} SIGKILLed; '
                    f"reaped (joined) {_duration(end - reap_from)} later</title></line>")
        add("</g>")
    for pos, start, end in bypass:
        end = hi if end is None else end
        y = y_of[pos]
        add(f'<line class="bypassed" x1="{axis.x(max(start, lo)):.1f}" y1="{y - 5:.1f}" '
            f'x2="{axis.x(min(end, hi)):.1f}" y2="{y - 5:.1f}"><title>node {pos} bypassed: '
            f"outside the ring</title></line>")
    add("</g>")

    # token holdings
    add('<g class="holds">')
    for hold in holds:
        end = hold.end_ns if hold.end_ns is not None else hi
        if end < lo or hold.start_ns > hi:
            continue
        y = y_of[hold.pos]
        stale_from = hold.stale_from_ns if hold.stale_from_ns is not None else end
        for a, b, cls in ((hold.start_ns, stale_from, "hold"), (stale_from, end, "hold stale")):
            a, b = max(a, lo), min(b, hi)
            if b > a or (cls == "hold" and b == a):
                x0, x1 = axis.x(a), axis.x(b)
                add(f'<line class="{cls}" x1="{x0:.1f}" y1="{y:.1f}" '
                    f'x2="{max(x1, x0 + 1.5):.1f}" y2="{y:.1f}"><title>node {hold.pos} holds '
                    f"a token of epoch {hold.epoch}"
                    f"{' (stale: a newer epoch exists)' if 'stale' in cls else ''}"
                    "</title></line>")
    add("</g>")

    # snapshot cuts
    add('<g class="cuts">')
    annotations: list[tuple[float, str, str]] = []  # (x, text, css class)
    for cut in cuts(everything):
        # What a node recorded after the harness had its answer (a stopped node that
        # woke up and read an old marker) is not part of that answer.
        until = cut.result["t_ns"] if cut.result is not None else hi
        pts = sorted((pos, t) for pos, t in cut.points.items() if lo <= t <= min(hi, until))
        if not pts:
            continue
        coords = [(axis.x(t), y_of[pos]) for pos, t in pts]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}"
                        for i, (x, y) in enumerate(coords))
        result = cut.result
        if result is None:
            summary = f"snapshot {cut.sid}: no result"
        elif result.get("complete"):
            summary = f"snapshot {cut.sid}: {result['tokens']} token(s) of epoch {result['epoch']}"
        else:
            summary = f"snapshot {cut.sid}: INCOMPLETE, no part from {result.get('missing')}"
        add(f'<path class="cut" d="{path}"><title>{escape(summary)}</title></path>')
        for pos, t in pts:
            part = cut.parts.get(pos)
            if part and part.get("tokens") and part["t_ns"] <= until:
                x, y = axis.x(t), y_of[pos]
                where = ("held" if part.get("held") else "in channel")
                add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="#fff" '
                    f'stroke="#8e44ad" stroke-width="2"><title>{escape(summary)}: node {pos} '
                    f"counts {len(part['tokens'])} token(s), {where}</title></circle>")
                add(f'<text class="mark" x="{x + 6:.1f}" y="{y + 12:.1f}" fill="#6c2e8a">'
                    f"counted ({where})</text>")
        short = (f"cut {cut.sid[0]},{cut.sid[1]}: "
                 + ("?" if result is None else (f"{result['tokens']} token"
                                                f"{'' if result['tokens'] == 1 else 's'}"
                                                if result.get("complete") else "incomplete")))
        annotations.append((coords[0][0], short, "cutlabel"))
    add("</g>")

    # messages
    add('<g class="messages">')
    msg_labels = _Lane(1)
    label_lanes: dict[int, _Lane] = defaultdict(lambda: _Lane(2))
    for m in messages:
        if not _visible(m, lo, hi, folded):
            continue
        add(_draw_message(m, axis, y_of, n, wrap_top, wrap_bottom, row_h, msg_labels))
    add("</g>")

    # breaks drawn over whatever they hide
    add('<g class="breaks">')
    for b in axis.breaks:
        add(f'<g class="break"><rect x="{b.x0:.1f}" y="{header - 2:.1f}" '
            f'width="{b.x1 - b.x0:.1f}" height="{rows_bottom - header + 2:.1f}"/>')
        for pos in range(n):
            add(f'<line x1="{b.x0:.1f}" y1="{y_of[pos]:.1f}" x2="{b.x1:.1f}" '
                f'y2="{y_of[pos]:.1f}"/>')
        cx, cy = (b.x0 + b.x1) / 2, (header + rows_bottom) / 2
        add(f'<text class="breaklabel" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
            f'transform="rotate(-90 {cx:.1f} {cy:.1f})" dy="3.5">≈ {escape(b.label)} ≈</text>')
        add(f'<path d="M{b.x0:.1f},{header - 2:.1f} l4,-5 l4,5 M{b.x1 - 8:.1f},'
            f'{header - 2:.1f} l4,-5 l4,5" stroke="#999" fill="none"/></g>')
    add("</g>")
    # marks on the lines, over the breaks (their labels may reach into one)
    shutdown_ns = min((r["t_ns"] for r in everything if r["kind"] == "node_stopping"
                       and r.get("reason") == "shutdown"), default=float("inf"))
    add('<g class="marks">')
    for r in view:
        mark = _mark(r, axis, y_of, ids, label_lanes, row_h, shutdown_ns)
        if mark:
            add(mark)
    add("</g>")

    add("</g>")  # clip

    # harness decisions in the annotation lane
    for r in view:
        note = _annotation(r)
        if note:
            annotations.append((axis.x(r["t_ns"]), note, "note"))
    lane = _Lane(3)
    for x, text, cls in sorted(annotations):
        size = 10.0
        text_w = _text_width(text, size)
        flush_right = x + text_w > width - 6   # near the right edge: end at the line
        level = lane.place(x - text_w if flush_right else x, text_w)
        if level is None:
            continue
        y = 56 + 13 * level
        anchor = ' text-anchor="end"' if flush_right else ""
        add(f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}"{anchor}>{escape(text)}</text>')
        add(f'<line x1="{x:.1f}" y1="{y + 2:.1f}" x2="{x:.1f}" y2="{header - 18:.1f}" '
            f'stroke="#ccc" stroke-width="0.8"/>')

    # row labels
    first_pid = {}
    for life in node_lives:
        if life.pos not in first_pid and (life.end_ns or hi) >= lo:
            first_pid[life.pos] = life.pid
    for pos in range(n):
        y = y_of[pos]
        add(f'<text class="rowlabel" x="12" y="{y - 2:.1f}">p{pos} · id {ids.get(pos, "?")}'
            "</text>")
        if pos in first_pid:
            add(f'<text class="pidlabel" x="12" y="{y + 11:.1f}">pid {first_pid[pos]}</text>')
    add(f'<text class="pidlabel" x="12" y="{wrap_bottom + 4:.1f}">↓ wraps to p0</text>')

    add(_legend(14, legend_y, width))
    add("</svg>")
    return "\n".join(out) + "\n"


def _widest_visible(x0: float, x1: float, breaks: list[Break]) -> tuple[float, float]:
    """The widest stretch of [x0, x1] that no break covers."""
    spans = [(x0, x1)]
    for b in breaks:
        spans = [piece for a, c in spans
                 for piece in ((a, min(c, b.x0)), (max(a, b.x1), c)) if piece[1] > piece[0]]
    return max(spans, key=lambda span: span[1] - span[0], default=(x0, x0))


def _visible(m: Message, lo: int, hi: int, folded) -> bool:
    end = m.received_ns if m.received_ns is not None else m.sent_ns
    if end < lo or m.sent_ns > hi:
        return False
    return not (folded(m.sent_ns) and folded(end))


def _tick_step(px_per_ms: float) -> float:
    for step in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000,
                 10000, 30000, 60000):
        if step * px_per_ms >= 70:
            return step
    return 120000


def _defs() -> str:
    parts = ["<defs>"]
    for kind in MESSAGE_KINDS:
        colour = COLOURS[kind]
        parts.append(
            f'<marker id="head-{kind}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
        parts.append(
            f'<marker id="bar-{kind}" viewBox="0 0 10 10" refX="5" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto">'
            f'<path d="M5,0 L5,10" stroke="{colour}" stroke-width="3"/></marker>')
    parts.append('<marker id="cross" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="7" '
                 'markerHeight="7"><path d="M1,1 L9,9 M9,1 L1,9" stroke="#d62728" '
                 'stroke-width="2"/></marker>')
    parts.append("</defs>")
    return "".join(parts)


_ENDS_IN_A_BAR = ("swallowed", "dropped", "stale", "fenced")


def _draw_message(m: Message, axis: TimeAxis, y_of: dict, n: int, wrap_top: float,
                  wrap_bottom: float, row_h: float, labels: _Lane) -> str:
    x1, y1 = axis.x(m.sent_ns), y_of[m.src]
    title = escape(m.label + (f": {m.outcome} at node {m.dst}" if m.delivered
                              else ": never received"))
    cls = f"msg {m.kind}" + ("" if m.delivered else " lost")
    if not m.delivered:
        dy = row_h * 0.45 * (1 if m.direction == "right" else -1)
        return (f'<g class="{cls}"><title>{title}</title><line x1="{x1:.1f}" y1="{y1:.1f}" '
                f'x2="{x1 + 10:.1f}" y2="{y1 + dy:.1f}" marker-end="url(#cross)"/></g>')
    x2, y2 = axis.x(m.received_ns), y_of[m.dst]
    end = f"bar-{m.kind}" if m.outcome in _ENDS_IN_A_BAR else f"head-{m.kind}"
    wraps = (m.direction == "right" and m.dst <= m.src) or (
        m.direction == "left" and m.dst >= m.src)
    parts = [f'<g class="{cls}" data-outcome="{m.outcome}"><title>{title}</title>']
    if wraps and n > 1:
        xm = (x1 + x2) / 2
        exit_y, enter_y = (wrap_bottom, wrap_top) if m.direction == "right" else (
            wrap_top, wrap_bottom)
        parts.append(f'<path d="M{x1:.1f},{y1:.1f} L{xm:.1f},{exit_y:.1f} '
                     f'M{xm:.1f},{enter_y:.1f} L{x2:.1f},{y2:.1f}" '
                     f'marker-end="url(#{end})"/>')
    else:
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'marker-end="url(#{end})"/>')
    if m.kind == "candidate":
        text = m.label.split()[1]
        lx, ly = (x1 + x2) / 2 + 2, (y1 + y2) / 2 + 3 if not wraps else y1 + row_h * 0.3
        if labels.place(lx, _text_width(text, 9) + 6) is not None:
            parts.append(f'<text class="msglabel" x="{lx:.1f}" y="{ly:.1f}" '
                         f'fill="{COLOURS["candidate"]}">{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _mark(r: Record, axis: TimeAxis, y_of: dict, ids: dict, lanes: dict,
          row_h: float, shutdown_ns: float) -> str | None:
    kind = r["kind"]
    if axis.in_break(r["t_ns"]):
        return None
    x, y = axis.x(r["t_ns"]), y_of[r["pos"]]
    lane = lanes[r["pos"]]

    def label(text: str, colour: str, below: bool = False) -> str:
        width = _text_width(text, 9)
        level = lane.place(x - 2, width) if not below else 0
        if level is None:
            return ""
        ly = y + 13 if below else y - 7 - 10 * level
        return (f'<text class="mark" x="{x - 2:.1f}" y="{ly:.1f}" fill="{colour}">'
                f"{escape(text)}</text>")

    tip = escape(_describe(r))
    if kind == "fault":
        fault = r.get("fault")
        if fault in ("SIGKILL", "SIGTERM"):
            cls = "kill" if fault == "SIGKILL" else "term"
            colour = COLOURS["kill" if fault == "SIGKILL" else "term"]
            return (f'<g><title>{tip}</title><path class="{cls}" d="M{x - 5:.1f},{y - 5:.1f} '
                    f'l10,10 m0,-10 l-10,10"/>{label(fault, colour)}</g>')
        if fault in ("SIGSTOP", "SIGCONT"):
            return (f'<g><title>{tip}</title><line x1="{x:.1f}" y1="{y - row_h * 0.42:.1f}" '
                    f'x2="{x:.1f}" y2="{y + row_h * 0.42:.1f}" stroke="#21618c" '
                    f'stroke-width="1.2"/></g>')
        return (f'<g><title>{tip}</title><rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" '
                f'height="8" fill="{COLOURS["kill"]}"/>{label(str(fault), COLOURS["kill"])}</g>')
    if kind in ("link_down", "link_retired"):
        if r["t_ns"] >= shutdown_ns:
            return None  # the orderly end of the run: every link closes, not news
        # link_retired: EOF on a link already replaced (the new one came first)
        up = r.get("side") == "left"   # the left neighbour is the row above
        d = (f"M{x - 4:.1f},{y - 2:.1f} l4,-7 l4,7 z" if up else
             f"M{x - 4:.1f},{y + 2:.1f} l4,7 l4,-7 z")
        return (f'<g><title>{tip}</title><path d="{d}" fill="{COLOURS["eof"]}"/>'
                f'{label("EOF", COLOURS["eof"])}</g>')
    if kind == "message_lost":
        return (f'<g><title>{tip}</title><path class="kill" d="M{x - 3:.1f},{y - 3:.1f} '
                f'l6,6 m0,-6 l-6,6"/>{label("send failed", COLOURS["kill"])}</g>')
    if kind == "node_exited":
        code = r.get("exitcode")
        if code == 0:
            return (f'<g><title>{tip}</title><line x1="{x:.1f}" y1="{y - 4:.1f}" '
                    f'x2="{x:.1f}" y2="{y + 4:.1f}" stroke="#555" stroke-width="1.5"/></g>')
        return (f'<g><title>{tip}</title><rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" '
                f'height="7" fill="#222"/>{label(f"reaped, exit {code}", "#222", below=True)}</g>')
    if kind == "restarted":
        text = label(f"restart → pid {r['pid']}", COLOURS["restart"])
        return (f'<g><title>{tip}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" '
                f'fill="{COLOURS["restart"]}"/>{text}</g>')
    if kind == "leader":
        text = label(f"leader r{r['round']}", "#7a5c00")
        return (f'<g><title>{tip}</title><path d="{_star(x, y, 7)}" fill="#f2c12e" '
                f'stroke="#7a5c00" stroke-width="0.8"/>{text}</g>')
    if kind == "token_created":
        text = label(f"token e{r['epoch']}", COLOURS["token"], below=True)
        return (f'<g><title>{tip}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" '
                f'fill="{COLOURS["token"]}"/>{text}</g>')
    if kind == "token_injected":
        text = label(f"duplicate e{r['epoch']}", COLOURS["kill"])
        return (f'<g><title>{tip}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" '
                f'fill="{COLOURS["token"]}" stroke="#d62728" stroke-width="1.5"/>{text}</g>')
    if kind in ("token_fenced", "token_dropped"):
        text = f"fenced e{r['epoch']}" if kind == "token_fenced" else f"dropped e{r['epoch']}"
        return (f'<g><title>{tip}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" '
                f'fill="#fff" stroke="{COLOURS["stale"]}" stroke-width="1.6"/>'
                f'<path d="M{x - 3.2:.1f},{y + 3.2:.1f} l6.4,-6.4" stroke="{COLOURS["stale"]}" '
                f'stroke-width="1.6"/>{label(text, COLOURS["stale"])}</g>')
    if kind == "token_blocked":
        return (f'<g><title>{tip}</title><rect x="{x - 3.5:.1f}" y="{y - 3.5:.1f}" width="7" '
                f'height="7" fill="{COLOURS["token"]}"/>'
                f'{label("kept: right link down", COLOURS["token"])}</g>')
    if kind in ("bypassed", "rejoined", "supervisor_gave_up", "bad_frame", "leader_conflict"):
        text = {"bypassed": "bypassed", "rejoined": "rejoined",
                "supervisor_gave_up": "given up", "bad_frame": "bad frame",
                "leader_conflict": "leader conflict"}[kind]
        return f'<g><title>{tip}</title>{label(text, "#444")}</g>'
    if kind == "node_stopping" and r.get("reason") == "SIGTERM":
        return f'<g><title>{tip}</title>{label("goodbye", COLOURS["term"], below=True)}</g>'
    return None


def _star(x: float, y: float, r: float) -> str:
    import math
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = math.pi / 2 + i * math.pi / 5
        points.append(f"{x + radius * math.cos(angle):.1f},{y - radius * math.sin(angle):.1f}")
    return "M" + " L".join(points) + " z"


def _describe(r: Record) -> str:
    fields = {k: v for k, v in r.items() if k not in ("t_ns", "pos", "id", "pid", "kind")
              and not k.startswith("_")}
    return (f"{r['kind']} at node {r['pos']} (pid {r.get('pid')})"
            + (": " + ", ".join(f"{k}={v}" for k, v in fields.items()) if fields else ""))


def _annotation(r: Record) -> str | None:
    kind = r["kind"]
    if kind == "election_round":
        return f"round {r['round']}: candidates {','.join(map(str, r['candidate_ids']))}"
    if kind == "recovered":
        return f"recovered ({r['cause']}) in {r['total_ms']:.0f} ms"
    if kind == "recovery_failed":
        return f"recovery FAILED ({r['cause']})"
    if kind == "round_abandoned":
        return f"round {r['round']} abandoned"
    if kind == "note" and isinstance(r.get("text"), str):
        return r["text"]   # a lesson's own remark
    return None


def _legend(x: float, y: float, width: float) -> str:
    items = [
        ("arrow", "token", "token"), ("arrow", "marker", "snapshot marker"),
        ("arrow", "candidate", "candidate ID"), ("arrow", "elected", "leader announcement"),
        ("bar", "candidate", "swallowed / fenced"), ("lost", "token", "sent, never received"),
        ("hold", "", "holds the token"), ("stalehold", "", "holds a stale token"),
        ("cut", "", "snapshot cut"),
        ("kill", "", "SIGKILL"), ("term", "", "SIGTERM"), ("stop", "", "SIGSTOP..SIGCONT"),
        ("reap", "", "killed, not yet reaped"), ("restart", "", "restarted (new pid)"),
        ("eof", "", "EOF on a link"), ("fenced", "", "stale token fenced"),
        ("leader", "", "leader"), ("bypassed", "", "bypassed"),
    ]
    parts = [f'<g class="legend" transform="translate({x:.1f},{y:.1f})">']
    col_w = 172
    per_row = max(1, int((max(width, 900) - 28) // col_w))
    for i, (shape, kind, text) in enumerate(items):
        cx, cy = (i % per_row) * col_w, (i // per_row) * 20
        parts.append(_legend_symbol(shape, kind, cx, cy))
        parts.append(f'<text x="{cx + 30}" y="{cy + 4}">{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _legend_symbol(shape: str, kind: str, x: float, y: float) -> str:
    if shape == "arrow":
        return (f'<g class="key {kind}"><line x1="{x}" y1="{y + 4}" x2="{x + 24}" y2="{y - 2}" '
                f'marker-end="url(#head-{kind})"/></g>')
    if shape == "bar":
        return (f'<g class="key {kind}"><line x1="{x}" y1="{y + 4}" x2="{x + 22}" y2="{y - 2}" '
                f'marker-end="url(#bar-{kind})"/></g>')
    if shape == "lost":
        return (f'<g class="key {kind} lost"><line x1="{x}" y1="{y - 3}" x2="{x + 18}" '
                f'y2="{y + 5}" marker-end="url(#cross)"/></g>')
    if shape == "hold":
        return f'<line class="hold" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>'
    if shape == "stalehold":
        return f'<line class="hold stale" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>'
    if shape == "cut":
        return f'<line class="cut" x1="{x + 4}" y1="{y - 7}" x2="{x + 18}" y2="{y + 7}"/>'
    if shape in ("kill", "term"):
        return f'<path class="{shape}" d="M{x + 7},{y - 5} l10,10 m0,-10 l-10,10"/>'
    if shape == "stop":
        return f'<rect class="stopband" x="{x}" y="{y - 7}" width="24" height="14"/>'
    if shape == "reap":
        return f'<line class="reaping" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>'
    if shape == "restart":
        return f'<circle cx="{x + 12}" cy="{y}" r="4.5" fill="{COLOURS["restart"]}"/>'
    if shape == "eof":
        return f'<path d="M{x + 8},{y + 3} l4,-7 l4,7 z" fill="{COLOURS["eof"]}"/>'
    if shape == "fenced":
        return (f'<circle cx="{x + 12}" cy="{y}" r="4.5" fill="#fff" stroke="{COLOURS["stale"]}" '
                f'stroke-width="1.6"/><path d="M{x + 8.8},{y + 3.2} l6.4,-6.4" '
                f'stroke="{COLOURS["stale"]}" stroke-width="1.6"/>')
    if shape == "leader":
        return f'<path d="{_star(x + 12, y, 7)}" fill="#f2c12e" stroke="#7a5c00" stroke-width="0.8"/>'
    if shape == "bypassed":
        return f'<line class="bypassed" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>'
    return ""
