"""Link faults in the sending node: one shim per directed link (this node -> a neighbour).

Theory of operation
-------------------
``tc netem`` is an egress queueing discipline: it delays, drops, duplicates and
reorders packets on their way out. A ring link is a Unix socket pair that no
qdisc ever sees, so the node runtime carries its own: between the protocol's
``Send`` and the socket write, per side (left, right). The harness sets it over
the control connection (``SetLinkFault``), with a seed, so a trial replays the
same coin flips. Without a fault the runtime never calls into this module: its
send path checks one attribute (``NodeRuntime.shims is None``).

Per message, in this order: a one-way cut refuses it (as EPIPE would: the protocol
gets ``SendFailed`` and keeps a token); a blackhole or a lost coin swallows it;
a duplicate coin sends it twice; a reorder coin holds it back ``reorder_ms``
while later messages go ahead of it (the one fault that breaks FIFO, on purpose:
Chandy–Lamport assumes FIFO channels); otherwise a delay (constant, uniform on
[0, 2·mean] or exponential with the mean, Maelstrom's distributions) queues it.
Delays keep FIFO: a message is due no earlier than the one queued before it.
``token_only`` aims the coins and the delay at the token alone.

Every action is a record (``message_delayed``, ``message_lost_by_link``, ...), so
the checker and the diagram see what the link did. A delayed message is not
lost: it is reported lost only if the link itself goes away before it is due
(the harness cut it, or the neighbour's end closed), as a packet on a wire that
is cut is lost.
"""
from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Callable

from emulator.records import (
    LINK_FAULT_CLEARED, LINK_FAULT_SET, MESSAGE_DELAYED, MESSAGE_DUPLICATED,
    MESSAGE_LOST_BY_LINK, MESSAGE_REORDERED,
)

from ..protocol.messages import Side, Token

DISTRIBUTIONS = ("constant", "uniform", "exponential")


