"""Claims about a real ring: real processes, real signals, real pipes, real EOFs."""
from __future__ import annotations

import os
import random

import psutil
import pytest

from emulator.protocol import DropToken
from harness.chaos.trial import Trial
from harness.history import describe

pytestmark = pytest.mark.real

START_METHODS = ["fork", "forkserver", "spawn"]


def _is(kind, **fields):
    return lambda r: r["kind"] == kind and all(r.get(k) == v for k, v in fields.items())


def test_a_ring_of_five_bootstraps_and_the_largest_candidate_leads(make_ring):
    """Given a new ring of 5 with no token, when it bootstraps, then the snapshot
    finds 0 tokens, exactly one leader is elected, it has the largest candidate
    ID, and its token completes laps."""
    ring = make_ring(ids=(3, 1, 5, 2, 4), candidates=5)
    recovery = ring.pipeline.recover("bootstrap")

    assert recovery.ok and recovery.snapshot_tokens == 0
    leaders = ring.history.of_kind("leader")
    assert len(leaders) == 1
    candidate_ids = {r["id"] for r in ring.history.of_kind("candidate")}
    assert leaders[0]["id"] == max(candidate_ids) == recovery.leader_id
    leader_pos = leaders[0]["pos"]
    ring.wait_for(lambda r: (r["kind"] == "token_received" and r["pos"] == leader_pos
                             and r["epoch"] == recovery.epoch and r["hop"] >= 3 * 5),
                  what="three laps of the new token")
    assert {r["epoch"] for r in ring.history.of_kind("token_received")} == {recovery.epoch}


@pytest.mark.parametrize("start_method", START_METHODS)
def test_sigkill_is_seen_as_eof_by_both_neighbours_at_once(make_ring, start_method):
    """Given a ring under each start method, when node 2 is SIGKILLed, then both
    neighbours report link_down within 100 ms of the kill (every pipe end has one
    owner, so nothing hides the death)."""
    ring = make_ring(ids=(3, 1, 5, 2, 4), start_method=start_method)
    ring.cluster.wait_until(lambda: len(ring.history.of_kind("node_started")) == 5, 30)
    mark = ring.mark()
    ring.cluster.kill(2)
    fault = ring.wait_for(_is("fault", fault="SIGKILL"), since=mark)
    left = ring.wait_for(_is("link_down", pos=1, side="right"), since=mark)
    right = ring.wait_for(_is("link_down", pos=3, side="left"), since=mark)
    for seen in (left, right):
        assert 0 <= (seen["t_ns"] - fault["t_ns"]) / 1e6 < 100
        assert seen["cause"] == "eof"  # no token yet: nobody wrote, both read EOF
    exited = ring.wait_for(_is("node_exited", pos=2), since=mark)
    assert exited["signal"] == "SIGKILL"


def test_a_restarted_node_has_a_new_pid_same_id_and_the_token_passes_it(make_ring):
    """Given a circulating token, when node 2 is killed and restarted, then it has
    a new pid and the same ID, and (after recovery if the token died with it) the
    token passes through the new process."""
    ring = make_ring(ids=(3, 1, 5, 2, 4))
    assert ring.pipeline.recover("bootstrap").ok
    old_pid = ring.cluster.nodes[2].pid
    ring.cluster.kill(2)
    ring.wait_for(_is("node_exited", pos=2))
    mark = ring.mark()
    ring.cluster.restart(2)
    new_pid = ring.cluster.nodes[2].pid
    assert new_pid != old_pid and ring.cluster.nodes[2].node_id == 5
    assert psutil.Process(new_pid).is_running()
    started = ring.wait_for(_is("node_started", pos=2), since=mark)
    assert started["pid"] == new_pid and started["id"] == 5
    assert started["epoch"] == 1  # reloaded from its state file: nothing else survives
    assert ring.pipeline.recover("after restart").ok
    ring.wait_for(lambda r: r["kind"] == "token_received" and r["pos"] == 2
                  and r["pid"] == new_pid, since=mark, what="the token at the new process")


