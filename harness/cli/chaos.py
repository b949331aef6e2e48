"""``ringemu chaos``: run the campaign, print the tables, keep the results."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from ..chaos.campaign import CampaignConfig, TrialResult, run_campaign, summary
from ..files import write_json_atomically
from ..config import ConfigError, RingConfig
from ..chaos.scenarios import SCENARIOS, Scenario
from ..interrupts import Terminated, exit_status
from .options import (
    add_ring_options, algorithms, candidates, integer, ring_config,
)
from ..report import summary_table, trial_table
from ..files import check_output_folder, check_output_path
from .view import add_view_option, check_view, write_trial_view

EXIT_VIOLATION = 1


def register(commands) -> None:
    chaos = commands.add_parser(
        "chaos", help="fault-injection campaign: scenarios x trials, checked, tabulated",
        description="Run fault scenarios on fresh rings, check every invariant over each "
                    "trial's history, and print a per-trial and a per-scenario table. Exit "
                    "status 0: every trial held every invariant; 1: some did not; 2: bad "
                    "input. Traces and results go to the run store as trials finish.")
    chaos.add_argument("--scenario", nargs="+", default=["all"], metavar="NAME",
                       help="scenarios to run, or 'all' (default); see 'ringemu scenarios'")
    chaos.add_argument("--file", default=None, metavar="EXPERIMENT.json",
                       help="run the timed faults of an experiment file instead")
    add_ring_options(chaos, all_algorithms=True)
    chaos.add_argument("--trials", type=integer("--trials", 1), default=3,
                       help="trials per scenario (default 3)")
    chaos.add_argument("--json", default=None, metavar="PATH",
                       help="write config, every trial and the summary as JSON to PATH "
                            "(with --algorithm all: PATH-ALGORITHM.json, one per algorithm)")
    chaos.add_argument("--runs-dir", default="runs", metavar="DIR",
                       help="run store: traces and results per trial (default ./runs)")
    add_view_option(chaos, "the first failed trial (or, if none failed, the last trial)")
    chaos.set_defaults(handler=chaos_command)
    listing = commands.add_parser("scenarios", help="list the built-in chaos scenarios",
                                  description="Name and one-line description of every "
                                              "scenario.")
    listing.set_defaults(handler=scenarios_command)


def scenarios_command(args: argparse.Namespace) -> int:
    from tabulate import tabulate
    print(tabulate([[s.name, s.description] for s in SCENARIOS.values()],
                   headers=["scenario", "what happens"]))
    return 0


def chaos_command(args: argparse.Namespace) -> int:
    if args.file is not None:
        from ..chaos.experiment import load_experiment
        experiment = load_experiment(args.file)
        scenarios = [experiment.scenario()]
        config = RingConfig(ids=experiment.ids, hold_ns=int(args.hold_ms * 1e6),
                            fencing=args.fencing, announce=args.announce,
                            start_method=args.start_method,
                            detector_floor_ms=args.detector_floor_ms)
        if args.algorithm != "all":
            config = dataclasses.replace(config, algorithm=args.algorithm)
        seed = experiment.seed
    else:
        names = list(SCENARIOS) if args.scenario == ["all"] else args.scenario
        for name in names:
            if name not in SCENARIOS:
                raise ConfigError(f"--scenario {name!r} is unknown; choose from "
                                  + ", ".join(SCENARIOS) + " or all")
        scenarios = [SCENARIOS[name] for name in dict.fromkeys(names)]
        config = ring_config(args)
        seed = args.seed
        for scenario in scenarios:
            if config.nodes < scenario.min_nodes:
                raise ConfigError(f"--nodes {config.nodes} is too small for scenario "
                                  f"{scenario.name!r}; it needs at least {scenario.min_nodes}")
    if args.json is not None:
        for name in (algorithms(args) if args.algorithm == "all" else [None]):
            check_output_path(args.json if name is None else _per_algorithm(args.json, name),
                              "--json")
    check_output_folder(args.runs_dir, "--runs-dir")
    check_view(args)
    if args.algorithm != "all":
        return run_chaos(scenarios, config, trials=args.trials, seed=seed,
                         arrangement=args.arrangement,
                         candidates=candidates(args, config.nodes),
                         runs_dir=args.runs_dir, json_path=args.json, view_path=args.view)
    # Every scenario once per algorithm: the same rings, the same faults, the same seeds.
    status = 0
    for name in algorithms(args):
        print(f"\n=== election algorithm: {name} ===")
        sys.stdout.flush()
        json_path = None if args.json is None else _per_algorithm(args.json, name)
        view_path = None if args.view is None else _per_algorithm(args.view, name)
        outcome = run_chaos(scenarios, dataclasses.replace(config, algorithm=name),
                            trials=args.trials, seed=seed, arrangement=args.arrangement,
                            candidates=candidates(args, config.nodes),
                            runs_dir=args.runs_dir, json_path=json_path, view_path=view_path)
        if outcome not in (0, EXIT_VIOLATION):
            return outcome  # interrupted: stop here
        status = status or outcome
    return status


def _per_algorithm(path: str, algorithm: str) -> str:
    """results.json -> results-hs.json"""
    root, ext = path.rsplit(".", 1) if "." in path.rsplit("/", 1)[-1] else (path, "")
    return f"{root}-{algorithm}" + (f".{ext}" if ext else "")


def run_chaos(scenarios: list[Scenario], ring: RingConfig, *, trials: int, seed: int,
              arrangement: str, candidates: int | None, runs_dir: str,
              json_path: str | None, view_path: str | None = None) -> int:
    config = CampaignConfig(scenarios=scenarios, ring=ring, trials=trials, seed=seed,
                            arrangement=arrangement, candidates=candidates,
                            runs_dir=runs_dir)
    sys.stderr.write(f"ringemu chaos: {len(scenarios)} scenario(s) x {trials} trial(s), "
                     f"{ring.nodes} nodes, seed {seed}, fencing "
                     f"{'on' if ring.fencing else 'off'}, election {ring.algorithm}; "
                     f"run store {runs_dir}/\n")
    results: list[TrialResult] = []
    status = 0
    try:
        run_campaign(config, on_result=results.append)
    except (KeyboardInterrupt, Terminated) as interrupt:
        sys.stderr.write(f"ringemu chaos: {type(interrupt).__name__} after {len(results)} "
                         "finished trial(s); the ring is stopped, the results are kept\n")
        status = exit_status(interrupt)
    finally:
        if json_path is not None:
            write_json_atomically(json_path, {"config": config.as_dict(),
                                              "trials": [r.as_dict() for r in results],
                                              "summary": summary(results)})
    print(trial_table(results))
    print()
    print(summary_table(summary(results)))
    # One note per scenario is enough: the trials of a scenario teach the same thing.
    notes = list({r.scenario: r.notes[0] for r in results if r.notes}.values())
    failed = [r for r in results if not r.ok]
    if notes:
        print()
        for note in notes:
            print(f"note: {note}")
    if failed:
        print()
        for result in failed:
            print(f"trial {result.scenario}/{result.trial} violated:")
            for violation in result.violations:
                print(f"  - {violation}")
            if result.error_log:
                print(f"  traceback: {result.error_log}")
            print(f"  replay: {result.replay}")
            if result.trace:
                print(f"  trace:  {result.trace}")
    if view_path is not None and results:
        write_trial_view((failed or results[-1:])[0], view_path)
    if status == 0 and failed:
        status = EXIT_VIOLATION
    return status
