"""The one thing a node keeps across a restart: the highest epoch it has seen.

Written atomically (temporary file + rename in the same directory), so a node
killed mid-write leaves either the old value or the new one, never half a file.
No fsync: the threat here is a process crash, which the page cache survives.
"""
from __future__ import annotations

import json
import os


class EpochFile:
    def __init__(self, path: str) -> None:
        self.path = path

    def load(self) -> int:
        """The persisted epoch, or 0 for a node that never saw one."""
        try:
            with open(self.path, encoding="utf-8") as handle:
                epoch = json.load(handle)["epoch"]
        except FileNotFoundError:
            return 0
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"{self.path}: epoch {epoch!r} is not a natural number")
        return epoch

    def save(self, epoch: int) -> None:
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"epoch": epoch}, handle)
        os.replace(temporary, self.path)
