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


def leftovers(exempt=lambda process: False) -> list[psutil.Process]:
    """Every process below this one but multiprocessing's helpers and the exempt."""
    left = []
    for child in psutil.Process().children(recursive=True):
        if exempt(child):
            continue
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


def assert_nothing_left(exempt=lambda process: False) -> None:
    """Fail if a process is left behind; kill and reap it first, so that one leak
    does not fail every later test."""
    left = leftovers(exempt)
    described = [(p.pid, p.status()) for p in left if p.is_running()]
    for process in left:
        try:
            process.send_signal(signal.SIGKILL)
            os.waitpid(process.pid, 0)
        except (psutil.NoSuchProcess, ChildProcessError):
            pass
    assert not left, f"processes left behind: {described}"


@pytest.fixture
def process_guard_exempt():
    """Which of the test process's children the guard may ignore: none. A folder
    that shares a long-lived helper across tests (tests/view: one browser per
    module) overrides this fixture in its own conftest."""
    return lambda process: False


@pytest.fixture(autouse=True)
def no_process_left_behind(process_guard_exempt):
    yield
    assert_nothing_left(process_guard_exempt)
