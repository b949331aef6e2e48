"""Election cost: messages per all-candidate round, real ring, simulator, theory.

Chang–Roberts with every node a candidate: a Candidate message travels right
until it meets a larger candidate. IDs ascending in the direction of travel
cost 2n-1 messages, descending n(n+1)/2, a random arrangement n·H_n on average
(H_n the harmonic number); the announcement adds n Elected messages. With every
candidate started before any message can reach it, the count depends only on
the arrangement, not on timing: so the simulator must equal the closed form for
ascending and descending, and the real ring must equal the simulator for every
arrangement. The harness starts all candidates at one scheduled instant
(``Scheduled``, see ``harness/recovery.py``) for exactly this reason.

The real ring's count is taken twice: from the events (``Recovery.election_messages``)
and from the nodes' own send counters, reported when they stop.

Then every election algorithm side by side (``algorithms.py``): the same rings,
N = 8 ... 1024, the count next to the formula or bound its module proves.
"""
from __future__ import annotations

import time
from fractions import Fraction

from emulator.protocol import StartElection
from emulator.runtime.control import Scheduled
from emulator.simulator import RingSimulator, arrangement

from emulator.records import CANDIDATE, ELECTION_COMPLETE, ELECTION_ROUND, NODE_STATS

from ..config import RingConfig
from ..recovery.pipeline import START_LEAD_NS, START_LEAD_PER_NODE_NS
from .rings import BenchRing

ARRANGEMENTS = ("ascending", "descending", "random")


def harmonic(n: int) -> Fraction:
    return sum((Fraction(1, k) for k in range(1, n + 1)), Fraction(0))


def closed_form(kind: str, n: int) -> tuple[float, bool]:
    """Candidate messages of one all-candidate round, and whether it is exact
    (True) or an average over arrangements (random)."""
    if kind == "ascending":
        return 2 * n - 1, True
    if kind == "descending":
        return n * (n + 1) // 2, True
    return float(n * harmonic(n)), False


def simulate(ids: list[int], seed: int) -> tuple[int, int]:
    outcome = RingSimulator(ids, seed=seed).elect(range(len(ids)))
    if outcome.leader_id != max(ids):
        raise AssertionError(f"simulator elected {outcome.leader_id}, not {max(ids)}")
    return outcome.candidate_messages, outcome.elected_messages


# The bench's own round: at least this lead, and 3x the pipeline round's send window.
AMPLE_LEAD_NS = 10_000_000
AMPLE_LEAD_PER_NODE_NS = 1_000_000


def _record_sends(cluster) -> list[tuple[int, int]]:
    """Wrap this cluster's ``send`` to note when each scheduled start left the harness
    (monotonic ns) and the instant it was scheduled for."""
    sends: list[tuple[int, int]] = []
    send = cluster.send

    def noting(pos: int, command) -> bool:
        sent = send(pos, command)
        if isinstance(command, Scheduled):
            sends.append((time.monotonic_ns(), command.at_ns))
        return sent

    cluster.send = noting
    return sends


def _round_facts(ring: BenchRing, round_: int, sends: list[tuple[int, int]]) -> dict:
    """The round's message count (from the events, counted as ``Recovery`` does), how
    many nodes really became candidates, and whether any start command left the
    harness after the instant it was scheduled for."""
    records = [r for r in ring.history.records if r.get("round") == round_]
    at_ns = sends[0][1] if sends else None
    decided = [r["t_ns"] for r in records if r["kind"] == ELECTION_ROUND]
    return {"messages": ring.view.messages_sent.get(round_, 0),
            "candidates_started": sum(r["kind"] == CANDIDATE for r in records),
            "lead_ms": (at_ns - decided[0]) / 1e6 if decided and at_ns else None,
            "sends_late": sum(sent > at for sent, at in sends),
            "last_send_after_start_ms": None if not sends
            else (max(sent for sent, _ in sends) - at_ns) / 1e6}


def ample_round(ring: BenchRing, round_: int, send_window_ns: int) -> None:
    """Start every node as a candidate of ``round_`` at one instant far enough ahead
    that every command has surely arrived: the harness's own lead, made ample, and
    at least three times what sending the previous round's commands took."""
    n = ring.nodes
    lead_ns = max(AMPLE_LEAD_NS + AMPLE_LEAD_PER_NODE_NS * n, 3 * send_window_ns)
    at_ns = time.monotonic_ns() + lead_ns
    since = ring.mark()
    for pos in range(n):
        ring.cluster.send(pos, Scheduled(at_ns, StartElection(round_)))
    ring.wait_for(lambda r: r["kind"] == ELECTION_COMPLETE and r["round"] == round_,
                  since=since, what=f"round {round_} complete")


