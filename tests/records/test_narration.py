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


def _link_down(**fields) -> dict:
    record = {"t_ns": 1, "pos": 2, "id": 5, "pid": 11, "kind": "link_down", "side": "left"}
    record.update(fields)
    return record


def test_only_an_eof_is_narrated_as_one():
    assert describe(_link_down(cause="eof")).endswith("left link down (EOF)")
    assert describe(_link_down()).endswith("(EOF)")  # a trace from before causes
    for cause, says in (("never_wired", "started without one"), ("send_failed", "EPIPE"),
                        ("cut", "the harness cut it")):
        said = describe(_link_down(cause=cause))
        assert says in said and "EOF" not in said, said
