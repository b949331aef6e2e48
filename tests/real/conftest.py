"""Real rings for the tests: real processes, real pipes, torn down every time."""
from __future__ import annotations

import pytest

from harness.config import RingConfig
from harness.ring import Ring

DEADLINE_S = 30.0  # generous: two noisy cores; tests wait on events, never on sleep


class TestRing(Ring):
    """A ring whose waits fail the test past a generous deadline."""

    __test__ = False  # not a test class

    def wait_for(self, predicate, *, since: int = 0, timeout_s: float = DEADLINE_S,
                 what: str = "event") -> dict:
        """The first record after ``since`` that satisfies ``predicate``."""
        found = super().wait_for(predicate, since=since, timeout_s=timeout_s)
        assert found is not None, f"no {what} within {timeout_s} s"
        return found


@pytest.fixture
def make_ring():
    rings: list[Ring] = []

    def make(ids=(3, 1, 5, 2, 4), *, hold_ms: float = 2.0, start_method: str = "fork",
             fencing: bool = True, announce: bool = True, seed: int = 1,
             candidates: int | None = None, algorithm: str = "cr") -> TestRing:
        config = RingConfig(ids=tuple(ids), hold_ns=int(hold_ms * 1e6), fencing=fencing,
                            announce=announce, start_method=start_method, algorithm=algorithm)
        ring = TestRing(config, seed=seed, candidates=candidates)
        rings.append(ring)
        ring.start()
        return ring

    yield make
    for ring in rings:
        ring.stop()
