"""Trace files: the one reader and the one writer of recorded histories.

A trace file is JSON lines. The first line is a header naming the format and
its version; every line after it is one record (``emulator/records.py``). A
file without that header, of another version, binary, empty or with a line
that is not a record is refused with one line saying what is wrong
(``TraceError``, a ``ConfigError``: exit status 2 on the command line).
Records are written as they happen, one flushed line each, so a crash loses
nothing already recorded.
"""
from __future__ import annotations

import json
from typing import Iterable, Iterator, TextIO

from emulator.records import Record

from .config import ConfigError
from .files import OutputError

FORMAT = "ringemu-trace"
VERSION = 2  # 1 was the header-less format of the first releases
HEADER = {"format": FORMAT, "version": VERSION}
REQUIRED = ("t_ns", "pos", "id", "pid", "kind")


class TraceError(ConfigError):
    """The file is not a trace this version can read."""


class TraceWriter:
    """Writes the header, then one line per record, each flushed as written.

    A write that fails (a full disk) does not stop the run it records: the writer
    keeps the first failure in ``error``, stops writing, and the command reports it
    at the end (``OutputError``, exit 4) with everything else it kept."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.error: str | None = None
        self._stream: TextIO | None = open(path, "w", encoding="utf-8", buffering=1)
        self._guarded(self._stream.write, _line(HEADER))

    def write(self, record: Record) -> None:
        if self._stream is not None:
            self._guarded(self._stream.write, _line(record))

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            try:
                stream.close()
            except OSError as why:
                self.error = self.error or f"{self.path}: cannot be written: {why.strerror}"

    def _guarded(self, write, text: str) -> None:
        try:
            write(text)
        except OSError as why:
            self.error = f"{self.path}: cannot be written: {why.strerror}"
            stream, self._stream = self._stream, None
            try:
                stream.close()
            except OSError:
                pass  # the same failure again, on the buffered rest


def write_trace(path: str, records: Iterable[Record]) -> int:
    """A whole history at once (a model-checker counterexample); returns the count."""
    writer = TraceWriter(path)
    count = 0
    try:
        for record in records:
            writer.write(record)
            count += 1
    finally:
        writer.close()
    if writer.error is not None:
        raise OutputError(writer.error)
    return count


def read_trace(path: str) -> list[Record]:
    """Every record of a trace file, or ``TraceError`` naming what is wrong."""
    records = list(iter_trace(path))
    if not records:
        raise TraceError(f"trace {path!r} has a header but no records")
    return records


def iter_trace(path: str) -> Iterator[Record]:
    """The records of a trace file one at a time (the file is never held whole)."""
    try:
        handle = open(path, encoding="utf-8")
    except OSError as why:
        raise TraceError(f"trace {path!r} cannot be read: {why.strerror}") from None
    with handle:
        lines = _numbered_lines(handle, path)
        _check_header(next(lines, (0, "")), path)
        for number, line in lines:
            if line.strip():
                yield _record(line, number, path)


def _numbered_lines(handle: TextIO, path: str) -> Iterator[tuple[int, str]]:
    number = 0
    try:
        for number, line in enumerate(handle, 1):
            if "\0" in line:
                raise UnicodeDecodeError("utf-8", b"\0", 0, 1, "NUL byte")
            yield number, line
    except UnicodeDecodeError:
        raise TraceError(f"trace {path!r} line {number + 1} is binary, not text; a trace "
                         "is JSON lines") from None


def _check_header(numbered: tuple[int, str], path: str) -> None:
    number, line = numbered
    if number == 0:
        raise TraceError(f"trace {path!r} is empty")
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TraceError(f"{path!r} is not a ringemu trace: its first line must be the "
                         f"header {json.dumps(HEADER)}")
    if header.get("version") != VERSION:
        raise TraceError(f"trace {path!r} is format version {header.get('version')!r}; "
                         f"this ringemu reads version {VERSION} (record it again)")


def _record(line: str, number: int, path: str) -> Record:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        raise TraceError(f"trace {path!r} line {number} is not JSON; a trace is one JSON "
                         "object per line") from None
    if (not isinstance(record, dict) or any(k not in record for k in REQUIRED)
            or not all(isinstance(record[k], int) for k in ("t_ns", "pos"))):
        raise TraceError(f"trace {path!r} line {number} is not a trace record; each needs "
                         + ", ".join(REQUIRED))
    return record


def _line(document: dict) -> str:
    return json.dumps(document, separators=(",", ":")) + "\n"
