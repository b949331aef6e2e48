"""The invariant checker: judge one trial's recorded history against DESIGN.md.

Theory of operation
-------------------
The checker is pure: it takes the trace records of one trial (flat dicts, see
DESIGN.md "Trace") and returns the violations it finds. It does no I/O and reads
no clock, so a trace replayed from a file long after the run is judged exactly as
it was live, and every rule can be tested on a hand-made history.

Records come in the order the harness read them, which is not quite time order:
every process stamps its events with ``time.monotonic_ns()`` (one clock for the
machine), but the harness drains the nodes one at a time. Wherever timing
matters the checker sorts by ``t_ns``; the sort is stable, so one process's own
events keep their order when two stamps tie.

Two derived views carry most of the invariants:

* The *current epoch* at an instant: the highest epoch of any ``token_created``
  at or before it. Rounds only grow, so this is a step function of time.
* *Holdings*: the intervals during which one process (pid) held one token of one
  epoch, from a take (received, created, injected, or returned: a pass that failed
  gives the token back) to the matching release (passed, dropped, fenced) or the
  process's exit (``emulator.records.holdings``, the one definition that the
  recovery view, the reports and the diagram share).
* A node's *fence* (highest epoch it has seen), bounded from below by the epochs
  and rounds in its own reports: fencing failed when a node accepts a token older
  than its fence. A paused node that missed a round may accept a stale token
  once; the next node, which saw the round, must drop it ("within one hop").

Each invariant has its own ``check_*`` function, so a test can aim at one rule;
``check`` runs them all. The rules that need the trial runner's closing records
(``trial_end`` for liveness and the end-of-trial token count, ``hygiene``) judge
nothing when those records are absent: a history cut short has no verdict there.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from emulator.records import (
    Holding, Record, holdings,
    BYPASSED, CANDIDATE, CANDIDATE_DROPPED, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED,
    ELECTED, ELECTION_COMPLETE, ELECTION_DROPPED, ELECTION_ROUND, ELECTION_SENT,
    ELECTION_START, ELECTION_SWALLOWED, FAULT, HARNESS_STALLED, HYGIENE, LEADER,
    LEADER_CONFLICT, LINK_DOWN, LINK_HANDED, LINK_RETIRED, LINK_SEVERED, MARKER_RECEIVED,
    MESSAGE_DUPLICATED, NODE_CRASHED, NODE_EXITED, NODE_STARTED, RECOVERED, REJOINED,
    RESTARTED, REWIRED, ROUND_ABANDONED, SNAPSHOT_PART, SNAPSHOT_RESULT, SNAPSHOT_STARTED,
    TASK_STEP, TASK_STORE, TOKEN_CREATED, TOKEN_FENCED, TOKEN_INJECTED, TOKEN_PASSED,
    TOKEN_RECEIVED, TRIAL_END,
)


# Invariant 6: a token must circulate this soon after the last fault.
RECOVERY_DEADLINE_MS = 10_000.0

INVARIANTS = ("single_leader", "correct_leader", "mutual_exclusion", "one_token",
              "termination", "liveness", "hygiene", "unexpected_exit",
              "task_applied_twice", "task_lost",
              "consistent_snapshot")

# What a fault's signal makes a node's exit status: anything else was the node's own.
_EXIT_BY_SIGNAL = {"SIGKILL": (-9,), "SIGTERM": (143, -15)}


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str      # one of INVARIANTS
    t_ns: int | None    # when (a record's t_ns), if it has a moment
    detail: str         # one readable sentence naming positions/ids/epochs/rounds


def check(records: list[Record], *, nodes: int,
          recovery_deadline_ms: float = RECOVERY_DEADLINE_MS) -> list[Violation]:
    """Every invariant over one trial's history; an empty list means a clean trial."""
    return (check_single_leader(records)
            + check_correct_leader(records)
            + check_mutual_exclusion(records)
            + check_one_token(records)
            + check_termination(records, nodes=nodes)
            + check_liveness(records, recovery_deadline_ms=recovery_deadline_ms)
            + check_hygiene(records)
            + check_unexpected_exit(records)
            + check_task_applied_twice(records)
            + check_task_lost(records)
            + check_consistent_snapshot(records))


