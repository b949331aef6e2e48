"""Transport: a token hop around a real ring, next to the operating system's floor.

References, measured in the same run: a raw ``os.pipe`` ping-pong and a raw
``Connection`` ping-pong between two processes (the 17-byte frame a token is on
the wire), and a raw ring of N processes that only relay that frame with
``recv_bytes``/``send_bytes`` (the ring's topology without the node runtime).
One hop is half a round trip, or a lap divided by N.

The ringemu ring runs with ``token_report_every = K`` (a multiple of N near
512): a node reports one receipt every K hops, stamped with the shared
monotonic clock, so consecutive reports give the mean hop over K hops with the
control pipe and the harness out of the way. The default ring (every event
reported, which the chaos checker needs) is measured too, as its own row, twice:
with the harness gathering events (``Cluster.gather_s``, the default) and reading
each as soon as it arrives ("eager"), and with how late the harness records an
event after the node stamped it (it must react within a millisecond). The
event path's encodings are compared in-process (``event_path_options``).
All six rings stay up for the whole section, SIGSTOPped except during their
own windows, and the section runs in blocks (every reference, then every ring),
so references and rings see the same noise.

Everything is measured twice: with the processes where the scheduler puts them,
and all pinned to one CPU. On a virtual machine an idle CPU halts, and waking a
process on it costs far more than a switch on a busy CPU: the spread between
the two placements is the machine, not ringemu.

Alongside each latency: the CPU the hop costs (user + system of every process
taking part, per hop), and, measured in this process without any I/O, the
Python work a node does per hop (decode, protocol step for the receipt and for
the hold expiry, encode). Latency minus CPU is waiting: wake-ups, scheduling.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import shutil
import struct
import tempfile
import time
import timeit
from contextlib import ExitStack

import psutil

from emulator.protocol import (
    HOLD_TIMER, NodeProtocol, Received, Send, Side, StartElection, TimerFired, Token,
)
from emulator.runtime.codec import decode, encode
from emulator.runtime.control import EventReader, NodeSpec, Shutdown, unpack_events
from emulator.runtime.node_process import node_main

from emulator.records import TOKEN_PASSED, TOKEN_RECEIVED

from ..config import RingConfig
from . import link_shim_cost
from .rings import CPU_WINDOW_S, BenchRing
from .stats import Summary, ratio

FRAME = b"T" + bytes(16)  # a token's frame: tag byte + two u64
STOP = b"!"
SIZES = (8, 64)
GOAL_RATIO = 1.3          # ring hop (sparse reporting) <= 1.3x the raw ring of its N
EVERY_EVENT_GOAL = 2.0    # every event reported: <= 2x the raw ring of its N
LAG_GOAL_MS = 1.0         # the harness records an event within 1 ms of its stamp
RING_KINDS = {"ring": "ringemu ring", "every": "ringemu ring, every event",
              "eager": "ringemu ring, every event, eager harness"}


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _pipe_echo(read_fd: int, write_fd: int) -> None:
    while True:
        data = os.read(read_fd, 64)
        if not data or data == STOP:
            return
        os.write(write_fd, data)


def pipe_hops(round_trips: int, reps: int, context) -> tuple[list[float], float | None]:
    """Per repetition, the mean one-way hop (µs) over ``round_trips`` os.pipe round
    trips; and the CPU (both processes, µs) per hop."""
    to_child_r, to_child_w = os.pipe()
    to_parent_r, to_parent_w = os.pipe()
    child = context.Process(target=_pipe_echo, args=(to_child_r, to_parent_w), daemon=True)
    try:
        child.start()
        ps = psutil.Process(child.pid)
        cpu, wall = _cpu_s(ps) + time.process_time(), time.monotonic()
        samples = []
        for _ in range(reps):
            started = time.perf_counter_ns()
            for _ in range(round_trips):
                os.write(to_child_w, FRAME)
                os.read(to_parent_r, 64)
            samples.append((time.perf_counter_ns() - started) / (2 * round_trips) / 1e3)
        cpu = _cpu_window(_cpu_s(ps) + time.process_time() - cpu, wall)
        os.write(to_child_w, STOP)
        child.join(10)
    finally:
        _finish(child)
        for fd in (to_child_r, to_child_w, to_parent_r, to_parent_w):
            os.close(fd)
    return samples, None if cpu is None else cpu / (2 * round_trips * reps) * 1e6


def _connection_echo(conn) -> None:
    while True:
        data = conn.recv_bytes()
        if data == STOP:
            return
        conn.send_bytes(data)


def connection_hops(round_trips: int, reps: int, context) -> tuple[list[float], float | None]:
    """As ``pipe_hops``, over a duplex ``Pipe`` (a Unix socket pair, like a ring link)."""
    ours, theirs = context.Pipe(duplex=True)
    child = context.Process(target=_connection_echo, args=(theirs,), daemon=True)
    try:
        child.start()
        theirs.close()
        ps = psutil.Process(child.pid)
        cpu, wall = _cpu_s(ps) + time.process_time(), time.monotonic()
        samples = []
        for _ in range(reps):
            started = time.perf_counter_ns()
            for _ in range(round_trips):
                ours.send_bytes(FRAME)
                ours.recv_bytes()
            samples.append((time.perf_counter_ns() - started) / (2 * round_trips) / 1e3)
        cpu = _cpu_window(_cpu_s(ps) + time.process_time() - cpu, wall)
        ours.send_bytes(STOP)
        child.join(10)
    finally:
        _finish(child)
        ours.close()
        theirs.close()
    return samples, None if cpu is None else cpu / (2 * round_trips * reps) * 1e6


def _relay(left, right) -> None:
    while True:
        data = left.recv_bytes()
        right.send_bytes(data)
        if data == STOP:
            return


def raw_ring_hops(nodes: int, laps: int, reps: int, context) -> tuple[list[float], float | None]:
    """A ring of ``nodes`` processes (this one included) relaying one frame with bare
    ``recv_bytes``/``send_bytes``: per repetition the mean hop (µs) over ``laps``
    laps; and the CPU (every process, µs) per hop."""
    links = [context.Pipe(duplex=True) for _ in range(nodes)]
    children: list = []
    try:
        for pos in range(1, nodes):
            child = context.Process(target=_relay, args=(links[pos - 1][1], links[pos][0]),
                                    daemon=True)
            child.start()
            children.append(child)
        right, left = links[0][0], links[nodes - 1][1]
        processes = [psutil.Process(c.pid) for c in children]
        cpu, wall = sum(map(_cpu_s, processes)) + time.process_time(), time.monotonic()
        samples = []
        for _ in range(reps):
            started = time.perf_counter_ns()
            for _ in range(laps):
                right.send_bytes(FRAME)
                left.recv_bytes()
            samples.append((time.perf_counter_ns() - started) / (laps * nodes) / 1e3)
        cpu = _cpu_window(sum(map(_cpu_s, processes)) + time.process_time() - cpu, wall)
        right.send_bytes(STOP)
        left.recv_bytes()
        for child in children:
            child.join(10)
    finally:
        for child in children:
            _finish(child)
        for pair in links:
            for end in pair:
                end.close()
    return samples, None if cpu is None else cpu / (laps * nodes * reps) * 1e6


def _cpu_window(cpu_s: float, wall_started: float) -> float | None:
    """CPU seconds, if the window was long enough for the kernel's 10 ms ticks."""
    return cpu_s if time.monotonic() - wall_started >= CPU_WINDOW_S else None


