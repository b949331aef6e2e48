"""Space-time diagrams of a recorded run: trace records in, SVG text out.

Theory of operation
-------------------
Lamport drew distributed runs this way (1978): one horizontal line per process,
time running left to right, every message an arrow from its send to its
receipt. Here the lines are the ring's positions, the clock is the one
``time.monotonic_ns()`` every process on the machine shares, and everything is
read from the history; nothing is assumed.

Three parts, each pure (no clock, no files): ``analysis`` reads the records
(messages paired send-to-receipt, token holdings, process lives, snapshot cuts,
stop and bypass bands, what to fold away); ``layout`` decides where things go (a
time axis uniform within each segment, with every break and change of scale
marked; the rows; labels that never collide); the drawing modules (``canvas``,
``messages``, ``marks``, ``legend``, ``drawing``, ``render``) write the SVG.
"""
from .analysis import (
    Break, Hold, Life, Message, candidate_id, extract_messages, fold_quiet_laps, holdings,
)
from .layout import parse_window
from .render import render_svg

__all__ = ["Break", "Hold", "Life", "Message", "candidate_id", "extract_messages",
           "fold_quiet_laps", "holdings", "parse_window", "render_svg"]
