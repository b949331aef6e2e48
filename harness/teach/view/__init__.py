"""An interactive view of a recorded run: one self-contained HTML page.

``render_html(records, title=...)`` returns the page: the ring at the current
instant, the space-time diagram with a cursor, a scrubber, search, and the
checker's verdict. Everything is inline (the script, the style, the run's data);
the page loads nothing from anywhere, so it opens from disk. The data is built by
``model.page_data``; the page itself is ``page.html``, ``view.css`` and
``view.js`` beside this file.
"""
from __future__ import annotations

import json
import re
from html import escape
from importlib import resources
from typing import Iterable

from ...files import write_text_atomically
from .model import checker_verdict, page_data

__all__ = ["render_html", "write_html", "page_data", "checker_verdict"]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _inline_json(data: dict) -> str:
    """JSON that cannot close the <script> element it sits in."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_html(records: Iterable[dict], *, title: str, verdict: dict | None = None,
                recovery_deadline_ms: float | None = None) -> str:
    data = page_data(records, title=title, verdict=verdict,
                     recovery_deadline_ms=recovery_deadline_ms)
    parts = {"TITLE": escape(title), "STYLE": _asset("view.css"),
             "DATA": _inline_json(data), "SCRIPT": _asset("view.js")}
    # one pass: a title or a record that happens to contain "{{SCRIPT}}" stays text
    return re.sub(r"\{\{([A-Z]+)\}\}", lambda m: parts[m.group(1)], _asset("page.html"))


def write_html(records: Iterable[dict], path: str, *, title: str,
               verdict: dict | None = None,
               recovery_deadline_ms: float | None = None) -> None:
    """Render and write atomically (a reader never sees half a page)."""
    write_text_atomically(path, render_html(records, title=title, verdict=verdict,
                                            recovery_deadline_ms=recovery_deadline_ms))
