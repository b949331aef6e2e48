"""Medians with their spread, and ratios to a reference measured in the same run.

These machines are shared and noisy: one timing alone means little. Every timing
the suite reports is a ``Summary`` of repetitions (median, quartiles, extremes),
and every summary sits next to a reference taken in the same run, as a ratio.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Iterable


@dataclass(frozen=True)
class Summary:
    """Repetitions of one measurement (any unit; the field name says which)."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    n: int

    @classmethod
    def of(cls, values: Iterable[float]) -> "Summary":
        data = sorted(float(v) for v in values)
        if not data:
            raise ValueError("no repetitions to summarise")
        if len(data) == 1:
            q1 = q3 = data[0]
        else:
            q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
        return cls(statistics.median(data), q1, q3, data[0], data[-1], len(data))

    def scaled(self, factor: float) -> "Summary":
        return Summary(self.median * factor, self.q1 * factor, self.q3 * factor,
                       self.low * factor, self.high * factor, self.n)

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self, digits: int = 1) -> str:
        """'12.3 [11.9-13.0]': the median and the interquartile range."""
        if self.n == 1:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} [{self.q1:.{digits}f}-{self.q3:.{digits}f}]"


def ratio(value: float | None, reference: float | None) -> float | None:
    if value is None or not reference:
        return None
    return value / reference


def ratio_text(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}x"
