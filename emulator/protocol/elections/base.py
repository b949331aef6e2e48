"""What every ring election algorithm shares: rounds, the announcement, restarts,
duplicate suppression.

Theory of operation
-------------------
An algorithm decides *who* wins a round; everything around that is common and
lives here, so that every algorithm survives the same faults the same way:

* **Rounds.** Every message carries its round, which is an epoch: the node
  composition (``node.py``) fences older tokens with it. A message of an older
  round is dropped (``election_stale``); one of a newer round resets the node to
  ``waiting`` for that round (``_enter_round``), with the algorithm's own
  per-round state (``reset_round``).
* **Who takes part.** ``StartElection(round)`` reaches arbitrary nodes (the
  article's "arbitrary processes"). A waiting node becomes a candidate; a node
  that already relayed a message of the round stays out (it is ``not_leader``).
  Non-candidates only relay: they never compare, so the winner is the largest
  ID among the candidates, not among all nodes.
* **Restarts.** A restarted node is a new ``waiting`` incarnation: it was not a
  candidate of the round (``was_candidate`` is False), so its old ID coming home
  is dropped (``own_id``), never mistaken for a win.
* **Duplicate suppression.** On a healthy ring an election message passes a
  node at most once; a repeat means its sender left the ring (bypassed while
  paused) and nothing else would stop it. So each node forwards each message
  *key* (the algorithm says what identifies a message) at most once per round,
  and the announcement at most once per round.
* **Announcement.** The winner regenerates the token (``node.py``) and, unless
  the article's bare mode is chosen, sends ``Elected(round, leader_id)`` right
  round the ring; back at the leader the round is complete.

To add an algorithm: subclass ``ElectionProtocol`` in one module of this package
(``start`` and ``receive``; ``reset_round`` and ``state`` if it keeps per-round
state), then register it in ``emulator/protocol/algorithms.py``.
"""
from __future__ import annotations

from enum import Enum
from typing import ClassVar, Hashable

from emulator.records import (
    CANDIDATE, ELECTED, ELECTED_DROPPED, ELECTED_STALE, ELECTION_COMPLETE, ELECTION_DROPPED,
    ELECTION_SENT, ELECTION_STALE, ELECTION_SWALLOWED, LEADER, LEADER_CONFLICT,
)

from ..messages import Elected, ElectionMessage, Output, ProtocolViolation, Report, Send, Side


class Status(str, Enum):
    WAITING = "waiting"
    CANDIDATE = "candidate"      # active: still competing
    NOT_LEADER = "not_leader"    # relay: never was a candidate, or lost
    LEADER = "leader"


