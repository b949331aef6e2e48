"""Golden traces: fixed seeds, fixed rings, the exact event sequence the protocols
produce, stored in tests/protocol/golden/. Any change in behaviour shows up here
as a diff to read; if the change is intended, regenerate with
RINGEMU_UPDATE_GOLDEN=1 and commit the new files with the change."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from emulator.protocol import DropToken
from emulator.simulator import RingSimulator

GOLDEN = Path(__file__).parent / "golden"


def bootstrap_then_lap(sim: RingSimulator) -> None:
    sim.start_snapshot(0)
    sim.run_until_quiet(timers=False)
    sim.elect(range(sim.n))
    sim.run(3 * sim.n)


def drop_snapshot_and_elect_again(sim: RingSimulator) -> None:
    sim.elect([1, 3])
    sim.run(2 * sim.n)
    holder = next(p for p, node in enumerate(sim.nodes) if node.token.held)
    sim.command(holder, DropToken())
    sim.start_snapshot(2)
    sim.run_until_quiet(timers=False)
    sim.elect([0, 2, 4])
    sim.run(sim.n)


STORIES = {
    "bootstrap-5": ([3, 1, 5, 2, 4], 7, bootstrap_then_lap),
    "drop-and-reelect-5": ([2, 5, 1, 4, 3], 11, drop_snapshot_and_elect_again),
}


def _lines(name: str) -> list[str]:
    ids, seed, story = STORIES[name]
    sim = RingSimulator(ids, seed=seed)
    story(sim)
    return [json.dumps({"step": e.step, "pos": e.pos, "id": e.node_id, "kind": e.kind,
                        **e.fields}, sort_keys=True) for e in sim.events]


@pytest.mark.parametrize("name", list(STORIES))
def test_the_protocols_tell_the_same_story_as_before(name):
    path = GOLDEN / f"{name}.jsonl"
    lines = _lines(name)
    if os.environ.get("RINGEMU_UPDATE_GOLDEN"):
        path.write_text("\n".join(lines) + "\n")
    expected = path.read_text().splitlines()
    assert lines == expected
