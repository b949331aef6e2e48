"""``ringemu chaos``: run the campaign, print the tables, keep the results."""
from __future__ import annotations

import argparse
import dataclasses
import sys

from ..chaos.campaign import CampaignConfig, TrialResult, run_campaign, summary
from ..files import write_json_atomically
from ..config import ConfigError, RingConfig
from ..chaos.scenarios import DEFAULT_SCENARIOS, SCENARIOS, Scenario
from ..interrupts import Terminated, exit_status
from .options import add_ring_options, algorithms, candidates, integer, ring_config
from ..chaos.trial import check_trial_timing
from ..report import summary_table, trial_table
from ..files import OutputError, check_output_folder, check_output_path
from .view import add_view_option, check_view, write_trial_view

EXIT_VIOLATION = 1
EXIT_INCONCLUSIVE = 5  # no violation, but some trial could not be judged (stalled harness)
RING_OPTIONS_FIXED_BY_FILE = ("nodes", "ids", "arrangement")
MAX_TRIALS = 1_000_000  # about a week of trials: more is a typo, not a campaign


def register(commands) -> None:
    chaos = commands.add_parser(
        "chaos", help="fault-injection campaign: scenarios x trials, checked, tabulated",
        description="Run fault scenarios on fresh rings, check every invariant over each "
                    "trial's history, and print a per-trial and a per-scenario table. Exit "
                    "status 0: every trial held every invariant; 1: some did not; 2: bad "
                    "input; 3: internal error (traceback in the run store's errors.log); "
                    "4: an output could not be written; 5: no violation, but the harness "
                    "itself was stalled during some trial, which could not be judged. "
                    "Traces and results go to the run store as trials finish.")
    chaos.add_argument("--scenario", nargs="+", action=_Names, default=None,
                       metavar="NAME",
                       help="scenarios to run: several names, separated by spaces or "
                            "commas, and a repeated --scenario adds to them; or 'all' "
                            "(default: every scenario but the expected-violation ones) "
                            "alone; see 'ringemu scenarios'")
    chaos.add_argument("--file", default=None, metavar="EXPERIMENT.json",
                       help="run the timed faults of an experiment file instead (it sets "
                            "the ring; --seed S replays its trial with seed S)")
    add_ring_options(chaos, all_algorithms=True)
    # Unset until known: --file sets the ring and (unless --seed) the seed itself.
    chaos.set_defaults(seed=None, arrangement=None)
    chaos.add_argument("--trials", type=integer("--trials", 1, MAX_TRIALS), default=3,
                       help=f"trials per scenario, at most {MAX_TRIALS} (default 3)")
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


