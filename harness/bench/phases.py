"""Recovery: from token loss to the new token's first lap, phase by phase.

A ring (hold 0, every node a candidate, token events reported every 8 hops)
loses its token; the harness's own pipeline (``RecoveryPipeline``) detects the
silence, takes a snapshot (0 tokens), runs an election round and waits for the
new token's lap. Each phase is reported in ms (as ``Recovery`` times it, from
the harness) and in units of the hop latency measured on the same ring just
before the loss, next to its floor in hops:

- snapshot: markers travel both ways, the farthest node is N/2 hops away;
- election: the winner's ID makes a lap (N hops), then the announcement (N):
  2N. The harness schedules the start START_LEAD_NS + START_LEAD_PER_NODE_NS·N
  ahead, on purpose (every candidate must have its start command before any
  candidate message can reach it): that lead is reported on its own and taken
  out before comparing with the floor;
- regeneration: the leader creates the token when it wins, so the token's lap
  (N hops) runs alongside the announcement; what is left after the election is
  near 0 hops. The token's own lap, from the events, is reported against N.

Goal: snapshot + election (without the lead) + regeneration <= 3x their floor
(N/2 + 2N hops on the critical path).

How the token is lost, without guessing where a 0-hold token is: SIGSTOP node
p and wait a few laps (the token now waits at p), SIGKILL p's right neighbour
q, SIGCONT p. p sees the EOF, cannot pass the token and holds it
(``token_blocked``); the harness drops it there (``DropToken``), restarts q, and
only then lets the pipeline run, the silence counted from the drop. (If p was
stopped in the middle of passing, its send into the dead link fails,
``message_lost``: that instant is the loss.) Every node is alive and wired when
the recovery starts, so the phases are those of a pure token loss.

Three configurations per size. The node state files (each node persists the
highest epoch it has seen before it acts on a new round) live in a temporary
directory: by default under /tmp, which here is ext4 on a virtual disk, where
replacing a file by rename makes the kernel start writing it back
(``auto_da_alloc``) and costs about 1 ms; the second configuration puts them on
tmpfs (/dev/shm). Every snapshot and election message also sends an event to the
harness (``marker_received``, ``candidate_forwarded``, ``elected``...), so each
of those hops costs what a fully reported token hop costs; the third
configuration (``report_forwarding=False``, "quiet") keeps only the events the
pipeline needs (starts, parts, leader, completion, sampled token receipts).
"""
from __future__ import annotations

import os
import shutil
import tempfile

from emulator.protocol import DropToken

from emulator.records import (
    ELECTION_COMPLETE, ELECTION_ROUND, ELECTION_START, LEADER, MESSAGE_LOST, NODE_EXITED,
    REWIRED, SNAPSHOT_PART, SNAPSHOT_STARTED, TOKEN_BLOCKED, TOKEN_CREATED, TOKEN_DROPPED,
    TOKEN_RECEIVED, TOKEN_RETURNED,
)

from ..config import RingConfig, arrange_ids
from ..recovery.pipeline import START_LEAD_NS, START_LEAD_PER_NODE_NS
from .elections import simulate
from .rings import BenchError, BenchRing
from .stats import Summary, ratio

REPORT_EVERY = 8
TMPFS = "/dev/shm"
LOST_ELSEWHERE = "not found at the neighbour"
GOAL_FACTOR = 3.0


def floors(n: int) -> dict:
    return {"snapshot": n / 2, "election": 2 * n, "regeneration": 0.0, "lap": float(n),
            "critical": n / 2 + 2 * n}


def lose_token(ring: BenchRing, victim: int, hop_ns: float) -> tuple[int, str]:
    """Make the token die at the victim's left neighbour; restart the victim; return
    the loss instant (ns) and how the token was lost."""
    cluster, history = ring.cluster, ring.history
    n = ring.nodes
    left = (victim - 1) % n
    # Stop the left neighbour and wait a few laps: the token then sits in its socket
    # (or in its hands). Kill the victim: the token cannot be in the victim now.
    cluster.suspend(left)
    cluster.wait_until(lambda: False, max(0.005, 20 * n * hop_ns / 1e9))
    mark = ring.mark()
    cluster.kill(victim)
    ring.wait_for(lambda r: r["kind"] == NODE_EXITED and r["pos"] == victim, since=mark,
                  what="the killed node's exit")
    cluster.resume(left)
    stuck: list[dict] = []

    def token_stuck() -> bool:
        stuck.extend(r for r in history.records[mark:] if r["pos"] == left and (
            r["kind"] in (TOKEN_BLOCKED, TOKEN_RETURNED) or (
                r["kind"] == MESSAGE_LOST and r.get("message") == "Token")))
        return bool(stuck)

    cluster.wait_until(token_stuck, 5.0)
    if not stuck:
        lost_ns, how = 0, LOST_ELSEWHERE
    elif stuck[0]["kind"] == MESSAGE_LOST:
        lost_ns, how = stuck[0]["t_ns"], "sent into the dead link"
    else:
        since = ring.mark()
        cluster.send(left, DropToken())
        dropped = ring.wait_for(lambda r: r["kind"] == TOKEN_DROPPED and r["pos"] == left,
                                since=since, what="the drop")
        lost_ns, how = dropped["t_ns"], "dropped where it was blocked"
    since = ring.mark()
    cluster.restart(victim)
    for pos, side in ((left, "right"), ((victim + 1) % n, "left")):
        ring.wait_for(lambda r, p=pos, s=side: r["kind"] == REWIRED and r["pos"] == p
                      and r["side"] == s, since=since, what=f"node {pos} rewired")
    return lost_ns, how


