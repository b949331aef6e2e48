"""``ringemu view``: a recorded run as one interactive, self-contained HTML page.

The page (harness/teach/view) shows the ring at any instant, the space-time
diagram with a cursor, a scrubber, search, and the checker's verdict; it loads
nothing from the network, so it opens from disk. Other commands take
``--view FILE.html`` and call ``add_view_option`` / ``write_view`` from here.
"""
from __future__ import annotations

import argparse
import os

from ..config import ConfigError
from ..teach.view import write_html
from .options import check_writable


def register(commands) -> None:
    view = commands.add_parser(
        "view", help="open a recorded run in the browser: ring, space-time diagram, scrubber",
        description="Write one self-contained HTML page (no network, everything inline) "
                    "for a trace (JSON lines, from 'ringemu trace', 'ringemu run --trace', "
                    "the chaos run store or 'ringemu check --trace'): the ring at the "
                    "current instant, the space-time diagram with a cursor, play, step, "
                    "search, and the checker's verdict with a link to each violation. "
                    "The page's address holds the instant (…/run.html#t=51.2).")
    view.add_argument("trace", metavar="TRACE.jsonl", help="the trace to show")
    view.add_argument("--out", required=True, metavar="FILE.html",
                      help="where to write the page")
    view.add_argument("--title", default=None, help="a title for the page")
    view.set_defaults(handler=view_command)


def view_command(args: argparse.Namespace) -> int:
    from .trace import read_trace
    records = read_trace(args.trace)
    check_writable(args.out, "--out")
    write_view(records, args.out, args.title or os.path.basename(args.trace))
    print(f"view: {args.out}  ({len(records)} events; open it in a browser)")
    return 0


def add_view_option(parser: argparse.ArgumentParser, what: str = "the run") -> None:
    parser.add_argument("--view", default=None, metavar="FILE.html",
                        help=f"also write {what} as an interactive page (see 'ringemu view')")


def check_view(args: argparse.Namespace) -> None:
    """Fail early (exit 2) on an unwritable --view, before any ring is started."""
    if getattr(args, "view", None) is not None:
        check_writable(args.view, "--view")


def write_view(records: list[dict], path: str, title: str, *, verdict: dict | None = None,
               recovery_deadline_ms: float | None = None) -> None:
    try:
        write_html(records, path, title=title, verdict=verdict,
                   recovery_deadline_ms=recovery_deadline_ms)
    except ValueError as bad:
        raise ConfigError(f"--view: {bad}") from None
    except OSError as why:
        raise ConfigError(f"--view {path!r} cannot be written: {why.strerror}") from None
