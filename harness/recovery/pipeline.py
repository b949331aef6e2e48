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

Alongside, a supervisor restarts nodes that died and rejoins bypassed nodes
that run again (SIGCONT): the old token they may hold is then stale, and the
fence drops it.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field

from emulator.protocol import SnapshotId, StartElection, StartSnapshot
from emulator.runtime.control import Scheduled

from ..cluster import Cluster
from ..history import History, Record

DETECTION_FLOOR_S = 0.15
DETECTION_LAPS = 4.0
# OTP-style restart intensity: more than MAX_RESTARTS deaths of one node within
# RESTART_WINDOW_S and the supervisor gives up on it: bypassed, reported, left dead.
START_LEAD_NS = 2_000_000
START_LEAD_PER_NODE_NS = 50_000
ARMED_FOR_NS = 3600 * 10**9  # "until fired": the fire (or the round's first message) wins
MAX_RESTARTS = 3
RESTART_WINDOW_S = 2.0


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


class Orchestrator:
    def __init__(self, cluster: Cluster, history: History, *, seed: int = 0,
                 candidates: int | None = None, max_attempts: int = 10,
                 max_restarts: int = MAX_RESTARTS,
                 restart_window_s: float = RESTART_WINDOW_S) -> None:
        self.cluster = cluster
        self.history = history
        self.rng = random.Random(seed)
        self.candidates = candidates  # None = a random non-empty subset each round
        self.max_attempts = max_attempts
        self.round = 0
        self.epoch = 0
        self.snapshot_counter = 0
        self.recoveries: list[Recovery] = []
        self.max_restarts = max_restarts
        self.restart_window_s = restart_window_s
        self._restart_times: dict[int, list[float]] = {}
        self.given_up: set[int] = set()
        self.tokens_at: dict[int, int] = {}  # pos -> tokens it holds now, per its events
        # What the listener learns from the history, for the waits below.
        self.last_progress_ns = time.monotonic_ns()
        self.hop_ns_estimate: float | None = None
        self._last_receipt_ns: int | None = None
        self._last_receipt_hop = 0
        self._parts: dict[tuple, dict[int, Record]] = {}
        self._leaders: dict[int, Record] = {}
        self._completed_rounds: set[int] = set()
        self._laps: dict[int, Record] = {}
        self._exits = 0
        self._candidates: dict[int, dict[int, int]] = {}  # round -> pos -> id
        self._messages_sent: dict[int, int] = {}  # round -> election messages
        history.subscribe(self._observe)

    # --- listening ----------------------------------------------------------------

    def _observe(self, r: Record) -> None:
        kind = r["kind"]
        if kind in ("token_received", "token_created", "token_injected", "token_returned"):
            self.tokens_at[r["pos"]] = self.tokens_at.get(r["pos"], 0) + 1
        elif kind in ("token_passed", "token_dropped", "token_fenced"):
            if self.tokens_at.get(r["pos"], 0) > 0:
                self.tokens_at[r["pos"]] -= 1
        elif kind == "node_exited":
            self.tokens_at[r["pos"]] = 0
        if kind == "token_received":
            if r["epoch"] >= self.epoch:
                now = r["t_ns"]
                hops = r["hop"] - self._last_receipt_hop
                if self._last_receipt_ns is not None and hops > 0:
                    # Per hop: a ring may report only every K-th receipt.
                    gap = (now - self._last_receipt_ns) / hops
                    self.hop_ns_estimate = (gap if self.hop_ns_estimate is None
                                            else 0.8 * self.hop_ns_estimate + 0.2 * gap)
                self._last_receipt_ns = now
                self._last_receipt_hop = r["hop"]
                self.last_progress_ns = now
                leader = self._leaders.get(r["epoch"])
                if leader is not None and r["pos"] == leader["pos"] and r["hop"] > 0:
                    self._laps.setdefault(r["epoch"], r)
        elif kind == "snapshot_part":
            self._parts.setdefault(tuple(r["sid"]), {})[r["pos"]] = r
        elif kind == "leader":
            self._leaders.setdefault(r["round"], r)
            if self.cluster.config.announce:  # the Elected message leaves the leader
                self._count_sent(r["round"])
        elif kind == "candidate":
            self._candidates.setdefault(r["round"], {})[r["pos"]] = r["id"]
            self._count_sent(r["round"], r.get("sent", 1))  # HS, Franklin: 2, both ways
        elif kind in ("candidate_forwarded", "elected", "election_sent"):
            self._count_sent(r["round"])
        elif kind == "election_complete":
            self._completed_rounds.add(r["round"])
        elif kind == "node_exited":
            self._exits += 1

    # --- timeouts -------------------------------------------------------------------

    def _lap_estimate_s(self) -> float:
        active = len(self.cluster.active_positions())
        hop_s = (self.hop_ns_estimate / 1e9 if self.hop_ns_estimate is not None
                 else self.cluster.config.hold_ns / 1e9 + 0.001)
        return active * hop_s

    def detection_timeout_s(self) -> float:
        return max(DETECTION_FLOOR_S, DETECTION_LAPS * self._lap_estimate_s())

    def _phase_timeout_s(self) -> float:
        # Generous: these machines are two noisy cores; a wrong abandon costs a round.
        return max(0.5, 3 * self.detection_timeout_s())

    # --- the pipeline ------------------------------------------------------------------

    def silent_for_s(self) -> float:
        return (time.monotonic_ns() - self.last_progress_ns) / 1e9

    def _count_sent(self, round_: int, count: int = 1) -> None:
        self._messages_sent[round_] = self._messages_sent.get(round_, 0) + count

    def holders(self) -> list[int]:
        """Positions that hold a token now, as far as their events say."""
        return [pos for pos, count in self.tokens_at.items() if count > 0]

    def recover(self, cause: str) -> Recovery:
        recovery = Recovery(cause)
        self._last_receipt_ns = None  # the silence is not a hop: keep it out of the estimate
        began_ns = self.last_progress_ns if cause == "silence" else time.monotonic_ns()
        detected_ns = time.monotonic_ns()
        recovery.detect_ms = (detected_ns - began_ns) / 1e6
        for _attempt in range(self.max_attempts):
            self.supervise(recovery)
            snapshot = self.snapshot()
            recovery.snapshots += 1
            recovery.snapshot_ms += snapshot.duration_ms
            if not snapshot.complete:
                self._repair(snapshot.missing, recovery)
                continue
            if recovery.snapshot_tokens is None:
                recovery.snapshot_tokens = snapshot.tokens
            self.epoch = max(self.epoch, snapshot.epoch)
            if snapshot.tokens == 1:
                recovery.ok = True  # a false alarm, or an earlier round already fixed it
                recovery.epoch = snapshot.epoch
                break
            if self._elect_and_regenerate(max(self.epoch, self.round) + 1, recovery):
                recovery.ok = True
                break
        recovery.ended_ns = time.monotonic_ns()
        recovery.total_ms = (recovery.ended_ns - began_ns) / 1e6
        self.last_progress_ns = time.monotonic_ns()
        self.recoveries.append(recovery)
        pos = recovery.leader_pos if recovery.leader_pos is not None else 0
        self.cluster.note(pos, "recovered" if recovery.ok else "recovery_failed",
                          cause=cause, total_ms=recovery.total_ms,
                          epoch=recovery.epoch, rounds=recovery.rounds)
        return recovery

    def snapshot(self) -> SnapshotResult:
        live = [p for p in self.cluster.active_positions()
                if self.cluster.nodes[p].running and not self.cluster.nodes[p].suspended]
        active = self.cluster.active_positions()
        initiator = self.rng.choice(live) if live else active[0]
        self.snapshot_counter += 1
        sid = SnapshotId(initiator, self.snapshot_counter)
        key = (sid.initiator, sid.counter)
        started = time.monotonic_ns()
        exits_before = self._exits
        sent = self.cluster.send(initiator, StartSnapshot(sid))
        # A death during the snapshot dooms it: stop waiting for the timeout then.
        self.cluster.wait_until(lambda: (not sent or self._exits != exits_before
                            or all(p in self._parts.get(key, {}) for p in active)),
                   self._phase_timeout_s() / 2)
        parts = self._parts.pop(key, {})
        missing = [p for p in active if p not in parts]
        node_epochs = [part["node_epoch"] for part in parts.values()]
        tokens = [epoch for part in parts.values() for epoch in part["tokens"]]
        epoch = max(node_epochs + tokens + [0])
        result = SnapshotResult(sid, complete=not missing,
                                tokens=sum(1 for e in tokens if e == epoch), epoch=epoch,
                                missing=missing,
                                duration_ms=(time.monotonic_ns() - started) / 1e6)
        self.cluster.note(initiator, "snapshot_result", sid=list(key), tokens=result.tokens,
                          epoch=epoch, complete=result.complete, missing=missing)
        return result

    def _repair(self, missing: list[int], recovery: Recovery) -> None:
        """Make the unresponsive nodes answer next time: restart the dead, bypass the stopped."""
        for pos in missing:
            status = self.cluster.status(pos)
            if status == "stopped" and len(self.cluster.active_positions()) > 2:
                self.cluster.bypass(pos)
                recovery.bypassed.append(pos)
            elif status in ("dead", "zombie") or pos in recovery.restarted:
                if pos in self.given_up or not self._may_restart(pos):
                    continue
                self.cluster.restart(pos)
                recovery.restarted.append(pos)
            else:
                recovery.restarted.append(pos)  # running but mute: restart it if it recurs

    def _elect_and_regenerate(self, round_: int, recovery: Recovery) -> bool:
        self.round = round_
        recovery.rounds.append(round_)
        live = [p for p in self.cluster.active_positions()
                if self.cluster.nodes[p].running and not self.cluster.nodes[p].suspended]
        chosen = self._choose_candidates(live)
        ids = [self.cluster.nodes[p].node_id for p in chosen]
        recovery.candidate_ids = ids
        self.cluster.note(chosen[0], "election_round", round=round_, candidate_pos=chosen,
                          candidate_ids=ids)
        started = time.monotonic_ns()
        # Arm every candidate first (a start far ahead), then fire them all for one
        # instant on the shared clock. An armed node starts the moment any message of
        # the round reaches it, so no candidate's ID can reach a chosen node before
        # that node's own start, however slowly the harness sends on two busy cores:
        # the chosen candidates all take part.
        start = StartElection(round_)
        for pos in chosen:
            self.cluster.send(pos, Scheduled(started + ARMED_FOR_NS, start))
        at_ns = time.monotonic_ns() + START_LEAD_NS + START_LEAD_PER_NODE_NS * len(chosen)
        for pos in chosen:
            self.cluster.send(pos, Scheduled(at_ns, start))
        won = self.cluster.wait_until(lambda: round_ in self._completed_rounds,
                                      self._phase_timeout_s())
        elected_ns = time.monotonic_ns()
        recovery.election_ms += (elected_ns - started) / 1e6
        if not won:
            recovery.election_messages += self._election_messages(round_)
            self.cluster.note(chosen[0], "round_abandoned", round=round_,
                              reason="no leader in time" if round_ not in self._leaders
                              else "announcement did not come home")
            return False
        leader = self._leaders[round_]
        recovery.leader_pos, recovery.leader_id = leader["pos"], leader["id"]
        recovery.expected_leader_id = self._expected_leader(round_)
        recovery.epoch = round_
        self.epoch = max(self.epoch, round_)
        lapped = self.cluster.wait_until(lambda: round_ in self._laps,
                                         self._phase_timeout_s())
        recovery.regenerate_ms = (time.monotonic_ns() - elected_ns) / 1e6
        # Counted only now: when the leader's completion arrived, other nodes' reports
        # of their forwards could still be unread in their control pipes.
        recovery.election_messages += self._election_messages(round_)
        return lapped

    def _choose_candidates(self, live: list[int]) -> list[int]:
        if self.candidates is None:
            k = self.rng.randint(1, len(live))
        else:
            k = min(self.candidates, len(live))
        return sorted(self.rng.sample(live, k))

    def _expected_leader(self, round_: int) -> int | None:
        """The largest ID among the round's candidates still alive (invariant 2)."""
        alive = [node_id for pos, node_id in self._candidates.get(round_, {}).items()
                 if self.cluster.nodes[pos].running]
        return max(alive) if alive else None

    def _election_messages(self, round_: int) -> int:
        """Candidate and Elected messages sent in this round, from the nodes' events."""
        return self._messages_sent.get(round_, 0)

    # --- supervision and the main loop -----------------------------------------------

    def supervise(self, recovery: Recovery | None = None) -> None:
        """Restart the dead (within the restart intensity); rejoin bypassed nodes
        that run again."""
        for node in self.cluster.nodes:
            if node.pos in self.given_up:
                continue
            if not node.running and not node.bypassed:
                if not self._may_restart(node.pos):
                    continue
                self.cluster.restart(node.pos)
                if recovery is not None:
                    recovery.restarted.append(node.pos)
            elif node.bypassed and node.running and not node.suspended \
                    and self.cluster.status(node.pos) == "running":
                self.cluster.rejoin(node.pos)

    def _may_restart(self, pos: int) -> bool:
        now = time.monotonic()
        recent = [t for t in self._restart_times.get(pos, []) if now - t < self.restart_window_s]
        if len(recent) >= self.max_restarts and len(self.cluster.active_positions()) > 2:
            self.given_up.add(pos)
            self.cluster.note(pos, "supervisor_gave_up", restarts=len(recent),
                              window_s=self.restart_window_s)
            self.cluster.bypass(pos)
            return False
        self._restart_times[pos] = recent + [now]
        return True

    def tick(self) -> None:
        """One turn of the watch loop: read events, supervise, recover on silence."""
        self.cluster.poll(0.05)
        self.supervise()
        if self.silent_for_s() > self.detection_timeout_s():
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
