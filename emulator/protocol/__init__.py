"""Pure protocol state machines: no I/O, no clock, no randomness.

Each takes one input and returns outputs (messages, timers, events); the node
runtime and the simulator carry the outputs out.
"""
from .algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from .election import Elector, Status
from .elections.base import ElectionProtocol
from .messages import (
    ApplyTask, Candidate, Compare, DropToken, Elected, ElectionMessage, InjectToken, Lap, Leave, LinkDown,
    LinkUp, Marker, PersistEpoch, Probe, ProtocolViolation, Received, Relay, Reply, Report, Send,
    SendFailed, SetTimer, Side, SnapshotId, StartElection, StartSnapshot, TaskResult,
    TimerFired, Token,
    Victory,
)
from .node import NodeProtocol
from .snapshot import SnapshotRecorder
from .token import HOLD_TIMER, TokenKeeper

__all__ = [
    "ALGORITHMS", "Compare", "DEFAULT_ALGORITHM", "ElectionMessage", "ElectionProtocol", "Lap",
    "Probe", "Relay", "Reply", "Victory",
    "ApplyTask", "TaskResult", "Candidate", "DropToken", "Elected", "Elector", "HOLD_TIMER", "InjectToken", "Leave", "LinkDown",
    "LinkUp", "Marker", "NodeProtocol", "PersistEpoch", "ProtocolViolation", "Received",
    "Report", "Send", "SendFailed", "SetTimer", "Side", "SnapshotId", "SnapshotRecorder", "StartElection",
    "StartSnapshot", "Status", "TimerFired", "Token", "TokenKeeper",
]