class ElectionProtocol:
    """One node's share of a ring election; subclasses decide who wins."""

    name: ClassVar[str] = ""
    # Message types the algorithm sends besides the common ``Elected``.
    messages: ClassVar[tuple[type, ...]] = ()
    # Whether it ever sends LEFT (the explorer and the docs want to know).
    bidirectional: ClassVar[bool] = False
    drop_repeats: ClassVar[bool] = True  # the model checker may turn it off
    # Per-round attributes beyond the common ones, each hashable: the model checker
    # keeps a node's election as these values (``state``/``restore``).
    state_attributes: ClassVar[tuple[str, ...]] = ("was_candidate",)

    def __init__(self, node_id: int, announce: bool = True) -> None:
        self.node_id = node_id
        self.announce = announce
        self.round = 0
        self.status = Status.WAITING
        self.leader_id: int | None = None
        self.forwarded: set = set()      # keys of messages forwarded in this round
        self.announced = False           # this round's Elected forwarded already
        self.was_candidate = False       # this incarnation started in this round
        self.reset_round()

    # --- what an algorithm provides ------------------------------------------

    def reset_round(self) -> None:
        """Forget the algorithm's own state of the previous round (``state_attributes``)."""

    def start(self) -> list[Output]:
        """This node has just become a candidate of ``self.round``: its first sends,
        as bare ``Send`` outputs (the ``candidate`` report counts them)."""
        raise NotImplementedError

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        """A message of the current round (older ones never get here)."""
        raise NotImplementedError

    def state(self) -> tuple:
        """``state_attributes``' values, a hashable tuple (the model checker's)."""
        return tuple(getattr(self, name) for name in self.state_attributes)

    def restore(self, state: tuple) -> None:
        """Inverse of ``state``."""
        for name, value in zip(self.state_attributes, state, strict=True):
            setattr(self, name, value)

    # --- inputs ------------------------------------------------------------

    def on_start(self, round_: int) -> list[Output]:
        if round_ < self.round:
            return [Report(ELECTION_STALE, {"round": round_, "node_round": self.round})]
        self._enter_round(round_)
        if self.status is not Status.WAITING:
            return []  # a message of this round already passed through: stay out
        self.become_candidate()
        sends = self.start()
        # The start's own sends are counted here, not reported one by one; "sent" is
        # left out when it is one (Chang–Roberts' report, unchanged).
        count = sum(isinstance(output, Send) for output in sends)
        fields = {"round": round_} if count == 1 else {"round": round_, "sent": count}
        return [Report(CANDIDATE, fields)] + sends

    def on_message(self, side: Side, message: ElectionMessage) -> list[Output]:
        if isinstance(message, Elected):
            return self.on_elected(message)
        if message.round < self.round:
            return [Report(ELECTION_STALE, {"round": message.round,
                                              "node_round": self.round,
                                              "message": type(message).__name__})]
        self._enter_round(message.round)
        return self.receive(side, message)

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

    # --- helpers for algorithms -------------------------------------------------

    def send(self, side: Side, message: ElectionMessage, **fields) -> list[Output]:
        """One election message, reported before it leaves (like token_passed: a
        send never appears to happen after the next node's receipt)."""
        return [Report(ELECTION_SENT, {"round": message.round,
                                         "message": type(message).__name__,
                                         "side": side.value, **fields}),
                Send(side, message)]

    def relay(self, side: Side, message: ElectionMessage, key: Hashable,
              **fields) -> list[Output]:
        """Forward ``message`` out of ``side`` unless this round already forwarded
        ``key`` (duplicate suppression)."""
        if self.drop_repeats and key in self.forwarded:
            return [self.dropped(message, "repeat", **fields)]
        self.forwarded.add(key)
        return self.send(side, message, **fields)

    def witness(self, largest: int) -> int:
        """``largest`` as it leaves this node: raised to this node's ID if it was a
        candidate of the round. A message that made a full lap with ``largest`` above
        its owner's ID passed a larger candidate, alive on the ring -- one that lost
        to a node since killed, say -- so its owner must not win (HS, Franklin,
        LeLann; Peterson's Victory lap does the same)."""
        return max(largest, self.node_id) if self.was_candidate else largest

    def dropped(self, message: ElectionMessage, reason: str, **fields) -> Report:
        return Report(ELECTION_DROPPED, {"round": message.round,
                                           "message": type(message).__name__,
                                           "reason": reason, **fields})

    def swallowed(self, message: ElectionMessage, **fields) -> Report:
        return Report(ELECTION_SWALLOWED, {"round": message.round,
                                             "message": type(message).__name__, **fields})

    def own_id_home(self, message: ElectionMessage, **fields) -> list[Output]:
        """This node's own ID came back to it: a win only for a candidate of this
        round; a leader swallows the second copy; anyone else (a restarted node,
        a loser) stops it here, or it would circulate forever."""
        if self.status is Status.CANDIDATE:
            return self.win()
        if self.status is Status.LEADER:
            return [self.swallowed(message, **fields)]
        return [self.dropped(message, "own_id", **fields)]

    # --- transitions -------------------------------------------------------

    def _enter_round(self, round_: int) -> None:
        """A newer round resets this node to waiting; callers dropped older ones."""
        if round_ > self.round:
            self.round = round_
            self.status = Status.WAITING
            self.leader_id = None
            self.forwarded = set()
            self.announced = False
            self.was_candidate = False
            self.reset_round()

    def become_candidate(self) -> None:
        if self.status is not Status.WAITING:
            raise ProtocolViolation(f"become_candidate from {self.status.value}")
        self.status = Status.CANDIDATE
        self.was_candidate = True

    def become_not_leader(self) -> None:
        self.status = Status.NOT_LEADER

    def become_leader(self) -> None:
        if not self.was_candidate or self.status is Status.LEADER:
            raise ProtocolViolation(f"become_leader from {self.status.value}"
                                    + ("" if self.was_candidate else " (not a candidate)"))
        self.status = Status.LEADER
        self.leader_id = self.node_id

    def win(self) -> list[Output]:
        self.become_leader()
        fields = {"round": self.round, "leader_id": self.node_id}
        outputs: list[Output] = [Report(LEADER, {"round": self.round})]
        if self.announce:
            outputs.append(Send(Side.RIGHT, Elected(self.round, self.node_id)))
        else:
            outputs.append(Report(ELECTION_COMPLETE, fields))
        return outputs
