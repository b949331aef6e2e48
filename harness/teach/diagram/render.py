"""``render_svg``: trace records in, one self-contained SVG document out."""
from __future__ import annotations

from collections import Counter
from html import escape
from typing import Iterable

from . import analysis as an
from .canvas import Canvas
from .drawing import (
    _STYLE, HEADER, LEFT, MAX_ELEMENTS, RIGHT_MARGIN, SUBTITLE_Y, TITLE_Y, Scene,
    _epoch_style, draw_annotations, draw_breaks, draw_cuts, draw_holds, draw_lives,
    draw_row_labels, draw_stops, draw_ticks, draw_zoom, scene,
)
from .layout import Box, text_width
from .legend import ROW_H, draw_legend, legend_size
from .marks import draw_marks
from .messages import defs, draw_messages, visible


def render_svg(records: Iterable[an.Record], *, title: str | None = None,
               window_ms: tuple[float | None, float | None] | None = None,
               fold: bool = True, scale: float = 1.0) -> str:
    """The space-time diagram of ``records`` as a self-contained SVG document;
    ``scale`` enlarges the whole picture (for a projector)."""
    if fold:   # streams: a long trace is never held whole, only what the picture shows
        everything, folds = an.thin_quiet_laps(records, keep_ms=window_ms)
    elif window_ms is None:  # every record is drawn: past the limit, stop reading
        everything, folds = an.sorted_records(_at_most(records, MAX_ELEMENTS)), []
    else:
        everything, folds = an.sorted_records(records), []
    if not everything:
        raise ValueError("the trace has no events")
    s = scene(everything, window_ms, folds, fold)
    messages = [m for m in an.pair_messages(everything) if visible(m, s.lo, s.hi, s.folded)]
    plot = Box(LEFT - 4, HEADER, LEFT + s.axis.width + 16, s.rows.bottom)
    c = Canvas(s.axis, s.rows, plot, an.epochs(everything), s.lo, s.hi)
    c.shutdown_ns = an.shutdown_ns(everything)
    node_lives = an.lives(everything)
    _draw_plot(c, s, messages, node_lives)
    header = _header(s, messages, title)
    return _document(c, s, header, scale)


def _at_most(records: Iterable[an.Record], limit: int):
    for count, record in enumerate(records, 1):
        if count > limit:
            raise ValueError(f"the picture would draw more than {limit} events, too many to "
                             "read; fold the quiet laps (leave out --no-fold) or draw a "
                             "stretch of it with --window START_MS:END_MS")
        yield record


def _draw_plot(c: Canvas, s: Scene, messages: list, node_lives: list) -> None:
    draw_zoom(c, s)
    draw_ticks(c, s)
    c.add(f'<clipPath id="plot"><rect x="{c.plot.x0 - 2:.1f}" y="0" '
          f'width="{c.plot.x1 - c.plot.x0 + 4:.1f}" height="{s.rows.bottom + 4:.1f}"/></clipPath>')
    c.add('<g clip-path="url(#plot)">')
    draw_stops(c, s)
    draw_lives(c, s, node_lives)
    draw_holds(c, s, an.holdings(s.everything))
    annotations: list = []
    draw_cuts(c, s, annotations)
    draw_messages(c, messages)
    draw_breaks(c, s)
    draw_marks(c, s.view)
    c.add("</g>")
    draw_annotations(c, s, annotations)
    draw_row_labels(c, s, node_lives)
    c.place_labels()


def _header(s: Scene, messages: list, title: str | None) -> tuple[str, str]:
    counts = Counter(m.kind for m in messages)
    lo_ms, hi_ms = round((s.lo - s.origin) / 1e6, 3), round((s.hi - s.origin) / 1e6, 3)
    subtitle = (f"{s.n} nodes · {len(s.view)} events · "
                + ", ".join(f"{counts[k]} {k.lower()}" for k in an.MESSAGE_KINDS if counts[k])
                + f" messages · {s.when(lo_ms)} to {s.when(hi_ms)}"
                + (" of the model checker's counterexample" if s.steps
                   else " after the first event")
                + (f" ({s.span(s.hi - s.lo)})" if s.hi > s.lo and not s.steps else ""))
    return title or "ringemu space-time diagram", subtitle


def _document(c: Canvas, s: Scene, header: tuple[str, str], scale: float) -> str:
    title, subtitle = header
    width = max(c.plot.x1 + RIGHT_MARGIN, 28 + text_width(subtitle, 11),
                28 + text_width(title, 15, True))
    _, legend_rows = legend_size(c.used, c.epoch_colour, width)
    legend_y = s.rows.bottom + 22
    height = legend_y + legend_rows * ROW_H + 8
    head = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * scale:.0f}" '
        f'height="{height * scale:.0f}" viewBox="0 0 {width:.0f} {height:.0f}">',
        f"<style>{_STYLE}{_epoch_style()}</style>", defs(),
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#fff"/>',
        f'<text class="title" x="14" y="{TITLE_Y:.0f}">{escape(title)}</text>',
        f'<text class="subtitle" x="14" y="{SUBTITLE_Y:.0f}">{escape(subtitle)}</text>',
    ]
    tail = [draw_legend(c.used, c.epoch_colour, 14, legend_y, width), "</svg>"]
    return "\n".join(head + c.out + tail) + "\n"
