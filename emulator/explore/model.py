"""The world the explorer walks: N real ``NodeProtocol`` instances, their links,
the faults, and the harness's recovery actions, as one hashable state.

Theory of operation
-------------------
A *state* is a plain tuple, so it can be hashed, compared and rotated. The
protocol objects are not kept: to take a step the explorer builds the acting
node's ``NodeProtocol`` from its tuple (reading and writing the objects' own
attributes, never changing the classes), feeds it one input through the same
``handle`` the node processes run, and encodes it again. Two abstractions keep
the space finite, and neither is visible to the protocols:

* A token's ``hop`` is never branched on, so it is forgotten while exploring
  (kept when a counterexample is replayed for the trace).
* ``TokenKeeper.tokens_held_total`` is a statistic: forgotten.

Only the Chandy–Lamport snapshot is left out (no ``Marker`` ever travels): the
harness's detection is modelled by what a complete snapshot counts, read off the
global state; the snapshot's own correctness is a property test over the
simulator. Everything below is position-relative (a link is "k positions to the
right"), so rotating the ring is rotating one tuple.

The world (all of it is in the state):

* Node p: ``up`` (its process runs), ``paused`` (SIGSTOP: takes no step, its
  incoming messages wait), ``bypassed`` (spliced out by the harness), its state
  file (``persisted``: the highest epoch seen), its protocol, whether its hold
  timer is pending, and where its right link goes.
* Links carry messages rightwards (tokens, candidates, announcements; markers
  are not modelled) and, for the algorithms that use them (Hirschberg–Sinclair,
  Franklin), leftwards too: a node's left link then has a target of its own
  (``LLINK``), and a channel is named by the signed distance to its writer
  (positive: the writer is that far to the left). A node reads every link that
  still reaches it, as the node runtime does ("retired, not closed"); messages
  from one writer to one reader in one direction are one FIFO queue (a
  re-spliced link is appended to the old one: a slight under-approximation of
  the runtime, which could read the new one first).
* A crash (SIGKILL) loses the node's protocol, its timer and what was in flight
  *to* it; what it sent stays readable by its neighbour; the node writing to it
  sees its right link go down at once (``LinkDown``: a held token then waits).
* A restart (the harness's supervisor, or the ``restart`` fault: kill and
  relaunch in place) is ``NodeProtocol(id, epoch=persisted)`` with fresh links to
  its live neighbours (``LinkUp`` at the left one).
* A pause: the node takes no step; the harness may bypass it (splice its
  neighbours together, rings of 3+) and rejoins it once resumed; a resumed
  bypassed node still reads what reached it and writes into its old link.
* The harness's election: when every node on the ring answers (up, not paused)
  and the tokens of the highest epoch a complete snapshot would count are not
  exactly one, it may start round ``rounds + 1`` at any non-empty subset of the
  ring's nodes, all at one instant (DESIGN: "Scheduled election start").
  Rounds are bounded (``max_rounds``) and so are faults (``max_faults``): that
  bound is what makes the space finite.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Iterable, Optional

from emulator.records import (
    BYPASSED, CANDIDATE, CANDIDATE_DROPPED, CANDIDATE_FORWARDED, CANDIDATE_STALE,
    CANDIDATE_SWALLOWED, ELECTED, ELECTED_DROPPED, ELECTED_STALE, ELECTION_COMPLETE,
    ELECTION_DROPPED, ELECTION_ROUND, ELECTION_SENT, ELECTION_STALE, ELECTION_SWALLOWED,
    FAULT, LEADER, LEADER_CONFLICT, MESSAGE_LOST, NODE_EXITED, NODE_STARTED, PERSIST_EPOCH, REJOINED, RESTARTED, RESUMED, TOKEN_CREATED,
    TOKEN_RECEIVED,
)

from ..protocol import (
    ALGORITHMS, DEFAULT_ALGORITHM, Candidate, Compare, DropToken, Elected, InjectToken, Lap,
    LinkDown, LinkUp, NodeProtocol, PersistEpoch, Probe, ProtocolViolation, Received, Relay,
    Reply, Report, Send, SetTimer, Side, StartElection, Status, TimerFired, Token, Victory,
)
from ..protocol.election import Elector
from ..protocol.elections.base import ElectionProtocol

FAULTS = ("crash", "restart", "drop", "duplicate", "pause")
MUTATIONS = ("no-fencing", "forward-own-id", "duplicate-ids", "never-win")

# Fields of a node tuple (LLINK: the left link's target, kept only for algorithms
# that send leftwards; 0 otherwise).
ID, UP, PAUSED, OUT, PERSISTED, PROTO, TIMER, RLINK, CHANS, LEADS, CANDS, LLINK = range(12)
# Fields of the global tuple.
G_ROUNDS, G_FAULTS, G_CREATED, G_INJECTED, G_DIED = range(5)

# Reports of a step that changes nothing the invariants look at (no token taken,
# passed or fenced, no leader made): what partial-order reduction may reorder.
INVISIBLE = frozenset((
    CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, CANDIDATE_DROPPED, CANDIDATE_STALE,
    ELECTED, ELECTED_STALE, ELECTED_DROPPED, ELECTION_STALE, ELECTION_COMPLETE,
    ELECTION_SENT, ELECTION_SWALLOWED, ELECTION_DROPPED))

# Protocol fields: (epoch, held ((epoch, hop), ...), right_up, round, status, leader_id,
#                   forwarded keys (sorted), announced, the algorithm's own state)
_NO_PROTO = ()

# Actions that are the protocols' own moves (the rest are faults and the harness).
PROTOCOL_ACTIONS = ("deliver", "timer")
HARNESS_ACTIONS = ("elect", "repair", "bypass", "rejoin", "resume")


class ForwardOwnIdElector(Elector):
    """Seeded bug: a node that gets its own ID while not a candidate (it restarted
    since it sent it) forwards it instead of dropping it (and, as the original
    article's algorithm, nobody drops a repeat either)."""

    drop_repeats = False

    def on_candidate(self, message: Candidate):
        if message.round >= self.round and message.node_id == self.node_id:
            self._enter_round(message.round)
            if self.status in (Status.WAITING, Status.NOT_LEADER):
                self.become_not_leader()
                return [Send(Side.RIGHT, message),
                        Report(CANDIDATE_FORWARDED, {"round": message.round,
                                                       "candidate_id": message.node_id})]
        return super().on_candidate(message)


class NeverWinElector(Elector):
    """Seeded bug (to test the liveness check): a candidate drops its own ID when it
    comes home instead of winning, so no round ever ends."""

    def on_candidate(self, message: Candidate):
        if message.round == self.round and message.node_id == self.node_id:
            return [Report(CANDIDATE_DROPPED, {"round": message.round,
                                                 "candidate_id": message.node_id})]
        return super().on_candidate(message)


_ELECTORS = {"forward-own-id": ForwardOwnIdElector, "never-win": NeverWinElector}
# Mutations that are Chang–Roberts' own bugs (the others apply to every algorithm).
CR_MUTATIONS = ("forward-own-id",)


def _mutated(algorithm: str, mutation: Optional[str]) -> type[ElectionProtocol]:
    """The elector class to explore: the algorithm's, or a seeded bug in it."""
    base = ALGORITHMS[algorithm]
    if mutation == "forward-own-id":
        return ForwardOwnIdElector
    if mutation == "never-win":
        if algorithm == "cr":
            return NeverWinElector
        return type(f"NeverWin{base.__name__}", (base,), {"win": _never_win})
    return base


def _never_win(self):
    """Seeded bug for any algorithm: the winner drops its win instead of leading."""
    return [Report(ELECTION_DROPPED, {"round": self.round, "message": "win",
                                        "reason": "never-win"})]


@dataclass(frozen=True)
class Config:
    """What to explore. ``arrangements``: the ID layouts to start from (each a tuple
    of IDs by position); the explorer starts from all of them at once."""

    n: int
    arrangements: tuple[tuple[int, ...], ...]
    faults: tuple[str, ...] = ()
    max_faults: int = 1
    max_rounds: int = 2
    announce: bool = True
    mutation: Optional[str] = None
    # The harness abandons a round only once it has run its course (no election
    # message left in flight on the ring): its timeouts are seconds, a round takes
    # milliseconds. False: a round may be abandoned at any instant.
    patient: bool = True
    algorithm: str = DEFAULT_ALGORITHM
    # Memo of single-node steps (see Transition.feed): not part of the identity.
    cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.n < 2:
            raise ValueError(f"need >= 2 nodes, got {self.n}")
        for fault in self.faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; choose from {', '.join(FAULTS)}")
        if self.mutation is not None and self.mutation not in MUTATIONS:
            raise ValueError(f"unknown mutation {self.mutation!r}; choose from "
                             f"{', '.join(MUTATIONS)}")
        for ids in self.arrangements:
            if len(ids) != self.n:
                raise ValueError(f"arrangement {ids} does not have {self.n} IDs")
            if len(set(ids)) != len(ids) and self.mutation != "duplicate-ids":
                raise ValueError(f"arrangement {ids} repeats an ID (only the "
                                 "'duplicate-ids' mutation allows that)")
        if self.max_rounds < 1:
            raise ValueError("need at least one election round")
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algorithm!r}; choose from "
                             f"{', '.join(ALGORITHMS)}")
        if self.mutation in CR_MUTATIONS and self.algorithm != "cr":
            raise ValueError(f"mutation {self.mutation!r} is a Chang–Roberts bug; it needs "
                             "algorithm 'cr'")

    @property
    def fencing(self) -> bool:
        return self.mutation != "no-fencing"

    @property
    def fault_free(self) -> bool:
        return not self.faults or self.max_faults == 0

    @property
    def bidirectional(self) -> bool:
        return ALGORITHMS[self.algorithm].bidirectional

    @property
    def elector(self) -> type[ElectionProtocol]:
        return _mutated(self.algorithm, self.mutation)


