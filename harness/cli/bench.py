"""``ringemu bench``: the benchmark suite's command (the suite is harness/bench/)."""
from __future__ import annotations

import argparse

from ..bench import PLOT_HELP, SECTIONS, run_bench
from ..config import (
    DEFAULT_START_METHOD, START_METHODS, ConfigError, ensure_descriptor_budget, parse_numbers,
)
from ..files import check_output_folder, check_output_path
from .options import algorithm_option, algorithms


def register(commands) -> None:
    bench = commands.add_parser(
        "bench", help="benchmark suite: hop latency, election cost, recovery, restart, "
                      "scale, campaign throughput",
        description="Measure the ring against the operating system's floor and against "
                    "theory. Every timing is a median over repetitions with its "
                    "interquartile range, next to a reference measured in the same run, as "
                    "a ratio. Tables go to stdout, progress to stderr. Exit status 0: every "
                    "section ran (goals met or not); 1: a section failed; 2: bad input.")
    bench.add_argument("--quick", action="store_true",
                       help="a reduced suite, under 30 s (the full one: under 10 min on "
                            "2 cores)")
    bench.add_argument("--only", nargs="+", choices=list(SECTIONS), default=None,
                       metavar="SECTION",
                       help="run only these sections: " + ", ".join(SECTIONS))
    bench.add_argument("--json", default=None, metavar="PATH",
                       help="write the machine, every measurement and the goals as JSON")
    bench.add_argument("--plot", default=None, metavar="DIR",
                       help=f"write PNG charts to DIR (needs matplotlib: {PLOT_HELP})")
    bench.add_argument("--start-method", choices=START_METHODS, default=DEFAULT_START_METHOD,
                       help="start method of every ring (the restart section adds the "
                            f"others in the full suite; default {DEFAULT_START_METHOD})")
    bench.add_argument("--scale-nodes", default=None, metavar="N,N,...",
                       help="ring sizes for the scale section (default 256,1024,2048; quick 64)")
    algorithm_option(bench, allow_all=True, default="all")
    bench.set_defaults(handler=bench_command)


def _scale_sizes(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    sizes = parse_numbers(text, "--scale-nodes", 2, "256,1024")
    ensure_descriptor_budget(max(sizes))
    return sizes


def bench_command(args: argparse.Namespace) -> int:
    if args.plot is not None:
        from ..bench.plots import matplotlib_missing
        if matplotlib_missing():
            raise ConfigError(f"--plot needs matplotlib, which is not installed; get it "
                              f"with: {PLOT_HELP}")
        check_output_folder(args.plot, "--plot")
    if args.json is not None:
        check_output_path(args.json, "--json")
    sizes = _scale_sizes(args.scale_nodes)
    names = args.only or list(SECTIONS)
    return run_bench(names, quick=args.quick, start_method=args.start_method,
                     json_path=args.json, plot_dir=args.plot, scale_sizes=sizes,
                     algorithms=algorithms(args))
