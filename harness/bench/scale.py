"""Scale: the largest ring this machine runs, what it costs to start and to hold.

For each size: the time to start every node (``Cluster.start``, and until
every node has reported ``node_started``), per node, and its slope against N
(flat is the goal), next to the same N of bare children started one after
another just after the ring stops (multiprocessing's own cost at that N, on the
machine as it is at that moment); each node's own launch (``NodeHandle.launch_ns``: the
harness's ``Process.start`` and wiring, one per node: the repetitions), the time
to bootstrap the first token (snapshot, an election at a random set of
candidates as ``ringemu run`` does, the first lap), the memory of each
node process (USS: memory only it holds; RSS: including pages it shares with
the harness and its siblings after fork), the descriptors the harness holds, and
the time to stop the ring (every node told, exited and reaped).

Then the limits: the descriptor budget (``harness.config.ensure_descriptor_budget``)
decides the largest ring a user may ask for; the error asking for one more node
is quoted as the user gets it. Memory and the pid limit are reported beside it.
Sizes the hard descriptor limit cannot take are not run: the row says so, with
the command that raises the limit.
"""
from __future__ import annotations

import multiprocessing
import resource
import time

import psutil

from emulator.records import NODE_STARTED

from ..cluster import Cluster
from ..config import (
    ConfigError, RingConfig, arrange_ids, ensure_descriptor_budget, max_nodes_by_descriptors,
)
from .bare import wait_for_goodbye
from .restart import bare_start_ms
from .rings import BenchRing
from .stats import Summary, ratio

MEMORY_SAMPLE = 64  # USS needs /proc/PID/smaps: sample this many nodes, evenly spread
SIZES = (256, 1024, 2048, 4096)
START_GOAL = 2.0    # start cost per node <= 2x a bare Process.start() call
MEMORY_GOAL = 1.5   # USS per node <= 1.5x an idle bare child
FDS_GOAL = 3        # descriptors the harness holds per running node
SECONDS_GOAL = 10.0  # bootstrap and stop of the largest ring, each
# N bare children cost multiprocessing O(N) per start (each child drops the list of
# its N-1 siblings it inherited): past this size the reference alone takes minutes.
BARE_LOOP_MAX = 2048

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


def bare_loop(n: int, start_method: str) -> dict:
    """The same N as bare processes: N idle children (a trivial target that says it
    is up and waits), started one after another as the cluster starts its nodes,
    each given a Connection, all left running until every one has said it is up.
    Per child: the wall time (until all run, over N) and the ``start()`` call."""
    context = multiprocessing.get_context(start_method)
    children, ends, calls = [], [], []
    began = time.perf_counter_ns()
    try:
        for _ in range(n):
            ours, theirs = context.Pipe(duplex=True)
            child = context.Process(target=wait_for_goodbye, args=(theirs,), daemon=True)
            started = time.perf_counter_ns()
            child.start()
            calls.append((time.perf_counter_ns() - started) / 1e6)
            theirs.close()
            children.append(child)
            ends.append(ours)
        for end in ends:
            if not end.poll(120):
                raise RuntimeError(f"a bare child of {n} did not start in 120 s")
            end.recv_bytes()
        wall_ms = (time.perf_counter_ns() - began) / 1e6
    finally:
        for end in ends:
            try:
                end.send_bytes(b"x")
            except OSError:
                pass
        for child in children:
            child.join(10)
            if child.exitcode is None:
                child.kill()
                child.join()
            child.close()
        for end in ends:
            end.close()
    return {"nodes": n, "ms_per_child": wall_ms / n, "start_call_ms": Summary.of(calls).as_dict()}


