"""Running the real ``ringemu`` command in a subprocess, for the hardening tests."""
from __future__ import annotations

import os
import subprocess
import sys
import time

DEADLINE_S = 120.0


def ringemu(*args: str, timeout: float = DEADLINE_S, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kwargs)


def start(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "harness", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env=env, **kwargs)


def finish(process: subprocess.Popen, timeout: float = DEADLINE_S) -> subprocess.CompletedProcess:
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def wait_for(predicate, timeout_s: float = DEADLINE_S, what: str = "the condition") -> None:
    """Poll an outside fact (a file, the process table) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.01)


def one_line_error(completed: subprocess.CompletedProcess, status: int = 2) -> str:
    """Assert the house rule for bad input: one line on stderr, the status, no traceback."""
    assert completed.returncode == status, (completed.returncode, completed.stderr)
    assert "Traceback" not in completed.stderr, completed.stderr
    assert completed.stderr.count("\n") == 1, completed.stderr
    return completed.stderr


def in_process(capsys, *args: str) -> subprocess.CompletedProcess:
    """The same command through ``harness.cli.main`` in this process: the parser, the
    handler and the exit-status mapping, without an interpreter's start (~1 s on a
    busy machine), for the long lists of bad inputs."""
    import signal

    from harness import cli
    previous = signal.getsignal(signal.SIGTERM)
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    finally:
        signal.signal(signal.SIGTERM, previous)
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(["ringemu", *args], status, out, err)
