"""Where things go: the time axis, the rows, and labels that never collide.

The time axis is piecewise linear, and every piece says what it is. Long silences
and folded laps are cut out as breaks of a fixed width, each labelled with the
time it hides. Between breaks time runs at one uniform scale, so two slopes can be
compared: except in bursts (an election is dozens of messages within a
millisecond) that would be a smudge at the token's scale. A burst gets a segment
of its own, magnified by a power of two; every such segment is shaded and marked
with its factor, so no change of scale goes unsaid.
"""
from __future__ import annotations

import bisect
import math
import statistics
from dataclasses import dataclass

from .analysis import Break

# A hop of the token is drawn this wide; the whole picture between these widths.
HOP_PX = 24.0
MIN_PLOT_PX, MAX_PLOT_PX = 760.0, 9000.0
BREAK_PX = 34.0
BURST_EVENTS = 6            # a cluster of fewer events is never magnified
PX_PER_EVENT = 4.0          # what a burst needs to be legible
MAX_ZOOM = 64
MAX_SEGMENT_PX = 1600.0


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
        if value is not None and (not math.isfinite(value) or value < 0):
            raise ValueError(f"--window {text!r}: times are milliseconds >= 0 since the "
                             "trace's first event")
    if start is not None and end is not None and end <= start:
        raise ValueError(f"--window {text!r}: the end must come after the start")
    return start, end


# --- the time axis ------------------------------------------------------------------------


@dataclass
class Segment:
    """A stretch of time drawn at one scale: ``zoom`` times the picture's base scale."""
    start_ns: int
    end_ns: int
    zoom: int = 1
    x0: float = 0.0
    x1: float = 0.0


def plan_segments(episodes: list[tuple[int, int]], weights: dict[int, int],
                  breaks: list[Break], px_per_ns: float) -> list[Segment]:
    """A magnified segment for each episode (a snapshot, an election round: its span
    in time) that would be a smudge at the base scale, split where a break cuts it:
    a power-of-two zoom each, neighbours merged when close. Everything else stays at
    zoom 1. ``weights``: instant -> how many of the episodes' events happen then."""
    moments = sorted(weights)
    pieces = sorted(piece for first, last in episodes
                    for piece in _split_at_breaks(first, last, breaks))
    zoomed: list[Segment] = []
    for first, last in pieces:
        zoom = _zoom(moments, weights, first, last, px_per_ns)
        if zoom < 2:
            continue
        previous = zoomed[-1] if zoomed else None
        if previous and not _break_in(previous.end_ns, first, breaks) and (
                first - previous.end_ns) * px_per_ns * max(zoom, previous.zoom) < 60:
            previous.end_ns = max(previous.end_ns, last)
            previous.zoom = max(zoom, previous.zoom)
        else:
            zoomed.append(Segment(first, last, zoom))
    return zoomed


def _split_at_breaks(first: int, last: int, breaks: list[Break]) -> list[tuple[int, int]]:
    pieces = [(first, last)]
    for b in breaks:
        pieces = [part for a, c in pieces
                  for part in ((a, min(c, b.start_ns)), (max(a, b.end_ns), c)) if part[1] > part[0]]
    return pieces


def _break_in(a: int, b: int, breaks: list[Break]) -> bool:
    return any(a <= br.start_ns and br.end_ns <= b for br in breaks)


def _zoom(moments: list[int], weights: dict[int, int], first: int, last: int,
          px_per_ns: float) -> int:
    """How much the stretch first..last needs magnifying (1: not at all)."""
    inside = moments[bisect.bisect_left(moments, first):bisect.bisect_right(moments, last)]
    events = sum(weights[t] for t in inside)
    if events < BURST_EVENTS or len(inside) < 2:
        return 1
    span_px = (last - first) * px_per_ns
    median_gap = max(1.0, statistics.median(b - a for a, b in zip(inside, inside[1:])))
    need = max(events * PX_PER_EVENT / span_px, PX_PER_EVENT / (median_gap * px_per_ns))
    if need < 3:
        return 1
    room = MAX_SEGMENT_PX / span_px   # a magnified stretch still fits a screen or two
    return int(min(MAX_ZOOM, 2 ** math.ceil(math.log2(need)),
                   2 ** math.floor(math.log2(max(room, 1)))))


