"""The key to the picture: every symbol the picture uses, and only those, laid out
in as many columns as the picture's width holds (never cut off)."""
from __future__ import annotations

from html import escape

from .analysis import CANDIDATE, ELECTED, MARKER
from .canvas import COLOURS, EPOCH_COLOURS
from .layout import text_width
from .marks import circle, cross, diamond, eof_symbol, fenced_symbol, square, star

SIZE = 10.5
ROW_H = 20
MAX_COLUMNS = 6   # on a very wide picture the key stays together at the left


def _arrow(name: str, cls: str, bar: bool = False) -> callable:
    end = "bar" if bar else "head"
    return lambda x, y: (f'<g class="key {cls}"><line x1="{x}" y1="{y + 4}" x2="{x + 24}" '
                         f'y2="{y - 2}" marker-end="url(#{end}-{name})"/></g>')


_SYMBOLS = {
    MARKER: ("snapshot marker", _arrow(MARKER, MARKER)),
    CANDIDATE: ("candidate ID", _arrow(CANDIDATE, CANDIDATE)),
    ELECTED: ("leader announcement", _arrow(ELECTED, ELECTED)),
    "bar": ("swallowed / dropped / fenced on arrival", _arrow(CANDIDATE, CANDIDATE, True)),
    "lost": ("sent, never received", lambda x, y: (
        f'<g class="key lost"><line x1="{x}" y1="{y - 4}" x2="{x + 16}" y2="{y + 3}"/></g>'
        f'<circle class="vanished" cx="{x + 19}" cy="{y + 4}" r="3"/>')),
    "returned": ("pass failed, token given back", lambda x, y: (
        f'<path class="returned key-token" d="M{x},{y - 3} L{x + 12},{y + 5} L{x + 24},{y - 3}"'
        f' marker-end="url(#head-token-ep0)"/>')),
    "hold": ("holds the token (its epoch's colour)", lambda x, y: (
        f'<line class="hold ep0" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>')),
    "stalehold": ("holds a stale token (striped)", lambda x, y: (
        f'<line class="hold ep0" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>'
        f'<line class="stale" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>')),
    "cut": ("snapshot cut", lambda x, y: (
        f'<line class="cut" x1="{x + 4}" y1="{y - 7}" x2="{x + 18}" y2="{y + 7}"/>')),
    "counted": ("a token the snapshot counted", lambda x, y: circle(
        x + 12, y, 5.5, "#fff", COLOURS[MARKER], 2)),
    "kill": ("SIGKILL", lambda x, y: cross(x + 12, y, 5, "kill")),
    "term": ("SIGTERM", lambda x, y: cross(x + 12, y, 5, "term")),
    "otherfault": ("other fault (named)", lambda x, y: square(x + 12, y, 4, COLOURS["kill"])),
    "stop": ("SIGSTOP .. SIGCONT", lambda x, y: (
        f'<rect class="stopband" x="{x}" y="{y - 7}" width="24" height="14"/>')),
    "reaping": ("killed, not yet reaped", lambda x, y: (
        f'<line class="reaping" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>')),
    "reaped": ("exited (reaped), with its code", lambda x, y: square(x + 12, y, 3.5, "#222")),
    "restart": ("restarted (new pid)", lambda x, y: circle(x + 12, y, 4.5, COLOURS["restart"])),
    "eof": ("EOF on a link", lambda x, y: eof_symbol(x + 12, y + 3, True)),
    "sendfailed": ("send failed (EPIPE)", lambda x, y: diamond(x + 12, y, 4.5, COLOURS["kill"])),
    "created": ("token created (epoch)", lambda x, y: circle(x + 12, y, 4.5, EPOCH_COLOURS[0])),
    "injected": ("duplicate injected", lambda x, y: circle(
        x + 12, y, 4.5, EPOCH_COLOURS[0], COLOURS["kill"])),
    "fenced": ("stale token fenced", lambda x, y: fenced_symbol(x + 12, y)),
    "dropped": ("token dropped", lambda x, y: fenced_symbol(x + 12, y)),
    "blocked": ("kept: right link down", lambda x, y: square(x + 12, y, 3.5, EPOCH_COLOURS[0])),
    "star": ("leader of a round", lambda x, y: (
        f'<path d="{star(x + 12, y, 7)}" fill="#f2c12e" stroke="{COLOURS["star"]}" '
        'stroke-width="0.8"/>')),
    "bypass": ("bypassed (outside the ring)", lambda x, y: (
        f'<line class="bypassed" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>')),
    "again": ("p0 drawn again below the last node", lambda x, y: (
        f'<line class="again" x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}"/>')),
    "break": ("time left out (silence, quiet laps)", lambda x, y: (
        f'<g class="break"><rect x="{x + 6}" y="{y - 8}" width="12" height="16"/></g>')),
    "zoom": ("time magnified (×N, shaded)", lambda x, y: (
        f'<rect class="zoomband" x="{x}" y="{y - 7}" width="24" height="14"/>')),
}


def _entries(used: dict[str, None], epoch_colour) -> list[tuple[str, callable]]:
    entries = []
    for key in used:
        if key.startswith("token:"):
            epoch = key.split(":", 1)[1]
            colour = epoch_colour(None if epoch == "None" else int(epoch))
            cls = f"ep{EPOCH_COLOURS.index(colour)}"
            entries.append((f"token, epoch {epoch}", _arrow(f"token-{cls}", f"Token {cls}")))
        elif key in _SYMBOLS:
            entries.append(_SYMBOLS[key])
    return entries


def legend_size(used: dict[str, None], epoch_colour, width: float) -> tuple[float, int]:
    """(column width, rows) of the legend in ``width`` px."""
    entries = _entries(used, epoch_colour)
    col_w = max((30 + text_width(text, SIZE) + 18 for text, _ in entries), default=100)
    return col_w, -(-len(entries) // _per_row(width, col_w))


def _per_row(width: float, col_w: float) -> int:
    return max(1, min(MAX_COLUMNS, int((width - 28) // col_w)))


def draw_legend(used: dict[str, None], epoch_colour, x: float, y: float, width: float) -> str:
    entries = _entries(used, epoch_colour)
    col_w, _ = legend_size(used, epoch_colour, width)
    per_row = _per_row(width, col_w)
    parts = [f'<g class="legend" transform="translate({x:.1f},{y:.1f})">']
    for i, (text, symbol) in enumerate(entries):
        cx, cy = (i % per_row) * col_w, (i // per_row) * ROW_H
        parts.append(symbol(cx, cy))
        parts.append(f'<text class="legendtext" x="{cx + 30:.0f}" y="{cy + 4}" '
                     f'font-size="{SIZE}">{escape(text)}</text>')
    parts.append("</g>")
    return "".join(parts)
