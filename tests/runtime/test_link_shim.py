"""The link shim on its own, in this process: seeded coins, FIFO delays, reorder."""
from __future__ import annotations

import time

import pytest

from emulator.protocol import Candidate, Side, Token
from emulator.runtime.link_shim import LinkFault, LinkShims, SetLinkFault


class Wire:
    """The shim's outside: what reached the socket, what was refused, what was said."""

    def __init__(self):
        self.written, self.refused, self.reports = [], [], []

    def shims(self):
        return LinkShims(lambda side, m: self.written.append(m),
                         lambda side, m: self.refused.append(m),
                         lambda kind, fields: self.reports.append((kind, fields)))


def _drain(shims, deadline_s=5.0):
    end = time.monotonic() + deadline_s
    while shims.next_due_ns() is not None and time.monotonic() < end:
        time.sleep(max(0.0, (shims.next_due_ns() - time.monotonic_ns()) / 1e9))
        shims.release_due()


@pytest.mark.parametrize("dist", ["constant", "uniform", "exponential"])
def test_delays_keep_fifo_whatever_the_distribution(dist):
    wire = Wire()
    shims = wire.shims()
    shims.set(SetLinkFault(Side.RIGHT, LinkFault(delay_ms=2, dist=dist), seed=3))
    sent = [Token(1, hop) for hop in range(1, 41)]
    for token in sent:
        shims.send(Side.RIGHT, token)
    _drain(shims)
    assert wire.written == sent
    assert sum(kind == "message_delayed" for kind, _ in wire.reports) >= 30


def test_the_same_seed_flips_the_same_coins():
    def losses(seed):
        wire = Wire()
        shims = wire.shims()
        shims.set(SetLinkFault(Side.LEFT, LinkFault(loss=0.5), seed=seed))
        for hop in range(1, 101):
            shims.send(Side.LEFT, Token(1, hop))
        return [m.hop for m in wire.written]

    assert losses(11) == losses(11)
    assert losses(11) != losses(12)
    assert 20 < len(losses(11)) < 80


def test_token_only_spares_the_other_messages_and_reorder_lets_them_overtake():
    wire = Wire()
    shims = wire.shims()
    shims.set(SetLinkFault(Side.RIGHT, LinkFault(reorder=1.0, reorder_ms=5, token_only=True)))
    shims.send(Side.RIGHT, Token(2, 7))
    shims.send(Side.RIGHT, Candidate(3, 9))
    assert wire.written == [Candidate(3, 9)]   # overtook the held token
    _drain(shims)
    assert wire.written == [Candidate(3, 9), Token(2, 7)]


def test_a_delayed_message_is_not_overtaken_by_a_message_without_delay():
    wire = Wire()
    shims = wire.shims()
    shims.set(SetLinkFault(Side.RIGHT, LinkFault(delay_ms=5, token_only=True)))
    shims.send(Side.RIGHT, Token(2, 7))
    shims.send(Side.RIGHT, Candidate(3, 9))    # no delay of its own, but FIFO
    assert wire.written == []
    _drain(shims)
    assert wire.written == [Token(2, 7), Candidate(3, 9)]


def test_clearing_a_fault_lets_the_held_messages_arrive_and_then_forgets_the_side():
    wire = Wire()
    shims = wire.shims()
    shims.set(SetLinkFault(Side.RIGHT, LinkFault(delay_ms=5)))
    shims.send(Side.RIGHT, Token(1, 1))
    shims.set(SetLinkFault(Side.RIGHT, LinkFault()))
    assert not shims.idle            # one message still on its way
    _drain(shims)
    assert wire.written == [Token(1, 1)] and shims.idle
    assert not any(kind == "message_lost_by_link" for kind, _ in wire.reports)


def test_a_one_way_cut_refuses_and_a_blackhole_swallows():
    wire = Wire()
    shims = wire.shims()
    shims.set(SetLinkFault(Side.RIGHT, LinkFault(cut_out=True)))
    shims.set(SetLinkFault(Side.LEFT, LinkFault(blackhole=True)))
    shims.send(Side.RIGHT, Token(1, 1))
    shims.send(Side.LEFT, Candidate(1, 4))
    assert wire.refused == [Token(1, 1)] and wire.written == []
    assert ("message_lost_by_link", {"side": "left", "message": "Candidate",
                                     "cause": "blackhole"}) in wire.reports


@pytest.mark.parametrize("fields", [{"loss": 1.5}, {"duplicate": -0.1}, {"delay_ms": -1},
                                    {"dist": "pareto"}, {"reorder_ms": float("inf")}])
def test_a_bad_fault_is_refused_at_construction(fields):
    with pytest.raises(ValueError):
        LinkFault(**fields)
