"""The explorer finds the known bugs when they are put back (only inside its run)."""
from __future__ import annotations


from emulator.explore import explore, trace
from emulator.protocol import NodeProtocol
from emulator.protocol.election import Elector


def test_given_fencing_off_then_it_finds_two_tokens():
    result = explore(3, faults=("pause",), mutation="no-fencing")
    assert result.violation is not None
    assert result.violation.invariant == "fencing"
    assert "two tokens" in result.violation.detail
    kinds = [e[1] for step in result.trace for e in step.events]
    assert "bypassed" in kinds and kinds.count("token_created") >= 1
    # the same search with fencing on is clean
    assert explore(3, faults=("pause",)).violation is None


def test_given_fencing_off_and_a_duplicate_then_the_old_tokens_survive_the_new_round():
    result = explore(3, faults=("duplicate",), mutation="no-fencing")
    assert result.violation is not None and result.violation.invariant == "fencing"
    assert any(step.action[0] == "duplicate" for step in result.trace)


def test_given_a_restarted_node_forwarding_its_own_id_then_it_finds_the_endless_cycle():
    result = explore(3, faults=("restart",), mutation="forward-own-id")
    assert result.violation is not None
    assert result.violation.invariant == "termination"
    assert any(step.action[0] == "restart" for step in result.trace)
    # The lasso: from cycle_from on, one Candidate goes round and the world repeats.
    assert result.cycle_from is not None
    loop = result.trace[result.cycle_from:]
    assert len(loop) == 3
    assert {step.message for step in loop} == {result.trace[-1].message}
    lines = trace.render(result)
    assert any("repeat forever" in line for line in lines)
    assert explore(3, faults=("restart",)).violation is None


def test_given_duplicate_ids_then_it_finds_two_leaders():
    result = explore(3, mutation="duplicate-ids")
    assert result.violation is not None
    assert result.violation.invariant == "single_leader"
    leaders = [(pos, f["round"]) for step in result.trace for pos, kind, f in step.events
               if kind == "leader"]
    assert len(leaders) == 2 and leaders[0][1] == leaders[1][1]
    assert len(result.trace) <= 4  # BFS: the shortest case


def test_given_a_round_that_never_ends_then_the_liveness_check_finds_it():
    result = explore(3, mutation="never-win")
    assert result.violation is not None and result.violation.invariant == "liveness"


def test_mutations_patch_nothing_outside_the_run():
    explore(3, faults=("restart",), mutation="forward-own-id")
    assert type(NodeProtocol(1).election) is Elector
    assert NodeProtocol(1).token.fencing is True


def test_the_counterexample_is_written_as_harness_trace_records():
    result = explore(3, mutation="duplicate-ids")
    records = trace.records(result)
    assert len(records) > 3
    for record in records:
        assert {"t_ns", "pos", "id", "pid", "kind"} <= set(record)
        assert record["pid"] == 0 and record["t_ns"] % 1000 == 0
    assert [r["t_ns"] for r in records] == sorted(r["t_ns"] for r in records)
    assert sum(1 for r in records if r["kind"] == "leader") == 2


def test_given_a_message_that_circulates_without_progress_then_the_cycle_check_finds_it(
        monkeypatch):
    """The liveness check on its own (the forwarded-own-ID check switched off): a
    candidate that forwards its own ID instead of winning leaves a cycle of states
    none of which has one token, one leader."""
    from emulator.explore import model
    from emulator.protocol import Send, Side

    def forward_instead_of_winning(self, message):
        if message.round == self.round and message.node_id == self.node_id:
            return [Send(Side.RIGHT, message)]
        return Elector.on_candidate(self, message)

    monkeypatch.setattr(model.NeverWinElector, "on_candidate", forward_instead_of_winning)
    monkeypatch.setattr(model.NeverWinElector, "drop_repeats", False)  # no second guard
    original = model.Transition.violate
    monkeypatch.setattr(model.Transition, "violate", lambda self, invariant, detail: (
        None if invariant == "termination" else original(self, invariant, detail)))
    result = explore(3, mutation="never-win", max_rounds=1)
    assert result.violation is not None and result.violation.invariant == "liveness"
    assert "cycle" in result.violation.detail
    assert result.cycle_from is not None
    loop = result.trace[result.cycle_from:]
    assert loop and all(step.action[0] == "deliver" for step in loop)
    assert len(loop) % 3 == 0  # whole laps of the 3-node ring
