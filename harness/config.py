"""What a ring is made of, validated once, with errors a person can act on.

Every check raises ``ConfigError`` with one line that names the bad value and
what is allowed; the CLI prints it and exits 2.
"""
from __future__ import annotations

import multiprocessing
import random
import resource
from dataclasses import dataclass

from emulator.protocol.algorithms import ALGORITHMS, DEFAULT_ALGORITHM

ARRANGEMENTS = ("random", "ascending", "descending")
START_METHODS = ("fork", "forkserver", "spawn")
DEFAULT_START_METHOD = "fork"  # correct here (see Cluster) and 10-25x cheaper to start


# The harness's descriptors at the peak of starting a ring: both ends of every link
# until they are handed out, each node's control pipe, its Process sentinels, its pidfd.
DESCRIPTORS_PER_NODE = 7
MAX_DETECTOR_FLOOR_MS = 60_000.0
DESCRIPTORS_BASE = 64


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
    # The silence detector's floor (harness/recovery/detector.py): never suspect a
    # loss sooner than this after the token's last reported receipt.
    detector_floor_ms: float = 20.0
    # The election algorithm every node runs (emulator/protocol/algorithms.py).
    algorithm: str = DEFAULT_ALGORITHM

    def __post_init__(self) -> None:
        check_ids(self.ids)
        if self.hold_ns < 0:
            raise ConfigError(f"hold {self.hold_ns} ns is negative; need >= 0")
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
            raise ConfigError(f"node ID {node_id!r} is not allowed; IDs are natural numbers >= 1")
    seen: set[int] = set()
    for node_id in ids:
        if node_id in seen:
            raise ConfigError(f"node ID {node_id} appears twice; IDs must be unique")
        seen.add(node_id)


def check_algorithm(name: str) -> None:
    if name not in ALGORITHMS:
        raise ConfigError(f"algorithm {name!r} is unknown; choose one of "
                          + ", ".join(ALGORITHMS))


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
        if not part.isdigit() or int(part) < minimum:
            raise ConfigError(f"{option}: {part!r} is not allowed; give whole numbers "
                              f">= {minimum} separated by commas, e.g. {example}")
        numbers.append(int(part))
    return tuple(numbers)


def parse_ids(text: str) -> tuple[int, ...]:
    """'5,9,2' -> (5, 9, 2), with a clear error for anything else."""
    ids = parse_numbers(text, "--ids", 1, "5,9,2")
    check_ids(ids)
    return ids


def ensure_descriptor_budget(nodes: int) -> None:
    """Raise the soft descriptor limit if the ring needs it; ConfigError if the hard
    limit cannot take it (with how to raise it)."""
    needed = DESCRIPTORS_PER_NODE * nodes + DESCRIPTORS_BASE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or needed <= soft:
        return
    if hard == resource.RLIM_INFINITY or needed <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return
    raise ConfigError(f"--nodes {nodes} needs about {needed} file descriptors but the hard "
                      f"limit is {hard}; raise it (as root: ulimit -Hn {needed}; or "
                      "'nofile' in /etc/security/limits.conf) or use at most "
                      f"{(hard - DESCRIPTORS_BASE) // DESCRIPTORS_PER_NODE} nodes")
