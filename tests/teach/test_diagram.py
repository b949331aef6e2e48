"""The space-time diagram: records in, SVG out, checked by parsing what it drew."""
from __future__ import annotations

import io
import itertools
import pathlib
import re
import xml.etree.ElementTree as ET

import pytest

from harness import invariants
from harness.teach.diagram import (
    extract_messages, fold_quiet_laps, holdings, parse_window, render_svg,
)
from harness.teach.diagram.analysis import _fold_run, sorted_records, thin_quiet_laps
from harness.teach.diagram.drawing import scene
from harness.teach.diagram import png
from harness.teach.diagram.layout import label_box
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


def texts(root) -> str:
    return " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def stylesheet(root) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule of the picture's stylesheet."""
    css = "".join(root.find(f"{SVG}style").itertext())
    return [(sel.strip(), body) for sels, body in re.findall(r"([^{}]+)\{([^}]*)\}", css)
            for sel in sels.split(",")]


def label_boxes(root) -> list:
    boxes = []
    for t in root.iter(f"{SVG}text"):
        if "label" in classes(t):
            boxes.append(label_box(float(t.get("x")), float(t.get("y")), t.text,
                                   float(t.get("font-size")), t.get("text-anchor", "start"),
                                   t.get("font-weight") == "bold"))
    return boxes


def test_a_recorded_trace_gives_one_line_per_node_and_an_arrow_per_message():
    """Given the recorded trace of a pause-holder trial (8 nodes), when it is drawn,
    then the SVG parses, has one line per node, and one arrow per received message:
    every token, marker, candidate and elected receipt in the trace (the stale token
    fenced at the door is a receipt too), and no message without an end."""
    records = load("pause-holder.jsonl")
    expected = sum(r["kind"] in RECEIPTS for r in records)
    fenced_at_the_door = 1  # the paused node's token of epoch 1, refused by its neighbour
    root, nodes, arrows, lost = parse(render_svg(records, title="pause-holder"))
    assert len(nodes) == 8
    assert {g.get("data-pos") for g in nodes} == {str(p) for p in range(8)}
    for g in nodes:  # each node's line is drawn (a life, from its start to its exit)
        assert g.findall(f"{SVG}line")
    assert len(arrows) == expected + fenced_at_the_door
    assert not lost
    kinds = {kind: sum(kind in classes(g) for g in arrows)
             for kind in ("Token", "Marker", "Candidate", "Elected")}
    assert kinds == {"Token": 44, "Marker": 62, "Candidate": 18, "Elected": 15}


def test_the_diagram_shows_the_cut_the_stop_band_the_fence_and_a_legend():
    records = load("pause-holder.jsonl")
    svg = render_svg(records)
    root = ET.fromstring(svg)
    paths = [p for p in root.iter(f"{SVG}path") if "cut" in classes(p)]
    snapshots = {tuple(r["sid"]) for r in records if r["kind"] == "snapshot_result"}
    assert len(paths) == len(snapshots) == 4
    assert [r for r in root.iter(f"{SVG}rect") if "stopband" in classes(r)]
    words = texts(root)
    assert "fenced e1" in words and "SIGSTOP" in words and "leader r2" in words
    assert "p7 · id 4" in words and "pid 22886" in words
    assert "snapshot cut" in words and "candidate ID" in words  # the legend
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


def test_a_failed_pass_comes_back_and_the_holding_agrees_with_the_checker():
    """A pass that failed (EPIPE) gives the token back (token_returned): the diagram
    draws it as a loop back to the sender, not as a token lost, and its holdings are
    the checker's, so the node holds the token again until its next pass."""
    records = _started(3) + [
        _r(1.0, 0, "token_created", epoch=1),
        _r(2.0, 0, "token_passed", epoch=1, hop=1),
        _r(2.1, 0, "message_lost", side="right", message="Token"),
        _r(2.2, 0, "token_returned", epoch=1, hop=0),
        _r(5.0, 0, "token_passed", epoch=1, hop=1),
        _r(5.1, 1, "token_received", epoch=1, hop=1),
    ]
    messages = extract_messages(records)
    assert [(m.src, m.outcome) for m in messages] == [(0, "returned"), (0, "received")]
    spans = sorted((h.pos, h.start_ns, h.end_ns) for h in holdings(records))
    checker = sorted((h.pos, h.start_ns, h.end_ns) for h in invariants.holdings(records)
                     if h.end_ns != float("inf"))
    assert (0, int(2.2e6), int(5.0e6)) in spans
    assert [s for s in spans if s[2] is not None] == checker
    root, _, arrows, lost = parse(render_svg(records))
    assert not lost and [p for p in root.iter(f"{SVG}path") if "returned" in classes(p)]
    assert "send failed" in texts(root)


