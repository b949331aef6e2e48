"""Why the Chandy-Lamport snapshot needs FIFO links: one token, three delivery orders.

Run from the repository root:  .venv/bin/python docs/lessons/fifo.py

The very protocol code of the nodes runs in the in-memory simulator, on a ring
of 3. Node 0 holds the one token. In each case node 0 starts a snapshot (records
its state, sends markers both ways) and passes the token to node 1, in some
order; the channel from node 0 to node 1 then holds a marker and the token.
Delivered in the order they were sent (FIFO, what a socket pair guarantees),
the cut counts the token exactly once. Let the later one overtake the earlier
(a link that reorders) and the same protocol counts it twice or not at all.
"""
from __future__ import annotations

from emulator.protocol import InjectToken, Side
from emulator.simulator import Delivery, RingSimulator, TimerStep


def case(token_first: bool, overtake: bool) -> str:
    sim = RingSimulator([1, 2, 3], hold_ns=0)
    sim.command(0, InjectToken())           # node 0 holds the one token
    if token_first:
        sim.take(TimerStep(0, "hold"))      # pass the token ...
        sid = sim.start_snapshot(0)         # ... then record (no token) and send markers
    else:
        sid = sim.start_snapshot(0)         # record (holding it) and send markers ...
        sim.take(TimerStep(0, "hold"))      # ... then pass the token
    channel = sim.channels[(1, Side.LEFT)]
    sent = [type(m).__name__ for m in channel]
    if overtake:
        channel.reverse()                   # the later message arrives first
    arrived = [type(m).__name__ for m in channel]
    while channel:
        sim.take(Delivery(1, Side.LEFT))
    sim.run_until_quiet(timers=False)        # the other markers, in any order
    result = sim.snapshot_result(sid)
    verdict = {0: "LOST? (a needless election)", 1: "right",
               2: "DUPLICATED? (a needless election)"}[result.tokens]
    return (f"sent {' then '.join(sent):<16} arrived {' then '.join(arrived):<16} "
            f"-> counted {result.tokens}: {verdict}")


def main() -> None:
    print("FIFO (what a socket pair guarantees):")
    print("  " + case(token_first=False, overtake=False))
    print("  " + case(token_first=True, overtake=False))
    print("not FIFO (the later message overtakes the earlier):")
    print("  " + case(token_first=False, overtake=True))
    print("  " + case(token_first=True, overtake=True))


if __name__ == "__main__":
    main()
