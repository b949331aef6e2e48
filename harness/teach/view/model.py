"""What the interactive view shows, computed once in Python and embedded in the page.

Theory of operation
-------------------
The page replays a recorded run (DESIGN.md, "Trace"); it never guesses. What needs
the whole history to decide is decided here, with the very code the SVG diagram
uses (harness/teach/diagram.py), so the two pictures of one run agree:

* messages, each send paired with its receipt (``diagram.extract_messages``);
* token holdings (the checker's own, ``records.holdings``), process lives,
  SIGSTOP and bypass bands, snapshot cuts;
* the time axis: long silences (a detection timeout, a stopped node) are cut
  down to a labelled break, so a burst of election messages and a 150 ms wait
  share one scrubber. The page maps time to "axis time" through the knots;
* the checker's verdict (harness/invariants.py), each violation with its instant.

What is decided instant by instant (a node's role, round, fence, liveness) is a
fold over the events in the page itself, so any instant of a 100k-event run can
be shown without embedding 100k states. The events go in whole: the page draws a
decimated picture but searches every event.

Times in the page are nanoseconds since the first event (exact in a JS double for
104 days). Kind names reach the page's script as data (``KINDS``), so no kind
string is spelt in the script.
"""
from __future__ import annotations

import math
import re
import statistics
from typing import Iterable

from emulator import records

from ..diagram import analysis as diagram
from ..diagram.canvas import COLOURS, EPOCH_COLOURS
from ... import invariants

Record = dict

# The kinds the page's script reacts to, by the constant's name in emulator/records.py
# (the script says K.TOKEN_RECEIVED where this module says records.TOKEN_RECEIVED).
_SCRIPT_KINDS = (
    "NODE_STARTED", "NODE_EXITED", "NODE_STOPPING", "RESTARTED", "RESUMED", "FAULT",
    "BYPASSED", "REJOINED", "LINK_DOWN", "REWIRED", "MESSAGE_LOST",
    "TOKEN_RECEIVED", "TOKEN_PASSED", "TOKEN_CREATED", "TOKEN_FENCED", "TOKEN_DROPPED",
    "TOKEN_INJECTED", "TOKEN_RETURNED", "TOKEN_BLOCKED",
    "SNAPSHOT_STARTED", "MARKER_RECEIVED", "SNAPSHOT_PART", "SNAPSHOT_RESULT",
    "ELECTION_ROUND", "ELECTION_START", "CANDIDATE", "CANDIDATE_FORWARDED",
    "CANDIDATE_SWALLOWED", "LEADER", "ELECTED", "ELECTION_COMPLETE", "ROUND_ABANDONED",
    "RECOVERED", "RECOVERY_FAILED", "SUPERVISOR_GAVE_UP", "RING_STOPPING",
)
KINDS = {name: getattr(records, name) for name in _SCRIPT_KINDS}

# "Next event of a kind": the groups the controls step through.
GROUPS = {
    "fault": (records.FAULT, records.NODE_EXITED, records.RESTARTED, records.BYPASSED,
              records.REJOINED, records.MESSAGE_LOST, records.SUPERVISOR_GAVE_UP),
    "snapshot": (records.SNAPSHOT_STARTED, records.SNAPSHOT_RESULT),
    "election": (records.ELECTION_ROUND, records.CANDIDATE, records.LEADER,
                 records.ELECTION_COMPLETE, records.ROUND_ABANDONED),
    "token": tuple(sorted(records.TAKES | records.RELEASES | {records.TOKEN_BLOCKED})),
}

# Records the harness writes about the run rather than a node about itself.
HARNESS_KINDS = (records.FAULT, records.ELECTION_ROUND, records.SNAPSHOT_RESULT,
                 records.RECOVERED, records.RECOVERY_FAILED, records.ROUND_ABANDONED,
                 records.TRIAL_END, records.RING_STOPPING, records.HYGIENE, records.NOTE,
                 records.RESTARTED, records.BYPASSED, records.REJOINED, records.NODE_EXITED,
                 records.SUPERVISOR_GAVE_UP)