def test_a_send_nobody_received_is_a_stub_and_a_wrap_ends_on_p0_drawn_again():
    records = _started(3) + [
        _r(1.0, 2, "token_passed", epoch=1, hop=5),
        _r(1.2, 0, "token_received", epoch=1, hop=5),         # wraps p2 -> p0
        _r(3.0, 0, "token_passed", epoch=1, hop=6),           # p1 was killed: lost
        _r(3.1, 1, "fault", fault="SIGKILL", target_pos=1, signal=9),
        _r(3.5, 1, "node_exited", exitcode=-9, signal="SIGKILL"),
        _r(3.6, 0, "link_down", side="right"),
    ]
    svg = render_svg(records)
    root, nodes, arrows, lost = parse(svg)
    assert len(nodes) == 3 and len(arrows) == 1 and len(lost) == 1
    words = texts(root)
    assert "SIGKILL" in words and "EOF" in words and "exit -9" in words
    # the wrap goes one row down, to p0's line drawn again below p2
    again_y = {float(line.get("y1")) for g in root.iter(f"{SVG}g")
               if "node-again" in classes(g) for line in g.iter(f"{SVG}line")}
    (wrap,) = arrows[0].iter(f"{SVG}line")
    assert float(wrap.get("y2")) in again_y and float(wrap.get("y2")) > float(wrap.get("y1"))
    # a SIGKILL and a message nobody received do not share a symbol
    assert not [p for p in lost[0].iter(f"{SVG}path") if "kill" in classes(p)]
    assert lost[0].find(f"{SVG}circle") is not None


def test_every_label_shows_its_own_colour():
    """No stylesheet rule may set the fill of a text that carries its own colour (CSS
    beats a presentation attribute: the labels all came out black)."""
    root = ET.fromstring(render_svg(load("pause-holder.jsonl")))
    coloured = [t for t in root.iter(f"{SVG}text") if t.get("fill")]
    labels = [t for t in coloured if "label" in classes(t)]
    assert {t.get("fill") for t in labels} >= {"#7a5c00", "#a0432a"}  # leader, fenced
    for selector, body in stylesheet(root):
        if "fill" not in body:
            continue
        last = selector.split()[-1]
        assert last not in ("text", "*"), selector
        for t in coloured:
            assert not (last.startswith(".") and set(last[1:].split(".")) <= classes(t)), (
                selector, t.text)
    # a halo is a copy underneath, not paint-order (which cairosvg paints over the text)
    assert "paint-order" not in ET.tostring(root, encoding="unicode")


@pytest.mark.parametrize("name", ["pause-holder.jsonl", "counterexample.jsonl"])
def test_no_two_labels_overlap(name):
    root = ET.fromstring(render_svg(load(name)))
    boxes = label_boxes(root)
    assert len(boxes) > 3
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)


def test_no_two_labels_overlap_on_a_busy_ring_of_sixteen():
    """Sixteen nodes, a token every hop, a kill and a restart at every node: the
    labels that fit are placed apart, and the picture still says the important ones."""
    records, t = _started(16), 1.0
    for hop in range(1, 64):
        pos = hop % 16
        records += [_r(t, (pos - 1) % 16, "token_passed", epoch=1, hop=hop),
                    _r(t + 0.05, pos, "token_received", epoch=1, hop=hop)]
        if hop % 4 == 0:
            records += [_r(t + 0.1, pos, "fault", fault="SIGKILL", target_pos=pos, signal=9),
                        _r(t + 0.2, pos, "node_exited", exitcode=-9),
                        _r(t + 0.3, pos, "restarted", pid=900 + hop)]
        t += 0.4
    root = ET.fromstring(render_svg(records, fold=False))
    boxes = label_boxes(root)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), (a, b)
    assert texts(root).count("SIGKILL") >= 8


