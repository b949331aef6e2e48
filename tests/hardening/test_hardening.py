"""Trustworthiness: no orphans, no leaks, no signal to a stranger, no crash on
hostile bytes, and interrupted campaigns that keep their results."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from emulator.protocol import Side
from harness.cluster import Cluster
from harness.config import RingConfig
from harness.history import History
from harness.ring import Ring

pytestmark = pytest.mark.real
DEADLINE_S = 30.0


def _wait(predicate, timeout_s=DEADLINE_S, what="condition"):
    """Poll an outside fact (a file, a process table) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"no {what} within {timeout_s} s"
        time.sleep(0.01)


def _gone(pids: list[int]) -> bool:
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            continue
    return True


def _reap(pids: list[int]) -> None:
    """Orphans are reparented to this test process (a subreaper): reap them."""
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


# --- no orphans ------------------------------------------------------------------------


def test_nodes_exit_within_2_s_when_the_cli_harness_is_sigkilled():
    cli = subprocess.Popen([sys.executable, "-m", "harness", "run", "--duration", "60"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           stdin=subprocess.DEVNULL)
    try:
        for line in cli.stderr:
            if "recovered (bootstrap)" in line:
                break
        nodes = [p.pid for p in psutil.Process(cli.pid).children()]
        assert len(nodes) == 8
    finally:
        cli.kill()
        cli.wait()
    killed = time.monotonic()
    _wait(lambda: _gone(nodes), 5, "node exit")
    assert time.monotonic() - killed < 2.0
    _reap(nodes)


def test_even_a_stopped_node_dies_with_its_harness(tmp_path):
    """EOF cannot wake a SIGSTOPped node; PR_SET_PDEATHSIG does."""
    script = tmp_path / "harness_that_dies.py"
    script.write_text(textwrap.dedent("""
        import sys
        from harness.cluster import Cluster
        from harness.config import RingConfig
        cluster = Cluster(RingConfig(ids=(1, 2, 3)))
        cluster.start()
        cluster.suspend(1)
        print(" ".join(str(n.pid) for n in cluster.nodes), flush=True)
        sys.stdin.read()  # until the test kills us
    """))
    harness = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                               stdin=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        nodes = [int(pid) for pid in harness.stdout.readline().split()]
        assert psutil.Process(nodes[1]).status() == psutil.STATUS_STOPPED
    finally:
        harness.kill()
        harness.wait()
    _wait(lambda: _gone(nodes), 5, "every node, the stopped one too, to exit")
    _reap(nodes)


def _campaign_then(signum: int, tmp_path) -> tuple[subprocess.CompletedProcess, dict, list]:
    report, runs = tmp_path / "out.json", tmp_path / "runs"
    cli = subprocess.Popen(
        [sys.executable, "-m", "harness", "chaos", "--scenario", "drop-token", "--nodes", "4",
         "--trials", "200", "--json", str(report), "--runs-dir", str(runs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        def finished_trials() -> int:
            stores = list(runs.glob("*/results.jsonl")) if runs.exists() else []
            return len(stores[0].read_text().splitlines()) if stores else 0
        _wait(lambda: finished_trials() >= 2, what="two finished trials")
        cli.send_signal(signum)
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    stored = [json.loads(line) for line in
              next(runs.glob("*/results.jsonl")).read_text().splitlines()]
    return subprocess.CompletedProcess(cli.args, cli.returncode, out, err), \
        json.loads(report.read_text()), stored


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_campaign_stops_cleanly_and_keeps_what_finished(tmp_path, signum,
                                                                        status):
    completed, document, stored = _campaign_then(signum, tmp_path)
    assert completed.returncode == status, completed.stderr
    assert "Traceback" not in completed.stderr
    assert "median recover ms" in completed.stdout  # the partial table
    assert len(document["trials"]) >= 2
    assert [t["trial"] for t in document["trials"]] == [t["trial"] for t in stored]
    assert len(stored) < 200


# --- no leaks --------------------------------------------------------------------------


def test_kill_restart_cycles_leak_no_descriptor_child_or_zombie():
    me = psutil.Process()
    fds_before = me.num_fds()
    history = History()
    cluster = Cluster(RingConfig(ids=(4, 1, 3, 2)), sink=history)
    with cluster:
        children_before = len(me.children())
        fds_running = me.num_fds()
        for cycle in range(30):
            pos = cycle % 4
            cluster.kill(pos)
            cluster.wait_until(lambda p=pos: not cluster.nodes[p].running, DEADLINE_S)
            cluster.restart(pos)
        assert len(me.children()) == children_before
        assert me.num_fds() == fds_running
        assert not [c for c in me.children() if c.status() == psutil.STATUS_ZOMBIE]
    assert me.num_fds() == fds_before
    assert sum(r["kind"] == "node_exited" for r in history.records) == 30 + 4


# --- pid safety ------------------------------------------------------------------------


def _bystander_with_pid(pid: int) -> subprocess.Popen | None:
    """A new process that gets the recycled ``pid`` (Linux, root: ns_last_pid)."""
    for _ in range(20):
        try:
            with open("/proc/sys/kernel/ns_last_pid", "w") as last_pid:
                last_pid.write(str(pid - 1))
        except OSError:
            return None
        process = subprocess.Popen(["sleep", "60"])
        if process.pid == pid:
            return process
        process.kill()
        process.wait()
    return None


def test_a_reaped_node_is_never_signalled_even_when_its_pid_is_recycled():
    """Given a node killed and reaped, when a stranger gets its pid (really, via
    ns_last_pid, where this machine allows it), then killing that position again
    does not touch the stranger."""
    cluster = Cluster(RingConfig(ids=(1, 2, 3)))
    with cluster:
        old_pid = cluster.nodes[1].pid
        cluster.kill(1)
        cluster.wait_until(lambda: not cluster.nodes[1].running, DEADLINE_S)
        stranger = _bystander_with_pid(old_pid) or subprocess.Popen(["sleep", "60"])
        try:
            cluster.kill(1)
            cluster.terminate(1)
            cluster.suspend(1)
            assert stranger.poll() is None
            assert psutil.Process(stranger.pid).status() != psutil.STATUS_STOPPED
        finally:
            stranger.kill()
            stranger.wait()


def test_the_identity_check_refuses_a_process_with_another_creation_time():
    """Given a harness that believes node 1 still runs but holds a pid whose
    creation time differs (a recycled pid), then no signal is sent."""
    cluster = Cluster(RingConfig(ids=(1, 2, 3)))
    with cluster:
        node = cluster.nodes[1]
        stranger = subprocess.Popen(["sleep", "60"])
        try:
            real_ps, real_pidfd = node.ps, node.pidfd
            node.ps = psutil.Process(stranger.pid)
            node.ps._ident = (stranger.pid, node.ps.create_time() - 100.0)
            node.pidfd = None
            assert cluster._signal(node, signal.SIGKILL) is False
            assert stranger.poll() is None
        finally:
            node.ps, node.pidfd = real_ps, real_pidfd
            stranger.kill()
            stranger.wait()


def test_a_pidfd_cannot_reach_a_successor_with_the_same_pid():
    """psutil's creation time has 10 ms resolution; a pidfd names the process
    itself. Given a node's pidfd kept past its death, signalling through it fails
    instead of reaching whatever has the pid now."""
    cluster = Cluster(RingConfig(ids=(1, 2, 3)))
    with cluster:
        node = cluster.nodes[2]
        if not hasattr(os, "pidfd_open"):
            pytest.skip("no pidfd on this kernel or Python")
        kept = os.pidfd_open(node.pid)  # as Cluster._signal opens it: on the unreaped node
        old_pid = node.pid
        cluster.kill(2)
        cluster.wait_until(lambda: not node.running, DEADLINE_S)
        stranger = _bystander_with_pid(old_pid) or subprocess.Popen(["sleep", "60"])
        try:
            with pytest.raises(ProcessLookupError):
                signal.pidfd_send_signal(kept, signal.SIGKILL)
            assert stranger.poll() is None
        finally:
            os.close(kept)
            stranger.kill()
            stranger.wait()


# --- hostile bytes on a link -------------------------------------------------------------


@pytest.mark.parametrize("raw,expect", [
    (b"\x00\x00\x00\x11" + b"Z" + bytes(16), {"bad_frame"}),        # unknown message type
    (b"\x00\x00\x00\x05hello", {"bad_frame"}),                       # wrong length
    (b"\x00\x00\x00\x11" + b"C" + bytes(16), {"bad_frame"}),         # round 0: invalid
    (b"\x7f\xff\xff\xff" + b"junk", {"bad_frame", "link_down"}),     # absurd length prefix
    (b"\x00\x00\x00\x11" + b"T\x00\x00", {"bad_frame", "link_down"}),  # truncated, EOF
])
def test_garbage_on_a_link_is_an_event_and_the_ring_goes_on(raw, expect):
    with Ring(RingConfig(ids=(3, 1, 2)), seed=1) as ring:
        cluster, history = ring.cluster, ring.history
        assert ring.pipeline.recover("bootstrap").ok
        probe = cluster.attach_probe(1, Side.LEFT)
        cluster.wait_until(lambda: any(r["kind"] == "rewired" and r["pos"] == 1
                                       for r in history.records), DEADLINE_S)
        os.write(probe.fileno(), raw)
        probe.close()
        assert cluster.wait_until(lambda: expect <= {
            r["kind"] for r in history.records if r["pos"] == 1}, DEADLINE_S)
        mark = len(history.records)
        assert cluster.wait_until(lambda: sum(
            r["kind"] == "token_passed" and r["pos"] == 1
            for r in history.records[mark:]) >= 3, DEADLINE_S)
        assert cluster.nodes[1].running and not cluster.nodes[1].exitcodes


def test_a_dead_harness_state_folder_is_cleared_by_the_next_one(tmp_path):
    """SIGKILL allows no cleanup: the next cluster removes folders whose harness
    pid no longer exists, and leaves a living harness's alone."""
    from harness import cluster as cluster_module
    parent = cluster_module._state_parent() or __import__("tempfile").gettempdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = os.path.join(parent, f"ringemu-state-{dead.pid}-orphan")
    living = os.path.join(parent, f"ringemu-state-{os.getpid()}-living")
    os.makedirs(orphan)
    os.makedirs(living)
    try:
        cluster = Cluster(RingConfig(ids=(1, 2)))
        assert not os.path.exists(orphan)
        assert os.path.exists(living)
        cluster.stop()
    finally:
        for path in (orphan, living):
            if os.path.exists(path):
                os.rmdir(path)