@dataclass
class Found:
    """One invariant broken by one transition (or in the state it led to)."""

    invariant: str
    detail: str


@dataclass
class Step:
    """What one transition did, for the readable trace and the JSON-lines file."""

    action: tuple
    events: list = field(default_factory=list)   # (pos, kind, fields)
    label: str = ""
    found: Optional["Found"] = None

    @property
    def message(self) -> Optional[tuple]:
        """The election message this step forwarded, if it was a Chang–Roberts forward
        or an announcement."""
        sent = [e for e in self.events if e[1] in (CANDIDATE_FORWARDED, ELECTED)]
        if not sent:
            return None
        fields = sent[-1][2]
        if sent[-1][1] == CANDIDATE_FORWARDED:
            return ("C", fields["round"], fields["candidate_id"])
        return ("E", fields["round"], fields["leader_id"])


# --- protocol objects <-> tuples ------------------------------------------------------


def build_protocol(cfg: Config, node_id: int, proto: tuple) -> NodeProtocol:
    node = NodeProtocol(node_id, epoch=proto[0], fencing=cfg.fencing, announce=cfg.announce)
    node.election = cfg.elector(node_id, cfg.announce)
    node.token.held = [Token(e, h) for e, h in proto[1]]
    node.token.right_up = proto[2]
    node.election.round = proto[3]
    node.election.status = proto[4]
    node.election.leader_id = proto[5] or None
    node.election.forwarded = set(proto[6])
    node.election.announced = proto[7]
    node.election.restore(proto[8])
    return node


