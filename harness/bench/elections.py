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
"""
from __future__ import annotations

from fractions import Fraction

from emulator.simulator import RingSimulator, arrangement

from ..config import RingConfig
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


def real_ring(ids: list[int], start_method: str, seed: int) -> dict:
    n = len(ids)
    config = RingConfig(ids=tuple(ids), hold_ns=0, start_method=start_method,
                        token_report_every=n)
    with BenchRing(config, candidates=n, seed=seed) as ring:
        recovery = ring.bootstrap()
        candidates = len([r for r in ring.history.of_kind("candidate")
                          if r["round"] == recovery.rounds[-1]])
    # After the stop: every node reported its counters (node_stats) on the way out.
    counters = {"Candidate": 0, "Elected": 0}
    for record in ring.history.of_kind("node_stats"):
        for kind in counters:
            counters[kind] += record["sent"].get(kind, 0)
    return {"events": recovery.election_messages, "candidates_started": candidates,
            "counted_candidate": counters["Candidate"], "counted_elected": counters["Elected"],
            "leader_id": recovery.leader_id, "rounds": len(recovery.rounds)}


def measure(quick: bool, start_method: str) -> dict:
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
                       "real_total": None, "real_matches_sim": None}
                if n in real_sizes:
                    real = real_ring(ids, start_method, seed)
                    row.update({"real_total": real["events"],
                                "real_counters_total": real["counted_candidate"]
                                + real["counted_elected"],
                                "real_candidates_started": real["candidates_started"],
                                "real_matches_sim": real["events"] == sim_candidate + sim_elected
                                and real["counted_candidate"] + real["counted_elected"]
                                == sim_candidate + sim_elected})
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
                             "real_matches_sim": None})
    exact_rows = [r for r in rows if r["sim_matches_closed_form"] is not None]
    real_rows = [r for r in rows if r["real_matches_sim"] is not None]
    return {"rows": rows,
            "sim_exact_matches": sum(r["sim_matches_closed_form"] for r in exact_rows),
            "sim_exact_rows": len(exact_rows),
            "real_matches": sum(r["real_matches_sim"] for r in real_rows),
            "real_rows": len(real_rows),
            "differences": [r for r in real_rows if not r["real_matches_sim"]]}
