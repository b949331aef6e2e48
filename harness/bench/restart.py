"""Restart: SIGKILL a node and follow the replacement until the token passes it.

Milestones, on the one monotonic clock every process shares (node-side stamps
where a node reports them):

- eof: the killed node's right neighbour reports ``link_down`` (it read EOF);
- reaped: the harness read EOF on the control pipe and reaped the process;
- launched: ``Cluster.restart`` returned (new process started, fresh links made,
  the neighbours' new ends passed over their control pipes);
- running: the new process reports ``node_started`` (its runtime is up);
- rewired: both neighbours report ``rewired``;
- token: the new process reports receiving the token.

The reference is a bare process start with the same start method: from
``Process.start()`` until a trivial target (in a module that imports nothing,
so spawn and forkserver children load no more than they must) has written one
byte to the Connection it was given, as a node is given its links.

To have the token pass the new node right after the restart (hold 0, one
token in a few hundred µs laps), the left neighbour is SIGSTOPped first and the
token left to gather there; it is SIGCONTed once the replacement is launched, so
its own EOF is not timed (the right neighbour's is). The ring reports token
events every N hops (the harness stays idle, as it would between faults), so
the node restarted is the one at the leader's position, where the token's
receipts are reported.
"""
from __future__ import annotations

import multiprocessing
import time

from emulator.records import (
    FAULT, LINK_DOWN, LINK_RETIRED, NODE_EXITED, NODE_STARTED, REWIRED, TOKEN_PASSED,
    TOKEN_RECEIVED,
)

from ..config import RingConfig, arrange_ids
from .bare import say_hello
from .rings import BenchError, BenchRing
from .stats import Summary, ratio

NODES = 8


def bare_start_ms(start_method: str, reps: int, calls: list[float] | None = None
                  ) -> list[float]:
    """From ``Process.start()`` until the child, given a Connection as a node is,
    runs a trivial target that writes one byte to it. ``calls`` collects how long
    ``start()`` itself took (the parent's share)."""
    context = multiprocessing.get_context(start_method)
    samples = []
    for _ in range(reps):
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=say_hello, args=(writer,), daemon=True)
        try:
            started = time.perf_counter_ns()
            process.start()
            if calls is not None:
                calls.append((time.perf_counter_ns() - started) / 1e6)
            writer.close()
            if not reader.poll(60):
                raise BenchError(f"a bare {start_method} process did not run in 60 s")
            reader.recv_bytes()
            samples.append((time.perf_counter_ns() - started) / 1e6)
            process.join(30)
        finally:
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
            reader.close()
            writer.close()
    return samples


def one_restart(ring: BenchRing, victim: int, hop_ns: float) -> dict:
    cluster = ring.cluster
    n = ring.nodes
    left, right = (victim - 1) % n, (victim + 1) % n
    cluster.suspend(left)
    cluster.wait_until(lambda: False, max(0.005, 20 * n * hop_ns / 1e9))
    mark = ring.mark()
    old_pid = cluster.nodes[victim].pid
    cluster.kill(victim)
    kill = ring.wait_for(lambda r: r["kind"] == FAULT and r["pos"] == victim, since=mark)
    try:  # EOF on the link to the killed node, current or already retired
        eof = ring.wait_for(lambda r: r["kind"] in (LINK_DOWN, LINK_RETIRED)
                            and r["pos"] == right and r.get("side") == "left", since=mark,
                            timeout_s=10.0, what="EOF at the right neighbour")
    except BenchError:
        eof = None  # reported as missing; the restart is still followed
    reaped = ring.wait_for(lambda r: r["kind"] == NODE_EXITED and r["pos"] == victim,
                           since=mark, what="the killed node reaped")
    restart_ns = time.monotonic_ns()
    cluster.restart(victim)
    launched_ns = time.monotonic_ns()
    new_pid = cluster.nodes[victim].pid
    cluster.resume(left)
    running = ring.wait_for(lambda r: r["kind"] == NODE_STARTED and r["pid"] == new_pid,
                            since=mark, what="the new process running")
    rewired = [ring.wait_for(lambda r, p=p, s=s: r["kind"] == REWIRED and r["pos"] == p
                             and r["side"] == s, since=mark, what=f"node {p} rewired")
               for p, s in ((left, "right"), (right, "left"))]
    token = ring.wait_for(lambda r: r["kind"] == TOKEN_RECEIVED and r["pid"] == new_pid,
                          since=mark, timeout_s=5.0, what="the token at the new process")
    t0 = kill["t_ns"]
    return {"victim": victim, "old_pid": old_pid, "new_pid": new_pid,
            "eof_ms": None if eof is None else (eof["t_ns"] - t0) / 1e6,
            "reaped_ms": (reaped["t_ns"] - t0) / 1e6,
            "launched_ms": (launched_ns - t0) / 1e6,
            "restart_call_ms": (launched_ns - restart_ns) / 1e6,
            "start_to_running_ms": (running["t_ns"] - restart_ns) / 1e6,
            "running_ms": (running["t_ns"] - t0) / 1e6,
            "rewired_ms": (max(r["t_ns"] for r in rewired) - t0) / 1e6,
            "token_ms": (token["t_ns"] - t0) / 1e6}


MILESTONES = ("eof_ms", "reaped_ms", "restart_call_ms", "start_to_running_ms", "running_ms",
              "rewired_ms", "token_ms")


def measure(quick: bool, start_method: str) -> dict:
    methods = [start_method] if quick else list(dict.fromkeys(
        [start_method] + [m for m in ("fork", "forkserver", "spawn")
                          if m in multiprocessing.get_all_start_methods()]))
    reps = 2 if quick else 6
    rows = []
    for method in methods:
        bare = bare_start_ms(method, reps)
        config = RingConfig(ids=arrange_ids(NODES, "random", 1), hold_ns=0,
                            start_method=method, token_report_every=NODES)
        runs = []
        with BenchRing(config, candidates=NODES) as ring:
            # With token events every N hops only the leader's position reports the
            # token: restart that position, so the receipt at the new process is seen.
            victim = ring.bootstrap().leader_pos
            for _ in range(reps):
                hop_ns = Summary.of(ring.hop_us(20)).median * 1e3
                mark = ring.mark()
                try:
                    runs.append(one_restart(ring, victim=victim, hop_ns=hop_ns))
                except BenchError as stuck:
                    tail = [(r["kind"], r["pos"], r.get("side"), r.get("pid"))
                            for r in ring.history.records[mark:]
                            if r["kind"] not in (TOKEN_RECEIVED, TOKEN_PASSED)][-25:]
                    raise BenchError(f"{stuck} ({method}, restart {len(runs) + 1}); events "
                                     f"since the kill: {tail}") from None
                if len(runs) % 2:  # alternate: the reference sees the ring's noise
                    bare += bare_start_ms(method, 1)
        bare_s = Summary.of(bare)
        row = {"start_method": method, "nodes": NODES, "reps": len(runs),
               "bare_start_ms": bare_s.as_dict(), "runs": runs}
        for key in MILESTONES:
            values = [r[key] for r in runs if r[key] is not None]
            row[key] = Summary.of(values).as_dict() if values else None
        row["eof_missing"] = sum(r["eof_ms"] is None for r in runs)
        row["start_vs_bare"] = ratio(row["start_to_running_ms"]["median"], bare_s.median)
        row["token_vs_bare"] = ratio(row["token_ms"]["median"], bare_s.median)
        rows.append(row)
    return {"rows": rows}
