"""One trial: a fresh ring, one scenario's faults, recovery, and the checker's verdict.

``run_trial`` is the only trial runner (``chaos``, ``trace``, the bench's
campaign section and the tests use it): start a ring, bootstrap the token,
let the scenario inject its faults, let the token settle into laps, take a
final snapshot, stop and reap everything, record the hygiene, and run the
whole checker over the history.

``Trial`` is what a scenario sees (the nemesis, in Jepsen's words): the ring
and a seeded RNG, and a small API to wait while the ring is kept alive and to
aim a fault at the token's holder. Scenarios use that API and the ring's
public parts, never a private one, and change no setting of a running ring.

To hit the token's holder and not the node the token just left, the holder is
first *caught*: SIGSTOP it, read every event it sent before it stopped, and
check it still holds the token (a node reports ``token_passed`` before it
sends). If the token slipped away, SIGCONT and try the next holder. The
signals of a catch are real and appear in the history as faults.
"""
from __future__ import annotations

import random
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from emulator.protocol import DropToken, Side
from emulator.runtime.link_shim import LinkFault
from emulator.records import FAULT, TOKEN_DROPPED, TOKEN_PASSED, TOKEN_RECEIVED, TRIAL_END, Record

from .. import invariants
from ..invariants import RECOVERY_DEADLINE_MS
from ..config import ConfigError, RingConfig
from ..interrupts import Terminated
from ..recovery import Recovery
from ..ring import Ring

if TYPE_CHECKING:
    from .scenarios import Scenario

DEADLINE_S = 30.0
# The liveness deadline (invariant 6) of a trial: 10 s, or twelve laps of the ring if
# that is longer (1024 nodes x 2 ms lap in over 2 s; a recovery costs about two laps:
# measured, pause-holder on 8 nodes with a 2.4 s lap took 4.9 s). A lap may take at
# most 3 s: past that a campaign of trials would take hours, and nobody means that.
DEADLINE_LAPS = 12
HOP_ALLOWANCE_MS = 0.5  # what a hop costs besides the hold, generously (about 20 µs)
MAX_LAP_MS = 3000.0


def _lap_ms(config: RingConfig) -> float:
    return config.nodes * (config.hold_ns / 1e6 + HOP_ALLOWANCE_MS)


def recovery_deadline_ms(config: RingConfig) -> float:
    return max(RECOVERY_DEADLINE_MS, DEADLINE_LAPS * _lap_ms(config))


def check_trial_timing(config: RingConfig) -> None:
    """ConfigError if a trial on this ring could not be judged in reasonable time."""
    lap_ms = _lap_ms(config)
    if lap_ms > MAX_LAP_MS:
        most = MAX_LAP_MS / config.nodes - HOP_ALLOWANCE_MS
        raise ConfigError(
            f"--hold-ms {config.hold_ns / 1e6:g} on {config.nodes} nodes makes a lap of "
            f"about {lap_ms:.0f} ms; a trial waits up to {DEADLINE_LAPS} laps for recovery "
            f"and a lap may take at most {MAX_LAP_MS:g} ms: "
            + (f"use --hold-ms <= {int(most)}" if most >= 1 else "use fewer nodes"))


class ScenarioError(RuntimeError):
    """The scenario could not set its fault up (e.g. the token never moved)."""