def _finish(child) -> None:
    if child.is_alive():
        child.kill()
    child.join()
    child.close()


def lone_node_hops(samples: int, every: int, context) -> list[float]:
    """A ring of one: a real node process whose right link is wired into its own left.
    It elects itself and passes the token to itself, so each hop is the node
    runtime's whole loop (select, read, decode, protocol, timers, encode, write)
    with no other process to wake: the runtime's own cost per hop."""
    harness_end, node_end = context.Pipe(duplex=True)
    left, right = context.Pipe(duplex=True)
    state_dir = tempfile.mkdtemp(prefix="ringemu-bench-")
    spec = NodeSpec(pos=0, node_id=1, hold_ns=0, fencing=True, announce=False,
                    state_path=os.path.join(state_dir, "node-0.json"),
                    token_report_every=every)
    child = context.Process(target=node_main, args=(spec, node_end, left, right), daemon=True)
    seen: list[tuple[int, int]] = []
    try:
        child.start()
        for end in (node_end, left, right):
            end.close()
        harness_end.send(StartElection(1))
        deadline = time.monotonic() + 60
        while len(seen) <= samples:
            if time.monotonic() > deadline or not harness_end.poll(max(
                    0.0, deadline - time.monotonic())):
                raise RuntimeError("a ring of one did not circulate its token")
            for t_ns, kind, fields in unpack_events(harness_end.recv_bytes()):
                if kind == TOKEN_RECEIVED:
                    seen.append((fields["hop"], t_ns))
        harness_end.send(Shutdown())
        while harness_end.poll(10):
            try:
                harness_end.recv_bytes()
            except EOFError:
                break
        child.join(10)
    finally:
        _finish(child)
        harness_end.close()
        shutil.rmtree(state_dir, ignore_errors=True)
    return [(t2 - t1) / (h2 - h1) / 1e3 for (h1, t1), (h2, t2) in zip(seen, seen[1:])]


