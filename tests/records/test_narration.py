"""What the narrator says about a record must be what the record says."""
from __future__ import annotations

from harness.history import describe


def _recovered(**fields) -> dict:
    record = {"t_ns": 1, "pos": 0, "id": 3, "pid": 10, "kind": "recovered",
              "total_ms": 31.5, "detect_ms": 21.0, "epoch": 2}
    record.update(fields)
    return record


def test_a_false_alarm_is_not_narrated_as_a_new_token():
    said = describe(_recovered(cause="silence", rounds=[], false_alarm=True))
    assert said == ("recovered (silence) in 31.5 ms: the snapshot found the one token, "
                    "epoch 2: nothing to repair (a false alarm)")


def test_a_recovery_that_elected_is_narrated_as_the_new_token_s_lap():
    said = describe(_recovered(cause="silence", rounds=[2], false_alarm=False))
    assert said == "recovered (silence) in 31.5 ms: a new token of epoch 2 completed a lap"
