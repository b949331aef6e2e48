"""Ring messages on the wire: one tag byte and fixed-width big-endian integers.

Links carry bytes, not pickles: a neighbour is a peer, not a trusted party, and
a frame that does not decode must be an event, never code execution or a crash.
"""
from __future__ import annotations

import struct

from ..protocol.messages import Candidate, Elected, Marker, RingMessage, SnapshotId, Token

MAX_FRAME = 64  # every valid frame is shorter; a longer length prefix is garbage

_TWO_U64 = struct.Struct(">QQ")
_THREE_U64 = struct.Struct(">QQQ")  # a token that tells the leader's task ("W")


class BadFrame(ValueError):
    """Bytes on a link that are not a ring message."""


def encode(message: RingMessage) -> bytes:
    if isinstance(message, Token):
        if message.task:
            return b"W" + _THREE_U64.pack(message.epoch, message.hop, message.task)
        return b"T" + _TWO_U64.pack(message.epoch, message.hop)
    if isinstance(message, Marker):
        return b"M" + _TWO_U64.pack(message.sid.initiator, message.sid.counter)
    if isinstance(message, Candidate):
        return b"C" + _TWO_U64.pack(message.round, message.node_id)
    if isinstance(message, Elected):
        return b"E" + _TWO_U64.pack(message.round, message.leader_id)
    raise TypeError(f"not a ring message: {message!r}")


def decode(frame: bytes) -> RingMessage:
    if frame[:1] == b"W" and len(frame) == 1 + _THREE_U64.size:
        try:
            return Token(*_THREE_U64.unpack_from(frame, 1))
        except ValueError as invalid:
            raise BadFrame(str(invalid)) from invalid
    if len(frame) != 1 + _TWO_U64.size:
        raise BadFrame(f"frame of {len(frame)} bytes, expected {1 + _TWO_U64.size}")
    tag, (a, b) = frame[:1], _TWO_U64.unpack_from(frame, 1)
    try:
        if tag == b"T":
            return Token(a, b)
        if tag == b"M":
            return Marker(SnapshotId(a, b))
        if tag == b"C":
            return Candidate(a, b)
        if tag == b"E":
            return Elected(a, b)
    except ValueError as invalid:  # e.g. a zero round: well-formed bytes, invalid message
        raise BadFrame(str(invalid)) from invalid
    raise BadFrame(f"unknown message tag {tag!r}")