def encode_protocol(node: NodeProtocol, keep_hops: bool) -> tuple:
    token, election = node.token, node.election
    if node.snapshot.in_progress():
        raise AssertionError("the explorer does not model snapshots")
    held = tuple((t.epoch, t.hop if keep_hops else 0) for t in token.held)
    # Keys of different algorithms mix ints, strings and sides: sorted by repr.
    return (token.epoch, held, token.right_up, election.round, election.status,
            election.leader_id or 0, tuple(sorted(election.forwarded, key=repr)),
            election.announced, election.state())


def fresh_protocol(cfg: Config, epoch: int) -> tuple:
    key = ("fresh", epoch)
    if key not in cfg.cache:
        node = NodeProtocol(1, epoch=epoch, fencing=cfg.fencing, announce=cfg.announce)
        node.election = cfg.elector(1, cfg.announce)
        cfg.cache[key] = encode_protocol(node, False)
    return cfg.cache[key]


# Fields the encoding covers: if a protocol class grows state, the explorer must
# learn about it rather than silently forget it (tests/explore checks this too).
# An elector's own per-round state is covered by its ``state_attributes``.
KNOWN_ATTRIBUTES = {
    "NodeProtocol": {"node_id", "token", "snapshot", "election"},
    "TokenKeeper": {"epoch", "hold_ns", "fencing", "held", "right_up", "tokens_held_total"},
    "Elector": {"node_id", "announce", "round", "status", "leader_id", "forwarded",
                "announced", "was_candidate"},
}


def unknown_attributes() -> dict[str, set[str]]:
    node = NodeProtocol(1)
    found = {"NodeProtocol": set(vars(node)), "TokenKeeper": set(vars(node.token))}
    for name, cls in ALGORITHMS.items():
        found[name] = set(vars(cls(1))) - set(cls.state_attributes)
    known = lambda name: KNOWN_ATTRIBUTES.get(name, KNOWN_ATTRIBUTES["Elector"])
    return {name: attrs - known(name) for name, attrs in found.items()
            if attrs - known(name)}


# --- messages ---------------------------------------------------------------------------


