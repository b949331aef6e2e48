"""The node's control connection: what the harness says to a node, and back.

Harness -> node: a protocol command (StartSnapshot, StartElection, DropToken,
InjectToken) or one of the runtime commands below. Node -> harness: events, as
``(t_ns, kind, fields)`` tuples stamped with ``time.monotonic_ns()``, one clock
shared by every process on the machine, in batches (``pack_events``: all the
events of one pass of the node's loop, in order, as one message). The control
connection is the harness's own pipe, so it carries pickles; ring links never do.
"""
from __future__ import annotations

import os
import pickle
import struct
from dataclasses import dataclass

from ..protocol.messages import Side


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """Everything a node process is started with (besides its three connections)."""

    pos: int
    node_id: int
    hold_ns: int
    fencing: bool
    announce: bool
    state_path: str
    # Under fork a child inherits every descriptor the harness holds (the other
    # nodes' pipe ends among them): True closes all but its own first thing, so
    # that no death is hidden.
    close_inherited_fds: bool = False
    # Report token_received only for hops that are multiples of this, and token_passed
    # only for the pass of such a token (so holders still balance). 1 (the default)
    # reports every hop, as the checker needs; benchmarks raise it to keep the
    # control pipe and the harness out of the hop they measure.
    token_report_every: int = 1
    # False: do not report the per-message steps of a snapshot or an election
    # (marker_received, candidate_forwarded, candidate_swallowed, elected, and the
    # other algorithms' election_sent, election_swallowed, election_dropped); starts,
    # parts, leaders and completions still are. For benchmarks; True by default.
    report_forwarding: bool = True
    # The election algorithm (a name in emulator/protocol/algorithms.py).
    algorithm: str = "cr"
    # The leader's task store (task_store.py), created by the harness; None: no task.
    task_path: str | None = None


@dataclass(frozen=True, slots=True)
class Rewire:
    """A new link for ``side`` follows on the control connection as a passed fd."""

    side: Side


@dataclass(frozen=True, slots=True)
class Scheduled:
    """Carry out ``command`` at ``at_ns`` (``time.monotonic_ns()``), before any ring
    message that arrives later. Every node shares the clock, so the harness can
    start an election at every candidate at one instant. A second schedule of the
    same command keeps the earlier instant, and a neighbour's message of round r
    makes a scheduled start of round r due at once: the harness *arms* every
    candidate (a far instant), then *fires* them, and no candidate's ID can reach
    an armed node before that node's own start, however slowly the harness sends.
    So "all candidates" means all."""

    at_ns: int
    command: object


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Report statistics, close the links and exit 0."""


Event = tuple  # (t_ns, kind, fields)


def pack_events(events: list[Event]) -> bytes:
    """Events of one loop pass, oldest first, as one control message."""
    return pickle.dumps(events, pickle.HIGHEST_PROTOCOL)


def unpack_events(message: bytes) -> list[Event]:
    return pickle.loads(message)


_LENGTH = struct.Struct("!i")     # multiprocessing's frame header (Connection.send_bytes)
_LONG_LENGTH = struct.Struct("!Q")  # after a -1 header: a message of 2 GiB or more
READ_CHUNK = 1 << 16


class EventReader:
    """The harness's end of a node's control connection, read in bulk.

    ``Connection.recv_bytes`` costs two ``read`` calls per message (the length,
    then the body); a busy ring sends one message per hop per node, so the harness
    spent most of its time per event in system calls. This reads whatever has
    arrived in one call and splits it into the same frames ``send_bytes`` wrote; a
    message cut by the read waits in the buffer for the rest. Only for reading:
    commands still go out through the ``Connection``."""

    def __init__(self, connection) -> None:
        self._fd = connection.fileno()
        self._buffer = bytearray()
        self.ended = False  # EOF (or a reset): the node's process is exiting

    def read(self) -> list[Event]:
        """The events of every whole message that has arrived, oldest first. Call
        only when the connection is readable (it blocks otherwise)."""
        try:
            chunk = os.read(self._fd, READ_CHUNK)
        except (ConnectionResetError, BrokenPipeError):
            chunk = b""
        if not chunk:
            self.ended = True  # a message cut short by a death is dropped, as recv_bytes would
            return []
        buffer = self._buffer
        buffer += chunk
        events: list[Event] = []
        start, end = 0, len(buffer)
        while end - start >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, start)
            body = start + _LENGTH.size
            if size == -1:
                if end - body < _LONG_LENGTH.size:
                    break
                (size,) = _LONG_LENGTH.unpack_from(buffer, body)
                body += _LONG_LENGTH.size
            if end - body < size:
                break
            events.extend(pickle.loads(buffer[body:body + size]))
            start = body + size
        del buffer[:start]
        return events
