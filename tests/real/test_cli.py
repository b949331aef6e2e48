"""The ``ringemu`` command line, run as a user runs it: a real subprocess."""
from __future__ import annotations

import subprocess
import sys

import pytest
from harness.tracefile import read_trace

pytestmark = pytest.mark.real


def ringemu(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


BAD_INPUTS = [
    (["run", "--nodes", "1"], "1"),
    (["run", "--nodes", "0"], "0"),
    (["run", "--nodes", "eight"], "eight"),
    (["run", "--ids", "5,5,2"], "5"),
    (["run", "--ids", "5,0,2"], "0"),
    (["run", "--ids", "5,-1,2"], "-1"),
    (["run", "--ids", "5,x,2"], "x"),
    (["run", "--ids", "5,9,2", "--nodes", "4"], "4"),
    (["run", "--hold-ms", "-1"], "-1"),
    (["run", "--hold-ms", "nan"], "nan"),
    (["run", "--duration", "-3"], "-3"),
    (["run", "--start-method", "vfork"], "vfork"),
    (["run", "--arrangement", "sideways"], "sideways"),
    (["run", "--candidates", "0"], "0"),
    (["run", "--trace", "/nonexistent-dir/trace.jsonl"], "/nonexistent-dir/trace.jsonl"),
    (["run", "--bogus"], "--bogus"),
    (["launch"], "launch"),
    (["chaos", "--scenario", "meteor-strike"], "meteor-strike"),
    (["chaos", "--trials", "0"], "0"),
    (["chaos", "--scenario", "pause-holder", "--nodes", "2"], "2"),
    (["chaos", "--json", "/nonexistent-dir/out.json"], "/nonexistent-dir/out.json"),
    (["chaos", "--runs-dir", "/proc/no-such-place"], "/proc/no-such-place"),
    (["chaos", "--file", "/nonexistent-dir/x.json"], "/nonexistent-dir/x.json"),
    (["chaos", "--ids", "1,1"], "1"),
    (["run", "--nodes", "100000000"], "100000000"),   # beyond the descriptor limit
    (["run", "--seed", "-1"], "-1"),
    (["run", "--hold-ms", "abc"], "abc"),
    (["run", "--candidates", "some"], "some"),
    (["chaos", "--nodes", "3.5"], "3.5"),
    (["chaos", "--trials", "many"], "many"),
    (["chaos", "--start-method", "thread"], "thread"),
]


@pytest.mark.parametrize("args,named", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_clear_line_and_exit_2(args, named):
    result = ringemu(*args, "--duration", "0") if args[0] == "run" and "--duration" not in args \
        else ringemu(*args)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert named in lines[0] and "error" in lines[0]
    assert result.stdout == ""


def test_scenarios_lists_every_scenario_with_a_line_of_explanation():
    from harness.chaos.scenarios import SCENARIOS
    result = ringemu("scenarios")
    assert result.returncode == 0
    for name in SCENARIOS:
        assert name in result.stdout


def test_help_explains_every_run_option():
    result = ringemu("run", "--help")
    assert result.returncode == 0
    for option in ("--nodes", "--ids", "--arrangement", "--seed", "--hold-ms", "--duration",
                   "--start-method", "--trace", "--no-announce", "--no-fencing"):
        assert option in result.stdout


def test_run_bootstraps_prints_the_tables_and_writes_a_trace(tmp_path):
    trace = tmp_path / "trace.jsonl"
    result = ringemu("run", "--nodes", "4", "--ids", "3,9,4,1", "--duration", "0.3",
                     "--candidates", "all", "--trace", str(trace))
    assert result.returncode == 0, result.stderr
    assert "is leader of round 1" in result.stderr
    assert "snapshot" in result.stderr and "0 token(s)" in result.stderr
    assert "bootstrap" in result.stdout and "msgs sent" in result.stdout
    records = read_trace(str(trace))
    for record in records:
        assert {"t_ns", "pos", "id", "pid", "kind"} <= record.keys()
    leaders = [r for r in records if r["kind"] == "leader"]
    candidates = [r["id"] for r in records if r["kind"] == "candidate"]
    assert [r["id"] for r in leaders] == [max(candidates)]
    assert any(r["kind"] == "token_passed" for r in records)
    assert [r["t_ns"] for r in records if r["pos"] == 0 and r["kind"].startswith("token_")] \
        == sorted(r["t_ns"] for r in records if r["pos"] == 0 and r["kind"].startswith("token_"))


def test_bare_election_announces_nothing(tmp_path):
    trace = tmp_path / "trace.jsonl"
    result = ringemu("run", "--nodes", "3", "--duration", "0", "--no-announce",
                     "--trace", str(trace))
    assert result.returncode == 0, result.stderr
    kinds = [r["kind"] for r in read_trace(str(trace))]
    assert "leader" in kinds and "elected" not in kinds