def node_work_us(iterations: int) -> dict:
    """The Python a node runs per hop, in this process, no I/O: decode the frame,
    the protocol step for the receipt and for the hold expiry, encode the pass."""
    protocol = NodeProtocol(2, epoch=1, hold_ns=0)
    frame = encode(Token(1, 7))
    receipt, expiry = Received(Side.LEFT, decode(frame)), TimerFired(HOLD_TIMER)

    def protocol_step() -> None:
        protocol.handle(receipt)
        protocol.handle(expiry)

    def codec() -> None:
        encode(decode(frame))

    def whole_hop() -> None:
        outputs = protocol.handle(Received(Side.LEFT, decode(frame)))
        outputs += protocol.handle(TimerFired(HOLD_TIMER))
        for output in outputs:
            if isinstance(output, Send):
                encode(output.message)

    def per_call_us(function) -> float:
        return min(timeit.repeat(function, number=iterations, repeat=3)) / iterations * 1e6

    return {"protocol_us": per_call_us(protocol_step), "codec_us": per_call_us(codec),
            "hop_work_us": per_call_us(whole_hop)}


BULK_HOPS = 4  # hops' messages per bulk read in event_path_options


def event_path_options(iterations: int) -> dict:
    """One token hop's two events (token_received, token_passed) from a node to the
    harness, over a real socket pair in this one process (so without the wake-up),
    per hop in µs: as the node sent them before (one pickled message per event),
    batched per loop pass as pickle, the same read in bulk by ``EventReader`` (one
    read per readable connection instead of two per message: what the harness
    does now), and batched as fixed binary records. Each includes sending,
    receiving and decoding into (t_ns, kind, fields); the bulk reads take four
    hops' messages per read, as a busy node's queue holds."""
    node, harness = multiprocessing.Pipe(duplex=True)
    t_ns = time.monotonic_ns()
    events = [(t_ns, TOKEN_RECEIVED, {"epoch": 3, "hop": 12345}),
              (t_ns + 900, TOKEN_PASSED, {"epoch": 3, "hop": 12345})]
    kinds = (TOKEN_RECEIVED, TOKEN_PASSED)
    codes = {kind: code for code, kind in enumerate(kinds)}
    record = struct.Struct("<BqQQ")

    def per_event() -> None:
        for event in events:
            node.send(event)
        for _ in events:
            harness.recv()

    def batched_pickle() -> None:
        node.send_bytes(pickle.dumps(events, pickle.HIGHEST_PROTOCOL))
        pickle.loads(harness.recv_bytes())

    reader = EventReader(harness)

    def batched_pickle_bulk_read() -> None:
        message = pickle.dumps(events, pickle.HIGHEST_PROTOCOL)
        for _ in range(BULK_HOPS):
            node.send_bytes(message)
        got = 0
        while got < len(events) * BULK_HOPS:
            got += len(reader.read())

    def batched_binary() -> None:
        node.send_bytes(b"".join(record.pack(codes[kind], t, f["epoch"], f["hop"])
                                 for t, kind, f in events))
        [(t, kinds[code], {"epoch": epoch, "hop": hop})
         for code, t, epoch, hop in record.iter_unpack(harness.recv_bytes())]

    try:
        timed = {name: min(timeit.repeat(function, number=iterations, repeat=3))
                 / iterations * 1e6
                 for name, function in (("per_event_pickle", per_event),
                                        ("batched_pickle", batched_pickle),
                                        ("batched_binary", batched_binary))}
        timed["batched_pickle_bulk_read"] = min(timeit.repeat(
            batched_pickle_bulk_read, number=iterations // BULK_HOPS,
            repeat=3)) / iterations * 1e6
        return timed
    finally:
        node.close()
        harness.close()