def one_recovery(ring: BenchRing, victim: int, hop_ns: float) -> dict:
    pipeline, view = ring.pipeline, ring.view
    lost_ns, how = lose_token(ring, victim, hop_ns)
    if how == LOST_ELSEWHERE:  # no loss instant to count from: restore, do not count
        pipeline.run_until(lambda: view.silent_for_s() < 0.01, 30)
        return {"lost": how}
    count = len(pipeline.recoveries)
    # Silence counts from the loss. The pipeline estimates a hop from the gap between
    # reported receipts; with K hops between reports that is K hops, so tell it the
    # hop measured here (a fully reported ring would have estimated it itself).
    mark = ring.mark()
    view.last_progress_ns = lost_ns
    view.hop_ns_estimate = hop_ns
    pipeline.acknowledge_deaths()  # the victim is restarted already: measure the silence
    if not pipeline.run_until(lambda: len(pipeline.recoveries) > count, 60):
        raise BenchError(f"no recovery within 60 s on a ring of {ring.nodes}")
    recovery = pipeline.recoveries[-1]
    if not recovery.ok or recovery.cause != "silence":
        raise BenchError(f"recovery on a ring of {ring.nodes} ended {recovery.cause}/"
                         f"{'ok' if recovery.ok else 'failed'}")
    records = ring.history.records[mark:]
    round_ = recovery.rounds[-1]

    def first(kind: str, **fields) -> dict:
        for record in records:
            if record["kind"] == kind and all(record.get(k) == v for k, v in fields.items()):
                return record
        raise BenchError(f"no {kind} {fields} in the recovery's events")

    decided = first(ELECTION_ROUND, round=round_)
    starts = [r["t_ns"] for r in records if r["kind"] == ELECTION_START
              and r["round"] == round_]
    leader = first(LEADER, round=round_)
    complete = first(ELECTION_COMPLETE, round=round_)
    created = first(TOKEN_CREATED, epoch=round_)
    lap = first(TOKEN_RECEIVED, epoch=round_, pos=leader["pos"], hop=ring.nodes)
    snapshot_started = [r for r in records if r["kind"] == SNAPSHOT_STARTED][-1]
    parts = [r["t_ns"] for r in records if r["kind"] == SNAPSHOT_PART
             and r["sid"] == snapshot_started["sid"]]
    lead_ms = (min(starts) - decided["t_ns"]) / 1e6
    return {
        "victim": victim, "lost": how, "snapshots": recovery.snapshots,
        "rounds": len(recovery.rounds), "election_messages": recovery.election_messages,
        "detect_ms": recovery.detect_ms, "snapshot_ms": recovery.snapshot_ms,
        "election_ms": recovery.election_ms, "regenerate_ms": recovery.regenerate_ms,
        "total_ms": recovery.total_ms,
        "lead_ms": lead_ms,
        "lead_scheduled_ms": (START_LEAD_NS + START_LEAD_PER_NODE_NS * ring.nodes) / 1e6,
        "election_without_lead_ms": recovery.election_ms - lead_ms,
        # From the nodes' own clocks: what the messages took, without the harness.
        "events": {
            "snapshot_ms": (max(parts) - snapshot_started["t_ns"]) / 1e6,
            "candidate_lap_ms": (leader["t_ns"] - min(starts)) / 1e6,
            "announcement_ms": (complete["t_ns"] - leader["t_ns"]) / 1e6,
            "token_lap_ms": (lap["t_ns"] - created["t_ns"]) / 1e6,
        },
    }


def configurations() -> list[tuple[str, bool]]:
    """(state dir, per-message events reported?): the default ring; its state files
    on tmpfs; and on tmpfs without the per-message snapshot and election events."""
    if not os.path.isdir(TMPFS):
        return [("default", True), ("default", False)]
    return [("default", True), ("tmpfs", True), ("tmpfs", False)]


