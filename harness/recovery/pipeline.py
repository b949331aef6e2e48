"""The recovery pipeline: notice a loss, count tokens, elect, regenerate.

Theory of operation
-------------------
Two kinds of detection start a recovery. A *notice* from the operating system
acts at once: a node's death reaches the harness as EOF on its control
connection about a millisecond after the SIGKILL (``cause="death"``). A
*suspicion* covers what the OS cannot see: a token dropped in silence; the
silence detector (detector.py) adapts its timeout to the gaps between the
token's receipts (``cause="silence"``). Either only starts a Chandy–Lamport
snapshot: a death may or may not have taken the token with it, and a silence
may be a slow hop. The snapshot counts the tokens of the highest epoch any
node has seen: one means the ring is fine (after a silence: a false alarm,
counted); zero (lost) or two and more (duplicated) start an election round at
the chosen candidates (a random subset by default: the article's "arbitrary
processes"). Its leader regenerates the token with ``epoch = round``;
recovery ends when that token has made a lap back to the leader.

Phases end when their cause is known. A snapshot stops waiting when a node
dies, or when the only parts missing are those of nodes stopped for longer
than the detection timeout (paused is not dead: the supervisor then bypasses
them). A round, or the new token's lap, is abandoned the moment any node dies,
and the pipeline starts over from a snapshot, which finds what the death did.
A phase is only timed out (the backstop, ``RingView.phase_timeout_s``) when
nothing observable explains its silence.

A new ring has no token, so bootstrap is just the first recovery. The dead are
replaced by the supervisor (supervisor.py) outside the ring, so no recovery
waits for a process to boot; the pipeline learns what happened from the ring
view (view.py).
"""
from __future__ import annotations

import itertools
import random
import time
from dataclasses import asdict, dataclass, field

from emulator.protocol import SnapshotId, StartElection, StartSnapshot
from emulator.records import (
    ELECTION_ROUND, RECOVERED, RECOVERY_FAILED, ROUND_ABANDONED, SNAPSHOT_RESULT,
)
from emulator.runtime.control import Scheduled

from ..cluster import Cluster
from .supervisor import Supervisor
from .view import RingView

# Elections arm every candidate, then fire them for one instant this far ahead.
START_LEAD_NS = 2_000_000
START_LEAD_PER_NODE_NS = 50_000
ARMED_FOR_NS = 3600 * 10**9  # "until fired": the fire (or the round's first message) wins
POLL_S = 0.05
MAX_PATIENCE = 4  # the longest a snapshot waits, in half phase timeouts


@dataclass
class SnapshotResult:
    sid: SnapshotId
    complete: bool
    tokens: int            # tokens of the highest epoch in the cut
    epoch: int             # the highest epoch any part had seen
    missing: list[int]     # positions whose part never came
    duration_ms: float
    cut_short: bool = False  # a death ended it: the missing need not be mute


@dataclass
class Recovery:
    """One pass of the pipeline, with the duration of each phase."""

    cause: str
    snapshot_tokens: int | None = None  # what the first complete snapshot counted
    rounds: list[int] = field(default_factory=list)
    candidate_ids: list[int] = field(default_factory=list)
    leader_pos: int | None = None
    leader_id: int | None = None
    expected_leader_id: int | None = None
    election_messages: int = 0
    restarted: list[int] = field(default_factory=list)
    bypassed: list[int] = field(default_factory=list)
    mute: list[int] = field(default_factory=list)   # running, but no snapshot part came
    abandoned: list[str] = field(default_factory=list)  # why each abandoned round was
    snapshots: int = 0
    epoch: int | None = None
    detect_ms: float = 0.0
    snapshot_ms: float = 0.0
    election_ms: float = 0.0
    regenerate_ms: float = 0.0
    total_ms: float = 0.0
    ok: bool = False
    ended_ns: int = 0

    @property
    def false_alarm(self) -> bool:
        """A suspicion that the snapshot cleared: it cost a snapshot and nothing else."""
        return self.cause == "silence" and self.snapshot_tokens == 1 and not self.rounds

    def as_dict(self) -> dict:
        return {**asdict(self), "false_alarm": self.false_alarm}