# --- derived views ----------------------------------------------------------------


def _by_time(records: list[Record]) -> list[Record]:
    return sorted(records, key=lambda r: r["t_ns"])


def _of_kind(records: list[Record], *kinds: str) -> list[Record]:
    return _by_time([r for r in records if r["kind"] in kinds])


def _last(records: list[Record], kind: str) -> Record | None:
    found = _of_kind(records, kind)
    return found[-1] if found else None


def _node(r: Record) -> str:
    return f"node {r['pos']} (id {r['id']}, pid {r['pid']})"


class EpochClock:
    """The current epoch at any instant: the highest epoch created at or before it."""

    def __init__(self, records: list[Record]) -> None:
        self._times: list[int] = []     # when the current epoch rose ...
        self._epochs: list[int] = []    # ... and to what
        for r in _of_kind(records, TOKEN_CREATED):
            if not self._epochs or r["epoch"] > self._epochs[-1]:
                self._times.append(r["t_ns"])
                self._epochs.append(r["epoch"])

    def at(self, t_ns: int) -> int | None:
        i = bisect.bisect_right(self._times, t_ns)
        return self._epochs[i - 1] if i else None

    def window(self, epoch: int) -> tuple[int, float] | None:
        """When ``epoch`` was current: its first creation until a higher one's."""
        if epoch not in self._epochs:
            return None
        i = self._epochs.index(epoch)
        end = self._times[i + 1] if i + 1 < len(self._times) else math.inf
        return self._times[i], end


# --- 1. at most one leader per round ------------------------------------------------


def check_single_leader(records: list[Record]) -> list[Violation]:
    violations = []
    leaders: dict[int, dict[tuple, Record]] = defaultdict(dict)
    for r in _of_kind(records, LEADER):
        leaders[r["round"]].setdefault((r["pos"], r["pid"]), r)
    for round_, by_node in sorted(leaders.items()):
        if len(by_node) > 1:
            winners = list(by_node.values())
            violations.append(Violation(
                "single_leader", winners[1]["t_ns"],
                f"round {round_} has {len(winners)} leaders: "
                + ", ".join(_node(r) for r in winners) + "."))
    for r in _of_kind(records, LEADER_CONFLICT):
        violations.append(Violation(
            "single_leader", r["t_ns"],
            f"{_node(r)} is leader of round {r['round']} but heard of leader id "
            f"{r['leader_id']} in the same round."))
    return violations


# --- 2. the largest live candidate wins ------------------------------------------------


def check_correct_leader(records: list[Record]) -> list[Violation]:
    exited_at: dict[int, int] = {}
    for r in _of_kind(records, NODE_EXITED):
        exited_at.setdefault(r["pid"], r["t_ns"])
    completes = _group_by_round(_of_kind(records, ELECTION_COMPLETE))
    candidates_by_round = _group_by_round(_of_kind(records, CANDIDATE))
    bypassed = _of_kind(records, BYPASSED)
    violations = []
    for round_, leaders in sorted(_group_by_round(_of_kind(records, LEADER)).items()):
        end_ns = (completes.get(round_) or leaders)[0]["t_ns"]
        candidates = {r["pid"]: r for r in candidates_by_round.get(round_, [])}
        # Dead = its process exited by the round's end; a restarted node is a new pid.
        # Out = bypassed (paused, spliced out) between entering and the round's end:
        # its ID may never come home, and a smaller candidate rightly wins.
        alive = [r["id"] for pid, r in candidates.items()
                 if exited_at.get(pid, math.inf) > end_ns
                 and not any(b["pid"] == pid and r["t_ns"] <= b["t_ns"] <= end_ns
                             for b in bypassed)]
        expected = max(alive, default=None)
        for leader in {(r["pos"], r["pid"]): r for r in leaders}.values():
            if leader["id"] != expected:
                violations.append(Violation(
                    "correct_leader", leader["t_ns"],
                    f"round {round_} was won by {_node(leader)}, but the largest id among "
                    f"its candidates alive and on the ring at the round's end was {expected} "
                    f"(candidate ids {sorted(r['id'] for r in candidates.values())}, "
                    f"alive {sorted(alive)})."))
    return violations