def test_killing_the_holder_is_detected_and_a_higher_epoch_token_circulates(make_ring):
    """Given a circulating token with a long hold, when its holder is SIGKILLed,
    then the death is noticed (no silence is waited for), the snapshot counts 0
    tokens, an election runs, and a token of a higher epoch circulates through
    every node."""
    ring = make_ring(ids=(3, 1, 5, 2, 4), hold_ms=40)
    first = ring.pipeline.recover("bootstrap")
    assert first.ok
    # Caught (SIGSTOPped while it holds the token, as the chaos scenarios do): on two
    # busy cores the harness may read a receipt after the token has moved on.
    holder = {"pos": Trial(ring, random.Random(1)).catch_holder()}
    ring.cluster.kill(holder["pos"])
    mark = ring.mark()
    assert ring.pipeline.run_until(
        lambda: any(r.cause == "death" for r in ring.pipeline.recoveries), 60)
    recovery = next(r for r in ring.pipeline.recoveries if r.cause == "death")
    assert recovery.ok and recovery.snapshot_tokens == 0
    assert recovery.epoch > first.epoch
    # The death started the snapshot before any silence could have: the first
    # snapshot after the kill began before the detector's timeout had passed.
    died = ring.wait_for(_is("node_exited", pos=holder["pos"]), since=mark, what="the exit")
    started = ring.wait_for(_is("snapshot_started"), since=mark, what="a snapshot")
    assert started["t_ns"] >= died["t_ns"]
    restarted = ring.wait_for(_is("restarted", pos=holder["pos"]), since=mark,
                              what="the supervisor")
    # It starts with no link at all (its neighbours are spliced together): that is
    # not an EOF, and its records say so.
    for side in ("left", "right"):
        ring.wait_for(_is("link_down", pos=holder["pos"], pid=restarted["pid"], side=side,
                          cause="never_wired"), since=mark, what=f"its {side} link unwired")
    # The replacement was started outside the ring; it rejoins once it runs.
    assert ring.pipeline.run_until(lambda: not any(n.bypassed for n in ring.cluster.nodes), 30)
    for pos in range(5):
        ring.wait_for(lambda r, p=pos: (r["kind"] == "token_received" and r["pos"] == p
                                        and r["epoch"] == recovery.epoch),
                      since=mark, what=f"the new token at node {pos}")


def test_a_dropped_token_is_counted_zero_and_regenerated(make_ring):
    """Given a circulating token, when its holder silently drops it, then the
    pipeline's snapshot counts 0 and a new epoch is elected."""
    ring = make_ring(ids=(2, 7, 4), hold_ms=40)
    assert ring.pipeline.recover("bootstrap").ok
    holder = ring.wait_for(_is("token_received"), since=ring.mark())
    ring.cluster.send(holder["pos"], DropToken())
    ring.wait_for(_is("token_dropped", pos=holder["pos"]))
    assert ring.pipeline.run_until(lambda: len(ring.pipeline.recoveries) == 2, 60)
    recovery = ring.pipeline.recoveries[-1]
    assert recovery.ok and recovery.snapshot_tokens == 0 and recovery.epoch == 2


def test_sigstop_then_sigcont_the_node_resumes_and_the_ring_goes_on(make_ring):
    """Given a circulating token, when a node is SIGSTOPped and then SIGCONTed,
    then the OS reports it stopped, then running, and the token passes it again."""
    ring = make_ring(ids=(3, 1, 5, 2, 4))
    assert ring.pipeline.recover("bootstrap").ok
    ring.cluster.suspend(3)
    assert ring.cluster.status(3) == "stopped"
    ring.cluster.resume(3)
    assert ring.cluster.status(3) == "running"
    mark = ring.mark()
    pid = ring.cluster.nodes[3].pid
    for _lap in range(2):
        mark = ring.history.records.index(ring.wait_for(
            _is("token_passed", pos=3, pid=pid), since=mark)) + 1


