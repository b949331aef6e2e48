"""The supervisor: replace the dead, bypass the stopped, rejoin the ones that run again.

A dead node is taken out of the ring at once (its neighbours are spliced
together, ``bypass``) and a replacement process is started outside it; the
ring recovers without waiting for the replacement to boot, and the replacement
is rejoined when it runs. (On a ring of two, where no bypass is possible, the
node is restarted in place and waited for.) A stopped node is bypassed only
once it has been stopped for the detection timeout: a stopped process may
continue, which is the two-leaders story. A node that was bypassed while
stopped and runs again (SIGCONT) is put back between its neighbours; any token
it kept is stale by then, and the fence drops it.

Erlang/OTP's restart intensity, per node: more than ``max_restarts`` deaths of one
node within ``window_s`` and the supervisor gives up on it: the node is bypassed,
reported (``supervisor_gave_up``) and left dead.
"""
from __future__ import annotations

import time

from emulator.records import SUPERVISOR_GAVE_UP

from ..cluster import Cluster
from .view import RingView

MAX_RESTARTS = 3
RESTART_WINDOW_S = 2.0


class Supervisor:
    def __init__(self, cluster: Cluster, view: RingView, *,
                 max_restarts: int = MAX_RESTARTS, window_s: float = RESTART_WINDOW_S) -> None:
        self.cluster = cluster
        self.view = view
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.given_up: set[int] = set()
        self._restart_times: dict[int, list[float]] = {}

    def supervise(self) -> list[int]:
        """Replace the dead (within the restart intensity); rejoin bypassed nodes that
        run again. Returns the positions restarted."""
        restarted = []
        for node in self.cluster.nodes:
            if node.pos in self.given_up:
                continue
            if not node.running:  # dead, in the ring or already outside it
                if self.may_restart(node.pos):
                    self.replace(node.pos)
                    restarted.append(node.pos)
            elif node.bypassed and node.running and node.ready and not node.suspended \
                    and self.cluster.status(node.pos) == "running":
                self.cluster.rejoin(node.pos)
        return restarted

    def take_out_the_dead(self) -> list[int]:
        """Bypass every dead node still in the ring, and nothing more: the quick half
        of a replacement, done before a recovery counts the tokens (the process start
        waits until the recovery is over: a fork is the harness's slowest call)."""
        taken = []
        for node in self.cluster.nodes:
            if (not node.running and not node.bypassed and node.pos not in self.given_up
                    and len(self.cluster.active_positions()) > 2):
                self.cluster.bypass(node.pos)
                taken.append(node.pos)
        return taken

    def replace(self, pos: int) -> None:
        """A new process for a dead node: outside the ring if the ring can do without
        it for a moment, in place otherwise."""
        node = self.cluster.nodes[pos]
        if node.bypassed or len(self.cluster.active_positions()) > 2:
            if not node.bypassed:
                self.cluster.bypass(pos)
            self.cluster.replace_outside(pos)
        else:
            self.cluster.restart(pos)

    def repair(self, missing: list[int], mute_before: list[int]) -> tuple[list, list, list]:
        """Make the nodes that did not answer a snapshot answer the next one: replace
        the dead, bypass the nodes stopped for longer than the detection timeout. A
        node that runs but stayed mute is only noted the first time (its part may
        just be late) and restarted if it stays mute (it is in ``mute_before``).
        Returns (restarted, bypassed, mute) positions."""
        restarted, bypassed, mute = [], [], []
        for pos in missing:
            status = self.cluster.status(pos)
            if status == "stopped":
                if self._stopped_long_enough(pos) and len(self.cluster.active_positions()) > 2:
                    self.cluster.bypass(pos)
                    bypassed.append(pos)
            elif status in ("dead", "zombie") or pos in mute_before:
                if pos in self.given_up or not self.may_restart(pos):
                    continue
                if status == "dead" and not self.cluster.nodes[pos].running:
                    self.replace(pos)
                else:  # a zombie, or dead but not yet reaped: restart() reaps it first
                    self.cluster.restart(pos)
                restarted.append(pos)
            else:
                mute.append(pos)
        return restarted, bypassed, mute

    def paused_for_good(self, pos: int) -> bool:
        """Stopped by the harness (SIGSTOP) for longer than the detection timeout: it
        will not answer now, and it may be bypassed. (A stop the harness did not make
        is learnt from a snapshot that timed out waiting for it.)"""
        stopped_for = self.view.stopped_for_s(pos)
        return stopped_for is not None and stopped_for >= self.view.detection_timeout_s()

    def _stopped_long_enough(self, pos: int) -> bool:
        """Paused is not dead: bypass only after the detection timeout. (A node the
        harness did not stop itself has at least missed a whole snapshot.)"""
        stopped_for = self.view.stopped_for_s(pos)
        return stopped_for is None or stopped_for >= self.view.detection_timeout_s()

    def may_restart(self, pos: int) -> bool:
        now = time.monotonic()
        recent = [t for t in self._restart_times.get(pos, []) if now - t < self.window_s]
        bypassed = self.cluster.nodes[pos].bypassed
        if len(recent) >= self.max_restarts and (
                bypassed or len(self.cluster.active_positions()) > 2):
            self.given_up.add(pos)
            self.cluster.note(pos, SUPERVISOR_GAVE_UP, restarts=len(recent),
                              window_s=self.window_s)
            if not bypassed:
                self.cluster.bypass(pos)
            return False
        self._restart_times[pos] = recent + [now]
        return True