class _Names(argparse.Action):
    """--scenario a b,c --scenario d: every name, in order (lists are taken alike
    everywhere: commas, and a repeated flag accumulates instead of keeping the last)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        names = list(getattr(namespace, self.dest) or [])
        for value in values:
            names += [part.strip() for part in value.split(",") if part.strip()]
        setattr(namespace, self.dest, names)


def scenarios_command(args: argparse.Namespace) -> int:
    from tabulate import tabulate
    print(tabulate([[s.name + (" (expected violation)" if s.expect_violation else ""),
                     s.description] for s in SCENARIOS.values()],
                   headers=["scenario", "what happens"]))
    return 0


def chaos_command(args: argparse.Namespace) -> int:
    skipped: dict[str, str] = {}
    if args.file is not None:
        scenarios, config, seed = _experiment(args)
    else:
        args.seed = 1 if args.seed is None else args.seed
        args.arrangement = args.arrangement or "random"
        config = ring_config(args)
        scenarios, skipped = _chosen_scenarios(args.scenario or ["all"], config.nodes)
        seed = args.seed
    check_trial_timing(config)
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
                         runs_dir=args.runs_dir, json_path=args.json,
                         experiment_file=args.file, skipped=skipped, args=args,
                         view_path=args.view)
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
                            runs_dir=args.runs_dir, json_path=json_path,
                            experiment_file=args.file, skipped=skipped, args=args,
                            view_path=view_path)
        if outcome not in (0, EXIT_VIOLATION):
            return outcome  # interrupted: stop here
        status = status or outcome
    return status


def _per_algorithm(path: str, algorithm: str) -> str:
    """results.json -> results-hs.json"""
    root, ext = path.rsplit(".", 1) if "." in path.rsplit("/", 1)[-1] else (path, "")
    return f"{root}-{algorithm}" + (f".{ext}" if ext else "")


def _experiment(args: argparse.Namespace) -> tuple[list[Scenario], RingConfig, int]:
    from ..chaos.experiment import load_experiment
    given = [f"--{name}" for name in RING_OPTIONS_FIXED_BY_FILE
             if getattr(args, name) is not None]
    if args.scenario is not None:
        given.insert(0, "--scenario")
    if given:
        raise ConfigError(f"{given[0]} cannot be combined with --file: the experiment file "
                          "sets the ring and the faults")
    experiment = load_experiment(args.file)
    config = RingConfig(ids=experiment.ids, hold_ns=int(args.hold_ms * 1e6),
                        fencing=args.fencing, announce=args.announce,
                        start_method=args.start_method,
                        detector_floor_ms=args.detector_floor_ms,
                        algorithm="cr" if args.algorithm == "all" else args.algorithm)
    seed = experiment.seed if args.seed is None else args.seed
    return [experiment.scenario()], config, seed


def _chosen_scenarios(names: list[str], nodes: int) -> tuple[list[Scenario], dict[str, str]]:
    """The scenarios named (``all``: every one) that fit a ring of ``nodes``; the
    others are skipped, each with why. ConfigError if none is left."""
    if "all" in names and len(names) > 1:
        others = ", ".join(n for n in names if n != "all")
        raise ConfigError(f"--scenario all already means every scenario; give it alone, "
                          f"not with {others}")
    names = DEFAULT_SCENARIOS if names == ["all"] else list(dict.fromkeys(names))
    for name in names:
        if name not in SCENARIOS:
            raise ConfigError(f"--scenario {name!r} is unknown; choose from "
                              + ", ".join(SCENARIOS) + " or all")
    chosen = [SCENARIOS[name] for name in names if nodes >= SCENARIOS[name].min_nodes]
    skipped = {name: f"needs at least {SCENARIOS[name].min_nodes} nodes, the ring has "
                     f"{nodes}" for name in names if nodes < SCENARIOS[name].min_nodes}
    if not chosen:
        name, why = next(iter(skipped.items()))
        raise ConfigError(f"--nodes {nodes} is too small for scenario {name!r}: it {why}")
    return chosen, skipped


def run_chaos(scenarios: list[Scenario], ring: RingConfig, *, trials: int, seed: int,
              arrangement: str, candidates: int | None, runs_dir: str,
              json_path: str | None, experiment_file: str | None = None,
              skipped: dict[str, str] | None = None,
              args: argparse.Namespace | None = None,
              view_path: str | None = None) -> int:
    config = CampaignConfig(scenarios=scenarios, ring=ring, trials=trials, seed=seed,
                            arrangement=arrangement, candidates=candidates,
                            runs_dir=runs_dir, experiment_file=experiment_file,
                            skipped=dict(skipped or {}))
    sys.stderr.write(f"ringemu chaos: {len(scenarios)} scenario(s) x {trials} trial(s), "
                     f"{ring.nodes} nodes, seed {seed}, fencing "
                     f"{'on' if ring.fencing else 'off'}, election {ring.algorithm}; "
                     f"run store {runs_dir}/\n")

    def keep_errors_in_the_store(store) -> None:
        if args is not None:
            args.errors_log = store.errors_log  # cli.main logs a bug's traceback there

    results: list[TrialResult] = []
    status = 0
    store_failed: OutputError | None = None
    try:
        run_campaign(config, on_result=results.append, on_store=keep_errors_in_the_store)
    except (KeyboardInterrupt, Terminated) as interrupt:
        sys.stderr.write(f"ringemu chaos: {type(interrupt).__name__} after {len(results)} "
                         "finished trial(s); the ring is stopped, the results are kept\n")
        status = exit_status(interrupt)
    except OutputError as failed:  # the run store is full: stop, keep and print the rest
        store_failed = failed
    _print_results(config, results)
    if status == 0 and any(r.violations for r in results):
        status = EXIT_VIOLATION
    elif status == 0 and any(r.stalled for r in results):
        status = EXIT_INCONCLUSIVE
    if json_path is not None:  # last: a full disk here loses nothing printed or stored
        write_json_atomically(json_path, {"config": config.as_dict(),
                                          "trials": [r.as_dict() for r in results],
                                          "summary": summary(results)})
    if view_path is not None and results:
        write_trial_view(([r for r in results if not r.ok] or results[-1:])[0], view_path)
    incomplete = [r.output_error for r in results if r.output_error]
    if store_failed is not None:
        raise store_failed
    if incomplete and status in (0, EXIT_VIOLATION, EXIT_INCONCLUSIVE):  # not interrupted
        raise OutputError(f"{incomplete[0]} ({len(incomplete)} trace(s) incomplete; the "
                          "verdicts, tables and everything else written are kept)")
    return status


def _print_results(config: CampaignConfig, results: list[TrialResult]) -> None:
    print(trial_table(results))
    print()
    print(summary_table(summary(results)))
    for name, why in config.skipped.items():
        print(f"skipped: {name}: {why}")
    # One note per scenario is enough: the trials of a scenario teach the same thing.
    notes = list({r.scenario: r.notes[0] for r in results if r.notes}.values())
    expected = {s.name: s.expect_violation for s in config.scenarios if s.expect_violation}
    for result in results:
        if result.scenario in expected and not any(
                v.startswith(expected[result.scenario] + ":") for v in result.violations):
            notes.append(f"{result.scenario} trial {result.trial}: the expected violation "
                         f"of {expected[result.scenario]} was NOT caught")
    if notes:
        print()
        for note in notes:
            print(f"note: {note}")
    for result in (r for r in results if not r.ok):
        print()
        if result.violations:
            print(f"trial {result.scenario}/{result.trial} violated:")
            for violation in result.violations:
                print(f"  - {violation}")
        if result.stalled:
            print(f"trial {result.scenario}/{result.trial} could not be judged:")
            for stall in result.stalled:
                print(f"  - {stall}")
        if result.error_log:
            print(f"  traceback: {result.error_log}")
        print(f"  replay: {result.replay}")
        if result.trace:
            print(f"  trace:  {result.trace}")