def _group_by_round(records: list[Record]) -> dict[int, list[Record]]:
    grouped: dict[int, list[Record]] = defaultdict(list)
    for r in records:
        grouped[r["round"]].append(r)
    return grouped


# --- 3. mutual exclusion -----------------------------------------------------------


def check_mutual_exclusion(records: list[Record]) -> list[Violation]:
    clock = EpochClock(records)
    # A duplicate injected on purpose breaks exclusion in its epoch; the recovery
    # that must follow is judged by one_token, not here.
    injected = {r["epoch"] for r in _of_kind(records, TOKEN_INJECTED)}
    # So does a link that sent the token twice (a duplicating link fault).
    injected |= {r["epoch"] for r in _of_kind(records, MESSAGE_DUPLICATED) if "epoch" in r}
    by_epoch: dict[int, list[Holding]] = defaultdict(list)
    for holding in holdings(records):
        by_epoch[holding.epoch].append(holding)
    violations = []
    for epoch, held in sorted(by_epoch.items()):
        window = clock.window(epoch)
        if epoch in injected or window is None:
            continue  # injected, or never current: a stale epoch is one_token's concern
        overlap = _first_overlap(held, *window)
        if overlap is not None:
            at_ns, first, second = overlap
            violations.append(Violation(
                "mutual_exclusion", at_ns,
                f"two holders of a current token of epoch {epoch} at once: node "
                f"{first.pos} (pid {first.pid}) and node {second.pos} (pid {second.pid})."))
    return violations


def _first_overlap(held: list[Holding], begin: int,
                   end: float) -> tuple[int, Holding, Holding] | None:
    """Sweep the holdings, clipped to [begin, end), in order of start."""
    clipped = sorted(((max(h.start_ns, begin), min(h.end_ns, end), h) for h in held),
                     key=lambda c: c[0])
    active: list[tuple[int, float, Holding]] = []
    for start, stop, holding in clipped:
        if start >= stop:
            continue  # not held while this epoch was current
        active = [a for a in active if a[1] > start]  # half-open: a hand-off at t is fine
        other = next((a[2] for a in active if a[2].pid != holding.pid), None)
        if other is not None:
            return int(start), other, holding
        active.append((start, stop, holding))
    return None


# --- 4. one token after recovery; stale tokens fenced ---------------------------------


# What a node's own reports prove it has seen: each field is a lower bound on its
# fence (highest epoch seen), since a node observes every round and token epoch it
# reports. Harness records are left out: ``election_round`` names a candidate that
# has not yet heard of the round.
_FENCE_EVIDENCE = {
    NODE_STARTED: "epoch", TOKEN_RECEIVED: "epoch", TOKEN_CREATED: "epoch",
    TOKEN_INJECTED: "epoch", TOKEN_FENCED: "node_epoch", SNAPSHOT_PART: "node_epoch",
    ELECTION_START: "round", CANDIDATE: "round", CANDIDATE_FORWARDED: "round",
    CANDIDATE_SWALLOWED: "round", CANDIDATE_DROPPED: "round", LEADER: "round",
    ELECTED: "round", ELECTION_COMPLETE: "round", LEADER_CONFLICT: "round",
    ELECTION_SENT: "round", ELECTION_SWALLOWED: "round", ELECTION_DROPPED: "round",
}