class RecoveryPipeline:
    def __init__(self, cluster: Cluster, view: RingView, supervisor: Supervisor, *,
                 seed: int = 0, candidates: int | None = None,
                 max_attempts: int = 10) -> None:
        self.cluster = cluster
        self.view = view
        self.supervisor = supervisor
        self.rng = random.Random(seed)
        self.candidates = candidates  # None = a random non-empty subset each round
        self.max_attempts = max_attempts
        self.round = 0
        self.snapshot_counter = 0
        self.recoveries: list[Recovery] = []
        self._deaths_seen = 0  # deaths already acted on

    @property
    def epoch(self) -> int:
        return self.view.epoch

    def acknowledge_deaths(self) -> None:
        """The deaths so far were dealt with by the caller (a benchmark that restarted
        the node itself): they start no recovery."""
        self._deaths_seen = len(self.view.deaths)

    def _raise_epoch(self, epoch: int) -> None:
        self.view.epoch = max(self.view.epoch, epoch)

    # --- the pipeline ------------------------------------------------------------------

    def recover(self, cause: str, began_ns: int | None = None) -> Recovery:
        """One recovery; ``began_ns`` is when its cause happened (for ``detect_ms``):
        the last progress for a silence, the fault or the death for a death."""
        recovery = Recovery(cause)
        self.view.forget_last_receipt()
        if began_ns is None:
            began_ns = self.view.last_progress_ns if cause == "silence" else time.monotonic_ns()
        recovery.detect_ms = max(0.0, (time.monotonic_ns() - began_ns) / 1e6)
        for attempt in range(self.max_attempts):
            self._deaths_seen = len(self.view.deaths)  # whatever died so far is handled here
            recovery.bypassed += self.supervisor.take_out_the_dead()
            # A running node's part may be late (a slow link): wait longer each time.
            snapshot = self.snapshot(patience=min(MAX_PATIENCE, 2 ** attempt))
            recovery.snapshots += 1
            recovery.snapshot_ms += snapshot.duration_ms
            if not snapshot.complete and snapshot.cut_short:
                continue  # a death broke it: take the dead out, then count again
            if not snapshot.complete:
                restarted, bypassed, mute = self.supervisor.repair(snapshot.missing,
                                                                   recovery.mute)
                recovery.restarted += restarted
                recovery.bypassed += bypassed
                recovery.mute += mute
                continue
            if recovery.snapshot_tokens is None:
                recovery.snapshot_tokens = snapshot.tokens
            self._raise_epoch(snapshot.epoch)
            if snapshot.tokens == 1:
                recovery.ok = True  # a false alarm, or an earlier round already fixed it
                recovery.epoch = snapshot.epoch
                break
            if self._elect_and_regenerate(max(self.epoch, self.round) + 1, recovery):
                recovery.ok = True
                break
        return self._finish(recovery, began_ns)

    def _finish(self, recovery: Recovery, began_ns: int) -> Recovery:
        recovery.ended_ns = time.monotonic_ns()
        recovery.total_ms = (recovery.ended_ns - began_ns) / 1e6
        if recovery.false_alarm:
            self.view.detector.cleared()
        self.view.mark_progress()
        self.recoveries.append(recovery)
        # Now start the replacements (outside the ring; they rejoin once they run),
        # and rejoin those that booted meanwhile.
        recovery.restarted += self.supervisor.supervise()
        pos = recovery.leader_pos if recovery.leader_pos is not None else 0
        self.cluster.note(pos, RECOVERED if recovery.ok else RECOVERY_FAILED,
                          cause=recovery.cause, total_ms=recovery.total_ms,
                          detect_ms=recovery.detect_ms, epoch=recovery.epoch,
                          rounds=recovery.rounds, false_alarm=recovery.false_alarm)
        return recovery

    def _live(self) -> list[int]:
        return [p for p in self.cluster.active_positions()
                if self.cluster.nodes[p].running and not self.cluster.nodes[p].suspended]

    def _cannot_answer(self, pos: int) -> bool:
        return not self.cluster.nodes[pos].running or self.supervisor.paused_for_good(pos)

    def snapshot(self, patience: float = 1.0) -> SnapshotResult:
        """A Chandy–Lamport snapshot from a live node: how many tokens of which epoch.
        It waits ``patience`` times half a phase timeout for the parts."""
        live = self._live()
        active = self.cluster.active_positions()
        initiator = self.rng.choice(live) if live else active[0]
        self.snapshot_counter += 1
        sid = SnapshotId(initiator, self.snapshot_counter)
        key = (sid.initiator, sid.counter)
        started = time.monotonic_ns()
        exits_before = self.view.exits
        sent = self.cluster.send(initiator, StartSnapshot(sid))

        answered = 0  # active[:answered] have all sent their part: never rescanned

        def settled() -> bool:
            # A death dooms the snapshot. A node stopped for long will not answer, and
            # neither will its neighbours: their marker from its side never comes.
            nonlocal answered
            if not sent or self.view.exits != exits_before:
                return True
            parts = self.view.parts.get(key, {})
            while answered < len(active) and active[answered] in parts:
                answered += 1
            # Called after every batch of events: stop at the first node that can
            # still answer, so a large ring does not rescan all of itself each time.
            return all(self._cannot_answer(p) or self._cannot_answer(self.cluster.right_of(p))
                       or self._cannot_answer(self.cluster.left_of(p))
                       for p in itertools.islice(active, answered, None) if p not in parts)

        self.cluster.wait_until(settled, patience * self.view.phase_timeout_s() / 2)
        parts = self.view.parts.pop(key, {})
        missing = [p for p in active if p not in parts]
        node_epochs = [part["node_epoch"] for part in parts.values()]
        tokens = [epoch for part in parts.values() for epoch in part["tokens"]]
        epoch = max(node_epochs + tokens + [0])
        result = SnapshotResult(sid, complete=not missing,
                                tokens=sum(1 for e in tokens if e == epoch), epoch=epoch,
                                missing=missing,
                                duration_ms=(time.monotonic_ns() - started) / 1e6,
                                cut_short=bool(missing) and self.view.exits != exits_before)
        self.cluster.note(initiator, SNAPSHOT_RESULT, sid=list(key), tokens=result.tokens,
                          epoch=epoch, complete=result.complete, missing=missing)
        return result

    def _elect_and_regenerate(self, round_: int, recovery: Recovery) -> bool:
        self.round = round_
        recovery.rounds.append(round_)
        chosen = self._choose_candidates(self._live())
        ids = [self.cluster.nodes[p].node_id for p in chosen]
        recovery.candidate_ids = ids
        self.cluster.note(chosen[0], ELECTION_ROUND, round=round_, candidate_pos=chosen,
                          candidate_ids=ids)
        started = time.monotonic_ns()
        deaths_before = len(self.view.deaths)
        self._start_election(round_, chosen, started)
        won = self.cluster.wait_until(
            lambda: round_ in self.view.completed_rounds
            or len(self.view.deaths) > deaths_before, self.view.phase_timeout_s())
        won = won and round_ in self.view.completed_rounds
        elected_ns = time.monotonic_ns()
        recovery.election_ms += (elected_ns - started) / 1e6
        if not won:
            recovery.election_messages += self.view.messages_sent.get(round_, 0)
            self._abandon(round_, chosen[0], deaths_before, recovery)
            return False
        leader = self.view.leaders[round_]
        recovery.leader_pos, recovery.leader_id = leader["pos"], leader["id"]
        recovery.expected_leader_id = self.view.expected_leader(round_)
        recovery.epoch = round_
        self._raise_epoch(round_)
        deaths_before = len(self.view.deaths)
        self.cluster.wait_until(lambda: round_ in self.view.laps
                                or len(self.view.deaths) > deaths_before,
                                self.view.phase_timeout_s())
        lapped = round_ in self.view.laps
        recovery.regenerate_ms = (time.monotonic_ns() - elected_ns) / 1e6
        # Counted only now: when the leader's completion arrived, other nodes' reports
        # of their forwards could still be unread in their control pipes.
        recovery.election_messages += self.view.messages_sent.get(round_, 0)
        if not lapped:
            deaths = self.view.deaths_since(deaths_before)
            recovery.abandoned.append(f"round {round_}: " + (
                f"node {deaths[0]['pos']} died before the new token's lap" if deaths
                else "the new token did not come home in time"))
        return lapped

    def _abandon(self, round_: int, at: int, deaths_before: int, recovery: Recovery) -> None:
        """Say why the round ends unfinished: a death the OS reported, or a timeout."""
        deaths = self.view.deaths_since(deaths_before)
        if deaths:
            reason = f"node {deaths[0]['pos']} (pid {deaths[0]['pid']}) died mid-round"
        elif round_ not in self.view.leaders:
            reason = "no leader in time"
        else:
            reason = "announcement did not come home"
        recovery.abandoned.append(f"round {round_}: {reason}")
        self.cluster.note(at, ROUND_ABANDONED, round=round_, reason=reason,
                          died=[d["pos"] for d in deaths])

    def _start_election(self, round_: int, chosen: list[int], started_ns: int) -> None:
        # Arm every candidate first (a start far ahead), then fire them all for one
        # instant on the shared clock. An armed node starts the moment any message of
        # the round reaches it, so no candidate's ID can reach a chosen node before
        # that node's own start, however slowly the harness sends on two busy cores:
        # the chosen candidates all take part.
        start = StartElection(round_)
        for pos in chosen:
            self.cluster.send(pos, Scheduled(started_ns + ARMED_FOR_NS, start))
        at_ns = time.monotonic_ns() + START_LEAD_NS + START_LEAD_PER_NODE_NS * len(chosen)
        for pos in chosen:
            self.cluster.send(pos, Scheduled(at_ns, start))

    def _choose_candidates(self, live: list[int]) -> list[int]:
        if self.candidates is None:
            k = self.rng.randint(1, len(live))
        else:
            k = min(self.candidates, len(live))
        return sorted(self.rng.sample(live, k))

    # --- the watch loop ------------------------------------------------------------------

    def tick(self) -> None:
        """One turn of the watch loop: read events, supervise, recover on a death
        notice at once and on a silence past the detector's timeout."""
        remaining = self.view.suspicion_timeout_s() - self.view.silent_for_s()
        self.cluster.poll(min(POLL_S, max(0.0, remaining)))
        deaths = self.view.deaths_since(self._deaths_seen)
        if not deaths:
            self.supervisor.supervise()
        if deaths:
            self._deaths_seen = len(self.view.deaths)
            fault = self.view.fault_before(deaths[0])
            self.recover("death", began_ns=(fault or deaths[0])["t_ns"])
        elif self.view.silent_for_s() > self.view.suspicion_timeout_s():
            self.recover("silence")

    def run_until(self, done, timeout_s: float) -> bool:
        """Keep the ring alive until ``done()`` holds; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() >= deadline:
                return False
            self.tick()
        return True

    def run(self, duration_s: float) -> None:
        """Bootstrap, then keep one token circulating for ``duration_s`` seconds."""
        self.recover("bootstrap")
        end = time.monotonic() + duration_s
        self.run_until(lambda: time.monotonic() >= end, duration_s + 1)
