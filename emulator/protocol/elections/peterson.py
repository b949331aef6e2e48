"""Peterson / Dolev–Klawe–Rodeh: n log n on a unidirectional ring.

Theory of operation
-------------------
G. L. Peterson (1982), "An O(n log n) unidirectional algorithm for the circular
extrema problem", ACM TOPLAS 4(4); independently D. Dolev, M. Klawe and M. Rodeh
(1982), J. Algorithms 3(3). An active node carries a *temporary* ID (at first
its own). In phase k it sends ``Relay(round, k, tid, second=False)`` right;
relays pass it on to the next active node. An active node that receives its
left active neighbour's tid t1 passes it on as ``Relay(..., t1, second=True)``;
it then receives t2, the tid of the active node before that. It stays active,
adopting t1 as its tid, if t1 is larger than both its own tid and t2 (t1 is a
local maximum); otherwise it becomes a relay. Of two neighbouring active nodes at
most one survives, so each phase at least halves them, and the largest tid is
never lost: the survivor downstream carries it on. An active node whose own tid
comes home is the only one left, and its tid is the largest candidate ID -- but
that ID may be another node's. So it sends ``Victory(round, tid, lap=False)``
right to the owner of that ID (a candidate of this round, perhaps a relay by
now). Non-candidates only relay: the winner is the largest *candidate*.

Failures: the largest tid may be carried by a node other than its owner, and if
that carrier is killed the tid is gone while its owner lives on -- the model
checker found exactly this (N=4, one crash): a smaller tid came home and won.
So the owner does not lead at once: it sends the Victory once round the ring
(``lap=True``), and any node that was a candidate with a larger ID swallows it
(the round then stalls, and the harness starts the next); back home, the owner
leads. Likewise an active node that hears messages out of order (a second
before a first, a later phase: a message was lost) *stalls*: it stays active and
swallows everything, so no tid can come home this round.

Direction: rightwards only. Messages: each phase with two or more active nodes
costs 2n (two messages over every link), there are at most ⌊lg c⌋ such phases
for c candidates, the last costs n, the Victory at most n-1 to its owner and n
for its lap: at most 2n⌊lg n⌋ + 3n - 1, plus n for the announcement --
2n lg n + O(n) with the O(n) at most 4n - 1. Time: O(n) hops per phase, O(n log n)
in all.
"""
from __future__ import annotations

from ..messages import ElectionMessage, Output, Relay, Send, Side, Victory
from .base import ElectionProtocol, Status


class PetersonElector(ElectionProtocol):
    name = "peterson"
    messages = (Relay, Victory)
    state_attributes = ("was_candidate", "phase", "tid", "first", "stalled")

    def reset_round(self) -> None:
        self.phase = 0
        self.tid = 0      # temporary ID while active
        self.first = 0    # t1 of this phase once received (0: not yet)
        self.stalled = False

    def start(self) -> list[Output]:
        self.tid = self.node_id
        return [Send(Side.RIGHT, Relay(self.round, 0, self.tid, False))]

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        if isinstance(message, Victory):
            return self._on_victory(message)
        if not isinstance(message, Relay):
            return [self.dropped(message, "foreign")]
        fields = {"value": message.value, "phase": message.phase, "second": message.second}
        if self.status is Status.LEADER:
            return [self.swallowed(message, **fields)]
        if self.status is not Status.CANDIDATE:
            self.become_not_leader()
            return self.relay(Side.RIGHT, message,
                              (message.phase, message.value, message.second), **fields)
        if self.stalled or message.phase != self.phase:
            return self._stall(message, fields)
        if not message.second:
            return self._on_first(message, fields)
        return self._on_second(message, fields)

    def _on_first(self, message: Relay, fields: dict) -> list[Output]:
        if self.first:
            return self._stall(message, fields)
        if message.value == self.tid:
            # Our tid came home: we are the only active node and it is the largest
            # candidate ID (ours or another's): on to its owner, then the lap.
            return self._on_victory(Victory(self.round, self.tid, False))
        self.first = message.value
        return self.send(Side.RIGHT, Relay(self.round, self.phase, message.value, True),
                         **{**fields, "second": True})

    def _on_second(self, message: Relay, fields: dict) -> list[Output]:
        if not self.first:
            return self._stall(message, fields)
        if self.first > max(self.tid, message.value):
            self.tid, self.first = self.first, 0
            self.phase += 1
            return self.send(Side.RIGHT, Relay(self.round, self.phase, self.tid, False),
                             value=self.tid, phase=self.phase, second=False)
        self.become_not_leader()
        return []

    def _stall(self, message: Relay, fields: dict) -> list[Output]:
        """Only a lost message breaks the order of a phase: stay active and swallow
        everything, so that no smaller tid can win this round (see the header)."""
        self.stalled = True
        return [self.dropped(message, "stalled", **fields)]

    def _on_victory(self, message: Victory) -> list[Output]:
        fields = {"leader_id": message.leader_id, "lap": message.lap}
        if message.leader_id != self.node_id:
            if self.status is Status.LEADER:
                return [self.swallowed(message, **fields)]
            if self.was_candidate and self.node_id > message.leader_id:
                # A larger candidate lives: the largest tid was lost with its carrier.
                return [self.dropped(message, "larger_candidate", **fields)]
            if self.status is Status.CANDIDATE and not self.tid == message.leader_id:
                return [self.dropped(message, "still_active", **fields)]
            self.become_not_leader()
            return self.relay(Side.RIGHT, message,
                              ("victory", message.leader_id, message.lap), **fields)
        if not self.was_candidate or self.status is Status.LEADER:
            # Not a candidate of this round (restarted since), or already leader.
            return [self.dropped(message, "own_id", **fields)]
        if message.lap:
            return self.win()  # nobody objected on the lap (see the header)
        self.become_not_leader()
        return self.relay(Side.RIGHT, Victory(self.round, self.node_id, True),
                          ("victory", self.node_id, True), **fields)
