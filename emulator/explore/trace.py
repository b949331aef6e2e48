"""A counterexample two ways: readable steps for a person, records for tools.

The records have the harness's trace record format (DESIGN.md, "Trace"):
``t_ns`` (here the step number * 1000: the explorer has no clock), ``pos``,
``id``, ``pid`` (0: there are no processes), ``kind``, then the event's fields.
"""
from __future__ import annotations

from typing import Iterable

from emulator.records import NODE_STARTED, PERSIST_EPOCH

from .search import Result

_QUIET = (PERSIST_EPOCH,)


def _fields(fields: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in fields.items())


def render(result: Result) -> list[str]:
    """The violation and its shortest trace, one line per step and per event."""
    found = result.violation
    if found is None:
        return []
    lines = [f"VIOLATION ({found.invariant}): {found.detail}",
             f"shortest counterexample, {len(result.trace)} steps, from IDs by position "
             f"{list(result.initial_ids)} (a fresh ring, no token):"]
    for number, step in enumerate(result.trace, 1):
        if result.cycle_from is not None and number - 1 == result.cycle_from:
            lines.append("  --- from here the steps repeat forever ---")
        lines.append(f"  {number:3d}. {step.label}")
        for pos, kind, fields in step.events:
            if kind in _QUIET:
                continue
            lines.append(f"         node {pos}: {kind}" + (f" ({_fields(fields)})"
                                                           if fields else ""))
        if step.found is not None and step.found is not found and step.found.detail:
            lines.append(f"         !! {step.found.invariant}: {step.found.detail}")
    if result.cycle_from is not None:
        lines.append(f"  --- and so on: steps {result.cycle_from + 1}.."
                     f"{len(result.trace)} again, forever ---")
    return lines


def records(result: Result) -> list[dict]:
    """The trace as harness trace records (see the module docstring)."""
    ids = result.initial_ids
    out = [{"t_ns": 0, "pos": pos, "id": node_id, "pid": 0, "kind": NODE_STARTED}
           for pos, node_id in enumerate(ids)]
    for number, step in enumerate(result.trace, 1):
        for pos, kind, fields in step.events:
            record = {"t_ns": number * 1000, "pos": pos, "id": ids[pos], "pid": 0,
                      "kind": kind}
            record.update(fields)
            out.append(record)
    return out



def summary(result: Result) -> Iterable[str]:
    yield f"states explored  {result.states}"
    yield f"transitions      {result.transitions}"
    yield f"depth            {result.depth}"
    yield f"seconds          {result.seconds:.2f}"
