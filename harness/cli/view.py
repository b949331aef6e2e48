"""``ringemu view``: a recorded run as one interactive, self-contained HTML page.

The page (harness/teach/view) shows the ring at any instant, the space-time
diagram with a cursor, a scrubber, search, and the checker's verdict; it loads
nothing from the network, so it opens from disk. Other commands take
``--view FILE.html`` and call ``add_view_option`` / ``write_view`` from here.
"""
from __future__ import annotations

import argparse
import os
from typing import Iterable

from ..config import ConfigError
from ..files import check_output_path, write_text_atomically
from ..teach.view import checker_verdict, render_html
from ..tracefile import read_trace


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
    records = read_trace(args.trace)
    check_output_path(args.out, "--out")
    write_view(records, args.out, args.title or os.path.basename(args.trace))
    print(f"view: {args.out}  ({len(records)} events; open it in a browser)")
    return 0


def add_view_option(parser: argparse.ArgumentParser, what: str = "the run") -> None:
    parser.add_argument("--view", default=None, metavar="FILE.html",
                        help=f"also write {what} as an interactive page (see 'ringemu view')")


def check_view(args: argparse.Namespace) -> None:
    """Fail early (exit 2) on an unwritable --view, before any ring is started."""
    if getattr(args, "view", None) is not None:
        check_output_path(args.view, "--view")


def write_view(records: list[dict], path: str, title: str, *, verdict: dict | None = None,
               recovery_deadline_ms: float | None = None,
               extra_violations: Iterable[str] = ()) -> None:
    """The page for ``records``; the verdict is harness.invariants' unless given, plus
    ``extra_violations`` ("what: detail", e.g. a scenario that got stuck)."""
    try:
        if verdict is None:
            verdict = checker_verdict(records, nodes=max(r["pos"] for r in records) + 1,
                                      recovery_deadline_ms=recovery_deadline_ms)
        verdict["violations"] = verdict["violations"] + [
            {"invariant": text.split(":", 1)[0], "t_ns": None,
             "detail": text.split(":", 1)[-1].strip()} for text in extra_violations]
        html = render_html(records, title=title, verdict=verdict)
    except ValueError as bad:
        raise ConfigError(f"--view: {bad}") from None
    write_text_atomically(path, html)    # a late failure is an OutputError (exit 4)


def write_trial_view(result, path: str) -> None:
    """The page of one chaos trial (a ``TrialResult``), read back from the run store."""
    if not result.trace:
        print(f"view: trial {result.scenario}/{result.trial} has no trace; no page written")
        return
    records = read_trace(result.trace)
    write_view(records, path, f"chaos {result.scenario} · trial {result.trial} · seed "
               f"{result.seed} · {result.nodes} nodes",
               extra_violations=[f"scenario: {result.error}"] if result.error else ())
    print(f"view: {path}  (trial {result.scenario}/{result.trial}, "
          f"{'every invariant held' if result.ok else 'FAILED'}; open it in a browser)")
