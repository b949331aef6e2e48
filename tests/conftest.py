"""Suite-wide guard: no test may leave a process behind.

The test process makes itself a child subreaper (Linux prctl), so a node that a
CLI run in a subprocess orphaned is reparented here instead of to init, and the
guard sees it too.
"""
from __future__ import annotations

import ctypes
import os
import signal

import psutil
import pytest

PR_SET_CHILD_SUBREAPER = 36
# multiprocessing's own long-lived helpers, started once per test session.
_INFRASTRUCTURE = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


def pytest_configure(config):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _leftovers() -> list[psutil.Process]:
    left = []
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = " ".join(child.cmdline())
        except psutil.ZombieProcess:
            left.append(child)  # an unreaped child is a leftover too
            continue
        except psutil.NoSuchProcess:
            continue
        if not any(name in cmdline for name in _INFRASTRUCTURE):
            left.append(child)
    return left


@pytest.fixture(autouse=True)
def no_process_left_behind():
    yield
    left = _leftovers()
    described = [(p.pid, p.status()) for p in left if p.is_running()]
    for process in left:  # clean up so one leak does not fail every later test
        try:
            process.send_signal(signal.SIGKILL)
            os.waitpid(process.pid, 0)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass
    assert not left, f"processes left behind: {described}"
