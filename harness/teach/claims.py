"""A lesson's claims about its traces, written so a machine can check them.

Each lesson page ends its story with a ```` ```claims ```` block: one claim a
line, about a trace file its commands recorded. The test suite runs the page's
commands and then every claim against the recorded trace, so a page whose
story stops being true fails instead of going stale.

    FILE: order STEP -> STEP -> ... [until STEP]   these happen, in this order
                                                   (in time), before the first UNTIL
    FILE: never STEP after STEP [before STEP]
    FILE: count STEP = N                           (or >= N, <= N)
    $N: contains TEXT                              the page's Nth command printed TEXT

A STEP is a record kind (``a|b`` for either) and conditions on its fields:
``field=value``, ``field!=value``, ``field<value``, ``field>value``. A value is
a number, ``true``/``false``/``null``, a word, or ``NAME.field`` of an earlier
step of the same claim that was named with ``as NAME``. ``order`` tries every
way to bind the named steps; an unnamed step takes the earliest match.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from emulator.records import Record

_CONDITION = re.compile(r"^([a-z_]+)(!=|=|<|>)(.+)$")


class ClaimError(ValueError):
    """A claim that does not parse."""


@dataclass
class Step:
    kinds: tuple[str, ...]
    conditions: list[tuple[str, str, str]] = field(default_factory=list)
    name: str | None = None

    def matches(self, r: Record, bound: dict[str, Record]) -> bool:
        if r["kind"] not in self.kinds:
            return False
        for key, op, text in self.conditions:
            if key not in r and op != "!=":
                return False
            have, want = r.get(key), _value(text, bound)
            if op == "=" and have != want or op == "!=" and have == want:
                return False
            if op in "<>" and not (isinstance(have, (int, float))
                                   and (have < want if op == "<" else have > want)):
                return False
        return True

    def __str__(self) -> str:
        return " ".join(["|".join(self.kinds)] + [f"{k}{op}{v}" for k, op, v in
                                                  self.conditions]
                        + ([f"as {self.name}"] if self.name else []))


def _value(text: str, bound: dict[str, Record]):
    if "." in text and text.split(".")[0] in bound:
        name, key = text.split(".", 1)
        return bound[name].get(key)
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_step(text: str) -> Step:
    words = text.split()
    if not words:
        raise ClaimError("an empty step")
    step = Step(tuple(words[0].split("|")))
    rest = words[1:]
    if len(rest) >= 2 and rest[-2] == "as":
        step.name, rest = rest[-1], rest[:-2]
    for word in rest:
        found = _CONDITION.match(word)
        if not found:
            raise ClaimError(f"{word!r} is not a condition field=value (or != < >)")
        step.conditions.append(found.groups())
    return step


@dataclass
class Claim:
    file: str
    text: str

    def check(self, records: list[Record]) -> str | None:
        """None if the claim holds, else why not (one line)."""
        ordered = sorted(records, key=lambda r: r["t_ns"])
        verb, _, rest = self.text.partition(" ")
        if verb == "order":
            rest, _, until_text = rest.partition(" until ")
            if until_text:
                until = parse_step(until_text)
                end = next((j for j, r in enumerate(ordered) if until.matches(r, {})),
                           len(ordered))
                ordered = ordered[:end]
            steps = [parse_step(s) for s in rest.split("->")]
            if _find_order(ordered, steps, 0, 0, {}) is None:
                return f"no {' -> '.join(map(str, steps))} in that order"
            return None
        if verb == "never":
            return _check_never(ordered, rest)
        if verb == "count":
            found = re.match(r"^(.*?)\s*(>=|<=|=)\s*(\d+)$", rest)
            if not found:
                raise ClaimError(f"count needs STEP = N: {rest!r}")
            step, op, n = parse_step(found.group(1)), found.group(2), int(found.group(3))
            count = sum(step.matches(r, {}) for r in ordered)
            ok = {"=": count == n, ">=": count >= n, "<=": count <= n}[op]
            return None if ok else f"{count} {step}, expected {op} {n}"
        raise ClaimError(f"a claim starts with order, never or count: {self.text!r}")


def check_output(claim: "Claim", output: str) -> str | None:
    """A ``$N: contains TEXT`` claim against what command N printed."""
    verb, _, text = claim.text.partition(" ")
    if verb != "contains":
        raise ClaimError(f"a command's claim is 'contains TEXT': {claim.text!r}")
    return None if text in output else f"{claim.file} did not print {text!r}"


def _find_order(ordered: list[Record], steps: list[Step], start: int, i: int,
                bound: dict[str, Record]) -> dict | None:
    """Bindings under which steps[i:] happen in order from ``start``, else None."""
    if i == len(steps):
        return bound
    step = steps[i]
    for j in range(start, len(ordered)):
        if step.matches(ordered[j], bound):
            more = dict(bound, **({step.name: ordered[j]} if step.name else {}))
            found = _find_order(ordered, steps, j + 1, i + 1, more)
            if found is not None or step.name is None:
                return found  # an unnamed step: the earliest match is the best one
    return None


def _check_never(ordered: list[Record], rest: str) -> str | None:
    found = re.match(r"^(.*?) after (.*?)(?: before (.*))?$", rest)
    if not found:
        raise ClaimError(f"never needs STEP after STEP [before STEP]: {rest!r}")
    what, after = parse_step(found.group(1)), parse_step(found.group(2))
    before = parse_step(found.group(3)) if found.group(3) else None
    start = next((j for j, r in enumerate(ordered) if after.matches(r, {})), None)
    if start is None:
        return f"no {after} to begin from"
    bound = {after.name: ordered[start]} if after.name else {}
    for r in ordered[start + 1:]:
        if before is not None and before.matches(r, bound):
            return None
        if what.matches(r, bound):
            return f"{what} at t={r['t_ns']} (pos {r['pos']}) after {after}"
    return None


def claims_of(page_text: str) -> list[Claim]:
    """The claims of a lesson page: every line of its ```claims blocks."""
    found = []
    for block in re.findall(r"```claims\n(.*?)```", page_text, flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            file, sep, text = line.partition(": ")
            if not sep:
                raise ClaimError(f"a claim is FILE: CLAIM, got {line!r}")
            found.append(Claim(file.strip(), text.strip()))
    return found
