"""The fault catalogue: each scenario is one real OS-level fault, seeded.

A scenario gets a ``Trial`` (a bootstrapped ring, its history, its pipeline and
a seeded RNG) and injects its fault; the trial runner then lets the pipeline
recover and the checker judge. Every target and every delay comes from the
trial's RNG, so a seed replays the same fault schedule (the processes' own
timing is the machine's).

To hit the token's holder and not the node the token just left, the holder is
first *caught*: SIGSTOP it, read every event it sent before it stopped, and
check it still holds the token (a node reports ``token_passed`` before it
sends). If the token slipped away, SIGCONT and try the next holder. The
signals of a catch are real and appear in the history as faults.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Callable

from emulator.protocol import DropToken, InjectToken

from emulator.records import (
    CANDIDATE, ELECTION_ROUND, FAULT, LEADER, SNAPSHOT_STARTED, TOKEN_DROPPED,
    TOKEN_FENCED, TOKEN_PASSED, TOKEN_RECEIVED,
)

from ..cluster import Cluster
from ..history import History, Record
from ..recovery import Orchestrator

DEADLINE_S = 30.0


class ScenarioError(RuntimeError):
    """The scenario could not set its fault up (e.g. the token never moved)."""


@dataclass
class Trial:
    cluster: Cluster
    history: History
    orchestrator: Orchestrator
    rng: random.Random

    @property
    def nodes(self) -> int:
        return len(self.cluster.nodes)

    # --- waiting, with the ring kept alive --------------------------------------------

    def keep_alive_until(self, done: Callable[[], bool], timeout_s: float = DEADLINE_S,
                         what: str = "the condition") -> None:
        if not self.orchestrator.run_until(done, timeout_s):
            raise ScenarioError(f"gave up waiting for {what} after {timeout_s} s")

    def keep_alive_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self.orchestrator.run_until(lambda: time.monotonic() >= end, seconds + 1)

    def hops(self, count: int) -> None:
        """Let the token make ``count`` more hops."""
        seen = [0]

        def count_hop(record: Record) -> None:
            if record["kind"] == TOKEN_RECEIVED:
                seen[0] += 1

        self.history.subscribe(count_hop)
        try:
            self.keep_alive_until(lambda: seen[0] >= count, what=f"{count} hops")
        finally:
            self.history.unsubscribe(count_hop)

    def recoveries_after(self, count_before: int) -> list:
        return self.orchestrator.recoveries[count_before:]

    def until_recovered(self, count_before: int, timeout_s: float = DEADLINE_S) -> None:
        """Wait until a recovery that began after the fault has succeeded."""
        self.keep_alive_until(
            lambda: any(r.ok and r.cause != "bootstrap"
                        for r in self.recoveries_after(count_before)),
            timeout_s, "a successful recovery")

    def settle(self, count_before: int) -> None:
        """Two laps after faults that may or may not have cost the token; if they
        started a recovery, it must have succeeded."""
        self.hops(2 * self.nodes)
        if any(r.cause != "bootstrap" for r in self.recoveries_after(count_before)):
            self.until_recovered(count_before)

    def on_first(self, matches: Callable[[Record], bool],
                 action: Callable[[Record], None]) -> None:
        """Run ``action`` on the first record that ``matches`` (once)."""
        def listener(record: Record) -> None:
            if matches(record):
                self.history.unsubscribe(listener)
                action(record)

        self.history.subscribe(listener)

    # --- faults -----------------------------------------------------------------------

    def note_fault(self, pos: int, name: str) -> None:
        """A fault the harness makes without a signal (drop, inject)."""
        node = self.cluster.nodes[pos]
        self.cluster.note(pos, FAULT, fault=name, target_pos=pos, signal=None,
                          target_pid=node.pid)

    def catch_holder(self, attempts: int = 20) -> int:
        """SIGSTOP a node while it holds the token; return its position."""
        for _ in range(attempts):
            self.keep_alive_until(lambda: bool(self.orchestrator.holders()),
                                  what="a token holder")
            pos = self.orchestrator.holders()[0]
            self.cluster.suspend(pos)
            self.cluster.poll(0)  # whatever it said before stopping is now in the history
            while self.cluster.poll(0):
                pass
            if self.orchestrator.tokens_at.get(pos, 0) > 0:
                return pos
            self.cluster.resume(pos)
        raise ScenarioError(f"could not catch a holder in {attempts} attempts")

    def drop_at_holder(self, attempts: int = 20) -> int:
        """Make the holder drop the token; return its position.

        A caught node may have been stopped half-way through passing the token (its
        hold timer already fired, the report not yet written); it then passes the
        token on SIGCONT before it reads the command. So watch what it does, and try
        again on the next holder if the token slipped away."""
        for _ in range(attempts):
            pos = self.catch_holder()
            pid = self.cluster.nodes[pos].pid
            mark = len(self.history.records)
            self.note_fault(pos, "drop_token")
            self.cluster.send(pos, DropToken())
            self.cluster.resume(pos)
            watch = self.history.watch(lambda r: r["pid"] == pid and r["kind"] in (
                TOKEN_DROPPED, TOKEN_PASSED), since=mark)
            self.cluster.wait_until(watch.seen, DEADLINE_S)
            if watch.found is not None and watch.found["kind"] == TOKEN_DROPPED:
                return pos
        raise ScenarioError(f"could not drop the token in {attempts} attempts")

    def random_position(self, exclude: tuple[int, ...] = ()) -> int:
        choices = [p for p in self.cluster.active_positions() if p not in exclude]
        return self.rng.choice(choices)

    def next_right(self, pos: int) -> int:
        return self.cluster.right_of(pos)


# --- the scenarios ---------------------------------------------------------------------


def drop_token(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    trial.drop_at_holder()
    trial.until_recovered(count)


def kill_holder(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    trial.cluster.kill(trial.catch_holder())
    trial.until_recovered(count)


def terminate_holder(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    pos = trial.catch_holder()
    trial.cluster.terminate(pos)  # pending while stopped: the handler runs on SIGCONT
    trial.cluster.resume(pos)
    # A SIGTERMed node hands the token on before it exits: usually nothing is lost
    # and no election runs. If the hand-over could not happen, the pipeline recovers.
    trial.keep_alive_until(lambda: trial.cluster.nodes[pos].incarnation > 1
                           and trial.cluster.nodes[pos].running, what="the restart")
    trial.settle(count)


def kill_in_flight(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
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
    count = len(trial.orchestrator.recoveries)
    lap_s = trial.orchestrator._lap_estimate_s()
    for _ in range(kills):
        trial.keep_alive_for(trial.rng.uniform(0, 3 * lap_s))
        pos = trial.random_position()
        trial.cluster.kill(pos)
        trial.keep_alive_until(lambda p=pos: trial.cluster.nodes[p].running,
                               what=f"node {pos} restarted")
    # A kill may miss the token entirely: then no recovery is due, only laps.
    trial.settle(count)


def kill_during_snapshot(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    victim_offset = trial.rng.randint(1, trial.nodes - 1)

    def kill_while_markers_fly(record: Record) -> None:
        victim = (record["pos"] + victim_offset) % trial.nodes
        trial.cluster.kill(victim)

    trial.on_first(lambda r: r["kind"] == SNAPSHOT_STARTED, kill_while_markers_fly)
    trial.drop_at_holder()
    trial.until_recovered(count)


def kill_during_election(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    trial.orchestrator.candidates = max(2, trial.orchestrator.candidates or trial.nodes)

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
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
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
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
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
        r["kind"] in (TOKEN_FENCED, TOKEN_RECEIVED) and r["epoch"] < trial.orchestrator.epoch
        for r in trial.history.records[resumed:]), what="the stale token to resurface")
    trial.hops(2 * trial.nodes)


def duplicate_token(trial: Trial) -> None:
    trial.hops(trial.rng.randint(1, trial.nodes))
    count = len(trial.orchestrator.recoveries)
    holders = trial.orchestrator.holders()
    pos = trial.random_position(exclude=tuple(holders))
    trial.note_fault(pos, "inject_token")
    trial.cluster.send(pos, InjectToken())
    trial.hops(trial.nodes)
    # Two tokens move, so there is no silence: an audit snapshot finds the second.
    trial.orchestrator.recover("audit")
    trial.until_recovered(count)


def restart_storm(trial: Trial) -> None:
    count = len(trial.orchestrator.recoveries)
    unlucky = trial.random_position()
    # One node dies more often than the supervisor's restart intensity allows...
    for _ in range(trial.orchestrator.max_restarts + 1):
        trial.keep_alive_until(lambda: trial.cluster.nodes[unlucky].running
                               or unlucky in trial.orchestrator.given_up,
                               what=f"node {unlucky} back")
        if unlucky in trial.orchestrator.given_up:
            break
        trial.cluster.kill(unlucky)
        trial.cluster.wait_until(lambda: not trial.cluster.nodes[unlucky].running, DEADLINE_S)
    # ...and others die once each in the same short time.
    for pos in trial.rng.sample([p for p in range(trial.nodes) if p != unlucky],
                                k=min(2, trial.nodes - 1)):
        if trial.cluster.nodes[pos].running:
            trial.cluster.kill(pos)
    trial.keep_alive_until(lambda: unlucky in trial.orchestrator.given_up,
                           what="the supervisor to give up on the unlucky node")
    trial.settle(count)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    run: Callable[[Trial], None]
    min_nodes: int = 2


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
             "the round is abandoned or won by the next largest", kill_during_election),
    Scenario("kill-leader", "the new leader dies right after winning, before or after "
             "regenerating the token", kill_leader),
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
)}
