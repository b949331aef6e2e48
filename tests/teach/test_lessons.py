"""Every command on every lesson page runs, as written, and does what the page says."""
from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from harness.tracefile import read_trace

LESSONS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "lessons"
PAGES = sorted(LESSONS.glob("[0-9]-*.md"))

pytestmark = pytest.mark.real


def commands(page: pathlib.Path) -> list[str]:
    """The ``$ `` lines of the page's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", page.read_text(), flags=re.S)
    return [line[2:] for block in blocks for line in block.splitlines()
            if line.startswith("$ ")]


def run_page(page: pathlib.Path, where: pathlib.Path) -> list[subprocess.CompletedProcess]:
    for script in LESSONS.glob("*.py"):
        shutil.copy(script, where)
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}:{os.environ['PATH']}")
    done = []
    for command in commands(page):
        result = subprocess.run(command, shell=True, cwd=where, env=env, text=True,
                                capture_output=True, timeout=120, stdin=subprocess.DEVNULL,
                                executable="/bin/bash")
        assert result.returncode == 0, f"{page.name}: {command}\n{result.stdout}{result.stderr}"
        done.append(result)
    return done


def trace(where: pathlib.Path, name: str) -> list[dict]:
    return read_trace(str(where / name))


def test_there_are_seven_lessons_each_with_a_command_and_a_picture():
    assert len(PAGES) == 7
    for page in PAGES:
        text = page.read_text()
        assert commands(page), page.name
        pictures = re.findall(r"!\[[^]]*\]\(([^)]+\.svg)\)", text)
        assert pictures, page.name
        for picture in pictures:
            assert (LESSONS / picture).is_file(), picture


def test_1_signals(tmp_path):
    outs = run_page(LESSONS / "1-signals.md", tmp_path)
    assert all("checker: every invariant held" in o.stdout for o in outs)
    term = trace(tmp_path, "sigterm.jsonl")
    assert any(r["kind"] == "node_stopping" and r["reason"] == "SIGTERM" for r in term)
    stop = trace(tmp_path, "sigstop.jsonl")
    assert any(r["kind"] == "bypassed" for r in stop)
    assert not any(r["kind"] == "node_exited" and r["exitcode"] != 0 for r in stop)


def _eofs_after_kill(records: list[dict]) -> list[dict]:
    kill = next(r for r in records if r["kind"] == "fault" and r["fault"] == "SIGKILL")
    shutdown = min(r["t_ns"] for r in records if r["kind"] == "node_stopping")
    # What the neighbours that lived through the kill saw (a replacement starts with
    # no links and says so: that is not an EOF).
    before = {r["pid"] for r in records if r["t_ns"] <= kill["t_ns"]}
    return [r for r in records if kill["t_ns"] < r["t_ns"] < shutdown and r["pid"] in before
            and r["kind"] in ("link_down", "link_retired")]


def test_2_a_hidden_death_shows_no_eof(tmp_path):
    run_page(LESSONS / "2-eof-and-hidden-death.md", tmp_path)
    assert _eofs_after_kill(trace(tmp_path, "eof.jsonl"))
    hidden = trace(tmp_path, "hidden-death.jsonl")
    assert not _eofs_after_kill(hidden)
    kill = next(r for r in hidden if r["kind"] == "fault" and r["fault"] == "SIGKILL")
    assert kill["pos"] != 0


def test_3_zombies_and_reaping(tmp_path):
    outs = run_page(LESSONS / "3-zombies-and-reaping.md", tmp_path)
    assert "zombie" in outs[0].stdout and "exitcode=None" in outs[0].stdout


def test_4_pid_reuse(tmp_path):
    outs = run_page(LESSONS / "4-pid-reuse.md", tmp_path)
    text = outs[0].stdout
    assert "restarted: node 2 is now pid" in text
    if "a stranger now has pid" in text:  # only where pids can be steered (root)
        assert "is_running() -> False" in text and "refuses" in text
    assert (tmp_path / "pid-reuse.svg").is_file()


def test_5_fencing(tmp_path):
    outs = run_page(LESSONS / "5-fencing.md", tmp_path)
    assert "checker: every invariant held" in outs[0].stdout
    assert "exit status 1" in outs[1].stdout and "one_token" in outs[1].stdout


def test_6_snapshot(tmp_path):
    outs = run_page(LESSONS / "6-snapshot.md", tmp_path)
    assert "counted 2" in outs[0].stdout and "counted 0" in outs[0].stdout
    audit = [r for r in trace(tmp_path, "snapshot.jsonl") if r["kind"] == "snapshot_result"]
    assert any(r["tokens"] == 2 for r in audit)


def test_7_election_cost(tmp_path):
    outs = run_page(LESSONS / "7-election-cost.md", tmp_path)
    assert outs[0].stdout.split() == ["ascending", "election", "messages:", "23",
                                      "descending", "election", "messages:", "44"]
    assert "average over 20 random arrangements" in outs[1].stdout
