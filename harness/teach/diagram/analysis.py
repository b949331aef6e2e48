"""What a trace shows happened: messages, token holdings, process lives, snapshot
cuts, stop and bypass bands, and the stretches worth folding away.

Everything here is read from the records (DESIGN.md, "Trace"); nothing is assumed
and nothing is drawn. The layout and the drawing take these facts as they are.

A trace logs sends and receipts as separate events, so messages are paired up:
each receipt takes the oldest unmatched send with the same contents (token epoch
and hop, snapshot id and direction, round and candidate ID) from the nearest node
upstream. Links are FIFO, so this is the send that produced it. A node reports a
send before making it (``token_passed``, ``candidate_forwarded`` and ``elected``
come before the bytes leave), so a send is never stamped after its receipt. A send
that nothing received (its reader died, or was stopped and bypassed) stays
unpaired; a token pass that failed (EPIPE) is paired with the ``token_returned``
that gave the token back.
"""
from __future__ import annotations

import heapq
import statistics
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Iterable

from emulator import records as kinds
from emulator.records import holdings as schema_holdings

Record = dict

# Messages are named as on the wire (emulator/protocol/messages.py): a message is not
# a record kind, though its receipt and send are.
TOKEN, MARKER, CANDIDATE, ELECTED = "Token", "Marker", "Candidate", "Elected"
MESSAGE_KINDS = (TOKEN, MARKER, CANDIDATE, ELECTED)
# The steps of a snapshot or an election that the picture draws: they come in bursts,
# far faster than the token.
BURST_KINDS = frozenset((kinds.SNAPSHOT_STARTED, kinds.MARKER_RECEIVED, kinds.CANDIDATE,
                         kinds.CANDIDATE_FORWARDED, kinds.CANDIDATE_SWALLOWED,
                         kinds.CANDIDATE_DROPPED, kinds.CANDIDATE_STALE, kinds.LEADER,
                         kinds.ELECTED, kinds.ELECTION_COMPLETE, kinds.ELECTED_DROPPED,
                         kinds.ELECTED_STALE))
_ROUND_STEPS = frozenset((kinds.ELECTION_START, kinds.CANDIDATE, kinds.CANDIDATE_FORWARDED,
                          kinds.CANDIDATE_SWALLOWED, kinds.CANDIDATE_DROPPED, kinds.LEADER,
                          kinds.ELECTED, kinds.ELECTION_COMPLETE, kinds.ELECTED_DROPPED))


def episodes(records: list[Record]) -> list[tuple[int, int]]:
    """(start, end) of each snapshot (its start to the harness's answer, or its last
    marker) and each election round (its start to its completion, or its last step):
    the bursts the picture magnifies. What arrives late or stale is not part of one."""
    spans: dict[tuple, list[int]] = {}
    answered: dict[tuple, int] = {}
    for r in records:
        kind = r["kind"]
        if kind == kinds.SNAPSHOT_RESULT:
            answered[("snapshot", tuple(r["sid"]))] = r["t_ns"]
        elif kind == kinds.ELECTION_COMPLETE:
            answered[("round", r["round"])] = r["t_ns"]
        if kind in (kinds.SNAPSHOT_STARTED, kinds.MARKER_RECEIVED) and not r.get("late"):
            key = ("snapshot", tuple(r["sid"]))
        elif kind in _ROUND_STEPS:
            key = ("round", r["round"])
        else:
            continue
        span = spans.setdefault(key, [r["t_ns"], r["t_ns"]])
        span[0], span[1] = min(span[0], r["t_ns"]), max(span[1], r["t_ns"])
    return sorted((a, min(b, answered.get(key, b))) for key, (a, b) in spans.items())


_TOKEN_KINDS = (kinds.TOKEN_RECEIVED, kinds.TOKEN_PASSED, kinds.TOKEN_CREATED, kinds.TOKEN_INJECTED,
                kinds.TOKEN_RETURNED, kinds.TOKEN_FENCED, kinds.TOKEN_DROPPED, kinds.TOKEN_BLOCKED)


def candidate_id(record: Record) -> int:
    """The candidate ID a ``candidate_*`` record is about (its ``id`` is the node's)."""
    return record["candidate_id"]