class TimeAxis:
    """Monotonic ns -> x: linear at ``px_per_ns`` times each segment's zoom, breaks
    ``BREAK_PX`` wide. ``instants`` are the moments something visible happens."""

    def __init__(self, instants: list[int], breaks: list[Break], segments: list[Segment],
                 x0: float, px_per_ns: float) -> None:
        by_gap = {(b.start_ns, b.end_ns): b for b in breaks}
        self.px_per_ns = px_per_ns
        self.breaks: list[Break] = []
        self.segments = segments
        self.anchors_t: list[int] = []
        self.anchors_x: list[float] = []
        x, k = x0, 0    # k: the first segment that does not end before the gap
        for t in sorted(set(instants)):
            if self.anchors_t:
                previous = self.anchors_t[-1]
                cut = by_gap.get((previous, t))
                while k < len(segments) and segments[k].end_ns < t:
                    k += 1
                inside = k < len(segments) and segments[k].start_ns <= previous
                if cut is not None:
                    cut.x0, cut.x1 = x, x + BREAK_PX
                    self.breaks.append(cut)
                    x += BREAK_PX
                else:
                    x += (t - previous) * px_per_ns * (segments[k].zoom if inside else 1)
            self.anchors_t.append(t)
            self.anchors_x.append(x)
        self.width = x - x0
        for segment in segments:
            segment.x0, segment.x1 = self.x(segment.start_ns), self.x(segment.end_ns)

    def zoom_at(self, a: int, b: int) -> int:
        """The zoom of the gap a..b: a segment's when the gap lies inside it."""
        for segment in self.segments:
            if segment.start_ns <= a and b <= segment.end_ns:
                return segment.zoom
        return 1

    def x(self, t_ns: float) -> float:
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

    def in_break(self, t_ns: float) -> bool:
        return any(b.start_ns < t_ns < b.end_ns for b in self.breaks)

    def ticks(self, lo: int, hi: int, origin: int,
              min_step_ms: float = 0.0) -> list[tuple[float, float]]:
        """(x, ms since origin) for round times, at least 64 px apart, never in a break;
        a magnified segment gets finer steps."""
        pieces = [(lo, hi, 1)] + [(s.start_ns, s.end_ns, s.zoom) for s in self.segments]
        found = []
        for a, b, zoom in pieces:
            step = max(min_step_ms, tick_step(self.px_per_ns * 1e6 * zoom))
            t_ms = math.ceil((a - origin) / 1e6 / step) * step
            while origin + t_ms * 1e6 <= b and len(found) < 20000:
                t_ns = origin + t_ms * 1e6
                if not self.in_break(t_ns) and (zoom > 1 or self.zoom_at(t_ns, t_ns) == 1):
                    found.append((self.x(t_ns), round(t_ms, 6)))
                t_ms += step
        found.sort()
        kept: list[tuple[float, float]] = []
        for x, ms in found:
            if not kept or x - kept[-1][0] >= 64:
                kept.append((x, ms))
        return kept


def tick_step(px_per_ms: float) -> float:
    """The roundest step in ms that puts ticks at least 70 px apart."""
    for exponent in range(-4, 6):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0 ** exponent
            if step * px_per_ms >= 70:
                return step
    return 1e6


def build_axis(instants: list[int], episodes: list[tuple[int, int]], weights: dict[int, int],
               breaks: list[Break], hop_ns: float, x0: float) -> TimeAxis:
    """The axis at the token's scale (a hop ``HOP_PX`` wide), stretched or squeezed
    as a whole (never piece by piece) into MIN_PLOT_PX .. MAX_PLOT_PX."""
    px_per_ns = HOP_PX / hop_ns
    axis = None
    for _ in range(12):
        segments = plan_segments(episodes, weights, breaks, px_per_ns)
        axis = TimeAxis(instants, breaks, segments, x0, px_per_ns)
        stretch = axis.width - BREAK_PX * len(axis.breaks)
        if axis.width > MAX_PLOT_PX and stretch > 0:
            px_per_ns *= max(0.05, (MAX_PLOT_PX - BREAK_PX * len(axis.breaks)) / stretch)
        elif axis.width < MIN_PLOT_PX:
            px_per_ns *= (MIN_PLOT_PX - BREAK_PX * len(axis.breaks)) / max(stretch, 1.0)
        else:
            break
    return axis


