"""One node's protocol: token, snapshot and election composed, still pure.

Theory of operation
-------------------
The three protocols share one fact, the node's fence (highest epoch seen):
an election round raises it, so tokens older than the round are dropped; a
token's epoch raises it too. This class routes each input to the protocol that
owns it and passes the fence between them; it owns no state of its own beyond
that wiring. ``handle`` takes one input and returns the outputs, in order, for
the runtime or the simulator to carry out (the sans-I/O style of h11 and of
etcd's raft ``Step``/``Ready``).
"""
from __future__ import annotations

from emulator.records import (
    ELECTION_STALE, ELECTION_START, LEADER_DEPOSED, LINK_DOWN, MESSAGE_LOST, REWIRED,
    TOKEN_RECEIVED,
)

from .algorithms import DEFAULT_ALGORITHM, elector
from .elections.base import Status
from .messages import (
    DropToken, ElectionMessage, InjectToken, Input, Leave, LinkDown, LinkUp, Marker,
    Output, ProtocolViolation, Received, Report, SendFailed, Side, StartElection,
    StartSnapshot, TaskResult, TimerFired, Token,
)
from .snapshot import SnapshotRecorder
from .task import LeaderTask
from .token import HOLD_TIMER, TokenKeeper


class NodeProtocol:
    def __init__(self, node_id: int, *, epoch: int = 0, hold_ns: int = 0,
                 fencing: bool = True, announce: bool = True,
                 algorithm: str = DEFAULT_ALGORITHM, task: bool = False) -> None:
        self.node_id = node_id
        self.token = TokenKeeper(epoch, hold_ns, fencing)
        self.snapshot = SnapshotRecorder()
        # Any registered algorithm (emulator/protocol/algorithms.py); rounds, fencing
        # and the announcement work the same for all.
        self.election = elector(algorithm, node_id, announce)
        self.task = LeaderTask(task)

    @property
    def epoch(self) -> int:
        return self.token.epoch

    @property
    def role(self) -> str:
        return self.election.status.value

    def handle(self, event: Input) -> list[Output]:
        if isinstance(event, Received):
            return self._on_message(event.side, event.message)
        if isinstance(event, TimerFired):
            if event.name != HOLD_TIMER:
                raise ProtocolViolation(f"unknown timer {event.name!r}")
            if self.token.held and self.token.right_up:
                # The leader finishes its step before it passes (tells): task.py.
                work = self.task.finish(self.token.held[0], self._leading_round())
                if work:
                    return work
            return self.token.on_hold_expired()
        if isinstance(event, LinkDown):
            outputs: list[Output] = [Report(LINK_DOWN, {"side": event.side.value,
                                                        "cause": event.cause})]
            if event.side is Side.RIGHT:
                outputs += self.token.on_right_link(False)
            return outputs + self.snapshot.on_link(event.side, False)
        if isinstance(event, LinkUp):
            outputs = [Report(REWIRED, {"side": event.side.value})]
            outputs += self.snapshot.on_link(event.side, True)
            if event.side is Side.RIGHT:
                outputs += self.token.on_right_link(True)
            return outputs
        if isinstance(event, StartSnapshot):
            return self.snapshot.start(event.sid, self.token.held_epochs(), self.epoch)
        if isinstance(event, StartElection):
            return [Report(ELECTION_START, {"round": event.round})] + self._election_step(
                event.round, self.election.on_start, event.round)
        if isinstance(event, DropToken):
            return self.token.drop()
        if isinstance(event, InjectToken):
            return self.token.inject()
        if isinstance(event, Leave):
            return self.token.hand_over()
        if isinstance(event, TaskResult):
            return self._on_task_result(event)
        if isinstance(event, SendFailed):
            if isinstance(event.message, Token):
                return self.token.on_send_failed(event.message)
            return [Report(MESSAGE_LOST, {"side": event.side.value,
                                            "message": type(event.message).__name__})]
        raise ProtocolViolation(f"unknown input {event!r}")

    def _on_message(self, side: Side, message) -> list[Output]:
        if isinstance(message, Token):
            self.snapshot.on_token(side, message.epoch)
            outputs = self.token.on_token(message)
            if any(isinstance(o, Report) and o.kind == TOKEN_RECEIVED for o in outputs):
                outputs += self._deposed_if_older(message.epoch, "token")
                self.task.on_token(message)
            return outputs
        if isinstance(message, Marker):
            return self.snapshot.on_marker(side, message.sid, self.token.held_epochs(),
                                           self.epoch)
        if isinstance(message, ElectionMessage):
            return self._election_step(
                message.round, lambda m: self.election.on_message(side, m), message)
        raise ProtocolViolation(f"unknown message {message!r}")

    def _election_step(self, round_: int, step, argument) -> list[Output]:
        # A round older than the fence is over: a later round or its token was seen.
        if round_ < self.epoch:
            return [Report(ELECTION_STALE, {"round": round_, "node_epoch": self.epoch,
                                              "message": type(argument).__name__})]
        # A round is an epoch: seeing it fences every older token (DESIGN: fencing).
        outputs = self.token.observe_epoch(round_)
        was_leader = self.election.status is Status.LEADER
        outputs += step(argument)
        if self.election.status is Status.LEADER and not was_leader:
            created = Token(self.election.round, 0, self.task.known_done)
            outputs += self.token.create(created.epoch, created.task)
        return outputs

    # --- the leader's task (task.py) ------------------------------------------------

    def _leading_round(self) -> int | None:
        return self.election.round if self.election.status is Status.LEADER else None

    def _deposed_if_older(self, epoch: int, by: str) -> list[Output]:
        """A leader that meets a newer epoch outside an election (it slept through
        the round) learns here that it no longer leads."""
        if self.election.status is not Status.LEADER or epoch <= self.election.round:
            return []
        self.election.become_not_leader()
        return [Report(LEADER_DEPOSED, {"round": self.election.round, "epoch": epoch,
                                        "by": by})]

    def _on_task_result(self, result: TaskResult) -> list[Output]:
        """The store answered: tell what is done, learn if deposed, pass the token."""
        outputs: list[Output] = []
        if self.task.on_result(result):
            self.token.tell_task(result.epoch, result.step)
        elif result.outcome == "stale":
            outputs += self._deposed_if_older(result.store_epoch, "store")
        return outputs + self.token.on_hold_expired()
