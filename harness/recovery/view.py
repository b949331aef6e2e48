"""The ring as the harness knows it: state derived from the recorded events only.

The view listens to the history and keeps what the supervisor and the pipeline
ask about: who holds a token (``emulator.records.Holdings``, the one definition
the checker and the diagram share), when the token last made progress and how
long a hop takes (feeding the silence detector), the deaths the OS reported,
the snapshot parts that came in, each round's candidates, leader, completion
and election messages, and the new token's first lap. It decides nothing and
sends nothing; it only remembers.
"""
from __future__ import annotations

import time
from collections import defaultdict

from emulator.records import (
    CANDIDATE, CANDIDATE_FORWARDED, ELECTED, ELECTION_COMPLETE, ELECTION_SENT, FAULT, LEADER,
    NODE_EXITED, RING_STOPPING, SNAPSHOT_PART, TOKEN_RECEIVED, Holdings, Record,
)

from ..cluster import Cluster
from ..history import History
from .detector import SilenceDetector

# The backstop for a phase (a snapshot's parts, an election round) that nothing
# observable explains: generous, because these machines are two noisy cores and
# a wrong abandon costs a round. Phases whose cause is known end at once instead.
PHASE_TIMEOUT_FLOOR_S = 0.5
PHASE_TIMEOUT_DETECTIONS = 3.0
PHASE_TIMEOUT_LAPS = 12.0  # a snapshot or a round on a big ring takes laps of hops


class RingView:
    def __init__(self, cluster: Cluster, history: History,
                 detector: SilenceDetector | None = None) -> None:
        self.cluster = cluster
        self.detector = detector or SilenceDetector()
        self.epoch = 0               # the newest epoch the harness knows of
        self.deaths: list[Record] = []  # node_exited before the orderly stop, in order
        self.stopping = False
        self._last_fault_by_pid: dict[int, Record] = {}
        self.holdings = Holdings()
        self.last_progress_ns = time.monotonic_ns()
        self.hop_ns_estimate: float | None = None
        self._last_receipt_ns: int | None = None
        self._last_receipt_hop = 0
        self.parts: dict[tuple, dict[int, Record]] = {}      # snapshot id -> pos -> part
        self.leaders: dict[int, Record] = {}                 # round -> its leader event
        self.completed_rounds: set[int] = set()
        self.laps: dict[int, Record] = {}                    # epoch -> its first lap home
        self.exits = 0
        self.candidates: dict[int, dict[int, int]] = defaultdict(dict)  # round -> pos -> id
        self.messages_sent: dict[int, int] = defaultdict(int)           # round -> messages
        history.subscribe(self.observe)

    def observe(self, r: Record) -> None:
        self.holdings.observe(r)
        kind = r["kind"]
        if kind == TOKEN_RECEIVED:
            self._on_receipt(r)
        elif kind == SNAPSHOT_PART:
            self.parts.setdefault(tuple(r["sid"]), {})[r["pos"]] = r
        elif kind == LEADER:
            self.leaders.setdefault(r["round"], r)
            if self.cluster.config.announce:  # the Elected message leaves the leader
                self.messages_sent[r["round"]] += 1
        elif kind == CANDIDATE:
            self.candidates[r["round"]][r["pos"]] = r["id"]
            self.messages_sent[r["round"]] += r.get("sent", 1)  # HS, Franklin: 2, both ways
        elif kind in (CANDIDATE_FORWARDED, ELECTED, ELECTION_SENT):
            self.messages_sent[r["round"]] += 1
        elif kind == ELECTION_COMPLETE:
            self.completed_rounds.add(r["round"])
        elif kind == NODE_EXITED:
            self.exits += 1
            if not self.stopping:
                self.deaths.append(r)
        elif kind == FAULT:
            self._last_fault_by_pid[r["pid"]] = r
        elif kind == RING_STOPPING:
            self.stopping = True

    def _on_receipt(self, r: Record) -> None:
        if r["epoch"] < self.epoch:
            return  # a stale token moving is no progress
        now = r["t_ns"]
        if self._last_receipt_ns is not None and now <= self._last_receipt_ns:
            return  # read out of time order (the harness drains nodes one by one)
        hops = r["hop"] - self._last_receipt_hop
        if self._last_receipt_ns is not None and hops > 0:
            gap = now - self._last_receipt_ns
            self.detector.observe(gap / 1e9)
            # Per hop: a ring may report only every K-th receipt.
            self.hop_ns_estimate = (gap / hops if self.hop_ns_estimate is None
                                    else 0.8 * self.hop_ns_estimate + 0.2 * gap / hops)
        self._last_receipt_ns = now
        self._last_receipt_hop = r["hop"]
        self.last_progress_ns = now
        self.detector.progressed()
        leader = self.leaders.get(r["epoch"])
        if leader is not None and r["pos"] == leader["pos"] and r["hop"] > 0:
            self.laps.setdefault(r["epoch"], r)

    # --- questions ------------------------------------------------------------------

    def holders(self) -> list[int]:
        """Positions that hold a token now, as far as their events say."""
        return list(dict.fromkeys(h.pos for h in self.holdings.open()))

    def holds(self, pos: int) -> bool:
        return bool(self.holdings.held_by(pos))

    def forget_last_receipt(self) -> None:
        """A silence is not a hop: keep it out of the hop estimate."""
        self._last_receipt_ns = None

    def mark_progress(self) -> None:
        self.last_progress_ns = time.monotonic_ns()

    def silent_for_s(self) -> float:
        return (time.monotonic_ns() - self.last_progress_ns) / 1e9

    def lap_estimate_s(self) -> float:
        active = len(self.cluster.active_positions())
        hop_s = (self.hop_ns_estimate / 1e9 if self.hop_ns_estimate is not None
                 else self.cluster.config.hold_ns / 1e9 + 0.001)
        return active * hop_s

    def detection_timeout_s(self) -> float:
        return self.detector.timeout_s()

    def suspicion_timeout_s(self) -> float:
        """The silence that starts a snapshot (backed off after false alarms)."""
        return self.detector.suspicion_timeout_s()

    def phase_timeout_s(self) -> float:
        return max(PHASE_TIMEOUT_FLOOR_S,
                   PHASE_TIMEOUT_DETECTIONS * self.detection_timeout_s(),
                   PHASE_TIMEOUT_LAPS * self.lap_estimate_s())

    def deaths_since(self, count: int, positions=None) -> list[Record]:
        """Deaths after the first ``count``, optionally only of these positions."""
        return [r for r in self.deaths[count:] if positions is None or r["pos"] in positions]

    def fault_before(self, death: Record) -> Record | None:
        """The harness's fault aimed at the process that died, if it caused the death."""
        return self._last_fault_by_pid.get(death["pid"])

    def stopped_for_s(self, pos: int) -> float | None:
        """How long the harness has known node ``pos`` to be stopped, or None."""
        node = self.cluster.nodes[pos]
        if not node.suspended or node.stopped_ns is None:
            return None
        return (time.monotonic_ns() - node.stopped_ns) / 1e9

    def expected_leader(self, round_: int) -> int | None:
        """The largest ID among the round's candidates still alive (invariant 2)."""
        alive = [node_id for pos, node_id in self.candidates.get(round_, {}).items()
                 if self.cluster.nodes[pos].running]
        return max(alive) if alive else None