def measure(quick: bool, start_method: str) -> dict:
    sizes, reps, hop_samples = ((8,), 2, 20) if quick else ((8, 32, 128), 5, 60)
    results = []
    for n in sizes:
        for where, forwarding in configurations():
            results.append(measure_ring(n, where, forwarding, reps, hop_samples,
                                        start_method))
    goal = {f'{r["nodes"]}/{r["state_dir"]}/{r["reporting"]}': r["critical_vs_floor"]
            for r in results}
    return {"rows": results, "report_every": REPORT_EVERY,
            "goal": {"factor": GOAL_FACTOR, "critical_vs_floor": goal,
                     "met": all(v is not None and v <= GOAL_FACTOR for v in goal.values())}}


def measure_ring(n: int, where: str, forwarding: bool, reps: int, hop_samples: int,
                 start_method: str) -> dict:
    config = RingConfig(ids=arrange_ids(n, "random", n), hold_ns=0,
                        start_method=start_method, token_report_every=REPORT_EVERY,
                        report_forwarding=forwarding)
    state_dir = tempfile.mkdtemp(prefix="ringemu-bench-", dir=TMPFS) if where == "tmpfs" \
        else None
    hops: list[float] = []
    runs: list[dict] = []
    try:
        with BenchRing(config, candidates=n, seed=n, state_dir=state_dir) as ring:
            ring.bootstrap()
            for attempt in range(2 * reps):
                if len(runs) == reps:
                    break
                window = ring.hop_us(hop_samples)
                hops += window
                hop_ns = Summary.of(window).median * 1e3
                run = one_recovery(ring, victim=(1 + 3 * attempt) % n, hop_ns=hop_ns)
                if run["lost"] != LOST_ELSEWHERE:
                    runs.append(run)
    finally:
        if state_dir is not None:
            shutil.rmtree(state_dir, ignore_errors=True)
    if not runs:
        raise BenchError(f"could not lose the token where intended on a ring of {n}")
    row = summarise(n, Summary.of(hops), runs, work_floor(config.ids))
    row["state_dir"] = where
    row["reporting"] = "all" if forwarding else "quiet"
    return row


def work_floor(ids: tuple[int, ...]) -> dict:
    """The other floor: every message costs about a hop of CPU, and a snapshot (2N
    markers) or an all-candidate election (its Chang-Roberts count, from the
    simulator, plus N Elected) has many in flight at once on this many cores."""
    cores = os.cpu_count() or 1
    candidate, elected = simulate(list(ids), seed=0)
    return {"cores": cores, "snapshot": 2 * len(ids) / cores,
            "election": (candidate + elected) / cores,
            "election_messages": candidate + elected}


def summarise(n: int, hop: Summary, runs: list[dict], work: dict | None = None) -> dict:
    hop_ms = hop.median / 1e3
    floor = floors(n)

    def phase(values: list[float], floor_hops: float | None) -> dict:
        summary = Summary.of(values)
        in_hops = summary.median / hop_ms
        return {"ms": summary.as_dict(), "hops": in_hops, "floor_hops": floor_hops,
                "vs_floor": ratio(in_hops, floor_hops)}

    critical = [r["snapshot_ms"] + r["election_without_lead_ms"] + r["regenerate_ms"]
                for r in runs]
    critical_phase = phase(critical, floor["critical"])
    return {
        "nodes": n, "reps": len(runs), "hop_us": hop.as_dict(),
        "lost": sorted({r["lost"] for r in runs}),
        "detect": phase([r["detect_ms"] for r in runs], None),
        "snapshot": phase([r["snapshot_ms"] for r in runs], floor["snapshot"]),
        "election": phase([r["election_ms"] for r in runs], None),
        "lead": phase([r["lead_ms"] for r in runs], None),
        "lead_scheduled_ms": runs[0]["lead_scheduled_ms"],
        "election_without_lead": phase([r["election_without_lead_ms"] for r in runs],
                                       floor["election"]),
        "regeneration": phase([r["regenerate_ms"] for r in runs], floor["regeneration"]),
        "total": phase([r["total_ms"] for r in runs], None),
        "critical": critical_phase,
        "critical_vs_floor": critical_phase["vs_floor"],
        "events": {key: phase([r["events"][key] for r in runs], hops_floor)
                   for key, hops_floor in (("snapshot_ms", floor["snapshot"]),
                                           ("candidate_lap_ms", float(n)),
                                           ("announcement_ms", float(n)),
                                           ("token_lap_ms", floor["lap"]))},
        "work_floor": None if work is None else {
            **work, "critical": max(floor["snapshot"], work["snapshot"])
            + max(floor["election"], work["election"]),
            "critical_vs_work_floor": ratio(
                critical_phase["hops"], max(floor["snapshot"], work["snapshot"])
                + max(floor["election"], work["election"]))},
        "runs": runs,
    }
