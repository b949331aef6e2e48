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


@dataclass(frozen=True, slots=True)
class Candidate:
    round: int
    node_id: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("node_id", self.node_id, 1)


@dataclass(frozen=True, slots=True)
class Elected:
    round: int
    leader_id: int

    def __post_init__(self) -> None:
        _natural("round", self.round, 1)
        _natural("leader_id", self.leader_id, 1)


RingMessage = Union[Token, Marker, Candidate, Elected]


# --- inputs other than a received message ----------------------------------


@dataclass(frozen=True, slots=True)
class Received:
    side: Side
    message: RingMessage


@dataclass(frozen=True, slots=True)
class TimerFired:
    name: str


@dataclass(frozen=True, slots=True)
class LinkDown:
    side: Side


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
