"""What a ring is made of, validated once, with errors a person can act on.

Every check raises ``ConfigError`` with one line that names the bad value and
what is allowed; the CLI prints it and exits 2.
"""
from __future__ import annotations

import multiprocessing
import random
import resource
import sys
from dataclasses import dataclass

import psutil

from emulator.protocol.algorithms import ALGORITHMS, DEFAULT_ALGORITHM
from emulator.runtime.codec import MAX_WIRE_INT

ARRANGEMENTS = ("random", "ascending", "descending")
START_METHODS = ("fork", "forkserver", "spawn")
DEFAULT_START_METHOD = "fork"  # correct here (see Cluster) and 10-25x cheaper to start


# The harness's descriptors per running node: its control end and multiprocessing's
# sentinel pair (links are made as nodes launch, so at most two ends wait; a pidfd is
# opened only while signalling or reaping; forkserver keeps one more, see Cluster).
DESCRIPTORS_PER_NODE = 3
MAX_DETECTOR_FLOOR_MS = 60_000.0
DESCRIPTORS_BASE = 64
# Memory a node costs the machine: its USS after bootstrap, 3.3-3.5 MiB at 256 to
# 4096 nodes and flat in N (BENCHMARKS.md, scale), plus what the kernel keeps per
# process (page tables, stack, socket buffers) that USS does not count.
MEMORY_PER_NODE_MIB = 4

# Times a run can wait. A holder keeps the token at most this long (the recovery
# pipeline's timeouts grow with the lap, so a huge hold would wait for ever).
MAX_HOLD_MS = 10_000.0
MAX_DURATION_S = 86_400.0  # ringemu run --duration: one day


class ConfigError(ValueError):
    """Bad input from the user: one line, exit status 2."""


@dataclass(frozen=True)
class RingConfig:
    ids: tuple[int, ...]
    hold_ns: int = 2_000_000
    fencing: bool = True
    announce: bool = True
    start_method: str = DEFAULT_START_METHOD
    # Token events only every K hops (NodeSpec.token_report_every); 1 = every hop.
    token_report_every: int = 1
    # False: no per-message snapshot/election events (NodeSpec.report_forwarding).
    report_forwarding: bool = True
    # The leader's task (emulator/protocol/task.py) and its store's policy.
    task: bool = False
    task_idempotent: bool = True
    task_fencing: bool = True
    # The silence detector's floor (harness/recovery/detector.py): never suspect a
    # loss sooner than this after the token's last reported receipt.
    detector_floor_ms: float = 20.0
    # The election algorithm every node runs (emulator/protocol/algorithms.py).
    algorithm: str = DEFAULT_ALGORITHM

    def __post_init__(self) -> None:
        check_ids(self.ids)
        if self.hold_ns < 0:
            raise ConfigError(f"hold {self.hold_ns} ns is negative; need >= 0")
        if self.hold_ns > MAX_HOLD_MS * 1e6:
            raise ConfigError(f"--hold-ms {self.hold_ns / 1e6:g} is too long; a holder may "
                              f"keep the token at most {MAX_HOLD_MS:g} ms")
        if (isinstance(self.token_report_every, bool) or not isinstance(
                self.token_report_every, int) or self.token_report_every < 1):
            raise ConfigError(f"token report interval {self.token_report_every!r} is not "
                              "allowed; need a whole number of hops >= 1 (1 = every hop)")
        check_start_method(self.start_method)
        if not 0 < self.detector_floor_ms <= MAX_DETECTOR_FLOOR_MS:
            raise ConfigError(f"detector floor {self.detector_floor_ms!r} ms is not allowed; "
                              f"need a number of ms in (0, {MAX_DETECTOR_FLOOR_MS:g}]")
        check_algorithm(self.algorithm)

    @property
    def nodes(self) -> int:
        return len(self.ids)


def check_ids(ids: tuple[int, ...]) -> None:
    if len(ids) < 2:
        raise ConfigError(f"a ring needs at least 2 nodes, got {len(ids)}")
    for node_id in ids:
        if isinstance(node_id, bool) or not isinstance(node_id, int) or node_id < 1:
            raise ConfigError(f"node ID {shown(node_id)} is not allowed; IDs are natural "
                              "numbers >= 1")
        if node_id > MAX_WIRE_INT:
            raise ConfigError(f"node ID {shown(node_id)} is too large; the wire format "
                              f"carries IDs up to {MAX_WIRE_INT} (2**64 - 1)")
    seen: set[int] = set()
    for node_id in ids:
        if node_id in seen:
            raise ConfigError(f"node ID {node_id} appears twice; IDs must be unique")
        seen.add(node_id)


def check_algorithm(name: str) -> None:
    if name not in ALGORITHMS:
        raise ConfigError(f"algorithm {name!r} is unknown; choose one of "
                          + ", ".join(ALGORITHMS))


def shown(value: object) -> str:
    """A value for an error line, cut short if it is enormous (10**400)."""
    text = repr(value) if not isinstance(value, int) or value.bit_length() < 200 else \
        f"an integer of {len(str(value))} digits" if value.bit_length() < 14_000 \
        else "an integer of over 4000 digits"
    return text if len(text) <= 60 else text[:57] + "..."


