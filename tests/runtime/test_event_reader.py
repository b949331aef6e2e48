"""The harness reads a node's control connection in bulk: same events, same order."""
from __future__ import annotations

import multiprocessing
import os

from emulator.runtime.control import READ_CHUNK, EventReader, pack_events


def _pair():
    return multiprocessing.Pipe(duplex=True)


def test_several_messages_in_one_read_come_out_in_order():
    node, harness = _pair()
    reader = EventReader(harness)
    batches = [[(i, "token_received", {"hop": i}), (i + 1, "token_passed", {"hop": i})]
               for i in range(0, 10, 2)]
    for batch in batches:
        node.send_bytes(pack_events(batch))
    got = []
    while len(got) < 10:
        got += reader.read()
    assert got == [event for batch in batches for event in batch]
    assert not reader.ended
    node.close()
    harness.close()


def test_a_message_larger_than_one_read_waits_for_its_rest():
    node, harness = _pair()
    reader = EventReader(harness)
    big = [(1, "node_stats", {"blob": "x" * (3 * READ_CHUNK)})]
    sender = multiprocessing.get_context("fork").Process(
        target=lambda: node.send_bytes(pack_events(big)))
    sender.start()  # the socket buffer is smaller than the message: a writer must wait
    got, reads = [], 0
    while not got:
        got = reader.read()
        reads += 1
    sender.join()
    assert got == big and reads > 1
    node.close()
    harness.close()


def test_eof_ends_the_reader_and_a_message_cut_short_is_dropped():
    node, harness = _pair()
    reader = EventReader(harness)
    node.send_bytes(pack_events([(1, "token_received", {"hop": 1})]))
    whole = pack_events([(2, "token_passed", {"hop": 1})])
    os.write(node.fileno(), len(whole).to_bytes(4, "big") + whole[:3])  # a death mid-write
    node.close()
    got = reader.read()
    assert got == [(1, "token_received", {"hop": 1})] and not reader.ended
    assert reader.read() == [] and reader.ended
    harness.close()
