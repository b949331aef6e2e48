"""Chandy–Lamport snapshot on a bidirectional ring.

Theory of operation
-------------------
Chandy & Lamport (1985), "Distributed Snapshots: Determining Global States of
Distributed Systems". Every link is FIFO, so a marker separates the messages a
sender sent before recording its state from those it sent after.

The initiator records its local state (the epochs of the tokens it holds and
its fence), sends ``Marker(sid)`` on both links and records both incoming
channels. A node's first marker for ``sid``, arriving from side s: record the
local state, channel s is recorded empty, send markers on both links, record
the other channel until its marker arrives. While a channel is recorded, every
token that arrives on it is part of the cut: it was sent before the sender
recorded and received after the receiver did. A node's part is complete when
markers have arrived from both sides; it reports the part.

The cut is consistent, so a moving token is counted exactly once: either its
sender still held it when recording, or it was in the recorded channel, or its
receiver already held it when recording. The harness adds the parts up.

A node that restarted mid-snapshot knows nothing of it; a marker for a sid it
has already completed is ignored, so late markers cannot start a second pass.
Every marker's arrival is reported (``marker_received``; ``first`` marks the one
that made the node record and send its own markers), so a trace shows every
marker from send to receipt.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from emulator.records import (
    MARKER_RECEIVED, SNAPSHOT_ABANDONED, SNAPSHOT_PART, SNAPSHOT_STARTED,
)

from .messages import Marker, Output, Report, Send, Side, SnapshotId

_REMEMBERED_COMPLETED = 64
# A node restarted mid-snapshot may wait forever for a marker its neighbours will
# never resend; past this many open recordings the oldest is given up.
_MAX_OPEN = 16


@dataclass
class _Recording:
    local_tokens: list[int]
    node_epoch: int
    recording: set[Side]                 # incoming channels still recorded
    channel_tokens: list[int] = field(default_factory=list)


class SnapshotRecorder:
    """One node's share of every snapshot in progress."""

    def __init__(self) -> None:
        self._active: dict[SnapshotId, _Recording] = {}
        self._completed: deque[SnapshotId] = deque(maxlen=_REMEMBERED_COMPLETED)

    def in_progress(self) -> list[SnapshotId]:
        return list(self._active)

    def start(self, sid: SnapshotId, held: list[int], node_epoch: int) -> list[Output]:
        if sid in self._active or sid in self._completed:
            return []
        outputs = self._open(sid, _Recording(list(held), node_epoch, {Side.LEFT, Side.RIGHT}))
        return outputs + [Report(SNAPSHOT_STARTED, {"sid": list_of(sid)}),
                          Send(Side.LEFT, Marker(sid)), Send(Side.RIGHT, Marker(sid))]

    def _open(self, sid: SnapshotId, recording: _Recording) -> list[Output]:
        outputs: list[Output] = []
        while len(self._active) >= _MAX_OPEN:
            oldest = next(iter(self._active))
            del self._active[oldest]
            self._completed.append(oldest)
            outputs.append(Report(SNAPSHOT_ABANDONED, {"sid": list_of(oldest)}))
        self._active[sid] = recording
        return outputs

    def on_marker(self, side: Side, sid: SnapshotId, held: list[int],
                  node_epoch: int) -> list[Output]:
        if sid in self._completed:
            return [Report(MARKER_RECEIVED, {"sid": list_of(sid), "side": side.value,
                                               "first": False, "late": True})]
        recording = self._active.get(sid)
        outputs: list[Output] = [Report(MARKER_RECEIVED, {
            "sid": list_of(sid), "side": side.value, "first": recording is None})]
        if recording is None:
            # First marker: record now; the channel it came on is empty in the cut.
            recording = _Recording(list(held), node_epoch, {side.opposite})
            outputs += self._open(sid, recording)
            outputs += [Send(Side.LEFT, Marker(sid)), Send(Side.RIGHT, Marker(sid))]
        else:
            recording.recording.discard(side)
        if not recording.recording:
            outputs.append(self._complete(sid, recording))
        return outputs

    def on_token(self, side: Side, epoch: int) -> None:
        """A token arrived on ``side``: it belongs to every cut recording that channel."""
        for recording in self._active.values():
            if side in recording.recording:
                recording.channel_tokens.append(epoch)

    def _complete(self, sid: SnapshotId, recording: _Recording) -> Report:
        del self._active[sid]
        self._completed.append(sid)
        return Report(SNAPSHOT_PART, {
            "sid": list_of(sid),
            "tokens": recording.local_tokens + recording.channel_tokens,
            "held": recording.local_tokens,
            "in_channel": recording.channel_tokens,
            "node_epoch": recording.node_epoch,
        })


def list_of(sid: SnapshotId) -> list[int]:
    """A sid as it appears in a trace (JSON has no tuples)."""
    return [sid.initiator, sid.counter]
