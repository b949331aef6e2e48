"""The symbol each event leaves on its node's line (a fault, a restart, an EOF ...),
its tooltip, and its label, queued for the placer by importance.

Symbols keep one meaning each: a red ✗ is a SIGKILL and nothing else; a message
nobody received ends in a hollow circle; a send that failed is a hollow diamond.
"""
from __future__ import annotations

import math
from html import escape

from emulator import records as kinds
from emulator.protocol.messages import EOF

from .analysis import Record, is_kill, is_resume, is_stop
from .canvas import COLOURS, Canvas
from .layout import around

# label priorities: lower is placed first
FAULT, CHANGE, TOKEN, EXIT, LINK, NOTE = range(6)


def star(x: float, y: float, r: float) -> str:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.45
        angle = math.pi / 2 + i * math.pi / 5
        points.append(f"{x + radius * math.cos(angle):.1f},{y - radius * math.sin(angle):.1f}")
    return "M" + " L".join(points) + " z"


def describe(r: Record) -> str:
    fields = {k: v for k, v in r.items() if k not in ("t_ns", "pos", "id", "pid", "kind")
              and not k.startswith("_")}
    return (f"{r['kind']} at node {r['pos']} (pid {r.get('pid')})"
            + (": " + ", ".join(f"{k}={v}" for k, v in fields.items()) if fields else ""))


def _group(r: Record, body: str) -> str:
    return f"<g><title>{escape(describe(r))}</title>{body}</g>"


def cross(x: float, y: float, half: float, cls: str) -> str:
    return (f'<path class="{cls}" d="M{x - half:.1f},{y - half:.1f} l{2 * half:g},{2 * half:g} '
            f'm0,{-2 * half:g} l{-2 * half:g},{2 * half:g}"/>')


def square(x: float, y: float, half: float, fill: str) -> str:
    return (f'<rect x="{x - half:.1f}" y="{y - half:.1f}" width="{2 * half:g}" '
            f'height="{2 * half:g}" fill="{fill}"/>')


def circle(x: float, y: float, r: float, fill: str, stroke: str = "none",
           width: float = 1.6) -> str:
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:g}" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{width:g}"/>')


def diamond(x: float, y: float, half: float, stroke: str) -> str:
    return (f'<path d="M{x:.1f},{y - half:.1f} l{half:g},{half:g} l{-half:g},{half:g} '
            f'l{-half:g},{-half:g} z" fill="#fff" stroke="{stroke}" stroke-width="1.6"/>')


def fenced_symbol(x: float, y: float) -> str:
    return (circle(x, y, 4.5, "#fff", COLOURS["stale"])
            + f'<path d="M{x - 3.2:.1f},{y + 3.2:.1f} l6.4,-6.4" stroke="{COLOURS["stale"]}" '
              'stroke-width="1.6"/>')


def eof_symbol(x: float, y: float, up: bool) -> str:
    d = (f"M{x - 4:.1f},{y - 2:.1f} l4,-7 l4,7 z" if up else
         f"M{x - 4:.1f},{y + 2:.1f} l4,7 l4,-7 z")
    return f'<path d="{d}" fill="{COLOURS["eof"]}"/>'


def _fault(c: Canvas, r: Record, x: float, y: float) -> None:
    fault = str(r.get("fault"))
    signal = r.get("signal")
    named = (f"{fault} ({signal})" if isinstance(signal, str) and not fault.startswith("SIG")
             else fault)
    if is_kill(r) or fault == "SIGTERM":
        key = "kill" if is_kill(r) else "term"
        c.add(_group(r, cross(x, y, 5, key)))
        c.obstacle(x, y, 6)
        c.use(key)
        c.label(FAULT, named, COLOURS[key], around(x, y, 5.5), c.row_area(r["pos"]), bold=True)
    elif is_stop(r) or is_resume(r):
        half = c.rows.row_h * 0.42
        c.add(_group(r, f'<line x1="{x:.1f}" y1="{y - half:.1f}" x2="{x:.1f}" '
                        f'y2="{y + half:.1f}" stroke="{COLOURS["stopband"]}" stroke-width="1.2"/>'))
    else:
        c.add(_group(r, square(x, y, 4, COLOURS["kill"])))
        c.obstacle(x, y, 5)
        c.use("otherfault")
        c.label(FAULT, named, COLOURS["kill"], around(x, y, 4.5), c.row_area(r["pos"]), bold=True)


def _link_down(c: Canvas, r: Record, x: float, y: float) -> None:
    if r["t_ns"] >= c.shutdown_ns:
        return  # the orderly end of the run: every link closes, not news
    if r.get("cause", EOF) != EOF:
        # Not an EOF: a node started without that link, a cut (drawn as the fault's
        # line), or a refused write (drawn as "send failed" by its message_lost).
        return
    # link_retired: EOF on a link already replaced (the new one came first)
    up = r.get("side") == "left"   # the left neighbour is the row above
    c.add(_group(r, eof_symbol(x, y, up)))
    c.obstacle(x, y - 5 if up else y + 5, 5)
    c.use("eof")
    c.label(LINK, "EOF", COLOURS["eof"], around(x, y, 7), c.row_area(r["pos"]))


def _message_lost(c: Canvas, r: Record, x: float, y: float) -> None:
    c.add(_group(r, diamond(x, y, 4.5, COLOURS["kill"])))
    c.obstacle(x, y, 5.5)
    c.use("sendfailed")
    c.label(LINK, "send failed", COLOURS["kill"], around(x, y, 5.5), c.row_area(r["pos"]))


