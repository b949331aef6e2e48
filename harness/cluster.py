"""Cluster control: the harness owns every node process and every pipe end.

Ownership is the whole game. A ring link is one duplex ``Pipe`` (a Unix socket
pair); a node learns that its neighbour died only when the *last* descriptor
of the neighbour's end closes, so every end has exactly one owner: the node it
was made for. The harness creates each pair, hands the ends out and closes its
own copies at once. Under ``fork`` a child inherits every descriptor the harness
holds at that instant, so the child closes all but its own first thing; with
that, ``fork`` is as correct as ``spawn`` and ``forkserver`` and the cheapest to
start, hence the default.

Starting costs the same per node at any N (measured up to 4096 nodes, BENCHMARKS.md
section 5): links are made as the nodes are launched, so at most two ends wait
to be handed out; nothing per launch walks every node (the child closes what it
inherited with a few ``close_range`` calls, and the nodes are not left in
multiprocessing's list of children, which ``Process.start()`` polls one
``waitpid`` each); a child touches nothing it inherited per node (each page it
writes to becomes its own copy, so its memory would grow with N): it is forked
with multiprocessing's finalizer registry set aside; and the harness keeps three
descriptors per running node (its control end and multiprocessing's sentinel
pair), opening a pidfd only for the moment it signals or reaps.

Signals go through psutil, after checking that the pid still belongs to the
process we started (psutil compares creation times, so a recycled pid is never
touched). Reaping is ``Process.join()`` only: psutil's ``wait()`` would reap
behind multiprocessing's back and leave ``exitcode`` at None. Only the cluster
reaps its nodes (multiprocessing does not know them as children), so an unreaped
node's pid is its own and a pidfd opened on it names it.

A restarted node gets a new process, fresh pipes to both live neighbours and the
same position, ID and state file; the neighbours' new ends travel to them over
their control connections as passed descriptors (SCM_RIGHTS). Bypass splices a
node's neighbours together; rejoin puts it back. Link faults are set in the
sending node's link shim over its control connection and remembered here, so a
restarted node gets its links' faults back and no restart rewires a cut link:
the network's faults outlive a process. Expected failures (a node
gone, a dead neighbour) are events in the history, never exceptions.
"""
from __future__ import annotations

import contextlib
import gc
import multiprocessing
import multiprocessing.util
import os
import re
import select
import selectors
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from multiprocessing import reduction
from multiprocessing.connection import Connection
from typing import Callable

import psutil

from emulator.protocol import Side
from emulator.runtime import task_store
from emulator.runtime.control import EventReader, NodeSpec, Rewire, Shutdown
from emulator.runtime.link_shim import CutLink, LinkFault, SetLinkFault
from emulator.runtime.node_process import node_main

from emulator.records import (
    TASK_STORE,
    BYPASSED, FAULT, LINK_HANDED, NODE_EXITED, NODE_STARTED, REJOINED, RESTARTED,
    RING_STOPPING,
)

from .config import RingConfig, ensure_descriptor_budget
from .interrupts import deferred_interrupts

Record = dict
_GONE = (EOFError, ConnectionResetError, BrokenPipeError)
READY_TIMEOUT_S = 30.0
POLL_PASSES = 64
# After a poll that read something, the next one first lets events gather this long:
# while the harness sleeps on a timer rather than in epoll, a node's write wakes
# nobody, so a busy ring costs one harness wake-up per window instead of one per
# event. It bounds how late the harness sees an event (well under a millisecond);
# the first event after a quiet spell is seen at once.
GATHER_S = 0.0002
READY_PER_NODE_S = 0.2
STOP_GRACE_S = 2.0
STOP_GRACE_PER_NODE_S = 0.001
WAIT_SLICE_S = 0.01


class ClusterError(RuntimeError):
    """A control request that cannot be carried out (e.g. bypassing a dead ring)."""