def sorted_records(records: Iterable[Record]) -> list[Record]:
    """Time order (stable: one process's own events keep their order on a tie)."""
    return sorted(records, key=lambda r: r["t_ns"])


def positions(records: list[Record]) -> int:
    return max((r["pos"] for r in records), default=-1) + 1


def node_ids(records: list[Record]) -> dict[int, int]:
    """Position -> node ID (fixed for a position across restarts)."""
    ids: dict[int, Counter] = defaultdict(Counter)
    for r in records:
        ids[r["pos"]][r["id"]] += 1
    return {pos: counts.most_common(1)[0][0] for pos, counts in ids.items()}


def epochs(records: list[Record]) -> list[int]:
    """Every token epoch the trace mentions, in order: the diagram colours by these."""
    return sorted({r["epoch"] for r in records if r["kind"] in _TOKEN_KINDS})


# --- messages ------------------------------------------------------------------------


@dataclass
class Message:
    kind: str                 # one of MESSAGE_KINDS
    src: int
    sent_ns: int
    direction: str            # "right" or "left": the way it travels round the ring
    label: str                # what it carried, for tooltips and labels
    dst: int | None = None
    received_ns: int | None = None
    outcome: str = "lost"     # received, forwarded, swallowed, fenced, home, returned, ...
    epoch: int | None = None  # a token's epoch

    @property
    def delivered(self) -> bool:
        return self.received_ns is not None


class _Pending:
    """Unmatched sends by contents; a receipt takes the nearest upstream, oldest first."""

    def __init__(self, n: int) -> None:
        self.n = max(n, 1)
        self.by_key: dict[tuple, deque[Message]] = defaultdict(deque)

    def add(self, key: tuple, message: Message) -> None:
        self.by_key[key].append(message)

    def take(self, key: tuple, pos: int, t_ns: int, partial: bool = False,
             own: bool = False) -> Message | None:
        """The send a receipt at ``pos`` takes (``own``: a send of ``pos`` itself that
        came back, as a failed pass does)."""
        keys = ([k for k in self.by_key if k[:len(key)] == key] if partial else [key])
        best: tuple | None = None
        for k in keys:
            for message in self.by_key.get(k, ()):
                if (message.src == pos) != own or message.sent_ns > t_ns:
                    continue
                rank = (self._distance(message, pos), message.sent_ns)
                if best is None or rank < best[0]:
                    best = (rank, k, message)
        if best is None:
            return None
        _, k, message = best
        self.by_key[k].remove(message)
        return message

    def _distance(self, message: Message, pos: int) -> int:
        if message.direction == "right":
            return (pos - message.src) % self.n
        return (message.src - pos) % self.n


def _announced_rounds(records: list[Record]) -> set[int]:
    """Rounds whose leader sent an announcement (an Elected) round the ring."""
    announcing = (kinds.ELECTED, kinds.ELECTED_DROPPED, kinds.ELECTED_STALE)
    rounds = {r["round"] for r in records if r["kind"] in announcing}
    rounds |= {r["round"] for r in records
               if r["kind"] == kinds.ELECTION_STALE and r.get("message") == "Elected"}
    # announce mode: election_complete comes later than leader, by an Elected's lap
    leaders = {r["round"]: r["t_ns"] for r in records if r["kind"] == kinds.LEADER}
    rounds |= {r["round"] for r in records if r["kind"] == kinds.ELECTION_COMPLETE
               and r["round"] in leaders and r["t_ns"] > leaders[r["round"]]}
    return rounds


def _send_of(r: Record, ids: dict[int, int], announced: set[int]) -> list[tuple]:
    """(key, Message) for every ring message record ``r`` says was sent."""
    kind, pos, t = r["kind"], r["pos"], r["t_ns"]
    if kind == kinds.TOKEN_PASSED:
        label = (f"token epoch {r['epoch']} hop {r['hop']}"
                 + (" (hand-over)" if r.get("handover") else ""))
        return [((TOKEN, r["epoch"], r["hop"]),
                 Message(TOKEN, pos, t, "right", label, epoch=r["epoch"]))]
    if kind == kinds.SNAPSHOT_STARTED or (kind == kinds.MARKER_RECEIVED and r.get("first")):
        sid = tuple(r["sid"])
        return [((MARKER, sid, way), Message(MARKER, pos, t, way,
                                               f"marker {sid} going {way}"))
                for way in ("right", "left")]
    if kind in (kinds.CANDIDATE, kinds.CANDIDATE_FORWARDED):
        cid = ids.get(pos, r["id"]) if kind == kinds.CANDIDATE else candidate_id(r)
        return [((CANDIDATE, r["round"], cid),
                 Message(CANDIDATE, pos, t, "right", f"candidate {cid} (round {r['round']})"))]
    if kind == kinds.LEADER and r["round"] in announced or kind == kinds.ELECTED:
        leader = r["leader_id"] if kind == kinds.ELECTED else ids.get(pos, r["id"])
        return [((ELECTED, r["round"], leader),
                 Message(ELECTED, pos, t, "right", f"elected {leader} (round {r['round']})"))]
    return []


