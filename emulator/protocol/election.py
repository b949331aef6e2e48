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

from emulator.records import (
    CANDIDATE_DROPPED, CANDIDATE_FORWARDED, CANDIDATE_STALE, CANDIDATE_SWALLOWED,
)

from .elections.base import ElectionProtocol, Status
from .messages import Candidate, ElectionMessage, Output, Report, Send, Side

__all__ = ["Elector", "Status"]


class Elector(ElectionProtocol):
    """One node's share of the election (Chang–Roberts: rightwards, compare and swallow)."""

    name = "cr"
    messages = (Candidate,)
    # Chang–Roberts decides by status alone: was_candidate follows from it.
    state_attributes = ()

    def restore(self, state: tuple) -> None:
        self.was_candidate = self.status in (Status.CANDIDATE, Status.LEADER)

    def start(self) -> list[Output]:
        return [Send(Side.RIGHT, Candidate(self.round, self.node_id))]

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        return self.on_candidate(message)

    def on_message(self, side: Side, message: ElectionMessage) -> list[Output]:
        if isinstance(message, Candidate):
            return self.on_candidate(message)  # its own stale check, its own record kinds
        return super().on_message(side, message)

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

    def _win(self) -> list[Output]:
        return self.win()
