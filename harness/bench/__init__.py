"""``ringemu bench``: measure the ring against the operating system's floor and theory.

Six sections, each a module here: transport (hop latency vs raw pipes),
elections (messages per round: real ring, simulator, closed forms), recovery
(phases of a token loss in hop units), restart (SIGKILL to the token passing
the replacement, vs a bare process start), scale (the largest ring: start,
bootstrap, memory, descriptors, limits) and campaign (chaos trials per
minute). Every timing is a median over repetitions with its interquartile
range, next to a reference measured in the same run, as a ratio. Tables go to
stdout, progress to stderr; ``--json`` writes everything, ``--plot`` draws PNGs.
"""
from __future__ import annotations

import importlib
import sys
import time
import traceback

from ..files import write_json_atomically
from ..interrupts import Terminated, exit_status

# Section -> its module, imported when the suite runs: a reference child that
# imports this package (spawn, forkserver) loads nothing it does not need.
SECTIONS = {
    "transport": "transport",
    "elections": "elections",
    "recovery": "phases",
    "restart": "restart",
    "scale": "scale",
    "campaign": "throughput",
    "detection": "detection",
}
TITLES = {
    "transport": "1. Transport: token hop vs raw pipes",
    "elections": "2. Election cost: messages per all-candidate round",
    "recovery": "3. Recovery: token loss to the new token's lap",
    "restart": "4. Restart: SIGKILL to the token through the replacement",
    "scale": "5. Scale: the largest ring",
    "campaign": "6. Campaign throughput: chaos trials per minute",
    "detection": "7. Detection: death notices, silences, false alarms under load",
}
PLOT_HELP = "pip install 'ringemu[plot]'"
EXIT_SECTION_FAILED = 1


def run_bench(names: list[str], *, quick: bool, start_method: str, json_path: str | None,
              plot_dir: str | None, scale_sizes: tuple[int, ...] | None = None,
              algorithms: list[str] | None = None) -> int:
    from . import machine, tables
    document = {"version": 1, "quick": quick, "machine": machine.describe(start_method),
                "sections": {}, "durations_s": {}, "errors": {}}
    neighbours = machine.Neighbours()
    neighbours.start()
    sys.stderr.write(f"ringemu bench: {'quick' if quick else 'full'} suite, "
                     f"{', '.join(names)}; start method {start_method}\n")
    status = 0
    began = time.monotonic()
    try:
        for name in names:
            sys.stderr.write(f"ringemu bench: {name} ...\n")
            sys.stderr.flush()
            started = time.monotonic()
            try:
                module = importlib.import_module(f".{SECTIONS[name]}", __name__)
                if name == "scale":
                    result = module.measure(quick, start_method, scale_sizes)
                elif name == "elections":
                    result = module.measure(quick, start_method, algorithms)
                else:
                    result = module.measure(quick, start_method)
            except Exception as failed:  # a section that cannot run: say so, go on
                document["errors"][name] = f"{type(failed).__name__}: {failed}"
                document["durations_s"][name] = time.monotonic() - started
                sys.stderr.write(f"ringemu bench: {name} failed:\n{traceback.format_exc()}")
                print(f"\n== {TITLES[name]} ==\nFAILED: {document['errors'][name]}")
                status = EXIT_SECTION_FAILED
                continue
            document["sections"][name] = result
            document["durations_s"][name] = time.monotonic() - started
            print(f"\n== {TITLES[name]} ==")
            print(tables.RENDER[name](result))
            sys.stdout.flush()
            sys.stderr.write(f"ringemu bench: {name} took "
                             f"{document['durations_s'][name]:.1f} s\n")
    except (KeyboardInterrupt, Terminated) as interrupt:
        sys.stderr.write(f"ringemu bench: {type(interrupt).__name__}; every ring is "
                         "stopped, the finished sections are kept\n")
        status = exit_status(interrupt)
    finally:
        document["durations_s"]["total"] = time.monotonic() - began
        document["machine"]["during_run"] = neighbours.stop()
        document["goals"] = goals(document["sections"], quick)
        if json_path is not None:
            write_json_atomically(json_path, document)
    print()
    print(summary(document))
    if plot_dir is not None and document["sections"]:
        from .plots import write_plots
        for path in write_plots(document, plot_dir):
            sys.stderr.write(f"ringemu bench: wrote {path}\n")
    return status


def goals(sections: dict, quick: bool = False) -> dict:
    found = {}
    if "transport" in sections:
        goal = sections["transport"]["goal"]
        found["transport"] = {"what": f"ring hop <= {goal['target']}x raw Connection hop",
                              "ratios": goal["ratio_vs_connection"], "met": goal["met"]}
    if "recovery" in sections:
        goal = sections["recovery"]["goal"]
        found["recovery"] = {"what": f"snapshot + election (without the scheduled lead) + "
                                     f"regeneration <= {goal['factor']:g}x their hop floor",
                             "ratios": goal["critical_vs_floor"], "met": goal["met"]}
    if "scale" in sections:
        largest = sections["scale"]["largest"]
        reached = largest["nodes"] >= 1024
        found["scale"] = {"what": "1024 nodes on this machine", "nodes": largest["nodes"],
                          "met": True if reached else (None if quick else False)}
    return found


def summary(document: dict) -> str:
    during = document["machine"]["during_run"]
    lines = [f"ringemu bench: {document['durations_s']['total']:.1f} s; other processes "
             f"used {during['other_cpu_s']:.1f} CPU-s "
             f"({100 * (during['other_cpu_share'] or 0):.0f}% of the machine) meanwhile"
             + (": the machine was shared" if during["shared"] else "")]
    for name, goal in document["goals"].items():
        ratios = goal.get("ratios")
        detail = (", ".join(f"{k}: {v:.2f}x" for k, v in ratios.items() if v is not None)
                  if ratios else f"{goal.get('nodes')} nodes")
        verdict = {True: "met", False: "missed", None: "not judged by --quick"}[goal["met"]]
        lines.append(f"goal {name}: {goal['what']}: {detail}: {verdict}")
    for name, error in document["errors"].items():
        lines.append(f"section {name} FAILED: {error}")
    return "\n".join(lines)

