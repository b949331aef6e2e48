"""The token and its epoch fence.

Theory of operation
-------------------
One token circulates rightwards; the node that holds it may act (mutual
exclusion by token passing on a ring, as in Le Lann 1977). The holder keeps it
for ``hold`` and passes it right with ``hop + 1``. If the right link is down
the holder keeps the token and passes it once a new link is up: a token is
never sent into a link known to be broken (but a successful send is not
delivery: if the reader dies, the token is gone, and only a snapshot can tell).

Fencing: each node remembers the highest epoch it has seen, in a token or in an
election round, and drops any token of a lower epoch (``token_fenced``). An
election for round r therefore retires every older token as soon as the round
has passed through a node: a holder that was paused while the ring moved on
wakes up with a token nobody will accept. With fencing off, the stale token is
accepted, and two holders can coexist: the reason fencing exists.

A node may hold more than one token (a duplicate caught up): they are kept in
arrival order and passed one per hold period, so duplicates stay visible to the
snapshot and the checker instead of being silently merged.
"""
from __future__ import annotations

from emulator.records import (
    TOKEN_BLOCKED, TOKEN_CREATED, TOKEN_DROPPED, TOKEN_FENCED, TOKEN_INJECTED,
    TOKEN_PASSED, TOKEN_RECEIVED, TOKEN_RETURNED,
)

from .messages import (
    Output, PersistEpoch, ProtocolViolation, Report, Send, SetTimer, Side, Token,
)

HOLD_TIMER = "hold"


class TokenKeeper:
    """One node's share of the token protocol."""

    def __init__(self, epoch: int, hold_ns: int, fencing: bool = True) -> None:
        if hold_ns < 0:
            raise ProtocolViolation(f"hold must be >= 0 ns, got {hold_ns}")
        self.epoch = epoch          # highest epoch seen (persisted)
        self.hold_ns = hold_ns
        self.fencing = fencing
        self.held: list[Token] = []
        self.right_up = True
        self.tokens_held_total = 0  # how many tokens this incarnation accepted

    # --- queries ---------------------------------------------------------

    def held_epochs(self) -> list[int]:
        return [token.epoch for token in self.held]

    # --- inputs ----------------------------------------------------------

    def on_token(self, token: Token) -> list[Output]:
        if self.fencing and token.epoch < self.epoch:
            return [Report(TOKEN_FENCED, {"epoch": token.epoch, "hop": token.hop,
                                            "node_epoch": self.epoch})]
        outputs = self.observe_epoch(token.epoch)
        outputs.append(Report(TOKEN_RECEIVED, _fields(token)))
        outputs += self._become_holder(token)
        return outputs

    def observe_epoch(self, epoch: int) -> list[Output]:
        """A token or an election round of ``epoch`` was seen here."""
        if epoch <= self.epoch:
            return []
        self.epoch = epoch
        outputs: list[Output] = [PersistEpoch(epoch)]
        if self.fencing:
            outputs += self._fence_held()
        return outputs

    def on_hold_expired(self) -> list[Output]:
        if not self.held:
            return []  # dropped or fenced since the timer was set
        if not self.right_up:
            return [Report(TOKEN_BLOCKED, {"epoch": self.held[0].epoch,
                                             "hop": self.held[0].hop})]
        token = self.held.pop(0).passed()
        # Reported before it is sent: the runtime stamps events as it meets them, and
        # the pass must not appear to happen after the receiver already holds it.
        outputs: list[Output] = [
            Report(TOKEN_PASSED, _fields(token)),
            Send(Side.RIGHT, token),
        ]
        if self.held:
            outputs.append(SetTimer(HOLD_TIMER, self.hold_ns))
        return outputs

    def hand_over(self) -> list[Output]:
        """Leaving: pass every held token right now, without waiting out the hold.
        This is what a polite exit (SIGTERM) can do and a SIGKILLed node cannot."""
        if not self.right_up:
            return []  # nowhere to put them: they leave with the process
        outputs: list[Output] = []
        for token in self.held:
            passed = token.passed()
            outputs += [Report(TOKEN_PASSED, {"epoch": passed.epoch, "hop": passed.hop,
                                                "handover": True}),
                        Send(Side.RIGHT, passed)]
        self.held = []
        return outputs

    def on_send_failed(self, token: Token) -> list[Output]:
        """The pass failed (EPIPE): the kernel refused the bytes, so the token is
        still ours. Hold it again and pass it once a new right link is up."""
        held = Token(token.epoch, max(0, token.hop - 1))
        if self.fencing and held.epoch < self.epoch:
            return [Report(TOKEN_FENCED, {"epoch": held.epoch, "hop": held.hop,
                                            "node_epoch": self.epoch})]
        self.held.insert(0, held)
        outputs: list[Output] = [Report(TOKEN_RETURNED, {"epoch": held.epoch,
                                                           "hop": held.hop})]
        if self.right_up:
            outputs.append(SetTimer(HOLD_TIMER, 0))
        return outputs

    def on_right_link(self, up: bool) -> list[Output]:
        was_up, self.right_up = self.right_up, up
        if up and not was_up and self.held:
            return [SetTimer(HOLD_TIMER, 0)]  # held through the outage: pass it now
        return []

    def create(self, epoch: int, task: int = 0) -> list[Output]:
        """The round's leader regenerates the token (telling the task steps it knows
        were done: task.py)."""
        outputs = self.observe_epoch(epoch)
        if epoch < self.epoch:
            raise ProtocolViolation(f"cannot create a token of epoch {epoch} "
                                    f"below the fence {self.epoch}")
        token = Token(epoch, 0, task)
        outputs.append(Report(TOKEN_CREATED, {"epoch": epoch}))
        outputs += self._become_holder(token)
        return outputs

    def inject(self) -> list[Output]:
        """Fault: a duplicate of the current epoch appears at this node."""
        token = Token(self.epoch, 0)
        outputs: list[Output] = [Report(TOKEN_INJECTED, {"epoch": token.epoch})]
        outputs += self._become_holder(token)
        return outputs

    def drop(self) -> list[Output]:
        """Fault: discard every held token, telling no one but the history."""
        dropped, self.held = self.held, []
        return [Report(TOKEN_DROPPED, {"epoch": t.epoch, "hop": t.hop}) for t in dropped]

    def tell_task(self, epoch: int, step: int) -> None:
        """Step ``step`` of the leader's task is done: the held token of ``epoch``
        carries the news on when it is passed."""
        for i, token in enumerate(self.held):
            if token.epoch == epoch and token.task < step:
                self.held[i] = Token(token.epoch, token.hop, step)
                return

    # --- transitions -----------------------------------------------------

    def _become_holder(self, token: Token) -> list[Output]:
        self.held.append(token)
        self.tokens_held_total += 1
        if len(self.held) == 1:
            return [SetTimer(HOLD_TIMER, self.hold_ns)]
        return []  # the timer already runs for the head of the queue

    def _fence_held(self) -> list[Output]:
        stale = [t for t in self.held if t.epoch < self.epoch]
        self.held = [t for t in self.held if t.epoch >= self.epoch]
        return [Report(TOKEN_FENCED, {"epoch": t.epoch, "hop": t.hop,
                                        "node_epoch": self.epoch}) for t in stale]


def _fields(token: Token) -> dict:
    """A token's record fields; ``task`` only where a leader's task runs."""
    fields = {"epoch": token.epoch, "hop": token.hop}
    if token.task:
        fields["task"] = token.task
    return fields
