"""`ringemu bench --quick --json`: every section present and sane (no timing thresholds)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import cli
from harness.bench import SECTIONS, TITLES

pytestmark = pytest.mark.real


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    done = subprocess.run([sys.executable, "-m", "harness", "bench", "--quick", "--json",
                           str(path)], capture_output=True, text=True, timeout=300)
    return done, json.loads(path.read_text(encoding="utf-8"))


def _summary_sane(summary: dict) -> None:
    assert summary["n"] >= 1
    assert 0 < summary["low"] <= summary["q1"] <= summary["median"] <= summary["q3"] \
        <= summary["high"]


def test_it_runs_every_section_and_prints_each_table(quick):
    done, document = quick
    assert done.returncode == 0, done.stderr
    assert set(document["sections"]) == set(SECTIONS)
    assert document["errors"] == {}
    for title in TITLES.values():
        assert title in done.stdout
    machine = document["machine"]
    assert machine["cpus"] >= 1 and machine["python"] and machine["start_method"] == "fork"
    assert machine["during_run"]["wall_s"] > 0
    assert document["quick"] is True


def test_transport_has_the_ring_and_both_references_measured_in_the_same_run(quick):
    section = quick[1]["sections"]["transport"]
    kinds = {(r["what"], r["nodes"]) for r in section["rows"]}
    assert {("os.pipe ping-pong", 2), ("Connection ping-pong", 2), ("ringemu ring", 8),
            ("ringemu ring", 64), ("raw Connection ring", 8)} <= kinds
    for row in section["rows"]:
        _summary_sane(row["hop_us"])
        assert row["vs_connection"] > 0
    assert {"8", "64"} <= set(section["goal"]["ratio_vs_connection"])
    assert section["placements"][0] == "2 CPUs"
    assert {r["placement"] for r in section["rows"]} == set(section["placements"])
    assert all(v > 0 for v in section["node_work"].values())


def test_elections_match_the_closed_forms_and_the_real_ring_matches_the_simulator(quick):
    section = quick[1]["sections"]["elections"]
    assert section["sim_exact_rows"] > 0 and section["real_rows"] > 0
    assert section["sim_exact_matches"] == section["sim_exact_rows"]
    for row in section["rows"]:
        if row["arrangement"] in ("ascending", "descending"):
            assert row["sim_total"] == row["closed_form_total"]
        if row["real_total"] is not None:
            # With every candidate started before any message reaches it (an ample
            # lead), the real ring pays exactly what the simulator pays.
            assert row["ample_total"] == row["sim_total"]
            assert row["ample_candidates_started"] == row["nodes"]
            # The pipeline's own lead can be too short on a busy machine; then, and only
            # then, some node did not become a candidate and the count differs.
            assert (row["real_total"] == row["sim_total"]
                    or row["real_candidates_started"] < row["nodes"])
            # The nodes' own send counters agree with the events, over both rounds.
            assert row["real_counters_total"] == row["real_total"] + row["ample_total"]
    arrangements = {r["arrangement"] for r in section["rows"]}
    assert {"ascending", "descending", "random", "random (mean)"} <= arrangements


def test_every_election_algorithm_is_compared_within_its_bound(quick):
    comparison = quick[1]["sections"]["elections"]["comparison"]
    assert set(comparison["algorithms"]) == {"cr", "lelann", "hs", "franklin", "peterson"}
    assert comparison["within_bound"] == comparison["bound_rows"] > 0
    for row in comparison["rows"]:
        assert row["within_formula"] in (True, None), row  # None: CR's mean, not a bound
        if row["real_messages"] is not None:
            assert row["real_agrees"] or row["real_candidates_started"] < row["nodes"], row
    assert comparison["real_rows"] == 5
    assert "Election algorithms side by side" in quick[0].stdout


def test_recovery_phases_are_split_and_expressed_in_hops(quick):
    section = quick[1]["sections"]["recovery"]
    assert section["rows"]
    for row in section["rows"]:
        _summary_sane(row["hop_us"])
        for phase in ("detect", "snapshot", "election", "lead", "total", "critical"):
            _summary_sane(row[phase]["ms"])
            assert row[phase]["hops"] > 0
        assert row["snapshot"]["floor_hops"] == row["nodes"] / 2
        assert row["election_without_lead"]["floor_hops"] == 2 * row["nodes"]
        assert row["lead"]["ms"]["median"] < row["election"]["ms"]["median"]
        assert row["critical_vs_floor"] > 0
        assert all(run["rounds"] >= 1 for run in row["runs"])


def test_restart_follows_the_replacement_until_the_token_passes_it(quick):
    section = quick[1]["sections"]["restart"]
    (row,) = section["rows"]
    _summary_sane(row["bare_start_ms"])
    for run in row["runs"]:
        assert run["new_pid"] != run["old_pid"]
        assert run["eof_ms"] is None or run["eof_ms"] > 0
        assert 0 < run["reaped_ms"] < run["running_ms"] \
            <= run["token_ms"]
    assert row["start_vs_bare"] > 0


def test_scale_reports_memory_descriptors_and_the_limit(quick):
    section = quick[1]["sections"]["scale"]
    (row,) = section["rows"]
    assert row["nodes"] == 64
    memory = row["memory"]
    assert 0 < memory["uss_mib"]["median"] <= memory["rss_mib"]["median"]
    assert row["harness_fds"] > 0 and row["bootstrap_ms"] > 0
    limits = section["limits"]
    if limits["max_nodes_by_descriptors"] is not None:
        assert limits["max_nodes_by_descriptors"] >= 2
        assert "--nodes" in limits["error_beyond"] and "ulimit" in limits["error_beyond"]


def test_campaign_throughput_has_both_scenarios_and_the_no_fault_reference(quick):
    section = quick[1]["sections"]["campaign"]
    assert [r["scenario"] for r in section["rows"]] == ["drop-token", "kill-holder"]
    for row in section["rows"]:
        assert row["trials"] >= 1 and 0 <= row["ok"] <= row["trials"]
        assert row["per_minute"] > 0 and row["vs_no_fault"] > 0
    assert section["no_fault"]["trials"] >= 1


def test_plots_are_written_from_the_document(quick, tmp_path):
    pytest.importorskip("matplotlib")
    from harness.bench.plots import write_plots
    paths = write_plots(quick[1], str(tmp_path))
    assert len(paths) == len(SECTIONS)
    for path in paths:
        with open(path, "rb") as handle:
            assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr("harness.bench.plots.matplotlib_missing", lambda: True)
    status = cli.main(["bench", "--quick", "--plot", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["ringemu bench: error: --plot needs matplotlib, which is not installed; "
                   "get it with: pip install 'ringemu[plot]'"]


@pytest.mark.parametrize("value", ["abc", "1", "64,x"])
def test_bad_scale_sizes_are_one_line_exit_2(value, capsys):
    assert cli.main(["bench", "--quick", "--scale-nodes", value]) == 2
    assert "--scale-nodes" in capsys.readouterr().err
