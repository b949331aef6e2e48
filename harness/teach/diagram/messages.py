"""Ring messages as arrows: from the send on one line to the receipt on another.

A token's arrow has its epoch's colour. A message from the last node to p0 ends on
the line drawn for p0 again below the last row (and a marker from p0 to the last
node starts there), so it crosses one row, not the picture. A message nobody
received is a short dashed stub ending in a hollow circle; a pass that failed and
gave the token back is a dashed loop back to its sender.
"""
from __future__ import annotations

from html import escape

from .analysis import CANDIDATE, MESSAGE_KINDS, TOKEN, Message
from .canvas import COLOURS, EPOCH_COLOURS, Canvas
from .layout import text_width

ENDS_IN_A_BAR = ("swallowed", "dropped", "stale", "fenced")
LABEL_PRIORITY = 7


def defs() -> str:
    """Arrowheads and bars, one per message kind and token epoch colour."""
    colours = {kind: COLOURS[kind] for kind in MESSAGE_KINDS if kind != TOKEN}
    colours.update({f"token-ep{i}": colour for i, colour in enumerate(EPOCH_COLOURS)})
    parts = ["<defs>"]
    for name, colour in colours.items():
        parts.append(
            f'<marker id="head-{name}" viewBox="0 0 10 10" refX="9" refY="5" '
            f'markerWidth="6" markerHeight="6" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>')
        parts.append(
            f'<marker id="bar-{name}" viewBox="0 0 10 10" refX="5" refY="5" '
            f'markerWidth="7" markerHeight="7" orient="auto">'
            f'<path d="M5,0 L5,10" stroke="{colour}" stroke-width="3"/></marker>')
    parts.append("</defs>")
    return "".join(parts)


def _marker_name(c: Canvas, m: Message) -> str:
    return f"token-{c.epoch_class(m.epoch)}" if m.kind == TOKEN else m.kind


def _classes(c: Canvas, m: Message) -> str:
    extra = f" {c.epoch_class(m.epoch)}" if m.kind == TOKEN else ""
    return f"msg {m.kind}{extra}" + ("" if m.delivered else " lost")


def _title(m: Message) -> str:
    if m.outcome == "returned":
        return escape(f"{m.label}: the pass failed (EPIPE); the token came back")
    return escape(m.label + (f": {m.outcome} at node {m.dst}" if m.delivered
                             else ": never received"))


def _ends(c: Canvas, m: Message) -> tuple[float, float, float, float, bool]:
    """(y1, y2, ...) of a delivered message; a wrap through p0 uses p0's second line."""
    rows = c.rows
    y1, y2 = rows.y(m.src), rows.y(m.dst)
    wraps = (m.direction == "right" and m.dst <= m.src) or (
        m.direction == "left" and m.dst >= m.src)
    if wraps and m.direction == "right" and m.dst == 0:
        return y1, rows.again_y, False
    if wraps and m.direction == "left" and m.src == 0:
        return rows.again_y, y2, False
    return y1, y2, wraps


def _stub(c: Canvas, m: Message, x1: float, y1: float) -> str:
    dy = c.rows.row_h * 0.45 * (1 if m.direction == "right" else -1)
    x2, y2 = x1 + 10, y1 + dy
    c.use("lost")
    c.obstacle(x2, y2, 4)
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>'
            f'<circle class="vanished" cx="{x2 + 2.4:.1f}" cy="{y2 + 1.8:.1f}" r="3"/>')


def _returned(c: Canvas, m: Message, x1: float, y1: float) -> str:
    x2 = max(c.x(m.received_ns), x1 + 8)
    dip = c.rows.row_h * 0.35
    c.use("returned")
    return (f'<path class="returned" d="M{x1:.1f},{y1:.1f} L{(x1 + x2) / 2:.1f},{y1 + dip:.1f} '
            f'L{x2:.1f},{y1:.1f}" marker-end="url(#head-{_marker_name(c, m)})"/>')


def _arrow(c: Canvas, m: Message, x1: float) -> tuple[str, float, float, float, float]:
    x2 = c.x(m.received_ns)
    y1, y2, split = _ends(c, m)
    name = _marker_name(c, m)
    end = f"bar-{name}" if m.outcome in ENDS_IN_A_BAR else f"head-{name}"
    if m.outcome in ENDS_IN_A_BAR:
        c.use("bar")
    if split:  # a wrap between two other nodes (p0 bypassed): leave and re-enter
        rows, xm = c.rows, (x1 + x2) / 2
        exit_y, enter_y = ((rows.bottom, rows.top) if m.direction == "right"
                           else (rows.top, rows.bottom))
        return (f'<path d="M{x1:.1f},{y1:.1f} L{xm:.1f},{exit_y:.1f} M{xm:.1f},{enter_y:.1f} '
                f'L{x2:.1f},{y2:.1f}" marker-end="url(#{end})"/>', x1, y1, x2, y2)
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'marker-end="url(#{end})"/>', x1, y1, x2, y2)


def draw_message(c: Canvas, m: Message) -> None:
    x1 = c.x(m.sent_ns)
    y1 = c.rows.y(m.src)
    c.use(f"token:{m.epoch}" if m.kind == TOKEN else m.kind)
    head = f'<g class="{_classes(c, m)}" data-outcome="{m.outcome}"><title>{_title(m)}</title>'
    if m.outcome == "returned":
        c.add(head + _returned(c, m, x1, y1) + "</g>")
        return
    if not m.delivered:
        c.add(head + _stub(c, m, x1, y1) + "</g>")
        return
    body, x1, y1, x2, y2 = _arrow(c, m, x1)
    c.add(head + body + "</g>")
    if m.kind == CANDIDATE:
        text = m.label.split()[1]
        xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
        half = text_width(text, 9, True) / 2
        spots = [(xm + 4, ym + 3, "start"), (xm - 4, ym + 3, "end"),
                 (xm + half + 4, ym - 6, "middle"), (xm - half - 4, ym + 12, "middle")]
        c.label(LABEL_PRIORITY, text, COLOURS[CANDIDATE], spots, c.plot, bold=True)


def visible(m: Message, lo: int, hi: int, folded) -> bool:
    end = m.received_ns if m.received_ns is not None else m.sent_ns
    if end < lo or m.sent_ns > hi:
        return False
    return not (folded(m.sent_ns) and folded(end))


def draw_messages(c: Canvas, messages: list[Message]) -> None:
    c.add('<g class="messages">')
    for m in messages:
        draw_message(c, m)
    c.add("</g>")
