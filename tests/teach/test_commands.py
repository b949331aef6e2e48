"""``ringemu trace``, ``ringemu diagram`` and ``ringemu demo``, run as a user runs them."""
from __future__ import annotations

import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from harness.tracefile import read_trace

DATA = pathlib.Path(__file__).parent / "data"
SVG = "{http://www.w3.org/2000/svg}"


def ringemu(*args: str, cwd=None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=cwd)


def svg_root(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return root


def test_diagram_draws_a_recorded_trace(tmp_path):
    out = tmp_path / "ph.svg"
    done = ringemu("diagram", str(DATA / "pause-holder.jsonl"), "--out", str(out),
                   "--window", "495:530")
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    svg_root(out)


def _bad_trace(tmp_path) -> str:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"format": "ringemu-trace", "version": 2}\n'
                    '{"t_ns": 1, "pos": 0, "id": 1, "pid": 2, "kind": "node_started"}\n'
                    "not json\n")
    return str(path)


@pytest.mark.parametrize("make_args, named", [
    (lambda tmp: ["diagram", str(tmp / "missing.jsonl"), "--out", str(tmp / "x.svg")],
     "missing.jsonl"),
    (lambda tmp: ["diagram", _bad_trace(tmp), "--out", str(tmp / "x.svg")], "line 3"),
    (lambda tmp: ["diagram", str(DATA / "pause-holder.jsonl"), "--out", str(tmp / "x.svg"),
                  "--window", "9:3"], "9:3"),
    (lambda tmp: ["diagram", str(DATA / "pause-holder.jsonl"), "--out", str(tmp / "x.svg"),
                  "--window", "5000:6000"], "no events"),
    (lambda tmp: ["diagram", str(DATA / "pause-holder.jsonl"), "--out",
                  "/nonexistent-dir/x.svg"], "/nonexistent-dir/x.svg"),
    (lambda tmp: ["diagram", str(DATA / "pause-holder.jsonl"), "--out", str(tmp / "x.svg"),
                  "--scale", "0"], "--scale"),
    (lambda tmp: ["trace", "--scenario", "meteor-strike", "--out", str(tmp / "x.svg")],
     "meteor-strike"),
    (lambda tmp: ["trace", "--scenario", "pause-holder", "--nodes", "2",
                  "--out", str(tmp / "x.svg")], "2"),
    (lambda tmp: ["trace", "--scenario", "kill-next", "--hidden-death", "--start-method",
                  "spawn", "--out", str(tmp / "x.svg")], "spawn"),
    (lambda tmp: ["demo", "--nodes", "2", "--out", str(tmp / "x.svg")], "2"),
])
def test_bad_input_is_one_line_naming_it(tmp_path, make_args, named):
    done = ringemu(*make_args(tmp_path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and named in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.real
def test_trace_runs_one_trial_checks_it_and_draws_it(tmp_path):
    out = tmp_path / "kill.svg"
    done = ringemu("trace", "--scenario", "kill-holder", "--nodes", "4", "--seed", "3",
                   "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checker: every invariant held" in done.stdout
    assert "SIGKILL" in done.stdout and "neighbours saw EOF" in done.stdout
    trace = read_trace(str(tmp_path / "kill.jsonl"))
    assert any(r["kind"] == "trial_end" for r in trace)
    # The verdict covers invariant 7 too: the trace ends with what the stop left behind.
    assert trace[-1]["kind"] == "hygiene" and trace[-1]["leftover_pids"] == []
    root = svg_root(out)
    nodes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    assert len(nodes) == 4


@pytest.mark.real
def test_demo_fast_tells_the_story_and_points_at_its_diagram(tmp_path):
    done = ringemu("demo", "--fast", "--out", "demo.svg", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    story = done.stdout
    for step in ("The ring starts, with no token", "A snapshot counts",
                 "Arbitrary nodes become candidates", "IDs travel and are swallowed",
                 "The largest ID comes home", "The leader makes the token",
                 "SIGKILL: a node dies, its neighbours see EOF",
                 "SIGSTOP: a node freezes", "SIGCONT: the old holder wakes up"):
        assert step in story, step
    assert "counts 0 token(s)" in story and "end-of-file" in story
    assert "token_fenced" in story and "every invariant held" in story
    assert "demo.svg" in story.split("The end.")[1]
    svg_root(tmp_path / "demo.svg")
    trace = read_trace(str(tmp_path / "demo.jsonl"))
    assert trace[-1]["kind"] == "hygiene" and trace[-1]["zombies"] == []
    kinds = {r["kind"] for r in trace}
    assert {"fault", "link_down", "restarted", "bypassed", "rejoined", "token_fenced"} <= kinds