def report_interval(nodes: int, about: int = 512) -> int:
    """A multiple of N near ``about``: the leader's lap receipt is then reported."""
    return nodes * max(1, round(about / nodes))


def start_ring(stack: ExitStack, nodes: int, every: int, start_method: str,
               eager: bool = False, quick: bool = False) -> BenchRing:
    """A real ring (hold 0, IDs ascending, all candidates), bootstrapped, warmed up
    and paused (SIGSTOP) until it is measured. ``eager``: the harness reads every
    event as it arrives instead of letting them gather (``Cluster.gather_s``)."""
    config = RingConfig(ids=tuple(range(1, nodes + 1)), hold_ns=0,
                        start_method=start_method, token_report_every=every)
    ring = stack.enter_context(BenchRing(config, candidates=nodes))
    if eager:
        ring.cluster.gather_s = 0.0
    ring.bootstrap()
    # Every node has run its loop a while (a sparse ring's receipt is 512 hops apart).
    ring.hop_us((1 if quick else 4) if every > 1 else 200)
    ring.pause()
    return ring


def measure(quick: bool, start_method: str) -> dict:
    """Everything twice: with the processes where the scheduler puts them (both
    CPUs), and with all of them pinned to one CPU (no wake-up crosses CPUs)."""
    placements = [("2 CPUs", None)]
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 1:
        placements.append(("1 CPU", {cpus[0]}))
    rows: list[dict] = []
    goal: dict[str, dict[str, float | None]] = {"sparse": {}, "every": {}, "lag_ms": {}}
    hop_medians: dict[str, float] = {}
    blocks = 0
    for label, pinned in placements:
        saved = os.sched_getaffinity(0)
        if pinned is not None:
            os.sched_setaffinity(0, pinned)  # every child started from here inherits it
        try:
            part = measure_placement(quick, start_method)
        finally:
            os.sched_setaffinity(0, saved)
        suffix = "" if pinned is None else " pinned"
        for row in part["rows"]:
            row["placement"] = label
        rows += part["rows"]
        for what, values in part["goal"].items():
            for n, value in values.items():
                goal[what][f"{n}{suffix}"] = value
        for n, value in part["hop_us"].items():
            hop_medians[f"{n}{suffix}"] = value
        blocks = part["blocks"]
    met = {what: all(v is not None and v <= limit for v in goal[what].values())
           for what, limit in (("sparse", GOAL_RATIO), ("every", EVERY_EVENT_GOAL),
                               ("lag_ms", LAG_GOAL_MS))}
    context = multiprocessing.get_context(start_method)
    shim = link_shim_cost.measure(context, 100 if quick else 400)
    lone = [r for r in rows if r["nodes"] == 1 and r.get("placement") == "2 CPUs"]
    if lone:
        shim["hop_us"] = lone[0]["hop_us"]["median"]
        shim["share_of_hop"] = shim["hook_ns"] / 1e3 / shim["hop_us"]
    return {"rows": rows, "link_shim": shim, "node_work": node_work_us(2000 if quick else 20000),
            "event_path": event_path_options(2000 if quick else 20000),
            "blocks": blocks, "hop_us": hop_medians, "placements": [p for p, _ in placements],
            "goal": {"target": GOAL_RATIO, "every_event_target": EVERY_EVENT_GOAL,
                     "lag_target_ms": LAG_GOAL_MS, "ratio_vs_raw_ring": goal["sparse"],
                     "every_event_vs_raw_ring": goal["every"], "lag_p99_ms": goal["lag_ms"],
                     "met": all(met.values()), "met_each": met},
            "start_method": start_method}


