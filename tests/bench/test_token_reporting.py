"""Per-ring reporting: every event by default; token events every K hops, and no
per-message snapshot or election steps, when a benchmark asks."""
from __future__ import annotations

import pytest

from emulator.runtime.control import NodeSpec
from harness.bench.rings import BenchRing
from harness.config import ConfigError, RingConfig

pytestmark = pytest.mark.real


def test_by_default_every_hop_is_reported():
    """Given the default configuration, then a node reports every token event
    (the chaos checker needs every hop)."""
    assert RingConfig(ids=(1, 2)).token_report_every == 1
    assert NodeSpec(pos=0, node_id=1, hold_ns=0, fencing=True, announce=True,
                    state_path="x").token_report_every == 1


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_a_bad_interval_is_one_clear_error(bad):
    with pytest.raises(ConfigError, match="token report interval"):
        RingConfig(ids=(1, 2), token_report_every=bad)


def _token_events(ring: BenchRing, receipts: int) -> list[dict]:
    ring.bootstrap()
    mark = ring.mark()
    ring.receipts(receipts)
    events = [r for r in ring.history.records[mark:]
              if r["kind"] in ("token_received", "token_passed")]
    # Arrival order is per node (the harness drains one node's pipe at a time).
    return sorted(events, key=lambda r: r["t_ns"])


def test_a_default_ring_reports_every_receipt_and_every_pass():
    with BenchRing(RingConfig(ids=(3, 1, 2), hold_ns=0), candidates=3) as ring:
        events = _token_events(ring, 40)
    receipts = {r["hop"] for r in events if r["kind"] == "token_received"}
    passes = {r["hop"] for r in events if r["kind"] == "token_passed"}
    # The last few may still be in a node's pipe; the first 20 are all there.
    first = min(receipts)
    assert set(range(first, first + 20)) <= receipts
    assert set(range(first + 1, first + 21)) <= passes


def test_a_sampled_ring_reports_only_multiples_of_k_and_their_passes():
    """Given K = 6 on a ring of 3, then receipts are reported at hops 6, 12, ...
    only, each pass reported is the pass of a reported receipt (so a holder's
    events still balance), and the pipeline still sees the new token's lap."""
    config = RingConfig(ids=(3, 1, 2), hold_ns=0, token_report_every=6)
    with BenchRing(config, candidates=3) as ring:
        events = _token_events(ring, 5)
    receipts = [r["hop"] for r in events if r["kind"] == "token_received"]
    passes = [r["hop"] for r in events if r["kind"] == "token_passed"]
    assert len(receipts) >= 5 and all(hop % 6 == 0 for hop in receipts)
    assert receipts == sorted(receipts) and receipts[1] - receipts[0] == 6
    assert all((hop - 1) % 6 == 0 for hop in passes)


FORWARDING = {"marker_received", "candidate_forwarded", "candidate_swallowed", "elected"}


@pytest.mark.parametrize("forwarding", [True, False])
def test_forwarding_steps_are_reported_unless_the_ring_is_quiet(forwarding):
    """Given report_forwarding off, when the ring bootstraps (a snapshot, an
    all-candidate election, a lap), then no per-message step is reported, and the
    pipeline still sees every part, the leader, the completion and the lap."""
    config = RingConfig(ids=(3, 1, 4, 2), hold_ns=0, report_forwarding=forwarding)
    assert RingConfig(ids=(1, 2)).report_forwarding is True
    with BenchRing(config, candidates=4) as ring:
        recovery = ring.bootstrap()
        kinds = [r["kind"] for r in ring.history.records]
    assert recovery.ok and recovery.leader_id == 4
    assert kinds.count("snapshot_part") == 4 and kinds.count("candidate") == 4
    assert {"leader", "election_complete", "token_created"} <= set(kinds)
    assert bool(FORWARDING & set(kinds)) is forwarding