# Election messages as (tag, round, ID it is about, other fields...): the ID whose
# owner must not pass it on unchanged (see Transition.send); None for Relay, whose
# values legitimately pass their owners.
_ELECTION_TAGS = {
    "C": (Candidate, ("round", "node_id")),
    "E": (Elected, ("round", "leader_id")),
    "L": (Lap, ("round", "node_id", "largest")),
    "P": (Probe, ("round", "node_id", "phase", "hops", "largest")),
    "R": (Reply, ("round", "node_id", "phase")),
    "F": (Compare, ("round", "node_id", "phase", "largest")),
    "D": (Relay, ("round", "value", "phase", "second")),
    "V": (Victory, ("round", "leader_id", "lap")),
}
_TAG_OF = {cls: (tag, fields) for tag, (cls, fields) in _ELECTION_TAGS.items()}
MESSAGE_NAMES = {"T": "Token", **{tag: cls.__name__ for tag, (cls, _) in _ELECTION_TAGS.items()}}


def encode_message(message, keep_hops: bool) -> tuple:
    if isinstance(message, Token):
        return ("T", message.epoch, message.hop if keep_hops else 0)
    entry = _TAG_OF.get(type(message))
    if entry is None:
        raise AssertionError(f"the explorer does not model {message!r}")
    tag, fields = entry
    return (tag,) + tuple(getattr(message, name) for name in fields)


def decode_message(encoded: tuple):
    if encoded[0] == "T":
        return Token(encoded[1], encoded[2])
    cls, fields = _ELECTION_TAGS[encoded[0]]
    return cls(**dict(zip(fields, encoded[1:])))


def owner_id(encoded: tuple) -> Optional[int]:
    """The ID an election message carries that its owner must never pass on."""
    return None if encoded[0] in "TD" else encoded[2]


def describe_message(encoded: tuple) -> str:
    if encoded[0] == "T":
        return f"Token(epoch {encoded[1]})"
    if encoded[0] == "C":
        return f"Candidate(round {encoded[1]}, id {encoded[2]})"
    if encoded[0] == "E":
        return f"Elected(round {encoded[1]}, leader id {encoded[2]})"
    cls, fields = _ELECTION_TAGS[encoded[0]]
    return f"{cls.__name__}(" + ", ".join(
        f"{name} {value}" for name, value in zip(fields, encoded[1:])) + ")"


# --- the initial states -------------------------------------------------------------------


def initial_state(cfg: Config, ids: Iterable[int]) -> tuple:
    """A new ring: every node up with epoch 0, linked to its neighbours, no token."""
    left = 1 if cfg.bidirectional else 0
    nodes = tuple((node_id, True, False, False, 0, fresh_protocol(cfg, 0), False, 1, (), (),
                   (), left) for node_id in ids)
    return ((0, 0, 0, (), False), nodes)


def run_protocol(cfg: Config, node_id: int, proto: tuple, event, keep_hops: bool):
    """One input to one node: (new protocol tuple, outputs as (kind, value) pairs),
    or the ProtocolViolation's message."""
    protocol = build_protocol(cfg, node_id, proto)
    try:
        outputs = protocol.handle(event)
    except ProtocolViolation as why:
        return str(why)
    effects = []
    for output in outputs:
        if isinstance(output, Send):
            if output.side is not Side.RIGHT and not cfg.bidirectional:
                raise AssertionError(f"unexpected send to the left: {output!r}")
            effects.append(("send", (output.side, encode_message(output.message, keep_hops))))
        elif isinstance(output, SetTimer):
            effects.append(("timer", output.delay_ns))
        elif isinstance(output, Report):
            effects.append(("report", (output.kind, output.fields)))
        elif isinstance(output, PersistEpoch):
            effects.append(("persist", output.epoch))
        else:
            raise AssertionError(f"unknown output {output!r}")
    return encode_protocol(protocol, keep_hops), tuple(effects)


# --- one transition ---------------------------------------------------------------------------


