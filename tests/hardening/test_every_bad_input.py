"""Every bad input: one line, exit 2, no traceback; Ctrl-C anywhere: 130; and the
command line takes lists, limits and aliases the same way everywhere."""
from __future__ import annotations

import json
import os
import pathlib
import signal
import threading

import pytest

from harness.chaos.scenarios import SCENARIOS
from ringemu_cli import finish, in_process, one_line_error, ringemu, start, wait_for

ROOT = pathlib.Path(__file__).resolve().parents[2]
FAULT = {"at_ms": 10, "fault": "kill", "target": 1}


# --- experiment files the machine cannot take ---------------------------------------------


def _file(tmp_path, content: bytes | str) -> pathlib.Path:
    path = tmp_path / "experiment.json"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


HOSTILE_FILES = {
    "nodes 10**400": '{"nodes": 1' + "0" * 400 + ', "faults": [{"at_ms": 1, "fault": "kill", '
                     '"target": 1}]}',
    "a number of 5000 digits": '{"seed": ' + "9" * 5000 + "}",
    "at_ms 10**400": json.dumps({"nodes": 4, "faults": [dict(FAULT, at_ms=10**400)]}),
    "at_ms 1e400 (infinity)": '{"nodes": 4, "faults": [{"at_ms": 1e400, "fault": "kill", '
                              '"target": 1}]}',
    "target 10**400": json.dumps({"nodes": 4, "faults": [dict(FAULT, target=10**400)]}),
    "seed 10**400": json.dumps({"seed": 10**400, "faults": [FAULT]}),
    "a name too long for a file name": json.dumps({"name": "n" * 300, "faults": [FAULT]}),
    "100k nested brackets": '{"faults": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "non-UTF-8 bytes": b'{"name": "\xff\xfe", "faults": []}',
    "a million nodes": json.dumps({"nodes": 10**6, "faults": [FAULT]}),
    "an ID past the wire format": json.dumps({"ids": [1, 2**64], "faults": [FAULT]}),
    "a fault later than a trial waits": json.dumps({"nodes": 4, "faults": [
        dict(FAULT, at_ms=10**12)]}),
    "bypassing every node": json.dumps({"nodes": 3, "faults": [
        {"at_ms": 1, "fault": "bypass", "target": 0},
        {"at_ms": 2, "fault": "bypass", "target": 1}]}),
    "bypassing a node twice": json.dumps({"nodes": 5, "faults": [
        {"at_ms": 1, "fault": "bypass", "target": 0},
        {"at_ms": 2, "fault": "bypass", "target": 0}]}),
}


def test_on_the_command_line_too(tmp_path):
    """Two of them through a real interpreter: deep nesting and stray bytes."""
    for content in (HOSTILE_FILES["100k nested brackets"], HOSTILE_FILES["non-UTF-8 bytes"]):
        completed = ringemu("chaos", "--file", _file(tmp_path, content),
                            "--runs-dir", tmp_path / "runs")
        assert "experiment.json" in one_line_error(completed)


@pytest.mark.parametrize("content", HOSTILE_FILES.values(), ids=HOSTILE_FILES.keys())
def test_a_hostile_experiment_file_is_one_line_and_exit_2(tmp_path, capsys, content):
    completed = in_process(capsys, "chaos", "--file", _file(tmp_path, content),
                           "--runs-dir", tmp_path / "runs")
    line = one_line_error(completed)
    assert str(tmp_path / "experiment.json") in line and len(line) < 400
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


# --- times and sizes past what a run can carry -------------------------------------------


@pytest.mark.parametrize("args,named", [
    (["run", "--hold-ms", "1e12"], "--hold-ms"),
    (["run", "--duration", "1e300"], "--duration"),
    (["run", "--nodes", "1" + "0" * 400], "--nodes"),
    (["run", "--ids", "1," + "9" * 5000], "--ids"),
    (["chaos", "--hold-ms", "500"], "lap"),              # 8 nodes x 500 ms: no recovery in time
    (["trace", "--scenario", "drop-token", "--hold-ms", "400", "--out", "x.svg"], "lap"),
    (["demo", "--pace", "1e9"], "--pace"),
])
def test_times_and_sizes_past_what_a_run_can_carry_are_refused(tmp_path, capsys, monkeypatch,
                                                               args, named):
    monkeypatch.chdir(tmp_path)
    completed = in_process(capsys, *args)
    assert named in one_line_error(completed)


# --- diagram on files that are not traces --------------------------------------------------


@pytest.mark.parametrize("content,says", [
    (os.urandom(4096).replace(b"\n", b"x"), "binary"),
    (b"", "empty"),
    (b'{"format": "something-else"}\n{"a": 1}\n', "not a ringemu trace"),
    (b"<svg></svg>\n", "not a ringemu trace"),
])
def test_diagram_refuses_what_is_not_a_trace(tmp_path, capsys, content, says):
    path = tmp_path / "trace.jsonl"
    path.write_bytes(content)
    completed = in_process(capsys, "diagram", path, "--out", tmp_path / "x.svg")
    assert says in one_line_error(completed)
    assert not (tmp_path / "x.svg").exists()


# --- Ctrl-C ----------------------------------------------------------------------------------


def _interrupted(process, ready, nudge=None) -> None:
    """Once ``ready()`` shows the command at work, Ctrl-C it: 130, no traceback.
    ``nudge()``, if given, runs just after the signal is sent."""
    try:
        wait_for(ready, what="the command at work")
        process.send_signal(signal.SIGINT)
        if nudge is not None:
            nudge()
    finally:
        completed = finish(process, timeout=60)
    assert completed.returncode == 130, (completed.returncode, completed.stderr)
    assert "Traceback" not in completed.stderr


