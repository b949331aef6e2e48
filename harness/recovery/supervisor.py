"""The supervisor: restart the dead, bypass the stopped, rejoin the ones that run again.

Erlang/OTP's restart intensity, per node: more than ``max_restarts`` deaths of one
node within ``window_s`` and the supervisor gives up on it: the node is bypassed
(its neighbours are spliced together), reported (``supervisor_gave_up``) and left
dead. A node that was bypassed while stopped and runs again (SIGCONT) is put back
between its neighbours; any token it kept is stale by then, and the fence drops it.
"""
from __future__ import annotations

import time

from emulator.records import SUPERVISOR_GAVE_UP

from ..cluster import Cluster

MAX_RESTARTS = 3
RESTART_WINDOW_S = 2.0


class Supervisor:
    def __init__(self, cluster: Cluster, *, max_restarts: int = MAX_RESTARTS,
                 window_s: float = RESTART_WINDOW_S) -> None:
        self.cluster = cluster
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.given_up: set[int] = set()
        self._restart_times: dict[int, list[float]] = {}

    def supervise(self) -> list[int]:
        """Restart the dead (within the restart intensity); rejoin bypassed nodes that
        run again. Returns the positions restarted."""
        restarted = []
        for node in self.cluster.nodes:
            if node.pos in self.given_up:
                continue
            if not node.running and not node.bypassed:
                if self.may_restart(node.pos):
                    self.cluster.restart(node.pos)
                    restarted.append(node.pos)
            elif node.bypassed and node.running and not node.suspended \
                    and self.cluster.status(node.pos) == "running":
                self.cluster.rejoin(node.pos)
        return restarted

    def repair(self, missing: list[int], mute_before: list[int]) -> tuple[list, list, list]:
        """Make the nodes that did not answer a snapshot answer the next one: restart
        the dead, bypass the stopped. A node that runs but stayed mute is only noted
        the first time (its part may just be late) and restarted if it stays mute
        (it is in ``mute_before``). Returns (restarted, bypassed, mute) positions."""
        restarted, bypassed, mute = [], [], []
        for pos in missing:
            status = self.cluster.status(pos)
            if status == "stopped" and len(self.cluster.active_positions()) > 2:
                self.cluster.bypass(pos)
                bypassed.append(pos)
            elif status in ("dead", "zombie") or pos in mute_before:
                if pos in self.given_up or not self.may_restart(pos):
                    continue
                self.cluster.restart(pos)
                restarted.append(pos)
            else:
                mute.append(pos)
        return restarted, bypassed, mute

    def may_restart(self, pos: int) -> bool:
        now = time.monotonic()
        recent = [t for t in self._restart_times.get(pos, []) if now - t < self.window_s]
        if len(recent) >= self.max_restarts and len(self.cluster.active_positions()) > 2:
            self.given_up.add(pos)
            self.cluster.note(pos, SUPERVISOR_GAVE_UP, restarts=len(recent),
                              window_s=self.window_s)
            self.cluster.bypass(pos)
            return False
        self._restart_times[pos] = recent + [now]
        return True
