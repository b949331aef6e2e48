"""No result lost, mixed or written where it does not belong: concurrent run stores,
the output-path rule on the real command line, late output failures (exit 4), the
run store's errors.log, and state folders that belong to someone else."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from harness import cli
from harness import cluster as cluster_module
from harness.cluster import Cluster
from harness.config import RingConfig
from harness.tracefile import read_trace
from ringemu_cli import finish, one_line_error, ringemu, start

pytestmark = pytest.mark.real


# --- run stores -------------------------------------------------------------------------


def test_two_campaigns_at_once_produce_intact_separate_stores(tmp_path):
    """Given two campaigns started together on one --runs-dir (so in the same second),
    then each gets its own folder, with its own results and parseable traces only."""
    runs = tmp_path / "runs"
    campaigns = [start("chaos", "--scenario", "drop-token", "--nodes", "3", "--trials", "2",
                       "--seed", seed, "--runs-dir", runs, "--json", tmp_path / f"{seed}.json")
                 for seed in (10, 20)]
    done = [finish(c) for c in campaigns]
    # The claim is about the stores; a verdict (0 or 1) is each campaign's own business.
    assert all(c.returncode in (0, 1) for c in done), [c.stderr for c in done]
    folders = sorted(runs.iterdir())
    assert len(folders) == 2
    seeds_by_folder = []
    for folder in folders:
        results = [json.loads(line) for line in (folder / "results.jsonl").read_text()
                   .splitlines()]
        assert [r["trial"] for r in results] == [0, 1]
        seeds_by_folder.append(sorted(r["seed"] for r in results))
        for trial in (0, 1):
            records = read_trace(str(folder / f"trial-{trial}.jsonl"))  # every line parses
            assert len({r["pid"] for r in records if r["kind"] == "node_started"}) >= 3
    assert sorted(seeds_by_folder) == [[10, 11], [20, 21]]  # nothing of one in the other


# --- the output-path rule on the command line ----------------------------------------------


def test_a_fifo_is_refused_before_any_work_and_without_blocking(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    completed = ringemu("chaos", "--json", fifo, "--runs-dir", tmp_path / "runs", timeout=30)
    assert "a FIFO" in one_line_error(completed) and str(fifo) in completed.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root could replace /dev/null")
def test_a_device_is_refused_and_stays_a_device():
    completed = ringemu("run", "--duration", "0", "--trace", "/dev/null")
    assert "a device" in one_line_error(completed)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_folder_is_refused(tmp_path):
    completed = ringemu("trace", "--scenario", "drop-token", "--out", tmp_path)
    assert "a folder" in one_line_error(completed)


def test_a_symlink_to_a_device_is_refused(tmp_path):
    link = tmp_path / "full.json"
    link.symlink_to("/dev/full")
    completed = ringemu("bench", "--json", link)
    assert "a device" in one_line_error(completed)
    assert link.is_symlink()


def test_a_symlink_is_followed_its_target_written_and_the_link_kept(tmp_path):
    target = tmp_path / "real-trace.jsonl"
    target.write_text("old\n")
    link = tmp_path / "trace.jsonl"
    link.symlink_to(target)
    completed = ringemu("run", "--nodes", "3", "--duration", "0", "--trace", link)
    assert completed.returncode == 0, completed.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert read_trace(str(target))  # the target holds the whole new trace


@pytest.fixture
def full_disk(tmp_path):
    """A tiny tmpfs, filled up: a real 'No space left on device'."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        filler = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(filler, b"\0" * 4096)
        except OSError:
            pass  # full
        finally:
            os.close(filler)
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_an_output_that_fails_late_exits_4_and_keeps_everything_else(tmp_path, full_disk):
    """Given --json on a full disk (it passes the up-front check: a new name in a
    writable folder), then the campaign runs, prints its tables, keeps its run store,
    and ends with one line naming the failure and status 4, not 1."""
    runs = tmp_path / "runs"
    completed = ringemu("chaos", "--scenario", "drop-token", "--nodes", "3", "--trials", "1",
                        "--json", full_disk / "out.json", "--runs-dir", runs)
    assert completed.returncode == 4, completed.stderr
    assert "Traceback" not in completed.stderr
    error = completed.stderr.strip().splitlines()[-1]
    assert "out.json" in error and "No space left on device" in error
    assert "median recover ms" in completed.stdout            # the tables were printed
    stored = next(runs.glob("*/results.jsonl")).read_text().splitlines()
    assert json.loads(stored[0])["scenario"] == "drop-token"  # the run store is intact
    assert sorted(os.listdir(full_disk)) == ["filler"]       # no temporary file left


