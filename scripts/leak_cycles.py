"""Kill/restart a node N times on one ring; report the harness's descriptors and
children before and after, and any zombie (issue: no leaks).

Run: .venv/bin/python scripts/leak_cycles.py [--cycles 1000] [--start-method fork]
"""
from __future__ import annotations

import argparse
import time

import psutil

from harness.cluster import Cluster
from harness.config import RingConfig
from harness.history import History


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=8)
    parser.add_argument("--start-method", default="fork")
    args = parser.parse_args()
    me = psutil.Process()
    fds_before = me.num_fds()
    history = History()
    started = time.monotonic()
    with Cluster(RingConfig(ids=tuple(range(1, args.nodes + 1)),
                            start_method=args.start_method), sink=history) as cluster:
        fds_running, children_running = me.num_fds(), len(me.children())
        for cycle in range(args.cycles):
            pos = cycle % args.nodes
            cluster.kill(pos)
            cluster.wait_until(lambda p=pos: not cluster.nodes[p].running, 30)
            cluster.restart(pos)
        fds_after_cycles, children_after = me.num_fds(), len(me.children())
        zombies = [c.pid for c in me.children() if c.status() == psutil.STATUS_ZOMBIE]
    elapsed = time.monotonic() - started
    exits = sum(r["kind"] == "node_exited" for r in history.records)
    print(f"cycles {args.cycles} ({args.start_method}, {args.nodes} nodes) in {elapsed:.1f} s")
    print(f"harness descriptors: {fds_before} before the ring, {fds_running} with it "
          f"running, {fds_after_cycles} after the cycles, {me.num_fds()} after stop")
    print(f"children: {children_running} running, {children_after} after the cycles; "
          f"zombies: {zombies}; node exits recorded: {exits}")
    leaked = fds_after_cycles != fds_running or children_after != children_running or zombies
    raise SystemExit(1 if leaked else 0)


if __name__ == "__main__":
    main()
