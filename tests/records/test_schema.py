"""The record schema: one module names every kind; one reader and writer for trace files."""
from __future__ import annotations

import ast
import json
import pathlib

import pytest

from emulator import records
from emulator.records import (
    NODE_EXITED, TOKEN_FENCED, TOKEN_PASSED, TOKEN_RECEIVED, TOKEN_RETURNED, Holdings, holdings,
)
from harness.tracefile import HEADER, TraceError, read_trace, write_trace

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Words that are record kinds but also mean something else in a few places. Each is
# named with its reason; a kind string anywhere else is a stray.
OTHER_MEANINGS = {
    ("harness/chaos/experiment.py", "fault"): "an experiment file's field name",
    ("harness/chaos/experiment.py", "leader"): "an experiment file's target name",
    ("harness/invariants.py", "hygiene"): "the name of invariant 7",
}



def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            found.add(id(body[0].value))
    return found


def _strays(path: pathlib.Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):          # r["fault"]: a field, not a kind
            exempt.add(id(node.slice))
        elif isinstance(node, ast.Dict):             # {"fault": ...}: field names
            exempt.update(id(key) for key in node.keys if key is not None)
        elif isinstance(node, ast.keyword) and node.arg == "headers":  # table columns
            exempt.update(id(n) for n in ast.walk(node.value))
        elif isinstance(node, ast.ClassDef) and any(  # Status.LEADER: a role, not a kind
                getattr(base, "id", "") == "Enum" for base in node.bases):
            exempt.update(id(n) for n in ast.walk(node))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "set_xticks":
            exempt.update(id(n) for n in ast.walk(node))  # a chart's axis labels
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "get" \
                and node.args:                       # r.get("fault"): a field
            exempt.add(id(node.args[0]))
    relative = str(path.relative_to(ROOT))
    return [f"{relative}:{node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value in records.KINDS and id(node) not in docstrings
            and id(node) not in exempt and (relative, node.value) not in OTHER_MEANINGS]


def test_every_record_kind_is_spelled_in_the_schema_module_only():
    sources = [p for folder in ("emulator", "harness") for p in (ROOT / folder).rglob("*.py")
               if p != ROOT / "emulator" / "records.py"]
    strays = [stray for path in sources for stray in _strays(path)]
    assert not strays, "record kinds spelled outside emulator/records.py:\n" + "\n".join(strays)


def test_given_a_pass_that_failed_then_the_holding_goes_on():
    # token_returned takes the token back: the holder holds it again until it passes.
    history = [
        {"t_ns": 1, "pos": 0, "pid": 10, "kind": TOKEN_RECEIVED, "epoch": 1},
        {"t_ns": 2, "pos": 0, "pid": 10, "kind": TOKEN_PASSED, "epoch": 1},
        {"t_ns": 3, "pos": 0, "pid": 10, "kind": TOKEN_RETURNED, "epoch": 1},
        {"t_ns": 4, "pos": 0, "pid": 10, "kind": TOKEN_FENCED, "epoch": 0},  # stale, at the door
    ]
    view = Holdings()
    for record in history:
        view.observe(record)
    assert [(h.pos, h.epoch) for h in view.open()] == [(0, 1)]
    view.observe({"t_ns": 5, "pos": 0, "pid": 10, "kind": NODE_EXITED})
    assert view.open() == []
    assert [(h.start_ns, h.end_ns) for h in holdings(history)] == [(1, 2), (3, float("inf"))]


def test_a_trace_file_round_trips_with_its_header(tmp_path):
    path = tmp_path / "t.jsonl"
    records_in = [{"t_ns": 5, "pos": 1, "id": 3, "pid": 9, "kind": TOKEN_RECEIVED, "epoch": 1,
                   "hop": 4}]
    assert write_trace(str(path), records_in) == 1
    assert json.loads(path.read_text().splitlines()[0]) == HEADER
    assert read_trace(str(path)) == records_in


@pytest.mark.parametrize("content, says", [
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00binary", "binary"),
    (b'{"name": "an experiment file"}\n', "not a ringemu trace"),
    (b'{"t_ns": 1, "pos": 0, "id": 1, "pid": 2, "kind": "node_started"}\n',
     "not a ringemu trace"),
    (b'{"format": "ringemu-trace", "version": 1}\n{"t_ns": 1}\n', "version 1"),
    (b'{"format": "ringemu-trace", "version": 2}\n', "no records"),
    (b'{"format": "ringemu-trace", "version": 2}\n[1, 2]\n', "line 2 is not a trace record"),
    (b'{"format": "ringemu-trace", "version": 2}\n' + b"[" * 100_000 + b"\n", "line 2"),
])
def test_given_a_file_that_is_not_a_trace_then_one_line_names_what_is_wrong(
        tmp_path, content, says):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceError) as raised:
        read_trace(str(path))
    message = str(raised.value)
    assert says in message and "\n" not in message and str(path) in message
