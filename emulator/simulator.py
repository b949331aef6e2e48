"""In-memory ring simulator: N ``NodeProtocol`` state machines in one process.

Theory of operation
-------------------
The protocols are sans-I/O (DESIGN.md, "The three layers"), so the simulator can
be their whole world. Positions 0..N-1; node p's RIGHT neighbour is p+1 mod N.
Each link is two FIFO channels (deques), one per direction, which is all the
real ring promises (a socket pair is reliable and FIFO each way). A channel is
named by its reader: ``(p, Side.LEFT)`` holds what p-1 sent RIGHT, and
``(p, Side.RIGHT)`` what p+1 sent LEFT.

A *step* is one deliverable thing: the head of a non-empty channel
(``Delivery``) or a pending timer (``TimerStep``). Time is logical: a timer's
delay is ignored except that the timer is pending, so a timer may fire before or
after any message in flight -- every order a real ring could show with some
choice of delays. ``SetTimer`` replaces a pending timer of the same name, as a
runtime's timer table would. Random mode: a seeded ``random.Random`` picks
uniformly among the enabled steps. Deterministic mode: the caller picks
``enabled()[i]`` with ``step(i)``, which lets tests enumerate orders.

Commands (``StartElection``, ``StartSnapshot``, ``DropToken``, ``InjectToken``,
``LinkDown``...) take effect at once, between steps, like the harness's control
connection. Faults outside a node (losing a message in flight, a restart) are
methods. Every ``Report`` becomes an ``Event``; ``Send`` outputs are counted
per message type and, for election messages, per round: the message-complexity
claims of Chang & Roberts (and of every other algorithm, ``algorithm=``) are
claims about those counters. ``elect(..., quick=True)`` runs a round at scale
(N = 1024): it picks a random non-empty channel in O(1) instead of listing every
enabled step, fires no timer, and (with ``forwarding_events=False``) keeps no
event per forwarded message -- the counters are the same.
"""
from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence, Union

from emulator.records import (
    CANDIDATE_DROPPED, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, ELECTED, ELECTION_DROPPED,
    ELECTION_SENT, ELECTION_SWALLOWED, FAULT, LEADER, MARKER_RECEIVED, NODE_STARTED,
    PERSIST_EPOCH, SNAPSHOT_PART,
)

from .protocol import (
    DEFAULT_ALGORITHM, HOLD_TIMER, Elected, ElectionMessage, NodeProtocol, PersistEpoch,
    Received, Report, Send, SetTimer, Side, SnapshotId, StartElection, StartSnapshot, TimerFired, Token,
)
from .protocol.messages import Input, Output, RingMessage


# Per-message reports that ``forwarding_events=False`` leaves out (as the node
# runtime's ``report_forwarding`` does).
FORWARDING_KINDS = frozenset((
    MARKER_RECEIVED, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, CANDIDATE_DROPPED, ELECTED,
    ELECTION_SENT, ELECTION_SWALLOWED, ELECTION_DROPPED))


@dataclass(frozen=True)
class Event:
    """One ``Report`` (or simulator fault), as the harness's history would hold it."""

    step: int          # steps taken before it (``events`` order breaks ties)
    pos: int
    node_id: int
    kind: str
    fields: dict


@dataclass(frozen=True)
class Delivery:
    """Deliver the head of the channel node ``pos`` reads on its ``side`` link."""

    pos: int
    side: Side


@dataclass(frozen=True)
class TimerStep:
    pos: int
    name: str


Step = Union[Delivery, TimerStep]


@dataclass(frozen=True)
class SnapshotResult:
    sid: SnapshotId
    tokens: int        # tokens of the highest epoch: 0 lost, 1 healthy, 2+ duplicated
    epoch: int         # that highest epoch
    complete: bool     # every node has reported its part


@dataclass(frozen=True)
class ElectionOutcome:
    round: int
    leaders: tuple[int, ...]   # IDs that reported ``leader`` for the round
    candidate_messages: int    # the algorithm's own messages (all but the announcement)
    elected_messages: int
    steps: int

    @property
    def messages(self) -> int:
        return self.candidate_messages + self.elected_messages

    @property
    def leader_id(self) -> Optional[int]:
        if len(self.leaders) > 1:
            raise AssertionError(f"two leaders in round {self.round}: {self.leaders}")
        return self.leaders[0] if self.leaders else None


def arrangement(kind: str, n: int, seed: int = 0) -> list[int]:
    """IDs 1..n by position, as DESIGN.md names arrangements."""
    ids = list(range(1, n + 1))
    if kind == "ascending":
        return ids
    if kind == "descending":
        return ids[::-1]
    if kind == "random":
        random.Random(seed).shuffle(ids)
        return ids
    raise ValueError(f"unknown arrangement {kind!r}")


