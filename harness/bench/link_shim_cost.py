"""What the link-fault hook costs a send on a link without a fault.

In a child process, a real ``NodeRuntime`` on real pipes sends tokens on its right
link through ``_send`` (the path every send takes: one check that no link has a
fault, then the write) and through ``_write`` (the write alone, the path before
link faults existed), in alternating blocks; the peer end is drained between
blocks, untimed. The difference per send, next to a hop of the runtime, is the
hook's share of a hop. For comparison, the same send while the *other* link has a
fault (the shim is then consulted, finds nothing for this side, and writes).
"""
from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time

from emulator.protocol import Side, Token
from emulator.runtime.control import NodeSpec
from emulator.runtime.link_shim import LinkFault, SetLinkFault
from emulator.runtime.node_process import NodeRuntime

BLOCK = 100  # sends per block: well inside a Unix socket's send buffer


def _block_ns(send, drain) -> float:
    token = Token(1, 1)
    started = time.perf_counter_ns()
    for _ in range(BLOCK):
        send(Side.RIGHT, token)
    elapsed = time.perf_counter_ns() - started
    drain()
    return elapsed / BLOCK


def _measure(result, blocks: int) -> None:
    state_dir = tempfile.mkdtemp(prefix="ringemu-bench-shim-")
    import multiprocessing
    context = multiprocessing.get_context("fork")
    harness_end, node_end = context.Pipe(duplex=True)
    right_ours, right_peer = context.Pipe(duplex=True)
    try:
        spec = NodeSpec(pos=0, node_id=1, hold_ns=0, fencing=True, announce=False,
                        state_path=os.path.join(state_dir, "node-0.json"))
        runtime = NodeRuntime(spec, node_end, None, right_ours)

        def drain() -> None:
            for _ in range(BLOCK):
                right_peer.recv_bytes()

        paths = {"hook": [], "bare": [], "other_side_faulty": []}
        for _ in range(blocks):
            paths["hook"].append(_block_ns(runtime._send, drain))
            paths["bare"].append(_block_ns(runtime._write, drain))
        runtime._on_link_fault(SetLinkFault(Side.LEFT, LinkFault(delay_ms=1)))
        for _ in range(blocks):
            paths["other_side_faulty"].append(_block_ns(runtime._send, drain))
        result.send({name: statistics.median(values) for name, values in paths.items()})
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def measure(context, blocks: int) -> dict:
    """Median ns per send on each path (measured in a forked child)."""
    ours, theirs = context.Pipe(duplex=False)
    child = context.Process(target=_measure, args=(theirs, blocks), daemon=True)
    child.start()
    theirs.close()
    try:
        if not ours.poll(120):
            raise RuntimeError("the link-shim cost measurement did not finish")
        found = ours.recv()
    finally:
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join()
        child.close()
        ours.close()
    found["hook_ns"] = found["hook"] - found["bare"]
    return found
