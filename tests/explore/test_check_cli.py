"""``ringemu check`` from the command line: verdicts, exit codes, the trace file."""
from __future__ import annotations


import pytest

from harness.cli import main
from harness.tracefile import read_trace


def test_given_the_real_protocols_then_check_says_no_violation_and_exits_0(capsys):
    status = main(["check", "--nodes", "3", "--faults", "crash,restart,drop"])
    out = capsys.readouterr().out
    assert status == 0
    assert "no violation" in out
    for label in ("states explored", "transitions", "depth", "seconds"):
        assert label in out
    states = int(next(line for line in out.splitlines()
                      if line.startswith("states explored")).split()[-1])
    assert states > 1000


def test_given_a_seeded_bug_then_check_prints_the_trace_writes_it_and_exits_1(
        tmp_path, capsys):
    path = tmp_path / "counterexample.jsonl"
    status = main(["check", "--nodes", "3", "--faults", "restart",
                   "--mutation", "forward-own-id", "--trace", str(path)])
    out = capsys.readouterr().out
    assert status == 1
    assert "VIOLATION (termination)" in out
    assert "FAULT: restart" in out and "repeat forever" in out
    records = read_trace(str(path))
    assert records and all(r["pid"] == 0 and r["t_ns"] % 1000 == 0 for r in records)
    assert any(r["kind"] == "candidate_forwarded" for r in records)


def test_given_an_algorithm_then_check_explores_it_and_says_which(capsys):
    # The flag reaches the explorer and the report (test_explore_algorithms explores
    # every algorithm under crash, restart and drop).
    status = main(["check", "--nodes", "3", "--faults", "drop", "--algorithm", "peterson"])
    out = capsys.readouterr().out
    assert status == 0 and "election peterson" in out and "no violation" in out


def test_given_all_algorithms_then_check_explores_each_in_turn(capsys):
    assert main(["check", "--nodes", "2", "--algorithm", "all"]) == 0
    out = capsys.readouterr().out
    for name in ("cr", "lelann", "hs", "franklin", "peterson"):
        assert f"election {name}" in out
    assert out.count("no violation") == 5


def test_given_explicit_ids_then_they_are_relabelled_by_rank(capsys):
    assert main(["check", "--ids", "50,7,20"]) == 0
    assert "IDs [50, 7, 20] (relabelled by rank)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--faults", "crash,meteor"], "'meteor' is not a fault"),
    (["--nodes", "5"], "needs a bound"),
    (["--nodes", "6"], "too large"),
    (["--nodes", "1"], "too small"),
    (["--ids", "1,2,3", "--nodes", "4"], "--ids lists 3 IDs"),
    (["--ids", "1,1,2"], "appears twice"),
    (["--algorithm", "raft"], "'raft' is unknown"),
    (["--algorithm", "hs", "--mutation", "forward-own-id"], "Chang–Roberts bug"),
])
def test_given_bad_input_then_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as leaving:
        status = main(["check"] + argv)
        raise SystemExit(status)
    assert leaving.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
