"""Real rings for the tests: real processes, real pipes, torn down every time."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from harness.cluster import Cluster
from harness.config import RingConfig
from harness.history import History
from harness.recovery import Orchestrator

DEADLINE_S = 30.0  # generous: two noisy cores; tests wait on events, never on sleep


@dataclass
class Ring:
    cluster: Cluster
    history: History
    orchestrator: Orchestrator

    def mark(self) -> int:
        """A place in the history: ``wait_for(..., since=mark)`` looks only after it."""
        return len(self.history.records)

    def wait_for(self, predicate, *, since: int = 0, timeout_s: float = DEADLINE_S,
                 what: str = "event") -> dict:
        """The first record after ``since`` that satisfies ``predicate``."""
        watch = self.history.watch(predicate, since)
        assert self.cluster.wait_until(watch.seen, timeout_s), \
            f"no {what} within {timeout_s} s"
        return watch.found


@pytest.fixture
def make_ring():
    rings: list[Ring] = []

    def make(ids=(3, 1, 5, 2, 4), *, hold_ms: float = 2.0, start_method: str = "fork",
             fencing: bool = True, announce: bool = True, seed: int = 1,
             candidates: int | None = None, algorithm: str = "cr") -> Ring:
        config = RingConfig(ids=tuple(ids), hold_ns=int(hold_ms * 1e6), fencing=fencing,
                            announce=announce, start_method=start_method, algorithm=algorithm)
        history = History()
        cluster = Cluster(config, sink=history)
        ring = Ring(cluster, history, Orchestrator(cluster, history, seed=seed,
                                                   candidates=candidates))
        rings.append(ring)
        cluster.start()
        return ring

    yield make
    for ring in rings:
        ring.cluster.stop()
        ring.history.close()
