"""Pure protocol state machines: no I/O, no clock, no randomness.

Each takes one input and returns outputs (messages, timers, events); the node
runtime and the simulator carry the outputs out.
"""
from .election import Elector, Status
from .messages import (
    ApplyTask, Candidate, DropToken, Elected, InjectToken, Leave, LinkDown, LinkUp, Marker, PersistEpoch,
    ProtocolViolation, Received, Report, Send, SendFailed, SetTimer, Side, SnapshotId, StartElection,
    StartSnapshot, TaskResult, TimerFired, Token,
)
from .node import NodeProtocol
from .snapshot import SnapshotRecorder
from .token import HOLD_TIMER, TokenKeeper

__all__ = [
    "ApplyTask", "TaskResult", "Candidate", "DropToken", "Elected", "Elector", "HOLD_TIMER", "InjectToken", "Leave", "LinkDown",
    "LinkUp", "Marker", "NodeProtocol", "PersistEpoch", "ProtocolViolation", "Received",
    "Report", "Send", "SendFailed", "SetTimer", "Side", "SnapshotId", "SnapshotRecorder", "StartElection",
    "StartSnapshot", "Status", "TimerFired", "Token", "TokenKeeper",
]
