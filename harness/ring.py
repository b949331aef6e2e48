"""One ring and everything that watches it, started and always stopped as one.

``with Ring(config, seed=S) as ring:`` starts every node process and gives the
parts their one wiring: the history records every event (and writes the trace),
the cluster owns the processes and pipes, the view derives the ring's state
from the events, the supervisor restarts and bypasses nodes, and the pipeline
recovers the token. Leaving the block stops the ring, reaps every process,
records what was left behind (``hygiene``: invariant 7) and closes the trace,
whatever happened inside. Every command and every real-process test makes its
rings here, so they all judge the same way.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time

import psutil

from emulator.records import HYGIENE

from .cluster import Cluster
from .config import RingConfig
from .history import History, Narrator
from .recovery import RecoveryPipeline, RingView, Supervisor
from .recovery.detector import SilenceDetector


class Ring:
    def __init__(self, config: RingConfig, *, seed: int = 0, candidates: int | None = None,
                 trace_path: str | None = None, narrate: bool = False,
                 hidden_death: bool = False, state_dir: str | None = None,
                 cluster_class: type[Cluster] = Cluster) -> None:
        self.config = config
        ensure_start_method_helpers(config.start_method)
        self._me = psutil.Process()
        self._fds_before = self._me.num_fds()  # before the trace file is opened
        self.history = History(trace_path)
        self._trace_open = trace_path is not None
        if narrate:
            self.history.subscribe(Narrator(sys.stderr, start_ns=time.monotonic_ns()))
        self.cluster = cluster_class(config, sink=self.history, state_dir=state_dir)
        # Lessons only: the hidden death (see Cluster.close_inherited_fds).
        self.cluster.close_inherited_fds = not hidden_death
        self.view = RingView(self.cluster, self.history,
                             SilenceDetector(floor_s=config.detector_floor_ms / 1e3))
        self.supervisor = Supervisor(self.cluster, self.view)
        self.pipeline = RecoveryPipeline(self.cluster, self.view, self.supervisor,
                                         seed=seed, candidates=candidates)
        self.stopped = False

    @property
    def nodes(self) -> int:
        return self.config.nodes

    @property
    def records(self) -> list:
        return self.history.records

    def mark(self) -> int:
        """A place in the history: ``wait_for(..., since=mark)`` looks only after it."""
        return len(self.history.records)

    def wait_for(self, predicate, *, since: int = 0, timeout_s: float):
        """The first record after ``since`` that satisfies ``predicate``, read as it
        arrives; None if none came within ``timeout_s``."""
        watch = self.history.watch(predicate, since)
        self.cluster.wait_until(watch.seen, timeout_s)
        return watch.found

    def start(self) -> "Ring":
        try:
            self.cluster.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __enter__(self) -> "Ring":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop and reap every node, record the hygiene, close the trace. Idempotent."""
        if self.stopped:
            return
        self.stopped = True
        try:
            self.cluster.stop()
            self._record_hygiene()
        finally:
            self.history.close()

    def _record_hygiene(self) -> None:
        infrastructure = infrastructure_pids()
        children = [c for c in descendants(self._me) if c.pid not in infrastructure]
        zombies = [c.pid for c in children if _is_zombie(c)]
        self.cluster.note(0, HYGIENE, leftover_pids=[c.pid for c in children],
                          zombies=zombies, fds_before=self._fds_before,
                          fds_after=self._me.num_fds() - (1 if self._trace_open else 0))


def ensure_start_method_helpers(method: str) -> None:
    """The fork server and the resource tracker keep descriptors for the whole
    session: start them before a ring counts its descriptors, or they look like
    its leak."""
    if method in ("spawn", "forkserver"):
        from multiprocessing import resource_tracker  # spawn's first child starts it
        resource_tracker.ensure_running()
    if method == "forkserver":
        from multiprocessing import forkserver
        forkserver.ensure_running()
    multiprocessing.get_context(method)


def infrastructure_pids() -> set[int]:
    """multiprocessing's own long-lived helpers: not a ring's leftovers."""
    pids = set()
    from multiprocessing import forkserver, resource_tracker
    for pid in (getattr(forkserver._forkserver, "_forkserver_pid", None),
                getattr(resource_tracker._resource_tracker, "_pid", None)):
        if pid:
            pids.add(pid)
    return pids


def descendants(process: psutil.Process) -> list[psutil.Process]:
    """Every process below ``process``. Linux lists each thread's children in
    /proc/PID/task/TID/children: reading only our own subtree costs microseconds,
    where psutil's ``children(recursive=True)`` reads every process on the machine
    (half a second per trial on a busy one)."""
    found: list[psutil.Process] = []
    pending = [process.pid]
    try:
        while pending:
            pid = pending.pop()
            for task in os.scandir(f"/proc/{pid}/task"):
                with open(f"{task.path}/children", encoding="ascii") as listing:
                    for child in listing.read().split():
                        pending.append(int(child))
                        found.append(psutil.Process(int(child)))
    except FileNotFoundError:  # no such listing on this kernel: ask psutil
        return process.children(recursive=True)
    except (psutil.NoSuchProcess, ProcessLookupError):
        pass  # gone while we looked: not a leftover
    return found


def _is_zombie(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
