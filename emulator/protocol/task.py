"""The leader's task: the article's ending, "2 leaders and no leaders", made runnable.

Theory of operation
-------------------
H. Yaginuma, "Let's study distributed systems — 4. Leader election" (2019),
ends on the leader's work: a new leader cannot know whether the old one finished
its task, because finishing and telling the others are two acts, not one; so a
task may run twice (or not at all), and the cure is to make it idempotent.

Here the leader of an epoch works through a task one step per visit of its own
token. Holding the token of the epoch it leads is the work; when the hold ends
it *finishes* step k + 1 (k = the steps the token says are done) by applying it
to a store the harness owns (``ApplyTask``: the runtime writes), and only then
*tells* the ring, by passing the token on marked k + 1. Every node remembers the
highest count a token told it, and a new leader starts its token from that. So
a leader stopped while it works (SIGSTOP) is replaced by one that does the same
step again, and when the old one wakes up it finishes that step too: the step
is applied twice, unless the store refuses one of them.

The store answers (``TaskResult``): *applied*; *duplicate*, when idempotency is on
and that step's key is there already (the step is done: tell it and go on);
*stale*, when fencing is on and the store has seen a newer epoch than the step
carries: the writer was deposed and learns it here; *unavailable*, when the
store was busy (tell nothing: the next visit tries again). Either way the token
is passed on afterwards.
"""
from __future__ import annotations

from .messages import ApplyTask, Output, TaskResult, Token


class LeaderTask:
    """One node's share of the leader's task: what it knows was done, what it applies."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.known_done = 0  # the highest step count any token told this node

    def on_token(self, token: Token) -> None:
        """A token came into this node's hands (received or created)."""
        self.known_done = max(self.known_done, token.task)

    def finish(self, token: Token, leading_round: int | None) -> list[Output]:
        """The hold of ``token`` ended: the leader of its epoch finishes a step."""
        if not self.enabled or leading_round != token.epoch:
            return []  # only the leader of the token's own epoch works with it
        return [ApplyTask(token.task + 1, token.epoch)]

    def on_result(self, result: TaskResult) -> bool:
        """True if the step is done and may be told (applied now, or before)."""
        if result.outcome in ("applied", "duplicate"):
            self.known_done = max(self.known_done, result.step)
            return True
        return False
