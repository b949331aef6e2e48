"""The checker on hand-made histories: one healthy trial, and each invariant broken."""
import random

import pytest

from emulator.records import TASK_STEP
from harness.invariants import (
    INVARIANTS, Violation, check, check_correct_leader, check_hygiene, check_liveness,
    check_mutual_exclusion, check_one_token, check_single_leader, check_termination,
    holdings,
)

MS = 1_000_000
DEADLINE_MS = 100.0


class Trace:
    """Builds a history the way the harness records it: one record per call, 1 ms apart."""

    def __init__(self, ids=(5, 9, 2, 7)):
        self.ids = list(ids)
        self.n = len(self.ids)
        self.pids = [1000 + pos for pos in range(self.n)]
        self.t_ns = 0
        self.records = []
        self.hop = {}                      # epoch -> hop of that token as last sent
        self.bypassed = set()
        self.snapshots = 0

    def at(self, pos, kind, **fields):
        self.t_ns += MS
        record = {"t_ns": self.t_ns, "pos": pos, "id": self.ids[pos],
                  "pid": self.pids[pos], "kind": kind}
        record.update(fields)
        self.records.append(record)
        return record

    def right(self, pos):
        pos = (pos + 1) % self.n
        while pos in self.bypassed:
            pos = (pos + 1) % self.n
        return pos

    # --- scenes --------------------------------------------------------------------

    def start(self):
        for pos in range(self.n):
            self.at(pos, "node_started", epoch=0)
        return self

    def kill(self, pos):
        self.at(pos, "fault", fault="SIGKILL", target_pos=pos, signal=9)
        self.at(pos, "node_exited", exitcode=-9, signal="SIGKILL")

    def restart(self, pos, epoch):
        self.pids[pos] += 100
        self.at(pos, "restarted", incarnation=2)
        self.at(pos, "node_started", epoch=epoch)

    def pass_token(self, src, epoch):
        """``src`` passes its token right; the neighbour receives it."""
        self.hop[epoch] = self.hop.get(epoch, 0) + 1
        self.at(src, "token_passed", epoch=epoch, hop=self.hop[epoch])
        self.at(self.right(src), "token_received", epoch=epoch, hop=self.hop[epoch])
        return self.right(src)

    def lap(self, epoch, holder):
        for _ in range(self.n - len(self.bypassed)):
            holder = self.pass_token(holder, epoch)
        return holder

    def snapshot(self, tokens, epoch, complete=True):
        self.snapshots += 1
        self.at(0, "snapshot_result", sid=[0, self.snapshots], tokens=tokens, epoch=epoch,
                complete=complete, missing=[])

    def elect(self, round_, candidates, leader, complete=True):
        """Chang–Roberts as the nodes report it: only the leader's id comes home."""
        self.at(candidates[0], "election_round", round=round_, candidate_pos=candidates,
                candidate_ids=[self.ids[p] for p in candidates])
        for pos in candidates:
            self.at(pos, "candidate", round=round_)
        pos = self.right(leader)
        while pos != leader:
            self.at(pos, "candidate_forwarded", round=round_,
                    candidate_id=self.ids[leader])
            pos = self.right(pos)
        self.at(leader, "leader", round=round_)
        self.at(leader, "token_created", epoch=round_)
        self.hop[round_] = 0
        if complete:
            pos = self.right(leader)
            while pos != leader:
                self.at(pos, "elected", round=round_, leader_id=self.ids[leader])
                pos = self.right(pos)
            self.at(leader, "election_complete", round=round_, leader_id=self.ids[leader])
        return leader

    def recovered(self, cause, epoch, rounds):
        self.at(0, "recovered", cause=cause, total_ms=5.0, epoch=epoch, rounds=rounds)

    def end(self, final_epoch, active=None, leftover=(), zombies=(), fds=(10, 10)):
        self.at(0, "trial_end", active_positions=list(range(self.n)) if active is None
                else active, final_epoch=final_epoch)
        for pos in range(self.n):
            self.at(pos, "node_exited", exitcode=0)
        self.at(0, "hygiene", leftover_pids=list(leftover), zombies=list(zombies),
                fds_before=fds[0], fds_after=fds[1])
        return self.records