@dataclass(frozen=True, slots=True)
class LinkFault:
    """What one directed link does to the messages sent on it. All zero: nothing."""

    delay_ms: float = 0.0
    dist: str = "constant"
    loss: float = 0.0          # probability a message vanishes
    blackhole: bool = False    # every message vanishes; the link stays open (no EOF)
    duplicate: float = 0.0     # probability a message is sent twice
    reorder: float = 0.0       # probability a message is held back while others pass
    reorder_ms: float = 0.0
    cut_out: bool = False      # one-way cut: sends refused, the other direction works
    token_only: bool = False   # coins and delay apply to tokens only

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
        for name in ("delay_ms", "reorder_ms"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.dist not in DISTRIBUTIONS:
            raise ValueError(f"dist must be one of {', '.join(DISTRIBUTIONS)}, "
                             f"got {self.dist!r}")

    @property
    def idle(self) -> bool:
        return self == LinkFault()

    def as_fields(self) -> dict:
        return {name: value for name, value in asdict(self).items()
                if value != getattr(LinkFault(), name)}


@dataclass(frozen=True, slots=True)
class SetLinkFault:
    """Control command: from now on, messages sent on ``side`` suffer ``fault``.
    Replaces the side's previous fault; messages already delayed stay queued."""

    side: Side
    fault: LinkFault
    seed: int = 0


@dataclass(frozen=True, slots=True)
class CutLink:
    """Control command: close this node's end of the ``side`` link (both ends then
    see EOF); the harness heals it by handing over a fresh link (``Rewire``)."""

    side: Side


def _describe(message) -> dict:
    fields = {"message": type(message).__name__}
    if isinstance(message, Token):
        fields.update(epoch=message.epoch, hop=message.hop)
    return fields


class LinkShim:
    """One directed link's fault and its queue of held messages."""

    def __init__(self, side: Side, fault: LinkFault, seed: int) -> None:
        self.side = side
        self.fault = fault
        self.rng = random.Random(seed)
        self.queue: deque[tuple[int, object]] = deque()  # FIFO: (due_ns, message)
        self.held: list[tuple[int, int, object]] = []    # reordered: heap (due, seq, msg)

    @property
    def pending(self) -> int:
        return len(self.queue) + len(self.held)

    def next_due_ns(self) -> int | None:
        dues = [q[0][0] for q in (self.queue, self.held) if q]
        return min(dues) if dues else None

    def applies_to(self, message) -> bool:
        return not self.fault.token_only or isinstance(message, Token)

    def draw_delay_ns(self) -> int:
        mean = self.fault.delay_ms * 1e6
        if mean == 0:
            return 0
        if self.fault.dist == "uniform":
            return int(self.rng.uniform(0, 2 * mean))
        if self.fault.dist == "exponential":
            return int(self.rng.expovariate(1 / mean))
        return int(mean)


class LinkShims:
    """The shims of one node's two links, and the messages they hold back.

    ``write(side, message)`` is the runtime's real send; ``refuse(side, message)``
    feeds the protocol a ``SendFailed``; ``emit(kind, fields)`` reports."""

    def __init__(self, write: Callable, refuse: Callable, emit: Callable) -> None:
        self.write = write
        self.refuse = refuse
        self.emit = emit
        self.shims: dict[Side, LinkShim] = {}
        self._sequence = itertools.count()

    @property
    def idle(self) -> bool:
        """No fault set and nothing held back: the runtime may drop the shims."""
        return not self.shims

    def set(self, command: SetLinkFault) -> None:
        old = self.shims.get(command.side)
        shim = LinkShim(command.side, command.fault, command.seed)
        if old is not None:  # what the old fault holds back is still on its way
            shim.queue, shim.held = old.queue, old.held
        self.shims[command.side] = shim
        self.emit(LINK_FAULT_SET, {"side": command.side.value,
                                   "fault": command.fault.as_fields(), "seed": command.seed})
        if command.fault.idle:
            self.emit(LINK_FAULT_CLEARED, {"side": command.side.value,
                                           "pending": shim.pending})
            self._forget_if_drained(command.side)

    def _forget_if_drained(self, side: Side) -> None:
        shim = self.shims.get(side)
        if shim is not None and shim.fault.idle and not shim.pending:
            del self.shims[side]

    def send(self, side: Side, message) -> None:
        shim = self.shims.get(side)
        if shim is None:
            self.write(side, message)
            return
        fault = shim.fault
        if fault.cut_out:
            self.refuse(side, message)
            return
        now = time.monotonic_ns()
        if not shim.applies_to(message):
            self._queue_or_write(shim, message, now, 0)
            return
        if fault.blackhole or (fault.loss and shim.rng.random() < fault.loss):
            self.emit(MESSAGE_LOST_BY_LINK, {"side": side.value, **_describe(message),
                                             "cause": "blackhole" if fault.blackhole
                                             else "loss"})
            return
        copies = 1
        if fault.duplicate and shim.rng.random() < fault.duplicate:
            copies = 2
            self.emit(MESSAGE_DUPLICATED, {"side": side.value, **_describe(message)})
        for _ in range(copies):
            self._dispatch(shim, message, now)

    def _dispatch(self, shim: LinkShim, message, now: int) -> None:
        fault = shim.fault
        if fault.reorder and shim.rng.random() < fault.reorder:
            held_ns = int(fault.reorder_ms * 1e6)
            self.emit(MESSAGE_REORDERED, {"side": shim.side.value, **_describe(message),
                                          "held_ms": fault.reorder_ms})
            # Out of the FIFO order on purpose: later messages are not queued behind it.
            heapq.heappush(shim.held, (now + held_ns, next(self._sequence), message))
            return
        delay_ns = shim.draw_delay_ns()
        if delay_ns:
            self.emit(MESSAGE_DELAYED, {"side": shim.side.value, **_describe(message),
                                        "delay_ms": delay_ns / 1e6})
        self._queue_or_write(shim, message, now, delay_ns)

    def _queue_or_write(self, shim: LinkShim, message, now: int, delay_ns: int) -> None:
        if not shim.queue and delay_ns <= 0:
            self.write(shim.side, message)
            return
        # FIFO: nothing sent later is due earlier than what is queued before it.
        due = max(now + delay_ns, shim.queue[-1][0]) if shim.queue else now + delay_ns
        shim.queue.append((due, message))

    # --- held messages ---------------------------------------------------------------

    def next_due_ns(self) -> int | None:
        dues = [due for shim in self.shims.values()
                if (due := shim.next_due_ns()) is not None]
        return min(dues) if dues else None

    def release_due(self) -> None:
        now = time.monotonic_ns()
        for side, shim in list(self.shims.items()):
            while True:
                due = shim.next_due_ns()
                if due is None or due > now:
                    break
                if shim.queue and shim.queue[0][0] == due:
                    message = shim.queue.popleft()[1]
                else:
                    message = heapq.heappop(shim.held)[2]
                self.write(side, message)
            self._forget_if_drained(side)

    def lose_held(self, side: Side, cause: str) -> None:
        """The link went away under the held messages: they are lost on the wire."""
        shim = self.shims.get(side)
        if shim is None:
            return
        held = [m for _, m in shim.queue] + [m for _, _, m in sorted(shim.held)]
        for message in held:
            self.emit(MESSAGE_LOST_BY_LINK, {"side": side.value, **_describe(message),
                                             "cause": cause})
        shim.queue, shim.held = deque(), []
        self._forget_if_drained(side)


__all__ = ["CutLink", "DISTRIBUTIONS", "LinkFault", "LinkShims", "SetLinkFault"]
