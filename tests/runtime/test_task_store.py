"""The leader's task store: a real SQLite file, two real connections."""
from __future__ import annotations

import sqlite3

from emulator.runtime import task_store
from emulator.runtime.codec import decode, encode
from emulator.protocol import Token


def store(tmp_path, **policy):
    path = str(tmp_path / "task.sqlite3")
    task_store.create(path, **{"idempotent": True, "fencing": True, **policy})
    return path, task_store.TaskStore(path)


def test_idempotency_refuses_a_second_application_of_a_step(tmp_path):
    path, db = store(tmp_path)
    assert db.apply(1, 1, 0, 100, 1) == ("applied", 1)
    assert db.apply(1, 2, 3, 200, 2) == ("duplicate", 2)  # seen: the fence rises
    assert [row[:3] for row in task_store.contents(path)["steps"]] == [[1, 1, 0]]


def test_fencing_refuses_a_step_older_than_the_store_has_seen(tmp_path):
    path, db = store(tmp_path)
    db.apply(4, 2, 1, 100, 1)
    assert db.apply(5, 1, 2, 200, 2) == ("stale", 2)
    assert task_store.contents(path)["store_epoch"] == 2


def test_with_both_off_every_application_is_a_row(tmp_path):
    path, db = store(tmp_path, idempotent=False, fencing=False)
    db.apply(4, 2, 1, 100, 1)
    assert db.apply(4, 1, 2, 200, 2) == ("applied", 2)
    found = task_store.contents(path)
    assert [row[:2] for row in found["steps"]] == [[4, 2], [4, 1]]
    assert not found["idempotent"] and not found["fencing"]


def test_a_writer_stopped_inside_a_transaction_makes_the_store_unavailable(tmp_path):
    path, db = store(tmp_path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # as a node SIGSTOPped mid-write would
    assert task_store.is_locked(path)
    assert db.apply(1, 1, 0, 100, 1) == ("unavailable", 0)
    other.execute("ROLLBACK")
    other.close()
    assert not task_store.is_locked(path)
    assert db.apply(1, 1, 0, 100, 1) == ("applied", 1)


def test_a_new_store_replaces_an_old_file(tmp_path):
    path, db = store(tmp_path)
    db.apply(1, 1, 0, 100, 1)
    db.close()
    task_store.create(path, idempotent=False, fencing=True)
    assert task_store.contents(path)["steps"] == []


def test_a_token_that_tells_a_count_round_trips_on_the_wire():
    assert decode(encode(Token(3, 9, 12))) == Token(3, 9, 12)
    assert len(encode(Token(3, 9))) == 17  # without a count: the old frame
