"""``ringemu trace`` and ``ringemu diagram``: see a run as a space-time diagram.

``trace`` runs one trial of a fault scenario on a fresh ring, exactly as one
trial of ``ringemu chaos --scenario NAME --seed S --trials 1`` would (same
seeds, same fault schedule), writes its trace, checks it, and draws it.
``diagram`` draws any recorded trace: from ``trace``, ``run --trace`` or the
chaos run store.

Besides the chaos scenarios, ``trace`` knows the teaching scenarios below, and
``--hidden-death`` turns off the cluster's closing of inherited descriptors
under fork (``Cluster.close_inherited_fds``), so the lessons can show a death
that the neighbours never see.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from dataclasses import dataclass, field

from tabulate import tabulate

from .. import invariants
from ..chaos.campaign import RECOVERY_DEADLINE_MS, play
from ..cluster import Cluster
from ..config import ConfigError, RingConfig
from ..teach.diagram import parse_window, render_svg
from ..chaos.scenarios import DEADLINE_S, SCENARIOS, Scenario, ScenarioError, Trial
from ..history import History, Narrator, Record
from ..interrupts import Terminated, exit_status
from .options import add_ring_options, candidates, check_writable, ring_config
from ..recovery import Orchestrator, Recovery
from ..report import recovery_table

EXIT_VIOLATION = 1


# --- a teaching scenario --------------------------------------------------------------


def kill_next(trial: Trial) -> None:
    """Stop the holder, SIGKILL the node it is about to pass to, let the kill be
    reaped, then wake the holder before the supervisor restarts the victim. If the
    holder reads EOF on its right link first, it keeps the token (``token_blocked``)
    and passes it once the restarted node is wired in: nothing is lost. If its hold
    timer fires first, the write fails (EPIPE, ``message_lost``). If the death is
    hidden (``--hidden-death``), the write succeeds into a socket nobody will read."""
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    holder = trial.catch_holder()
    while trial.next_right(holder) == 0:
        # p0 is spared: it was forked first, so no sibling inherited its pipe ends
        # and even --hidden-death cannot hide its death. Take the next holder.
        trial.cluster.resume(holder)
        trial.hops(1)
        holder = trial.catch_holder()
    victim = trial.next_right(holder)
    mark = len(trial.history.records)
    trial.cluster.kill(victim)
    # Poll only: the supervisor (in keep_alive) would restart the victim at once.
    trial.cluster.wait_until(lambda: not trial.cluster.nodes[victim].running, DEADLINE_S)
    holder_pid = trial.cluster.nodes[holder].pid
    trial.cluster.resume(holder)
    trial.cluster.wait_until(lambda: any(
        r["pid"] == holder_pid and r["kind"] in ("token_passed", "token_blocked")
        for r in trial.history.records[mark:]), DEADLINE_S)
    trial.keep_alive_until(lambda: trial.cluster.nodes[victim].running,
                           what=f"node {victim} restarted")
    trial.hops(2 * trial.nodes)
    if any(r.cause != "bootstrap" for r in trial.recoveries_after(count)):
        trial.until_recovered(count)


TEACHING_SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("kill-next", "SIGKILL the node the (paused) holder passes to, never p0; wake "
             "the holder after the reap: EOF or EPIPE tell it, --hidden-death hides both",
             kill_next, min_nodes=3),
)}


def scenario_named(name: str) -> Scenario:
    known = {**SCENARIOS, **TEACHING_SCENARIOS}
    if name not in known:
        raise ConfigError(f"--scenario {name!r} is unknown; choose from "
                          + ", ".join(known))
    return known[name]


# --- one recorded trial -----------------------------------------------------------------


@dataclass
class RecordedTrial:
    scenario: str
    seed: int
    ring: RingConfig
    records: list[Record]
    recoveries: list[Recovery]
    violations: list[str] = field(default_factory=list)
    error: str | None = None
    interrupted: BaseException | None = None


def record_trial(scenario: Scenario, ring: RingConfig, *, seed: int,
                 candidates: int | None, trace_path: str | None,
                 hidden_death: bool = False, narrate: bool = True) -> RecordedTrial:
    """One trial as ``campaign.run_trial`` runs it (bootstrap, the fault, a settled
    lap, a final snapshot, stop), recorded and checked."""
    history = History(trace_path)
    if narrate:
        history.subscribe(Narrator(sys.stderr, start_ns=time.monotonic_ns()))
    cluster = Cluster(ring, sink=history)
    cluster.close_inherited_fds = not hidden_death
    orchestrator = Orchestrator(cluster, history, seed=seed, candidates=candidates)
    trial = Trial(cluster, history, orchestrator, random.Random(seed))
    outcome = RecordedTrial(scenario.name, seed, ring, history.records,
                            orchestrator.recoveries)
    try:
        play(trial, scenario)
    except ScenarioError as stuck:
        outcome.error = str(stuck)
    except (KeyboardInterrupt, Terminated) as interrupt:
        outcome.interrupted = interrupt
    finally:
        cluster.stop()
        history.close()
    found = invariants.check(history.records, nodes=ring.nodes,
                          recovery_deadline_ms=RECOVERY_DEADLINE_MS)
    outcome.violations = [f"{v.invariant}: {v.detail}" for v in found]
    if outcome.error:
        outcome.violations.append(f"scenario: {outcome.error}")
    return outcome


# --- what the neighbours saw, and when -------------------------------------------------------


def _after(records: list[Record], t_ns: int, test) -> Record | None:
    return next((r for r in records if r["t_ns"] >= t_ns and test(r)), None)


def _ms(r: Record | None, t_ns: int) -> str:
    return "-" if r is None else f"+{(r['t_ns'] - t_ns) / 1e6:.2f} ms"


def fault_timeline(records: list[Record]) -> list[list[str]]:
    """One row per fault: what its neighbours and the harness saw, and how soon."""
    ordered = sorted(records, key=lambda r: r["t_ns"])
    if not ordered:
        return []
    origin = ordered[0]["t_ns"]
    n = max(r["pos"] for r in ordered) + 1
    rows = []
    for fault in (r for r in ordered if r["kind"] == "fault"):
        t, pos, pid = fault["t_ns"], fault["pos"], fault["pid"]
        neighbours = {(pos - 1) % n: "right", (pos + 1) % n: "left"}
        # link_retired is an EOF too: on the old link, when the new one came first
        eofs = [r for r in ordered if r["t_ns"] >= t
                and r["kind"] in ("link_down", "link_retired")
                and neighbours.get(r["pos"]) == r.get("side")
                and r["t_ns"] - t < 5e9 and not _orderly(r, ordered)]
        seen = {}
        for r in eofs:
            seen.setdefault(r["pos"], r)
        eof_text = ", ".join(f"p{p} {_ms(r, t)}" + (" (old link)" if r["kind"] ==
                                                     "link_retired" else "")
                             for p, r in sorted(seen.items())) or "none"
        exited = _after(ordered, t, lambda r: r["kind"] == "node_exited" and r["pid"] == pid
                        and (r["exitcode"] != 0 or fault["fault"] in ("SIGKILL", "SIGTERM")))
        restarted = _after(ordered, t, lambda r: r["kind"] == "restarted" and r["pos"] == pos)
        snapshot = _after(ordered, t, lambda r: r["kind"] == "snapshot_started")
        recovered = _after(ordered, t, lambda r: r["kind"] == "recovered"
                           and r.get("cause") != "bootstrap")
        exit_text = "-" if exited is None else (
            f"{_ms(exited, t)}: " + (exited.get("signal") or f"status {exited['exitcode']}"))
        rows.append([fault["fault"], f"p{pos} id {fault['id']} pid {pid}",
                     f"{(t - origin) / 1e6:.1f}", eof_text, exit_text,
                     "-" if restarted is None else f"{_ms(restarted, t)} pid {restarted['pid']}",
                     _ms(snapshot, t), _ms(recovered, t)])
    return rows


def _orderly(link_down: Record, ordered: list[Record]) -> bool:
    """A link_down during the orderly shutdown at the end is not news."""
    return any(r["kind"] == "node_stopping" and r.get("reason") == "shutdown"
               and r["t_ns"] <= link_down["t_ns"] for r in ordered)


def fault_table(records: list[Record]) -> str:
    return tabulate(fault_timeline(records),
                    headers=["fault", "target", "at ms", "neighbours saw EOF", "exited",
                             "restarted", "next snapshot", "recovered"])


# --- the commands -----------------------------------------------------------------------


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
    trace.set_defaults(handler=trace_command)

    diagram = commands.add_parser(
        "diagram", help="draw a recorded trace as a space-time diagram (SVG)",
        description="Draw a trace (JSON lines, from 'ringemu trace', 'ringemu run "
                    "--trace' or the chaos run store) as a self-contained SVG: one line "
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
    check_writable(args.out, "--out")
    check_writable(trace_path, "--trace")
    sys.stderr.write(f"ringemu trace: {scenario.name}, seed {args.seed}, {ring.nodes} nodes, "
                     f"ids {list(ring.ids)}, fencing {'on' if ring.fencing else 'off'}, "
                     f"election {ring.algorithm}"
                     + (", deaths HIDDEN (inherited descriptors left open)"
                        if args.hidden_death else "") + "\n")
    outcome = record_trial(scenario, ring, seed=args.seed,
                           candidates=candidates(args, ring.nodes), trace_path=trace_path,
                           hidden_death=args.hidden_death)
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
    _write_diagram(outcome.records, args.out, title, window, args.fold)
    print(f"trace:   {trace_path}")
    print(f"diagram: {args.out}  (open it in a browser)")
    if outcome.interrupted is not None:
        return exit_status(outcome.interrupted)
    return EXIT_VIOLATION if outcome.violations else 0


def diagram_command(args: argparse.Namespace) -> int:
    window = _window(args)
    records = read_trace(args.trace)
    check_writable(args.out, "--out")
    title = args.title or os.path.basename(args.trace)
    _write_diagram(records, args.out, title, window, args.fold)
    print(f"diagram: {args.out}  ({len(records)} events; open it in a browser)")
    return 0


def _write_diagram(records: list[Record], path: str, title: str, window, fold: bool) -> None:
    try:
        svg = render_svg(records, title=title, window_ms=window, fold=fold)
    except ValueError as bad:
        raise ConfigError(f"--window: {bad}" if window else str(bad)) from None
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(svg)
    os.replace(temporary, path)


_REQUIRED = ("t_ns", "pos", "id", "pid", "kind")


def read_trace(path: str) -> list[Record]:
    """A trace file's records, or one line saying what is wrong with it."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as why:
        raise ConfigError(f"trace {path!r} cannot be read: {why.strerror}") from None
    records = []
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise ConfigError(f"trace {path!r} line {number} is not JSON; a trace is "
                                  "one JSON object per line") from None
            if (not isinstance(record, dict) or any(k not in record for k in _REQUIRED)
                    or not all(isinstance(record[k], int) for k in ("t_ns", "pos"))):
                raise ConfigError(f"trace {path!r} line {number} is not a trace record; "
                                  "each needs " + ", ".join(_REQUIRED))
            records.append(record)
    if not records:
        raise ConfigError(f"trace {path!r} has no records")
    return records