def bootstrapped(ids=(5, 9, 2, 7)):
    """A ring after bootstrap: epoch 1, the leader (id 9 at position 1) holds the token."""
    trace = Trace(ids).start()
    trace.snapshot(tokens=0, epoch=0)
    holder = trace.elect(1, [0, 1, 2, 3], leader=1)
    holder = trace.lap(1, holder)
    trace.recovered("bootstrap", epoch=1, rounds=[1])
    return trace, holder


def healthy_history():
    trace, holder = bootstrapped()
    holder = trace.lap(1, holder)
    # The holder dies with the token; it restarts in place; round 2 makes epoch 2.
    holder = trace.pass_token(holder, 1)
    trace.pass_token(holder, 1)                    # to position 3
    trace.kill(3)
    trace.restart(3, epoch=1)
    trace.snapshot(tokens=0, epoch=1)
    holder = trace.elect(2, [0, 3], leader=3)      # ids 5 and 7: 7 wins
    holder = trace.lap(2, holder)
    trace.recovered("silence", epoch=2, rounds=[2])
    # A duplicate appears at position 1; round 3 fences both copies.
    holder = trace.pass_token(holder, 2)           # position 0 holds the original
    trace.at(1, "fault", fault="inject_token", target_pos=1, signal=None)
    trace.at(1, "token_injected", epoch=2)         # position 1 holds the duplicate
    trace.snapshot(tokens=2, epoch=2)
    trace.elect(3, [0, 1, 2, 3], leader=1)
    trace.at(0, "token_fenced", epoch=2, hop=trace.hop[2], node_epoch=3)   # held, retired
    trace.at(1, "token_fenced", epoch=2, hop=0, node_epoch=3)              # the duplicate
    trace.at(2, "token_fenced", epoch=2, hop=1, node_epoch=3)              # refused in flight
    holder = trace.lap(3, 1)
    trace.recovered("duplicate", epoch=3, rounds=[3])
    trace.lap(3, holder)
    trace.snapshot(tokens=1, epoch=3)
    return trace.end(final_epoch=3)


def invariants(violations):
    return {v.invariant for v in violations}


# --- the healthy trial ----------------------------------------------------------------


def test_healthy_history_has_no_violation():
    assert check(healthy_history(), nodes=4, recovery_deadline_ms=DEADLINE_MS) == []


def test_healthy_history_in_a_shuffled_arrival_order_is_still_healthy():
    # The harness drains nodes one at a time: arrival order is not time order.
    records = healthy_history()
    random.Random(7).shuffle(records)
    assert check(records, nodes=4, recovery_deadline_ms=DEADLINE_MS) == []


def test_holdings_follow_the_token_and_end_with_the_process():
    records = healthy_history()
    killed_pid = 1003
    killed = [h for h in holdings(records) if h.pid == killed_pid]
    exit_ns = next(r["t_ns"] for r in records
                   if r["kind"] == "node_exited" and r["pid"] == killed_pid)
    assert killed[-1].epoch == 1 and killed[-1].end_ns == exit_ns


# --- 1. single leader -------------------------------------------------------------------


def test_two_leaders_in_one_round_are_caught():
    trace, _ = bootstrapped()
    trace.at(2, "leader", round=1)
    found = check_single_leader(trace.records)
    assert [v.invariant for v in found] == ["single_leader"]
    assert "round 1" in found[0].detail and "node 2" in found[0].detail


def test_a_leader_conflict_is_caught():
    trace, _ = bootstrapped()
    trace.at(1, "leader_conflict", round=1, leader_id=2)
    assert invariants(check_single_leader(trace.records)) == {"single_leader"}


def test_one_leader_reported_twice_by_the_same_process_is_one_leader():
    trace, _ = bootstrapped()
    trace.records.append(dict(next(r for r in trace.records if r["kind"] == "leader")))
    assert check_single_leader(trace.records) == []


# --- 2. correct leader ------------------------------------------------------------------


def test_a_leader_smaller_than_a_live_candidate_is_wrong():
    trace = Trace().start()
    trace.elect(1, [0, 1], leader=0)               # ids 5 and 9 alive: 5 won
    found = check_correct_leader(trace.records)
    assert [v.invariant for v in found] == ["correct_leader"]
    assert "9" in found[0].detail