def check_one_token(records: list[Record]) -> list[Violation]:
    """Stale tokens fenced within one hop; one token after recovery and at the end.

    A stale token (older than the current epoch) may be accepted by a node that has
    not heard of the newer epoch yet, e.g. a paused node that was bypassed while the
    ring elected: that is the one hop. Accepting it at a node that had already seen
    a newer epoch is the violation (what happens everywhere with fencing off).
    """
    clock = EpochClock(records)
    seen: dict[int, int] = {}
    stale: dict[int, list[tuple[Record, int]]] = defaultdict(list)
    for r in _by_time(records):
        if r["kind"] == TOKEN_RECEIVED and seen.get(r["pid"], -1) > r["epoch"]:
            stale[r["epoch"]].append((r, seen[r["pid"]]))
        if r["kind"] in _FENCE_EVIDENCE:
            seen[r["pid"]] = max(seen.get(r["pid"], -1), r[_FENCE_EVIDENCE[r["kind"]]])
    # Unfenced, a stale token laps forever: report its first acceptance, with a count.
    violations = []
    for epoch, accepted in sorted(stale.items()):
        first, node_epoch = accepted[0]
        current = clock.at(first["t_ns"])
        violations.append(Violation(
            "one_token", first["t_ns"],
            f"{_node(first)} accepted a stale token of epoch {epoch} (hop {first['hop']}) "
            f"though it had seen epoch {node_epoch} (current epoch {current}), "
            f"{len(accepted)} such receipt(s) of epoch {epoch} in all: fencing should "
            f"have dropped it."))
    violations += _final_snapshot(records)
    violations += _tokens_at_trial_end(records)
    return violations


def _final_snapshot(records: list[Record]) -> list[Violation]:
    """The last complete snapshot after the last recovery must count one token.

    No verdict if a fault came after the last recovery: a snapshot taken then
    measures that fault, not the recovery (liveness judges whether it was repaired).
    """
    recovered = _last(records, RECOVERED)
    fault = _last(records, FAULT)
    if recovered is None or (fault is not None and fault["t_ns"] > recovered["t_ns"]):
        return []
    snapshots = [r for r in _of_kind(records, SNAPSHOT_RESULT)
                 if r["complete"] and r["t_ns"] > recovered["t_ns"]]
    if not snapshots or snapshots[-1]["tokens"] == 1:
        return []
    last = snapshots[-1]
    return [Violation("one_token", last["t_ns"],
                      f"snapshot {tuple(last['sid'])} after the recovery to epoch "
                      f"{recovered['epoch']} counted {last['tokens']} tokens of epoch "
                      f"{last['epoch']}, not 1.")]


def _tokens_at_trial_end(records: list[Record]) -> list[Violation]:
    end = _last(records, TRIAL_END)
    if end is None or end.get("final_epoch") is None:
        return []
    final = end["final_epoch"]
    held = [h for h in holdings(records) if h.epoch == final and h.held_at(end["t_ns"])]
    if len(held) <= 1:
        return []
    return [Violation("one_token", end["t_ns"],
                      f"the trial ended with {len(held)} tokens of the final epoch {final} "
                      f"held, at positions {sorted(h.pos for h in held)}.")]


# --- 5. termination --------------------------------------------------------------------


_WHO = frozenset(("t_ns", "pos", "id", "pid", "kind"))  # who reported, not what


