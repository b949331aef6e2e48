"""The space-time diagram: records in, SVG out, checked by parsing what it drew."""
from __future__ import annotations

import pathlib
import xml.etree.ElementTree as ET

import pytest

from harness.teach.diagram import extract_messages, fold_quiet_laps, parse_window, render_svg
from harness.tracefile import read_trace

SVG = "{http://www.w3.org/2000/svg}"
DATA = pathlib.Path(__file__).parent / "data"

# Every kind of record that is the receipt of one ring message.
RECEIPTS = ("token_received", "marker_received", "candidate_forwarded",
            "candidate_swallowed", "candidate_dropped", "candidate_stale", "leader",
            "elected", "election_complete", "elected_dropped", "elected_stale")


def load(name: str) -> list[dict]:
    return read_trace(str(DATA / name))


def classes(element) -> set[str]:
    return set(element.get("class", "").split())


def parse(svg: str):
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    groups = list(root.iter(f"{SVG}g"))
    nodes = [g for g in groups if "node" in classes(g)]
    arrows = [g for g in groups if "msg" in classes(g) and "lost" not in classes(g)]
    lost = [g for g in groups if {"msg", "lost"} <= classes(g)]
    return root, nodes, arrows, lost


def test_a_recorded_trace_gives_one_line_per_node_and_an_arrow_per_message():
    """Given the recorded trace of a pause-holder trial (8 nodes), when it is drawn,
    then the SVG parses, has one line per node, and one arrow per received message:
    every token, marker, candidate and elected receipt in the trace (the stale token
    fenced at the door is a receipt too), and no message without an end."""
    records = load("pause-holder.jsonl")
    expected = sum(r["kind"] in RECEIPTS for r in records)
    fenced_at_the_door = 1  # the paused node's token of epoch 1, dropped by p0
    root, nodes, arrows, lost = parse(render_svg(records, title="pause-holder"))
    assert len(nodes) == 8
    assert {g.get("data-pos") for g in nodes} == {str(p) for p in range(8)}
    for g in nodes:  # each node's line is drawn (a life, from its start to its exit)
        assert g.findall(f"{SVG}line")
    assert len(arrows) == expected + fenced_at_the_door
    assert not lost
    kinds = {kind: sum(kind in classes(g) for g in arrows)
             for kind in ("token", "marker", "candidate", "elected")}
    assert kinds == {"token": 44, "marker": 62, "candidate": 27, "elected": 15}


def test_the_diagram_shows_the_cut_the_stop_band_the_fence_and_a_legend():
    records = load("pause-holder.jsonl")
    svg = render_svg(records)
    root = ET.fromstring(svg)
    paths = [p for p in root.iter(f"{SVG}path") if "cut" in classes(p)]
    snapshots = {tuple(r["sid"]) for r in records if r["kind"] == "snapshot_result"}
    assert len(paths) == len(snapshots) == 4
    assert [r for r in root.iter(f"{SVG}rect") if "stopband" in classes(r)]
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "fenced e1" in texts and "SIGSTOP" in texts and "leader r2" in texts
    assert "p7 · id 3" in texts and "pid 14211" in texts
    assert "snapshot cut" in texts and "candidate ID" in texts  # the legend
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # no network


def test_pairs_follow_the_nearest_sender_upstream_and_fifo():
    records = load("pause-holder.jsonl")
    for m in extract_messages(records):
        assert m.delivered, m
        assert m.sent_ns <= m.received_ns
        if m.kind == "token" and m.outcome == "received":
            assert m.dst != m.src


def _r(t, pos, kind, pid=None, **fields):
    return {"t_ns": int(t * 1e6), "pos": pos, "id": pos + 10, "pid": pid or 100 + pos,
            "kind": kind, **fields}


def _started(n):
    return [_r(0.01 * p, p, "node_started", epoch=0) for p in range(n)]


def test_a_forward_reported_after_the_receipt_it_caused_is_still_paired():
    """candidate_forwarded is reported after the send: the next node's receipt can
    carry an earlier stamp. The pairing still finds it, and draws it forwards."""
    records = _started(3) + [
        _r(1.0, 0, "candidate", round=1),
        _r(2.0, 1, "candidate_forwarded", round=1, id=10),   # p1 forwards ID 10 ...
        _r(1.9, 2, "candidate_swallowed", round=1, id=10),   # ... p2 reports it first
    ]
    messages = extract_messages(records)
    assert [(m.src, m.dst, m.outcome) for m in messages] == [(0, 1, "forwarded"),
                                                              (1, 2, "swallowed")]
    assert all(m.sent_ns <= m.received_ns for m in messages)


def test_a_send_nobody_received_is_a_stub_and_a_wrap_is_one_arrow():
    records = _started(3) + [
        _r(1.0, 2, "token_passed", epoch=1, hop=5),
        _r(1.2, 0, "token_received", epoch=1, hop=5),         # wraps p2 -> p0
        _r(3.0, 0, "token_passed", epoch=1, hop=6),           # p1 was killed: lost
        _r(3.1, 1, "fault", fault="SIGKILL", target_pos=1, signal=9),
        _r(3.5, 1, "node_exited", exitcode=-9, signal="SIGKILL"),
        _r(3.6, 0, "link_down", side="right"),
    ]
    root, nodes, arrows, lost = parse(render_svg(records))
    assert len(nodes) == 3 and len(arrows) == 1 and len(lost) == 1
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "SIGKILL" in texts and "EOF" in texts and "exit -9" in texts


def test_long_quiet_stretches_fold_and_say_so():
    records = _started(2)
    t, hop = 1.0, 0
    for _ in range(60):  # 30 laps of a 2-node ring, nothing else happening
        hop += 1
        records += [_r(t, hop % 2, "token_passed", epoch=1, hop=hop),
                    _r(t + 0.1, (hop + 1) % 2, "token_received", epoch=1, hop=hop)]
        t += 2.0
    folds = fold_quiet_laps(sorted(records, key=lambda r: r["t_ns"]))
    assert len(folds) == 1 and "hops in" in folds[0].label
    _, _, folded, _ = parse(render_svg(records))
    _, _, every, _ = parse(render_svg(records, fold=False))
    assert len(every) == 60 and len(folded) < 10
    assert "folded" in render_svg(records)


def test_a_window_draws_only_its_stretch():
    records = load("pause-holder.jsonl")
    _, _, everything, _ = parse(render_svg(records))
    _, _, windowed, _ = parse(render_svg(records, window_ms=(725.0, 765.0)))
    assert 0 < len(windowed) < len(everything)
    with pytest.raises(ValueError, match="no events"):
        render_svg(records, window_ms=(5000.0, 6000.0))


@pytest.mark.parametrize("text, expected", [("120:480", (120.0, 480.0)), ("10:", (10.0, None)),
                                            (":7.5", (None, 7.5))])
def test_windows_parse(text, expected):
    assert parse_window(text) == expected


@pytest.mark.parametrize("text", ["120", "a:b", "5:1", "-1:4", "nan:5", "1:inf"])
def test_bad_windows_say_what_is_wrong(text):
    with pytest.raises(ValueError, match="--window"):
        parse_window(text)