def test_a_paused_holder_is_bypassed_and_its_stale_token_is_fenced(make_ring):
    """Given a holder paused past the detection timeout, when the ring bypasses it,
    elects a new epoch and then it is resumed and rejoins, then its old token comes
    back to life and the first node that sees it fences it."""
    ring = make_ring(ids=(3, 1, 5, 2, 4), hold_ms=40)
    assert ring.pipeline.recover("bootstrap").ok
    holder = ring.wait_for(_is("token_received"), since=ring.mark())
    ring.cluster.suspend(holder["pos"])
    assert ring.pipeline.run_until(
        lambda: any(holder["pos"] in r.bypassed for r in ring.pipeline.recoveries), 60)
    recovery = ring.pipeline.recoveries[-1]
    assert recovery.ok and recovery.epoch == 2
    mark = ring.mark()
    ring.cluster.resume(holder["pos"])
    assert ring.pipeline.run_until(
        lambda: bool(ring.history.of_kind("rejoined")), 30)
    fenced = ring.wait_for(_is("token_fenced", epoch=1), since=mark, what="the fence")
    assert fenced["node_epoch"] == 2
    assert fenced["pos"] == (holder["pos"] + 1) % 5  # within one hop


@pytest.mark.parametrize("arrangement,expected", [("descending", 8 * 9 // 2 + 8),
                                                  ("ascending", 2 * 8 - 1 + 8)])
def test_the_real_ring_pays_what_chang_roberts_predicts(make_ring, arrangement, expected):
    """Given 8 nodes, all candidates, when IDs descend (ascend) in the direction of
    travel, then the round costs n(n+1)/2 (2n-1) Candidate messages plus n Elected
    messages on the real ring too, as in the simulator."""
    ids = range(8, 0, -1) if arrangement == "descending" else range(1, 9)
    ring = make_ring(ids=tuple(ids), candidates=8)
    recovery = ring.pipeline.recover("bootstrap")
    assert recovery.ok and recovery.leader_id == 8
    assert len(ring.history.of_kind("candidate")) == 8
    assert recovery.election_messages == expected


def test_an_exception_inside_the_cluster_leaves_no_process_behind():
    """Given a running ring used as a context manager, when the code inside raises,
    then every node is stopped and reaped (the suite's guard checks for leftovers)."""
    from harness.cluster import Cluster
    from harness.config import RingConfig

    pids = []
    with pytest.raises(RuntimeError, match="boom"):
        with Cluster(RingConfig(ids=(1, 2, 3))) as cluster:
            pids = [node.pid for node in cluster.nodes]
            raise RuntimeError("boom")
    assert len(pids) == 3
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in pids)
    assert all(node.exitcodes for node in cluster.nodes)


def test_a_node_is_reaped_when_the_harness_holds_descriptors_past_1023(make_ring):
    """Given a harness holding descriptors numbered past 1023 (a ring of a thousand
    nodes holds three thousand), when a node is SIGKILLed, then it is reaped and
    its exit recorded: waiting on its pidfd must not use select(), which refuses
    descriptors past 1023."""
    padding = []
    try:
        while not padding or padding[-1] < 1100:
            padding.append(os.open(os.devnull, os.O_RDONLY))
        ring = make_ring(ids=(3, 1, 5))
        ring.cluster.wait_until(lambda: len(ring.history.of_kind("node_started")) == 3, 30)
        assert min(n.control.fileno() for n in ring.cluster.nodes) > 1023
        mark = ring.mark()
        ring.cluster.kill(1)
        exited = ring.wait_for(_is("node_exited", pos=1), since=mark)
        assert exited["signal"] == "SIGKILL"
    finally:
        for fd in padding:
            os.close(fd)


def test_a_death_that_spares_the_token_is_narrated_as_nothing_to_repair(make_ring):
    """Given a circulating token, when a node that does not hold it is SIGKILLed,
    then the death's snapshot finds the one token, no election runs, and the
    narrator says so (not that a new token completed a lap)."""
    ring = make_ring(ids=(3, 1, 5, 2, 4, 6), hold_ms=40)
    assert ring.pipeline.recover("bootstrap").ok
    holder = Trial(ring, random.Random(1)).catch_holder()  # the token stays where it is
    victim = (holder + 3) % 6
    ring.cluster.kill(victim)
    ring.cluster.resume(holder)
    assert ring.pipeline.run_until(
        lambda: any(r.cause == "death" for r in ring.pipeline.recoveries), 60)
    recovery = next(r for r in ring.pipeline.recoveries if r.cause == "death")
    assert recovery.ok and recovery.snapshot_tokens == 1 and not recovery.rounds
    said = describe(ring.wait_for(_is("recovered", cause="death"), what="the recovery"))
    assert "the snapshot found the one token" in said and "nothing to repair" in said
    assert "new token" not in said and "false alarm" not in said