_CANDIDATE_RECEIPTS = (kinds.CANDIDATE_FORWARDED, kinds.CANDIDATE_SWALLOWED, kinds.CANDIDATE_DROPPED,
                       kinds.CANDIDATE_STALE)


def _receipt_of(r: Record, ids: dict[int, int]) -> tuple | None:
    """(key, outcome, partial, own) of the message record ``r`` says arrived."""
    kind = r["kind"]
    if kind in (kinds.TOKEN_RECEIVED, kinds.TOKEN_FENCED):
        return (TOKEN, r["epoch"], r["hop"]), kind.split("_")[1], False, False
    if kind == kinds.TOKEN_RETURNED:   # the pass of hop + 1 failed and came back
        return (TOKEN, r["epoch"], r["hop"] + 1), "returned", False, True
    if kind == kinds.MARKER_RECEIVED:
        outcome = "first" if r.get("first") else ("late" if r.get("late") else "received")
        way = "right" if r["side"] == "left" else "left"
        return (MARKER, tuple(r["sid"]), way), outcome, False, False
    if kind in _CANDIDATE_RECEIPTS:
        return (CANDIDATE, r["round"], candidate_id(r)), kind.split("_")[1], False, False
    if kind == kinds.LEADER:
        return (CANDIDATE, r["round"], ids.get(r["pos"], r["id"])), "home", False, False
    if kind in (kinds.ELECTED, kinds.ELECTION_COMPLETE, kinds.ELECTED_DROPPED):
        outcome = {kinds.ELECTED: "forwarded", kinds.ELECTION_COMPLETE: "home"}.get(kind, "dropped")
        return (ELECTED, r["round"], r["leader_id"]), outcome, False, False
    if kind == kinds.ELECTED_STALE:
        return (ELECTED, r["round"]), "stale", True, False
    if kind == kinds.ELECTION_STALE and r.get("message") in ("Candidate", "Elected"):
        return (r["message"], r["round"]), "stale", True, False
    return None


def pair_messages(ordered: list[Record]) -> list[Message]:
    """Every ring message the time-ordered records show, paired send-to-receipt.

    Sends first, all of them (a send is a fact of its own record), then every
    receipt in time order takes its send."""
    ids = node_ids(ordered)
    announced = _announced_rounds(ordered)
    pending = _Pending(positions(ordered))
    messages: list[Message] = []
    for r in ordered:
        for key, message in _send_of(r, ids, announced):
            messages.append(message)
            pending.add(key, message)
    for r in ordered:
        receipt = _receipt_of(r, ids)
        if receipt is None:
            continue
        key, outcome, partial, own = receipt
        message = pending.take(key, r["pos"], r["t_ns"], partial, own)
        if message is not None:
            message.dst, message.received_ns, message.outcome = r["pos"], r["t_ns"], outcome
    messages.sort(key=lambda m: m.sent_ns)
    return messages


def extract_messages(records: Iterable[Record]) -> list[Message]:
    """Every ring message the trace shows, paired send-to-receipt, in send order."""
    return pair_messages(sorted_records(records))


# --- who held the token ---------------------------------------------------------------


@dataclass
class Hold:
    pos: int
    epoch: int
    start_ns: int
    end_ns: int | None = None
    stale_from_ns: int | None = None  # a newer epoch was created while it was held