class Transition:
    """A mutable working copy of one state while one action is applied to it."""

    __slots__ = ("cfg", "n", "glob", "nodes", "found", "events", "keep_hops", "record",
                 "visible")

    def __init__(self, cfg: Config, state: tuple, *, keep_hops: bool = False,
                 record: bool = False) -> None:
        self.cfg = cfg
        self.n = cfg.n
        self.glob = list(state[0])
        self.nodes = [list(node) for node in state[1]]
        self.found: Optional[Found] = None
        self.events: list = []
        self.keep_hops = keep_hops
        self.record = record
        self.visible = False    # it touched a token or made a leader (see INVISIBLE)

    def state(self) -> tuple:
        return (tuple(self.glob), tuple(tuple(node) for node in self.nodes))

    def note(self, pos: int, kind: str, fields: Optional[dict] = None) -> None:
        if self.record:
            self.events.append((pos, kind, dict(fields or {})))

    def violate(self, invariant: str, detail: str) -> None:
        if self.found is None:
            self.found = Found(invariant, detail)

    def who(self, pos: int) -> str:
        return f"node {pos} (id {self.nodes[pos][ID]})"

    # --- topology ------------------------------------------------------------

    def active(self) -> list[int]:
        return [p for p in range(self.n) if not self.nodes[p][OUT]]

    def left_active(self, pos: int) -> Optional[int]:
        for k in range(1, self.n):
            q = (pos - k) % self.n
            if not self.nodes[q][OUT]:
                return q
        return None

    def right_active(self, pos: int) -> Optional[int]:
        for k in range(1, self.n):
            q = (pos + k) % self.n
            if not self.nodes[q][OUT]:
                return q
        return None

    def target(self, pos: int) -> Optional[int]:
        off = self.nodes[pos][RLINK]
        return None if off == 0 else (pos + off) % self.n

    def set_target(self, pos: int, target: Optional[int]) -> None:
        self.nodes[pos][RLINK] = 0 if target is None else (target - pos) % self.n

    def left_target(self, pos: int) -> Optional[int]:
        off = self.nodes[pos][LLINK]
        return None if off == 0 else (pos - off) % self.n

    def set_left_target(self, pos: int, target: Optional[int]) -> None:
        if self.cfg.bidirectional:
            self.nodes[pos][LLINK] = 0 if target is None else (pos - target) % self.n

    def join(self, left: int, right: int) -> None:
        """A fresh duplex link from ``left``'s right side to ``right``'s left side;
        both ends must be up. Only the writer to the right hears of it (LinkUp: a held
        token may go); the left end matters only to algorithms that send leftwards."""
        self.set_target(left, right)
        self.link_up(left)
        self.set_left_target(right, left)

    def cut_right(self, pos: int) -> None:
        """``pos``'s right link has nobody at its other end any more."""
        self.set_target(pos, None)
        self.link_down(pos)

    def cut_left(self, pos: int) -> None:
        if self.cfg.bidirectional and self.nodes[pos][UP]:
            self.set_left_target(pos, None)
            self.feed(pos, LinkDown(Side.LEFT))

    # --- feeding a protocol -------------------------------------------------------

    def feed(self, pos: int, event, delivered: Optional[tuple] = None) -> None:
        node = self.nodes[pos]
        epoch_before = node[PROTO][0]
        if self.record:
            effect = run_protocol(self.cfg, node[ID], node[PROTO], event, True)
        else:
            # A node's step depends only on its ID, its protocol tuple and the input:
            # computed once, then looked up (the protocol code still decides it).
            key = (node[ID], node[PROTO], event)
            effect = self.cfg.cache.get(key)
            if effect is None:
                effect = self.cfg.cache[key] = run_protocol(
                    self.cfg, node[ID], node[PROTO], event, False)
        if isinstance(effect, str):
            self.violate("protocol", f"{self.who(pos)} raised ProtocolViolation: {effect}")
            return
        new_proto, outputs = effect
        node[PROTO] = new_proto
        for kind, value in outputs:
            if kind == "send":
                self.send(pos, value[0], value[1], delivered)
            elif kind == "timer":
                node[TIMER] = True
            elif kind == "report":
                self.on_report(pos, value[0], value[1], epoch_before)
            else:
                node[PERSISTED] = value
                self.note(pos, PERSIST_EPOCH, {"epoch": value})

    def send(self, pos: int, side: Side, encoded: tuple, delivered: Optional[tuple]) -> None:
        if (delivered is not None and encoded == delivered and encoded[0] != "T"
                and owner_id(encoded) == self.nodes[pos][ID]):
            what = {"C": "candidate ID", "E": "leader announcement"}.get(
                encoded[0], "election message")
            self.violate("termination", (
                f"{self.who(pos)} forwarded its own {what} {describe_message(encoded)}: "
                f"nothing on the ring stops it any more, it circulates forever"))
        if side is Side.RIGHT:
            target = self.target(pos)
            off = None if target is None else (target - pos) % self.n
        else:
            target = self.left_target(pos)
            off = None if target is None else -((pos - target) % self.n)
        if target is None:
            self.note(pos, MESSAGE_LOST, {"side": side.value,
                                          "message": MESSAGE_NAMES[encoded[0]]})
            return
        reader = self.nodes[target]
        chans = dict(reader[CHANS])
        chans[off] = chans.get(off, ()) + (encoded,)
        reader[CHANS] = tuple(sorted(chans.items()))

    def on_report(self, pos: int, kind: str, fields: dict, epoch_before: int) -> None:
        self.note(pos, kind, fields)
        if kind not in INVISIBLE:
            self.visible = True
        node = self.nodes[pos]
        if kind == LEADER:
            round_ = fields["round"]
            others = [q for q in range(self.n) if q != pos and round_ in self.nodes[q][LEADS]]
            if others:
                self.violate("single_leader", (
                    f"round {round_} has two leaders: {self.who(others[0])} and "
                    f"{self.who(pos)}"))
            # Candidates that stayed alive on the ring (not crashed, restarted or
            # bypassed since they became candidates); the winner itself may have been
            # bypassed after its own ID came home.
            alive = [self.nodes[q][ID] for q in range(self.n) if round_ in self.nodes[q][CANDS]]
            if round_ not in node[CANDS] and node[ID] in alive:
                alive.remove(node[ID])
            larger = [i for i in alive if i > node[ID]]
            if larger:
                self.violate("correct_leader", (
                    f"round {round_} was won by {self.who(pos)}, but candidate id "
                    f"{max(larger)} of that round is still alive on the ring"))
            node[LEADS] = tuple(sorted(set(node[LEADS]) | {round_}))
        elif kind == LEADER_CONFLICT:
            self.violate("single_leader", (
                f"{self.who(pos)} is leader of round {fields['round']} and heard of "
                f"leader id {fields['leader_id']} in the same round"))
        elif kind == CANDIDATE:
            node[CANDS] = tuple(sorted(set(node[CANDS]) | {fields["round"]}))
        elif kind == TOKEN_CREATED:
            self.glob[G_CREATED] = max(self.glob[G_CREATED], fields["epoch"])
        elif kind == TOKEN_RECEIVED:
            if fields["epoch"] < epoch_before:
                self.violate("fencing", (
                    f"{self.who(pos)} accepted a stale token of epoch {fields['epoch']} "
                    f"though it had seen epoch {epoch_before}: two tokens circulate"))

    # --- the actions -----------------------------------------------------------------

    def deliver(self, pos: int, off: int) -> None:
        node = self.nodes[pos]
        chans = dict(node[CHANS])
        queue = chans[off]
        head, rest = queue[0], queue[1:]
        if rest:
            chans[off] = rest
        else:
            del chans[off]
        node[CHANS] = tuple(sorted(chans.items()))
        side = Side.LEFT if off > 0 else Side.RIGHT  # a negative distance: from the right
        self.feed(pos, Received(side, decode_message(head)), delivered=head)

    def fire(self, pos: int) -> None:
        self.nodes[pos][TIMER] = False
        self.feed(pos, TimerFired("hold"))

    def link_down(self, pos: int) -> None:
        if self.nodes[pos][UP]:
            self.feed(pos, LinkDown(Side.RIGHT))

    def link_up(self, pos: int) -> None:
        if self.nodes[pos][UP]:
            self.feed(pos, LinkUp(Side.RIGHT))

    def crash(self, pos: int) -> None:
        node = self.nodes[pos]
        self.glob[G_DIED] = True  # the harness hears of it at once: it may abandon the round
        self.note(pos, NODE_EXITED, {"signal": "SIGKILL"})
        node[UP], node[PAUSED] = False, False
        node[PROTO], node[TIMER], node[RLINK], node[LLINK] = _NO_PROTO, False, 0, 0
        node[CHANS], node[CANDS] = (), ()        # what was in flight to it is gone
        for q in range(self.n):
            if q != pos and self.target(q) == pos:
                self.cut_right(q)
            if q != pos and self.left_target(q) == pos:
                self.cut_left(q)

    def relaunch(self, pos: int) -> None:
        """A new process at ``pos``: in place, or outside the ring if the node was
        bypassed (the harness replaces the dead outside and rejoins them later)."""
        node = self.nodes[pos]
        node[UP], node[PAUSED] = True, False
        node[PROTO], node[TIMER] = fresh_protocol(self.cfg, node[PERSISTED]), False
        node[CHANS], node[CANDS] = (), ()
        self.note(pos, NODE_STARTED, {"restart": True, "epoch": node[PERSISTED]})
        if node[OUT]:
            self.set_target(pos, None)
            self.set_left_target(pos, None)
            self.link_down(pos)
        else:
            self.splice_in(pos)

    def splice_in(self, pos: int) -> None:
        """Fresh links from the left ring neighbour to ``pos`` and from ``pos`` on."""
        left, right = self.left_active(pos), self.right_active(pos)
        if left is not None and self.nodes[left][UP]:
            self.join(left, pos)
        else:
            self.set_left_target(pos, None)
        if right is not None and self.nodes[right][UP]:
            self.join(pos, right)
        else:
            self.cut_right(pos)

    def bypass(self, pos: int) -> None:
        node = self.nodes[pos]
        left, right = self.left_active(pos), self.right_active(pos)
        node[OUT] = True
        node[CANDS] = ()  # out of the ring: out of its rounds
        self.note(pos, BYPASSED, {"left_pos": left, "right_pos": right})
        if self.nodes[left][UP]:
            if self.nodes[right][UP]:
                self.join(left, right)
            else:
                self.cut_right(left)
        elif self.nodes[right][UP]:
            self.cut_left(right)

    def rejoin(self, pos: int) -> None:
        self.nodes[pos][OUT] = False
        self.note(pos, REJOINED, {})
        self.splice_in(pos)

    def elect(self, chosen: tuple[int, ...]) -> None:
        self.glob[G_ROUNDS] += 1
        self.glob[G_DIED] = False
        round_ = self.glob[G_ROUNDS]
        self.note(chosen[0], ELECTION_ROUND, {
            "round": round_, "candidate_pos": list(chosen),
            "candidate_ids": [self.nodes[p][ID] for p in chosen]})
        for pos in chosen:
            self.feed(pos, StartElection(round_))

    def fault(self, kind: str, pos: int) -> None:
        self.glob[G_FAULTS] += 1
        signal = {"crash": "SIGKILL", "restart": "SIGKILL", "pause": "SIGSTOP"}.get(kind)
        self.note(pos, FAULT, {"fault": kind, "target_pos": pos, "signal": signal})
        if kind == "crash":
            self.crash(pos)
        elif kind == "restart":
            self.crash(pos)
            self.relaunch(pos)
        elif kind == "drop":
            self.feed(pos, DropToken())
        elif kind == "duplicate":
            epoch = self.nodes[pos][PROTO][0]
            self.glob[G_INJECTED] = tuple(sorted(set(self.glob[G_INJECTED]) | {epoch}))
            self.feed(pos, InjectToken())
        elif kind == "pause":
            self.nodes[pos][PAUSED] = True
        else:
            raise AssertionError(kind)

    def apply(self, action: tuple) -> None:
        kind = action[0]
        if kind == "deliver":
            self.deliver(action[1], action[2])
        elif kind == "timer":
            self.fire(action[1])
        elif kind == "elect":
            self.elect(action[1])
        elif kind == "repair":
            self.note(action[1], RESTARTED, {"by": "supervisor"})
            self.relaunch(action[1])
        elif kind == "bypass":
            self.bypass(action[1])
        elif kind == "rejoin":
            self.rejoin(action[1])
        elif kind == "resume":
            self.nodes[action[1]][PAUSED] = False
            self.note(action[1], RESUMED, {"signal": "SIGCONT"})
        else:
            self.fault(kind, action[1])
        self.check_state()

    # --- invariants of a state ------------------------------------------------------

    def check_state(self) -> None:
        current = self.glob[G_CREATED]
        if current and current not in self.glob[G_INJECTED]:
            holders = [p for p in range(self.n) if self.nodes[p][UP]
                       and any(e == current for e, _ in self.nodes[p][PROTO][1])]
            if len(holders) > 1:
                self.violate("mutual_exclusion", (
                    f"two holders of a current token of epoch {current} at once: "
                    f"{self.who(holders[0])} and {self.who(holders[1])}"))
        for p in range(self.n):
            node = self.nodes[p]
            if node[UP] and any(e < node[PROTO][0] for e, _ in node[PROTO][1]):
                stale = min(e for e, _ in node[PROTO][1])
                self.violate("fencing", (
                    f"{self.who(p)} holds a stale token of epoch {stale} though it has "
                    f"seen epoch {node[PROTO][0]}: two tokens circulate"))