def test_a_dead_largest_candidate_may_lose():
    trace = Trace().start()
    trace.at(0, "election_round", round=1, candidate_pos=[0, 1], candidate_ids=[5, 9])
    trace.at(0, "candidate", round=1)
    trace.at(1, "candidate", round=1)
    trace.kill(1)                                  # id 9 dies before the round ends
    trace.at(0, "leader", round=1)
    trace.at(0, "election_complete", round=1, leader_id=5)
    assert check_correct_leader(trace.records) == []


def test_a_candidate_dying_after_the_round_ended_still_counted():
    trace = Trace().start()
    trace.elect(1, [0, 1], leader=0)
    trace.kill(1)                                  # too late: 9 was alive at the end
    assert invariants(check_correct_leader(trace.records)) == {"correct_leader"}


# --- 3. mutual exclusion ----------------------------------------------------------------


def test_two_holders_of_the_current_epoch_are_caught():
    trace, holder = bootstrapped()                 # position 1 holds epoch 1
    trace.at(3, "token_received", epoch=1, hop=9)  # a second copy, not injected
    found = check_mutual_exclusion(trace.records)
    assert [v.invariant for v in found] == ["mutual_exclusion"]
    assert "node 1" in found[0].detail and "node 3" in found[0].detail
    assert found[0].t_ns == trace.records[-1]["t_ns"]


def test_an_injected_epoch_is_exempt_from_mutual_exclusion():
    trace, _ = bootstrapped()
    trace.at(3, "token_injected", epoch=1)
    assert check_mutual_exclusion(trace.records) == []


def test_holders_of_an_old_epoch_are_not_a_mutual_exclusion_violation():
    trace, holder = bootstrapped()
    trace.elect(2, [0, 1, 2, 3], leader=2)         # epoch 2; position 1 still holds 1
    assert check_mutual_exclusion(trace.records) == []


def test_a_hand_off_recorded_out_of_order_is_not_an_overlap():
    trace, holder = bootstrapped()
    trace.pass_token(holder, 1)
    passed, received = trace.records[-2], trace.records[-1]
    trace.records[-2:] = [received, passed]        # receiver's report arrived first
    assert check_mutual_exclusion(trace.records) == []


# --- 4. one token ------------------------------------------------------------------------


def test_a_stale_token_accepted_without_fencing_is_caught():
    trace, holder = bootstrapped()
    trace.elect(2, [0, 1, 2, 3], leader=2)
    trace.pass_token(holder, 1)                    # epoch 1 received while 2 is current
    found = check_one_token(trace.records)
    assert [v.invariant for v in found] == ["one_token"]
    assert "epoch 1" in found[0].detail and "epoch 2" in found[0].detail


def test_a_stale_token_lapping_unfenced_is_one_violation_with_a_count():
    trace, holder = bootstrapped()
    trace.elect(2, [0, 1, 2, 3], leader=2)
    trace.lap(1, holder)
    found = check_one_token(trace.records)
    assert len(found) == 1 and "4 such receipt(s)" in found[0].detail
    assert "node 2" in found[0].detail             # the first to accept it


def paused_through_a_round():
    """Position 1 is paused with an epoch-1 token in its socket, bypassed, and misses
    round 2; resumed, it reads the old token, then is put back into the ring."""
    trace, holder = bootstrapped()
    trace.pass_token(holder, 1)
    trace.at(3, "token_passed", epoch=1, hop=7)     # position 0 passes to 1 ...
    trace.at(1, "fault", fault="SIGSTOP", target_pos=1, signal=19)   # ... which stops
    trace.at(1, "bypassed", left_pos=0, right_pos=2)
    trace.bypassed.add(1)
    holder = trace.elect(2, [0, 2, 3], leader=3)
    trace.lap(2, holder)
    trace.at(1, "fault", fault="SIGCONT", target_pos=1, signal=18)
    trace.at(1, "token_received", epoch=1, hop=7)   # stale, but node 1 knows no better
    trace.bypassed.discard(1)
    trace.at(1, "rejoined", left_pos=0, right_pos=2)
    trace.at(1, "token_passed", epoch=1, hop=8)
    return trace


def test_a_stale_token_accepted_by_a_node_that_missed_the_round_is_the_one_hop():
    trace = paused_through_a_round()
    trace.at(2, "token_fenced", epoch=1, hop=8, node_epoch=2)
    assert check_one_token(trace.records) == []