def _exited(c: Canvas, r: Record, x: float, y: float) -> None:
    code = r.get("exitcode")
    if code == 0:
        c.add(_group(r, f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x:.1f}" y2="{y + 4:.1f}" '
                        'stroke="#555" stroke-width="1.5"/>'))
        return
    c.add(_group(r, square(x, y, 3.5, "#222")))
    c.obstacle(x, y, 4.5)
    c.use("reaped")
    text = "crashed" if code is None and r.get("pid") == 0 else f"reaped, exit {code}"
    c.label(EXIT, text, "#222", around(x, y, 4.5), c.row_area(r["pos"]))


def _restarted(c: Canvas, r: Record, x: float, y: float) -> None:
    c.add(_group(r, circle(x, y, 4.5, COLOURS["restart"])))
    c.obstacle(x, y, 5.5)
    c.use("restart")
    text = f"restart → pid {r['pid']}" if r.get("pid") else "restarted (new process)"
    c.label(CHANGE, text, COLOURS["restart"], around(x, y, 5.5), c.row_area(r["pos"]))


def _leader(c: Canvas, r: Record, x: float, y: float) -> None:
    c.add(_group(r, f'<path d="{star(x, y, 7)}" fill="#f2c12e" stroke="{COLOURS["star"]}" '
                    'stroke-width="0.8"/>'))
    c.obstacle(x, y, 7)
    c.use("star")
    c.label(CHANGE, f"leader r{r['round']}", COLOURS["star"], around(x, y, 7),
            c.row_area(r["pos"]), bold=True)


def _token_created(c: Canvas, r: Record, x: float, y: float) -> None:
    colour = c.epoch_colour(r["epoch"])
    injected = r["kind"] == kinds.TOKEN_INJECTED
    c.add(_group(r, circle(x, y, 4.5, colour, COLOURS["kill"] if injected else "none")))
    c.obstacle(x, y, 5.5)
    c.use("injected" if injected else "created")
    text = f"duplicate e{r['epoch']}" if injected else f"token e{r['epoch']}"
    c.label(TOKEN, text, colour, around(x, y, 5.5), c.row_area(r["pos"]), bold=True)


def _token_ended(c: Canvas, r: Record, x: float, y: float) -> None:
    c.add(_group(r, fenced_symbol(x, y)))
    c.obstacle(x, y, 5.5)
    c.use("fenced" if r["kind"] == kinds.TOKEN_FENCED else "dropped")
    verb = "fenced" if r["kind"] == kinds.TOKEN_FENCED else "dropped"
    c.label(TOKEN, f"{verb} e{r['epoch']}", COLOURS["stale"], around(x, y, 5.5),
            c.row_area(r["pos"]))


def _token_blocked(c: Canvas, r: Record, x: float, y: float) -> None:
    colour = c.epoch_colour(r.get("epoch"))
    c.add(_group(r, square(x, y, 3.5, colour)))
    c.obstacle(x, y, 4.5)
    c.use("blocked")
    c.label(LINK, "kept: right link down", colour, around(x, y, 4.5), c.row_area(r["pos"]))


# What the label says: the kind's own words unless named here.
_WORDS = {kinds.BYPASSED: None, kinds.REJOINED: None, kinds.SUPERVISOR_GAVE_UP: "given up",
          kinds.BAD_FRAME: None, kinds.LEADER_CONFLICT: None}


def _worded(c: Canvas, r: Record, x: float, y: float) -> None:
    c.add(_group(r, f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.8" fill="#444"/>'))
    words = _WORDS[r["kind"]] or r["kind"].replace("_", " ")
    c.label(NOTE, words, "#444", around(x, y, 2), c.row_area(r["pos"]))


def _stopping(c: Canvas, r: Record, x: float, y: float) -> None:
    if r.get("reason") == "SIGTERM":
        c.add(_group(r, ""))
        c.label(FAULT, "goodbye", COLOURS["term"], around(x, y, 5.5), c.row_area(r["pos"]))


_MARKS = {
    kinds.FAULT: _fault, kinds.RESUMED: _fault, kinds.LINK_DOWN: _link_down, kinds.LINK_RETIRED: _link_down,
    kinds.MESSAGE_LOST: _message_lost, kinds.NODE_EXITED: _exited, kinds.RESTARTED: _restarted,
    kinds.LEADER: _leader, kinds.TOKEN_CREATED: _token_created, kinds.TOKEN_INJECTED: _token_created,
    kinds.TOKEN_FENCED: _token_ended, kinds.TOKEN_DROPPED: _token_ended,
    kinds.TOKEN_BLOCKED: _token_blocked, kinds.NODE_STOPPING: _stopping,
    **{kind: _worded for kind in _WORDS},
}


def draw_marks(c: Canvas, view: list[Record]) -> None:
    """Every event's symbol on its line (none inside a break); labels are queued."""
    c.add('<g class="marks">')
    for r in view:
        draw = _MARKS.get(r["kind"])
        if draw is not None and not c.axis.in_break(r["t_ns"]):
            draw(c, r, c.x(r["t_ns"]), c.rows.y(r["pos"]))
    c.add("</g>")


def annotation(r: Record) -> str | None:
    """What the harness decided, for the lane above the rows."""
    kind = r["kind"]
    if kind == kinds.ELECTION_ROUND:
        return f"round {r['round']}: candidates {','.join(map(str, r['candidate_ids']))}"
    if kind == kinds.RECOVERED:
        return f"recovered ({r['cause']}) in {r['total_ms']:.0f} ms"
    if kind == kinds.RECOVERY_FAILED:
        return f"recovery FAILED ({r['cause']})"
    if kind == kinds.ROUND_ABANDONED:
        return f"round {r['round']} abandoned"
    if kind == kinds.NOTE and isinstance(r.get("text"), str):
        return r["text"]   # a lesson's own remark
    return None
