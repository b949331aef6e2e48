"""``ringemu demo --step``: one story, told from what the run recorded, step by step."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

from emulator.records import CANDIDATE, CANDIDATE_FORWARDED
from harness.tracefile import read_trace

pytestmark = pytest.mark.real
RINGEMU = [sys.executable, "-m", "harness"]


def test_step_mode_waits_for_enter_and_names_each_steps_window(tmp_path):
    done = subprocess.run(RINGEMU + ["demo", "--fast", "--step", "--seed", "2", "--out",
                                     "demo.svg"], cwd=tmp_path, input="\n" * 12, text=True,
                          capture_output=True, timeout=180,
                          env=dict(os.environ, PYTHONPATH=str(pathlib.Path.cwd())))
    assert done.returncode == 0, done.stdout + done.stderr
    story = done.stdout
    assert story.count("[Enter: next step]") == 9
    windows = re.findall(r"\[drawn by: ringemu diagram (\S+) --out (\S+) --window "
                         r"(\d+):(\d+)\]", story)
    assert len(windows) == 9
    starts = [int(lo) for _, _, lo, _ in windows]
    assert starts == sorted(starts) and all(int(lo) < int(hi) for _, _, lo, hi in windows)
    trace, out, lo, hi = windows[7]  # the SIGSTOP of the leader: draw it as told
    drawn = subprocess.run(RINGEMU + ["diagram", trace, "--out", out, "--window",
                                      f"{lo}:{hi}"], cwd=tmp_path, text=True,
                           capture_output=True, timeout=60)
    assert drawn.returncode == 0, drawn.stderr
    assert (tmp_path / out).read_text().startswith("<svg")

    # The article's words, and nothing told that the run did not record.
    story = " ".join(story.split())  # sentences are wrapped at 78 columns
    for words in ("no leader", "Two leaders", "idempotent", "deposed"):
        assert words in story, words
    assert "None" not in story
    records = read_trace(str(tmp_path / "demo.jsonl"))
    sends = sum(r["kind"] in (CANDIDATE, CANDIDATE_FORWARDED) and r["round"] == 1
                for r in records)
    assert f"the IDs made {sends} hops" in story