def test_a_stale_token_accepted_one_hop_further_is_caught():
    trace = paused_through_a_round()
    trace.at(2, "token_received", epoch=1, hop=8)
    found = check_one_token(trace.records)
    assert [v.invariant for v in found] == ["one_token"]
    assert "node 2" in found[0].detail and "1 such receipt(s)" in found[0].detail


def test_a_stale_token_fenced_is_fine():
    trace, holder = bootstrapped()
    trace.elect(2, [0, 1, 2, 3], leader=2)
    trace.at(1, "token_fenced", epoch=1, hop=4, node_epoch=2)
    assert check_one_token(trace.records) == []


def test_a_final_snapshot_counting_two_is_caught():
    trace, holder = bootstrapped()
    trace.lap(1, holder)
    trace.snapshot(tokens=2, epoch=1)
    found = check_one_token(trace.records)
    assert [v.invariant for v in found] == ["one_token"]
    assert "counted 2" in found[0].detail


def test_a_snapshot_of_a_fault_not_yet_repaired_is_left_to_liveness():
    trace, holder = bootstrapped()
    trace.at(holder, "fault", fault="drop_token", target_pos=holder, signal=None)
    trace.at(holder, "token_dropped", epoch=1, hop=4)
    trace.snapshot(tokens=0, epoch=1)
    assert check_one_token(trace.records) == []


def test_two_tokens_of_the_final_epoch_held_at_the_end_are_caught():
    trace, holder = bootstrapped()
    trace.at(3, "token_injected", epoch=1)
    found = check_one_token(trace.end(final_epoch=1))
    assert [v.invariant for v in found] == ["one_token"]
    assert "[1, 3]" in found[0].detail


# --- 5. termination ------------------------------------------------------------------------


def test_a_round_neither_completed_nor_abandoned_is_caught():
    trace, _ = bootstrapped()
    trace.at(0, "election_round", round=2, candidate_pos=[0], candidate_ids=[5])
    trace.at(0, "candidate", round=2)
    found = check_termination(trace.end(final_epoch=1), nodes=4)
    assert [v.invariant for v in found] == ["termination"]
    assert "round 2" in found[0].detail


def test_an_abandoned_round_terminates():
    trace, _ = bootstrapped()
    trace.at(0, "election_round", round=2, candidate_pos=[0], candidate_ids=[5])
    trace.at(0, "round_abandoned", round=2, reason="no leader in time")
    assert check_termination(trace.end(final_epoch=1), nodes=4) == []


def test_a_round_completed_only_after_the_trial_ended_did_not_terminate():
    trace, _ = bootstrapped()
    trace.elect(2, [0, 1, 2, 3], leader=1, complete=False)
    trace.at(0, "trial_end", active_positions=[0, 1, 2, 3], final_epoch=2)
    trace.at(1, "election_complete", round=2, leader_id=9)
    assert invariants(check_termination(trace.records, nodes=4)) == {"termination"}


def test_a_candidate_forwarded_more_than_n_times_circulates_forever():
    trace = Trace().start()
    for lap in range(2):
        for pos in (1, 2, 3):
            trace.at(pos, "candidate_forwarded", round=1, candidate_id=5)
    found = check_termination(trace.records, nodes=4)
    assert [v.invariant for v in found] == ["termination"]
    assert "id 5" in found[0].detail and "6 times" in found[0].detail


def test_an_announcement_forwarded_more_than_n_times_circulates_forever():
    trace = Trace().start()
    for _ in range(5):
        trace.at(2, "elected", round=1, leader_id=9)
    assert invariants(check_termination(trace.records, nodes=4)) == {"termination"}


# --- 6. liveness ------------------------------------------------------------------------


def test_no_token_at_a_node_within_the_deadline_after_the_last_fault_is_caught():
    trace, holder = bootstrapped()
    trace.lap(1, holder)
    trace.at(3, "fault", fault="SIGSTOP", target_pos=3, signal=19)
    trace.pass_token(1, 1)                         # reaches position 2, then stops
    found = check_liveness(trace.end(final_epoch=1), recovery_deadline_ms=DEADLINE_MS)
    assert [v.invariant for v in found] == ["liveness"]
    assert "[0, 1, 3]" in found[0].detail