# Messages by their wire names (Token, Marker, ...), in lower case in the page, where
# they name CSS classes and data attributes (data-kind="token").
PAGE_MESSAGE_KINDS = {name: name.lower() for name in diagram.MESSAGE_KINDS}
MESSAGE_KINDS = tuple(PAGE_MESSAGE_KINDS)
_STANDARD = ("t_ns", "pos", "id", "pid", "kind")


def page_data(history: Iterable[Record], *, title: str,
              verdict: dict | None = None, recovery_deadline_ms: float | None = None) -> dict:
    """Everything the page needs, as plain JSON-able data.

    ``verdict`` is the checker's judgement to show; None runs harness.invariants
    over the records (with ``recovery_deadline_ms``)."""
    ordered = diagram.sorted_records(history)
    if not ordered:
        raise ValueError("the trace has no events")
    origin = ordered[0]["t_ns"]
    n = diagram.positions(ordered)
    kind_names = sorted({r["kind"] for r in ordered} | set(KINDS.values()))
    kind_index = {k: i for i, k in enumerate(kind_names)}

    def rel(t: int | None) -> int:
        return -1 if t is None else t - origin

    events = [[r["t_ns"] - origin, r["pos"], kind_index[r["kind"]], r.get("pid") or 0,
               r.get("id") or 0, _extra(r)] for r in ordered]
    messages = [[MESSAGE_KINDS.index(m.kind), m.src, -1 if m.dst is None else m.dst,
                 rel(m.sent_ns), rel(m.received_ns), 1 if m.direction == "right" else 0,
                 m.label, m.outcome, _tag(m)] for m in diagram.extract_messages(ordered)]
    holds = _holds(ordered, origin)
    lives = [[life.pos, life.pid, rel(life.start_ns), rel(life.end_ns),
              life.exitcode if life.exitcode is not None else None, rel(life.killed_ns)]
             for life in diagram.lives(ordered)]
    stops = diagram.stop_bands(ordered)
    bypass = diagram.bypass_bands(ordered)
    cuts = [{"sid": list(c.sid),
             "points": [[pos, t - origin] for pos, t in sorted(c.points.items())
                        if c.result is None or t <= c.result["t_ns"]],
             "summary": _cut_summary(c)} for c in diagram.cuts(ordered)]
    if verdict is None:
        verdict = checker_verdict(ordered, nodes=n, recovery_deadline_ms=recovery_deadline_ms)
    verdict = dict(verdict, violations=[dict(v, t=None if v.get("t_ns") is None
                                             else v["t_ns"] - origin)
                                        for v in verdict.get("violations", [])])
    return {
        "title": title, "nodes": n, "origin_ns": origin, "span": ordered[-1]["t_ns"] - origin,
        "ids": {str(pos): node_id for pos, node_id in diagram.node_ids(ordered).items()},
        "kinds": kind_names, "K": KINDS, "groups": GROUPS, "harnessKinds": HARNESS_KINDS,
        "messageKinds": list(PAGE_MESSAGE_KINDS.values()), "events": events,
        "messages": messages,
        "holds": holds, "lives": lives,
        "stops": [[pos, a - origin, rel(b)] for pos, a, b in stops],
        "bypass": [[pos, a - origin, rel(b)] for pos, a, b in bypass],
        "cuts": cuts, "axis": time_axis(ordered, origin), "verdict": verdict,
        "colours": _colours(),
    }


def _holds(ordered: list[Record], origin: int) -> list[list[int]]:
    """[pos, epoch, start, end or -1, stale from or -1]: the checker's own holdings
    (``records.holdings``), each marked stale from the first creation of a newer
    epoch while it was held."""
    created = [(r["t_ns"], r["epoch"]) for r in ordered if r["kind"] == records.TOKEN_CREATED]
    found = []
    for h in records.holdings(ordered):
        end = -1 if h.end_ns == math.inf else int(h.end_ns) - origin
        stale = next((t - origin for t, epoch in created
                      if epoch > h.epoch and h.start_ns < t < h.end_ns), -1)
        found.append([h.pos, h.epoch, h.start_ns - origin, end, stale])
    return found