def check_termination(records: list[Record], *, nodes: int) -> list[Violation]:
    violations = []
    end = _last(records, TRIAL_END)
    cutoff = end["t_ns"] if end is not None else math.inf
    closings = _of_kind(records, ELECTION_COMPLETE, ROUND_ABANDONED)
    for started in _of_kind(records, ELECTION_ROUND):
        round_ = started["round"]
        if not any(c["round"] == round_ and started["t_ns"] <= c["t_ns"] <= cutoff
                   for c in closings):
            violations.append(Violation(
                "termination", started["t_ns"],
                f"election round {round_} (candidate positions {started['candidate_pos']}) "
                f"was neither completed nor abandoned before the trial ended."))
    # A message forwarded more often than there are nodes has lapped the ring: it
    # would circulate forever (e.g. an ID whose owner restarted and nobody stops).
    forwards = Counter((r["round"], r["candidate_id"])
                       for r in _of_kind(records, CANDIDATE_FORWARDED))
    for (round_, node_id), count in sorted(forwards.items()):
        if count > nodes:
            violations.append(Violation(
                "termination", None,
                f"candidate id {node_id} of round {round_} was forwarded {count} times "
                f"on a ring of {nodes} nodes."))
    # The other algorithms report each message they send (election_sent), named by
    # its fields: on a healthy ring one message passes each node at most once.
    sends = Counter(tuple(sorted((k, str(v)) for k, v in r.items() if k not in _WHO))
                    for r in _of_kind(records, ELECTION_SENT))
    for key, count in sorted(sends.items()):
        if count > nodes:
            what = ", ".join(f"{k} {v}" for k, v in key)
            violations.append(Violation(
                "termination", None,
                f"the election message ({what}) was sent {count} times on a ring of "
                f"{nodes} nodes."))
    announcements = Counter(r["round"] for r in _of_kind(records, ELECTED))
    for round_, count in sorted(announcements.items()):
        if count > nodes:
            violations.append(Violation(
                "termination", None,
                f"the leader announcement of round {round_} was forwarded {count} times "
                f"on a ring of {nodes} nodes."))
    return violations


# --- 6. liveness ---------------------------------------------------------------------


def check_liveness(records: list[Record], *, recovery_deadline_ms: float) -> list[Violation]:
    """Without a ``trial_end`` record there is no final epoch to wait for: no verdict."""
    end = _last(records, TRIAL_END)
    if end is None:
        return []
    fault = _last(records, FAULT)
    since = fault["t_ns"] if fault is not None else _by_time(records)[0]["t_ns"]
    deadline = since + int(recovery_deadline_ms * 1e6)
    if any(s["since_ns"] < deadline and s["t_ns"] > since for s in harness_stalls(records)):
        return []  # the harness itself did not run: no verdict on timing (see below)
    final = end.get("final_epoch")
    if final is None:
        return [Violation("liveness", end["t_ns"],
                          "the trial ended without any token epoch: no token ever circulated.")]
    reached = {r["pos"] for r in _of_kind(records, TOKEN_RECEIVED)
               if r["epoch"] == final and since < r["t_ns"] <= deadline}
    missing = [pos for pos in end["active_positions"] if pos not in reached]
    if not missing:
        return []
    what = "the last fault" if fault is not None else "the start"
    return [Violation("liveness", deadline,
                      f"no token of epoch {final} reached position(s) {missing} within "
                      f"{recovery_deadline_ms:g} ms after {what}.")]


# --- 7. hygiene ----------------------------------------------------------------------


def check_hygiene(records: list[Record]) -> list[Violation]:
    report = _last(records, HYGIENE)
    if report is None:
        return []
    found = []
    if report["leftover_pids"]:
        found.append(f"node processes left running: pids {report['leftover_pids']}.")
    if report["zombies"]:
        found.append(f"zombie processes left unreaped: pids {report['zombies']}.")
    if report["fds_after"] > report["fds_before"]:
        found.append(f"{report['fds_after'] - report['fds_before']} file descriptor(s) "
                     f"leaked ({report['fds_before']} before the trial, "
                     f"{report['fds_after']} after).")
    return [Violation("hygiene", report["t_ns"], detail) for detail in found]


# --- 8. no node exits on its own --------------------------------------------------------


