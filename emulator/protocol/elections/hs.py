"""Hirschberg–Sinclair: candidates explore doubling neighbourhoods, both ways.

Theory of operation
-------------------
D. S. Hirschberg and J. B. Sinclair (1980), "Decentralized extrema-finding in
circular configurations of processors", CACM 23(11); as told in N. Lynch,
*Distributed Algorithms* (1996), §3.4. In phase k = 0, 1, 2, ... a candidate
sends ``Probe(round, id, k, hops=1)`` both ways. A probe travels 2**k hops: a
relay passes it on; a candidate with a smaller ID that it passes is out of the
race (``not_leader``); a candidate (or the leader) with a larger ID swallows it.
The node at distance 2**k sends ``Reply(round, id, k)`` back. A candidate that
gets both replies of phase k is the largest candidate within 2**k both ways and
starts phase k+1. Once 2**k >= n its probe goes all the way round and comes home
from the other side: it is the largest candidate, and wins. Non-candidates only
relay (and reply), never compare: the winner is the largest *candidate*.

Failures: a candidate that lost to a larger one which is then killed is still a
candidate of the round, alive and larger than the eventual winner. So a probe
carries ``largest``, the largest candidate ID it has passed (``witness``), and a
probe that comes home having passed a larger candidate is no win: the round
stalls, and the harness starts the next. (The model checker found the same hole
in Franklin, N=4, one crash.)

Direction: both ways, over the duplex links (probes out, replies back); the
announcement then goes rightwards. Messages: a candidate that starts phase k is
the largest within 2**(k-1) both ways, so at most n/(2**(k-1)+1) do; each sends at
most 4·2**k messages in phase k, < 8n per phase; with the last phase (2n, no
replies) at most 8n⌈lg n⌉ + 8n including the announcement. Time: O(n) hops
(the phases' round trips sum to about 4·2**⌈lg n⌉ hops).
"""
from __future__ import annotations

from ..messages import ElectionMessage, Output, Probe, Reply, Send, Side
from .base import ElectionProtocol, Status


class HirschbergSinclairElector(ElectionProtocol):
    name = "hs"
    messages = (Probe, Reply)
    bidirectional = True
    state_attributes = ("was_candidate", "phase", "replied")

    def reset_round(self) -> None:
        self.phase = 0
        self.replied: frozenset[Side] = frozenset()  # sides that replied in this phase

    def start(self) -> list[Output]:
        return self._probe_both_ways()

    def _probe_both_ways(self) -> list[Output]:
        self.replied = frozenset()
        probe = Probe(self.round, self.node_id, self.phase, 1, self.node_id)
        return [Send(Side.LEFT, probe), Send(Side.RIGHT, probe)]

    def receive(self, side: Side, message: ElectionMessage) -> list[Output]:
        if isinstance(message, Probe):
            return self._on_probe(side, message)
        if isinstance(message, Reply):
            return self._on_reply(side, message)
        return [self.dropped(message, "foreign")]

    def _on_probe(self, side: Side, probe: Probe) -> list[Output]:
        fields = {"candidate_id": probe.node_id, "phase": probe.phase}
        if probe.node_id == self.node_id:
            if self.status is Status.CANDIDATE and probe.largest > self.node_id:
                self.become_not_leader()  # a larger candidate lives: no win this round
                return [self.dropped(probe, "larger_candidate", **fields)]
            return self.own_id_home(probe, **fields)
        if self.status is Status.LEADER or (
                self.status is Status.CANDIDATE and probe.node_id < self.node_id):
            return [self.swallowed(probe, **fields)]
        self.become_not_leader()  # a relay, or a candidate that met a larger ID
        # The probe travels away from where it came from; the key names that direction.
        onward = side.opposite
        if probe.hops < 2 ** probe.phase:
            return self.relay(onward, Probe(probe.round, probe.node_id, probe.phase,
                                            probe.hops + 1, self.witness(probe.largest)),
                              ("probe", probe.node_id, probe.phase, onward), **fields)
        return self.relay(side, Reply(probe.round, probe.node_id, probe.phase),
                          ("reply", probe.node_id, probe.phase, side), **fields)

    def _on_reply(self, side: Side, reply: Reply) -> list[Output]:
        fields = {"candidate_id": reply.node_id, "phase": reply.phase}
        if reply.node_id != self.node_id:
            return self.relay(side.opposite, reply,
                              ("reply", reply.node_id, reply.phase, side.opposite), **fields)
        if self.status is not Status.CANDIDATE:
            # Lost meanwhile, restarted since, or already leader: nothing to continue.
            return [self.dropped(reply, "not_candidate", **fields)]
        if reply.phase != self.phase or side in self.replied:
            return [self.dropped(reply, "unexpected", **fields)]
        self.replied = self.replied | {side}
        if len(self.replied) < 2:
            return []
        self.phase += 1
        return [output for send in self._probe_both_ways()
                for output in self.send(send.side, send.message, candidate_id=self.node_id,
                                        phase=self.phase)]
