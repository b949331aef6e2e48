"""The fault catalogue: each scenario is one real OS-level fault, seeded.

A scenario gets a ``Trial`` (a bootstrapped ring and a seeded RNG, see
trial.py) and injects its fault; the trial runner then lets the pipeline
recover and the checker judge. Every target and every delay comes from the
trial's RNG, so a seed replays the same fault schedule (the processes' own
timing is the machine's).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from emulator.protocol import InjectToken
from emulator.records import (
    CANDIDATE, ELECTION_ROUND, LEADER, LEADER_DEPOSED, RESTARTED, SNAPSHOT_STARTED,
    TASK_STEP, TOKEN_BLOCKED, TOKEN_CREATED, TOKEN_FENCED, TOKEN_PASSED, TOKEN_RECEIVED,
    Record,
)

from emulator.runtime import task_store

from ..config import ConfigError, RingConfig
from . import link_scenarios as links
from .trial import DEADLINE_S, ScenarioError, Trial


# --- the scenarios ---------------------------------------------------------------------


def drop_token(trial: Trial) -> None:
    count = trial.warm_up()
    trial.drop_at_holder()
    trial.until_recovered(count)


def kill_holder(trial: Trial) -> None:
    count = trial.warm_up()
    trial.cluster.kill(trial.catch_holder())
    trial.until_recovered(count)


def terminate_holder(trial: Trial) -> None:
    count = trial.warm_up()
    pos = trial.catch_holder()
    trial.cluster.terminate(pos)  # pending while stopped: the handler runs on SIGCONT
    trial.cluster.resume(pos)
    # A SIGTERMed node hands the token on before it exits: usually nothing is lost
    # and no election runs. If the hand-over could not happen, the pipeline recovers.
    trial.keep_alive_until(lambda: trial.cluster.nodes[pos].incarnation > 1
                           and trial.cluster.nodes[pos].running, what="the restart")
    trial.settle(count)


def kill_in_flight(trial: Trial) -> None:
    count = trial.warm_up()
    sender = trial.catch_holder()
    receiver = trial.next_right(sender)
    trial.cluster.suspend(receiver)
    passed = trial.history.watch(lambda r: r["kind"] == TOKEN_PASSED
                                 and r["pos"] == sender, since=len(trial.history.records))
    trial.cluster.resume(sender)
    # The send succeeds (the bytes sit in the stopped receiver's socket), then the
    # receiver dies unread: a successful send is not delivery.
    trial.cluster.wait_until(passed.seen, DEADLINE_S)
    trial.cluster.kill(receiver)
    trial.until_recovered(count)


def kill_random(trial: Trial, kills: int = 3) -> None:
    count = trial.recoveries_so_far()
    lap_s = trial.view.lap_estimate_s()
    for _ in range(kills):
        trial.keep_alive_for(trial.rng.uniform(0, 3 * lap_s))
        pos = trial.random_position()
        trial.cluster.kill(pos)
        trial.keep_alive_until(lambda p=pos: trial.cluster.nodes[p].running,
                               what=f"node {pos} restarted")
    # A kill may miss the token entirely: then no recovery is due, only laps.
    trial.settle(count)


def kill_during_snapshot(trial: Trial) -> None:
    count = trial.warm_up()
    victim_offset = trial.rng.randint(1, trial.nodes - 1)

    def kill_while_markers_fly(record: Record) -> None:
        victim = (record["pos"] + victim_offset) % trial.nodes
        trial.cluster.kill(victim)

    trial.on_first(lambda r: r["kind"] == SNAPSHOT_STARTED, kill_while_markers_fly)
    trial.drop_at_holder()
    trial.until_recovered(count)


def kill_during_election(trial: Trial) -> None:
    count = trial.warm_up()

    def kill_largest_after_it_sent(record: Record) -> None:
        trial.cluster.kill(record["pos"])

    def arm(round_record: Record) -> None:
        largest = max(round_record["candidate_ids"])
        trial.on_first(lambda r: r["kind"] == CANDIDATE and r["id"] == largest
                       and r["round"] == round_record["round"], kill_largest_after_it_sent)

    trial.on_first(lambda r: r["kind"] == ELECTION_ROUND, arm)
    trial.drop_at_holder()
    trial.until_recovered(count)


def kill_leader(trial: Trial) -> None:
    count = trial.warm_up()
    # Before regenerating (on the leader event) or after (once it passed the token).
    trigger = trial.rng.choice((LEADER, TOKEN_PASSED))

    def remember(record: Record) -> None:
        if trigger == LEADER:
            trial.cluster.kill(record["pos"])
        else:
            trial.on_first(lambda r: r["kind"] == TOKEN_PASSED and r["pos"] == record["pos"],
                           lambda r: trial.cluster.kill(r["pos"]))

    trial.on_first(lambda r: r["kind"] == LEADER, remember)
    trial.drop_at_holder()
    trial.until_recovered(count)


def pause_holder(trial: Trial) -> None:
    count = trial.warm_up()
    pos = trial.catch_holder()  # SIGSTOP, past the detection timeout: the ring moves on
    trial.keep_alive_until(lambda: trial.cluster.nodes[pos].bypassed
                           and any(r.ok for r in trial.recoveries_after(count)),
                           what="the ring to bypass the paused holder and recover")
    resumed = len(trial.history.records)
    trial.cluster.resume(pos)  # the old token wakes up; the supervisor rejoins the node
    trial.keep_alive_until(lambda: not trial.cluster.nodes[pos].bypassed,
                           what="the paused node to rejoin")
    # Its stale token is fenced at the next node, or (fencing off) lives on.
    trial.keep_alive_until(lambda: any(
        r["kind"] in (TOKEN_FENCED, TOKEN_RECEIVED) and r["epoch"] < trial.pipeline.epoch
        for r in trial.history.records[resumed:]), what="the stale token to resurface")
    trial.hops(2 * trial.nodes)


def duplicate_token(trial: Trial) -> None:
    count = trial.warm_up()
    holders = trial.view.holders()
    pos = trial.random_position(exclude=tuple(holders))
    trial.note_fault(pos, "inject_token")
    trial.cluster.send(pos, InjectToken())
    trial.hops(trial.nodes)
    # Two tokens move, so there is no silence: an audit snapshot finds the second.
    trial.pipeline.recover("audit")
    trial.until_recovered(count)


def restart_storm(trial: Trial) -> None:
    count = trial.recoveries_so_far()
    unlucky = trial.random_position()
    supervisor = trial.ring.supervisor

    def kill_again(record: Record) -> None:
        # Each replacement dies the moment it is started: faster than the restart
        # intensity allows, however long each recovery takes on a busy machine.
        if (record["kind"] == RESTARTED and record["pos"] == unlucky
                and unlucky not in supervisor.given_up):
            trial.cluster.kill(unlucky)

    trial.history.subscribe(kill_again)
    try:
        trial.cluster.kill(unlucky)
        # ...and others die once each in the same short time.
        for pos in trial.rng.sample([p for p in range(trial.nodes) if p != unlucky],
                                    k=min(2, trial.nodes - 1)):
            if trial.cluster.nodes[pos].running:
                trial.cluster.kill(pos)
        trial.keep_alive_until(lambda: unlucky in supervisor.given_up,
                               what="the supervisor to give up on the unlucky node")
    finally:
        trial.history.unsubscribe(kill_again)
    trial.settle(count)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[Trial], None]
    min_nodes: int = 2
    # Candidates per round at least (None: as the campaign says). The trial's ring is
    # made with it: a scenario never changes a running ring's settings.
    min_candidates: int | None = None
    # The invariant a trial is meant to break (a lesson, like --no-fencing): such a
    # scenario exits 1 by design and is left out of 'all' (make chaos).
    expect_violation: str | None = None
    # The leader's task runs in this scenario's trials (emulator/protocol/task.py).
    task: bool = False

    def config_for(self, config: RingConfig) -> RingConfig:
        return dataclasses.replace(config, task=True) if self.task else config

    def candidates_for(self, asked: int | None, nodes: int) -> int | None:
        """The candidates per round for this scenario's trials (None: a random subset)."""
        if self.min_candidates is None:
            return asked
        return max(self.min_candidates, asked or nodes)


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("drop-token", "the holder silently discards the token", drop_token),
    Scenario("kill-holder", "SIGKILL the token's holder; the supervisor restarts it",
             kill_holder),
    Scenario("kill-in-flight", "SIGKILL the node the token was just sent to, before it "
             "reads it (a successful send is not delivery)", kill_in_flight, min_nodes=3),
    Scenario("kill-random", "several SIGKILLs at seeded random nodes and times, with "
             "restarts", kill_random),
    Scenario("kill-during-snapshot", "a node dies while markers are in flight; the "
             "snapshot cannot complete and is retried", kill_during_snapshot),
    Scenario("kill-during-election", "the largest-ID candidate dies after sending its ID; "
             "the round is abandoned or won by the next largest", kill_during_election,
             min_candidates=2),
    Scenario("kill-leader", "the new leader dies right after winning, before or after "
             "regenerating the token: no leader until the next round; its task step is "
             "repeated", kill_leader, task=True),
    Scenario("pause-holder", "SIGSTOP the holder past the detection timeout: bypass, new "
             "epoch; SIGCONT and rejoin: fencing drops the old token", pause_holder,
             min_nodes=3),
    Scenario("terminate-holder", "SIGTERM the holder: unlike SIGKILL its handler runs, "
             "hands the token on and says goodbye (exit 143): usually no election",
             terminate_holder),
    Scenario("duplicate-token", "a second token of the current epoch is injected; an audit "
             "snapshot counts 2; a new epoch restores one", duplicate_token),
    Scenario("restart-storm", "many SIGKILLs in a short time; past the restart intensity "
             "the supervisor bypasses the node and reports it", restart_storm, min_nodes=4),
    # Link faults: the sending node's link shim (emulator/runtime/link_shim.py).
    Scenario("slow-link", "one link delays every message past the detection timeout: "
             "the snapshot counts the token in the channel (1, a false alarm); a late "
             "part means wait longer, never restart a running node", links.slow_link),
    Scenario("lossy-link", "one link loses each message with probability p until it "
             "has lost the token: detection, snapshot retries, an election",
             links.lossy_link),
    Scenario("blackhole-link", "one link swallows everything and stays open (no EOF): "
             "only silence tells; the snapshot cannot complete until it is lifted",
             links.blackhole_link),
    Scenario("cut-link", "one link closed (EOF at both ends): the token waits at the "
             "cut, a snapshot completes the other way round; healed with a new pipe",
             links.cut_link),
    Scenario("one-way-link", "one direction of a link cut (sends refused) or "
             "blackholed; the other direction works", links.one_way_link),
    Scenario("flapping-link", "one link cut and healed several times at random "
             "instants", links.flapping_link),
    Scenario("partition", "two links cut: the ring falls into two arcs; never a token "
             "in both; healed, one token goes on", links.partition, min_nodes=3),
    Scenario("duplicating-link", "one link sends messages twice with probability p: "
             "a duplicated token is counted (2) and fenced by a new epoch; duplicated "
             "IDs are dropped as repeats", links.duplicating_link),
    Scenario("reorder-link", "EXPECTED VIOLATION: one link lets later messages overtake "
             "the token; a marker overtakes it and the snapshot's cut is inconsistent "
             "(Chandy-Lamport assumes FIFO)", links.reorder_link,
             expect_violation="consistent_snapshot"),
)}