def checker_verdict(history: list[Record], *, nodes: int,
                    recovery_deadline_ms: float | None) -> dict:
    """harness.invariants over the whole trace, as the page shows it."""
    deadline = (invariants.RECOVERY_DEADLINE_MS if recovery_deadline_ms is None
                else recovery_deadline_ms)
    try:
        found = invariants.check(history, nodes=nodes, recovery_deadline_ms=deadline)
    except (KeyError, TypeError, ValueError) as unreadable:
        # A hand-made or foreign trace may lack a field the checker needs: the page
        # still shows the run, and says the checker could not judge it.
        return {"source": "harness.invariants", "checked": [], "complete": False,
                "note": f"the checker could not judge this trace: {type(unreadable).__name__}"
                        f" {unreadable}", "violations": []}
    judged = any(r["kind"] == records.TRIAL_END for r in history)
    return {"source": "harness.invariants", "checked": list(invariants.INVARIANTS),
            "complete": judged,
            "note": None if judged else "no trial_end record: liveness and the end-of-run "
                                        "token count are not judged on a cut-short history",
            "violations": [{"invariant": v.invariant, "t_ns": v.t_ns, "detail": v.detail}
                           for v in found]}


def time_axis(ordered: list[Record], origin: int) -> dict:
    """Knots of a piecewise-linear map from trace time to axis time: linear, except
    that every silence longer than a few token hops is cut down to a short break."""
    instants = sorted({r["t_ns"] - origin for r in ordered})
    passes = [r["t_ns"] for r in ordered if r["kind"] == records.TOKEN_PASSED]
    hop_ns = statistics.median([b - a for a, b in zip(passes, passes[1:])] or [2e6]) or 2e6
    threshold = int(max(15e6, 4 * hop_ns))
    shown = threshold // 3            # what a break keeps of its silence, on the axis
    knots = [[instants[0], 0]]
    breaks = []
    for a, b in zip(instants, instants[1:]):
        if b - a > threshold:
            ua = knots[-1][1] + (a - knots[-1][0])
            knots.append([a, ua])
            knots.append([b, ua + shown])
            breaks.append([a, b])
    last = knots[-1]
    knots.append([instants[-1], last[1] + instants[-1] - last[0]])
    return {"knots": knots, "breaks": breaks, "hop_ns": int(hop_ns)}


def _extra(r: Record) -> dict | int:
    fields = {k: v for k, v in r.items() if k not in _STANDARD}
    return fields or 0


_LABEL_ID = re.compile(r"^(?:candidate|elected) (\d+)")


def _tag(m: diagram.Message) -> str:
    """The few characters drawn on a message in flight: the token's epoch, the
    candidate's ID, the announced leader's ID."""
    if m.kind == diagram.TOKEN:
        return f"e{m.epoch}"
    found = _LABEL_ID.match(m.label)
    if found is None:
        return ""
    return found.group(1) if m.kind == diagram.CANDIDATE else f"★{found.group(1)}"


def _colours() -> dict:
    """The diagram's colours under the page's names (the first token epoch's for the token)."""
    by_message = {PAGE_MESSAGE_KINDS[name]: COLOURS.get(name, EPOCH_COLOURS[0])
                  for name in diagram.MESSAGE_KINDS}
    return {**by_message,
            **{k: COLOURS[k] for k in ("stale", "kill", "term", "restart", "eof", "cut")}}


def _cut_summary(cut: diagram.Cut) -> str:
    result = cut.result
    sid = f"({cut.sid[0]},{cut.sid[1]})"
    if result is None:
        return f"snapshot {sid}: no result"
    if result.get("complete"):
        return f"snapshot {sid}: {result['tokens']} token(s) of epoch {result['epoch']}"
    return f"snapshot {sid}: INCOMPLETE, no part from {result.get('missing')}"
