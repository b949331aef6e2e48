"""The run store: every trial's trace and result, written as the trial ends.

``<runs_dir>/<timestamp>-<scenario>/`` holds ``trial-<i>.jsonl`` (the trace),
``results.jsonl`` (one line per trial) and ``errors.log`` (the traceback of
any unexpected exception). A campaign owns its folders: they are created
exclusively (``mkdir`` fails on a folder that exists), and a campaign that
finds one of its names taken (another campaign started in the same second)
takes the next free suffix, ``-2``, ``-3``, ... for all of its folders. So
concurrent campaigns never share a file, whatever the timing.
"""
from __future__ import annotations

import json
import os
import time
from typing import TYPE_CHECKING, TextIO

from ..files import OutputError

if TYPE_CHECKING:
    from .campaign import TrialResult


class RunStore:
    """``<runs_dir>/<timestamp>-<scenario>/``: one trace per trial, results as JSON lines."""

    def __init__(self, folders: dict[str, str]) -> None:
        self.folders = folders  # scenario -> its folder, created by this campaign
        self._results: dict[str, TextIO] = {}

    @classmethod
    def create(cls, runs_dir: str, scenarios: list[str]) -> "RunStore":
        """Claim a fresh folder per scenario, all with one free suffix."""
        os.makedirs(runs_dir, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for attempt in range(1, 10_000):
            suffix = "" if attempt == 1 else f"-{attempt}"
            folders = {name: os.path.join(runs_dir, f"{stamp}-{name}{suffix}")
                       for name in dict.fromkeys(scenarios)}
            made: list[str] = []
            try:
                for folder in folders.values():
                    os.mkdir(folder)
                    made.append(folder)
            except FileExistsError:
                for folder in made:
                    os.rmdir(folder)
                continue
            return cls(folders)
        raise FileExistsError(f"no free run folder under {runs_dir!r} for stamp {stamp}")

    @property
    def errors_log(self) -> str:
        """Where a traceback that belongs to no one trial goes: the first folder's log."""
        return os.path.join(next(iter(self.folders.values())), "errors.log")

    def directory(self, scenario: str) -> str:
        return self.folders[scenario]

    def trace_path(self, scenario: str, trial: int) -> str:
        return os.path.join(self.directory(scenario), f"trial-{trial}.jsonl")

    def add(self, result: TrialResult) -> None:
        """Store one trial's result; OutputError if the store cannot take it (full)."""
        try:
            self._add(result)
        except OSError as why:
            raise OutputError(f"run store {self.directory(result.scenario)}: cannot be "
                              f"written: {why.strerror}") from None

    def _add(self, result: TrialResult) -> None:
        if result.traceback:
            result.error_log = os.path.join(self.directory(result.scenario), "errors.log")
            with open(result.error_log, "a", encoding="utf-8") as log:
                log.write(f"--- trial {result.trial} (seed {result.seed})\n{result.traceback}\n")
        if result.scenario not in self._results:
            path = os.path.join(self.directory(result.scenario), "results.jsonl")
            self._results[result.scenario] = open(path, "a", encoding="utf-8")
        handle = self._results[result.scenario]
        handle.write(json.dumps(result.as_dict()) + "\n")
        handle.flush()

    def close(self) -> None:
        for handle in self._results.values():
            try:
                handle.close()
            except OSError:
                pass  # already reported by the write that failed
        self._results = {}
