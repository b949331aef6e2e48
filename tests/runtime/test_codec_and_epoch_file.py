"""The node runtime's two pure-ish parts: the link codec and the epoch file."""
from __future__ import annotations

import json

import pytest

from emulator.protocol import Candidate, Elected, Marker, SnapshotId, Token
from emulator.runtime.codec import BadFrame, decode, encode
from emulator.runtime.state_file import EpochFile

MESSAGES = [Token(3, 17), Marker(SnapshotId(4, 2)), Candidate(2, 9), Elected(5, 12),
            Token(2**63, 0)]


@pytest.mark.parametrize("message", MESSAGES, ids=repr)
def test_every_ring_message_survives_the_wire(message):
    assert decode(encode(message)) == message


@pytest.mark.parametrize("frame", [b"", b"T", b"X" + bytes(16), b"T" + bytes(15),
                                   b"T" + bytes(17), b"C" + bytes(16),  # round 0
                                   b"\x80\x04garbage-pickle!!"])
def test_bytes_that_are_not_a_message_are_a_bad_frame(frame):
    with pytest.raises(BadFrame):
        decode(frame)


def test_a_node_that_never_saw_an_epoch_starts_at_zero(tmp_path):
    assert EpochFile(str(tmp_path / "node-0.json")).load() == 0


def test_the_epoch_survives_and_no_temporary_file_remains(tmp_path):
    path = tmp_path / "node-0.json"
    EpochFile(str(path)).save(7)
    EpochFile(str(path)).save(9)
    assert EpochFile(str(path)).load() == 9
    assert [p.name for p in tmp_path.iterdir()] == ["node-0.json"]
    assert json.loads(path.read_text()) == {"epoch": 9}


def test_a_corrupt_epoch_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "node-0.json"
    path.write_text('{"epoch": -4}')
    with pytest.raises(ValueError, match="node-0.json"):
        EpochFile(str(path)).load()
