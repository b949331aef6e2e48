"""One table per section (tabulate), from the section's JSON-ready results."""
from __future__ import annotations

from tabulate import tabulate

from .stats import Summary, ratio_text


def _s(summary: dict | None, digits: int = 1) -> str:
    if summary is None:
        return "-"
    return Summary(**summary).text(digits)


def _f(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def transport(section: dict) -> str:
    rows = [[r.get("placement", "-"), r["what"], r["nodes"], r["report_every"] or "-",
             _s(r["hop_us"]),
             _f(r["cpu_us_per_hop"]), _f(r["harness_cpu_us_per_hop"]),
             ratio_text(r["vs_connection"]), ratio_text(r.get("vs_raw_ring")),
             _lag(r)]
            for r in section["rows"]]
    table = tabulate(rows, headers=["placement", "transport", "N", "report every",
                                    "hop µs [IQR]",
                                    "CPU µs/hop", "harness CPU µs/hop", "x Connection",
                                    "x raw ring", "harness lag ms (p99)"])
    work = section["node_work"]
    goal = section["goal"]
    met = goal.get("met_each", {})

    def listed(ratios: dict) -> str:
        return ", ".join(f"N={n} {ratio_text(r)}" for n, r in ratios.items())

    lines = [table, "",
             f"Python a node runs per hop, in-process without I/O: protocol "
             f"{work['protocol_us']:.1f} µs, codec {work['codec_us']:.1f} µs, whole hop "
             f"{work['hop_work_us']:.1f} µs."]
    path = section.get("event_path")
    if path:
        lines.append(f"A hop's two events, node to harness over a socket pair in one "
                     f"process (no wake-up), send + receive + decode: one pickle per event "
                     f"{path['per_event_pickle']:.1f} µs, batched pickle "
                     f"{path['batched_pickle']:.1f} µs, the same read in bulk "
                     f"{path['batched_pickle_bulk_read']:.1f} µs (used), batched binary "
                     f"records {path['batched_binary']:.1f} µs.")
    lines.append(f"Goal: ring hop <= {goal['target']}x the raw ring: "
                 f"{listed(goal['ratio_vs_raw_ring'])}: "
                 f"{'met' if met.get('sparse') else 'missed'}.")
    lines.append(f"Goal: every event reported <= {goal['every_event_target']}x the raw ring: "
                 f"{listed(goal['every_event_vs_raw_ring'])}: "
                 f"{'met' if met.get('every') else 'missed'}; harness lag p99 <= "
                 f"{goal['lag_target_ms']} ms: "
                 + ", ".join(f"N={n} {_f(v, 2)} ms" for n, v in goal["lag_p99_ms"].items())
                 + f": {'met' if met.get('lag_ms') else 'missed'}.")
    return "\n".join(lines) + _link_shim_line(section.get("link_shim"))


def _lag(row: dict) -> str:
    if not row.get("lag_ms"):
        return "-"
    return f"{row['lag_ms']['median']:.2f} ({row['lag_p99_ms']:.2f})"


def _link_shim_line(shim: dict | None) -> str:
    if not shim:
        return ""
    share = (f" = {100 * shim['share_of_hop']:.2f}% of the ring-of-one hop "
             f"({shim['hop_us']:.1f} µs; goal <= 2%)" if "share_of_hop" in shim else "")
    return (f"\nLink-fault hook on a link without a fault: {shim['hook_ns']:+.0f} ns per send "
            f"({shim['hook']:.0f} ns through the hook, {shim['bare']:.0f} ns writing "
            f"directly){share}; with the node's other link faulty "
            f"{shim['other_side_faulty']:.0f} ns per send.")


def elections(section: dict) -> str:
    yes = {True: "yes", False: "NO", None: "-"}
    rows = []
    for r in section["rows"]:
        formula = (f"{r['closed_form_total']:.0f}" if r["closed_form_exact"]
                   else f"~{r['closed_form_total']:.1f}")
        sim = f"{r['sim_total']:.1f}" if isinstance(r["sim_total"], float) else r["sim_total"]
        real = "-"
        if r["real_total"] is not None:
            real = f"{r['real_total']}"
            if r["real_candidates_started"] != r["nodes"]:
                real += f" ({r['real_candidates_started']}/{r['nodes']} started)"
        rows.append([r["nodes"], r["arrangement"], "-" if r["seed"] is None else r["seed"],
                     formula, sim, real, "-" if r["ample_total"] is None else r["ample_total"],
                     yes[r["sim_matches_closed_form"]], yes[r["real_matches_sim"]],
                     yes[r["ample_matches_sim"]]])
    table = tabulate(rows, headers=["N", "arrangement", "seed", "closed form + n",
                                    "simulator", "real: pipeline", "real: ample lead",
                                    "sim = formula", "pipeline = sim", "ample = sim"])
    pipeline, ample = section["pipeline_lead"], section["ample_lead"]
    lines = [table, "",
             f"Simulator = exact closed form: {section['sim_exact_matches']}/"
             f"{section['sim_exact_rows']}. Real ring = simulator: with the pipeline's start "
             f"lead ({pipeline['ns'] / 1e6:g} ms + {pipeline['per_node_ns'] / 1e3:g} µs·N) "
             f"{section['real_matches']}/{section['real_rows']}; with an ample lead "
             f"({ample['ns'] / 1e6:g} ms + {ample['per_node_ns'] / 1e3:g} µs·N, and at least 3x "
             f"the pipeline round's send window) "
             f"{section['ample_matches']}/{section['real_rows']}."]
    short = [r for r in section["rows"] if r.get("real_recovery_reported") is not None
             and r["real_recovery_reported"] != r["real_total"]]
    if short:
        lines.append(f"Recovery.election_messages, taken when the leader's completion "
                     f"arrives, missed late forwarding events in {len(short)} round(s) "
                     f"(the counts above are taken after the ring stopped).")
    for d in section["differences"]:
        where = f"  N={d['nodes']} {d['arrangement']}" + (
            f" seed {d['seed']}" if d["seed"] is not None else "")
        if d["real_total"] != d["sim_total"]:
            lines.append(f"{where}, pipeline lead: {d['real_candidates_started']}/{d['nodes']} "
                         f"became candidates; {d['real_sends_late']} start command(s) left "
                         f"the harness after the start instant (the last "
                         f"{d['real_last_send_after_start_ms']:+.1f} ms)")
        if d["ample_total"] != d["sim_total"]:
            lines.append(f"{where}, ample lead: {d['ample_candidates_started']}/{d['nodes']} "
                         f"became candidates; {d['ample_sends_late']} start command(s) late")
    if "comparison" in section:
        lines += ["", "Election algorithms side by side (every node a candidate):", "",
                  election_algorithms(section["comparison"])]
    return "\n".join(lines)


def recovery(section: dict) -> str:
    rows = []
    for r in section["rows"]:
        def phase(name: str) -> str:
            p = r[name]
            floor = "" if p["floor_hops"] is None else f"/{p['floor_hops']:.0f}"
            return f"{p['ms']['median']:.2f} ({p['hops']:.0f}{floor})"
        rows.append([r["nodes"], r["state_dir"], r["reporting"], _s(r["hop_us"]),
                     f"{r['detect']['ms']['median']:.1f}",
                     phase("snapshot"), phase("election"), f"{r['lead']['ms']['median']:.2f}",
                     phase("election_without_lead"), phase("regeneration"),
                     f"{r['total']['ms']['median']:.1f}",
                     f"{r['critical']['hops']:.0f}/{r['critical']['floor_hops']:.0f}",
                     ratio_text(r["critical_vs_floor"], 1),
                     "-" if r.get("work_floor") is None else
                     f"{r['work_floor']['critical']:.0f} "
                     f"({ratio_text(r['work_floor']['critical_vs_work_floor'], 1)})"])
    table = tabulate(rows, headers=["N", "state dir", "events", "hop µs", "detect ms",
                                    "snapshot ms (hops/floor)", "election ms",
                                    "of it lead ms", "election - lead",
                                    "regeneration", "total ms", "critical hops/floor",
                                    "x floor", "work floor (x)"])
    events = []
    for r in section["rows"]:
        e = r["events"]
        events.append([r["nodes"], r["state_dir"], r["reporting"]] + [
            f"{e[k]['ms']['median']:.2f} ({e[k]['hops']:.0f}/{e[k]['floor_hops']:.0f})"
            for k in ("snapshot_ms", "candidate_lap_ms", "announcement_ms", "token_lap_ms")])
    table2 = tabulate(events, headers=["N", "state dir", "events", "snapshot (node clocks)",
                                       "winner's ID lap", "announcement lap",
                                       "new token's lap"])
    goal = section["goal"]
    return (f"{table}\n\nThe same recoveries from the nodes' own event stamps, ms "
            f"(hops/floor):\n{table2}\n\nGoal: snapshot + election without the scheduled "
            f"lead + regeneration <= {goal['factor']:g}x their floor (N/2 + 2N hops): "
            + ", ".join(f"{k} {ratio_text(v, 1)}" for k, v in goal["critical_vs_floor"].items())
            + f": {'met' if goal['met'] else 'missed'}.")


def restart(section: dict) -> str:
    rows = [[r["start_method"], r["reps"], _s(r["bare_start_ms"], 2), _s(r["eof_ms"], 2),
             _s(r["reaped_ms"], 2), _s(r["restart_call_ms"], 2),
             _s(r["start_to_running_ms"], 2), ratio_text(r["start_vs_bare"]),
             _s(r["rewired_ms"], 2), _s(r["token_ms"], 2), ratio_text(r["token_vs_bare"])]
            for r in section["rows"]]
    return tabulate(rows, headers=["start method", "reps", "bare start ms", "EOF ms",
                                   "reaped ms", "restart() ms", "start->running ms",
                                   "x bare", "rewired ms", "token through ms", "x bare"])


def scale(section: dict) -> str:
    rows = [[r["nodes"], f"{r['all_running_ms'] / 1e3:.2f}",
             f"{r['start_ms_per_node']:.2f}", ratio_text(r.get("start_vs_bare_start"), 1),
             _f(r.get("bare_loop", {}).get("ms_per_child"), 2),
             ratio_text(r.get("start_vs_bare_loop"), 1),
             _s(r["launch_ms"], 2), ratio_text(r.get("launch_vs_bare_start"), 1),
             f"{r['bootstrap_ms'] / 1e3:.2f} ({r['bootstrap_hops']:.0f})", r["candidates"],
             _s(r["hop_us"]), _s(r["memory"]["uss_mib"], 2),
             ratio_text(r.get("uss_vs_bare_child"), 1), _s(r["memory"]["rss_mib"], 2),
             f"{r['harness_fds']} ({r['harness_fds_per_node']:.1f})",
             f"{r['stop_ms'] / 1e3:.2f}"]
            for r in section["rows"]]
    table = tabulate(rows, headers=["N", "start s", "ms/node", "x bare start()",
                                    "bare N: ms/child", "x bare N",
                                    "launch ms/node", "x bare start()",
                                    "bootstrap s (hops)", "candidates",
                                    "hop µs", "USS MiB/node", "x bare child",
                                    "RSS MiB/node", "harness fds (/node)", "stop s"])
    limits = section["limits"]
    bare = section.get("bare_child")
    lines = [table, ""]
    if bare:
        lines.append(f"References: a bare {section['start_method']} Process.start() call "
                     f"{Summary(**bare['start_call_ms']).text(2)} ms (until the child runs "
                     f"{Summary(**bare['start_ms']).text(2)} ms); an idle bare child "
                     f"USS {bare['uss_mib']:.2f} MiB, RSS {bare['rss_mib']:.2f} MiB.")
    if section.get("start_slope") is not None:
        lines.append(f"Start cost per node against N: slope {section['start_slope']:.0f} µs "
                     "per node for every 1000 nodes more (0 = flat); N bare children: "
                     f"{_f(section.get('bare_loop_slope'), 0)} µs.")
    for n, refused in section.get("refused", {}).items():
        lines.append(f"{n} nodes not run: {refused}")
    lines.append(f"Largest ring run: {limits['largest_run']} nodes. Descriptor limit (nofile "
                 f"{limits['nofile_soft']}/{limits['nofile_hard']}): at most "
                 f"{limits['max_nodes_by_descriptors']} nodes (under nofile 20000: "
                 f"{limits.get('max_nodes_under_nofile_20000')}); memory would allow about "
                 f"{section['estimate_max_nodes_by_memory']} (USS); pid_max "
                 f"{limits['pid_max']}.")
    if limits["error_beyond"]:
        lines.append(f"One node more: {limits['error_beyond']}")
    return "\n".join(lines)


def campaign(section: dict) -> str:
    base = section["no_fault"]
    rows = [[r["scenario"], r["nodes"], r["trials"], r["ok"], _s(r["trial_s"], 3),
             f"{r['per_minute']:.0f}", ratio_text(r["vs_no_fault"]), _s(r["recover_ms"])]
            for r in section["rows"]]
    rows.append(["(no fault)", 8, base["trials"], base["ok"], _s(base["trial_s"], 3),
                 f"{base['per_minute']:.0f}", "1.00x", "-"])
    return tabulate(rows, headers=["scenario", "N", "trials", "ok", "trial s [IQR]",
                                   "trials/min", "x no fault", "recover ms"])


def _p(block: dict | None) -> str:
    if not block:
        return "-"
    return f"{block['p50']:.1f} / {block['p95']:.1f} / {block['max']:.1f} (n={block['n']})"


def detection(section: dict) -> str:
    death, silence, loaded = section["death"], section["silence"], section["loaded"]
    rows = [["death (OS notice)", _p(death["notice_ms"]), _p(death["detect_ms"]),
             _p(death["total_ms"])],
            ["silence (detector)", _p(silence["timeout_ms"]), _p(silence["detect_ms"]),
             _p(silence["total_ms"])]]
    table = tabulate(rows, headers=["cause", "floor ms: notice / timeout", "detect ms",
                                    "recover ms"])
    gap = loaded["gap_ms"] or {}
    return (f"{table}\n(each cell: p50 / p95 / max over the repetitions; ring of "
            f"{section['nodes']}, hold {section['hold_ms']:g} ms)\n\nBoth CPUs busy, hold 0: "
            f"{loaded['laps']} laps in {loaded['seconds']:.1f} s, {loaded['suspicions']} "
            f"suspicion(s), {loaded['false_alarms']} false alarm(s), "
            f"{loaded['elections_after_false_alarms']} election(s) after a false alarm; "
            f"receipt gap p50 {gap.get('p50', 0):.3f} ms, p99 {gap.get('p99', 0):.3f} ms, max "
            f"{gap.get('max', 0):.1f} ms; detector timeout at the end "
            f"{loaded['timeout_ms_at_end']:.1f} ms.\nGoal: {section['goal']['what']}: "
            f"{'met' if section['goal']['met'] else 'missed'}.")
def election_algorithms(comparison: dict) -> str:
    """Every algorithm side by side: count, formula, per node, wall time."""
    rows = []
    for r in comparison["rows"]:
        mark = {"exact": "=", "mean": "≈ mean", "bound": "≤"}[r["kind"]]
        verdict = {True: "yes", False: "NO", None: "-"}[r["within_formula"]]
        rows.append([
            r["algorithm"], r["nodes"], r["arrangement"],
            f"{r['messages']}" + ("" if r["simulated"] else " (formula)"),
            f"{mark} {r['formula']} = {r['formula_value']:.0f}", verdict,
            f"{r['per_node']:.1f}", f"{r['per_node_log']:.2f}", _f(r["sim_cpu_ms"]),
            "-" if r["real_messages"] is None else r["real_messages"], _f(r["real_ms"]),
            {True: "yes", False: "NO", None: "-"}[r["real_agrees"]]])
    table = tabulate(rows, headers=[
        "algorithm", "N", "arrangement", "messages", "formula", "holds", "per node",
        "/ (n lg n)", "sim CPU ms", "real ring", "real ms", "real = sim"])
    return "\n".join([
        table, "",
        f"Counts hold their bound: {comparison['within_bound']}/{comparison['bound_rows']}; "
        f"real ring = simulator (HS: within its bound, its count depends on the order): "
        f"{comparison['real_agree']}/{comparison['real_rows']}. Messages include the n of "
        "the announcement; real ms: first candidate to election_complete, shared machine."]
        + [f"  real ring {e['algorithm']} N={e['nodes']} {e['arrangement']}: not measured "
           f"({e['error'][:120]})" for e in comparison.get("real_errors", [])])


RENDER = {"transport": transport, "elections": elections, "recovery": recovery,
          "restart": restart, "scale": scale, "campaign": campaign, "detection": detection}