def holdings(records: Iterable[Record]) -> list[Hold]:
    """When each node held a token: the checker's holdings (one rule for both), each
    marked stale from the moment a newer epoch was created while it was held."""
    ordered = sorted_records(records)
    created = sorted((r["t_ns"], r["epoch"]) for r in ordered if r["kind"] == kinds.TOKEN_CREATED)
    holds = []
    for h in schema_holdings(ordered):
        end = None if h.end_ns == float("inf") else int(h.end_ns)
        hold = Hold(h.pos, h.epoch, h.start_ns, end)
        hold.stale_from_ns = next(
            (t for t, epoch in created if epoch > hold.epoch and t > hold.start_ns
             and (end is None or t < end)), None)
        holds.append(hold)
    return sorted(holds, key=lambda h: h.start_ns)


# --- process lives, bands, cuts ----------------------------------------------------------


@dataclass
class Life:
    pos: int
    pid: int
    start_ns: int
    end_ns: int | None = None
    exitcode: int | None = None
    killed_ns: int | None = None   # SIGKILL sent: from here to the reap it is dying/zombie


def is_kill(r: Record) -> bool:
    return r["kind"] == kinds.FAULT and (r.get("fault") == "SIGKILL"
                                     or r.get("signal") in ("SIGKILL", 9))


def is_stop(r: Record) -> bool:
    return r["kind"] == kinds.FAULT and (r.get("fault") == "SIGSTOP"
                                     or r.get("signal") in ("SIGSTOP", 19))


def is_resume(r: Record) -> bool:
    return (r["kind"] == kinds.FAULT and r.get("fault") == "SIGCONT") or r["kind"] == kinds.RESUMED


def lives(records: list[Record]) -> list[Life]:
    """One life per process: per (position, pid), and a new one when a position
    starts again after it exited (the model checker's restarts keep pid 0)."""
    found: list[Life] = []
    current: dict[tuple, Life] = {}
    for r in records:
        pid = r.get("pid")
        if pid is None or r["kind"] == kinds.HYGIENE:
            continue
        key = (r["pos"], pid)
        life = current.get(key)
        if life is None or (life.end_ns is not None and r["kind"] == kinds.NODE_STARTED):
            life = current[key] = Life(r["pos"], pid, r["t_ns"])
            found.append(life)
        if r["kind"] == kinds.NODE_EXITED:
            life.end_ns, life.exitcode = r["t_ns"], r.get("exitcode")
        elif is_kill(r) and life.killed_ns is None:
            life.killed_ns = r["t_ns"]
    return sorted(found, key=lambda life: life.start_ns)


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


def stop_bands(records: list[Record]) -> list[tuple]:
    """SIGSTOP .. SIGCONT (or the exit), per position."""
    return bands(records, is_stop, lambda r: is_resume(r) or r["kind"] == kinds.NODE_EXITED)


def bypass_bands(records: list[Record]) -> list[tuple]:
    # A replacement started outside the ring (restarted, outside) stays bypassed
    # until it rejoins; a restart in place ends the bypass.
    return bands(records, lambda r: r["kind"] == kinds.BYPASSED,
                 lambda r: r["kind"] == kinds.REJOINED
                 or (r["kind"] == kinds.RESTARTED and not r.get("outside")))


@dataclass
class Cut:
    sid: tuple
    points: dict[int, int] = field(default_factory=dict)   # pos -> when it recorded
    result: Record | None = None
    parts: dict[int, Record] = field(default_factory=dict)


def cuts(records: list[Record]) -> list[Cut]:
    found: dict[tuple, Cut] = {}
    for r in records:
        kind = r["kind"]
        if kind not in (kinds.SNAPSHOT_STARTED, kinds.MARKER_RECEIVED, kinds.SNAPSHOT_PART,
                        kinds.SNAPSHOT_RESULT):
            continue
        cut = found.setdefault(tuple(r["sid"]), Cut(tuple(r["sid"])))
        if kind == kinds.SNAPSHOT_STARTED or (kind == kinds.MARKER_RECEIVED and r.get("first")):
            cut.points.setdefault(r["pos"], r["t_ns"])
        elif kind == kinds.SNAPSHOT_PART:
            cut.parts[r["pos"]] = r
        else:
            cut.result = r
    return [c for c in found.values() if c.points]


