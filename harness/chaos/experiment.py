"""Experiment files: a ring and a timed list of faults, as JSON.

    {"name": "two-kills", "nodes": 8, "arrangement": "random", "seed": 7,
     "faults": [{"at_ms": 200, "fault": "kill", "target": "holder"},
                {"at_ms": 450, "fault": "suspend", "target": 3},
                {"at_ms": 900, "fault": "resume", "target": 3}]}

``ids`` (a list) may replace ``nodes``/``arrangement``. ``at_ms`` counts from
the end of bootstrap. Targets: ``"holder"`` (whoever holds the token then),
``"leader"`` (the latest round's leader) or a position. Every field is checked
and a bad one is named with its path, e.g. ``faults[1].target``; so is a file
the emulator could not carry out (a ring this machine cannot hold, IDs past the
wire format, a fault later than a trial can wait, bypasses that would leave
fewer than two nodes on the ring).

``inject_token`` ends like the duplicate-token scenario: two tokens move, so no
silence reveals the second; an audit snapshot (the ``snapshot`` fault, or one
the trial adds after the last injection) counts two and a new epoch restores one.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from emulator.protocol import DropToken, InjectToken

from emulator.records import FAULT

from ..config import ARRANGEMENTS, ConfigError, arrange_ids, check_ids, ensure_ring_fits, shown
from ..cluster import ClusterError
from .scenarios import Scenario, Trial
from .trial import ScenarioError

FAULT_KINDS = ("kill", "terminate", "suspend", "resume", "restart", "bypass", "rejoin",
               "drop_token", "inject_token", "snapshot")
_TOP_FIELDS = {"name", "nodes", "ids", "arrangement", "seed", "faults"}
_FAULT_FIELDS = {"at_ms", "fault", "target"}
MAX_AT_MS = 600_000  # a trial's faults come within 10 minutes of its bootstrap
MAX_NAME = 64        # the name becomes part of a run-store folder's name
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class TimedFault:
    at_ms: float
    fault: str
    target: str | int


@dataclass(frozen=True)
class Experiment:
    name: str
    ids: tuple[int, ...]
    seed: int
    faults: tuple[TimedFault, ...]

    def scenario(self) -> Scenario:
        return Scenario(self.name, f"experiment file: {len(self.faults)} timed fault(s)",
                        self._run)

    def _run(self, trial: Trial) -> None:
        elapsed_ms = 0.0
        unaudited = False  # a duplicate injected since the last audit snapshot
        for timed in sorted(self.faults, key=lambda f: f.at_ms):
            trial.keep_alive_for((timed.at_ms - elapsed_ms) / 1e3)
            elapsed_ms = timed.at_ms
            _inject(trial, timed)
            unaudited = timed.fault == "inject_token" or (unaudited and
                                                         timed.fault != "snapshot")
        # Let the pipeline deal with whatever the last fault left behind.
        trial.hops(len(trial.cluster.active_positions()))
        if unaudited:  # two tokens move, so no silence: only an audit finds the second
            _audit(trial)


def _target_position(trial: Trial, target: str | int) -> int:
    if target == "holder":
        trial.keep_alive_until(lambda: bool(trial.view.holders()),
                               what="a token holder")
        return trial.view.holders()[0]
    if target == "leader":
        leaders = [r for r in trial.pipeline.recoveries if r.leader_pos is not None]
        return leaders[-1].leader_pos
    return int(target)


def _audit(trial: Trial) -> None:
    """An audit snapshot (and, if it counts 0 or 2+, an election), as duplicate-token."""
    count = trial.recoveries_so_far()
    trial.pipeline.recover("audit")
    trial.until_recovered(count)


def _inject(trial: Trial, timed: TimedFault) -> None:
    if timed.fault == "snapshot":
        _audit(trial)
        return
    try:
        _inject_at(trial, timed, _target_position(trial, timed.target))
    except ClusterError as impossible:  # e.g. a bypass after the supervisor's own
        raise ScenarioError(f"the {timed.fault} fault at {timed.at_ms:g} ms could not be "
                            f"carried out: {impossible}") from None


def _inject_at(trial: Trial, timed: TimedFault, pos: int) -> None:
    cluster = trial.cluster
    if timed.fault in ("drop_token", "inject_token"):
        trial.note_fault(pos, timed.fault)
        cluster.send(pos, DropToken() if timed.fault == "drop_token" else InjectToken())
        return
    action = {"kill": cluster.kill, "terminate": cluster.terminate,
              "suspend": cluster.suspend, "resume": cluster.resume,
              "restart": cluster.restart, "bypass": cluster.bypass,
              "rejoin": cluster.rejoin}[timed.fault]
    if timed.fault in ("restart", "bypass", "rejoin"):
        cluster.note(pos, FAULT, fault=timed.fault, target_pos=pos, signal=None)
    action(pos)


def load_experiment(path: str) -> Experiment:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as why:
        raise ConfigError(f"--file {path!r} cannot be read: {why.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES} bytes; an experiment "
                          "file is a ring and a list of faults")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise ConfigError(f"{path}: byte {bad.start} is not UTF-8; an experiment file is "
                          "JSON text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as bad:
        raise ConfigError(f"{path}: not valid JSON: {bad.msg} at line {bad.lineno} "
                          f"column {bad.colno}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply; an experiment file is an object "
                          "with a list of faults") from None
    except ValueError as bad:  # an integer of more than 4300 digits (Python's own limit)
        what = ("a number has more than 4300 digits" if "digits" in str(bad)
                else str(bad).splitlines()[0])
        raise ConfigError(f"{path}: not usable JSON: {what}") from None
    return parse_experiment(document, source=path)


def parse_experiment(document: object, source: str = "experiment") -> Experiment:
    def fail(where: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise fail("top level", f"{_kind(document)} is not allowed; need a JSON object")
    unknown = sorted(set(document) - _TOP_FIELDS)
    if unknown:
        raise fail(_field(unknown[0]), "unknown field; allowed: "
                   + ", ".join(sorted(_TOP_FIELDS)))
    seed = document.get("seed", 1)
    if not _is_natural(seed) or seed >= 2**64:
        raise fail("seed", f"{shown(seed)} is not allowed; need an integer 0..2**64-1")
    ids = _ring_ids(document, seed, fail)
    name = document.get("name", "experiment")
    if not isinstance(name, str) or not name or not name.isascii() or not name.replace(
            "-", "").replace("_", "").isalnum() or len(name) > MAX_NAME:
        raise fail("name", f"{shown(name)} is not allowed; need 1..{MAX_NAME} letters, "
                   "digits, - or _")
    faults = document.get("faults")
    if not isinstance(faults, list) or not faults:
        raise fail("faults", f"{shown(faults)} is not allowed; need a non-empty list of "
                   "{\"at_ms\", \"fault\", \"target\"} objects")
    parsed = tuple(_parse_fault(f, i, len(ids), fail) for i, f in enumerate(faults))
    _check_bypasses(parsed, len(ids), fail)
    return Experiment(name, ids, seed, parsed)


def _ring_ids(document: dict, seed: int, fail) -> tuple[int, ...]:
    if "ids" in document:
        if "nodes" in document or "arrangement" in document:
            raise fail("ids", "give either ids or nodes/arrangement, not both")
        ids = document["ids"]
        if not isinstance(ids, list):
            raise fail("ids", f"{shown(ids)} is not allowed; need a list of natural numbers")
        try:
            check_ids(tuple(ids))
            ensure_ring_fits(len(ids))
        except ConfigError as bad:
            raise fail("ids", str(bad)) from None
        return tuple(ids)
    nodes = document.get("nodes", 8)
    if not _is_natural(nodes) or nodes < 2:
        raise fail("nodes", f"{shown(nodes)} is not allowed; need an integer >= 2")
    try:
        ensure_ring_fits(nodes)
    except ConfigError as bad:
        raise fail("nodes", str(bad).replace("--nodes ", "", 1)) from None
    arrangement = document.get("arrangement", "random")
    if arrangement not in ARRANGEMENTS:
        raise fail("arrangement", f"{shown(arrangement)} is not allowed; choose one of "
                   + ", ".join(ARRANGEMENTS))
    return arrange_ids(nodes, arrangement, seed)


def _parse_fault(entry: object, index: int, nodes: int, fail) -> TimedFault:
    where = f"faults[{index}]"
    if not isinstance(entry, dict):
        raise fail(where, f"{_kind(entry)} is not allowed; need an object")
    unknown = sorted(set(entry) - _FAULT_FIELDS)
    if unknown:
        raise fail(f"{where}.{_field(unknown[0])}",
                   "unknown field; allowed: at_ms, fault, target")
    for required in sorted(_FAULT_FIELDS):
        if required not in entry and not (required == "target"
                                          and entry.get("fault") == "snapshot"):
            raise fail(f"{where}.{required}", "missing")
    at_ms = entry["at_ms"]
    if isinstance(at_ms, bool) or not isinstance(at_ms, (int, float)) or not 0 <= at_ms \
            <= MAX_AT_MS:
        raise fail(f"{where}.at_ms", f"{shown(at_ms)} is not allowed; need a number of "
                   f"milliseconds 0..{MAX_AT_MS} (a trial waits at most 10 minutes)")
    fault = entry["fault"]
    if fault not in FAULT_KINDS:
        raise fail(f"{where}.fault", f"{shown(fault)} is unknown; choose one of "
                   + ", ".join(FAULT_KINDS))
    target = entry.get("target", "holder")
    if target not in ("holder", "leader") and not (
            _is_natural(target) and target < nodes):
        raise fail(f"{where}.target", f"{shown(target)} is not allowed; need \"holder\", "
                   f"\"leader\" or a position 0..{nodes - 1}")
    return TimedFault(float(at_ms), fault, target)


def _check_bypasses(faults: tuple[TimedFault, ...], nodes: int, fail) -> None:
    """A ring keeps at least two nodes: refuse bypasses that would leave fewer."""
    out: set[object] = set()  # positions bypassed, or the index of a moving target's fault
    for index, timed in sorted(enumerate(faults), key=lambda item: item[1].at_ms):
        key = timed.target if isinstance(timed.target, int) else ("moving", index)
        if timed.fault == "bypass":
            if key in out:
                raise fail(f"faults[{index}]", f"bypasses position {timed.target}, which "
                           "is already bypassed")
            out.add(key)
            if nodes - len(out) < 2:
                raise fail(f"faults[{index}]", f"bypasses {len(out)} of {nodes} nodes; a "
                           "ring needs at least 2 on it (rejoin some first)")
        elif timed.fault in ("rejoin", "restart"):
            out.discard(key)


def _is_natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _field(name: str) -> str:
    return name if len(name) <= 40 else name[:37] + "..."


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}")