def check_unexpected_exit(records: list[Record]) -> list[Violation]:
    """A node process ends only by a fault aimed at it or by the harness's own hand.

    A node that raised (``node_crashed``, with its error) or exited with a status
    that no injected fault explains (a SIGKILL fault explains -9, a SIGTERM fault
    143) left by itself: a bug or a configuration it cannot carry, even if the
    supervisor restarted it and the token went on. The harness's own kills (the
    orderly stop, a restart) carry ``by_harness``."""
    crashes = {r["pid"]: r for r in _of_kind(records, NODE_CRASHED)}
    explained: dict[int, set[int]] = defaultdict(set)
    for fault in _of_kind(records, FAULT):
        explained[fault["pid"]].update(_EXIT_BY_SIGNAL.get(fault["fault"], ()))
    violations = []
    for exited in _of_kind(records, NODE_EXITED):
        crash = crashes.pop(exited["pid"], None)
        status = exited["exitcode"]
        if crash is None and (status == 0 or exited.get("by_harness")
                              or status in explained[exited["pid"]]):
            continue
        error = f": {crash['error']}" if crash is not None else ""
        violations.append(Violation(
            "unexpected_exit", exited["t_ns"],
            f"{_node(exited)} exited on its own with status {status}, no fault aimed at "
            f"it{error}."))
    for crash in crashes.values():  # crashed, and the history ends before its exit
        violations.append(Violation("unexpected_exit", crash["t_ns"],
                                    f"{_node(crash)} crashed: {crash['error']}."))
    return violations


# --- the harness's own stalls (no invariant: a trial the harness could not time) ---------


def harness_stalls(records: list[Record]) -> list[Record]:
    """Stretches when the harness process itself did not run (SIGSTOP, a long stall).

    Timing verdicts over such a stretch (liveness) would blame the protocol for the
    harness's absence, so ``check_liveness`` gives none there, and the trial runner
    reports the trial as ``harness_stalled`` instead of judging it on time."""
    return _of_kind(records, HARNESS_STALLED)


def describe_stall(stall: Record) -> str:
    return (f"the harness itself did not run for {stall['stalled_ms'] / 1e3:.1f} s "
            f"(stopped or starved); timing could not be judged")


# --- 9. the leader's task: each step applied exactly once --------------------------------


def _applied_steps(records: list[Record]) -> list[tuple[int, int, int]]:
    """(step, epoch, pos) of every application, in the order the store took them: the
    store's own rows at the end if the history has them (a node killed between its
    write and its report leaves no ``task_step``), else the nodes' reports."""
    store = _last(records, TASK_STORE)
    if store is not None:
        return [(step, epoch, pos) for step, epoch, pos, *_ in store["steps"]]
    return [(r["step"], r["epoch"], r["pos"]) for r in _of_kind(records, TASK_STEP)
            if r["outcome"] == "applied"]


def check_task_applied_twice(records: list[Record]) -> list[Violation]:
    """Idempotency: no step of the leader's task is applied more than once."""
    by_step: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for step, epoch, pos in _applied_steps(records):
        by_step[step].append((epoch, pos))
    return [Violation("task_applied_twice", None,
                      f"step {step} was applied {len(done)} times: "
                      + ", ".join(f"by p{pos} as leader of epoch {epoch}" for epoch, pos in done)
                      + " (two leaders did the same step and the store took both: a key per "
                        "step (idempotency) or fencing at the store would refuse the second).")
            for step, done in sorted(by_step.items()) if len(done) > 1]


def check_task_lost(records: list[Record]) -> list[Violation]:
    """No step is skipped: every step up to the highest one applied or told (a token
    carried its count) is in the store."""
    applied = {step for step, _, _ in _applied_steps(records)}
    told = [r.get("task", 0) for r in records if r["kind"] in (TOKEN_RECEIVED, TOKEN_PASSED)]
    highest = max([*applied, *told, 0])
    lost = [step for step in range(1, highest + 1) if step not in applied]
    if not lost:
        return []
    return [Violation("task_lost", None,
                      f"step(s) {', '.join(map(str, lost))} of the leader's task were never "
                      f"applied, though step {highest} was done or told.")]


# --- 10. consistent snapshots (the FIFO assumption) ------------------------------------


# Anything that changes which socket joins two nodes: across it, two messages travel
# on different links and no order between them is promised, so no verdict there.
_REWIRING = frozenset((REWIRED, LINK_DOWN, LINK_RETIRED, LINK_HANDED, LINK_SEVERED,
                       BYPASSED, REJOINED, RESTARTED, NODE_STARTED, NODE_EXITED))


