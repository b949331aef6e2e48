"""What travels on a ring link, and what a protocol asks its runtime to do.

Ring messages are small frozen dataclasses validated at construction, so a
malformed message cannot exist past the codec. Outputs are the protocol's
whole contact with the world: the runtime (or the simulator) carries them out.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Union


class Side(str, Enum):
    """A node's two ring links. Tokens and election messages travel RIGHT."""

    LEFT = "left"
    RIGHT = "right"

    @property
    def opposite(self) -> "Side":
        return Side.RIGHT if self is Side.LEFT else Side.LEFT


class ProtocolViolation(Exception):
    """A transition the protocol forbids: a bug in the caller, never a fault."""


def _natural(name: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


# --- ring messages ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    epoch: int
    hop: int
    # Steps of the leader's task done, as far as this token was told (task.py): the
    # token is how the leader tells the ring, so a lost token loses the telling.
    task: int = 0

    def __post_init__(self) -> None:
        _natural("epoch", self.epoch)
        _natural("hop", self.hop)
        _natural("task", self.task)

    def passed(self) -> "Token":
        return Token(self.epoch, self.hop + 1, self.task)


@dataclass(frozen=True, slots=True, order=True)
class SnapshotId:
    initiator: int
    counter: int

    def __post_init__(self) -> None:
        _natural("initiator", self.initiator)
        _natural("counter", self.counter)


@dataclass(frozen=True, slots=True)
class Marker:
    sid: SnapshotId


class ElectionMessage:
    """Base of every election message: each carries its ``round`` (an epoch), so
    the node can fence with it and route it to the elector, whatever the algorithm."""

    __slots__ = ()
    round: int


@dataclass(frozen=True, slots=True)
class Candidate(ElectionMessage):
    round: int
    node_id: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("node_id", self.node_id, 1)


@dataclass(frozen=True, slots=True)
class Elected(ElectionMessage):
    round: int
    leader_id: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("leader_id", self.leader_id, 1)


# The other algorithms' messages (emulator/protocol/elections/). ``phase`` counts an
# algorithm's phases from 0 within one round.


@dataclass(frozen=True, slots=True)
class Lap(ElectionMessage):
    """LeLann: ``node_id`` on its lap of the ring, with the largest candidate ID it
    has passed so far (``largest``), so that a lost ID cannot make a smaller one win."""

    round: int
    node_id: int
    largest: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("node_id", self.node_id, 1)
        _natural("largest", self.largest, 1)


@dataclass(frozen=True, slots=True)
class Probe(ElectionMessage):
    """Hirschberg–Sinclair: ``node_id`` explores 2**phase hops; ``hops`` travelled so
    far; ``largest``: the largest candidate ID it has passed (a lost winner's witness)."""

    round: int
    node_id: int
    phase: int
    hops: int
    largest: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("node_id", self.node_id, 1)
        _natural("phase", self.phase)
        _natural("hops", self.hops, 1)
        _natural("largest", self.largest, 1)
        if self.phase > 63 or self.hops > 2 ** self.phase:
            raise ValueError(f"a phase-{self.phase} probe cannot have travelled "
                             f"{self.hops} hops")


@dataclass(frozen=True, slots=True)
class Reply(ElectionMessage):
    """Hirschberg–Sinclair: no larger ID within 2**phase hops of ``node_id`` on this side."""

    round: int
    node_id: int
    phase: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("node_id", self.node_id, 1)
        _natural("phase", self.phase)


@dataclass(frozen=True, slots=True)
class Compare(ElectionMessage):
    """Franklin: an active node's ID, sent both ways to its nearest active neighbours;
    ``largest``: the largest candidate ID it has passed (see Probe)."""

    round: int
    phase: int
    node_id: int
    largest: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("phase", self.phase)
        _natural("node_id", self.node_id, 1)
        _natural("largest", self.largest, 1)


@dataclass(frozen=True, slots=True)
class Relay(ElectionMessage):
    """Peterson / Dolev–Klawe–Rodeh: an active node's temporary ID (``second`` False),
    or the one it received, passed on to the next active node (``second`` True)."""

    round: int
    phase: int
    value: int
    second: bool

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("phase", self.phase)
        _natural("value", self.value, 1)
        if not isinstance(self.second, bool):
            raise ValueError(f"second must be a bool, got {self.second!r}")


@dataclass(frozen=True, slots=True)
class Victory(ElectionMessage):
    """Peterson: the largest candidate ID is known. It travels to its owner
    (``lap`` False), then once round the ring from there (``lap`` True) so that
    every node can object; back at the owner, the owner leads."""

    round: int
    leader_id: int
    lap: bool

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("leader_id", self.leader_id, 1)
        if not isinstance(self.lap, bool):
            raise ValueError(f"lap must be a bool, got {self.lap!r}")


RingMessage = Union[Token, Marker, Candidate, Elected, Lap, Probe, Reply, Compare, Relay, Victory]


# --- inputs other than a received message ----------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    side: Side
    message: RingMessage


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str


# Why a node's link on one side went down (LinkDown.cause, the link_down record's
# ``cause``): only EOF is the kernel telling it the other end closed.
EOF = "eof"                  # a read hit end-of-file (or a reset): the other end is closed
SEND_FAILED = "send_failed"  # a write was refused (EPIPE): nobody reads the other end
NEVER_WIRED = "never_wired"  # started without a link on that side (its neighbour was down)
CUT = "cut"                  # the harness cut this end (a link fault)
LINK_DOWN_CAUSES = (EOF, SEND_FAILED, NEVER_WIRED, CUT)


@dataclass(frozen=True, slots=True)
class LinkDown:
    side: Side
    cause: str = EOF

    def __post_init__(self) -> None:
        if self.cause not in LINK_DOWN_CAUSES:
            raise ValueError(f"link down cause {self.cause!r}; one of {LINK_DOWN_CAUSES}")


@dataclass(frozen=True, slots=True)
class LinkUp:
    """A fresh link on this side (the harness rewired it)."""

    side: Side


@dataclass(frozen=True, slots=True)
class StartSnapshot:
    sid: SnapshotId


@dataclass(frozen=True, slots=True)
class StartElection:
    round: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)


