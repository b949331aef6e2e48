"""Experiment files: a ring and a timed list of faults, as JSON.

    {"name": "two-kills", "nodes": 8, "arrangement": "random", "seed": 7,
     "faults": [{"at_ms": 200, "fault": "kill", "target": "holder"},
                {"at_ms": 450, "fault": "suspend", "target": 3},
                {"at_ms": 900, "fault": "resume", "target": 3}]}

``ids`` (a list) may replace ``nodes``/``arrangement``. ``at_ms`` counts from
the end of bootstrap. Targets: ``"holder"`` (whoever holds the token then),
``"leader"`` (the latest round's leader) or a position. Every field is checked
and a bad one is named with its path, e.g. ``faults[1].target``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from emulator.protocol import DropToken, InjectToken

from emulator.records import FAULT

from ..config import ARRANGEMENTS, ConfigError, arrange_ids, check_ids
from .scenarios import Scenario, Trial

FAULT_KINDS = ("kill", "terminate", "suspend", "resume", "restart", "bypass", "rejoin",
               "drop_token", "inject_token")
_TOP_FIELDS = {"name", "nodes", "ids", "arrangement", "seed", "faults"}
_FAULT_FIELDS = {"at_ms", "fault", "target"}


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
        for timed in sorted(self.faults, key=lambda f: f.at_ms):
            trial.keep_alive_for((timed.at_ms - elapsed_ms) / 1e3)
            elapsed_ms = timed.at_ms
            _inject(trial, timed)
        # Let the pipeline deal with whatever the last fault left behind.
        trial.hops(len(trial.cluster.active_positions()))


def _target_position(trial: Trial, target: str | int) -> int:
    if target == "holder":
        trial.keep_alive_until(lambda: bool(trial.view.holders()),
                               what="a token holder")
        return trial.view.holders()[0]
    if target == "leader":
        leaders = [r for r in trial.pipeline.recoveries if r.leader_pos is not None]
        return leaders[-1].leader_pos
    return int(target)


def _inject(trial: Trial, timed: TimedFault) -> None:
    pos = _target_position(trial, timed.target)
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
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as why:
        raise ConfigError(f"--file {path!r} cannot be read: {why.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as bad:
        raise ConfigError(f"{path}: not valid JSON: {bad.msg} at line {bad.lineno} "
                          f"column {bad.colno}") from None
    return parse_experiment(document, source=path)


def parse_experiment(document: object, source: str = "experiment") -> Experiment:
    def fail(where: str, message: str) -> ConfigError:
        return ConfigError(f"{source}: {where}: {message}")

    if not isinstance(document, dict):
        raise fail("top level", f"{_kind(document)} is not allowed; need a JSON object")
    unknown = sorted(set(document) - _TOP_FIELDS)
    if unknown:
        raise fail(unknown[0], "unknown field; allowed: " + ", ".join(sorted(_TOP_FIELDS)))
    seed = document.get("seed", 1)
    if not _is_natural(seed):
        raise fail("seed", f"{seed!r} is not allowed; need an integer >= 0")
    if "ids" in document:
        if "nodes" in document or "arrangement" in document:
            raise fail("ids", "give either ids or nodes/arrangement, not both")
        ids = document["ids"]
        if not isinstance(ids, list):
            raise fail("ids", f"{ids!r} is not allowed; need a list of natural numbers")
        try:
            check_ids(tuple(ids))
        except ConfigError as bad:
            raise fail("ids", str(bad)) from None
        ids = tuple(ids)
    else:
        nodes = document.get("nodes", 8)
        if not _is_natural(nodes) or nodes < 2:
            raise fail("nodes", f"{nodes!r} is not allowed; need an integer >= 2")
        arrangement = document.get("arrangement", "random")
        if arrangement not in ARRANGEMENTS:
            raise fail("arrangement", f"{arrangement!r} is not allowed; choose one of "
                       + ", ".join(ARRANGEMENTS))
        ids = arrange_ids(nodes, arrangement, seed)
    name = document.get("name", "experiment")
    if not isinstance(name, str) or not name or not name.replace("-", "").replace(
            "_", "").isalnum():
        raise fail("name", f"{name!r} is not allowed; need letters, digits, - or _")
    faults = document.get("faults")
    if not isinstance(faults, list) or not faults:
        raise fail("faults", f"{faults!r} is not allowed; need a non-empty list of "
                   "{\"at_ms\", \"fault\", \"target\"} objects")
    return Experiment(name, ids, seed,
                      tuple(_parse_fault(f, i, len(ids), fail) for i, f in enumerate(faults)))


def _parse_fault(entry: object, index: int, nodes: int, fail) -> TimedFault:
    where = f"faults[{index}]"
    if not isinstance(entry, dict):
        raise fail(where, f"{_kind(entry)} is not allowed; need an object")
    unknown = sorted(set(entry) - _FAULT_FIELDS)
    if unknown:
        raise fail(f"{where}.{unknown[0]}", "unknown field; allowed: at_ms, fault, target")
    for required in sorted(_FAULT_FIELDS):
        if required not in entry:
            raise fail(f"{where}.{required}", "missing")
    at_ms = entry["at_ms"]
    if isinstance(at_ms, bool) or not isinstance(at_ms, (int, float)) or not at_ms >= 0 \
            or at_ms == float("inf"):
        raise fail(f"{where}.at_ms", f"{at_ms!r} is not allowed; need a number of "
                   "milliseconds >= 0")
    fault = entry["fault"]
    if fault not in FAULT_KINDS:
        raise fail(f"{where}.fault", f"{fault!r} is unknown; choose one of "
                   + ", ".join(FAULT_KINDS))
    target = entry["target"]
    if target not in ("holder", "leader") and not (
            _is_natural(target) and target < nodes):
        raise fail(f"{where}.target", f"{target!r} is not allowed; need \"holder\", "
                   f"\"leader\" or a position 0..{nodes - 1}")
    return TimedFault(float(at_ms), fault, target)


def _is_natural(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), f"a {type(value).__name__}")
