"""The node process: real links, real timers, one protocol state machine.

This is the only code inside a node that does I/O. It waits (one epoll
selector, the same readiness as ``multiprocessing.connection.wait`` without
rebuilding it every call) on its two ring links and its control connection,
fires due timers, decodes frames, feeds the ``NodeProtocol`` and carries out
its outputs, and reports every event to the harness stamped with
``time.monotonic_ns()``.

Events are batched: a loop pass collects them and writes them as one message
(``control.pack_events``) before it next waits, and before any ring send, so an
event the protocol reports before a send is on the control pipe before the
message leaves. One write and one wake-up of the harness per pass instead of per
event, with every event's order and stamp unchanged.

Failure is expected here and becomes events: EOF or a reset on a link is
``link_down``; a frame that does not decode is ``bad_frame`` and is dropped; a
failed send is ``link_down`` plus ``message_lost``. EOF on the control
connection means the harness is gone, and the node exits rather than orphan
itself. SIGTERM is caught so the node can say goodbye (``node_stopping``),
which is exactly what SIGKILL does not allow.
"""
from __future__ import annotations

import ctypes
import gc
import heapq
import itertools
import os
import resource
import selectors
import signal
import socket
import sys
import time
from collections import Counter
from multiprocessing import reduction
from multiprocessing.connection import Connection

from emulator.records import (
    BAD_FRAME, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, ELECTED, ELECTION_DROPPED,
    ELECTION_SENT, ELECTION_SWALLOWED, LINK_RESTORED, LINK_RETIRED, LINK_SEVERED,
    MARKER_RECEIVED, NODE_CRASHED, NODE_STARTED, NODE_STATS, NODE_STOPPING, TASK_STEP,
    TOKEN_PASSED, TOKEN_RECEIVED,
)

from ..protocol.messages import CUT, EOF, NEVER_WIRED, SEND_FAILED
from ..protocol import (
    ApplyTask, ElectionMessage, Leave, LinkDown, LinkUp, NodeProtocol, PersistEpoch, Received, Report,
    Send, SendFailed, SetTimer, Side, StartElection, TaskResult, TimerFired,
)
from .codec import MAX_FRAME, BadFrame, decode, encode
from .control import NodeSpec, Rewire, Scheduled, Shutdown, pack_events
from .link_shim import CutLink, LinkShims, SetLinkFault
from .state_file import EpochFile
from .task_store import TaskStore

_LINK_ERRORS = (EOFError, ConnectionResetError, BrokenPipeError)
# Per-message steps of a snapshot or an election, which NodeSpec.report_forwarding
# may silence.
FORWARDING_REPORTS = frozenset((MARKER_RECEIVED, CANDIDATE_FORWARDED,
                                CANDIDATE_SWALLOWED, ELECTED, ELECTION_SENT,
                                ELECTION_SWALLOWED, ELECTION_DROPPED))


def node_main(spec: NodeSpec, control: Connection, left: Connection | None,
              right: Connection | None) -> None:
    """Entry point of a node process (the ``multiprocessing.Process`` target)."""
    # Under fork the harness's whole heap is shared with this process page by page;
    # a collection would write into every inherited object's header and copy the
    # pages. Frozen, the collector leaves what was inherited alone. (The harness
    # forks with the collector off, so none ran here before this line.)
    gc.freeze()
    gc.enable()
    if spec.close_inherited_fds:
        _close_inherited(control, left, right)
    # Ctrl-C reaches the whole process group; stopping nodes is the harness's job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    runtime = NodeRuntime(spec, control, left, right)
    try:
        runtime.run()
    except Exception as crash:
        # A bug, not a fault: say what it was before dying (exit status 1), so the
        # checker can name it (unexpected_exit) instead of a silent restart.
        runtime.report_crash(crash)
        raise
    if runtime.terminated:
        sys.exit(128 + signal.SIGTERM)


def _close_inherited(*own: Connection | None) -> None:
    """Close every descriptor inherited under fork but this node's own, so that no
    sibling's death is hidden by a copy of its pipe end kept here. A few
    ``close_range`` calls, whatever the harness holds: no list of N descriptors
    to build in the harness or to walk here. Multiprocessing's sentinel pipe is
    closed with the rest; the harness waits on a pidfd instead."""
    keep = {0, 1, 2}
    keep.update(conn.fileno() for conn in own if conn is not None)
    for stream in (sys.stdin, sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            keep.add(stream.fileno())
        except (AttributeError, ValueError, OSError):  # closed, or not a real file
            pass
    low = 0
    for fd in sorted(keep):
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, _highest_descriptor() + 1)


