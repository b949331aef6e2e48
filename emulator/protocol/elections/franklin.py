"""Franklin: active nodes compare with their nearest active neighbours, both ways.

Theory of operation
-------------------
W. R. Franklin (1982), "On an improved algorithm for decentralized extrema
finding in circular configurations of processors", CACM 25(5). In phase k
every active node (a candidate still in the race) sends ``Compare(round, k,
id)`` both ways; relays (non-candidates, and candidates that lost) pass it on,
so it reaches the nearest active node on each side. An active node that has one
ID of phase k from each side stays active for phase k+1 if its own ID is larger
than both, and becomes a relay otherwise. Of two neighbouring active nodes at
most one survives, so each phase at least halves them. An active node whose own
ID comes home is the only one left: it wins. A neighbour can start phase k+1
before this node has heard both IDs of phase k, so IDs of later phases wait in a
queue per side (FIFO links keep them in phase order); if this node then loses,
it relays the queued ones.

Failures: a candidate that lost to a larger one which is then killed is still a
candidate of the round, alive and larger than the eventual winner (the model
checker found this, N=4, one crash). So each ID carries ``largest``, the largest
candidate ID it has passed (``witness``); an ID that comes home having passed a
larger candidate is no win, and its owner stalls. A lost message can also skew
the phases a node hears. Leaving the race then could drop the largest candidate and let a smaller
one win, so such a node *stalls* instead: it stays active and swallows
everything, so no ID can come home this round, and the harness abandons it and
starts the next.

Direction: both ways, over the duplex links; the announcement goes rightwards.
Messages: each phase costs 2n (every link carries one ID each way), there are at
most ⌊lg c⌋ phases with two or more active nodes among c candidates, and the
last one costs 2n again: at most 2n⌊lg n⌋ + 2n, so 2n⌊lg n⌋ + 3n with the
announcement. Time: O(n) hops per phase, O(n log n) in all.
"""
from __future__ import annotations

from ..messages import Compare, ElectionMessage, Output, Send, Side
from .base import ElectionProtocol, Status


class FranklinElector(ElectionProtocol):
    name = "franklin"
    messages = (Compare,)
    bidirectional = True
    state_attributes = ("was_candidate", "phase", "heard_left", "heard_right", "stalled")

    def reset_round(self) -> None:
        self.phase = 0
        # (phase, id, largest) received while active, per side it came from, oldest first.
        self.heard_left: tuple[tuple[int, int, int], ...] = ()
        self.heard_right: tuple[tuple[int, int, int], ...] = ()
        self.stalled = False

    def start(self) -> list[Output]:
        return self._compare_both_ways()

    def _compare_both_ways(self) -> list[Output]:
        message = Compare(self.round, self.phase, self.node_id, self.node_id)
        return [Send(Side.LEFT, message), Send(Side.RIGHT, message)]

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        if not isinstance(message, Compare):
            return [self.dropped(message, "foreign")]
        fields = {"candidate_id": message.node_id, "phase": message.phase}
        if self.status is Status.CANDIDATE and self.stalled:
            return [self.dropped(message, "stalled", **fields)]
        if message.node_id == self.node_id:
            if self.status is Status.CANDIDATE and message.phase != self.phase:
                return [self.dropped(message, "unexpected", **fields)]
            if self.status is Status.CANDIDATE and message.largest > self.node_id:
                self.stalled = True  # a larger candidate lives: no win this round
                return [self.dropped(message, "larger_candidate", **fields)]
            return self.own_id_home(message, **fields)
        if self.status is Status.LEADER:
            return [self.swallowed(message, **fields)]
        if self.status is not Status.CANDIDATE:
            self.become_not_leader()
            return self._pass_on(side, message)
        entry = (message.phase, message.node_id, message.largest)
        if side is Side.LEFT:
            self.heard_left += (entry,)
        else:
            self.heard_right += (entry,)
        return self._decide()

    def _pass_on(self, side: Side, message: Compare) -> list[Output]:
        onward = side.opposite
        passed = Compare(message.round, message.phase, message.node_id,
                         self.witness(message.largest))
        return self.relay(onward, passed, (message.phase, message.node_id, onward),
                          candidate_id=message.node_id, phase=message.phase)

    def _decide(self) -> list[Output]:
        """Compare once both sides' IDs of this phase are here."""
        if not (self.heard_left and self.heard_right):
            return []
        (left_phase, left, _), (right_phase, right, _) = (self.heard_left[0],
                                                          self.heard_right[0])
        self.heard_left, self.heard_right = self.heard_left[1:], self.heard_right[1:]
        if left_phase != self.phase or right_phase != self.phase:
            # Only a lost message can skew phases: stall (see the header).
            self.stalled = True
            return [self.dropped(Compare(self.round, self.phase, self.node_id, self.node_id),
                                 "stalled",
                                 detail=f"phases {left_phase}/{right_phase} heard in "
                                        f"phase {self.phase}")]
        if self.node_id > max(left, right):
            self.phase += 1
            return [output for send in self._compare_both_ways()
                    for output in self.send(send.side, send.message,
                                            candidate_id=self.node_id, phase=self.phase)]
        return self._lose()

    def _lose(self) -> list[Output]:
        """Become a relay and pass on what neighbours of later phases already sent."""
        self.become_not_leader()
        outputs: list[Output] = []
        queued = {Side.LEFT: self.heard_left, Side.RIGHT: self.heard_right}
        self.heard_left = self.heard_right = ()
        for side, queue in queued.items():
            for phase, node_id, largest in queue:
                outputs += self._pass_on(side, Compare(self.round, phase, node_id, largest))
        return outputs
