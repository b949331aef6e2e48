"""Ring messages on the wire: one tag byte and fixed-width big-endian integers.

Links carry bytes, not pickles: a neighbour is a peer, not a trusted party, and
a frame that does not decode must be an event, never code execution or a crash.
Each tag has one fixed layout, so a frame's length is checked before anything
is read from it.
"""
from __future__ import annotations

import struct

from ..protocol.messages import (
    Candidate, Compare, Elected, Lap, Marker, Probe, Relay, Reply, RingMessage, SnapshotId, Token,
    Victory,
)

MAX_FRAME = 64  # every valid frame is shorter; a longer length prefix is garbage
MAX_WIRE_INT = 2**64 - 1  # IDs, rounds, epochs and hops travel as unsigned 64-bit integers


class BadFrame(ValueError):
    """Bytes on a link that are not a ring message."""


def _flag(value: int) -> bool:
    if value not in (0, 1):
        raise ValueError(f"flag byte {value} is neither 0 nor 1")
    return bool(value)


# tag -> (message type, layout, fields of the message in layout order, build from values)
_LAYOUTS = {
    b"T": (Token, struct.Struct(">QQ"), ("epoch", "hop"), lambda a, b: Token(a, b)),
    b"M": (Marker, struct.Struct(">QQ"), None,
           lambda a, b: Marker(SnapshotId(a, b))),
    b"C": (Candidate, struct.Struct(">QQ"), ("round", "node_id"), Candidate),
    b"E": (Elected, struct.Struct(">QQ"), ("round", "leader_id"), Elected),
    b"L": (Lap, struct.Struct(">QQQ"), ("round", "node_id", "largest"), Lap),
    b"P": (Probe, struct.Struct(">QQQQQ"), ("round", "node_id", "phase", "hops", "largest"),
           Probe),
    b"R": (Reply, struct.Struct(">QQQ"), ("round", "node_id", "phase"), Reply),
    b"F": (Compare, struct.Struct(">QQQQ"), ("round", "phase", "node_id", "largest"),
           Compare),
    b"D": (Relay, struct.Struct(">QQQB"), ("round", "phase", "value", "second"),
           lambda r, p, v, s: Relay(r, p, v, _flag(s))),
    b"V": (Victory, struct.Struct(">QQB"), ("round", "leader_id", "lap"),
           lambda r, i, lap: Victory(r, i, _flag(lap))),
}
_TAG_OF = {layout[0]: tag for tag, layout in _LAYOUTS.items()}
# A token that tells the leader's task (emulator/protocol/task.py) has its own tag, so
# a ring without the task keeps the 17-byte token frame.
_LAYOUTS[b"W"] = (Token, struct.Struct(">QQQ"), ("epoch", "hop", "task"), Token)


def encode(message: RingMessage) -> bytes:
    tag = b"W" if isinstance(message, Token) and message.task else _TAG_OF.get(type(message))
    if tag is None:
        raise TypeError(f"not a ring message: {message!r}")
    _, layout, fields, _ = _LAYOUTS[tag]
    if fields is None:  # Marker
        values = (message.sid.initiator, message.sid.counter)
    else:
        values = tuple(int(getattr(message, name)) for name in fields)
    return tag + layout.pack(*values)


def decode(frame: bytes) -> RingMessage:
    entry = _LAYOUTS.get(frame[:1])
    if entry is None:
        raise BadFrame(f"unknown message tag {frame[:1]!r}")
    _, layout, _, build = entry
    if len(frame) != 1 + layout.size:
        raise BadFrame(f"frame of {len(frame)} bytes, expected {1 + layout.size} "
                       f"for tag {frame[:1]!r}")
    try:
        return build(*layout.unpack_from(frame, 1))
    except ValueError as invalid:  # e.g. a zero round: well-formed bytes, invalid message
        raise BadFrame(str(invalid)) from invalid