@dataclass
class NodeHandle:
    pos: int
    node_id: int
    process: multiprocessing.process.BaseProcess | None = None
    control: Connection | None = None
    reader: EventReader | None = None  # reads what the node reports on ``control``
    _ps: psutil.Process | None = field(default=None, repr=False)
    incarnation: int = 0
    suspended: bool = False
    bypassed: bool = False
    exitcodes: list[int] = field(default_factory=list)
    pid: int | None = None  # kept here: a closed Process object no longer tells it
    ready: bool = False     # this incarnation reported node_started: it reads its links
    launch_ns: int = 0      # how long the harness took to launch this incarnation
    # Held only under forkserver, whose server (not the cluster) reaps the node: a
    # pidfd opened at launch names it even once its pid is free. Otherwise the node
    # is our unreaped child and a pidfd is opened when needed (see _signal).
    pidfd: int | None = None
    killed_by_harness: bool = False  # SIGKILLed by the harness itself (stop, restart)
    stopped_ns: int | None = None  # when the harness stopped it (SIGSTOP), if it did

    @property
    def ps(self) -> psutil.Process | None:
        """psutil's handle (pid + creation time), made on first use: until the cluster
        reaps the node its pid is its own, so later is as safe as at launch, and a
        launch spares reading /proc."""
        if self._ps is None and self.running and self.pid is not None:
            self._ps = psutil.Process(self.pid)
        return self._ps

    @ps.setter
    def ps(self, handle: psutil.Process | None) -> None:
        self._ps = handle

    @property
    def running(self) -> bool:
        """Started and not yet reaped (it may be stopped by SIGSTOP)."""
        return self.control is not None