# --- labels ---------------------------------------------------------------------------------


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A generous estimate of DejaVu Sans' advance (0.64 em covers digits and capitals)."""
    return len(text) * size * (0.68 if bold else 0.62)


@dataclass(frozen=True, slots=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: "Box") -> bool:
        return (self.x0 < other.x1 and other.x0 < self.x1
                and self.y0 < other.y1 and other.y0 < self.y1)


def label_box(x: float, y: float, text: str, size: float, anchor: str = "start",
              bold: bool = False) -> Box:
    """The box a label drawn at (x, baseline y) covers."""
    width = text_width(text, size, bold)
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return Box(left - 1, y - size * 0.82, left + width + 1, y + size * 0.25)


class Placer:
    """Labels that never overlap each other or the symbols they annotate: each label
    takes the first of its candidate spots that is free and inside its area."""

    CELL = 64.0

    def __init__(self) -> None:
        self.grid: dict[tuple[int, int], list[Box]] = {}
        self.placed: list[Box] = []

    def _cells(self, box: Box):
        for i in range(int(box.x0 // self.CELL), int(box.x1 // self.CELL) + 1):
            for j in range(int(box.y0 // self.CELL), int(box.y1 // self.CELL) + 1):
                yield i, j

    def free(self, box: Box) -> bool:
        return not any(box.overlaps(other) for cell in self._cells(box)
                       for other in self.grid.get(cell, ()))

    def block(self, box: Box) -> None:
        for cell in self._cells(box):
            self.grid.setdefault(cell, []).append(box)

    def place(self, text: str, size: float, spots: list[tuple[float, float, str]],
              area: Box, bold: bool = False) -> tuple[float, float, str] | None:
        """The first free spot (x, y, anchor) inside ``area``, now taken; or None."""
        for x, y, anchor in spots:
            box = label_box(x, y, text, size, anchor, bold)
            if (area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0
                    and box.y1 <= area.y1 and self.free(box)):
                self.block(box)
                self.placed.append(box)
                return x, y, anchor
        return None


def around(x: float, y: float, half: float = 5.0, size: float = 9.0,
           levels: int = 3) -> list[tuple[float, float, str]]:
    """Spots for the label of a symbol ``half`` px in radius at (x, y): above and below
    it (right, then left), beside it, then further out."""
    above, below = y - half - 2 - size * 0.25, y + half + 2 + size * 0.82
    spots = []
    for level in range(levels):
        step = level * (size + 2)
        spots += [(x + 2, above - step, "start"), (x - 2, above - step, "end"),
                  (x + 2, below + step, "start"), (x - 2, below + step, "end")]
        if level == 0:
            spots += [(x + half + 3, y + size * 0.3, "start"),
                      (x - half - 3, y + size * 0.3, "end")]
    for shift in (16, 32):   # crowded: a little further along the line
        spots += [(x + 2 + shift, above, "start"), (x + 2 + shift, below, "start"),
                  (x - 2 - shift, above, "end"), (x - 2 - shift, below, "end")]
    return spots


# --- rows -------------------------------------------------------------------------------


@dataclass
class Rows:
    """One row per position, plus p0 again below the last: a message from the last
    node to p0 (or a marker from p0 to the last) goes one row down (or up), not
    across the whole picture."""
    n: int
    top: float
    row_h: float

    @staticmethod
    def for_ring(n: int, top: float) -> "Rows":
        row_h = 46.0 if n <= 8 else (36.0 if n <= 16 else max(22.0, 576.0 / n))
        return Rows(n, top, row_h)

    def y(self, pos: int) -> float:
        return self.top + self.row_h * (pos + 0.5)

    @property
    def again_y(self) -> float:
        """The line of p0 drawn again below the last row."""
        return self.y(self.n)

    @property
    def bottom(self) -> float:
        return self.top + self.row_h * (self.n + 1)

    def band(self, pos: int) -> tuple[float, float]:
        y = self.y(pos)
        return y - self.row_h / 2, y + self.row_h / 2
