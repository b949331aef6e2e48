"""LeLann's ring election: every candidate's ID goes all the way round.

Theory of operation
-------------------
G. LeLann (1977), "Distributed systems — towards a formal approach", IFIP
Congress: the first ring election. Each candidate sends its ID right; *every*
node passes every other ID on (nobody swallows), and a candidate remembers the
largest ID it has seen. When its own ID comes home the candidate has seen every
other candidate's ID: on FIFO links each was ahead of its own on the way (a
node that relayed before its start stays out, so no ID starts behind ours). The
largest wins; the others become ``not_leader``.

One addition for failures: the message is ``Lap(round, id, largest)``, where
``largest`` is the largest candidate ID the lap has passed. If a relay dies with
a larger candidate's ID in its inbox, that ID never arrives, but our lap still
passes its owner, and ``largest`` says so: an ID wins only if no larger
candidate was on its way (the check Chang–Roberts gets by swallowing).

Direction: rightwards only. Messages: every candidate's ID makes a full lap,
c·n for c candidates, so n² with all n nodes candidates, in every arrangement
(Chang–Roberts' worst case is its everyday case); plus n for the announcement.
Time: n hops after the last start, then n for the announcement.
"""
from __future__ import annotations

from ..messages import ElectionMessage, Lap, Output, Send, Side
from .base import ElectionProtocol, Status


class LeLannElector(ElectionProtocol):
    name = "lelann"
    messages = (Lap,)
    state_attributes = ("was_candidate", "largest_seen")

    def reset_round(self) -> None:
        self.largest_seen = 0  # largest other candidate ID seen in this round

    def start(self) -> list[Output]:
        return [Send(Side.RIGHT, Lap(self.round, self.node_id, self.node_id))]

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        if not isinstance(message, Lap):
            return [self.dropped(message, "foreign")]
        fields = {"candidate_id": message.node_id}
        if message.node_id == self.node_id:
            if self.status is Status.CANDIDATE and max(
                    self.largest_seen, message.largest) > self.node_id:
                self.become_not_leader()  # a larger candidate is in the race
                return [self.dropped(message, "lost", **fields)]
            return self.own_id_home(message, **fields)
        if self.status is Status.LEADER:
            # Every candidate ID passed the winner before its own came home: a later
            # one can only come from a node restarted and re-started mid-round.
            return [self.swallowed(message, **fields)]
        if self.was_candidate:
            self.largest_seen = max(self.largest_seen, message.node_id)
        else:
            self.become_not_leader()  # a relay from now on: it stays out of this round
        return self.relay(Side.RIGHT, Lap(message.round, message.node_id,
                                          self.witness(message.largest)),
                          ("lap", message.node_id), **fields)