class Cluster:
    """N node processes on a ring of pipes. Use as a context manager."""

    # Lessons only: False leaves every descriptor a fork child inherits open in it,
    # so siblings keep each other's pipe ends and a killed node's death is hidden
    # from its neighbours (no EOF). Default True; spawn and forkserver ignore it.
    close_inherited_fds = True
    # How long a poll lets events gather after one that read something (GATHER_S);
    # 0 reads each event as soon as it arrives (benchmarks compare the two).
    gather_s = GATHER_S

    def __init__(self, config: RingConfig, sink: Callable[[Record], None] | None = None,
                 state_dir: str | None = None) -> None:
        self.config = config
        self.sink = sink or (lambda record: None)
        self.context = multiprocessing.get_context(config.start_method)
        self.nodes = [NodeHandle(pos, node_id) for pos, node_id in enumerate(config.ids)]
        self._own_state_dir = state_dir is None
        self.state_dir = state_dir or _make_state_dir()
        # The leader's task store: the harness owns it, a leader's process writes to it.
        self.task_path = None
        if config.task:
            self.task_path = os.path.join(self.state_dir, "task.sqlite3")
            task_store.create(self.task_path, idempotent=config.task_idempotent,
                              fencing=config.task_fencing)
        self.selector = selectors.DefaultSelector()
        self._pending_ends: set[Connection] = set()  # made but not yet handed out
        self._gather_until = 0.0  # see GATHER_S
        self.link_faults: dict[tuple[int, Side], tuple[LinkFault, int]] = {}  # (pos, side)
        self.cuts: set[tuple[int, int]] = set()  # (left pos, right pos) links cut both ways

    # --- lifecycle ------------------------------------------------------------

    def __enter__(self) -> "Cluster":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        """Start every node, wired into a ring, and return once every node runs its
        loop. On any failure, leave nothing behind."""
        n = len(self.nodes)
        ensure_descriptor_budget(n)
        try:
            for pos, (left, right) in enumerate(self._ring_links(n)):
                self._launch(pos, left=left, right=right)
            self._await_ready(range(n))
        except BaseException:
            self.stop()
            raise

    def _ring_links(self, n: int):
        """(left, right) ends for positions 0..n-1. Each link is made just before the
        first of its two nodes is launched, so at most two ends wait in the harness
        (and in a fork child). Lessons (``close_inherited_fds`` False) make every
        link first, as a first attempt would: then every child inherits later
        nodes' ends, which is the hidden death they show."""
        def link() -> tuple[Connection, Connection]:
            pair = self.context.Pipe(duplex=True)
            self._pending_ends.update(pair)
            return pair

        made = [link() for _ in range(n)] if not self.close_inherited_fds else []
        # Link p joins p's right end (pair[0]) to p+1's left end (pair[1]).
        wrap = made[n - 1] if made else link()
        left = wrap[1]
        for pos in range(n):
            pair = wrap if pos == n - 1 else (made[pos] if made else link())
            yield left, pair[0]
            left = pair[1]

    def _await_ready(self, positions) -> None:
        # Under spawn or forkserver a child imports for a good while before it reads
        # anything; a snapshot sent then would time out and the node look mute.
        positions = list(positions)
        timeout_s = max(READY_TIMEOUT_S, READY_PER_NODE_S * len(positions))
        checked = 0  # positions before this one are ready (or gone): never rescanned

        def all_ready() -> bool:
            nonlocal checked
            while checked < len(positions) and (self.nodes[positions[checked]].ready
                                                 or not self.nodes[positions[checked]].running):
                checked += 1
            return checked == len(positions)

        if not self.wait_until(all_ready, timeout_s):
            late = [p for p in positions if not self.nodes[p].ready]
            raise ClusterError(f"nodes {late} did not start within {timeout_s:.0f} s")

    def stop(self, grace_s: float | None = None) -> None:
        """Ask every node to exit, kill the ones that will not (after ``grace_s``; by
        default 2 s plus 1 ms per node: thousands of exits queue on two cores), reap
        all of them. Ctrl-C and SIGTERM wait until this is done."""
        if grace_s is None:
            grace_s = STOP_GRACE_S + STOP_GRACE_PER_NODE_S * len(self.nodes)
        with deferred_interrupts():
            self._stop(grace_s)

    def _stop(self, grace_s: float) -> None:
        if any(n.running for n in self.nodes):
            # Marks where the end begins: the EOFs that follow are the shutdown's own.
            self._record(self.nodes[0], RING_STOPPING, {})
        for node in self.nodes:
            if node.running and node.suspended:
                self._signal(node, signal.SIGCONT, fault=False)
                node.suspended = False
            if node.running:
                self._send(node, Shutdown())
        deadline = time.monotonic() + grace_s
        while any(n.running for n in self.nodes) and time.monotonic() < deadline:
            self.poll(0.05)
        for node in self.nodes:
            if node.running:
                self._signal(node, signal.SIGKILL, fault=False)
        while any(n.running for n in self.nodes):
            self.poll(0.05)
        for end in self._pending_ends:
            end.close()
        self._pending_ends = set()
        self.selector.close()  # a stopped cluster stays stopped
        if self.task_path is not None and os.path.exists(self.task_path):
            self._record(self.nodes[0], TASK_STORE, task_store.contents(self.task_path))
            self.task_path = None
        if self._own_state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    # --- events -----------------------------------------------------------------

    def poll(self, timeout: float) -> int:
        """Read whatever nodes reported within ``timeout`` seconds; return how many.

        Each ready connection is read once per pass, every message that has arrived
        on it (``EventReader``), then another pass without waiting (the selector is
        level-triggered), a bounded number of times: ``Connection.poll(0)`` per
        message would build a selector each time."""
        count = 0
        gather = self._gather_until - time.monotonic()
        if gather > 0:
            time.sleep(min(gather, timeout))
            timeout = max(0.0, timeout - gather)
        ready = self.selector.select(timeout)
        for _pass in range(POLL_PASSES):
            if not ready:
                break
            for key, _ in ready:
                node: NodeHandle = key.data
                conn = key.fileobj
                if node.control is not conn:
                    continue  # reaped earlier in this pass
                events = node.reader.read()
                for t_ns, kind, fields in events:
                    if kind == NODE_STARTED:
                        node.ready = True
                    self._record(node, kind, fields, t_ns)
                count += len(events)
                if node.reader.ended:  # its last words are recorded: now its exit
                    self._reap(node)
            ready = self.selector.select(0)
        self._gather_until = time.monotonic() + self.gather_s if count else 0.0
        return count

    def wait_until(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """Read events until ``done()`` holds; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # Short: a condition may come true with time alone (a stop grows long).
            self.poll(min(remaining, WAIT_SLICE_S))
        return True

    def _record(self, node: NodeHandle, kind: str, fields: dict,
                t_ns: int | None = None) -> None:
        record = {"t_ns": t_ns if t_ns is not None else time.monotonic_ns(),
                  "pos": node.pos, "id": node.node_id, "pid": node.pid, "kind": kind}
        record.update(fields)
        self.sink(record)

    def note(self, pos: int, kind: str, **fields) -> None:
        """Record a harness-side event about node ``pos`` (a fault, a decision)."""
        self._record(self.nodes[pos], kind, fields)

    # --- commands to nodes ----------------------------------------------------------

    def send(self, pos: int, command) -> bool:
        """Send a protocol command; False if the node is not running."""
        node = self.nodes[pos]
        return node.running and self._send(node, command)

    def _send(self, node: NodeHandle, command) -> bool:
        try:
            node.control.send(command)
        except _GONE:
            return False
        return True

    # --- faults ---------------------------------------------------------------------

    def kill(self, pos: int) -> None:
        self._signal(self.nodes[pos], signal.SIGKILL)

    def terminate(self, pos: int) -> None:
        self._signal(self.nodes[pos], signal.SIGTERM)

    def suspend(self, pos: int) -> None:
        """SIGSTOP, and return once the OS reports the node stopped."""
        if self._signal(self.nodes[pos], signal.SIGSTOP):
            self.nodes[pos].suspended = True
            self.nodes[pos].stopped_ns = time.monotonic_ns()
            self._await_status(pos, lambda status: status in ("stopped", "dead"))

    def resume(self, pos: int) -> None:
        """SIGCONT, and return once the OS no longer reports the node stopped."""
        if self._signal(self.nodes[pos], signal.SIGCONT):
            self.nodes[pos].suspended = False
            self._await_status(pos, lambda status: status != "stopped")

    def _await_status(self, pos: int, reached, timeout_s: float = 5.0) -> None:
        # Signal delivery is asynchronous: kill(2) returns before the target stops.
        deadline = time.monotonic() + timeout_s
        while not reached(self.status(pos)):
            if time.monotonic() > deadline:
                raise ClusterError(f"node {pos} did not reach the expected state "
                                   f"in {timeout_s} s (it is {self.status(pos)})")
            time.sleep(0.001)

    def _signal(self, node: NodeHandle, signum: int, fault: bool = True) -> bool:
        """Signal the node's process, and only it. Three locks, outermost first:
        a reaped node is never signalled (until the cluster reaps it, and nothing
        else does, its pid cannot be reused); psutil's identity check (pid and
        creation time) must pass; and the signal goes through a pidfd, which names
        the process itself, not a number: creation times have a 10 ms resolution,
        a pidfd has none. The pidfd is opened here, on the unreaped pid, and closed
        at once: one descriptor less per node for the whole run."""
        if not node.running or node.ps is None:
            return False
        try:
            if not node.ps.is_running():
                return False
            if fault:
                self._record(node, FAULT, {"fault": signal.Signals(signum).name,
                                             "target_pos": node.pos, "signal": int(signum)})
            elif signum == signal.SIGKILL:
                node.killed_by_harness = True  # its exit is the harness's doing
            pidfd = node.pidfd if node.pidfd is not None else _open_pidfd(node.pid)
            if pidfd is None:
                node.ps.send_signal(signum)
                return True
            try:
                signal.pidfd_send_signal(pidfd, signum)
            finally:
                if pidfd != node.pidfd:
                    os.close(pidfd)
        except (psutil.NoSuchProcess, ProcessLookupError):
            return False
        return True

    # --- restart, bypass, rejoin ----------------------------------------------------

    def restart(self, pos: int) -> None:
        """A new process at ``pos``: same ID and state file, fresh links to live neighbours."""
        node = self.nodes[pos]
        if node.running:
            self._signal(node, signal.SIGKILL, fault=False)
            while node.running:
                self.poll(0.05)
        node.bypassed = False
        left, right = self._neighbour(pos, -1), self._neighbour(pos, +1)
        left_end = None if (left, pos) in self.cuts else self._link_to(left, Side.RIGHT)
        right_end = None if (pos, right) in self.cuts else self._link_to(right, Side.LEFT)
        self._launch(pos, left=left_end, right=right_end)
        self._record(node, RESTARTED, {"incarnation": node.incarnation})
        self._await_ready([pos])

    def replace_outside(self, pos: int) -> None:
        """Start a new process at a dead ``pos`` that is bypassed, and return at once.

        The ring goes on without it (its neighbours are spliced together); the
        replacement boots meanwhile and is rejoined once it runs (``rejoin``). So a
        recovery never waits for a process to start, whatever the start method."""
        node = self.nodes[pos]
        if node.running or not node.bypassed:
            raise ClusterError(f"node {pos} must be dead and bypassed to be replaced outside")
        self._launch(pos, left=None, right=None)
        self._record(node, RESTARTED, {"incarnation": node.incarnation, "outside": True})

    def bypass(self, pos: int) -> None:
        """Splice the neighbours of ``pos`` together; ``pos`` stays as it is, outside."""
        if sum(not n.bypassed for n in self.nodes) <= 2:
            raise ClusterError(f"cannot bypass node {pos}: the ring would have fewer than "
                               "2 nodes")
        left, right = self._neighbour(pos, -1), self._neighbour(pos, +1)
        self.nodes[pos].bypassed = True
        self._record(self.nodes[pos], BYPASSED, {"left_pos": left, "right_pos": right})
        self._splice(left, right)

    def rejoin(self, pos: int) -> None:
        """Put a bypassed (and running) node back between its neighbours."""
        node = self.nodes[pos]
        if not node.bypassed:
            return
        if not node.running:
            self.restart(pos)
            return
        node.bypassed = False
        left, right = self._neighbour(pos, -1), self._neighbour(pos, +1)
        self._record(node, REJOINED, {"left_pos": left, "right_pos": right})
        self._splice(left, pos)
        self._splice(pos, right)

    # --- link faults (emulator/runtime/link_shim.py) -----------------------------------

    def set_link_fault(self, pos: int, side: Side, fault: LinkFault, seed: int = 0) -> None:
        """From now on the link from ``pos`` towards its ``side`` neighbour does
        ``fault`` to what ``pos`` sends on it (replacing its previous fault)."""
        node = self.nodes[pos]
        if fault.idle:
            self.link_faults.pop((pos, side), None)
        else:
            self.link_faults[(pos, side)] = (fault, seed)
        self._record(node, FAULT, {"fault": "link_fault" if not fault.idle else "link_clear",
                                   "target_pos": pos, "side": side.value,
                                   "to_pos": self._neighbour(pos, _STEP[side]),
                                   "link": fault.as_fields(), "signal": None,
                                   "target_pid": node.pid})
        if node.running:
            self._send(node, SetLinkFault(side, fault, seed))

    def link_fault(self, pos: int, side: Side) -> LinkFault:
        return self.link_faults.get((pos, side), (LinkFault(), 0))[0]

    def cut_link(self, pos: int, side: Side) -> tuple[int, int]:
        """Close the link between ``pos`` and its ``side`` neighbour: both see EOF.
        Returns the link as (left pos, right pos)."""
        other = self._neighbour(pos, _STEP[side])
        link = (pos, other) if side is Side.RIGHT else (other, pos)
        if link in self.cuts:
            return link
        self.cuts.add(link)
        left = self.nodes[link[0]]  # recorded at the left end, where its heal is
        self._record(left, FAULT, {"fault": "link_cut", "target_pos": left.pos,
                                   "side": Side.RIGHT.value, "to_pos": link[1],
                                   "signal": None, "target_pid": left.pid})
        if not self.send(pos, CutLink(side)):  # pos is down: close the other end instead
            self.send(other, CutLink(side.opposite))
        return link

    def heal_link(self, left: int, right: int) -> None:
        """A fresh link for a cut one, handed to both ends as a rejoin does."""
        if (left, right) not in self.cuts:
            return
        self.cuts.discard((left, right))  # first: _splice would not wire a cut link
        self._record(self.nodes[left], FAULT, {"fault": "link_heal", "target_pos": left,
                                               "side": Side.RIGHT.value, "to_pos": right,
                                               "signal": None,
                                               "target_pid": self.nodes[left].pid})
        if self.nodes[left].running and self.nodes[right].running:
            self._splice(left, right)
        # Otherwise the down end is wired in when it is restarted.

    def partition(self, after: list[int]) -> list[list[int]]:
        """Cut the link to the right of each position in ``after``: the ring falls
        into arcs (returned, each from left to right)."""
        for pos in after:
            self.cut_link(pos, Side.RIGHT)
        return self.arcs()

    def heal_all(self) -> None:
        for left, right in sorted(self.cuts):
            self.heal_link(left, right)

    def arcs(self) -> list[list[int]]:
        """The ring's positions grouped by the cut links between them."""
        active = self.active_positions()
        if not self.cuts:
            return [active]
        starts = [right for left, right in sorted(self.cuts)]
        arcs = []
        for start in starts:
            arc, pos = [start], start
            while (pos, self._neighbour(pos, +1)) not in self.cuts:
                pos = self._neighbour(pos, +1)
                arc.append(pos)
            arcs.append(arc)
        return arcs

    def network_faulty(self) -> bool:
        """Some link is cut or has a fault: a node's silence may be the network's."""
        return bool(self.cuts or self.link_faults)

    def attach_probe(self, pos: int, side: Side) -> Connection:
        """Give node ``pos`` a fresh ``side`` link whose other end the caller keeps.

        For tests and lessons: write anything into it, even raw bytes. The node's
        old link on that side is retired (read until EOF), so the ring goes on."""
        probe, theirs = self.context.Pipe(duplex=True)
        if not self._hand_over(pos, side, theirs):
            probe.close()
            raise ClusterError(f"node {pos} is not running")
        return probe

    def _splice(self, left: int, right: int) -> None:
        """A fresh link from ``left``'s right side to ``right``'s left side (unless
        the harness cut the link between them: it stays cut until healed)."""
        if (left, right) in self.cuts:
            return
        left_end, right_end = self.context.Pipe(duplex=True)
        self._hand_over(left, Side.RIGHT, left_end)
        self._hand_over(right, Side.LEFT, right_end)

    def _link_to(self, neighbour: int, neighbour_side: Side) -> Connection | None:
        """Make a link to ``neighbour``, hand it its end; return ours to give away."""
        ours, theirs = self.context.Pipe(duplex=True)
        if not self._hand_over(neighbour, neighbour_side, theirs):
            ours.close()  # the neighbour is down too: it will wire itself when restarted
            return None
        self._pending_ends.add(ours)
        return ours

    def _hand_over(self, pos: int, side: Side, end: Connection) -> bool:
        node = self.nodes[pos]
        try:
            if not node.running:
                return False
            node.control.send(Rewire(side))
            reduction.send_handle(node.control, end.fileno(), node.pid)
        except _GONE:
            return False
        finally:
            end.close()  # sent or not, the harness keeps no copy
        self._record(node, LINK_HANDED, {"side": side.value})
        return True

    def right_of(self, pos: int) -> int:
        """The next position on the ring as wired now (bypassed nodes skipped)."""
        return self._neighbour(pos, +1)

    def left_of(self, pos: int) -> int:
        """The previous position on the ring as wired now (bypassed nodes skipped)."""
        return self._neighbour(pos, -1)

    def _neighbour(self, pos: int, step: int) -> int:
        n = len(self.nodes)
        other = (pos + step) % n
        while self.nodes[other].bypassed and other != pos:
            other = (other + step) % n
        return other

    # --- processes ------------------------------------------------------------------

    def _launch(self, pos: int, left: Connection | None, right: Connection | None) -> None:
        with deferred_interrupts():  # a started process is always a recorded one
            self._launch_now(pos, left, right)

    def _launch_now(self, pos: int, left: Connection | None,
                    right: Connection | None) -> None:
        node = self.nodes[pos]
        began = time.perf_counter_ns()
        harness_end, node_end = self.context.Pipe(duplex=True)
        own = {c for c in (left, right, node_end) if c is not None}
        close = self.config.start_method == "fork" and self.close_inherited_fds
        spec = NodeSpec(pos=pos, node_id=node.node_id, hold_ns=self.config.hold_ns,
                        fencing=self.config.fencing, announce=self.config.announce,
                        state_path=os.path.join(self.state_dir, f"node-{pos}.json"),
                        close_inherited_fds=close,
                        token_report_every=self.config.token_report_every,
                        report_forwarding=self.config.report_forwarding,
                        algorithm=self.config.algorithm,
                        task_path=self.task_path)
        process = self.context.Process(target=node_main, name=f"ringemu-node-{pos}",
                                       args=(spec, node_end, left, right), daemon=True)
        collecting = gc.isenabled()
        gc.disable()  # no collection in the child before it freezes what it inherited
        try:
            with _finalizers_set_aside():
                process.start()
        finally:
            if collecting:
                gc.enable()
            for conn in own:
                conn.close()
                self._pending_ends.discard(conn)
        # The cluster alone reaps its nodes: left in multiprocessing's list of
        # children, every later Process.start() would poll each (O(N) per launch)
        # and could reap one behind our back, freeing its pid for reuse.
        multiprocessing.process._children.discard(process)
        node.process = process
        node.control = harness_end
        node.reader = EventReader(harness_end)
        node.pid = process.pid
        node.ps = None  # made when first needed (NodeHandle.ps)
        if self.config.start_method == "forkserver":
            node.pidfd = _open_pidfd(process.pid)
        node.incarnation += 1
        node.suspended = False
        node.ready = False
        node.killed_by_harness = False
        self.selector.register(harness_end, selectors.EVENT_READ, node)
        node.launch_ns = time.perf_counter_ns() - began
        for (faulty, side), (fault, seed) in self.link_faults.items():
            if faulty == pos:  # the network's fault, not the process's: it stays
                self._send(node, SetLinkFault(side, fault, seed))

    def _reap(self, node: NodeHandle) -> None:
        """The node's control connection hit EOF: the process is exiting. Reap it."""
        with deferred_interrupts():  # half-reaped would be a zombie nobody tracks
            self._reap_now(node)

    def _reap_now(self, node: NodeHandle) -> None:
        self.selector.unregister(node.control)
        node.control.close()
        node.control = None
        node.reader = None
        process = node.process
        if not _exits_within(node, 5.0):  # closed its control but lingers: make sure
            node.killed_by_harness = True
            node.ps.kill()
        process.join()
        exitcode = process.exitcode
        process.close()  # its sentinel pipe: two descriptors per incarnation otherwise
        if node.pidfd is not None:
            os.close(node.pidfd)
            node.pidfd = None
        node.exitcodes.append(exitcode)
        fields = {"exitcode": exitcode}
        if exitcode < 0:
            fields["signal"] = signal.Signals(-exitcode).name
        if node.killed_by_harness:
            fields["by_harness"] = True  # not a fault, not on its own: the harness's kill
        self._record(node, NODE_EXITED, fields)
        node.suspended = False

    # --- queries ------------------------------------------------------------------

    def active_positions(self) -> list[int]:
        """Positions on the ring now (not bypassed), running or not."""
        return [n.pos for n in self.nodes if not n.bypassed]

    def status(self, pos: int) -> str:
        """'running', 'stopped' (SIGSTOP), 'dead' or 'zombie', as the OS says."""
        node = self.nodes[pos]
        if not node.running or node.ps is None:
            return "dead"
        try:
            status = node.ps.status()
        except psutil.NoSuchProcess:
            return "dead"
        if status == psutil.STATUS_STOPPED:
            return "stopped"
        if status == psutil.STATUS_ZOMBIE:
            return "zombie"
        return "running"


