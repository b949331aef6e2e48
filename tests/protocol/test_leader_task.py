"""The leader's task (emulator/protocol/task.py), in the pure protocol: the leader
finishes a step when its hold ends, tells by passing the token, and learns from the
store or from a newer token that it was deposed."""
from __future__ import annotations

from emulator.protocol import (
    ApplyTask, Candidate, NodeProtocol, Received, Report, Send, Side, StartElection,
    TaskResult, TimerFired, Token,
)
from emulator.records import LEADER_DEPOSED, TOKEN_PASSED

HOLD = TimerFired("hold")


def leader_with_token(node_id: int = 5, round_: int = 1, task: bool = True) -> NodeProtocol:
    """Given a node that won round ``round_`` alone (its own ID came home)."""
    node = NodeProtocol(node_id, task=task)
    node.handle(StartElection(round_))
    node.handle(Received(Side.LEFT, Candidate(round_, node_id)))
    assert node.role == "leader" and node.token.held_epochs() == [round_]
    return node


def reports(outputs, kind):
    return [o for o in outputs if isinstance(o, Report) and o.kind == kind]


def test_when_the_hold_ends_the_leader_applies_the_next_step_before_it_passes():
    node = leader_with_token()
    outputs = node.handle(HOLD)
    assert outputs == [ApplyTask(1, 1)]  # nothing sent yet: finishing comes first
    passed = node.handle(TaskResult(1, 1, "applied", 1))
    assert [o.message for o in passed if isinstance(o, Send)] == [Token(1, 1, 1)]
    assert reports(passed, TOKEN_PASSED)[0].fields["task"] == 1


def test_a_duplicate_is_told_as_done_and_an_unavailable_store_tells_nothing():
    node = leader_with_token()
    node.handle(HOLD)
    done = node.handle(TaskResult(1, 1, "duplicate", 1))
    assert [o.message.task for o in done if isinstance(o, Send)] == [1]
    node.handle(Received(Side.LEFT, Token(1, 5, 1)))
    assert node.handle(HOLD) == [ApplyTask(2, 1)]
    busy = node.handle(TaskResult(2, 1, "unavailable"))
    assert [o.message.task for o in busy if isinstance(o, Send)] == [1]


def test_a_stale_answer_deposes_the_leader_and_the_token_still_moves_on():
    node = leader_with_token()
    node.handle(HOLD)
    outputs = node.handle(TaskResult(1, 1, "stale", 2))
    deposed = reports(outputs, LEADER_DEPOSED)
    assert deposed and deposed[0].fields == {"round": 1, "epoch": 2, "by": "store"}
    assert node.role == "not_leader"
    assert [o.message for o in outputs if isinstance(o, Send)] == [Token(1, 1, 0)]


def test_a_leader_that_receives_a_newer_token_learns_it_was_deposed():
    node = leader_with_token()
    node.handle(HOLD)
    node.handle(TaskResult(1, 1, "applied", 1))
    outputs = node.handle(Received(Side.LEFT, Token(2, 3, 4)))
    assert reports(outputs, LEADER_DEPOSED)[0].fields["by"] == "token"
    assert node.task.known_done == 4
    assert node.handle(HOLD)[0] == Report(TOKEN_PASSED, {"epoch": 2, "hop": 4, "task": 4})


def test_a_new_leader_starts_from_the_count_the_last_token_told_it():
    node = NodeProtocol(3, task=True)
    node.handle(Received(Side.LEFT, Token(1, 7, 6)))
    node.handle(HOLD)  # an ordinary node passes without working
    node.handle(StartElection(2))
    node.handle(Received(Side.LEFT, Candidate(2, 3)))
    assert node.handle(HOLD) == [ApplyTask(7, 2)]


def test_without_the_task_a_leader_passes_at_once_and_tokens_tell_nothing():
    node = leader_with_token(task=False)
    outputs = node.handle(HOLD)
    assert [o.message for o in outputs if isinstance(o, Send)] == [Token(1, 1)]
    assert "task" not in reports(outputs, TOKEN_PASSED)[0].fields
