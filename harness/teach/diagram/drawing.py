"""The SVG document: the scene (what to draw, where) and each layer of the picture,
from the background up: magnified stretches, the time grid, stop bands, process
lives, token holdings, snapshot cuts, messages, breaks, event symbols, and last the
labels, placed so that none covers another or a symbol.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from html import escape

from . import analysis as an
from .canvas import COLOURS, EPOCH_COLOURS, Canvas, label_svg
from .layout import Box, Rows, TimeAxis, around, build_axis
from .marks import NOTE, TOKEN, annotation

LEFT, RIGHT_MARGIN = 168.0, 28.0
TITLE_Y, SUBTITLE_Y, LANE_Y = 22.0, 40.0, 56.0
ZOOM_Y, AXIS_Y, HEADER = 104.0, 120.0, 128.0
# Past this many elements a picture is a smudge (and tens of MB): ask for a window.
MAX_ELEMENTS = 40_000

_STYLE = """
svg { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; }
.title { font-size: 15px; font-weight: bold; fill: #222; }
.subtitle { font-size: 11px; fill: #555; }
.tick { font-size: 10px; fill: #666; }
.ticks line { stroke: #ddd; stroke-width: 1; }
.rowlabel { font-size: 12px; font-weight: bold; fill: #222; }
.pidlabel { font-size: 10px; fill: #666; }
.life { stroke: #555; stroke-width: 1.6; }
.again { stroke: #999; stroke-width: 1.2; stroke-dasharray: 5 3; }
.reaping { stroke: #d62728; stroke-width: 1.4; stroke-dasharray: 2 2; }
.bypassed { stroke: #bbb; stroke-width: 1.2; stroke-dasharray: 6 3; }
.hold { stroke-width: 6; stroke-linecap: butt; opacity: 0.55; }
.hold.again { opacity: 0.3; stroke-dasharray: none; }
.stale { stroke: #fff; stroke-width: 6; stroke-dasharray: 2 3; opacity: 0.75; }
.msg line, .msg path, .key line { fill: none; stroke-width: 1.3; }
.msg.Marker line, .msg.Marker path, .key.Marker line { stroke: #8e44ad; stroke-width: 0.9;
  opacity: 0.75; }
.msg.Candidate line, .msg.Candidate path, .key.Candidate line { stroke: #1f6fb4; }
.msg.Elected line, .msg.Elected path, .key.Elected line { stroke: #2a9d3a; }
.msg.lost line, .key.lost line { stroke-dasharray: 3 2; stroke: #b03a2e; }
.vanished { fill: #fff; stroke: #b03a2e; stroke-width: 1.4; }
.returned { fill: none; stroke-width: 1.4; stroke-dasharray: 3 2; }
.cut { fill: none; stroke: #8e44ad; stroke-width: 2.2; stroke-dasharray: 7 4; opacity: 0.8; }
.stopband { fill: #9ecae1; opacity: 0.45; }
.zoomband { fill: #fff3c4; opacity: 0.6; }
.zoomedge { stroke: #d9b200; stroke-width: 1; stroke-dasharray: 2 3; }
.zoomlabel { font-size: 10px; font-weight: bold; fill: #8a6d00; }
.kill { stroke: #d62728; stroke-width: 2.6; }
.term { stroke: #e8730c; stroke-width: 2.4; }
.halo { fill: #fff; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; opacity: 0.9; }
.break rect { fill: #f4f4f4; opacity: 0.93; }
.break line { stroke: #aaa; stroke-width: 1; stroke-dasharray: 3 3; }
.breaklabel { font-size: 10px; fill: #666; }
.legendtext { fill: #222; }
"""


def _epoch_style() -> str:
    """One rule per epoch colour: colours are classes, never attributes that a
    stylesheet rule could override."""
    rules = []
    for i, colour in enumerate(EPOCH_COLOURS):
        rules.append(f".msg.Token.ep{i} line, .msg.Token.ep{i} path, .key.Token.ep{i} line, "
                     f".ep{i} .returned, .returned.key-token {{ stroke: {colour}; "
                     "stroke-width: 1.6; }")
        rules.append(f".hold.ep{i} {{ stroke: {colour}; }}")
    return "\n".join(rules)


@dataclass
class Scene:
    """What the picture shows: a window of the trace, folded, on one axis."""
    everything: list
    view: list
    n: int
    ids: dict
    origin: int
    lo: int
    hi: int
    folds: list
    axis: TimeAxis
    rows: Rows
    # A model checker's counterexample: no processes (pid 0), and a step is 1000 ns.
    steps: bool = False

    def folded(self, t: int) -> bool:
        return folded(self.folds, t)

    def span(self, ns: float) -> str:
        """How long ``ns`` is, in the trace's own unit."""
        if self.steps:
            count = round(ns / 1000)
            return f"{count} step{'' if count == 1 else 's'}"
        return an.duration(ns)

    def when(self, ms: float, tick: bool = False) -> str:
        """A moment ``ms`` after the first event, in the trace's own unit (a tick
        label keeps every digit its step needs: 1002 ms, not 1 s)."""
        if self.steps:
            return f"step {round(ms * 1000)}"
        return tick_label(ms) if tick else fmt_ms(ms)


def folded(folds: list, t: int) -> bool:
    return any(f.start_ns < t < f.end_ns for f in folds)


def _window(everything: list, window_ms) -> tuple[int, int, list]:
    origin = everything[0]["t_ns"]
    lo, hi = origin, everything[-1]["t_ns"]
    if window_ms is not None:
        if window_ms[0] is not None:
            lo = origin + int(window_ms[0] * 1e6)
        if window_ms[1] is not None:
            hi = origin + int(window_ms[1] * 1e6)
    view = [r for r in everything if lo <= r["t_ns"] <= hi]
    if not view:
        raise ValueError(f"the window has no events; the trace spans "
                         f"0:{(everything[-1]['t_ns'] - origin) / 1e6:.0f} ms")
    return min(lo, view[0]["t_ns"]), max(hi, view[-1]["t_ns"]), view


def scene(everything: list, window_ms, folds: list, fold: bool = True) -> Scene:
    """What to draw of the time-ordered records: the window, the folds (the quiet laps
    ``folds`` found in the whole trace, clipped to the window; a slow start), the
    silences cut out, the axis."""
    lo, hi, view = _window(everything, window_ms)
    hop = an.hop_ns(view)
    threshold = max(15e6, 4 * hop)   # only a silence of several hops is cut out
    if fold:   # the stream left a window whole: fold its own quiet laps here
        folds = (_clipped(folds, lo, hi) + an.fold_startup(view, threshold)
                 + (an.fold_quiet_laps(view) if window_ms else []))
    shown = [r for r in view if not folded(folds, r["t_ns"])]
    _refuse_a_smudge(shown, everything[0]["t_ns"], lo, view[-1]["t_ns"])
    instants = sorted({r["t_ns"] for r in shown} | ({lo, hi} if window_ms else set()))
    weights = Counter(r["t_ns"] for r in shown if r["kind"] in an.BURST_KINDS)
    breaks = folds + an.silences(instants, folds, threshold)
    axis = build_axis(instants, an.episodes(shown), weights, breaks, hop, LEFT)
    n = an.positions(everything)
    steps = all(r.get("pid") == 0 for r in everything)
    return Scene(everything, view, n, an.node_ids(everything), everything[0]["t_ns"], lo, hi,
                 folds, axis, Rows.for_ring(n, HEADER + 6), steps)


def _clipped(folds: list, lo: int, hi: int) -> list:
    return [an.Break(max(f.start_ns, lo), min(f.end_ns, hi), f.label) for f in folds
            if f.end_ns > lo and f.start_ns < hi]


def _refuse_a_smudge(shown: list, origin: int, lo: int, last: int) -> None:
    """Say so, with the advice, rather than draw a picture nobody can read."""
    if len(shown) <= MAX_ELEMENTS:
        return
    start_ms = (lo - origin) / 1e6
    raise ValueError(
        f"the picture would draw {len(shown)} events, too many to read; draw a stretch "
        f"of it with --window START_MS:END_MS (the trace spans 0:{(last - origin) / 1e6:.0f}"
        f" ms; e.g. --window {start_ms:.0f}:{start_ms + 500:.0f})")


# --- layers ---------------------------------------------------------------------------------


def draw_zoom(c: Canvas, s: Scene) -> None:
    """Shade each magnified stretch and say by how much."""
    c.add('<g class="zooms">')
    for seg in s.axis.segments:
        width = max(seg.x1 - seg.x0, 2.0)
        c.add(f'<rect class="zoomband" x="{seg.x0 - 3:.1f}" y="{ZOOM_Y + 4:.1f}" '
              f'width="{width + 6:.1f}" height="{s.rows.bottom - ZOOM_Y - 4:.1f}">'
              f"<title>time drawn {seg.zoom}× magnified: "
              f"{s.span(seg.end_ns - seg.start_ns)}</title></rect>")
        for x in (seg.x0 - 3, seg.x0 + width + 3):
            c.add(f'<line class="zoomedge" x1="{x:.1f}" y1="{ZOOM_Y + 4:.1f}" x2="{x:.1f}" '
                  f'y2="{s.rows.bottom:.1f}"/>')
        c.use("zoom")
        text = f"×{seg.zoom}"
        spot = c.placer.place(text, 10, [(seg.x0 + width / 2, ZOOM_Y, "middle")],
                              Box(0, 0, 1e9, 1e9), bold=True)
        if spot is not None:
            c.add(f'<text class="zoomlabel" x="{spot[0]:.1f}" y="{spot[1]:.1f}" '
                  f'text-anchor="middle">{text}</text>')
    c.add("</g>")


def draw_ticks(c: Canvas, s: Scene) -> None:
    c.add('<g class="ticks">')
    for x, ms in s.axis.ticks(s.lo, s.hi, s.origin, 0.001 if s.steps else 0.0):
        c.add(f'<line x1="{x:.1f}" y1="{AXIS_Y + 4:.1f}" x2="{x:.1f}" y2="{s.rows.bottom:.1f}"/>')
        c.add(f'<text class="tick" x="{x:.1f}" y="{AXIS_Y:.1f}" text-anchor="middle">'
              f"{s.when(ms, tick=True)}</text>")
    c.add("</g>")


def fmt_ms(ms: float) -> str:
    if abs(ms) >= 1000:
        return f"{ms / 1000:g} s" if ms % 1000 == 0 else f"{ms / 1000:.3g} s"
    if ms == int(ms):
        return f"{int(ms)} ms"
    return f"{ms:.4g} ms"


def tick_label(ms: float) -> str:
    if abs(ms) >= 1000 and abs(ms - round(ms, -2)) < 1e-6:
        return f"{ms / 1000:g} s"
    return f"{ms:.4f}".rstrip("0").rstrip(".") + " ms"


def draw_stops(c: Canvas, s: Scene) -> None:
    """SIGSTOP..SIGCONT bands, each labelled in its widest visible stretch."""
    c.add('<g class="bands">')
    for pos, start, end in an.stop_bands(s.everything):
        end = s.hi if end is None else end
        if end < s.lo or start > s.hi:
            continue
        x0, x1 = c.x(max(start, s.lo)), c.x(min(end, s.hi))
        y, half = s.rows.y(pos), s.rows.row_h * 0.42
        c.use("stop")
        c.add(f'<rect class="stopband" x="{x0:.1f}" y="{y - half:.1f}" '
              f'width="{max(x1 - x0, 1.5):.1f}" height="{2 * half:.1f}">'
              f"<title>node {pos} stopped (SIGSTOP) for {s.span(end - start)}</title></rect>")
        a, b = widest_visible(x0, x1, s.axis.breaks)
        text = f"SIGSTOP · stopped {s.span(end - start)}"
        inside = Box(a, y - half, b, y + half)
        c.label(TOKEN, text, COLOURS["stopband"],
                [(a + 3, y + half - 3, "start"), (a + 3, y - half + 10, "start")], inside)
    c.add("</g>")


def widest_visible(x0: float, x1: float, breaks: list) -> tuple[float, float]:
    """The widest stretch of [x0, x1] that no break covers."""
    spans = [(x0, x1)]
    for b in breaks:
        spans = [piece for a, c in spans
                 for piece in ((a, min(c, b.x0)), (max(a, b.x1), c)) if piece[1] > piece[0]]
    return max(spans, key=lambda span: span[1] - span[0], default=(x0, x0))


def _life_line(c: Canvas, s: Scene, life: an.Life, y: float, again: bool) -> None:
    start, end = max(life.start_ns, s.lo), min(life.end_ns or s.hi, s.hi)
    if end < s.lo or start > s.hi:
        return
    reap_from = life.killed_ns if life.killed_ns is not None else end
    reap_from = min(max(reap_from, start), end)
    cls = "again" if again else "life"
    c.add(f'<line class="{cls}" x1="{c.x(start):.1f}" y1="{y:.1f}" x2="{c.x(reap_from):.1f}" '
          f'y2="{y:.1f}"><title>node {life.pos} (id {s.ids.get(life.pos, "?")}) '
          f"pid {life.pid}</title></line>")
    if reap_from < end and not again:
        c.use("reaping")
        c.add(f'<line class="reaping" x1="{c.x(reap_from):.1f}" y1="{y:.1f}" '
              f'x2="{c.x(end):.1f}" y2="{y:.1f}"><title>pid {life.pid} SIGKILLed; reaped '
              f"(joined) {s.span(end - reap_from)} later</title></line>")


def draw_lives(c: Canvas, s: Scene, lives: list) -> None:
    """Each process's line; p0's again below the last row; bypassed stretches."""
    c.add('<g class="lives">')
    for pos in range(s.n):
        c.add(f'<g class="node" data-pos="{pos}">')
        for life in (lv for lv in lives if lv.pos == pos):
            _life_line(c, s, life, s.rows.y(pos), False)
        c.add("</g>")
    c.add('<g class="node-again" data-pos="0">')
    for life in (lv for lv in lives if lv.pos == 0):
        _life_line(c, s, life, s.rows.again_y, True)
    c.add("</g>")
    c.use("again")
    for pos, start, end in an.bypass_bands(s.everything):
        end = s.hi if end is None else end
        if end < s.lo or start > s.hi:
            continue
        y = s.rows.y(pos) - 5
        c.use("bypass")
        c.add(f'<line class="bypassed" x1="{c.x(max(start, s.lo)):.1f}" y1="{y:.1f}" '
              f'x2="{c.x(min(end, s.hi)):.1f}" y2="{y:.1f}"><title>node {pos} bypassed: '
              f"outside the ring</title></line>")
    c.add("</g>")


def _hold_line(c: Canvas, hold: an.Hold, a: int, b: int, y: float, stale: bool,
               again: bool) -> None:
    x0, x1 = c.x(a), c.x(b)
    x1 = max(x1, x0 + 1.5)
    cls = f"hold {c.epoch_class(hold.epoch)}" + (" again" if again else "")
    tip = (f"node {hold.pos} holds a token of epoch {hold.epoch}"
           + (" (stale: a newer epoch exists)" if stale else ""))
    c.add(f'<line class="{cls}" x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}">'
          f"<title>{tip}</title></line>")
    if stale and not again:
        c.use("stalehold")
        c.add(f'<line class="stale" x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}"/>')


def draw_holds(c: Canvas, s: Scene, holds: list) -> None:
    c.add('<g class="holds">')
    for hold in holds:
        end = hold.end_ns if hold.end_ns is not None else s.hi
        if end < s.lo or hold.start_ns > s.hi:
            continue
        c.use("hold")
        stale_from = hold.stale_from_ns if hold.stale_from_ns is not None else end
        for again in ((False, True) if hold.pos == 0 else (False,)):
            y = s.rows.again_y if again else s.rows.y(hold.pos)
            for a, b, stale in ((hold.start_ns, stale_from, False), (stale_from, end, True)):
                a, b = max(a, s.lo), min(b, s.hi)
                if b > a or (not stale and b == a):
                    _hold_line(c, hold, a, b, y, stale, again)
    c.add("</g>")


def draw_cuts(c: Canvas, s: Scene, annotations: list) -> None:
    """Each snapshot's cut through the points where the nodes recorded, and the tokens
    it counted. What a node recorded after the harness had its answer (a stopped node
    that woke up and read an old marker) is not part of that answer."""
    c.add('<g class="cuts">')
    for cut in an.cuts(s.everything):
        until = cut.result["t_ns"] if cut.result is not None else s.hi
        pts = sorted((pos, t) for pos, t in cut.points.items() if s.lo <= t <= min(s.hi, until))
        if not pts:
            continue
        coords = [(c.x(t), s.rows.y(pos)) for pos, t in pts]
        path = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}"
                        for i, (x, y) in enumerate(coords))
        summary, short = _cut_words(cut)
        c.use("cut")
        c.add(f'<path class="cut" d="{path}"><title>{escape(summary)}</title></path>')
        for pos, t in pts:
            _counted(c, s, cut, pos, t, until, summary)
        annotations.append((coords[0][0], short, COLOURS["cut"], True))
    c.add("</g>")


def _cut_words(cut: an.Cut) -> tuple[str, str]:
    result = cut.result
    where = f"cut {cut.sid[0]},{cut.sid[1]}: "
    if result is None:
        return f"snapshot {cut.sid}: no result", where + "?"
    if not result.get("complete"):
        return (f"snapshot {cut.sid}: INCOMPLETE, no part from {result.get('missing')}",
                where + "incomplete")
    tokens = result["tokens"]
    return (f"snapshot {cut.sid}: {tokens} token(s) of epoch {result['epoch']}",
            where + f"{tokens} token{'' if tokens == 1 else 's'}")


def _counted(c: Canvas, s: Scene, cut: an.Cut, pos: int, t: int, until: int,
             summary: str) -> None:
    part = cut.parts.get(pos)
    if not (part and part.get("tokens") and part["t_ns"] <= until):
        return
    x, y = c.x(t), s.rows.y(pos)
    where = "held" if part.get("held") else "in channel"
    c.use("counted")
    c.obstacle(x, y, 6.5)
    c.add(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5.5" fill="none" stroke="#8e44ad" '
          f'stroke-width="2"><title>{escape(summary)}: node {pos} counts '
          f"{len(part['tokens'])} token(s), {where}</title></circle>")
    c.label(NOTE, f"counted ({where})", COLOURS["cut"], around(x, y, 7), c.row_area(pos))


def draw_breaks(c: Canvas, s: Scene) -> None:
    """Breaks drawn over whatever they hide; no label may cross one."""
    c.add('<g class="breaks">')
    top, bottom = HEADER, s.rows.bottom
    for b in s.axis.breaks:
        c.use("break")
        c.placer.block(Box(b.x0, top, b.x1, bottom))
        c.add(f'<g class="break"><rect x="{b.x0:.1f}" y="{top - 2:.1f}" '
              f'width="{b.x1 - b.x0:.1f}" height="{bottom - top + 2:.1f}"/>')
        for pos in range(s.n + 1):
            y = s.rows.y(pos)
            c.add(f'<line x1="{b.x0:.1f}" y1="{y:.1f}" x2="{b.x1:.1f}" y2="{y:.1f}"/>')
        cx, cy = (b.x0 + b.x1) / 2, (top + bottom) / 2
        c.add(f'<text class="breaklabel" x="{cx:.1f}" y="{cy:.1f}" text-anchor="middle" '
              f'transform="rotate(-90 {cx:.1f} {cy:.1f})" dy="3.5">≈ {escape(b.label)} ≈</text>')
        c.add(f'<path d="M{b.x0:.1f},{top - 2:.1f} l4,-5 l4,5 M{b.x1 - 8:.1f},{top - 2:.1f} '
              'l4,-5 l4,5" stroke="#999" fill="none"/></g>')
    c.add("</g>")


def draw_annotations(c: Canvas, s: Scene, annotations: list) -> None:
    """The harness's decisions and the cuts' counts, in the lane above the rows, each
    with a faint line down to its moment."""
    for r in s.view:
        note = annotation(r)
        if note and not s.axis.in_break(r["t_ns"]):
            annotations.append((c.x(r["t_ns"]), note, "#333", False))
    lane = Box(LEFT - 6, LANE_Y - 12, c.plot.x1 + RIGHT_MARGIN - 4, ZOOM_Y - 12)
    c.add('<g class="annotations">')
    for x, text, colour, bold in sorted(annotations, key=lambda a: a[0]):
        spots = [(x, LANE_Y + 13 * level, anchor) for level in range(3)
                 for anchor in ("start", "end")]
        spot = c.placer.place(text, 10, spots, lane, bold)
        if spot is None:
            continue
        c.add(label_svg(text, *spot, colour, 10, bold))
        c.add(f'<line x1="{x:.1f}" y1="{spot[1] + 3:.1f}" x2="{x:.1f}" y2="{AXIS_Y - 12:.1f}" '
              'stroke="#ccc" stroke-width="0.8"/>')
    c.add("</g>")


def draw_row_labels(c: Canvas, s: Scene, lives: list) -> None:
    first_pid = {}
    for life in lives:
        if life.pos not in first_pid and (life.end_ns or s.hi) >= s.lo:
            first_pid[life.pos] = life.pid
    for pos in range(s.n):
        y = s.rows.y(pos)
        c.add(f'<text class="rowlabel" x="12" y="{y - 2:.1f}">p{pos} · id {s.ids.get(pos, "?")}'
              "</text>")
        if first_pid.get(pos):   # the model checker's traces have no pids (0)
            c.add(f'<text class="pidlabel" x="12" y="{y + 11:.1f}">pid {first_pid[pos]}</text>')
    c.add(f'<text class="pidlabel" x="12" y="{s.rows.again_y + 3:.1f}">p0 again ↻</text>')
