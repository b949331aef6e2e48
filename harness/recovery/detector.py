"""The silence detector: when has the token been quiet for too long?

Theory of operation
-------------------
The operating system reports deaths (the node's control connection reads EOF
the moment its process dies) and the harness knows the stops it causes: those
are notices, acted on at once. What the OS cannot report is a token that was
silently dropped, or a link that swallows messages. For those the harness
watches the token's reported receipts and suspects a loss when the silence
since the last one is longer than the gaps it has been seeing allow.

Like the adaptive failure detectors of Cassandra and Akka (the φ-accrual
detector of Hayashibara et al., 2004) and SWIM/Lifeguard, the timeout follows
the observed inter-arrival times: mean + k·σ over a sliding window of gaps
between receipts, with σ never below a minimum (a perfectly regular ring would
otherwise suspect on the first scheduler hiccup) and the whole never below a
floor. Both are settable (``--detector-floor-ms``); the defaults come from
measurements on this machine (BENCHMARKS.md): hop gaps of a 2 ms hold vary
by tens of µs on a quiet machine and by a few ms when both CPUs are busy.

A suspicion only ever starts a snapshot. Only a snapshot that counts 0 or 2+
tokens starts an election, so a false alarm costs one snapshot, and it is
counted (``Recovery.false_alarm``). After a false alarm the detector suspects
half as eagerly until the token moves again (exponential backoff, as TCP's
retransmission timer does, up to ``MAX_BACKOFF`` times): a token that waits
behind a cut link is one the snapshot keeps finding, and without backoff it
cost a snapshot every detection timeout for as long as the cut lasted.
"""
from __future__ import annotations

import math
from collections import deque

DEFAULT_FLOOR_S = 0.020  # RingConfig.detector_floor_ms, --detector-floor-ms
DEFAULT_K = 8.0
DEFAULT_MIN_SIGMA_S = 0.002
WINDOW = 256
# Before the first gap is seen (a fresh ring, a new token): a generous guess.
FIRST_TIMEOUT_S = 0.15
# False alarms in a row double the suspicion timeout up to this factor (16: 4 in a row).
MAX_BACKOFF = 16


class SilenceDetector:
    def __init__(self, *, floor_s: float = DEFAULT_FLOOR_S, k: float = DEFAULT_K,
                 min_sigma_s: float = DEFAULT_MIN_SIGMA_S, window: int = WINDOW) -> None:
        self.floor_s = floor_s
        self.k = k
        self.min_sigma_s = min_sigma_s
        self._gaps: deque[float] = deque(maxlen=window)
        self._sum = 0.0
        self._sum_squares = 0.0
        self.backoff = 1

    def observe(self, gap_s: float) -> None:
        """A gap between two consecutive reported receipts of the current token."""
        if len(self._gaps) == self._gaps.maxlen:
            old = self._gaps[0]
            self._sum -= old
            self._sum_squares -= old * old
        self._gaps.append(gap_s)
        self._sum += gap_s
        self._sum_squares += gap_s * gap_s

    def cleared(self) -> None:
        """A suspicion the snapshot cleared (a false alarm): back off."""
        self.backoff = min(self.backoff * 2, MAX_BACKOFF)

    def progressed(self) -> None:
        """The token moved: suspect as eagerly as its gaps allow again."""
        self.backoff = 1

    def suspicion_timeout_s(self) -> float:
        """How long a silence must last to start a snapshot: the timeout, backed off."""
        return self.timeout_s() * self.backoff

    def forget(self) -> None:
        """The ring changed (a new token, another size): start learning again."""
        self._gaps.clear()
        self._sum = self._sum_squares = 0.0

    def timeout_s(self) -> float:
        count = len(self._gaps)
        if count < 2:
            return max(self.floor_s, FIRST_TIMEOUT_S)
        mean = self._sum / count
        variance = max(0.0, self._sum_squares / count - mean * mean)
        sigma = max(math.sqrt(variance), self.min_sigma_s)
        return max(self.floor_s, mean + self.k * sigma)

    def describe(self) -> dict:
        count = len(self._gaps)
        mean = self._sum / count if count else None
        return {"gaps": count, "mean_ms": None if mean is None else mean * 1e3,
                "timeout_ms": self.timeout_s() * 1e3, "floor_ms": self.floor_s * 1e3,
                "backoff": self.backoff}
