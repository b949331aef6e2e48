"""Tables of what happened (tabulate), for stdout."""
from __future__ import annotations

from typing import TYPE_CHECKING

from tabulate import tabulate

from emulator.records import NODE_STATS, holdings

from .cluster import Cluster
from .history import History
from .recovery import Recovery

if TYPE_CHECKING:  # the chaos package builds on this module, not the reverse
    from .chaos.campaign import TrialResult


def node_table(cluster: Cluster, history: History) -> str:
    """Every node: position, ID, pid, role, tokens held, messages sent and received."""
    held = {n.pos: 0 for n in cluster.nodes}
    for holding in holdings(history.records):
        held[holding.pos] += 1
    roles: dict[int, str] = {}
    sent = {n.pos: 0 for n in cluster.nodes}
    received = {n.pos: 0 for n in cluster.nodes}
    for record in history.of_kind(NODE_STATS):
        roles[record["pos"]] = record["role"]
        sent[record["pos"]] += sum(record["sent"].values())
        received[record["pos"]] += sum(record["received"].values())
    rows = []
    for node in cluster.nodes:
        incarnations = f" ({node.incarnation} incarnations)" if node.incarnation > 1 else ""
        rows.append([node.pos, node.node_id, f"{node.pid}{incarnations}",
                     roles.get(node.pos, "?"), held[node.pos], sent[node.pos],
                     received[node.pos]])
    return tabulate(rows, headers=["pos", "id", "pid", "role", "tokens held",
                                   "msgs sent", "msgs received"])


def recovery_table(recoveries: list[Recovery]) -> str:
    rows = [[r.cause, r.snapshot_tokens, ",".join(map(str, r.rounds)) or "-",
             ",".join(map(str, r.candidate_ids)) or "-", r.leader_id, r.expected_leader_id,
             r.election_messages, ",".join(map(str, r.restarted)) or "-",
             ",".join(map(str, r.bypassed)) or "-",
             f"{r.detect_ms:.1f}", f"{r.snapshot_ms:.1f}", f"{r.election_ms:.1f}",
             f"{r.regenerate_ms:.1f}", f"{r.total_ms:.1f}", _outcome(r)]
            for r in recoveries]
    return tabulate(rows, headers=["cause", "tokens", "rounds", "candidates", "leader",
                                   "expected", "election msgs", "restarted", "bypassed",
                                   "detect ms", "snapshot ms", "elect ms", "regen ms",
                                   "total ms", "outcome"])


def _outcome(recovery: Recovery) -> str:
    if not recovery.ok:
        return "FAILED"
    return "false alarm" if recovery.false_alarm else "ok"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def trial_table(results: list[TrialResult]) -> str:
    rows = [[r.scenario, r.trial, r.seed, r.nodes, r.faults,
             "-" if r.snapshot_tokens is None else r.snapshot_tokens,
             ",".join(map(str, r.rounds)) or "-",
             "-" if r.leader_id is None else r.leader_id,
             "-" if r.expected_leader_id is None else r.expected_leader_id,
             r.election_messages, r.cause or "-", _ms(r.detect_ms), _ms(r.elect_ms),
             _ms(r.recover_ms), "ok" if r.ok else "; ".join(v.split(":")[0]
                                                           for v in r.violations)]
            for r in results]
    return tabulate(rows, headers=["scenario", "trial", "seed", "N", "faults", "tokens",
                                   "rounds", "leader", "expected", "elect msgs", "cause",
                                   "detect ms", "elect ms", "recover ms", "verdict"])


def summary_table(rows: list[dict]) -> str:
    return tabulate([[r["scenario"], r["trials"], r["ok"], r["violations"],
                      r["false_alarms"], _ms(r["median_recover_ms"]),
                      _ms(r["p95_recover_ms"])] for r in rows],
                    headers=["scenario", "trials", "ok", "violations", "false alarms",
                             "median recover ms", "p95 recover ms"])


def verdict(violations: list) -> str:
    """The checker's verdict over a history, one line per violation."""
    if not violations:
        return "checker: every invariant held"
    return "\n".join(["checker: VIOLATED"] + [f"  - {v.invariant}: {v.detail}"
                                               for v in violations])
