"""A real ring for one measurement: started, bootstrapped, read, always stopped."""
from __future__ import annotations

import time
from typing import Callable

import psutil

from emulator.records import NODE_STARTED, TOKEN_RECEIVED, Record

from ..cluster import Cluster
from ..recovery import Recovery
from ..ring import Ring

CPU_WINDOW_S = 0.25
DEADLINE_S = 60.0  # generous: two shared cores; nothing here waits on a sleep


class BenchError(RuntimeError):
    """A measurement could not be taken (the ring did not do what it must)."""


class BenchRing(Ring):
    """``with BenchRing(config) as ring``: a started ring; stopped and reaped on exit,
    with the waits a measurement needs (each raises ``BenchError`` past its deadline)."""

    def all_started(self, timeout_s: float = 120.0) -> None:
        """Wait until every node has reported ``node_started``."""
        started: set[int] = set()

        def done() -> bool:
            started.update(r["pos"] for r in self.history.of_kind(NODE_STARTED))
            return len(started) == self.nodes

        if not self.cluster.wait_until(done, timeout_s):
            raise BenchError(f"{self.nodes - len(started)} of {self.nodes} nodes did not "
                             f"start within {timeout_s:g} s")

    def bootstrap(self) -> Recovery:
        """The first token, once every node runs. (Bootstrapping while spawn or
        forkserver children are still importing makes the snapshot miss them: the
        pipeline then restarts them as mute, and after its restart intensity,
        bypasses them; a benchmark must not measure that ring.)"""
        self.all_started()
        recovery = self.pipeline.recover("bootstrap")
        if not recovery.ok:
            raise BenchError(f"a ring of {self.nodes} nodes did not bootstrap its token")
        if recovery.restarted or recovery.bypassed:
            raise BenchError(f"bootstrapping a ring of {self.nodes} restarted "
                             f"{recovery.restarted} and bypassed {recovery.bypassed}")
        return recovery

    def wait_for(self, predicate: Callable[[Record], bool], *, since: int,
                 timeout_s: float = DEADLINE_S, what: str = "an event") -> Record:
        """The first record after ``since`` that satisfies ``predicate``."""
        found = super().wait_for(predicate, since=since, timeout_s=timeout_s)
        if found is None:
            raise BenchError(f"no {what} within {timeout_s:g} s on a ring of {self.nodes}")
        return found

    def receipts(self, count: int, *, epoch: int | None = None,
                 timeout_s: float = DEADLINE_S) -> list[tuple[int, int]]:
        """The next ``count`` reported receipts of the token, as (hop, t_ns)."""
        epoch = self.pipeline.epoch if epoch is None else epoch
        seen: list[tuple[int, int]] = []
        # (stamp, lag): from the node's stamp to the harness's record of it
        self.lags: list[tuple[int, int]] = []

        def listen(record: Record) -> None:
            if record["kind"] == TOKEN_RECEIVED and record["epoch"] == epoch:
                seen.append((record["hop"], record["t_ns"]))
                self.lags.append((record["t_ns"], time.monotonic_ns() - record["t_ns"]))

        self.history.subscribe(listen)
        try:
            if not self.cluster.wait_until(lambda: len(seen) >= count, timeout_s):
                raise BenchError(f"the token of epoch {epoch} made {len(seen)} of {count} "
                                 f"reported hops in {timeout_s:g} s (ring of {self.nodes})")
        finally:
            self.history.unsubscribe(listen)
        # The harness reads one node's events, then the next node's: arrival order is
        # not hop order when several nodes report.
        return sorted(seen[:count])

    def hop_window(self, samples: int, *, timeout_s: float = DEADLINE_S) -> dict:
        """Hop latencies (µs) over ``samples`` reporting intervals, and what the hops
        cost in CPU: the nodes' (all of them, summed) and the harness's, per hop."""
        window_ns = time.monotonic_ns()
        first = self.receipts(1, timeout_s=timeout_s)
        nodes_cpu, harness_cpu = node_cpu_s(self.cluster), time.process_time()
        seen = first + self.receipts(samples, timeout_s=timeout_s)
        # Only events stamped in this window: what a paused ring left in its pipes
        # before the window was read late by design.
        lag_ms = [lag / 1e6 for stamp, lag in self.lags if stamp > window_ns]
        nodes_cpu = node_cpu_s(self.cluster) - nodes_cpu
        harness_cpu = time.process_time() - harness_cpu
        hops = max(1, seen[-1][0] - seen[0][0])
        # The kernel counts CPU time in clock ticks (10 ms): a shorter window says nothing.
        long_enough = (seen[-1][1] - seen[0][1]) / 1e9 >= CPU_WINDOW_S
        return {"hop_us": [(t2 - t1) / (h2 - h1) / 1e3
                           for (h1, t1), (h2, t2) in zip(seen, seen[1:]) if h2 > h1],
                "node_cpu_us_per_hop": nodes_cpu / hops * 1e6 if long_enough else None,
                "harness_cpu_us_per_hop": harness_cpu / hops * 1e6 if long_enough else None,
                "hops": hops, "seconds": (seen[-1][1] - seen[0][1]) / 1e9, "lag_ms": lag_ms,
                "node_cpu_s": nodes_cpu, "harness_cpu_s": harness_cpu}

    def pause(self) -> None:
        """SIGSTOP every node: the token stands still and costs nothing."""
        for node in self.cluster.nodes:
            self.cluster.suspend(node.pos)

    def unpause(self) -> None:
        for node in self.cluster.nodes:
            self.cluster.resume(node.pos)

    def hop_us(self, samples: int, *, timeout_s: float = DEADLINE_S) -> list[float]:
        """``samples`` hop latencies in µs, each the mean over the hops between two
        consecutive reported receipts (the node-side clock stamps both)."""
        seen = self.receipts(samples + 1, timeout_s=timeout_s)
        return [(t2 - t1) / (h2 - h1) / 1e3
                for (h1, t1), (h2, t2) in zip(seen, seen[1:]) if h2 > h1]


def node_cpu_s(cluster: Cluster) -> float:
    """User + system CPU seconds of every running node process, summed."""
    total = 0.0
    for node in cluster.nodes:
        if node.ps is None or not node.running:
            continue
        try:
            times = node.ps.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def monotonic_ms_since(start_ns: int) -> float:
    return (time.monotonic_ns() - start_ns) / 1e6