def _stderr_lines(process, into: list) -> None:
    threading.Thread(target=lambda: into.extend(process.stderr), daemon=True).start()


def test_ctrl_c_during_check_exits_130():
    process = start("check", "--nodes", "4", "--faults", "crash,restart,drop,duplicate")
    header = []
    threading.Thread(target=lambda: header.append(process.stdout.readline()),
                     daemon=True).start()
    _interrupted(process, lambda: header and header[0].startswith("ringemu check:"))


def test_ctrl_c_during_bench_exits_130():
    process = start("bench", "--quick", "--only", "transport")
    seen: list[str] = []
    _stderr_lines(process, seen)
    _interrupted(process, lambda: len(seen) >= 1)


def test_ctrl_c_during_diagram_exits_130(tmp_path):
    """The trace is a FIFO the test writes: once it is open, diagram is reading it."""
    fifo = tmp_path / "trace.jsonl"
    os.mkfifo(fifo)
    process = start("diagram", fifo, "--out", tmp_path / "x.svg")
    writer = open(fifo, "w")  # returns once diagram has opened the FIFO to read it

    def blank_line() -> None:
        # A signal that lands after Python last checked for one but before read()
        # blocks interrupts nothing: Python sees it once the read returns. A blank
        # line (which a trace may hold) makes it return; gone already is fine.
        try:
            writer.write("\n")
            writer.flush()
        except BrokenPipeError:
            pass

    try:
        writer.write(json.dumps({"format": "ringemu-trace", "version": 2}) + "\n")
        writer.flush()
        _interrupted(process, lambda: True, nudge=blank_line)
    finally:
        try:
            writer.close()
        except BrokenPipeError:
            pass
    assert not (tmp_path / "x.svg").exists()


# --- the command line, consistently ------------------------------------------------------


def test_scenario_lists_accumulate_and_what_does_not_fit_is_skipped_with_why(tmp_path):
    """Commas and spaces separate names, a repeated --scenario adds to them (once each),
    and on 3 nodes the 4-node scenario is skipped, with why, while the others run."""
    report = tmp_path / "out.json"
    completed = ringemu("chaos", "--scenario", "drop-token,restart-storm", "--scenario",
                        "kill-in-flight", "drop-token", "--nodes", "3", "--trials", "1",
                        "--json", report, "--runs-dir", tmp_path / "runs")
    assert completed.returncode in (0, 1), completed.stderr  # ran and judged
    document = json.loads(report.read_text())
    assert document["config"]["scenarios"] == ["drop-token", "kill-in-flight"]
    assert [t["scenario"] for t in document["trials"]] == ["drop-token", "kill-in-flight"]
    assert document["config"]["skipped"] == {
        "restart-storm": "needs at least 4 nodes, the ring has 3"}
    assert "skipped: restart-storm: needs at least 4 nodes, the ring has 3" in completed.stdout


def test_all_combined_with_a_name_is_an_error_saying_so(tmp_path, capsys):
    completed = in_process(capsys, "chaos", "--scenario", "all,drop-token", "--runs-dir", tmp_path)
    line = one_line_error(completed)
    assert "all" in line and "alone" in line and "drop-token" in line


def test_the_default_campaign_on_two_nodes_skips_what_needs_more():
    too_big = sorted(s.name for s in SCENARIOS.values() if s.min_nodes > 2)
    assert too_big  # else this test shows nothing
    # Which scenarios fit is decided before the output paths are checked, so a bad
    # --json path ends the command right after that decision, before any ring starts:
    # the error is the path's, not "--nodes 2 is too small" as it was.
    completed = ringemu("chaos", "--nodes", "2", "--json", "/nonexistent-dir/x.json")
    assert "/nonexistent-dir/x.json" in one_line_error(completed)  # not "too small"


def test_check_accepts_no_fencing_as_its_mutation(capsys):
    plain = in_process(capsys, "check", "--nodes", "3", "--faults", "pause", "--mutation",
                       "no-fencing")
    alias = in_process(capsys, "check", "--nodes", "3", "--faults", "pause", "--no-fencing")
    assert plain.returncode == alias.returncode == 1
    assert "MUTATION no-fencing" in alias.stdout
    assert plain.stdout.splitlines()[-1] == alias.stdout.splitlines()[-1]
    clash = in_process(capsys, "check", "--no-fencing", "--mutation", "never-win")
    assert "--mutation never-win" in one_line_error(clash)
    assert in_process(capsys, "check", "--nodes", "3", "--no-announce").returncode == 0


def test_ring_options_cannot_be_combined_with_an_experiment_file(tmp_path, capsys):
    path = _file(tmp_path, json.dumps({"nodes": 4, "faults": [FAULT]}))
    completed = in_process(capsys, "chaos", "--file", path, "--nodes", "6", "--runs-dir", tmp_path)
    assert "--nodes cannot be combined with --file" in one_line_error(completed)


def test_demo_help_states_its_defaults_and_bench_is_a_phony_target():
    help_text = " ".join(ringemu("demo", "--help").stdout.split())
    assert "default 5" in help_text and "Defaults: 5 nodes" in help_text
    phony = [line for line in (ROOT / "Makefile").read_text().splitlines()
             if line.startswith(".PHONY:")]
    assert "bench" in phony[0].split()
