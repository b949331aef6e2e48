"""``ringemu view`` and ``--view`` as a user runs them, and the page's data, without a
browser (tests/view/test_page.py drives the page itself)."""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

from harness import invariants
from harness.teach import diagram
from harness.teach.view import page_data, render_html

DATA = pathlib.Path(__file__).parent / "data"
KILL_HOLDER = DATA / "kill-holder-8.jsonl"


def ringemu(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def records_of(path: pathlib.Path) -> list[dict]:
    return [r for r in (json.loads(line) for line in path.read_text().splitlines()
                        if line.strip()) if "kind" in r]


def embedded_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="rundata">(.*?)</script>', html,
                      re.S)
    assert found, "the page carries its data"
    return json.loads(found.group(1))


def test_view_writes_one_self_contained_page(tmp_path):
    out = tmp_path / "run.html"
    done = ringemu("view", str(KILL_HOLDER), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    html = out.read_text()
    # nothing is fetched: no external script, style, image, font or frame
    assert not re.search(r"<(script|img|iframe|link)[^>]+(src|href)=", html, re.I)
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(https?:|//)", html)
    assert "default-src 'none'" in html            # and the page forbids it anyway
    data = embedded_data(html)
    assert len(data["events"]) == len(records_of(KILL_HOLDER))


def _not_a_trace(tmp_path) -> str:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"hello": "world"}\n')
    return str(path)


@pytest.mark.parametrize("make_args, named", [
    (lambda tmp: ["view", str(tmp / "missing.jsonl"), "--out", str(tmp / "x.html")],
     "missing.jsonl"),
    (lambda tmp: ["view", _not_a_trace(tmp), "--out", str(tmp / "x.html")], "not a ringemu trace"),
    (lambda tmp: ["view", str(KILL_HOLDER), "--out", "/nonexistent-dir/x.html"],
     "/nonexistent-dir/x.html"),
    (lambda tmp: ["check", "--nodes", "3", "--view", "/nonexistent-dir/x.html"],
     "/nonexistent-dir/x.html"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, make_args, named):
    done = ringemu(*make_args(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0] and "Traceback" not in done.stderr


def test_a_record_cannot_close_the_script_it_is_embedded_in():
    records = records_of(KILL_HOLDER)
    records.append(dict(records[-1], kind="note", text="</script><script>alert(1)</script>"))
    html = render_html(records, title="</title><b>x</b>")
    assert html.count("</script>") == 2            # the data's and the program's own
    assert "<b>x</b>" not in html
    assert embedded_data(html)["events"][-1][5]["text"].startswith("</script>")


def test_the_page_shows_what_the_diagram_and_the_checker_say():
    records = records_of(KILL_HOLDER)
    data = page_data(records, title="t")
    assert len(data["messages"]) == len(diagram.extract_messages(records))
    kinds = {m[0] for m in data["messages"]}
    assert {data["messageKinds"].index(k) for k in ("token", "marker", "candidate",
                                                     "elected")} <= kinds
    expected = invariants.check(records, nodes=8, recovery_deadline_ms=10_000)
    assert [v["invariant"] for v in data["verdict"]["violations"]] == [
        v.invariant for v in expected]
    assert data["verdict"]["complete"]             # the trial's closing record is there


def test_long_silences_are_cut_down_on_the_time_axis():
    records = records_of(KILL_HOLDER)
    axis = page_data(records, title="t")["axis"]
    # the detection timeout after the kill: a silence far longer than a hop
    assert axis["breaks"], "the wait for the detector is a break"
    for a, b in axis["breaks"]:
        assert b - a > 4 * axis["hop_ns"]
    knots = axis["knots"]
    assert all(t1 >= t0 and u1 >= u0 for (t0, u0), (t1, u1) in zip(knots, knots[1:]))
    span = knots[-1][0] - knots[0][0]
    assert knots[-1][1] < span                     # the axis is shorter than the run
    cut = sum(b - a for a, b in axis["breaks"])
    assert knots[-1][1] == pytest.approx(span - cut + len(axis["breaks"]) * (
        max(15e6, 4 * axis["hop_ns"]) // 3), abs=len(axis["breaks"]) + 1)


def test_check_view_shows_the_counterexample_with_the_explorers_verdict(tmp_path):
    out = tmp_path / "ce.html"
    done = ringemu("check", "--nodes", "3", "--faults", "restart", "--mutation",
                   "forward-own-id", "--view", str(out))
    assert done.returncode == 1
    assert f"view: {out}" in done.stdout
    verdict = embedded_data(out.read_text())["verdict"]
    assert verdict["source"] == "ringemu check"
    assert [v["invariant"] for v in verdict["violations"]] == ["termination"]


@pytest.mark.real
def test_chaos_view_shows_a_trial_of_the_campaign(tmp_path):
    out = tmp_path / "trial.html"
    done = ringemu("chaos", "--scenario", "kill-holder", "--trials", "1", "--nodes", "4",
                   "--runs-dir", str(tmp_path / "runs"), "--view", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"view: {out}" in done.stdout and "kill-holder/0" in done.stdout
    data = embedded_data(out.read_text())
    assert data["title"].startswith("chaos kill-holder · trial 0")
    assert any(data["kinds"][e[2]] == "fault" for e in data["events"])


def test_a_trace_the_checker_cannot_judge_still_gets_a_page(tmp_path):
    # A hand-made trace whose node_started lacks the epoch the checker reads.
    trace = tmp_path / "hand-made.jsonl"
    trace.write_text('{"format": "ringemu-trace", "version": 2}\n'
                     '{"t_ns": 5, "pos": 0, "id": 1, "pid": 9, "kind": "node_started"}\n')
    out = tmp_path / "page.html"
    done = ringemu("view", str(trace), "--out", str(out))
    assert done.returncode == 0, done.stderr
    verdict = embedded_data(out.read_text())["verdict"]
    assert verdict["complete"] is False and "could not judge" in verdict["note"]