def check_start_method(method: str) -> None:
    if method not in START_METHODS:
        raise ConfigError(f"start method {method!r} is unknown; choose one of "
                          + ", ".join(START_METHODS))
    if method not in multiprocessing.get_all_start_methods():
        raise ConfigError(f"start method {method!r} is not available on this platform; "
                          "available: " + ", ".join(multiprocessing.get_all_start_methods()))


def arrange_ids(nodes: int, arrangement: str, seed: int) -> tuple[int, ...]:
    """IDs 1..N by position. Candidates travel right, so 'descending' is
    Chang–Roberts' worst case n(n+1)/2 and 'ascending' its best, 2n-1."""
    if nodes < 2:
        raise ConfigError(f"--nodes {nodes} is too small; a ring needs at least 2 nodes")
    if arrangement == "ascending":
        return tuple(range(1, nodes + 1))
    if arrangement == "descending":
        return tuple(range(nodes, 0, -1))
    if arrangement == "random":
        ids = list(range(1, nodes + 1))
        random.Random(seed).shuffle(ids)
        return tuple(ids)
    raise ConfigError(f"arrangement {arrangement!r} is unknown; choose one of "
                      + ", ".join(ARRANGEMENTS))


def parse_numbers(text: str, option: str, minimum: int, example: str) -> tuple[int, ...]:
    """'5,9,2' -> (5, 9, 2): whole numbers >= ``minimum`` separated by commas, or one
    line naming the part that is not."""
    numbers = []
    for part in text.split(","):
        part = part.strip()
        if not part.isascii() or not part.isdigit() or len(part) > 40 \
                or int(part) < minimum:
            raise ConfigError(f"{option}: {shown(part)} is not allowed; give whole numbers "
                              f">= {minimum} of at most 40 digits separated by commas, "
                              f"e.g. {example}")
        numbers.append(int(part))
    return tuple(numbers)


def parse_ids(text: str) -> tuple[int, ...]:
    """'5,9,2' -> (5, 9, 2), with a clear error for anything else."""
    ids = parse_numbers(text, "--ids", 1, "5,9,2")
    check_ids(ids)
    return ids


def ensure_ring_fits(nodes: int) -> None:
    """ConfigError unless this machine can carry a ring of ``nodes`` processes: its
    descriptors (raising the soft limit if need be), its processes, its memory."""
    ensure_descriptor_budget(nodes)
    processes = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    pid_max = _pid_max()
    room = min(limit for limit in (processes, pid_max, 2**62)
               if limit not in (None, resource.RLIM_INFINITY))
    if nodes + len(psutil.pids()) > room:
        raise ConfigError(f"--nodes {nodes} is more processes than this machine allows "
                          f"(process limit {room}, {len(psutil.pids())} running)")
    available_mib = psutil.virtual_memory().available / 2**20
    if nodes * MEMORY_PER_NODE_MIB > available_mib:
        raise ConfigError(f"--nodes {nodes} needs about {nodes * MEMORY_PER_NODE_MIB} MiB "
                          f"({MEMORY_PER_NODE_MIB} MiB per node) but {available_mib:.0f} MiB "
                          f"are available; use at most "
                          f"{int(available_mib // MEMORY_PER_NODE_MIB)} nodes")


def _pid_max() -> int | None:
    try:
        with open("/proc/sys/kernel/pid_max", encoding="ascii") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return None


def descriptors_needed(nodes: int) -> int:
    return DESCRIPTORS_PER_NODE * nodes + DESCRIPTORS_BASE


def max_nodes_by_descriptors(limit: int) -> int:
    return (limit - DESCRIPTORS_BASE) // DESCRIPTORS_PER_NODE


def ensure_descriptor_budget(nodes: int) -> None:
    """Raise the soft descriptor limit to the hard one if the ring needs more than
    the soft limit, and say so on stderr; ConfigError if even the hard limit cannot
    take it (with the command that raises it)."""
    needed = descriptors_needed(nodes)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    if hard == resource.RLIM_INFINITY or needed <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        sys.stderr.write(f"ringemu: {nodes} nodes need about {needed} file descriptors; "
                         f"raised this process's soft limit from {soft} to the hard "
                         f"limit {hard}\n")
        return
    if nodes > 100 * hard:  # not a limit to raise: a number too large for any machine
        raise ConfigError(f"--nodes {shown(nodes)} is far more than this machine can run "
                          f"(the descriptor limit allows at most "
                          f"{(hard - DESCRIPTORS_BASE) // DESCRIPTORS_PER_NODE} nodes)")
    raise ConfigError(f"--nodes {nodes} needs about {needed} file descriptors but the hard "
                      f"limit is {hard}; raise it (as root, in the shell that runs "
                      f"ringemu: ulimit -n {needed}; for good: 'nofile' in "
                      "/etc/security/limits.conf) or use at most "
                      f"{max_nodes_by_descriptors(hard)} nodes")