# --- what can happen in a state -------------------------------------------------------


def token_epochs(state: tuple, *, active_only: bool) -> tuple[list[int], list[int]]:
    """(token epochs, fences) a complete snapshot of the ring would see; every token
    in the system and every live fence with ``active_only=False``."""
    tokens: list[int] = []
    fences: list[int] = []
    for node in state[1]:
        if active_only and node[OUT]:
            continue
        if node[UP]:
            tokens += [e for e, _ in node[PROTO][1]]
            fences.append(node[PROTO][0])
        tokens += [m[1] for _, queue in node[CHANS] for m in queue if m[0] == "T"]
    return tokens, fences


def token_lost(state: tuple) -> bool:
    """What the harness's snapshot would say: not exactly one token of the highest epoch."""
    tokens, fences = token_epochs(state, active_only=True)
    top = max(tokens + fences + [0])
    return tokens.count(top) != 1


def snapshot_completes(state: tuple) -> bool:
    return all(node[UP] and not node[PAUSED] for node in state[1] if not node[OUT])


def election_in_flight(state: tuple) -> bool:
    """A candidate or announcement still on its way to a node of the ring."""
    return any(m[0] != "T" for node in state[1] if not node[OUT]
               for _, queue in node[CHANS] for m in queue)


def one_token_one_leader(state: tuple) -> bool:
    """The goal of recovery: the last round has its leader, and its token is the only one."""
    rounds = state[0][G_ROUNDS]
    tokens, _ = token_epochs(state, active_only=False)
    return rounds > 0 and tokens == [rounds]


