"""Zombies and reaping: who may wait for a child, and what each way of waiting tells.

Run from the repository root:  .venv/bin/python docs/lessons/reaping.py

1. A SIGKILLed child that nobody has waited for is a zombie: dead, but its
   entry (pid, exit status) stays in the process table until the parent reaps it.
2. multiprocessing's Process.join() reaps it and records the exit code.
3. psutil's Process.wait() also reaps it (waitpid), behind multiprocessing's
   back: multiprocessing then cannot learn the exit code, and thinks the child
   is still alive. So ringemu signals with psutil and reaps with join() only.
"""
from __future__ import annotations

import multiprocessing
import signal
import time

import psutil


def sleeper() -> None:
    time.sleep(60)


def status(pid: int) -> str:
    try:
        return psutil.Process(pid).status()
    except psutil.NoSuchProcess:
        return "gone (no such process)"


def until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def killed_child(ctx) -> multiprocessing.process.BaseProcess:
    child = ctx.Process(target=sleeper)
    child.start()
    psutil.Process(child.pid).send_signal(signal.SIGKILL)
    until(lambda: status(child.pid) == psutil.STATUS_ZOMBIE)
    return child


def main() -> None:
    ctx = multiprocessing.get_context("fork")

    child = killed_child(ctx)
    print(f"1. SIGKILL sent to pid {child.pid}. It is dead, yet the OS says: "
          f"{status(child.pid)} (its exit status waits for the parent)")
    child.join()
    print(f"2. Process.join() reaped it: exitcode {child.exitcode}; the OS says: "
          f"{status(child.pid)}")

    other = killed_child(ctx)
    code = psutil.Process(other.pid).wait(timeout=5)
    print(f"3. pid {other.pid}, killed the same way, reaped by psutil's wait() instead: "
          f"it returned {code!r}; the OS says: {status(other.pid)}")
    other.join(timeout=1)
    print(f"   multiprocessing, asked afterwards: exitcode={other.exitcode}, "
          f"is_alive()={other.is_alive()} -- it never learns how its child died")

    third = killed_child(ctx)
    print(f"4. pid {third.pid} is a {status(third.pid)}; is_alive() -> {third.is_alive()}; "
          f"now the OS says: {status(third.pid)}, exitcode {third.exitcode}: asking "
          "multiprocessing reaps too (waitpid with WNOHANG)")


if __name__ == "__main__":
    main()