def real_ring(ids: list[int], start_method: str, seed: int) -> dict:
    """Two rounds on one real ring, every node a candidate: the pipeline's bootstrap
    (its own start lead) and then a round started by the bench with an ample lead."""
    n = len(ids)
    config = RingConfig(ids=tuple(ids), hold_ns=0, start_method=start_method,
                        token_report_every=n)
    with BenchRing(config, candidates=n, seed=seed) as ring:
        sends = _record_sends(ring.cluster)
        recovery = ring.bootstrap()
        first_sends = len(sends)
        second = recovery.rounds[-1] + 1
        window = (max(t for t, _ in sends) - min(t for t, _ in sends)) if sends else 0
        ample_round(ring, second, window)
    # Counted after the stop, when every node's pipe has been read to the end: when the
    # leader's completion arrives, other nodes' last forwarding events may still be
    # unread (``Recovery.election_messages`` is taken then, and can come out short).
    pipeline = _round_facts(ring, recovery.rounds[-1], sends[:first_sends])
    pipeline["recovery_reported"] = recovery.election_messages
    ample = _round_facts(ring, second, sends[first_sends:])
    # Every node also reported its own send counters (node_stats) on the way out.
    counters = {"Candidate": 0, "Elected": 0}
    for record in ring.history.of_kind(NODE_STATS):
        for kind in counters:
            counters[kind] += record["sent"].get(kind, 0)
    return {"pipeline": pipeline, "ample": ample, "leader_id": recovery.leader_id,
            "rounds": len(recovery.rounds),
            "counters_both_rounds": counters["Candidate"] + counters["Elected"]}


def measure(quick: bool, start_method: str, algorithms: list[str] | None = None) -> dict:
    from . import algorithms as side_by_side
    result = measure_chang_roberts(quick, start_method)
    result["comparison"] = side_by_side.measure(quick, start_method, algorithms)
    return result


def measure_chang_roberts(quick: bool, start_method: str) -> dict:
    if quick:
        sim_sizes, real_sizes, real_seeds, sim_seeds = (4, 8, 16, 32, 64), (4, 8, 16), (1,), 5
    else:
        sim_sizes = real_sizes = (4, 8, 16, 32, 64, 128, 256)
        real_seeds, sim_seeds = (1, 2, 3), 30
    rows = []
    for n in sim_sizes:
        for kind in ARRANGEMENTS:
            formula, exact = closed_form(kind, n)
            seeds = real_seeds if kind == "random" else (0,)
            for seed in seeds:
                ids = arrangement(kind, n, seed)
                sim_candidate, sim_elected = simulate(ids, seed)
                row = {"nodes": n, "arrangement": kind, "seed": seed if kind == "random" else None,
                       "closed_form": formula, "closed_form_exact": exact,
                       "closed_form_total": formula + n,
                       "sim_candidate": sim_candidate, "sim_total": sim_candidate + sim_elected,
                       "sim_matches_closed_form": (sim_candidate == formula) if exact else None,
                       "real_total": None, "real_matches_sim": None, "ample_total": None,
                       "ample_matches_sim": None}
                if n in real_sizes:
                    real = real_ring(ids, start_method, seed)
                    expected = sim_candidate + sim_elected
                    pipeline, ample = real["pipeline"], real["ample"]
                    row.update({
                        "real_total": pipeline["messages"],
                        "real_candidates_started": pipeline["candidates_started"],
                        "real_lead_ms": pipeline["lead_ms"],
                        "real_sends_late": pipeline["sends_late"],
                        "real_last_send_after_start_ms": pipeline["last_send_after_start_ms"],
                        "real_matches_sim": pipeline["messages"] == expected,
                        "real_recovery_reported": pipeline["recovery_reported"],
                        "ample_total": ample["messages"],
                        "ample_candidates_started": ample["candidates_started"],
                        "ample_sends_late": ample["sends_late"],
                        "ample_matches_sim": ample["messages"] == expected,
                        "real_counters_total": real["counters_both_rounds"],
                        "counters_match_events": real["counters_both_rounds"]
                        == pipeline["messages"] + ample["messages"]})
                rows.append(row)
            if kind == "random":
                # The closed form is an average: compare it with many arrangements.
                many = [simulate(arrangement("random", n, s), s)[0]
                        for s in range(100, 100 + sim_seeds)]
                rows.append({"nodes": n, "arrangement": "random (mean)", "seed": None,
                             "closed_form": formula, "closed_form_exact": False,
                             "closed_form_total": formula + n,
                             "sim_candidate": sum(many) / len(many),
                             "sim_total": sum(many) / len(many) + n,
                             "sim_arrangements": len(many),
                             "sim_over_closed_form": sum(many) / len(many) / formula,
                             "sim_matches_closed_form": None, "real_total": None,
                             "real_matches_sim": None, "ample_total": None,
                             "ample_matches_sim": None})
    exact_rows = [r for r in rows if r["sim_matches_closed_form"] is not None]
    real_rows = [r for r in rows if r["real_matches_sim"] is not None]
    return {"rows": rows,
            "sim_exact_matches": sum(r["sim_matches_closed_form"] for r in exact_rows),
            "sim_exact_rows": len(exact_rows),
            "real_matches": sum(r["real_matches_sim"] for r in real_rows),
            "ample_matches": sum(r["ample_matches_sim"] for r in real_rows),
            "real_rows": len(real_rows),
            "ample_lead": {"ns": AMPLE_LEAD_NS, "per_node_ns": AMPLE_LEAD_PER_NODE_NS},
            "pipeline_lead": {"ns": START_LEAD_NS, "per_node_ns": START_LEAD_PER_NODE_NS},
            "differences": [{k: r[k] for k in (
                "nodes", "arrangement", "seed", "sim_total", "real_total",
                "real_candidates_started", "real_sends_late",
                "real_last_send_after_start_ms", "ample_total", "ample_candidates_started",
                "ample_sends_late")}
                for r in real_rows if not (r["real_matches_sim"] and r["ample_matches_sim"])]}
