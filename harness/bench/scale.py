"""Scale: the largest ring this machine runs, what it costs to start and to hold.

For each size: the time to start every node (``Cluster.start``, and until
every node has reported ``node_started``), each node's own launch (the
harness's ``Process.start`` and wiring, one per node: the repetitions), the time
to bootstrap the first token (snapshot, an election at a random set of
candidates as ``ringemu run`` does, the first lap), the memory of each
node process (USS: memory only it holds; RSS: including pages it shares with
the harness and its siblings after fork), and the descriptors the harness holds.

Then the limits: the descriptor budget (``harness.config.ensure_descriptor_budget``)
decides the largest ring a user may ask for; the error asking for one more node
is quoted as the user gets it. Memory and the pid limit are reported beside it.
"""
from __future__ import annotations

import multiprocessing
import resource
import time

import psutil

from emulator.records import NODE_STARTED

from ..cluster import Cluster
from ..config import (
    DESCRIPTORS_BASE, DESCRIPTORS_PER_NODE, ConfigError, RingConfig, arrange_ids,
    ensure_descriptor_budget,
)
from .bare import wait_for_goodbye
from .restart import bare_start_ms
from .rings import BenchRing
from .stats import Summary, ratio

MEMORY_SAMPLE = 64  # USS needs /proc/PID/smaps: sample this many nodes, evenly spread


class TimedCluster(Cluster):
    """A Cluster that times each node's launch (harness side)."""

    launch_ms: list[float]

    def _launch(self, pos, left, right) -> None:  # type: ignore[override]
        started = time.perf_counter_ns()
        super()._launch(pos, left, right)
        self.__dict__.setdefault("launch_ms", []).append(
            (time.perf_counter_ns() - started) / 1e6)


def memory(cluster: Cluster) -> dict:
    nodes = [n for n in cluster.nodes if n.ps is not None and n.running]
    step = max(1, len(nodes) // MEMORY_SAMPLE)
    uss, rss = [], []
    for node in nodes[::step]:
        try:
            info = node.ps.memory_full_info()
        except psutil.Error:
            continue
        uss.append(info.uss / 2**20)
        rss.append(info.rss / 2**20)
    me = psutil.Process().memory_full_info()
    return {"uss_mib": Summary.of(uss).as_dict(), "rss_mib": Summary.of(rss).as_dict(),
            "sampled_nodes": len(uss), "harness_uss_mib": me.uss / 2**20,
            "harness_rss_mib": me.rss / 2**20}


def bare_child(start_method: str, reps: int) -> dict:
    """The references: a bare process start with the same start method (until it
    runs, and the ``start()`` call alone, which is what a node's launch compares
    with) and the memory of an idle child that did nothing but start."""
    context = multiprocessing.get_context(start_method)
    ours, theirs = context.Pipe(duplex=True)
    child = context.Process(target=wait_for_goodbye, args=(theirs,), daemon=True)
    try:
        child.start()
        theirs.close()
        if not ours.poll(60):
            raise RuntimeError(f"a bare {start_method} child did not start in 60 s")
        ours.recv_bytes()
        info = psutil.Process(child.pid).memory_full_info()
        ours.send_bytes(b"x")
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
            child.join()
        child.close()
        ours.close()
    calls: list[float] = []
    running = bare_start_ms(start_method, reps, calls)
    return {"start_ms": Summary.of(running).as_dict(),
            "start_call_ms": Summary.of(calls).as_dict(),
            "uss_mib": info.uss / 2**20, "rss_mib": info.rss / 2**20}


def one_size(n: int, start_method: str) -> dict:
    me = psutil.Process()
    fds_before = me.num_fds()
    config = RingConfig(ids=arrange_ids(n, "random", 1), hold_ns=0, start_method=start_method)
    ring = BenchRing(config, seed=1, cluster_class=TimedCluster)
    started = time.perf_counter_ns()
    with ring:
        start_ms = (time.perf_counter_ns() - started) / 1e6
        if not ring.cluster.wait_until(
                lambda: len(ring.history.of_kind(NODE_STARTED)) >= n, 120):
            raise RuntimeError(f"not every node of {n} reported node_started in 120 s")
        all_running_ms = (time.perf_counter_ns() - started) / 1e6
        fds_held = me.num_fds() - fds_before
        booted = time.perf_counter_ns()
        recovery = ring.bootstrap()
        bootstrap_ms = (time.perf_counter_ns() - booted) / 1e6
        hop = Summary.of(ring.hop_us(min(200, 4 * n)))
        mem = memory(ring.cluster)
        launch = Summary.of(ring.cluster.launch_ms)
        stopping = time.perf_counter_ns()
    stop_ms = (time.perf_counter_ns() - stopping) / 1e6
    hop_ms = hop.median / 1e3
    return {"nodes": n, "start_ms": start_ms, "all_running_ms": all_running_ms,
            "launch_ms": launch.as_dict(), "bootstrap_ms": bootstrap_ms,
            "bootstrap_hops": bootstrap_ms / hop_ms,
            "bootstrap_phases_ms": {"snapshot": recovery.snapshot_ms,
                                    "election": recovery.election_ms,
                                    "regeneration": recovery.regenerate_ms},
            "candidates": len(recovery.candidate_ids),
            "election_messages": recovery.election_messages,
            "hop_us": hop.as_dict(), "memory": mem, "harness_fds": fds_held,
            "harness_fds_per_node": fds_held / n, "stop_ms": stop_ms}


def limits(largest: int) -> dict:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        by_fds = None
        error = None
    else:
        by_fds = (hard - DESCRIPTORS_BASE) // DESCRIPTORS_PER_NODE
        try:
            ensure_descriptor_budget(by_fds + 1)
            error = None
        except ConfigError as refused:
            error = f"ringemu run: error: {refused}"
    pid_max = _read_int("/proc/sys/kernel/pid_max")
    cgroup_pids = _read_int("/sys/fs/cgroup/pids.max")
    return {"nofile_soft": soft, "nofile_hard": hard, "max_nodes_by_descriptors": by_fds,
            "error_beyond": error, "pid_max": pid_max, "cgroup_pids_max": cgroup_pids,
            "memory_available_mib": psutil.virtual_memory().available / 2**20,
            "largest_run": largest}


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def measure(quick: bool, start_method: str, sizes: tuple[int, ...] | None = None) -> dict:
    sizes = sizes or ((64,) if quick else (256, 1024, 2048))
    bare = bare_child(start_method, 3 if quick else 8)
    rows = []
    for n in sizes:
        rows.append(one_size(n, start_method))
    largest = max(r["nodes"] for r in rows)
    for row in rows:
        row["launch_vs_bare_start"] = ratio(row["launch_ms"]["median"],
                                            bare["start_call_ms"]["median"])
        row["uss_vs_bare_child"] = ratio(row["memory"]["uss_mib"]["median"], bare["uss_mib"])
    result = {"rows": rows, "limits": limits(largest), "start_method": start_method,
              "bare_child": bare}
    top = rows[-1]
    mem = top["memory"]
    result["estimate_max_nodes_by_memory"] = int(
        result["limits"]["memory_available_mib"] / max(mem["uss_mib"]["median"], 0.1))
    result["largest"] = {"nodes": largest, "uss_mib_per_node": mem["uss_mib"]["median"],
                         "rss_mib_per_node": mem["rss_mib"]["median"],
                         "start_s": top["all_running_ms"] / 1e3,
                         "bootstrap_s": top["bootstrap_ms"] / 1e3,
                         "launch_vs_first": ratio(top["launch_ms"]["median"],
                                                  rows[0]["launch_ms"]["median"])}
    return result