def enabled(cfg: Config, state: tuple) -> list[tuple]:
    """Every action possible in ``state``, protocol moves first, in a stable order."""
    glob, nodes = state
    n = cfg.n
    actions: list[tuple] = []
    for p, node in enumerate(nodes):
        if node[UP] and not node[PAUSED]:
            actions += [("deliver", p, off) for off, _ in node[CHANS]]
            if node[TIMER]:
                actions.append(("timer", p))
    # The harness.
    active = sum(1 for q in nodes if not q[OUT])
    for p, node in enumerate(nodes):
        if node[PAUSED]:
            actions.append(("resume", p))
            if not node[OUT] and active > 2:
                actions.append(("bypass", p))
        elif node[UP] and node[OUT]:
            actions.append(("rejoin", p))
        elif not node[UP]:
            # The dead, as the supervisor treats them: taken out of the ring first when
            # the ring can spare them, then replaced outside it (rejoined once up);
            # restarted in place on a ring of two.
            if not node[OUT] and active > 2:
                actions.append(("bypass", p))
            else:
                actions.append(("repair", p))
    # A patient harness waits for the round in flight, unless a death told it the
    # round is lost (it abandons the round at once and starts the next).
    if (glob[G_ROUNDS] < cfg.max_rounds and snapshot_completes(state) and token_lost(state)
            and (not cfg.patient or glob[G_DIED] or not election_in_flight(state))):
        ring = [p for p in range(n) if not nodes[p][OUT]]
        for k in range(1, len(ring) + 1):
            actions += [("elect", chosen) for chosen in itertools.combinations(ring, k)]
    # The faults.
    if glob[G_FAULTS] < cfg.max_faults:
        for kind in cfg.faults:
            for p, node in enumerate(nodes):
                if not node[UP]:
                    continue
                if kind in ("crash", "restart"):
                    actions.append((kind, p))
                elif kind == "drop" and node[PROTO][1] and not node[PAUSED]:
                    actions.append((kind, p))
                elif kind == "duplicate" and not node[PAUSED] and glob[G_CREATED]:
                    # A second token of the current epoch: once there is a token.
                    actions.append((kind, p))
                elif kind == "pause" and not node[PAUSED] and not node[OUT]:
                    actions.append((kind, p))
    return actions