_STEP = {Side.LEFT: -1, Side.RIGHT: +1}


@contextlib.contextmanager
def _finalizers_set_aside():
    """Fork with multiprocessing's finalizer registry empty, then put it back.

    The registry holds one finalizer per running node (each ``Popen`` closes its
    sentinel pipe with one), and a fork child clears the registry it inherits
    first thing: it writes to every one of those objects and copies every page
    they sit on, so each node's private memory and start grew with the number of
    nodes started before it. A child that inherits an empty registry clears
    nothing of ours; the finalizer the new ``Popen`` registers lands in the empty
    one and joins the rest afterwards."""
    registry = multiprocessing.util._finalizer_registry
    multiprocessing.util._finalizer_registry = {}
    try:
        yield
    finally:
        registry.update(multiprocessing.util._finalizer_registry)
        multiprocessing.util._finalizer_registry = registry


def _open_pidfd(pid: int) -> int | None:
    """A pidfd for ``pid`` (opened while the child is unreaped, so surely ours)."""
    if not hasattr(os, "pidfd_open") or not hasattr(signal, "pidfd_send_signal"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:  # an old kernel, or the child already gone: psutil still guards
        return None


def _exits_within(node: NodeHandle, timeout_s: float) -> bool:
    """Wait, without reaping, until the node's process has ended. A fork node
    closes multiprocessing's sentinel pipe with its other inherited descriptors,
    so a pidfd is what becomes readable when it ends."""
    pidfd = node.pidfd if node.pidfd is not None else _open_pidfd(node.pid)
    if pidfd is None:  # no pidfd here (Linux < 5.3): the sentinel, kept unless fork
        node.process.join(timeout_s)
        return node.process.exitcode is not None
    try:
        waiter = select.poll()  # not select(): a ring of thousands has pidfds past 1023
        waiter.register(pidfd, select.POLLIN)
        return bool(waiter.poll(timeout_s * 1000))
    finally:
        if pidfd != node.pidfd:
            os.close(pidfd)


def _make_state_dir() -> str:
    """A fresh folder for the epoch files, named after this harness's pid; folders
    left by harnesses that died (SIGKILL allows no cleanup) are removed first."""
    parent = _state_parent() or tempfile.gettempdir()
    for entry in os.scandir(parent):
        if _abandoned(entry):
            shutil.rmtree(entry.path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"ringemu-state-{os.getpid()}-", dir=parent)


def _abandoned(entry: os.DirEntry) -> bool:
    """A state folder (a real folder, not a link) that this user owns and whose
    harness is gone: no process has its pid, or the one that has it started after
    the folder last changed (the pid was reused). Another user's folders are never
    touched, whatever their name says."""
    owner = re.fullmatch(r"ringemu-state-(\d+)-\w+", entry.name)
    if owner is None:
        return False
    try:
        if not entry.is_dir(follow_symlinks=False):
            return False
        info = entry.stat(follow_symlinks=False)
    except OSError:
        return False
    if info.st_uid != os.geteuid():
        return False
    try:
        started = psutil.Process(int(owner.group(1))).create_time()
    except (psutil.NoSuchProcess, ValueError, OverflowError):
        return True
    except psutil.Error:
        return False  # not ours to look at: not ours to remove
    return started > info.st_ctime + 1.0  # creation times have a coarse resolution


def _state_parent() -> str | None:
    """tmpfs when there is one: an epoch file must survive its process, not the
    machine, and a save costs ~30 µs there against ~1 ms on ext4 (measured), which
    every candidate pays at the same instant of an election."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
