"""``ringemu chaos``: run the campaign, print the tables, keep the results."""
from __future__ import annotations

import sys

from .campaign import CampaignConfig, TrialResult, run_campaign, summary, write_json_atomically
from .config import RingConfig
from .faults import Scenario
from .report import summary_table, trial_table

EXIT_VIOLATION = 1
EXIT_INTERRUPTED = 130


def run_chaos(scenarios: list[Scenario], ring: RingConfig, *, trials: int, seed: int,
              arrangement: str, candidates: int | None, runs_dir: str,
              json_path: str | None) -> int:
    config = CampaignConfig(scenarios=scenarios, ring=ring, trials=trials, seed=seed,
                            arrangement=arrangement, candidates=candidates,
                            runs_dir=runs_dir)
    sys.stderr.write(f"ringemu chaos: {len(scenarios)} scenario(s) x {trials} trial(s), "
                     f"{ring.nodes} nodes, seed {seed}, fencing "
                     f"{'on' if ring.fencing else 'off'}; run store {runs_dir}/\n")
    results: list[TrialResult] = []
    status = 0
    try:
        run_campaign(config, on_result=results.append)
    except KeyboardInterrupt:
        sys.stderr.write(f"ringemu chaos: interrupted after {len(results)} trial(s); "
                         "keeping what finished\n")
        status = EXIT_INTERRUPTED
    finally:
        if json_path is not None:
            write_json_atomically(json_path, {"config": config.as_dict(),
                                              "trials": [r.as_dict() for r in results],
                                              "summary": summary(results)})
    print(trial_table(results))
    print()
    print(summary_table(summary(results)))
    notes = list(dict.fromkeys(note for r in results for note in r.notes))
    failed = [r for r in results if not r.ok]
    if notes:
        print()
        for note in notes[:3]:
            print(f"note: {note}")
    if failed:
        print()
        for result in failed:
            print(f"trial {result.scenario}/{result.trial} violated:")
            for violation in result.violations:
                print(f"  - {violation}")
            print(f"  replay: {result.replay}")
            if result.trace:
                print(f"  trace:  {result.trace}")
    if status == 0 and failed:
        status = EXIT_VIOLATION
    return status
