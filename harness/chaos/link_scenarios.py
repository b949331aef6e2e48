"""Link-fault scenarios: the network misbehaves, every process stays healthy.

Each fault lives in the sending node's link shim (emulator/runtime/link_shim.py),
set by the harness with a seed from the trial's RNG. A scenario sets its fault,
keeps the ring alive through what the pipeline makes of it, lifts the fault, and
audits: a snapshot must then count one token (or an election must restore one),
and the token must lap. ``reorder-link`` is the exception: it breaks FIFO on
purpose, and the checker must say that the snapshot's cut was not consistent.
"""
from __future__ import annotations

from emulator.protocol import Side
from emulator.records import (
    MESSAGE_DUPLICATED, MESSAGE_LOST_BY_LINK, MESSAGE_REORDERED, SNAPSHOT_RESULT,
    TOKEN_FENCED, TOKEN_RECEIVED, Record,
)

from .trial import DEADLINE_S, ScenarioError, Trial


def _token_event(kind: str, pos: int):
    return lambda r: r["kind"] == kind and r["pos"] == pos and r.get("message") == "Token"


def slow_link(trial: Trial) -> None:
    """The token is delayed past the detection timeout: a snapshot starts, its marker
    queues behind the token on the slow link (FIFO), so the cut counts the token in
    the channel: 1, a false alarm, no election. When the marker is later than the
    snapshot waits, the slow node's part is late: the pipeline retries with more
    patience and never restarts a running node for it."""
    count = trial.warm_up()
    pos = trial.random_position()
    delay_ms = trial.rng.uniform(1.5, 3.0) * trial.view.detection_timeout_s() * 1e3
    trial.set_link_fault(pos, delay_ms=delay_ms)
    mark = len(trial.history.records)
    trial.keep_alive_until(lambda: trial.seen(
        lambda r: r["kind"] == SNAPSHOT_RESULT and r["complete"], since=mark),
        what="a complete snapshot during the slow hop")
    trial.hops(trial.nodes)
    trial.clear_link_fault(pos)
    trial.settle(count)


def lossy_link(trial: Trial) -> None:
    """Each message on one link is lost with probability p (tokens, markers, IDs);
    the token's loss is found by the detector and a snapshot, the lost markers and
    candidates cost retries. Lifted once the link has lost a token."""
    count = trial.warm_up()
    pos = trial.random_position()
    _until_it_hits_the_token(trial, pos, MESSAGE_LOST_BY_LINK, "the lossy link to lose a token",
                             loss=trial.rng.uniform(0.3, 0.7))
    _lift_later(trial, trial.rng.uniform(0.2, 0.6), pos)
    trial.audit(count)


def _until_it_hits_the_token(trial: Trial, pos: int, kind: str, what: str, **fault) -> None:
    """Set ``fault`` on the link from ``pos`` and keep the ring alive until the link
    does it to the token (a ``kind`` record for a token on that link)."""
    mark = len(trial.history.records)
    trial.set_link_fault(pos, **fault)
    trial.keep_alive_until(lambda: trial.seen(_token_event(kind, pos), mark), what=what)


def _lift_later(trial: Trial, seconds: float, pos: int) -> None:
    """Lift the fault ``seconds`` from now, even while the pipeline is busy with it,
    and wait until it is lifted."""
    trial.after(seconds, lambda: trial.clear_link_fault(pos))
    trial.keep_alive_until(lambda: not trial.cluster.network_faulty(),
                           what="the link fault to be lifted")


def blackhole_link(trial: Trial) -> None:
    """Every message on one link vanishes and the link stays open (no EOF): the token
    goes in and never comes out. Only silence tells; the snapshot cannot complete
    (the marker vanishes too) and the node beyond is running: its part is late, not
    its process dead, so it is not restarted. Lifted after a while; then recovery."""
    count = trial.warm_up()
    pos = trial.random_position()
    _until_it_hits_the_token(trial, pos, MESSAGE_LOST_BY_LINK,
                             "the blackhole to swallow the token", blackhole=True)
    _lift_later(trial, trial.rng.uniform(0.3, 0.8), pos)
    trial.until_recovered(count)
    trial.audit(count)


def cut_link(trial: Trial) -> None:
    """Close one link: both ends see EOF, the token waits at the cut (token_blocked),
    the ring is a line and a snapshot completes the other way round: 1 token, a
    false alarm. Healed with a fresh pipe handed to both ends, as a rejoin does."""
    count = trial.warm_up()
    pos = trial.random_position()
    side = trial.rng.choice((Side.LEFT, Side.RIGHT))
    left, right = trial.cluster.cut_link(pos, side)
    trial.after(trial.rng.uniform(0.3, 1.0), lambda: trial.cluster.heal_link(left, right))
    trial.keep_alive_until(lambda: not trial.cluster.cuts, what="the cut to heal")
    trial.audit(count)


