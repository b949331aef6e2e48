"""Output files: which paths ringemu writes to, and how.

The rule, for every output option (``--json``, ``--trace``, ``--out``,
``--plot``, bench ``--json``): the path must be a regular file or a new name in
an existing, writable folder. A symbolic link is followed: its target is the
file written. Anything else (a folder, a device, a FIFO, a socket) is refused
before any work starts, with one line naming the path (exit 2). Checking never
creates or opens the file, so a FIFO cannot block the check.

Whole documents (JSON, SVG, HTML) are written atomically: into a temporary
file made with ``mkstemp`` (unpredictable name, ``O_EXCL``) in the target's own
folder, then renamed over the target, so a reader sees the old file or the new
one, never half of one. A write that fails late (a full disk) raises
``OutputError``: one line, and the CLI exits with ``EXIT_OUTPUT_FAILED``, not
with 1, which means an invariant was violated.
"""
from __future__ import annotations

import json
import os
import stat
import tempfile

from .config import ConfigError

EXIT_OUTPUT_FAILED = 4


class OutputError(RuntimeError):
    """An output could not be written after the work was done (one line)."""


def check_output_path(path: str, option: str) -> str:
    """The file that writing ``path`` will write (links followed), or ConfigError."""
    target = os.path.realpath(path)
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return _check_new_file(path, target, option)
    except OSError as why:
        raise ConfigError(f"{option} {path!r} cannot be used: {why.strerror}") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{option} {path!r} is {_describe(mode)}; give a regular file or "
                          "a new file name")
    if not os.access(target, os.W_OK):
        raise ConfigError(f"{option} {path!r} is not writable")
    return target


def _check_new_file(path: str, target: str, option: str) -> str:
    folder = os.path.dirname(target) or "."
    if not os.path.isdir(folder):
        raise ConfigError(f"{option} {path!r} cannot be written: folder {folder!r} does "
                          "not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path!r} cannot be written: folder {folder!r} is not "
                          "writable")
    if len(os.path.basename(target).encode()) > 255:
        raise ConfigError(f"{option}: the file name is longer than 255 bytes")
    return target


def check_output_folder(path: str, option: str) -> None:
    """A folder for several outputs: made if missing; it must be a writable folder."""
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"{option} {path!r} exists and is not a folder") from None
    except OSError as why:
        raise ConfigError(f"{option} {path!r} cannot be created: {why.strerror}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {path!r} is not writable")


def write_text_atomically(path: str, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def write_bytes_atomically(path: str, data: bytes) -> None:
    target = os.path.realpath(path)
    folder = os.path.dirname(target) or "."
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    except OSError as why:
        raise OutputError(f"{path}: cannot be written: {why.strerror}") from None
    try:
        os.fchmod(descriptor, _mode_for(target))  # mkstemp's 0600 is not what users expect
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except OSError as why:
        _remove_quietly(temporary)
        raise OutputError(f"{path}: cannot be written: {why.strerror}") from None
    except BaseException:
        _remove_quietly(temporary)
        raise


def write_json_atomically(path: str, document: dict) -> None:
    write_text_atomically(path, json.dumps(document, indent=1))


def _mode_for(target: str) -> int:
    """The mode the file has now, or what a plain open() would give a new one."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _describe(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
