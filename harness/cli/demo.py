"""``ringemu demo``: the narrated walk through the article (the story is harness/teach/demo.py)."""
from __future__ import annotations

import argparse
import os

from ..config import ConfigError
from ..teach.demo import DEMO_NODES, Demo
from ..files import check_output_path
from .options import add_ring_options, candidates, non_negative, ring_config
from .view import add_view_option, check_view, write_view


def register(commands) -> None:
    demo = commands.add_parser(
        "demo", help="a narrated walk through election, faults and fencing on a real ring",
        description="A small ring of real processes walks through the article step by "
                    "step: no token at first, a snapshot finds none, arbitrary nodes "
                    "become candidates, IDs travel and are swallowed, the largest comes "
                    "home, the leader makes the token; then a SIGKILL (the neighbours see "
                    "EOF) and a SIGSTOP (the others think it dead, a new leader, the old "
                    "token wakes up stale and is fenced). Ends with a space-time diagram.")
    add_ring_options(demo)
    demo.add_argument("--fast", action="store_true",
                      help="no pauses between steps (for tests and the impatient)")
    demo.add_argument("--pace", type=non_negative("--pace"), default=1.0, metavar="FACTOR",
                      help="stretch (>1) or shorten (<1) the pauses (default 1)")
    demo.add_argument("--out", default="ringemu-demo.svg", metavar="FILE.svg",
                      help="where to draw the run (default ringemu-demo.svg; the trace "
                           "goes next to it as .jsonl)")
    add_view_option(demo)
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    if args.nodes is None and args.ids is None:
        args.nodes = DEMO_NODES
    ring = ring_config(args)
    if ring.nodes < 3:
        raise ConfigError(f"--nodes {ring.nodes} is too small for the demo; it needs at "
                          "least 3 (a stopped node is bypassed by its two neighbours)")
    trace_path = os.path.splitext(args.out)[0] + ".jsonl"
    check_output_path(args.out, "--out")
    check_output_path(trace_path, "--out")
    check_view(args)
    demo = Demo(ring, seed=args.seed, candidates=candidates(args, ring.nodes),
                trace_path=trace_path, pace=0.0 if args.fast else args.pace)
    status = demo.run(args.out)
    if args.view is not None and demo.history.records:
        write_view(demo.history.records, args.view,
                   f"ringemu demo · {ring.nodes} nodes · ids {list(ring.ids)}")
        print(f"view: {args.view}  (open it in a browser)")
    return status
