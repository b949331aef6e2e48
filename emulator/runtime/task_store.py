"""The store the leader's task writes to: a small SQLite file the harness owns.

The harness creates it (per ring, in the cluster's state folder) with its policy;
a leader's node process opens it and applies steps (``ApplyTask``); the harness
reads every row at the end for the checker. Each application is one transaction
(``BEGIN IMMEDIATE``: writers take turns), so a node SIGKILLed mid-write leaves
the step either applied or not, never half. The policy lives in the file, so the
store, not the writer, decides:

* idempotency: each step has a key (its number); a second application of a step
  is refused as ``duplicate``. Off: every application appends a row.
* fencing: the store remembers the highest epoch any step not refused carried and
  refuses a step of an older epoch as ``stale``. Off: any epoch is accepted.

No fsync (``synchronous=OFF``): the threat here is a process crash, which the
page cache survives, as for the epoch file.
"""
from __future__ import annotations

import os
import sqlite3

BUSY_TIMEOUT_MS = 200  # a writer SIGSTOPped mid-transaction holds the lock


def create(path: str, *, idempotent: bool, fencing: bool) -> None:
    """A new, empty store (a ring's store is its own: any old file is replaced)."""
    for stale in (path, path + "-journal"):
        if os.path.exists(stale):
            os.remove(stale)
    with _connect(path) as db:
        db.executescript("""
            CREATE TABLE policy (idempotent INTEGER NOT NULL, fencing INTEGER NOT NULL);
            CREATE TABLE fence (epoch INTEGER NOT NULL);
            CREATE TABLE steps (row INTEGER PRIMARY KEY, step INTEGER NOT NULL,
                                epoch INTEGER NOT NULL, pos INTEGER NOT NULL,
                                pid INTEGER NOT NULL, t_ns INTEGER NOT NULL);
            INSERT INTO fence VALUES (0);
        """)
        db.execute("INSERT INTO policy VALUES (?, ?)", (int(idempotent), int(fencing)))
    _close(db)


class TaskStore:
    """A node's handle on the store (opened in the node process)."""

    def __init__(self, path: str) -> None:
        self.db = _connect(path)
        self.idempotent, self.fencing = (bool(v) for v in self.db.execute(
            "SELECT idempotent, fencing FROM policy").fetchone())

    def apply(self, step: int, epoch: int, pos: int, pid: int, t_ns: int) -> tuple[str, int]:
        """Apply one step; return (outcome, the store's epoch after it)."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # locked past the busy timeout
            return "unavailable", 0
        try:
            (fence,) = self.db.execute("SELECT epoch FROM fence").fetchone()
            if self.fencing and epoch < fence:
                outcome = "stale"
            elif self.idempotent and self.db.execute(
                    "SELECT 1 FROM steps WHERE step = ?", (step,)).fetchone():
                outcome = "duplicate"
            else:
                self.db.execute("INSERT INTO steps (step, epoch, pos, pid, t_ns) "
                                "VALUES (?, ?, ?, ?, ?)", (step, epoch, pos, pid, t_ns))
                outcome = "applied"
            if outcome != "stale" and epoch > fence:
                fence = epoch  # seen: from now on older epochs are refused
                self.db.execute("UPDATE fence SET epoch = ?", (fence,))
            self.db.execute("COMMIT")
        except sqlite3.OperationalError:
            self.db.execute("ROLLBACK")
            return "unavailable", 0
        return outcome, fence

    def close(self) -> None:
        _close(self.db)


def is_locked(path: str) -> bool:
    """True if a writer is inside a transaction now (e.g. stopped there by SIGSTOP)."""
    db = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        _close(db)


def contents(path: str) -> dict:
    """Every applied step, in the order applied, and the policy (for the checker)."""
    db = _connect(path)
    try:
        idempotent, fencing = db.execute("SELECT idempotent, fencing FROM policy").fetchone()
        (fence,) = db.execute("SELECT epoch FROM fence").fetchone()
        steps = [list(row) for row in db.execute(
            "SELECT step, epoch, pos, pid, t_ns FROM steps ORDER BY row")]
    finally:
        _close(db)
    return {"steps": steps, "store_epoch": fence, "idempotent": bool(idempotent),
            "fencing": bool(fencing)}


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    return db


def _close(db: sqlite3.Connection) -> None:
    db.close()