def measure_placement(quick: bool, start_method: str) -> dict:
    """Blocks, each measuring every reference and then every ring (resumed for its
    window, paused again): each ratio compares numbers taken seconds apart."""
    if quick:
        blocks, round_trips, reps, laps, ring_samples, every_hops = 2, 200, 4, 20, 4, 150
    else:
        blocks, round_trips, reps, laps, ring_samples, every_hops = 4, 3000, 5, 400, 10, 1500
    context = multiprocessing.get_context(start_method)
    refs: dict[str, list] = {"pipe": [], "conn": [], "lone": [],
                             **{f"raw{n}": [] for n in SIZES}}
    cpu: dict[str, list] = {key: [] for key in refs}
    windows: dict[str, list[dict]] = {f"{kind}{n}": [] for kind in RING_KINDS
                                      for n in SIZES}
    with ExitStack() as stack:
        rings = {}
        for n in SIZES:
            rings[f"ring{n}"] = start_ring(stack, n, report_interval(n), start_method,
                                           quick=quick)
            rings[f"every{n}"] = start_ring(stack, n, 1, start_method, quick=quick)
            rings[f"eager{n}"] = start_ring(stack, n, 1, start_method, eager=True, quick=quick)
        for _ in range(blocks):
            for key, (samples, per_hop) in (
                    ("pipe", pipe_hops(round_trips, reps, context)),
                    ("conn", connection_hops(round_trips, reps, context)),
                    *((f"raw{n}", raw_ring_hops(n, max(1, laps * 8 // n), reps, context))
                      for n in SIZES)):
                refs[key] += samples
                cpu[key].append(per_hop)
            refs["lone"] += lone_node_hops(ring_samples, 512, context)
            for key, ring in rings.items():
                ring.unpause()
                try:
                    windows[key].append(ring.hop_window(
                        ring_samples if key.startswith("ring") else every_hops))
                finally:
                    ring.pause()
    conn = Summary.of(refs["conn"])

    def row(what: str, nodes: int, every, hops: list[float], node_cpu: float | None,
            harness_cpu: float | None = None, raw: float | None = None,
            lag_ms: list[float] | None = None) -> dict:
        summary = Summary.of(hops)
        return {"what": what, "nodes": nodes, "report_every": every,
                "hop_us": summary.as_dict(), "vs_connection": ratio(summary.median, conn.median),
                "vs_raw_ring": ratio(summary.median, raw),
                "cpu_us_per_hop": node_cpu, "harness_cpu_us_per_hop": harness_cpu,
                "lag_ms": Summary.of(lag_ms).as_dict() if lag_ms else None,
                "lag_p99_ms": _quantile(lag_ms, 0.99) if lag_ms else None}

    def mean(values: list) -> float | None:
        known = [v for v in values if v is not None]
        return sum(known) / len(known) if known else None

    def per_hop(parts: list[dict], key: str) -> float | None:
        hops, seconds = sum(w["hops"] for w in parts), sum(w["seconds"] for w in parts)
        if seconds < CPU_WINDOW_S or not hops:
            return None
        return sum(w[key] for w in parts) / hops * 1e6

    rows = [row("os.pipe ping-pong", 2, None, refs["pipe"], mean(cpu["pipe"])),
            row("Connection ping-pong", 2, None, refs["conn"], mean(cpu["conn"]))]
    for n in SIZES:
        rows.append(row("raw Connection ring", n, None, refs[f"raw{n}"], mean(cpu[f"raw{n}"])))
    rows.append(row("ringemu node alone (ring of 1)", 1, 512, refs["lone"], None))
    goal: dict[str, dict[str, float | None]] = {"sparse": {}, "every": {}, "lag_ms": {}}
    hop_medians = {}
    for n in SIZES:
        raw = Summary.of(refs[f"raw{n}"]).median
        found = {}
        for kind, what in RING_KINDS.items():
            parts = windows[f"{kind}{n}"]
            found[kind] = row(what, n, report_interval(n) if kind == "ring" else 1,
                              [hop for w in parts for hop in w["hop_us"]],
                              per_hop(parts, "node_cpu_s"), per_hop(parts, "harness_cpu_s"),
                              raw, [lag for w in parts for lag in w.get("lag_ms", [])])
            rows.append(found[kind])
        goal["sparse"][str(n)] = found["ring"]["vs_raw_ring"]
        goal["every"][str(n)] = found["every"]["vs_raw_ring"]
        goal["lag_ms"][str(n)] = found["every"]["lag_p99_ms"]
        hop_medians[str(n)] = found["ring"]["hop_us"]["median"]
    return {"rows": rows, "blocks": blocks, "hop_us": hop_medians, "goal": goal}


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