# What 'all' means: every scenario that must hold every invariant.
DEFAULT_SCENARIOS = [name for name, s in SCENARIOS.items() if s.expect_violation is None]


# --- teaching scenarios (ringemu trace, the lessons) ------------------------------------


def kill_next(trial: Trial) -> None:
    """Stop the holder, SIGKILL the node it is about to pass to, let the kill be
    reaped, then wake the holder before the supervisor restarts the victim. If the
    holder reads EOF on its right link first, it keeps the token (``token_blocked``)
    and passes it once the restarted node is wired in: nothing is lost. If its hold
    timer fires first, the write fails (EPIPE, ``message_lost``). If the death is
    hidden (``--hidden-death``), the write succeeds into a socket nobody will read."""
    count = trial.warm_up()
    holder = trial.catch_holder()
    while trial.next_right(holder) == 0:
        # p0 is spared: it was forked first, so no sibling inherited its pipe ends
        # and even --hidden-death cannot hide its death. Take the next holder.
        trial.cluster.resume(holder)
        trial.hops(1)
        holder = trial.catch_holder()
    victim = trial.next_right(holder)
    mark = trial.ring.mark()
    trial.cluster.kill(victim)
    # Poll only: the supervisor (in keep_alive) would restart the victim at once.
    trial.cluster.wait_until(lambda: not trial.cluster.nodes[victim].running, DEADLINE_S)
    holder_pid = trial.cluster.nodes[holder].pid
    trial.cluster.resume(holder)
    trial.cluster.wait_until(lambda: any(
        r["pid"] == holder_pid and r["kind"] in (TOKEN_PASSED, TOKEN_BLOCKED)
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


# --- the article's ending: two leaders, no leader, idempotency ------------------------------


def current_leader(trial: Trial) -> int | None:
    """The position of the last successful recovery's leader."""
    done = [r for r in trial.pipeline.recoveries if r.ok and r.leader_pos is not None]
    return done[-1].leader_pos if done else None


def catch_the_leader_at_work(trial: Trial, attempts: int = 40) -> int:
    """SIGSTOP the leader while it works: it holds its token and has not yet applied
    this visit's step (it does when the hold ends, then tells by passing the token).
    Return its position."""
    for _ in range(attempts):
        pos = trial.catch_holder()
        if pos == current_leader(trial) and _still_working(trial, pos):
            return pos
        trial.cluster.resume(pos)
        trial.hops(1)
    raise ScenarioError(f"could not catch the leader at work in {attempts} attempts")


def _still_working(trial: Trial, pos: int) -> bool:
    """The caught node took its token and has not written this visit's step, nor is it
    stopped inside the store's transaction (that would hold the store's lock)."""
    pid = trial.cluster.nodes[pos].pid
    for r in reversed(trial.history.records):
        if r["pid"] != pid:
            continue
        if r["kind"] == TASK_STEP:
            return False
        if r["kind"] in (TOKEN_RECEIVED, TOKEN_CREATED):
            return not task_store.is_locked(trial.cluster.task_path)
    return False


def pause_leader(trial: Trial) -> None:
    """The article's two leaders, for real: the leader is SIGSTOPped while it works on
    a step; past the detection timeout the ring bypasses it and elects another, who
    does the same step. SIGCONT: the old leader still believes it leads and finishes
    its step; the store refuses it (fencing: it learns it was deposed; or
    idempotency: done already), or, with both off, applies it a second time."""
    trial.hops(trial.rng.randint(trial.nodes, 2 * trial.nodes))
    count = trial.recoveries_so_far()
    pos = catch_the_leader_at_work(trial)
    pid = trial.cluster.nodes[pos].pid
    trial.keep_alive_until(lambda: trial.cluster.nodes[pos].bypassed
                           and any(r.ok for r in trial.recoveries_after(count)),
                           what="the ring to bypass the paused leader and elect another")
    resumed = trial.ring.mark()
    trial.cluster.resume(pos)
    # Poll only, so the supervisor rejoins it after it acted: the woken leader
    # finishes its step before any newer token can reach it.
    trial.cluster.wait_until(lambda: any(
        r["pid"] == pid and r["kind"] in (TASK_STEP, TOKEN_PASSED, TOKEN_FENCED)
        for r in trial.history.records[resumed:]), DEADLINE_S)
    trial.keep_alive_until(lambda: not trial.cluster.nodes[pos].bypassed,
                           what="the paused leader to rejoin")
    trial.keep_alive_until(lambda: any(
        r["kind"] == LEADER_DEPOSED and r["pid"] == pid
        for r in trial.history.records[resumed:]), what="the old leader to learn it was deposed")
    trial.hops(2 * trial.nodes)


TEACHING_SCENARIOS["pause-leader"] = Scenario(
    "pause-leader", "SIGSTOP the leader while it works on a task step: another is "
    "elected and does that step; SIGCONT: two leaders, until the store or a newer "
    "token tells the old one it was deposed", pause_leader, min_nodes=3, task=True)


def scenario_named(name: str) -> Scenario:
    known = {**SCENARIOS, **TEACHING_SCENARIOS}
    if name not in known:
        raise ConfigError(f"--scenario {name!r} is unknown; choose from "
                          + ", ".join(known))
    return known[name]