def test_a_token_arriving_after_the_deadline_is_too_late():
    trace, holder = bootstrapped()
    trace.at(0, "fault", fault="SIGCONT", target_pos=0, signal=18)
    trace.t_ns += 200 * MS                          # twice the deadline of silence
    trace.lap(1, holder)
    found = check_liveness(trace.end(final_epoch=1), recovery_deadline_ms=DEADLINE_MS)
    assert invariants(found) == {"liveness"}
    assert check_liveness(trace.records, recovery_deadline_ms=1000.0) == []


def test_liveness_has_no_verdict_without_a_trial_end():
    trace, _ = bootstrapped()
    trace.at(3, "fault", fault="SIGKILL", target_pos=3, signal=9)
    assert check_liveness(trace.records, recovery_deadline_ms=DEADLINE_MS) == []


# --- 7. hygiene ---------------------------------------------------------------------------


def test_a_leftover_pid_is_caught():
    trace, holder = bootstrapped()
    trace.lap(1, holder)
    found = check_hygiene(trace.end(final_epoch=1, leftover=[1003]))
    assert [v.invariant for v in found] == ["hygiene"]
    assert "1003" in found[0].detail


@pytest.mark.parametrize("kwargs", [{"zombies": [1002]}, {"fds": (10, 12)}])
def test_a_zombie_or_a_leaked_descriptor_is_caught(kwargs):
    trace, holder = bootstrapped()
    trace.lap(1, holder)
    assert invariants(check_hygiene(trace.end(final_epoch=1, **kwargs))) == {"hygiene"}


def test_fewer_descriptors_after_than_before_is_fine():
    trace, holder = bootstrapped()
    trace.lap(1, holder)
    assert check_hygiene(trace.end(final_epoch=1, fds=(12, 10))) == []


# --- check() -----------------------------------------------------------------------------


def test_check_reports_every_broken_invariant_by_its_name():
    trace, holder = bootstrapped()
    trace.at(2, "leader", round=1)                        # single_leader, correct_leader
    trace.at(3, "token_received", epoch=1, hop=9)         # mutual_exclusion
    trace.at(0, "election_round", round=2, candidate_pos=[0], candidate_ids=[5])
    trace.snapshot(tokens=2, epoch=1)                     # one_token
    for _ in range(2):                                    # task_applied_twice, task_lost
        trace.at(1, TASK_STEP, step=2, epoch=1, outcome="applied", store_epoch=1)
    trace.at(1, "node_exited", exitcode=1)                # unexpected_exit
    trace.at(1, "token_passed", epoch=1, hop=50)          # consistent_snapshot: the
    trace.at(1, "marker_received", sid=[1, 7], side="right", first=True)  # marker
    trace.at(2, "marker_received", sid=[1, 7], side="left", first=True)   # overtakes
    trace.at(2, "token_received", epoch=1, hop=50)        # the token on 1 -> 2
    records = trace.end(final_epoch=1, active=[0, 1, 2, 3, 4], leftover=[1002])
    found = check(records, nodes=4, recovery_deadline_ms=DEADLINE_MS)
    assert invariants(found) == set(INVARIANTS)
    assert all(isinstance(v, Violation) and v.detail.endswith(".") for v in found)


def test_a_violation_is_immutable():
    violation = Violation("hygiene", None, "x.")
    with pytest.raises(AttributeError):
        violation.detail = "y."


def test_a_candidate_bypassed_mid_round_may_lose_to_a_smaller_one():
    """The largest candidate was paused and bypassed during the round: a smaller
    candidate wins, rightly, and that is not a violation."""
    records = [
        {"t_ns": 1, "pos": 0, "id": 9, "pid": 100, "kind": "candidate", "round": 1},
        {"t_ns": 2, "pos": 1, "id": 5, "pid": 101, "kind": "candidate", "round": 1},
        {"t_ns": 3, "pos": 0, "id": 9, "pid": 100, "kind": "bypassed", "left_pos": 2,
         "right_pos": 1},
        {"t_ns": 4, "pos": 1, "id": 5, "pid": 101, "kind": "leader", "round": 1},
        {"t_ns": 5, "pos": 1, "id": 5, "pid": 101, "kind": "election_complete", "round": 1,
         "leader_id": 5},
    ]
    assert check_correct_leader(records) == []
    not_bypassed = [r for r in records if r["kind"] != "bypassed"]
    assert [v.invariant for v in check_correct_leader(not_bypassed)] == ["correct_leader"]
