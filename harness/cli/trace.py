"""``ringemu trace`` and ``ringemu diagram``: see a run as a space-time diagram.

``trace`` runs one trial of a fault scenario on a fresh ring, exactly as one
trial of ``ringemu chaos --scenario NAME --seed S --trials 1`` would (the same
trial runner, seeds and fault schedule), writes its trace, checks it (every
invariant, hygiene included), and draws it. ``diagram`` draws any recorded
trace: from ``trace``, ``run --trace`` or the chaos run store.

``--hidden-death`` turns off the cluster's closing of inherited descriptors
under fork (``Cluster.close_inherited_fds``), so the lessons can show a death
that the neighbours never see.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Iterable

from ..chaos.scenarios import scenario_named
from ..chaos.trial import run_trial
from ..config import ConfigError
from ..files import check_output_path, write_bytes_atomically, write_text_atomically
from ..interrupts import exit_status
from .view import add_view_option, check_view, write_view
from ..report import recovery_table
from ..teach.diagram import parse_window, render_svg
from ..teach.diagram import png as diagram_png
from ..teach.timeline import fault_table
from ..tracefile import iter_trace
from .options import add_ring_options, candidates, ring_config

EXIT_VIOLATION = 1


def register(commands) -> None:
    trace = commands.add_parser(
        "trace", help="run one trial of a scenario and draw it as a space-time diagram",
        description="Run one trial of a fault scenario on a fresh ring (the same trial as "
                    "'ringemu chaos --scenario NAME --seed S --trials 1'), write its trace, "
                    "check it, print what the neighbours saw after each fault, and draw "
                    "the trace as an SVG space-time diagram. Exit status 0: every "
                    "invariant held; 1: the checker found a violation; 2: bad input.")
    trace.add_argument("--scenario", required=True, metavar="NAME",
                       help="a chaos scenario (see 'ringemu scenarios') or kill-next")
    add_ring_options(trace)
    trace.add_argument("--out", required=True, metavar="FILE.svg",
                       help="where to write the diagram")
    trace.add_argument("--trace", default=None, metavar="PATH",
                       help="where to write the trace (default: FILE with .jsonl)")
    _add_drawing_options(trace)
    trace.add_argument("--hidden-death", action="store_true",
                       help="under fork, leave inherited descriptors open in every node: "
                            "siblings keep each other's pipe ends and a death goes unseen")
    add_view_option(trace)
    trace.set_defaults(handler=trace_command)

    diagram = commands.add_parser(
        "diagram", help="draw a recorded trace as a space-time diagram (SVG)",
        description="Draw a trace (JSON lines, from 'ringemu trace', 'ringemu run "
                    "--trace', 'ringemu check --trace' or the chaos run store) as a "
                    "self-contained SVG: one line "
                    "per node, time left to right, every message an arrow from send to "
                    "receipt, snapshot cuts, faults, restarts and EOFs.")
    diagram.add_argument("trace", metavar="TRACE.jsonl", help="the trace to draw")
    diagram.add_argument("--out", required=True, metavar="FILE.svg",
                         help="where to write the diagram")
    _add_drawing_options(diagram)
    diagram.add_argument("--title", default=None, help="a title for the picture")
    diagram.set_defaults(handler=diagram_command)


def _add_drawing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--window", default=None, metavar="START_MS:END_MS",
                        help="draw only this stretch (ms since the first event)")
    parser.add_argument("--no-fold", dest="fold", action="store_false",
                        help="draw every lap (by default long quiet stretches are folded)")
    parser.add_argument("--scale", type=_scale, default=1.0, metavar="FACTOR",
                        help="enlarge the whole picture, e.g. 2 for a projector "
                             "(0.25..8, default 1)")
    parser.add_argument("--png", default=None, metavar="FILE.png",
                        help="also write the picture as PNG (needs the png extra: "
                             f"{diagram_png.INSTALL})")


def _scale(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale {text!r} is not a number; need "
                                         "0.25..8") from None
    if not 0.25 <= value <= 8:   # also rejects nan
        raise argparse.ArgumentTypeError(f"--scale {text} is out of range; need 0.25..8")
    return value


def _check_drawing_outputs(args: argparse.Namespace) -> None:
    """Every output of a drawing is checked before any work starts."""
    check_output_path(args.out, "--out")
    if args.png is not None:
        if not diagram_png.available():
            raise ConfigError(f"--png needs cairosvg, which is not installed: "
                              f"{diagram_png.INSTALL}")
        check_output_path(args.png, "--png")


def _window(args: argparse.Namespace):
    if args.window is None:
        return None
    try:
        return parse_window(args.window)
    except ValueError as bad:
        raise ConfigError(str(bad)) from None


def trace_command(args: argparse.Namespace) -> int:
    scenario = scenario_named(args.scenario)
    ring = ring_config(args)
    if ring.nodes < scenario.min_nodes:
        raise ConfigError(f"--nodes {ring.nodes} is too small for scenario "
                          f"{scenario.name!r}; it needs at least {scenario.min_nodes}")
    if args.hidden_death and ring.start_method != "fork":
        raise ConfigError(f"--hidden-death needs --start-method fork (got "
                          f"{ring.start_method}): only fork children inherit descriptors")
    window = _window(args)
    trace_path = args.trace or os.path.splitext(args.out)[0] + ".jsonl"
    _check_drawing_outputs(args)
    check_output_path(trace_path, "--trace")
    check_view(args)
    sys.stderr.write(f"ringemu trace: {scenario.name}, seed {args.seed}, {ring.nodes} nodes, "
                     f"ids {list(ring.ids)}, fencing {'on' if ring.fencing else 'off'}, "
                     f"election {ring.algorithm}"
                     + (", deaths HIDDEN (inherited descriptors left open)"
                        if args.hidden_death else "") + "\n")
    outcome = run_trial(ring, scenario, seed=args.seed,
                        candidates=candidates(args, ring.nodes), trace_path=trace_path,
                        narrate=True, hidden_death=args.hidden_death)
    print(recovery_table(outcome.recoveries))
    print()
    print(fault_table(outcome.records))
    print()
    if outcome.violations:
        print("checker: VIOLATED")
        for violation in outcome.violations:
            print(f"  - {violation}")
    else:
        print("checker: every invariant held")
    title = (f"{scenario.name} · seed {args.seed} · {ring.nodes} nodes"
             + ("" if ring.fencing else " · fencing OFF")
             + (" · deaths hidden (fork, inherited fds open)" if args.hidden_death else ""))
    _write_diagram(outcome.records, args, title, window)
    print(f"trace:   {trace_path}")
    print(f"diagram: {args.out}  (open it in a browser)")
    if args.png:
        print(f"png:     {args.png}")
    if args.view is not None:
        write_view(outcome.records, args.view, title,
                   extra_violations=[f"scenario: {outcome.error}"] if outcome.error else ())
        print(f"view:    {args.view}  (open it in a browser)")
    if outcome.interrupted is not None:
        return exit_status(outcome.interrupted)
    return EXIT_VIOLATION if outcome.violations else 0


def diagram_command(args: argparse.Namespace) -> int:
    window = _window(args)
    _check_drawing_outputs(args)
    counted = _Counted(iter_trace(args.trace))   # streamed: never held whole
    title = args.title or os.path.basename(args.trace)
    _write_diagram(counted, args, title, window)
    print(f"diagram: {args.out}  ({counted.count} events; open it in a browser)")
    if args.png:
        print(f"png:     {args.png}")
    return 0


class _Counted:
    """An iterable of records that counts them as they go by."""

    def __init__(self, records) -> None:
        self.records, self.count = records, 0

    def __iter__(self):
        for record in self.records:
            self.count += 1
            yield record


def _write_diagram(records: Iterable[dict], args: argparse.Namespace, title: str,
                   window) -> None:
    try:
        svg = render_svg(records, title=title, window_ms=window, fold=args.fold,
                         scale=args.scale)
    except ValueError as bad:
        raise ConfigError(f"--window: {bad}" if window else str(bad)) from None
    write_text_atomically(args.out, svg)
    if args.png:
        write_bytes_atomically(args.png, diagram_png.svg_to_png(svg))