@dataclass
class Trial:
    ring: Ring
    rng: random.Random
    # Actions ``after`` has scheduled, each a check that runs it once it is due.
    _timed: list[Callable[[], None]] = field(default_factory=list, repr=False)

    @property
    def cluster(self):
        return self.ring.cluster

    @property
    def history(self):
        return self.ring.history

    @property
    def view(self):
        return self.ring.view

    @property
    def pipeline(self):
        return self.ring.pipeline

    @property
    def nodes(self) -> int:
        return len(self.cluster.nodes)

    # --- waiting, with the ring kept alive --------------------------------------------

    def keep_alive_until(self, done: Callable[[], bool], timeout_s: float = DEADLINE_S,
                         what: str = "the condition") -> None:
        if not self._keep_alive(done, timeout_s):
            raise ScenarioError(f"gave up waiting for {what} after {timeout_s} s")

    def keep_alive_for(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        self._keep_alive(lambda: time.monotonic() >= end, seconds + 1)

    def _keep_alive(self, done: Callable[[], bool], timeout_s: float) -> bool:
        """The pipeline's watch loop until ``done()``, running ``after``'s due actions."""
        def due_then_done() -> bool:
            for run_if_due in list(self._timed):
                run_if_due()
            return done()

        return self.pipeline.run_until(due_then_done, timeout_s)

    def hops(self, count: int) -> None:
        """Let the token make ``count`` more hops."""
        seen = [0]

        def count_hop(record: Record) -> None:
            if record["kind"] == TOKEN_RECEIVED:
                seen[0] += 1

        self.history.subscribe(count_hop)
        try:
            self.keep_alive_until(lambda: seen[0] >= count, what=f"{count} hops")
        finally:
            self.history.unsubscribe(count_hop)

    def warm_up(self) -> int:
        """Let the token make a seeded random number of hops (1..N), so the fault
        lands at a replayable but varied place; return the recoveries so far (the
        mark ``until_recovered`` and ``settle`` count from)."""
        self.hops(self.rng.randint(1, self.nodes))
        return self.recoveries_so_far()

    def recoveries_so_far(self) -> int:
        return len(self.pipeline.recoveries)

    def recoveries_after(self, count_before: int) -> list[Recovery]:
        return self.pipeline.recoveries[count_before:]

    def until_recovered(self, count_before: int, timeout_s: float = DEADLINE_S) -> None:
        """Wait until a recovery that began after the fault has succeeded."""
        self.keep_alive_until(
            lambda: any(r.ok and r.cause != "bootstrap"
                        for r in self.recoveries_after(count_before)),
            timeout_s, "a successful recovery")

    def settle(self, count_before: int) -> None:
        """Two laps after faults that may or may not have cost the token; if they
        started a recovery, it must have succeeded."""
        self.hops(2 * self.nodes)
        if any(r.cause != "bootstrap" for r in self.recoveries_after(count_before)):
            self.until_recovered(count_before)

    def until_whole(self) -> None:
        """Wait until every replaced node has booted and rejoined the ring (the
        supervisor replaces the dead outside the ring, so a recovery can end first).
        Nodes the supervisor gave up on, and stopped nodes, stay out."""
        given_up = self.ring.supervisor.given_up
        self.keep_alive_until(lambda: all(
            node.pos in given_up or node.suspended or not node.bypassed
            for node in self.cluster.nodes), what="the replaced nodes to rejoin")

    def on_first(self, matches: Callable[[Record], bool],
                 action: Callable[[Record], None]) -> None:
        """Run ``action`` on the first record that ``matches`` (once)."""
        def listener(record: Record) -> None:
            if matches(record):
                self.history.unsubscribe(listener)
                action(record)

        self.history.subscribe(listener)

    # --- faults -----------------------------------------------------------------------

    def note_fault(self, pos: int, name: str) -> None:
        """A fault the harness makes without a signal (drop, inject, bypass...)."""
        node = self.cluster.nodes[pos]
        self.cluster.note(pos, FAULT, fault=name, target_pos=pos, signal=None,
                          target_pid=node.pid)

    def catch_holder(self, attempts: int = 20) -> int:
        """SIGSTOP a node while it holds the token; return its position."""
        for _ in range(attempts):
            self.keep_alive_until(lambda: bool(self.view.holders()), what="a token holder")
            pos = self.view.holders()[0]
            self.cluster.suspend(pos)
            while self.cluster.poll(0):  # whatever it said before stopping is now read
                pass
            if self.view.holds(pos):
                return pos
            self.cluster.resume(pos)
        raise ScenarioError(f"could not catch a holder in {attempts} attempts")

    def drop_at_holder(self, attempts: int = 20) -> int:
        """Make the holder drop the token; return its position.

        A caught node may have been stopped half-way through passing the token (its
        hold timer already fired, the report not yet written); it then passes the
        token on SIGCONT before it reads the command. So watch what it does, and try
        again on the next holder if the token slipped away."""
        for _ in range(attempts):
            pos = self.catch_holder()
            pid = self.cluster.nodes[pos].pid
            mark = self.ring.mark()
            self.note_fault(pos, "drop_token")
            self.cluster.send(pos, DropToken())
            self.cluster.resume(pos)
            found = self.ring.wait_for(lambda r: r["pid"] == pid and r["kind"] in (
                TOKEN_DROPPED, TOKEN_PASSED), since=mark, timeout_s=DEADLINE_S)
            if found is not None and found["kind"] == TOKEN_DROPPED:
                return pos
        raise ScenarioError(f"could not drop the token in {attempts} attempts")

    # --- link faults ---------------------------------------------------------------------

    def set_link_fault(self, pos: int, side: Side = Side.RIGHT, **fault) -> None:
        """Give the link from ``pos`` towards ``side`` a fault (LinkFault's fields),
        with a seed from the trial's RNG: a seed replays the same coin flips."""
        self.cluster.set_link_fault(pos, side, LinkFault(**fault),
                                    seed=self.rng.randrange(2**32))

    def clear_link_fault(self, pos: int, side: Side = Side.RIGHT) -> None:
        self.cluster.set_link_fault(pos, side, LinkFault())

    def clear_link_faults(self) -> None:
        for pos, side in list(self.cluster.link_faults):
            self.clear_link_fault(pos, side)
        self.cluster.heal_all()

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Run ``action`` once ``seconds`` have passed: at the first record seen then
        (so even while the pipeline is busy recovering inside a wait), or when the
        keep-alive loop next looks (within its 50 ms poll: a ring may be silent, a
        token blocked behind a cut with the detector backed off), whichever is first."""
        due = time.monotonic() + seconds

        def run_if_due() -> None:
            if time.monotonic() >= due and run_if_due in self._timed:
                self._timed.remove(run_if_due)
                self.history.unsubscribe(listener)
                action()

        def listener(record: Record) -> None:
            run_if_due()

        self._timed.append(run_if_due)
        self.history.subscribe(listener)

    def seen(self, matches: Callable[[Record], bool], since: int = 0) -> bool:
        return any(matches(r) for r in self.history.records[since:])

    def audit(self, count_before: int) -> None:
        """Faults cleared: an audit snapshot (and, if it counts 0 or 2+, an election)
        must find one token; then two settled laps."""
        self.pipeline.recover("audit")
        self.until_recovered(count_before)
        self.hops(2 * self.nodes)

    def random_position(self, exclude: tuple[int, ...] = ()) -> int:
        choices = [p for p in self.cluster.active_positions() if p not in exclude]
        return self.rng.choice(choices)

    def next_right(self, pos: int) -> int:
        return self.cluster.right_of(pos)


# --- the one trial runner -------------------------------------------------------------------


@dataclass
class TrialOutcome:
    """What one trial recorded, and the checker's verdict on it."""

    scenario: str
    seed: int
    config: RingConfig
    records: list[Record]
    recoveries: list[Recovery]
    violations: list[str] = field(default_factory=list)
    # The harness itself did not run for a while (watchdog.py): timing unjudged.
    stalled: list[str] = field(default_factory=list)
    error: str | None = None
    traceback: str | None = None  # an unexpected exception's
    interrupted: BaseException | None = None
    output_error: str | None = None  # the trace file could not be written (a full disk)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.stalled


def play(trial: Trial, scenario: "Scenario") -> None:
    """The script of every trial: bootstrap, the fault, the ring whole again and a
    settled lap after it, a final snapshot, and the ``trial_end`` record the checker
    judges by."""
    pipeline, cluster = trial.pipeline, trial.cluster
    pipeline.recover("bootstrap")
    scenario.run(trial)
    trial.until_whole()
    trial.hops(len(cluster.active_positions()))
    final = pipeline.snapshot()
    cluster.note(final.sid.initiator, TRIAL_END,
                 active_positions=cluster.active_positions(), final_epoch=pipeline.epoch)


def run_trial(config: RingConfig, scenario: "Scenario", *, seed: int,
              candidates: int | None = None, trace_path: str | None = None,
              narrate: bool = False, hidden_death: bool = False,
              deadline_ms: float | None = None) -> TrialOutcome:
    """One trial on a fresh ring, stopped, reaped and checked whatever happens.
    An interrupt (Ctrl-C, SIGTERM) ends the trial early; it is in ``interrupted``."""
    candidates = scenario.candidates_for(candidates, config.nodes)
    config = scenario.config_for(config)
    ring = Ring(config, seed=seed, candidates=candidates, trace_path=trace_path,
                narrate=narrate, hidden_death=hidden_death)
    timed_out = False
    outcome = TrialOutcome(scenario.name, seed, config, ring.records,
                           ring.pipeline.recoveries)
    try:
        ring.start()
        play(Trial(ring, random.Random(seed)), scenario)
    except ScenarioError as stuck:
        outcome.error = str(stuck)
        timed_out = True
    except (KeyboardInterrupt, Terminated) as interrupt:
        outcome.interrupted = interrupt
    except Exception as unexpected:  # a bug, not a fault: keep going, keep the traceback
        outcome.error = f"unexpected {type(unexpected).__name__}: {unexpected}"
        outcome.traceback = traceback.format_exc()
    finally:
        ring.stop()
    outcome.output_error = ring.history.trace_error
    found = invariants.check(ring.records, nodes=config.nodes,
                             recovery_deadline_ms=deadline_ms or recovery_deadline_ms(config))
    outcome.violations = [f"{v.invariant}: {v.detail}" for v in found]
    outcome.stalled = [invariants.describe_stall(stall)
                       for stall in invariants.harness_stalls(ring.records)]
    if outcome.error and timed_out and outcome.stalled:
        outcome.stalled.append(f"so the scenario timed out: {outcome.error}")
    elif outcome.error:
        outcome.violations.append(f"scenario: {outcome.error}")
    return outcome