def test_the_legend_fits_a_narrow_picture_and_names_what_it_uses():
    """A model checker's counterexample is a short trace: the picture is still wide
    enough for its legend, and the legend has every symbol the picture uses."""
    svg = render_svg(load("counterexample.jsonl"))
    root = ET.fromstring(svg)
    width = float(root.get("viewBox").split()[2])
    legend = next(g for g in root.iter(f"{SVG}g") if "legend" in classes(g))
    dx = float(re.search(r"translate\(([\d.]+)", legend.get("transform")).group(1))
    for t in legend.iter(f"{SVG}text"):
        box = label_box(float(t.get("x")) + dx, 0, t.text, float(t.get("font-size")))
        assert box.x1 <= width, t.text
    words = texts(legend)
    assert "SIGSTOP" in words and "leader" in words and "token created" in words
    assert "SIGKILL" not in words   # nothing was killed


def test_a_counterexample_has_a_line_per_node_and_counts_steps():
    root, nodes, arrows, _ = parse(render_svg(load("counterexample.jsonl")))
    assert len(nodes) == 3
    for g in nodes:   # pid 0 everywhere: still one life per position, on its own row
        ys = {line.get("y1") for line in g.iter(f"{SVG}line")}
        assert len(ys) == 1
    assert len({g.iter(f"{SVG}line").__next__().get("y1") for g in nodes}) == 3
    ticks = [t.text for t in root.iter(f"{SVG}text") if "tick" in classes(t)]
    assert ticks and all(t.startswith("step ") for t in ticks)
    assert "pid 0" not in texts(root)


def test_tokens_of_different_epochs_have_different_colours():
    records = load("pause-holder.jsonl")
    root, _, arrows, _ = parse(render_svg(records))
    by_epoch = {}
    for g in arrows:
        if "Token" in classes(g):
            epoch = re.search(r"epoch (\d+)", g.find(f"{SVG}title").text).group(1)
            by_epoch.setdefault(epoch, set()).update(c for c in classes(g) if c.startswith("ep"))
    assert set(by_epoch) == {"1", "2"}
    assert all(len(c) == 1 for c in by_epoch.values())
    colour = {}
    for selector, body in stylesheet(root):
        match = re.fullmatch(r"\.msg\.Token\.(ep\d+) line", selector)
        if match:
            colour[match.group(1)] = re.search(r"stroke:\s*([^;]+);", body).group(1)
    (one,), (two,) = by_epoch["1"], by_epoch["2"]
    assert colour[one] != colour[two]


def test_time_runs_at_one_scale_within_each_segment_and_every_change_is_marked():
    records = sorted_records(load("pause-holder.jsonl"))
    kept, folds = thin_quiet_laps(records)
    s = scene(kept, None, folds)
    axis = s.axis
    assert axis.segments, "the elections should be magnified"
    assert all(seg.zoom & (seg.zoom - 1) == 0 and seg.zoom > 1 for seg in axis.segments)
    for t0, t1 in zip(axis.anchors_t, axis.anchors_t[1:]):
        if axis.in_break((t0 + t1) / 2):
            continue
        zoom = axis.zoom_at(t0, t1)
        slope = (axis.x(t1) - axis.x(t0)) / (t1 - t0)
        assert slope == pytest.approx(axis.px_per_ns * zoom, rel=1e-6)
    root = ET.fromstring(render_svg(records))
    bands = [r for r in root.iter(f"{SVG}rect") if "zoomband" in classes(r)]
    marks = [t.text for t in root.iter(f"{SVG}text") if "zoomlabel" in classes(t)]
    assert len(bands) == len(axis.segments) + 1   # + the legend's
    assert sorted(marks) == sorted(f"×{seg.zoom}" for seg in axis.segments)


def test_scale_enlarges_the_picture_not_the_drawing():
    records = load("counterexample.jsonl")
    one, two = (ET.fromstring(render_svg(records, scale=k)) for k in (1, 2))
    assert one.get("viewBox") == two.get("viewBox")
    assert float(two.get("width")) == pytest.approx(2 * float(one.get("width")), abs=1)
    assert float(two.get("height")) == pytest.approx(2 * float(one.get("height")), abs=1)


