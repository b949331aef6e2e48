"""Notice when the harness itself did not run: a SIGSTOP, a long stall.

Every timing verdict (a token must circulate within the recovery deadline)
assumes the harness was there to drive recovery. A harness that was stopped
(SIGSTOP, Ctrl-Z) or starved for seconds cannot have done so, and blaming the
protocol for that would be a wrong verdict. So a watchdog thread ticks every
``TICK_S`` on the monotonic clock; a tick that comes ``STALL_S`` late means the
whole process did not run in between (a thread waiting for the GIL gets it
within the 5 ms switch interval; the kernel keeps no runnable process off a
CPU for seconds). Each such gap becomes a ``harness_stalled`` record
(``since_ns`` to ``t_ns``), and the checker gives no timing verdict across it.
"""
from __future__ import annotations

import threading
import time

TICK_S = 0.1
STALL_S = 2.0


class StallWatch:
    """A daemon thread that collects the gaps in its own ticks, as (since_ns, until_ns)."""

    def __init__(self, tick_s: float = TICK_S, stall_s: float = STALL_S) -> None:
        self.tick_s = tick_s
        self.stall_ns = int(stall_s * 1e9)
        self.stalls: list[tuple[int, int]] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="ringemu-stall-watch",
                                        daemon=True)

    def start(self) -> "StallWatch":
        self._thread.start()
        return self

    def stop(self) -> list[tuple[int, int]]:
        """Stop watching (a gap that is just ending is still measured); the stalls."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.stalls

    def _watch(self) -> None:
        last = time.monotonic_ns()
        while True:
            stopping = self._stopping.wait(self.tick_s)
            now = time.monotonic_ns()
            if now - last > self.stall_ns:
                self.stalls.append((last, now))
            last = now
            if stopping:
                return