def shutdown_ns(records: list[Record]) -> float:
    """When the orderly stop at the end began: the EOFs after it are not news."""
    return min((r["t_ns"] for r in records if r["kind"] == kinds.RING_STOPPING
                or (r["kind"] == kinds.NODE_STOPPING and r.get("reason") == "shutdown")),
               default=float("inf"))


# --- what to fold away ------------------------------------------------------------------


@dataclass
class Break:
    """A stretch of time the picture leaves out, saying how much it hides."""
    start_ns: int
    end_ns: int
    label: str
    x0: float = 0.0
    x1: float = 0.0


def duration(ns: float) -> str:
    ms = ns / 1e6
    if ms >= 1000:
        return f"{ms / 1000:.2f} s"
    if ms >= 10:
        return f"{ms:.0f} ms"
    if ms >= 0.1:
        return f"{ms:.1f} ms"
    return f"{ns / 1e3:.0f} µs"


_ROUTINE = (kinds.TOKEN_PASSED, kinds.TOKEN_RECEIVED)


def _fold_run(run: list[Record], keep_laps: int, min_laps: int) -> Break | None:
    receipts = [i for i, r in enumerate(run) if r["kind"] == kinds.TOKEN_RECEIVED]
    lap = len({run[i]["pos"] for i in receipts}) or 1
    if len(receipts) < (min_laps + 2 * keep_laps) * lap:
        return None
    first = receipts[keep_laps * lap - 1]
    last = receipts[len(receipts) - keep_laps * lap]
    # from just after a receipt to the pass that follows the last folded one
    end = next((j for j in range(last, len(run)) if run[j]["kind"] == kinds.TOKEN_PASSED), None)
    if end is None or run[end]["t_ns"] <= run[first]["t_ns"]:
        return None
    hops = sum(1 for r in run[first + 1:end] if r["kind"] == kinds.TOKEN_RECEIVED)
    a, b = run[first]["t_ns"], run[end]["t_ns"]
    return Break(a, b, f"{hops} hops in {duration(b - a)} folded")


def fold_quiet_laps(records: Iterable[Record], keep_laps: int = 1,
                    min_laps: int = 4) -> list[Break]:
    """Stretches where only the token moves, longer than ``min_laps`` laps: fold the
    middle, keeping ``keep_laps`` at each end."""
    return thin_quiet_laps(records, keep_laps, min_laps)[1]


def thin_quiet_laps(records: Iterable[Record], keep_laps: int = 1, min_laps: int = 4,
                    reorder: int = 8192, keep_ms: tuple | None = None
                    ) -> tuple[list[Record], list[Break]]:
    """The records in time order without the middle of each long quiet stretch, and
    the folds that stand for them. Records stream through: only a few laps of each
    stretch are held at once, so a trace of any length costs memory in proportion to
    what the picture shows. (The harness writes records nearly in time order; a
    window of ``reorder`` records puts them in order.) Nothing is thinned within
    ``keep_ms`` (ms since the first record, either end None): a window to draw."""
    kept: list[Record] = []
    folds: list[Break] = []
    run: _Run | None = None
    n, keep = 2, None
    for r in _time_ordered(records, reorder):
        n = max(n, r["pos"] + 1)
        keep = keep or _keep_test(r["t_ns"], keep_ms)
        if r["kind"] in _ROUTINE and not keep(r["t_ns"]):
            run = run or _Run(8 * n + 16)
            run.add(r)
            continue
        if run is not None:
            run.close(kept, folds, keep_laps, min_laps, 2 * n + 2)
            run = None
        kept.append(r)
    if run is not None:
        run.close(kept, folds, keep_laps, min_laps, 2 * n + 2)
    return kept, folds


def _keep_test(origin: int, keep_ms: tuple | None):
    if keep_ms is None:
        return lambda t: False
    lo = origin + (keep_ms[0] or 0) * 1e6
    hi = float("inf") if keep_ms[1] is None else origin + keep_ms[1] * 1e6
    return lambda t: lo <= t <= hi


def _time_ordered(records: Iterable[Record], window: int):
    heap: list[tuple[int, int, Record]] = []
    for seq, r in enumerate(records):
        heapq.heappush(heap, (r["t_ns"], seq, r))
        if len(heap) > window:
            yield heapq.heappop(heap)[2]
    while heap:
        yield heapq.heappop(heap)[2]