def test_a_png_keeps_the_labels():
    """cairosvg ignores paint-order: a halo drawn that way painted white over every
    label. Rendered to PNG, the red of the SIGKILL label must be there."""
    if not png.available():
        pytest.skip("cairosvg or the cairo library is not installed")
    import cairosvg
    from PIL import Image as image_module   # a dependency of cairosvg
    records = _started(3) + [_r(1.0, 1, "fault", fault="SIGKILL", target_pos=1, signal=9),
                             _r(1.5, 1, "node_exited", exitcode=-9)]
    svg = render_svg(records)
    root = ET.fromstring(svg)
    label = next(t for t in root.iter(f"{SVG}text") if "label" in classes(t)
                 and t.text == "SIGKILL")
    box = label_box(float(label.get("x")), float(label.get("y")), "SIGKILL", 9,
                    label.get("text-anchor", "start"), True)
    picture = cairosvg.svg2png(bytestring=svg.encode())
    image = image_module.open(io.BytesIO(picture)).convert("RGB")
    reds = [image.getpixel((x, y)) for x in range(int(box.x0), int(box.x1))
            for y in range(int(box.y0), int(box.y1))]
    assert sum(1 for r, g, b in reds if r > 150 and g < 90 and b < 90) > 10


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


def test_a_long_trace_streams_through_and_keeps_only_what_is_drawn():
    """Fifty thousand hops of a quiet ring: the records stream through the folding,
    which keeps a few laps (memory in proportion to the picture, not the trace), and
    the fold is the one the whole stretch gives."""
    def hops(count):
        yield from _started(4)
        t = 1.0
        for hop in range(1, count + 1):
            yield _r(t, (hop - 1) % 4, "token_passed", epoch=1, hop=hop)
            yield _r(t + 0.1, hop % 4, "token_received", epoch=1, hop=hop)
            t += 2.0
    kept, folds = thin_quiet_laps(hops(50_000))
    assert len(kept) < 200
    whole = [r for r in hops(50_000) if r["kind"] != "node_started"]
    assert [(f.start_ns, f.end_ns, f.label) for f in folds] == [
        (f.start_ns, f.end_ns, f.label) for f in [_fold_run(whole, 1, 4)]]
    assert int(folds[0].label.split()[0]) > 49_990   # all but a lap at each end
    root, nodes, arrows, _ = parse(render_svg(hops(50_000)))
    assert len(nodes) == 4 and len(arrows) < 40
    # every holding either side of the fold ends where it really does: a hold that
    # took the next pass as its own would be twice as long as a hop
    lines = [line for g in root.iter(f"{SVG}g") if "holds" in classes(g)
             for line in g.iter(f"{SVG}line")]
    lengths = sorted(length for line in lines
                     if (length := float(line.get("x2")) - float(line.get("x1"))) > 2)
    assert lengths[-1] < 1.5 * lengths[len(lengths) // 2]
    # a window in the middle of that fold is drawn from the records themselves
    _, _, windowed, _ = parse(render_svg(hops(50_000), window_ms=(50_000.0, 50_040.0)))
    assert 15 <= len(windowed) <= 25   # 20 hops of 2 ms


def test_a_picture_too_big_to_read_is_refused_with_advice():
    records, t = _started(2), 1.0
    for hop in range(1, 22_000):
        records += [_r(t, (hop - 1) % 2, "token_passed", epoch=1, hop=hop),
                    _r(t + 0.1, hop % 2, "token_received", epoch=1, hop=hop)]
        t += 2.0
    with pytest.raises(ValueError, match="--window"):
        render_svg(records, fold=False)


def test_a_window_draws_only_its_stretch():
    records = load("pause-holder.jsonl")
    _, _, everything, _ = parse(render_svg(records))
    _, _, windowed, _ = parse(render_svg(records, window_ms=(495.0, 530.0)))
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


def test_the_command_writes_a_png_at_the_scale_asked(tmp_path):
    """``ringemu diagram --png --scale 2``: a PNG twice the SVG's drawing size."""
    if not png.available():
        pytest.skip("cairosvg or the cairo library is not installed")
    import struct
    import subprocess
    import sys
    trace = str(DATA / "counterexample.jsonl")
    sizes = []
    for scale in ("1", "2"):
        out, picture = tmp_path / f"cx{scale}.svg", tmp_path / f"cx{scale}.png"
        done = subprocess.run([sys.executable, "-m", "harness", "diagram", trace, "--out",
                               str(out), "--png", str(picture), "--scale", scale],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        header = picture.read_bytes()[:24]
        assert header[:8] == b"\x89PNG\r\n\x1a\n"
        sizes.append(struct.unpack(">II", header[16:24]))
    assert sizes[1][0] == pytest.approx(2 * sizes[0][0], abs=2)
    assert sizes[1][1] == pytest.approx(2 * sizes[0][1], abs=2)