class RingSimulator:
    """N nodes (IDs by position) on FIFO channels; ``epochs`` are their state files.

    ``enabled()``/``step(i)``/``take(step)`` for chosen orders, ``step_random()``,
    ``run(k)`` and ``run_until_quiet()`` for seeded ones; ``command(pos, input)``,
    ``restart(pos)`` and ``drop_in_flight()`` for faults; ``elect()``,
    ``start_snapshot()``/``snapshot_result()`` for the two recovery protocols.
    """

    def __init__(self, ids: Sequence[int], *, seed: int = 0,
                 epochs: Optional[Sequence[int]] = None, hold_ns: int = 0,
                 fencing: bool = True, announce: bool = True,
                 algorithm: str = DEFAULT_ALGORITHM, forwarding_events: bool = True) -> None:
        if len(ids) < 2 or len(set(ids)) != len(ids):
            raise ValueError(f"need >= 2 unique IDs, got {list(ids)}")
        self.ids = list(ids)
        self.n = len(self.ids)
        self.rng = random.Random(seed)
        self.algorithm = algorithm
        self._options = {"hold_ns": hold_ns, "fencing": fencing, "announce": announce,
                         "algorithm": algorithm}
        # What each node's state file holds: the only thing a restart keeps.
        self.persisted = list(epochs) if epochs is not None else [0] * self.n
        if len(self.persisted) != self.n:
            raise ValueError("need one epoch per node")
        self.nodes = [self._fresh_node(p) for p in range(self.n)]
        self.channels: dict[tuple[int, Side], deque] = {
            (p, side): deque() for p in range(self.n) for side in Side}
        self.timers: dict[tuple[int, str], int] = {}
        self.events: list[Event] = []
        self.sent: Counter[str] = Counter()                    # by message type
        self.sent_in_round: Counter[tuple[int, str]] = Counter()  # (round, type)
        self.steps = 0
        self._snapshot_counter = 0
        self.forwarding_events = forwarding_events
        # Channels that may hold something, for quick rounds (emptied ones are
        # dropped lazily): a list to pick from, a set to test membership.
        self._busy: list[tuple[int, Side]] = []
        self._busy_set: set[tuple[int, Side]] = set()

    def _fresh_node(self, pos: int) -> NodeProtocol:
        return NodeProtocol(self.ids[pos], epoch=self.persisted[pos], **self._options)

    # --- carrying out outputs ----------------------------------------------

    def _carry_out(self, pos: int, outputs: list[Output]) -> None:
        for output in outputs:
            if isinstance(output, Send):
                self._send(pos, output)
            elif isinstance(output, SetTimer):
                self.timers[(pos, output.name)] = output.delay_ns
            elif isinstance(output, Report):
                self._record(pos, output.kind, output.fields)
            elif isinstance(output, PersistEpoch):
                self.persisted[pos] = output.epoch
                self._record(pos, PERSIST_EPOCH, {"epoch": output.epoch})
            else:
                raise TypeError(f"unknown output {output!r}")

    def _send(self, pos: int, send: Send) -> None:
        message = send.message
        if send.side is Side.RIGHT:
            key = ((pos + 1) % self.n, Side.LEFT)
        else:
            key = ((pos - 1) % self.n, Side.RIGHT)
        self.channels[key].append(message)
        if key not in self._busy_set:
            self._busy_set.add(key)
            self._busy.append(key)
        kind = type(message).__name__
        self.sent[kind] += 1
        if isinstance(message, ElectionMessage):
            self.sent_in_round[(message.round, kind)] += 1

    def _record(self, pos: int, kind: str, fields: dict) -> None:
        if not self.forwarding_events and kind in FORWARDING_KINDS:
            return
        self.events.append(Event(self.steps, pos, self.ids[pos], kind, fields))

    # --- steps -------------------------------------------------------------

    def enabled(self, timers: bool = True) -> list[Step]:
        """Deliverable steps in a stable order (so an index names one step)."""
        steps: list[Step] = [Delivery(p, side) for (p, side), ch in self.channels.items() if ch]
        if timers:
            steps += [TimerStep(p, name) for (p, name) in self.timers]
        return steps

    def step(self, index: int) -> Step:
        chosen = self.enabled()[index]
        self.take(chosen)
        return chosen

    def take(self, step: Step) -> None:
        if isinstance(step, Delivery):
            event: Input = Received(step.side, self.channels[(step.pos, step.side)].popleft())
        else:
            del self.timers[(step.pos, step.name)]
            event = TimerFired(step.name)
        self._carry_out(step.pos, self.nodes[step.pos].handle(event))
        self.steps += 1  # after: an event's ``step`` counts the steps before it

    def step_random(self, timers: bool = True) -> Optional[Step]:
        steps = self.enabled(timers)
        if not steps:
            return None
        chosen = self.rng.choice(steps)
        self.take(chosen)
        return chosen

    def quiet(self) -> bool:
        """Nothing in flight and no timer but a hold timer (a held token may wait)."""
        return (not any(self.channels.values())
                and all(name == HOLD_TIMER for (_, name) in self.timers))

    def run(self, steps: int, timers: bool = True) -> int:
        """Up to ``steps`` random steps; returns how many were taken."""
        for taken in range(steps):
            if self.step_random(timers) is None:
                return taken
        return steps

    def run_until_quiet(self, max_steps: int = 100_000, *, timers: bool = True,
                        until: Optional[Callable[["RingSimulator"], bool]] = None) -> int:
        """Random steps until quiet or ``until(self)``; returns steps taken.

        ``timers=False`` never fires a timer: tokens stay with their holders,
        as if every holder were paused. Exceeding ``max_steps`` raises: in these
        protocols a run that never quiets means a message circulates forever.
        """
        for taken in range(max_steps):
            if (until is not None and until(self)) or self.quiet():
                return taken
            if self.step_random(timers) is None:
                return taken
        raise RuntimeError(f"not quiet after {max_steps} steps")

    # --- commands and faults -----------------------------------------------

    def command(self, pos: int, event: Input) -> None:
        self._carry_out(pos, self.nodes[pos].handle(event))

    def restart(self, pos: int) -> None:
        """A new incarnation at ``pos``: only the persisted epoch survives.

        What was in flight *to* the node died with its pipe ends; what it had
        sent is already in its neighbours' channels and stays there.
        """
        self.nodes[pos] = self._fresh_node(pos)
        self.timers = {key: d for key, d in self.timers.items() if key[0] != pos}
        for side in Side:
            self.channels[(pos, side)].clear()
        self._record(pos, NODE_STARTED, {"restart": True})

    def drop_in_flight(self, message_type: type = Token) -> int:
        """Fault: every in-flight message of that type vanishes (a reader died)."""
        dropped = 0
        for (pos, side), channel in self.channels.items():
            kept = deque(m for m in channel if not isinstance(m, message_type))
            lost = len(channel) - len(kept)
            if lost:
                self.channels[(pos, side)] = kept
                self._record(pos, FAULT, {"fault": "drop_in_flight", "side": side.value,
                                            "type": message_type.__name__, "count": lost})
                dropped += lost
        return dropped

    # --- elections and snapshots ---------------------------------------------

    def run_quick(self, max_steps: int) -> int:
        """Deliver messages, a random non-empty channel at a time, until none is left;
        no timer fires. Raises past ``max_steps`` (something circulates)."""
        busy, busy_set, channels, rng = self._busy, self._busy_set, self.channels, self.rng
        taken = 0
        while busy:
            i = rng.randrange(len(busy))
            key = busy[i]
            if not channels[key]:
                busy[i] = busy[-1]
                busy.pop()
                busy_set.discard(key)
                continue
            if taken >= max_steps:
                raise RuntimeError(f"not quiet after {max_steps} steps")
            self.take(Delivery(*key))
            taken += 1
        return taken

    def elect(self, candidates: Iterable[int], round_: Optional[int] = None, *,
              timers: bool = False, max_steps: int = 100_000,
              quick: bool = False) -> ElectionOutcome:
        """Start a round at the candidate *positions* at once, run until quiet.

        The round defaults to one above every fence, as the harness chooses it.
        ``timers=False`` keeps any token still, so the new one stays with its
        creator; message counts do not depend on it.
        """
        if round_ is None:
            round_ = max(node.epoch for node in self.nodes) + 1
        for pos in candidates:
            self.command(pos, StartElection(round_))
        if quick:
            steps = self.run_quick(max_steps)
        else:
            steps = self.run_until_quiet(max_steps, timers=timers)
        leaders = tuple(e.node_id for e in self.events_of(LEADER, round=round_))
        own = sum(count for (r, kind), count in self.sent_in_round.items()
                  if r == round_ and kind != Elected.__name__)
        return ElectionOutcome(round_, leaders, own, self.sent_in_round[(round_, "Elected")],
                               steps)

    def start_snapshot(self, pos: int) -> SnapshotId:
        self._snapshot_counter += 1
        sid = SnapshotId(pos, self._snapshot_counter)
        self.command(pos, StartSnapshot(sid))
        return sid

    def snapshot_result(self, sid: SnapshotId) -> SnapshotResult:
        """Add up the parts reported so far, as the harness does.

        Only tokens of the highest epoch any part knows (a token's epoch or a
        node's fence) count: an older token is fenced wherever it goes next, so
        it is not "the" token. 0 means lost, 1 healthy, 2+ duplicated.
        """
        parts = self.events_of(SNAPSHOT_PART, sid=[sid.initiator, sid.counter])
        tokens = [epoch for part in parts for epoch in part.fields["tokens"]]
        top = max(tokens + [part.fields["node_epoch"] for part in parts], default=0)
        return SnapshotResult(sid, tokens.count(top), top,
                              len({part.pos for part in parts}) == self.n)

    # --- queries -------------------------------------------------------------

    def events_of(self, kind: str, **fields) -> list[Event]:
        return [e for e in self.events
                if e.kind == kind and all(e.fields.get(k) == v for k, v in fields.items())]

    def in_flight(self, message_type: type = object) -> list[RingMessage]:
        return [m for channel in self.channels.values() for m in channel
                if isinstance(m, message_type)]

    def tokens(self, epoch: Optional[int] = None) -> int:
        """Tokens held anywhere or in flight (of ``epoch``, if given)."""
        found = self.in_flight(Token) + [t for node in self.nodes for t in node.token.held]
        return sum(1 for t in found if epoch is None or t.epoch == epoch)
