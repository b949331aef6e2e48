"""Exhaustive exploration of the real protocol code: every delivery order, every
fault point, the harness's recovery, the DESIGN.md invariants in every state.

``explore(...)`` is the API; ``model`` is the world, ``search`` the search and
its reductions, ``trace`` the readable and JSON-lines counterexamples.
"""
from __future__ import annotations

import itertools
from typing import Callable, Iterable, Optional, Sequence

from .model import CR_MUTATIONS, FAULTS, MUTATIONS, Config
from .search import Explorer, Result

__all__ = ["CR_MUTATIONS", "Config", "Explorer", "FAULTS", "MUTATIONS", "Result", "arrangements", "explore"]


def arrangements(n: int, ids: Optional[Sequence[int]] = None,
                 mutation: Optional[str] = None) -> tuple[tuple[int, ...], ...]:
    """The ID layouts to start from. Only the order of IDs matters to the protocols
    (they compare, never compute), so explicit IDs are relabelled 1..N by rank;
    without IDs, every permutation of 1..N (with 'duplicate-ids', of 1..N-1 with the
    largest twice)."""
    if ids is not None:
        ranks = {value: rank for rank, value in enumerate(sorted(set(ids)), 1)}
        return (tuple(ranks[i] for i in ids),)
    base = list(range(1, n + 1))
    if mutation == "duplicate-ids":
        base = list(range(1, n)) + [n - 1]
    return tuple(sorted(set(itertools.permutations(base))))


def explore(n: int, *, ids: Optional[Sequence[int]] = None, faults: Iterable[str] = (),
            max_faults: int = 1, max_rounds: int = 2, announce: bool = True,
            mutation: Optional[str] = None, patient: bool = True, symmetry: bool = True,
            algorithm: str = "cr",
            compact: bool = True, por: bool = True, max_states: Optional[int] = None,
            progress: Optional[Callable[[str], None]] = None) -> Result:
    """Every reachable state of ``n`` nodes; the first (shortest) violation, if any."""
    cfg = Config(n, arrangements(n, ids, mutation), faults=tuple(faults),
                 max_faults=max_faults, max_rounds=max_rounds, announce=announce,
                 mutation=mutation, patient=patient, algorithm=algorithm)
    return Explorer(cfg, symmetry=symmetry, compact=compact, por=por, max_states=max_states,
                    progress=progress).run()