def one_way_link(trial: Trial) -> None:
    """Cut one direction only: the sender's sends are refused (it keeps the token),
    the receiver hears silence; the other direction still works."""
    count = trial.warm_up()
    pos = trial.random_position()
    how = trial.rng.choice(("cut_out", "blackhole"))
    trial.set_link_fault(pos, **{how: True})
    _lift_later(trial, trial.rng.uniform(0.3, 1.0), pos)
    trial.audit(count)


def flapping_link(trial: Trial) -> None:
    """One link is cut and healed again and again, at seeded random instants."""
    count = trial.warm_up()
    pos = trial.random_position()
    for _ in range(trial.rng.randint(3, 6)):
        left, right = trial.cluster.cut_link(pos, Side.RIGHT)
        trial.keep_alive_for(trial.rng.uniform(0.02, 0.3))
        trial.cluster.heal_link(left, right)
        trial.keep_alive_for(trial.rng.uniform(0.02, 0.3))
    trial.audit(count)


def partition(trial: Trial) -> None:
    """Cut two links: the ring falls into two arcs. A snapshot cannot cross, so no
    election runs and no arc makes a token of its own: never a token in two arcs.
    Healed: the one token goes on."""
    count = trial.warm_up()
    first, second = sorted(trial.rng.sample(trial.cluster.active_positions(), 2))
    arcs = trial.cluster.partition([first, second])
    both: list[str] = []

    def watch_arcs(record: Record) -> None:
        # After every record while partitioned: no two arcs hold a token at once.
        if trial.cluster.cuts and len(_arcs_holding(trial, arcs)) > 1 and not both:
            holders = sorted({h.pos for h in trial.view.holdings.open()})
            both.append(f"tokens in two arcs of {arcs} at once, held at {holders}")

    trial.history.subscribe(watch_arcs)
    try:
        trial.after(trial.rng.uniform(0.4, 1.0), trial.cluster.heal_all)
        trial.keep_alive_until(lambda: not trial.cluster.cuts, what="the partition to heal")
    finally:
        trial.history.unsubscribe(watch_arcs)
    if both:
        raise ScenarioError(both[0])
    trial.audit(count)


def _arcs_holding(trial: Trial, arcs: list[list[int]]) -> list[int]:
    """The arcs (by index) in which some node holds a token (of any epoch: a stale
    token that woke up in the other arc would be two as well)."""
    holders = {h.pos for h in trial.view.holdings.open()}
    return [i for i, arc in enumerate(arcs) if holders & set(arc)]


def duplicating_link(trial: Trial) -> None:
    """Messages on one link are sent twice with probability p: a duplicated token
    is a second token of the epoch (an audit snapshot counts 2 and a new epoch
    fences both), a duplicated candidate ID or announcement is dropped as a repeat
    (never two leaders), a duplicated marker is a late one."""
    count = trial.warm_up()
    pos = trial.random_position()
    _until_it_hits_the_token(trial, pos, MESSAGE_DUPLICATED, "the link to duplicate the token",
                             duplicate=trial.rng.uniform(0.3, 0.8))
    trial.clear_link_fault(pos)
    trial.audit(count)


def reorder_link(trial: Trial) -> None:
    """EXPECTED VIOLATION. The token is held back on one link while later messages
    overtake it; a snapshot runs meanwhile, its marker overtakes the token, and the
    cut misses it: counted 0 while it is alive, an election for nothing. The checker
    must name the broken assumption: consistent_snapshot (FIFO)."""
    count = trial.warm_up()
    pos = trial.random_position()
    # Long enough for the harness to see the hold and start a snapshot on a busy
    # machine: past the detection timeout, and never under 300 ms.
    held_ms = max(300.0, 4 * trial.view.detection_timeout_s() * 1e3)
    mark = len(trial.history.records)
    trial.set_link_fault(pos, reorder=1.0, reorder_ms=held_ms, token_only=True)
    held = trial.ring.wait_for(_token_event(MESSAGE_REORDERED, pos), since=mark,
                               timeout_s=DEADLINE_S)
    if held is None:
        raise ScenarioError("the link never held the token back")
    trial.clear_link_fault(pos)  # the held token is still on its way
    trial.pipeline.recover("audit")  # markers now overtake the held token
    trial.keep_alive_until(lambda: trial.seen(
        lambda r: r["kind"] in (TOKEN_RECEIVED, TOKEN_FENCED) and r["epoch"] == held["epoch"]
        and r["hop"] == held["hop"], mark), what="the held token to arrive")
    trial.until_recovered(count)
    trial.hops(2 * trial.nodes)