def one_size(n: int, start_method: str) -> dict:
    me = psutil.Process()
    fds_before = me.num_fds()
    config = RingConfig(ids=arrange_ids(n, "random", 1), hold_ns=0, start_method=start_method)
    ring = BenchRing(config, seed=1)
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
        launch = Summary.of([node.launch_ns / 1e6 for node in ring.cluster.nodes])
        stopping = time.perf_counter_ns()
    stop_ms = (time.perf_counter_ns() - stopping) / 1e6
    hop_ms = hop.median / 1e3
    return {"nodes": n, "start_ms": start_ms, "all_running_ms": all_running_ms,
            "start_ms_per_node": all_running_ms / n, "launch_ms": launch.as_dict(), "bootstrap_ms": bootstrap_ms,
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
        by_fds = max_nodes_by_descriptors(hard)
        try:
            ensure_descriptor_budget(by_fds + 1)
            error = None
        except ConfigError as refused:
            error = f"ringemu run: error: {refused}"
    pid_max = _read_int("/proc/sys/kernel/pid_max")
    cgroup_pids = _read_int("/sys/fs/cgroup/pids.max")
    return {"nofile_soft": soft, "nofile_hard": hard, "max_nodes_by_descriptors": by_fds,
            "max_nodes_under_nofile_20000": max_nodes_by_descriptors(20000),
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
    sizes = sizes or ((32, 64) if quick else SIZES)
    bare = bare_child(start_method, 3 if quick else 8)
    rows, refused = [], {}
    for n in sizes:
        try:
            ensure_descriptor_budget(n)
        except ConfigError as too_many:  # the limit decides, and the row says how to lift it
            refused[n] = str(too_many)
            continue
        row = one_size(n, start_method)
        if n <= BARE_LOOP_MAX:
            row["bare_loop"] = bare_loop(n, start_method)
        rows.append(row)
    if not rows:
        raise ConfigError("; ".join(refused.values()))
    largest = max(r["nodes"] for r in rows)
    call = bare["start_call_ms"]["median"]
    for row in rows:
        row["launch_vs_bare_start"] = ratio(row["launch_ms"]["median"], call)
        row["start_vs_bare_start"] = ratio(row["start_ms_per_node"], call)
        loop = row.get("bare_loop")
        row["start_vs_bare_loop"] = (ratio(row["start_ms_per_node"], loop["ms_per_child"])
                                     if loop else None)
        row["uss_vs_bare_child"] = ratio(row["memory"]["uss_mib"]["median"], bare["uss_mib"])
    result = {"rows": rows, "refused": refused, "limits": limits(largest),
              "start_method": start_method, "bare_child": bare,
              "start_slope": slope([(r["nodes"], r["start_ms_per_node"]) for r in rows]),
              "bare_loop_slope": slope([(r["nodes"], r["bare_loop"]["ms_per_child"])
                                        for r in rows if "bare_loop" in r])}
    top = rows[-1]
    mem = top["memory"]
    result["estimate_max_nodes_by_memory"] = int(
        result["limits"]["memory_available_mib"] / max(mem["uss_mib"]["median"], 0.1))
    result["largest"] = {"nodes": largest, "uss_mib_per_node": mem["uss_mib"]["median"],
                         "rss_mib_per_node": mem["rss_mib"]["median"],
                         "start_s": top["all_running_ms"] / 1e3,
                         "bootstrap_s": top["bootstrap_ms"] / 1e3,
                         "stop_s": top["stop_ms"] / 1e3,
                         "launch_vs_first": ratio(top["launch_ms"]["median"],
                                                  rows[0]["launch_ms"]["median"]),
                         "start_vs_first": ratio(top["start_ms_per_node"],
                                                 rows[0]["start_ms_per_node"])}
    result["goal"] = goal(result)
    return result


def slope(points: list[tuple[int, float]]) -> float | None:
    """Least-squares slope of a per-node start cost against N, in µs per node for
    every 1000 nodes more (0 = flat)."""
    if len(points) < 2:
        return None
    mean_n = sum(n for n, _ in points) / len(points)
    mean_ms = sum(ms for _, ms in points) / len(points)
    spread = sum((n - mean_n) ** 2 for n, _ in points)
    return sum((n - mean_n) * (ms - mean_ms) for n, ms in points) / spread * 1e3 * 1e3


def goal(result: dict) -> dict:
    rows = result["rows"]
    start = {str(r["nodes"]): r["start_vs_bare_start"] for r in rows}
    against_loop = {str(r["nodes"]): r["start_vs_bare_loop"] for r in rows
                    if r["start_vs_bare_loop"] is not None}
    memory_ratio = {str(r["nodes"]): r["uss_vs_bare_child"] for r in rows}
    fds = {str(r["nodes"]): r["harness_fds_per_node"] for r in rows}
    largest = result["largest"]
    return {"start_target": START_GOAL, "memory_target": MEMORY_GOAL,
            "fds_target": FDS_GOAL, "seconds_target": SECONDS_GOAL,
            "start_vs_bare": start, "start_vs_bare_loop": against_loop,
            "uss_vs_bare": memory_ratio, "fds_per_node": fds,
            "start_met": all(v is not None and v <= START_GOAL for v in start.values()),
            "start_vs_loop_met": all(v is not None and v <= START_GOAL
                                     for v in against_loop.values()),
            "memory_met": all(v is not None and v <= MEMORY_GOAL
                              for v in memory_ratio.values()),
            "fds_met": all(v <= FDS_GOAL + 0.05 for v in fds.values()),
            "seconds_met": (largest["bootstrap_s"] <= SECONDS_GOAL
                            and largest["stop_s"] <= SECONDS_GOAL)}
