"""Ring leader election: Chang–Roberts with rounds and an announcement.

Theory of operation
-------------------
Chang & Roberts (1979), "An improved algorithm for decentralized
extrema-finding in circular configurations of processes", as told in
H. Yaginuma, "Let's study distributed systems — 4. Leader election" (2019).

Statuses: waiting, candidate, not_leader, leader. ``StartElection(round)``
reaches arbitrary nodes; a waiting node becomes candidate and sends
``Candidate(round, own_id)`` right. A candidate ID travels right until a node
with a larger ID that is itself a candidate (or leader) swallows it. Only the
largest candidate ID comes home: its owner becomes leader, regenerates the token
with ``epoch = round`` and, unless the bare mode is chosen, sends
``Elected(round, leader_id)`` round the ring; when that comes home the round is
complete.

Rounds make the algorithm survive failure: a round that does not complete in
time is abandoned and the harness starts ``round + 1``. A message of an older
round is dropped; one of a newer round resets the node to waiting for it. A node
that receives its own ID while it is not a candidate (it restarted since it
sent it) drops it, or the message would circulate forever. For the same reason
a node forwards each (round, ID) and each round's announcement at most once: on
a healthy ring every message passes a node at most once, and a repeat means its
sender left the ring (bypassed while paused), so nobody else would stop it.

Cost of a round with all n nodes candidates: n(n+1)/2 candidate messages when
IDs descend in the direction of travel, 2n-1 when they ascend, n·H_n on
average; plus n for the announcement. On FIFO links a smaller ID always reaches
the winner before the winner's own ID comes home, so the leader has swallowed
every other surviving candidate by the time it wins.
"""
from __future__ import annotations

from enum import Enum

from emulator.records import (
    CANDIDATE, CANDIDATE_DROPPED, CANDIDATE_FORWARDED, CANDIDATE_STALE,
    CANDIDATE_SWALLOWED, ELECTED, ELECTED_DROPPED, ELECTED_STALE, ELECTION_COMPLETE,
    ELECTION_STALE, LEADER, LEADER_CONFLICT,
)

from .messages import Candidate, Elected, Output, ProtocolViolation, Report, Send, Side


class Status(str, Enum):
    WAITING = "waiting"
    CANDIDATE = "candidate"
    NOT_LEADER = "not_leader"
    LEADER = "leader"


class Elector:
    """One node's share of the election."""

    drop_repeats = True  # the model checker turns it off to put the old bug back

    def __init__(self, node_id: int, announce: bool = True) -> None:
        self.node_id = node_id
        self.announce = announce
        self.round = 0
        self.status = Status.WAITING
        self.leader_id: int | None = None
        self.forwarded: set[int] = set()  # candidate IDs forwarded in this round
        self.announced = False            # this round's Elected forwarded already

    # --- inputs ------------------------------------------------------------

    def on_start(self, round_: int) -> list[Output]:
        if round_ < self.round:
            return [Report(ELECTION_STALE, {"round": round_, "node_round": self.round})]
        self._enter_round(round_)
        if self.status is not Status.WAITING:
            return []  # a larger ID already passed through: stay out of it
        self.become_candidate()
        return [Report(CANDIDATE, {"round": round_}),
                Send(Side.RIGHT, Candidate(round_, self.node_id))]

    def on_candidate(self, message: Candidate) -> list[Output]:
        if message.round < self.round:
            return [Report(CANDIDATE_STALE, {"round": message.round,
                                               "candidate_id": message.node_id,
                                               "node_round": self.round})]
        self._enter_round(message.round)
        # "candidate_id", not "id": a record's "id" is the reporting node's own.
        fields = {"round": message.round, "candidate_id": message.node_id}
        if message.node_id == self.node_id:
            if self.status is Status.CANDIDATE:
                return self._win()
            # Our own ID from before a restart (or a duplicate ID): stop it here.
            return [Report(CANDIDATE_DROPPED, {**fields, "reason": "own_id"})]
        if self.status is Status.LEADER or (
                self.status is Status.CANDIDATE and message.node_id < self.node_id):
            # A leader swallows every other ID of its round, even a larger one: that
            # can only come from a node restarted and re-started mid-round, and letting
            # it through would make a second leader of the same round.
            return [Report(CANDIDATE_SWALLOWED, fields)]
        if self.drop_repeats and message.node_id in self.forwarded:
            return [Report(CANDIDATE_DROPPED, {**fields, "reason": "repeat"})]
        self.become_not_leader()
        self.forwarded.add(message.node_id)
        # Reported before it is sent, like token_passed: a send never appears to
        # happen after the next node's receipt.
        return [Report(CANDIDATE_FORWARDED, fields), Send(Side.RIGHT, message)]

    def on_elected(self, message: Elected) -> list[Output]:
        if message.round < self.round:
            return [Report(ELECTED_STALE, {"round": message.round, "node_round": self.round})]
        self._enter_round(message.round)
        fields = {"round": message.round, "leader_id": message.leader_id}
        outputs: list[Output] = []
        if message.leader_id == self.node_id:
            if self.status is Status.LEADER:
                return [Report(ELECTION_COMPLETE, fields)]
            return [Report(ELECTED_DROPPED, {**fields, "reason": "own_id"})]
        if self.drop_repeats and self.announced:
            return [Report(ELECTED_DROPPED, {**fields, "reason": "repeat"})]
        if self.status is Status.LEADER:
            # Two leaders in one round: only possible with duplicate IDs.
            outputs.append(Report(LEADER_CONFLICT, fields))
        self.become_not_leader()
        self.leader_id = message.leader_id
        self.announced = True
        return outputs + [Report(ELECTED, fields), Send(Side.RIGHT, message)]

    # --- transitions -------------------------------------------------------

    def _enter_round(self, round_: int) -> None:
        """A newer round resets this node to waiting; callers dropped older ones."""
        if round_ > self.round:
            self.round = round_
            self.status = Status.WAITING
            self.leader_id = None
            self.forwarded = set()
            self.announced = False

    def become_candidate(self) -> None:
        if self.status is not Status.WAITING:
            raise ProtocolViolation(f"become_candidate from {self.status.value}")
        self.status = Status.CANDIDATE

    def become_not_leader(self) -> None:
        self.status = Status.NOT_LEADER

    def become_leader(self) -> None:
        if self.status is not Status.CANDIDATE:
            raise ProtocolViolation(f"become_leader from {self.status.value}")
        self.status = Status.LEADER
        self.leader_id = self.node_id

    def _win(self) -> list[Output]:
        self.become_leader()
        fields = {"round": self.round, "leader_id": self.node_id}
        outputs: list[Output] = [Report(LEADER, {"round": self.round})]
        if self.announce:
            outputs.append(Send(Side.RIGHT, Elected(self.round, self.node_id)))
        else:
            outputs.append(Report(ELECTION_COMPLETE, fields))
        return outputs
