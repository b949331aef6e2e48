"""Ctrl-C and SIGTERM for the harness: stop cleanly, keep what is done.

SIGINT raises KeyboardInterrupt (exit 130); SIGTERM raises ``Terminated``
(exit 143). Both unwind to the command, which stops the ring, keeps finished
results and prints what it has. Code that must not be cut in half (starting or
reaping processes) runs under ``deferred_interrupts``: a signal that arrives
there is held and raised when the critical section ends, so no process is ever
started without being recorded or left unreaped.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt: not an error)."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated()


def install_sigterm_handler() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)


def exit_status(interrupt: BaseException) -> int:
    return EXIT_TERMINATED if isinstance(interrupt, Terminated) else EXIT_INTERRUPTED


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then raise as they would have."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals; nothing to defer here
        return
    pending: list[int] = []

    def hold(signum, frame) -> None:
        pending.append(signum)

    previous = {signum: signal.signal(signum, hold)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if pending:
            handler = previous[pending[0]]
            if callable(handler):
                handler(pending[0], None)
            elif handler == signal.SIG_DFL and pending[0] == signal.SIGINT:
                raise KeyboardInterrupt