# --- a bug's traceback goes to the run store ---------------------------------------------


def test_a_bug_in_a_campaign_exits_3_with_the_traceback_in_the_run_stores_errors_log(
        tmp_path, monkeypatch, capsys):
    """A bug is planted where no trial can catch it (printing the summary); the
    command's last resort must say so in one line and log the traceback in the store."""
    def broken_table(rows):
        raise RuntimeError("planted bug")

    monkeypatch.setattr("harness.cli.chaos.summary_table", broken_table)
    runs = tmp_path / "runs"
    status = cli.main(["chaos", "--scenario", "drop-token", "--nodes", "3", "--trials", "1",
                       "--runs-dir", str(runs)])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert status == 3
    log = next(runs.glob("*/errors.log"))
    assert str(log) in err and "RuntimeError: planted bug" in err
    assert "Traceback" in log.read_text() and "planted bug" in log.read_text()


# --- state folders ------------------------------------------------------------------------


def _state_folder(parent: str, name: str) -> str:
    path = os.path.join(parent, name)
    os.makedirs(path)
    with open(os.path.join(path, "node-0.json"), "w") as handle:
        handle.write('{"epoch": 3}')
    return path


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make another user's folder")
def test_another_users_state_folder_is_never_removed():
    """Given a state folder named after a dead harness but owned by another user,
    then a new cluster leaves it alone; this user's own abandoned one goes."""
    parent = cluster_module._state_parent() or tempfile.gettempdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    theirs = _state_folder(parent, f"ringemu-state-{dead.pid}-theirs")
    ours = _state_folder(parent, f"ringemu-state-{dead.pid}-ours")
    os.chown(theirs, 65534, 65534)  # nobody
    try:
        Cluster(RingConfig(ids=(1, 2))).stop()
        assert os.path.isfile(os.path.join(theirs, "node-0.json"))
        assert not os.path.exists(ours)
    finally:
        shutil.rmtree(theirs, ignore_errors=True)
        shutil.rmtree(ours, ignore_errors=True)


def test_a_link_named_like_a_state_folder_is_not_followed(tmp_path):
    parent = cluster_module._state_parent() or tempfile.gettempdir()
    precious = _state_folder(str(tmp_path), "precious")
    dead = subprocess.Popen(["true"])
    dead.wait()
    link = os.path.join(parent, f"ringemu-state-{dead.pid}-link")
    os.symlink(precious, link)
    try:
        Cluster(RingConfig(ids=(1, 2))).stop()
        assert os.path.isfile(os.path.join(precious, "node-0.json"))
    finally:
        os.unlink(link)


def test_a_run_store_on_a_full_disk_exits_4_with_the_verdicts_printed(tmp_path, full_disk):
    """The traces and results themselves fail as the trials run: the trials are still
    judged from the history in memory, the tables printed, and the status is 4 with
    one line naming the failure, not 1 (no invariant was violated) and no traceback."""
    completed = ringemu("chaos", "--scenario", "drop-token", "--nodes", "3", "--trials", "2",
                        "--runs-dir", full_disk / "runs")
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    error = completed.stderr.strip().splitlines()[-1]
    assert "No space left on device" in error and str(full_disk) in error
    rows = [line.split() for line in completed.stdout.splitlines()
            if line.startswith("drop-token")]
    assert rows[0][:2] == ["drop-token", "0"]  # the trial was judged and shown
    assert "unexpected" not in completed.stdout


def test_run_with_its_trace_on_a_full_disk_exits_4_after_its_tables(full_disk):
    completed = ringemu("run", "--nodes", "3", "--duration", "0.2",
                        "--trace", full_disk / "trace.jsonl")
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "No space left on device" in completed.stderr.strip().splitlines()[-1]
    assert "checker: " in completed.stdout  # judged from the history in memory
