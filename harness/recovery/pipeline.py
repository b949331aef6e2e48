"""The recovery pipeline: notice silence, count tokens, elect, regenerate.

Theory of operation
-------------------
The harness watches the token move (``token_received`` events). Silence longer
than the detection timeout (a multiple of the observed lap time, with a floor,
so a slow hold does not look like a loss) starts a Chandy–Lamport snapshot at a
live node. If the snapshot cannot complete, the nodes whose parts did not come
are dead (restart them) or stopped (bypass them), and the snapshot is retried.
A complete snapshot counts the tokens of the highest epoch any node has seen:
one means the alarm was false; zero (lost) or two and more (duplicated) start
an election round at the chosen candidates (a random subset by default: the
article's "arbitrary processes"). Its leader regenerates the token with
``epoch = round``; recovery ends when that token has made a lap back to the
leader. A round that does not finish in time is abandoned and the pipeline
starts over from the snapshot, which finds whatever killed it.

A new ring has no token, so bootstrap is just the first recovery.

The pipeline decides; it learns what happened from the ring view (view.py)
and has the supervisor (supervisor.py) restart, bypass and rejoin nodes.
"""
from __future__ import annotations

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


@dataclass
class SnapshotResult:
    sid: SnapshotId
    complete: bool
    tokens: int            # tokens of the highest epoch in the cut
    epoch: int             # the highest epoch any part had seen
    missing: list[int]     # positions whose part never came
    duration_ms: float


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
    snapshots: int = 0
    epoch: int | None = None
    detect_ms: float = 0.0
    snapshot_ms: float = 0.0
    election_ms: float = 0.0
    regenerate_ms: float = 0.0
    total_ms: float = 0.0
    ok: bool = False
    ended_ns: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


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

    @property
    def epoch(self) -> int:
        return self.view.epoch

    def _raise_epoch(self, epoch: int) -> None:
        self.view.epoch = max(self.view.epoch, epoch)

    # --- the pipeline ------------------------------------------------------------------

    def recover(self, cause: str) -> Recovery:
        recovery = Recovery(cause)
        self.view.forget_last_receipt()
        began_ns = self.view.last_progress_ns if cause == "silence" else time.monotonic_ns()
        recovery.detect_ms = (time.monotonic_ns() - began_ns) / 1e6
        for _attempt in range(self.max_attempts):
            recovery.restarted += self.supervisor.supervise()
            snapshot = self.snapshot()
            recovery.snapshots += 1
            recovery.snapshot_ms += snapshot.duration_ms
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
        self.view.mark_progress()
        self.recoveries.append(recovery)
        pos = recovery.leader_pos if recovery.leader_pos is not None else 0
        self.cluster.note(pos, RECOVERED if recovery.ok else RECOVERY_FAILED,
                          cause=recovery.cause, total_ms=recovery.total_ms,
                          epoch=recovery.epoch, rounds=recovery.rounds)
        return recovery

    def _live(self) -> list[int]:
        return [p for p in self.cluster.active_positions()
                if self.cluster.nodes[p].running and not self.cluster.nodes[p].suspended]

    def snapshot(self) -> SnapshotResult:
        """A Chandy–Lamport snapshot from a live node: how many tokens of which epoch."""
        live = self._live()
        active = self.cluster.active_positions()
        initiator = self.rng.choice(live) if live else active[0]
        self.snapshot_counter += 1
        sid = SnapshotId(initiator, self.snapshot_counter)
        key = (sid.initiator, sid.counter)
        started = time.monotonic_ns()
        exits_before = self.view.exits
        sent = self.cluster.send(initiator, StartSnapshot(sid))
        # A death during the snapshot dooms it: stop waiting for the timeout then.
        self.cluster.wait_until(lambda: (not sent or self.view.exits != exits_before
                                         or all(p in self.view.parts.get(key, {})
                                                for p in active)),
                                self.view.phase_timeout_s() / 2)
        parts = self.view.parts.pop(key, {})
        missing = [p for p in active if p not in parts]
        node_epochs = [part["node_epoch"] for part in parts.values()]
        tokens = [epoch for part in parts.values() for epoch in part["tokens"]]
        epoch = max(node_epochs + tokens + [0])
        result = SnapshotResult(sid, complete=not missing,
                                tokens=sum(1 for e in tokens if e == epoch), epoch=epoch,
                                missing=missing,
                                duration_ms=(time.monotonic_ns() - started) / 1e6)
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
        self._start_election(round_, chosen, started)
        won = self.cluster.wait_until(lambda: round_ in self.view.completed_rounds,
                                      self.view.phase_timeout_s())
        elected_ns = time.monotonic_ns()
        recovery.election_ms += (elected_ns - started) / 1e6
        if not won:
            recovery.election_messages += self.view.messages_sent.get(round_, 0)
            self.cluster.note(chosen[0], ROUND_ABANDONED, round=round_,
                              reason="no leader in time" if round_ not in self.view.leaders
                              else "announcement did not come home")
            return False
        leader = self.view.leaders[round_]
        recovery.leader_pos, recovery.leader_id = leader["pos"], leader["id"]
        recovery.expected_leader_id = self.view.expected_leader(round_)
        recovery.epoch = round_
        self._raise_epoch(round_)
        lapped = self.cluster.wait_until(lambda: round_ in self.view.laps,
                                         self.view.phase_timeout_s())
        recovery.regenerate_ms = (time.monotonic_ns() - elected_ns) / 1e6
        # Counted only now: when the leader's completion arrived, other nodes' reports
        # of their forwards could still be unread in their control pipes.
        recovery.election_messages += self.view.messages_sent.get(round_, 0)
        return lapped

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
        """One turn of the watch loop: read events, supervise, recover on silence."""
        self.cluster.poll(POLL_S)
        self.supervisor.supervise()
        if self.view.silent_for_s() > self.view.detection_timeout_s():
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
