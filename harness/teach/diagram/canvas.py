"""The drawing surface every part of the diagram draws on: SVG text out, the label
placer, and the record of which symbols the picture used (for its legend).

Labels are drawn last, in order of importance, each where it collides with no
other label and no symbol; a label that finds no room is left out (its symbol
still carries the whole story in its tooltip). Each label gets its halo as a white,
stroked copy underneath, not by ``paint-order``, which some renderers (cairosvg)
ignore and then paint the stroke over the letters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from .analysis import CANDIDATE, ELECTED, MARKER
from .layout import Box, Placer, Rows, TimeAxis

COLOURS = {
    MARKER: "#8e44ad", CANDIDATE: "#1f6fb4", ELECTED: "#2a9d3a",
    "stale": "#a0432a", "kill": "#d62728", "term": "#e8730c", "stop": "#9ecae1",
    "restart": "#2a9d3a", "eof": "#8b1a1a", "lost": "#b03a2e", "text": "#222",
    "muted": "#666", "cut": "#6c2e8a", "star": "#7a5c00", "stopband": "#21618c",
}
# One colour per token epoch, in order of the epochs the trace shows: two tokens
# alive at once (fencing off) never look alike. Chosen apart from the message kinds.
EPOCH_COLOURS = ("#c98a00", "#00838f", "#c2185b", "#6d4c41", "#546e7a", "#7b9a00")


@dataclass(order=True)
class _Label:
    priority: int
    seq: int
    text: str = field(compare=False)
    colour: str = field(compare=False)
    spots: list = field(compare=False)
    area: Box = field(compare=False)
    size: float = field(compare=False, default=9.0)
    bold: bool = field(compare=False, default=False)


class Canvas:
    """SVG under construction, over one time axis and one set of rows."""

    def __init__(self, axis: TimeAxis, rows: Rows, plot: Box, epochs: list[int],
                 lo: int, hi: int) -> None:
        self.axis, self.rows, self.plot = axis, rows, plot
        self.lo, self.hi = lo, hi
        self.shutdown_ns = float("inf")   # from here on a closing link is not news
        self.epoch_index = {epoch: i for i, epoch in enumerate(epochs)}
        self.out: list[str] = []
        self.placer = Placer()
        self.used: dict[str, None] = {}       # legend keys, in order of first use
        self._labels: list[_Label] = []

    def add(self, svg: str) -> None:
        self.out.append(svg)

    def x(self, t_ns: float) -> float:
        return self.axis.x(t_ns)

    def use(self, key: str) -> None:
        self.used.setdefault(key, None)

    def obstacle(self, x: float, y: float, half_w: float, half_h: float | None = None) -> None:
        """A symbol at (x, y): no label may cover it."""
        half_h = half_w if half_h is None else half_h
        self.placer.block(Box(x - half_w, y - half_h, x + half_w, y + half_h))

    def epoch_class(self, epoch: int | None) -> str:
        return f"ep{self.epoch_index.get(epoch, 0) % len(EPOCH_COLOURS)}"

    def epoch_colour(self, epoch: int | None) -> str:
        return EPOCH_COLOURS[self.epoch_index.get(epoch, 0) % len(EPOCH_COLOURS)]

    def row_area(self, pos: int) -> Box:
        """Where the labels of a node's events may go: its own row of the plot."""
        top, bottom = self.rows.band(pos)
        return Box(self.plot.x0, top, self.plot.x1, bottom)

    def label(self, priority: int, text: str, colour: str, spots: list, area: Box,
              size: float = 9.0, bold: bool = False) -> None:
        """A label to place later (lower priority numbers first)."""
        self._labels.append(_Label(priority, len(self._labels), text, colour, spots, area,
                                   size, bold))

    def place_labels(self) -> None:
        self.add('<g class="labels">')
        for request in sorted(self._labels):
            spot = self.placer.place(request.text, request.size, request.spots,
                                     request.area, request.bold)
            if spot is not None:
                self.add(label_svg(request.text, *spot, request.colour, request.size,
                                   request.bold))
        self.add("</g>")


def label_svg(text: str, x: float, y: float, anchor: str, colour: str, size: float = 9.0,
              bold: bool = False) -> str:
    """A label with its halo: a white stroked copy first, the coloured text on top."""
    common = (f'x="{x:.1f}" y="{y:.1f}" font-size="{size:g}"'
              + (' font-weight="bold"' if bold else "")
              + ("" if anchor == "start" else f' text-anchor="{anchor}"'))
    body = escape(text)
    return (f'<text class="halo" {common} aria-hidden="true">{body}</text>'
            f'<text class="label" {common} fill="{colour}">{body}</text>')