@dataclass(frozen=True, slots=True)
class DropToken:
    """Fault: the holder silently discards what it holds."""


@dataclass(frozen=True, slots=True)
class InjectToken:
    """Fault: a second token of the node's current epoch appears here."""


@dataclass(frozen=True, slots=True)
class SendFailed:
    """The runtime could not write ``message`` (the link broke): it never left."""

    side: Side
    message: "RingMessage"


@dataclass(frozen=True, slots=True)
class Leave:
    """The node is about to exit of its own accord (SIGTERM): hand over what it holds."""


@dataclass(frozen=True, slots=True)
class TaskResult:
    """What the store answered to an ``ApplyTask`` (see task.py for the outcomes)."""

    step: int
    epoch: int
    outcome: str
    store_epoch: int = 0

    def __post_init__(self) -> None:
        _natural("step", self.step, 1)
        _natural("epoch", self.epoch)
        if self.outcome not in TASK_OUTCOMES:
            raise ValueError(f"outcome must be one of {TASK_OUTCOMES}, got {self.outcome!r}")


# applied: written; duplicate: that step's key is there already (idempotency);
# stale: the store has seen a newer epoch (fencing); unavailable: the store was busy.
TASK_OUTCOMES = ("applied", "duplicate", "stale", "unavailable")


Input = Union[Received, TimerFired, LinkDown, LinkUp, StartSnapshot, StartElection,
              DropToken, InjectToken, Leave, SendFailed, TaskResult]


# --- outputs ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    side: Side
    message: RingMessage


@dataclass(frozen=True, slots=True)
class SetTimer:
    name: str
    delay_ns: int


@dataclass(frozen=True, slots=True)
class Report:
    """An event for the harness's history (trace kinds are in DESIGN.md)."""

    kind: str
    fields: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PersistEpoch:
    """The highest epoch seen rose: it must survive a restart."""

    epoch: int


@dataclass(frozen=True, slots=True)
class ApplyTask:
    """The leader of ``epoch`` applies step ``step`` of its task to the harness's store;
    the runtime writes and feeds the answer back as ``TaskResult``."""

    step: int
    epoch: int

    def __post_init__(self) -> None:
        _natural("step", self.step, 1)
        _natural("epoch", self.epoch, 1)


Output = Union[Send, SetTimer, Report, PersistEpoch, ApplyTask]