def _highest_descriptor() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this node when its parent dies.

    EOF on the control connection already ends a running node when the harness
    dies; a SIGSTOPped node reads nothing, so only the kernel can end it. Under
    forkserver the parent is the fork server, which exits with the harness."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# Bound once, in the harness before it forks: a fork node shares it. Binding it in
# the node cost ~150 KiB of private memory per node (ctypes builds a function
# object and its prototype there).
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


class NodeRuntime:
    def __init__(self, spec: NodeSpec, control: Connection, left: Connection | None,
                 right: Connection | None) -> None:
        self.spec = spec
        self.control = control
        self.epoch_file = EpochFile(spec.state_path)
        self.protocol = NodeProtocol(spec.node_id, epoch=self.epoch_file.load(),
                                     hold_ns=spec.hold_ns, fencing=spec.fencing,
                                     announce=spec.announce, algorithm=spec.algorithm,
                                     task=spec.task_path is not None)
        self.task_store = TaskStore(spec.task_path) if spec.task_path else None
        self.selector = selectors.DefaultSelector()
        self.links: dict[Side, Connection | None] = {Side.LEFT: None, Side.RIGHT: None}
        self.timers: dict[str, int] = {}
        self.scheduled: list[tuple[int, int, object]] = []  # heap of (at_ns, seq, command)
        self._sequence = itertools.count()
        self.sent: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.running = True
        self.terminated = False
        self._report_all = spec.token_report_every == 1 and spec.report_forwarding
        self._outbox: list[tuple[int, str, dict]] = []  # events of this loop pass
        # Link faults (link_shim.py): None while no link has one, so a healthy send
        # costs one attribute check.
        self.shims: LinkShims | None = None
        self.selector.register(control, selectors.EVENT_READ, "control")
        # SIGTERM wakes the selector through a socket (set_wakeup_fd), so the loop
        # ends between two steps: a handler that raised could cut a frame in half.
        self._wakeup_read, self._wakeup_write = socket.socketpair()
        for end in (self._wakeup_read, self._wakeup_write):
            end.setblocking(False)
        signal.set_wakeup_fd(self._wakeup_write.fileno())
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        self.selector.register(self._wakeup_read, selectors.EVENT_READ, "signal")
        self._emit(NODE_STARTED, {"epoch": self.protocol.epoch})
        for side, conn in ((Side.LEFT, left), (Side.RIGHT, right)):
            if conn is not None:
                self._attach(side, conn)
            else:
                self._feed(LinkDown(side, NEVER_WIRED))

    # --- the loop ------------------------------------------------------------

    def run(self) -> None:
        while self.running:
            self._flush_events()
            ready = self.selector.select(self._timeout())
            # Control first, then commands that are due, then ring messages: a start
            # scheduled for an instant before a message arrived comes before it.
            ready.sort(key=lambda key_events: key_events[0].data != "control")
            for key, _ in ready:
                if key.data == "control":
                    self._on_control()
                    continue
                self._feed_due_commands()
                if key.data == "signal":
                    self._on_signal()
                else:
                    self._on_link_readable(*key.data)
                if not self.running:
                    break
            if self.running:
                self._feed_due_commands()
                self._fire_due_timers()
                if self.shims is not None:
                    self._release_held()
        if self.shims is not None:  # held back on a link this process no longer serves
            for side in (Side.LEFT, Side.RIGHT):
                self.shims.lose_held(side, "exit")
        self._flush_events()
        self._close_everything()

    def _timeout(self) -> float | None:
        deadlines = list(self.timers.values())
        if self.scheduled:
            deadlines.append(self.scheduled[0][0])
        if self.shims is not None and self.shims.next_due_ns() is not None:
            deadlines.append(self.shims.next_due_ns())
        if not deadlines:
            return None
        return max(0.0, (min(deadlines) - time.monotonic_ns()) / 1e9)

    def _feed_due_commands(self) -> None:
        now = time.monotonic_ns()
        while self.scheduled and self.scheduled[0][0] <= now and self.running:
            _, _, command = heapq.heappop(self.scheduled)
            self._feed(command)

    def _fire_due_timers(self) -> None:
        now = time.monotonic_ns()
        for name in [n for n, due in self.timers.items() if due <= now]:
            del self.timers[name]
            self._feed(TimerFired(name))

    # --- links ---------------------------------------------------------------

    def _attach(self, side: Side, conn: Connection) -> None:
        self.links[side] = conn
        self.selector.register(conn, selectors.EVENT_READ, (side, conn))

    def _detach(self, conn: Connection) -> None:
        self.selector.unregister(conn)
        conn.close()

    def _on_link_readable(self, side: Side, conn: Connection) -> None:
        if conn.closed:
            return  # closed by a failed send earlier in this same batch
        current = self.links[side] is conn
        try:
            frame = conn.recv_bytes(MAX_FRAME)
        except _LINK_ERRORS:
            self._link_lost(side, conn, current)
            return
        except OSError as broken:
            # A length prefix past MAX_FRAME, or EOF inside a frame: nothing after it
            # can be trusted to start on a frame boundary, so the link is done for.
            self._emit(BAD_FRAME, {"side": side.value, "error": str(broken)})
            self._link_lost(side, conn, current)
            return
        try:
            message = decode(frame)
        except BadFrame as bad:
            self._emit(BAD_FRAME, {"side": side.value, "error": str(bad)})
            return
        self.received[type(message).__name__] += 1
        if isinstance(message, ElectionMessage):
            self._feed_started_rounds(message.round)
        self._feed(Received(side, message))

    def _schedule(self, scheduled: Scheduled) -> None:
        """One pending entry per command: a second schedule of the same command keeps
        the earlier instant (the harness arms far ahead, then fires)."""
        at_ns = scheduled.at_ns
        same = [entry for entry in self.scheduled if entry[2] == scheduled.command]
        if same:
            at_ns = min(at_ns, *(entry[0] for entry in same))
            self.scheduled = [entry for entry in self.scheduled if entry not in same]
            heapq.heapify(self.scheduled)
        heapq.heappush(self.scheduled, (at_ns, next(self._sequence), scheduled.command))

    def _feed_started_rounds(self, round_: int) -> None:
        """A neighbour's message of round r proves r has begun: a start scheduled for
        it here is due by causality, even if this node's clock got there late."""
        started = [entry for entry in self.scheduled
                   if isinstance(entry[2], StartElection) and entry[2].round <= round_]
        if not started:
            return
        self.scheduled = [entry for entry in self.scheduled if entry not in started]
        heapq.heapify(self.scheduled)
        for _, _, command in sorted(started):
            self._feed(command)

    def _link_lost(self, side: Side, conn: Connection, current: bool) -> None:
        self._detach(conn)
        if current:
            self.links[side] = None
            if self.shims is not None:
                self.shims.lose_held(side, "link_closed")
            self._feed(LinkDown(side, EOF))
        else:
            self._emit(LINK_RETIRED, {"side": side.value})

    def _send(self, side: Side, message) -> None:
        if self.shims is not None:  # the one check a link without a fault pays
            self.shims.send(side, message)
            return
        self._write(side, message)

    def _write(self, side: Side, message) -> None:
        conn = self.links[side]
        kind = type(message).__name__
        if conn is None:
            self._feed(SendFailed(side, message))
            return
        if self._outbox:
            self._flush_events()  # what the protocol reported before this send goes first
        try:
            conn.send_bytes(encode(message))
        except _LINK_ERRORS:
            # The kernel refused the bytes: the message never left (unlike a send into
            # a live socket whose reader dies later, which is a silent loss).
            self.links[side] = None
            self._detach(conn)
            self._feed(LinkDown(side, SEND_FAILED))
            self._feed(SendFailed(side, message))
            return
        self.sent[kind] += 1

    # --- control -------------------------------------------------------------

    def _on_control(self) -> None:
        try:
            command = self.control.recv()
        except _LINK_ERRORS:
            self.running = False  # the harness is gone: do not outlive it
            return
        if isinstance(command, Rewire):
            self._rewire(command.side)
        elif isinstance(command, Scheduled):
            self._schedule(command)
        elif isinstance(command, (SetLinkFault, CutLink)):
            self._on_link_fault(command)
        elif isinstance(command, Shutdown):
            self.exit_politely("shutdown")
            self.running = False
        else:
            self._feed(command)

    def _rewire(self, side: Side) -> None:
        new = Connection(reduction.recv_handle(self.control))
        # The old link (if any) is retired, not closed: what its peer wrote before the
        # switch is still in the socket and is read until EOF, or a token is lost.
        self._attach(side, new)
        self._feed(LinkUp(side))

    # --- link faults (link_shim.py) -------------------------------------------------

    def _on_link_fault(self, command) -> None:
        if self.shims is None:
            self.shims = LinkShims(self._write, self._refuse, self._emit)
        side = command.side
        if isinstance(command, CutLink):
            self.shims.lose_held(side, "cut")
            conn = self.links[side]
            self._emit(LINK_SEVERED, {"side": side.value, "one_way": False})
            if conn is not None:
                self.links[side] = None
                self._detach(conn)
                self._feed(LinkDown(side, CUT))
        else:
            was_cut = side in self.shims.shims and self.shims.shims[side].fault.cut_out
            self.shims.set(command)
            if command.fault.cut_out and not was_cut:
                self._emit(LINK_SEVERED, {"side": side.value, "one_way": True})
                self._feed(LinkDown(side, CUT))
            elif was_cut and not command.fault.cut_out:
                self._emit(LINK_RESTORED, {"side": side.value})
                if self.links[side] is not None:
                    self._feed(LinkUp(side))
        self._drop_idle_shims()

    def _refuse(self, side: Side, message) -> None:
        self._feed(SendFailed(side, message))

    def _release_held(self) -> None:
        self.shims.release_due()
        self._drop_idle_shims()

    def _drop_idle_shims(self) -> None:
        if self.shims is not None and self.shims.idle:
            self.shims = None

    def _on_signal(self) -> None:
        received = self._wakeup_read.recv(64)
        if signal.SIGTERM in received:
            self._feed(Leave())  # hand the token on: the one thing SIGKILL forbids
            self.exit_politely("SIGTERM")
            self.terminated = True
            self.running = False

    # --- protocol ------------------------------------------------------------

    def _feed(self, event) -> None:
        for output in self.protocol.handle(event):
            if isinstance(output, Send):
                self._send(output.side, output.message)
            elif isinstance(output, Report):
                if self._report_all or self._reported(output):
                    self._emit(output.kind, output.fields)
            elif isinstance(output, SetTimer):
                self.timers[output.name] = time.monotonic_ns() + output.delay_ns
            elif isinstance(output, PersistEpoch):
                self.epoch_file.save(output.epoch)
            elif isinstance(output, ApplyTask):
                self._apply_task(output)

    def _apply_task(self, task: ApplyTask) -> None:
        """The protocol decided; the runtime writes, records the attempt, and tells
        the protocol what the store answered."""
        outcome, store_epoch = self.task_store.apply(task.step, task.epoch, self.spec.pos,
                                                     os.getpid(), time.monotonic_ns())
        self._emit(TASK_STEP, {"step": task.step, "epoch": task.epoch, "outcome": outcome,
                               "store_epoch": store_epoch})
        self._feed(TaskResult(task.step, task.epoch, outcome, store_epoch))

    def _reported(self, report: Report) -> bool:
        """Every event is reported unless the ring samples token events (then only a
        receipt at a hop that is a multiple of K, and the pass of that same token) or
        keeps the per-message steps of snapshots and elections quiet."""
        if report.kind in FORWARDING_REPORTS:
            return self.spec.report_forwarding
        every = self.spec.token_report_every
        if report.kind == TOKEN_RECEIVED:
            return report.fields["hop"] % every == 0
        if report.kind == TOKEN_PASSED:
            return (report.fields["hop"] - 1) % every == 0
        return True

    def _emit(self, kind: str, fields: dict) -> None:
        self._outbox.append((time.monotonic_ns(), kind, fields))

    def _flush_events(self) -> None:
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            self.control.send_bytes(pack_events(batch))
        except _LINK_ERRORS:
            self.running = False

    def report_crash(self, crash: BaseException) -> None:
        self._emit(NODE_CRASHED, {"error": f"{type(crash).__name__}: {crash}"[:500]})
        self._flush_events()  # the batch would die with the process otherwise

    def exit_politely(self, reason: str) -> None:
        self._emit(NODE_STATS, {
            "role": self.protocol.role, "epoch": self.protocol.epoch,
            "tokens_held": self.protocol.token.tokens_held_total,
            "sent": dict(self.sent), "received": dict(self.received),
        })
        self._emit(NODE_STOPPING, {"reason": reason})

    def _close_everything(self) -> None:
        if self.task_store is not None:
            self.task_store.close()
        for key in list(self.selector.get_map().values()):
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
        self.selector.close()


__all__ = ["node_main", "NodeRuntime"]