class _Run:
    """A stretch of token moves seen one record at a time: its first ``cap`` records,
    its last ``cap``, and counts of everything between."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.head: list[Record] = []
        self.tail: deque[Record] = deque(maxlen=cap)
        self.length = self.receipts = 0
        self.positions: set[int] = set()

    def add(self, r: Record) -> None:
        self.length += 1
        if r["kind"] == kinds.TOKEN_RECEIVED:
            self.receipts += 1
            self.positions.add(r["pos"])
        (self.head if len(self.head) < self.cap else self.tail).append(r)

    def close(self, kept: list, folds: list, keep_laps: int, min_laps: int,
              margin: int) -> None:
        """Append what the picture keeps of this stretch, and its fold if any. Around
        each end of a fold ``margin`` records more are kept (hidden under it), so
        that the holdings on either side begin and end where they really do."""
        tail = list(self.tail)
        if self.length == len(self.head) + len(tail):   # all of it is here
            whole = self.head + tail
            fold = _fold_run(whole, keep_laps, min_laps)
            kept.extend(whole)
            if fold is not None:
                folds.append(fold)
            return
        lap = len(self.positions) or 1
        first = _nth_receipt(self.head, keep_laps * lap)
        last = _nth_receipt(tail[::-1], keep_laps * lap)
        last = len(tail) - 1 - last
        end = next((j for j in range(last, len(tail)) if tail[j]["kind"] == kinds.TOKEN_PASSED),
                   len(tail) - 1)
        after = sum(1 for r in tail[end:] if r["kind"] == kinds.TOKEN_RECEIVED)
        hops = self.receipts - keep_laps * lap - after
        a, b = self.head[first]["t_ns"], tail[end]["t_ns"]
        folds.append(Break(a, b, f"{hops} hops in {duration(b - a)} folded"))
        kept.extend(_closed(self.head[:first + margin + 1]))
        kept.extend(tail[max(0, end - margin):])


def _closed(records: list[Record]) -> list[Record]:
    """``records`` without the receipts whose pass was folded away: a holding they
    opened would stay open across the fold and take the next pass as its own."""
    open_: dict[tuple, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        key = (r["pid"], r["epoch"])
        if r["kind"] == kinds.TOKEN_RECEIVED:
            open_[key].append(i)
        elif open_[key]:
            open_[key].pop(0)
    dangling = {i for taken in open_.values() for i in taken}
    return [r for i, r in enumerate(records) if i not in dangling]


def _nth_receipt(records: list[Record], count: int) -> int:
    """The index of the ``count``-th token receipt in ``records`` (or the last one)."""
    seen = 0
    for i, r in enumerate(records):
        if r["kind"] == kinds.TOKEN_RECEIVED:
            seen += 1
            if seen == count:
                return i
    return len(records) - 1


_STARTING = (kinds.NODE_STARTED, kinds.LINK_HANDED, kinds.REWIRED, kinds.PERSIST_EPOCH)


def fold_startup(records: list[Record], threshold_ns: float) -> list[Break]:
    """A ring that takes long to start (a big ring under spawn) has nothing to show
    until its last node is up: fold the wait between the first and the last start."""
    starts = []
    for r in records:
        if r["kind"] not in _STARTING:
            break
        if r["kind"] == kinds.NODE_STARTED:
            starts.append(r["t_ns"])
    if len(starts) < 3 or starts[-1] - starts[0] <= 2 * threshold_ns:
        return []
    a, b = starts[0], starts[-1]
    return [Break(a, b, f"{len(starts)} nodes start in {duration(b - a)}")]


def hop_ns(records: list[Record]) -> float:
    """The token's rhythm: the median time between two passes (2 ms when none)."""
    passes = [r["t_ns"] for r in records if r["kind"] == kinds.TOKEN_PASSED]
    return statistics.median([b - a for a, b in zip(passes, passes[1:])] or [2e6]) or 2e6


def silences(instants: list[int], folds: list[Break], threshold_ns: float) -> list[Break]:
    """Every gap between two visible instants longer than ``threshold_ns``."""
    folded = {(f.start_ns, f.end_ns) for f in folds}
    return [Break(a, b, f"{duration(b - a)} of silence")
            for a, b in zip(instants, instants[1:])
            if b - a > threshold_ns and (a, b) not in folded]