def check_consistent_snapshot(records: list[Record]) -> list[Violation]:
    """Chandy–Lamport's cut is consistent only on FIFO links: the marker a node sends
    when it records separates what it sent before from what it sent after. So for
    every token hop from S to R and every snapshot, "S passed it before it recorded"
    must equal "R received it before the marker from S". A marker that overtook the
    token (or was overtaken) makes the cut miss the token or count it twice."""
    recorded: dict[tuple, dict[int, Record]] = defaultdict(dict)  # sid -> pid -> record
    left_marker: dict[tuple, dict[int, Record]] = defaultdict(dict)
    for r in _of_kind(records, SNAPSHOT_STARTED, MARKER_RECEIVED):
        sid = tuple(r["sid"])
        if r["kind"] == SNAPSHOT_STARTED or r.get("first"):
            recorded[sid].setdefault(r["pid"], r)
        if r["kind"] == MARKER_RECEIVED and r["side"] == "left":
            left_marker[sid].setdefault(r["pid"], r)
    if not recorded:
        return []
    hops = _token_hops(records)
    rewiring: dict[int, list[int]] = defaultdict(list)     # pos -> times
    for r in _of_kind(records, *_REWIRING):
        rewiring[r["pos"]].append(r["t_ns"])
    counted = {tuple(r["sid"]): r for r in _of_kind(records, SNAPSHOT_RESULT)}
    violations = []
    for sid, by_pid in sorted(recorded.items()):
        for passed, received in hops:
            rec_s, mark_r = by_pid.get(passed["pid"]), left_marker[sid].get(received["pid"])
            if rec_s is None or mark_r is None:
                continue
            sent_before = passed["t_ns"] < rec_s["t_ns"]
            arrived_before = received["t_ns"] < mark_r["t_ns"]
            if sent_before == arrived_before:
                continue
            moments = (passed["t_ns"], rec_s["t_ns"], received["t_ns"], mark_r["t_ns"])
            if any(min(moments) <= t <= max(moments)
                   for pos in (passed["pos"], received["pos"]) for t in rewiring[pos]):
                continue
            violations.append(_inconsistent(sid, passed, received, sent_before,
                                            counted.get(sid)))
            break
    return violations


def _token_hops(records: list[Record]) -> list[tuple[Record, Record]]:
    """Each token hop seen at both ends, (pass, receipt), matched by epoch and hop;
    a hop seen twice (a duplicate, a pass that failed and was repeated) is left out."""
    passes: dict[tuple, list[Record]] = defaultdict(list)
    receipts: dict[tuple, list[Record]] = defaultdict(list)
    for r in _of_kind(records, TOKEN_PASSED, TOKEN_RECEIVED, TOKEN_FENCED):
        key = (r["epoch"], r["hop"])
        if r["kind"] == TOKEN_PASSED:
            passes[key].append(r)
        elif not receipts[key] or receipts[key][0]["pid"] != r["pid"]:
            receipts[key].append(r)  # a token fenced while held was received first
    return [(passes[key][0], got[0]) for key, got in receipts.items()
            if len(got) == 1 and len(passes.get(key, ())) == 1
            and passes[key][0]["t_ns"] <= got[0]["t_ns"]]


def _inconsistent(sid: tuple, passed: Record, received: Record, sent_before: bool,
                  result: Record | None) -> Violation:
    token = f"the token of epoch {passed['epoch']} (hop {passed['hop']})"
    if sent_before:
        how = (f"{_node(passed)} passed {token} before it recorded, but "
               f"{_node(received)} received it after the marker from that side: the "
               f"marker overtook the token, and the cut misses it")
    else:
        how = (f"{_node(passed)} passed {token} after it recorded, but {_node(received)} "
               f"received it before the marker from that side: the token overtook the "
               f"marker, and the cut counts it twice")
    counted = f" (it counted {result['tokens']} token(s))" if result is not None else ""
    return Violation("consistent_snapshot", received["t_ns"],
                     f"snapshot {sid} is not a consistent cut{counted}: {how}; "
                     f"Chandy–Lamport needs FIFO links.")
