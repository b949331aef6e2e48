"""The record schema: every kind of event a run records, named once.

A record is one flat dict: ``t_ns`` (``time.monotonic_ns()``: one clock for
every process on the machine), ``pos``, ``id``, ``pid``, ``kind``, then the
kind's own fields (listed beside each kind below). Nodes produce most kinds
(the protocols' ``Report`` outputs and the runtime's own); the harness adds the
ones about processes, faults and its decisions. A trace file is these records
as JSON lines after one header line (``harness/tracefile.py``).

Every other module names a kind through these constants, never as a string,
so a kind is spelled in exactly one place (a test greps for strays). The
derived view that several readers need, who held which token when, lives here
too: the checker, the recovery pipeline's view of the ring, the reports and
the diagram all use ``Holdings``.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

Record = dict

# --- node lifecycle (runtime) -------------------------------------------------
NODE_STARTED = "node_started"        # epoch (the fence it starts with)
NODE_STOPPING = "node_stopping"      # reason (shutdown | SIGTERM)
NODE_STATS = "node_stats"            # role, sent{}, received{} (counters at exit)
NODE_CRASHED = "node_crashed"        # error: the exception that is about to end the node
PERSIST_EPOCH = "persist_epoch"      # epoch (simulator/explorer: the epoch file write)

# --- links (runtime and protocol) ---------------------------------------------
LINK_DOWN = "link_down"              # side, cause: eof | send_failed | never_wired | cut
LINK_RETIRED = "link_retired"        # side: EOF on a link already replaced
REWIRED = "rewired"                  # side: a new link was handed over
BAD_FRAME = "bad_frame"              # side, reason
MESSAGE_LOST = "message_lost"        # side, message: the kernel refused a send

# --- link faults (the sending node's link shim, emulator/runtime/link_shim.py) ---------
LINK_FAULT_SET = "link_fault_set"          # side, fault{delay_ms, dist, loss, ...}, seed
LINK_FAULT_CLEARED = "link_fault_cleared"  # side, pending (messages still delayed)
LINK_SEVERED = "link_severed"              # side, one_way: the harness cut this end
LINK_RESTORED = "link_restored"            # side: a one-way cut lifted
MESSAGE_DELAYED = "message_delayed"        # side, message, delay_ms [, epoch, hop]
MESSAGE_LOST_BY_LINK = "message_lost_by_link"  # side, message, cause [, epoch, hop]
MESSAGE_DUPLICATED = "message_duplicated"  # side, message [, epoch, hop]
MESSAGE_REORDERED = "message_reordered"    # side, message, held_ms [, epoch, hop]: later
                                           # messages may overtake it (breaks FIFO)

# --- token (protocol) -----------------------------------------------------------
TOKEN_RECEIVED = "token_received"    # epoch, hop
TOKEN_PASSED = "token_passed"        # epoch, hop [, handover]
TOKEN_CREATED = "token_created"      # epoch (the leader regenerates it)
TOKEN_INJECTED = "token_injected"    # epoch (a fault: a duplicate)
TOKEN_RETURNED = "token_returned"    # epoch, hop: a refused pass gives it back
TOKEN_DROPPED = "token_dropped"      # epoch (a fault: the holder discards it)
TOKEN_FENCED = "token_fenced"        # epoch, node_epoch: a stale token refused
TOKEN_BLOCKED = "token_blocked"      # epoch: right link down, kept until rewired

# --- snapshot (protocol, then harness) ---------------------------------------------
SNAPSHOT_STARTED = "snapshot_started"      # sid
MARKER_RECEIVED = "marker_received"        # sid, side, first
SNAPSHOT_PART = "snapshot_part"            # sid, tokens[], node_epoch
SNAPSHOT_ABANDONED = "snapshot_abandoned"  # sid, reason
SNAPSHOT_RESULT = "snapshot_result"        # sid, tokens, epoch, complete, missing (harness)

# --- election (protocol) -------------------------------------------------------------
ELECTION_START = "election_start"            # round
CANDIDATE = "candidate"                      # round (the reporter stands)
CANDIDATE_FORWARDED = "candidate_forwarded"  # round, candidate_id
CANDIDATE_SWALLOWED = "candidate_swallowed"  # round, candidate_id
CANDIDATE_DROPPED = "candidate_dropped"      # round, candidate_id, reason
CANDIDATE_STALE = "candidate_stale"          # round, node_round
ELECTION_STALE = "election_stale"            # round, node_epoch | node_round
LEADER = "leader"                            # round
ELECTED = "elected"                          # round, leader_id (forwarded announcement)
ELECTED_DROPPED = "elected_dropped"          # round, leader_id, reason
ELECTED_STALE = "elected_stale"              # round, node_round
ELECTION_COMPLETE = "election_complete"      # round, leader_id
LEADER_CONFLICT = "leader_conflict"          # round, leader_id
# The other election algorithms (emulator/protocol/elections/): their messages are
# reported generically; ``candidate`` then carries ``sent`` when a start sends 2.
ELECTION_SENT = "election_sent"              # round, message, side [, candidate_id, phase...]
ELECTION_SWALLOWED = "election_swallowed"    # round, message [, candidate_id, phase...]
ELECTION_DROPPED = "election_dropped"        # round, message, reason [, ...]
LEADER_DEPOSED = "leader_deposed"            # round, epoch, by: a leader saw a newer epoch
                                             # (by "token" | "election" | "store")

# --- the leader's task (runtime, then harness) ------------------------------------------
TASK_STEP = "task_step"              # step, epoch, outcome (applied | duplicate | stale |
                                     # unavailable), store_epoch: one attempt at the store
TASK_STORE = "task_store"            # steps [[step, epoch, pos], ...], store_epoch,
                                     # idempotent, fencing: the store's rows at the end

# --- processes and faults (harness) -------------------------------------------------
FAULT = "fault"                      # fault, target_pos, signal [, target_pid]
NODE_EXITED = "node_exited"          # exitcode [, signal]
RESTARTED = "restarted"              # incarnation
RESUMED = "resumed"                  # signal (explorer: SIGCONT)
BYPASSED = "bypassed"                # left_pos, right_pos
REJOINED = "rejoined"                # left_pos, right_pos
LINK_HANDED = "link_handed"          # side
SUPERVISOR_GAVE_UP = "supervisor_gave_up"  # restarts, window_s
RING_STOPPING = "ring_stopping"      # the orderly stop begins: the EOFs after it are its own
NOTE = "note"                        # text: a remark a lesson script records

# --- recovery pipeline (harness) ------------------------------------------------------
ELECTION_ROUND = "election_round"    # round, candidate_pos, candidate_ids
ROUND_ABANDONED = "round_abandoned"  # round, reason
RECOVERED = "recovered"              # cause, total_ms, epoch, rounds
RECOVERY_FAILED = "recovery_failed"  # cause, total_ms, epoch, rounds

# --- the trial's closing records (harness) ---------------------------------------------
TRIAL_END = "trial_end"              # active_positions, final_epoch
HYGIENE = "hygiene"                  # leftover_pids, zombies, fds_before, fds_after
HARNESS_STALLED = "harness_stalled"  # stalled_ms, since_ns: the harness itself did not run

KINDS = frozenset(value for name, value in globals().items()
                  if name.isupper() and isinstance(value, str))

# A token arrives at a process with these, and leaves it with these (or with the
# process's exit: a dead process holds nothing).
TAKES = frozenset({TOKEN_RECEIVED, TOKEN_CREATED, TOKEN_INJECTED, TOKEN_RETURNED})
RELEASES = frozenset({TOKEN_PASSED, TOKEN_DROPPED, TOKEN_FENCED})
# The messages an election round costs, one record per message sent (a candidate
# record stands for its ``sent`` field's count, 1 when absent).
ELECTION_SENDS = frozenset({CANDIDATE, CANDIDATE_FORWARDED, ELECTED, ELECTION_SENT})


# --- who held which token when ---------------------------------------------------------


@dataclass(slots=True)
class Holding:
    """One process (pid) holding one token of one epoch, from take to release."""

    pid: int
    pos: int
    epoch: int
    start_ns: int
    end_ns: float = math.inf    # still held when the history ends

    def held_at(self, t_ns: int) -> bool:
        return self.start_ns <= t_ns < self.end_ns


class Holdings:
    """Holdings built one record at a time (a live view can feed it as events arrive).

    Each process (pid and position: a model checker's trace has pid 0 everywhere)
    keeps its open holdings in arrival order (a node may hold several tokens when a
    duplicate caught up); a release closes the oldest open holding of its epoch. A ``token_fenced`` that matches no open holding is a stale
    token refused at the door: it closes nothing. A process's exit closes
    whatever it held: the token died with it."""

    def __init__(self) -> None:
        self.closed: list[Holding] = []
        self.open_by_process: dict[tuple[int, int], list[Holding]] = defaultdict(list)

    def observe(self, r: Record) -> None:
        kind = r["kind"]
        process = (r["pid"], r["pos"])
        if kind in TAKES:
            self.open_by_process[process].append(
                Holding(r["pid"], r["pos"], r["epoch"], r["t_ns"]))
        elif kind in RELEASES:
            held = self.open_by_process.get(process, [])
            for i, holding in enumerate(held):
                if holding.epoch == r["epoch"]:
                    holding.end_ns = r["t_ns"]
                    self.closed.append(held.pop(i))
                    break
        elif kind == NODE_EXITED:
            for holding in self.open_by_process.pop(process, []):
                holding.end_ns = r["t_ns"]
                self.closed.append(holding)

    def open(self) -> list[Holding]:
        """What is held now, oldest first per process."""
        return [h for held in self.open_by_process.values() for h in held]

    def held_by(self, pos: int) -> list[Holding]:
        return [h for h in self.open() if h.pos == pos]

    def all(self) -> list[Holding]:
        return self.closed + self.open()


def holdings(records: Iterable[Record]) -> list[Holding]:
    """Who held which token when, over a whole history (in time order)."""
    view = Holdings()
    for r in sorted(records, key=lambda r: r["t_ns"]):
        view.observe(r)
    return view.all()