def ample_candidates(cfg: Config, state: tuple, actions: list[tuple]) -> list[tuple]:
    """Deliveries that partial-order reduction may take alone (search.py says why):
    only once no fault can come any more and no harness action is enabled, and only
    an election message to a node that has nothing else to do and one writer."""
    glob, nodes = state
    if not cfg.patient or (cfg.faults and glob[G_FAULTS] < cfg.max_faults):
        return []
    if cfg.bidirectional:
        return []  # every node has two writers, one each way: nothing to take alone
    if any(a[0] not in PROTOCOL_ACTIONS for a in actions):
        return []
    n = cfg.n
    steps_at = [0] * n
    for action in actions:
        steps_at[action[1]] += 1
    found = []
    for action in actions:
        if action[0] != "deliver" or steps_at[action[1]] != 1:
            continue
        p, off = action[1], action[2]
        node = nodes[p]
        if dict(node[CHANS])[off][0][0] == "T":
            continue
        writer = (p - off) % n
        if any(q != writer and nodes[q][UP] and nodes[q][RLINK]
               and (q + nodes[q][RLINK]) % n == p for q in range(n)):
            continue
        found.append(action)
    return found


def successor(cfg: Config, state: tuple, action: tuple, *, keep_hops: bool = False,
              record: bool = False) -> Transition:
    work = Transition(cfg, state, keep_hops=keep_hops, record=record)
    work.apply(action)
    return work


def is_election_delivery(state: tuple, action: tuple) -> bool:
    if action[0] != "deliver":
        return False
    queue = dict(state[1][action[1]][CHANS])[action[2]]
    return queue[0][0] != "T"


# --- symmetry ------------------------------------------------------------------------------


def rotate(state: tuple, k: int) -> tuple:
    """The same world seen from position k: node k becomes position 0."""
    nodes = state[1]
    return (state[0], nodes[k:] + nodes[:k])


def canonical(state: tuple) -> tuple[tuple, int]:
    """The least rotation of ``state`` and the k that gives it (rotate(state, k))."""
    nodes = state[1]
    best, best_k = nodes, 0
    for k in range(1, len(nodes)):
        candidate = nodes[k:] + nodes[:k]
        if candidate < best:
            best, best_k = candidate, k
    return (state[0], best), best_k
