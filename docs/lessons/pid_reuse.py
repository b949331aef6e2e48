"""PID reuse: a pid is a number the kernel hands out again once the process is reaped.

Run from the repository root:
    .venv/bin/python docs/lessons/pid_reuse.py --trace pid-reuse.jsonl

A ring of 4 bootstraps; node 2 is SIGKILLed and reaped. Then the kernel is asked
(as root, through /proc/sys/kernel/ns_last_pid) to give node 2's old pid to a
stranger, a `sleep` process. Killing "node 2" by number would now kill the
stranger. ringemu checks a psutil.Process (pid + creation time) and signals
through a pidfd opened on the node while it is unreaped (only the cluster reaps
its nodes), and neither lets the old identity reach the new process. Then the
supervisor's way: restart node 2, which gets a new pid.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess

import psutil

from emulator.records import LINK_DOWN, NODE_STARTED, NOTE
from harness.config import RingConfig
from harness.ring import Ring

NS_LAST_PID = "/proc/sys/kernel/ns_last_pid"


def spawn_with_pid(pid: int) -> subprocess.Popen | None:
    """Start `sleep 30` as pid ``pid`` if the kernel lets us steer pids (root)."""
    for _ in range(20):
        try:
            with open(NS_LAST_PID, "w") as handle:
                handle.write(str(pid - 1))
        except OSError as why:
            print(f"   (cannot steer pids here: {NS_LAST_PID}: {why.strerror}; "
                  "run as root to see the reuse)")
            return None
        stranger = subprocess.Popen(["sleep", "30"])
        if stranger.pid == pid:
            return stranger
        stranger.kill()  # another process took the number first: try again
        stranger.wait()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default="pid-reuse.jsonl")
    args = parser.parse_args()

    ring = Ring(RingConfig(ids=(3, 1, 4, 2)), seed=1, trace_path=args.trace)
    cluster, history = ring.cluster, ring.history
    stranger = None
    try:
        ring.start()
        ring.pipeline.recover("bootstrap")
        node = cluster.nodes[2]
        old_pid, old_handle = node.pid, node.ps
        pidfd = os.pidfd_open(old_pid)
        print(f"1. node 2 is pid {old_pid}, created at {old_handle.create_time():.2f} "
              "(psutil keeps both; a pidfd names the process itself)")
        mark = len(history.records)
        cluster.kill(2)
        cluster.wait_until(lambda: not node.running and len(
            [r for r in history.records[mark:] if r["kind"] == LINK_DOWN]) >= 2, 10)
        eofs = ", ".join(f"p{r['pos']}" for r in history.records[mark:]
                         if r["kind"] == LINK_DOWN)
        print(f"2. SIGKILL; EOF at {eofs}; reaped by join(): exit {node.exitcodes[-1]}. "
              f"The number {old_pid} is free again")
        stranger = spawn_with_pid(old_pid)
        if stranger is not None:
            cluster.note(2, NOTE, text=f"pid {old_pid} reused by a stranger (sleep)")
            born = psutil.Process(stranger.pid).create_time()
            print(f"3. a stranger now has pid {stranger.pid}: "
                  f"{' '.join(psutil.Process(stranger.pid).cmdline())}, created at {born:.2f}")
            os.kill(old_pid, 0)  # signal 0: "could I signal it?" -- by number, yes
            print(f"   os.kill({old_pid}, 0) succeeds: a SIGKILL 'to node 2' by number "
                  "would kill the stranger")
            print(f"   psutil, pid + creation time: is_running() -> "
                  f"{old_handle.is_running()}")
            try:
                old_handle.send_signal(signal.SIGKILL)
                print("   psutil send_signal went through (it should not have)")
            except psutil.NoSuchProcess as refused:
                print(f"   psutil send_signal(SIGKILL) refuses: {type(refused).__name__}: "
                      f"{refused}")
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                print("   pidfd_send_signal went through (it should not have)")
            except ProcessLookupError as refused:
                print(f"   the pidfd opened on the old process refuses: {refused}")
            cluster.kill(2)
            print("   cluster.kill(2) sends nothing: a reaped node is never signalled")
            print(f"   the stranger is still there: {psutil.Process(stranger.pid).status()}")
        os.close(pidfd)
        cluster.restart(2)
        cluster.wait_until(lambda: any(r["kind"] == NODE_STARTED and r["pid"] == node.pid
                                       for r in history.records), 10)
        print(f"4. restarted: node 2 is now pid {node.pid}, same position and ID")
        ring.pipeline.recover("silence")
    finally:
        if stranger is not None:
            stranger.kill()
            stranger.wait()
        ring.stop()
    print(f"trace: {args.trace}")


if __name__ == "__main__":
    main()
