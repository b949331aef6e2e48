"""``ringemu demo``: a small real ring walks through the article, step by step.

Each step makes something really happen (start the processes, bootstrap the
token, SIGKILL a node, SIGSTOP the holder, SIGCONT it) and then tells what the
history recorded, in one or two sentences per event, at a pace a person can
follow. Every sentence is built from a record: the positions, IDs, pids,
candidates, rounds, epochs and milliseconds are the ones this run produced.
While the story pauses, the ring keeps running (and the harness keeps watching
it). At the end the whole run is drawn as a space-time diagram.

``--fast`` skips the pauses (the tests use it).
"""
from __future__ import annotations

import random
import sys
import textwrap
import time
from typing import Callable, TextIO

from emulator.protocol.algorithms import TITLES
from emulator.records import (
    Record,
    BYPASSED, CANDIDATE, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, ELECTED, ELECTION_ROUND,
    ELECTION_SENT, FAULT, LEADER, LINK_DOWN, NODE_EXITED, NODE_STARTED, RESTARTED, SNAPSHOT_PART,
    SNAPSHOT_RESULT, SNAPSHOT_STARTED, TOKEN_BLOCKED, TOKEN_CREATED, TOKEN_FENCED,
    TOKEN_RECEIVED,
)

from .. import invariants
from ..config import RingConfig
from .diagram import candidate_id, render_svg
from ..chaos.trial import DEADLINE_S, ScenarioError, Trial
from ..files import write_text_atomically
from ..interrupts import Terminated, exit_status
from ..ring import Ring

DEMO_NODES = 5


class Demo:
    def __init__(self, config: RingConfig, *, seed: int, candidates: int | None,
                 trace_path: str, pace: float, out: TextIO = sys.stdout) -> None:
        self.config = config
        self.pace = pace
        self.out = out
        self.trace_path = trace_path
        self.ring = Ring(config, seed=seed, candidates=candidates, trace_path=trace_path)
        self.history = self.ring.history
        self.cluster = self.ring.cluster
        self.pipeline = self.ring.pipeline
        self.trial = Trial(self.ring, random.Random(seed))
        self.rng = random.Random(seed)
        self.start_ns = time.monotonic_ns()
        self.steps = 0
        self.running = False

    # --- telling --------------------------------------------------------------------

    def say(self, text: str, pause_s: float = 1.6) -> None:
        self.out.write(textwrap.fill(text, width=78, initial_indent="  ",
                                     subsequent_indent="  ") + "\n")
        self.out.flush()
        self.wait(pause_s)

    def step(self, title: str) -> None:
        self.steps += 1
        self.out.write(f"\n{self.steps}. {title}\n")
        self.out.flush()
        self.wait(0.8)

    def wait(self, seconds: float) -> None:
        """A pause for the reader; the ring (and the harness watching it) goes on."""
        if self.pace <= 0:
            return
        if self.running:
            self.trial.keep_alive_for(seconds * self.pace)
        else:
            time.sleep(seconds * self.pace)

    def at(self, r: Record) -> str:
        """When, in ms since the first event: the diagram's time axis."""
        origin = self.history.records[0]["t_ns"] if self.history.records else self.start_ns
        return f"{(r['t_ns'] - origin) / 1e6:.1f} ms"

    def node(self, pos: int, pid: bool = False) -> str:
        handle = self.cluster.nodes[pos]
        return f"p{pos} (id {handle.node_id}" + (f", pid {handle.pid})" if pid else ")")

    def since(self, mark: int, *kinds: str) -> list[Record]:
        found = [r for r in self.history.records[mark:] if not kinds or r["kind"] in kinds]
        return sorted(found, key=lambda r: r["t_ns"])

    def first(self, mark: int, test: Callable[[Record], bool]) -> Record | None:
        return next((r for r in self.since(mark) if test(r)), None)

    # --- the story ------------------------------------------------------------------

    def run(self, diagram_path: str) -> int:
        status = 0
        try:
            self.tell_the_setting()
            self.start_the_ring()
            self.running = True
            self.bootstrap()
            self.kill_a_node()
            self.pause_the_holder()
        except ScenarioError as stuck:
            self.out.write(f"\nThe demo could not go on: {stuck}\n")
            status = 1
        except (KeyboardInterrupt, Terminated) as interrupt:
            self.out.write("\nInterrupted: stopping the ring.\n")
            status = exit_status(interrupt)
        finally:
            self.running = False
            self.ring.stop()
        self.finish(diagram_path)
        return status

    def tell_the_setting(self) -> None:
        ring = self.config
        self.out.write("ringemu demo: leader election on a ring of real processes\n")
        self.say(f"A ring of {ring.nodes} nodes, each a real OS process (start method "
                 f"{ring.start_method}), positions 0 to {ring.nodes - 1}, with IDs "
                 f"{', '.join(map(str, ring.ids))}. Each node is joined to its right "
                 "neighbour by a pipe (a Unix socket pair: reliable, in order). The token, "
                 "the candidates' IDs and the leader's announcement travel to the right.",
                 2.5)

    def start_the_ring(self) -> None:
        self.step("The ring starts, with no token")
        mark = len(self.history.records)
        self.ring.start()
        n = self.config.nodes
        self.cluster.wait_until(lambda: len(self.since(mark, NODE_STARTED)) >= n, DEADLINE_S)
        started = self.since(mark, NODE_STARTED)
        pids = ", ".join(f"p{r['pos']} pid {r['pid']}" for r in sorted(started,
                                                                      key=lambda r: r["pos"]))
        self.say(f"{len(started)} processes are running ({pids}); the last one was up "
                 f"{self.at(started[-1])} after the start. Nobody holds a token: a new "
                 "ring has none, so bootstrapping is just recovering from a lost token.")

    def bootstrap(self) -> None:
        mark = len(self.history.records)
        recovery = self.pipeline.recover("bootstrap")
        records = self.since(mark)

        self.step("Is there a token? A snapshot counts")
        started = next(r for r in records if r["kind"] == SNAPSHOT_STARTED)
        result = next(r for r in records if r["kind"] == SNAPSHOT_RESULT)
        self.say(f"At {self.at(started)} {self.node(started['pos'])} starts a Chandy-Lamport "
                 "snapshot: it records its own state and sends a marker both ways. Each "
                 "node records its state when the first marker reaches it, passes markers "
                 "on, and reports once markers have come from both sides.")
        parts = [r for r in records if r["kind"] == SNAPSHOT_PART
                 and r["sid"] == started["sid"]]
        self.say(f"{len(parts)} of {self.config.nodes} parts came back; at {self.at(result)} "
                 f"the snapshot counts {result['tokens']} token(s). Zero means lost, so: an "
                 "election.")

        self.step("Arbitrary nodes become candidates")
        round_ = next(r for r in records if r["kind"] == ELECTION_ROUND)
        number = round_["round"]
        self.tell_candidates(records, number, round_)

        self.step("IDs travel and are swallowed")
        self.tell_ids_travelling(records, number)

        self.step("The largest ID comes home")
        leader = next((r for r in records if r["kind"] == LEADER and r["round"] == number),
                      None)
        if leader is None:
            self.say("No candidate's ID came home in time: the round was abandoned.")
            return
        self.say(f"At {self.at(leader)} {self.node(leader['pos'])} receives its own ID back: "
                 f"it went all the way round, so no candidate had a larger one. "
                 f"{self.node(leader['pos'])} is the leader of round {number}.")

        self.step("The leader makes the token")
        created = next(r for r in records if r["kind"] == TOKEN_CREATED)
        elected = [r for r in records if r["kind"] == ELECTED and r["round"] == number]
        self.say(f"It creates the token with epoch {created['epoch']} (the round number) at "
                 f"{self.at(created)}, and announces itself: {len(elected)} nodes passed the "
                 f"'Elected {leader['id']}' message on, so every node knows who leads.")
        if recovery.ok:
            self.say(f"The new token came back to the leader after a lap: recovered in "
                     f"{recovery.total_ms:.1f} ms ({recovery.election_messages} election "
                     "messages). From now on it circulates, one hop every "
                     f"{self.config.hold_ns / 1e6:g} ms or so.", 2.2)
        else:
            self.say("The recovery did not finish this time; the harness will try again.")

    def tell_candidates(self, records: list[Record], number: int, round_: Record) -> None:
        candidates = [r for r in records if r["kind"] == CANDIDATE and r["round"] == number]
        names = ", ".join(self.node(p) for p in round_["candidate_pos"])
        self.say(f"The harness starts election round {number} at arbitrary nodes: {names}. "
                 f"{len(candidates)} of them become candidates and send their own ID to the "
                 + ("right." if self.config.algorithm in ("cr", "lelann", "peterson")
                    else "right and to the left."))

    def tell_ids_travelling(self, records: list[Record], number: int) -> None:
        if self.config.algorithm != "cr":
            # The story below is Chang–Roberts'; the others' messages are counted.
            sent = sum(r["kind"] == ELECTION_SENT and r["round"] == number for r in records)
            self.say(f"This ring runs the {TITLES[self.config.algorithm]} election "
                     f"(--algorithm {self.config.algorithm}): its nodes passed {sent} "
                     "messages on after the candidates' first ones (the diagram draws "
                     "only Chang–Roberts' election messages).", 1.2)
            return
        moves = [r for r in records if r["kind"] in (CANDIDATE_FORWARDED,
                                                     CANDIDATE_SWALLOWED)
                 and r["round"] == number]
        shown = moves if len(moves) <= 14 else moves[:6] + moves[-6:]
        for r in shown:
            cid = candidate_id(r)
            me = self.cluster.nodes[r["pos"]].node_id
            if r["kind"] == CANDIDATE_SWALLOWED:
                self.say(f"{self.at(r)}: ID {cid} reaches p{r['pos']}, a candidate with the "
                         f"larger ID {me}: swallowed, it goes no further.", 1.0)
            else:
                why = "not a candidate" if me > cid else "its own ID is smaller"
                self.say(f"{self.at(r)}: ID {cid} passes p{r['pos']} (id {me}, {why}), "
                         "which forwards it and knows now it will not lead.", 0.7)
            if r is shown[5] and len(shown) < len(moves):
                self.say(f"... {len(moves) - len(shown)} more hops of the same kind ...", 0.7)
        swallowed = sum(r["kind"] == CANDIDATE_SWALLOWED for r in moves)
        self.say(f"In all, IDs made {len(moves)} hops and {swallowed} were swallowed.", 1.2)

    # --- faults -------------------------------------------------------------------------

    def kill_a_node(self) -> None:
        self.step("SIGKILL: a node dies, its neighbours see EOF")
        leader = self.pipeline.recoveries[-1].leader_pos
        holders = self.ring.view.holders()
        choices = [p for p in self.cluster.active_positions()
                   if p != leader and p not in holders] or self.cluster.active_positions()
        victim = self.rng.choice(choices)
        pid = self.cluster.nodes[victim].pid
        right = self.cluster.right_of(victim)
        left = next(p for p in self.cluster.active_positions()
                    if self.cluster.right_of(p) == victim)
        count = len(self.pipeline.recoveries)
        mark = len(self.history.records)
        self.cluster.kill(victim)
        self.cluster.wait_until(lambda: self.first(mark, lambda r: r["kind"] == NODE_EXITED
                                                   and r["pid"] == pid) is not None
                                and len({r["pos"] for r in self.since(mark, LINK_DOWN)}
                                        & {left, right}) == 2, 5.0)
        fault = self.first(mark, lambda r: r["kind"] == FAULT)
        self.say(f"At {self.at(fault)} the harness sends SIGKILL to {self.node(victim)}, pid "
                 f"{pid}. SIGKILL cannot be caught: the process stops at once and says "
                 "nothing.")
        for r in self.since(mark, LINK_DOWN):
            if r["pos"] in (left, right):
                self.say(f"{(r['t_ns'] - fault['t_ns']) / 1e6:.2f} ms later "
                         f"{self.node(r['pos'])} reads end-of-file on its {r['side']} link: "
                         "the kernel closed the dead process's end of the pipe, and nobody "
                         "else holds a copy of it.", 1.2)
        exited = self.first(mark, lambda r: r["kind"] == NODE_EXITED and r["pid"] == pid)
        if exited is not None:
            self.say(f"The harness reaps it (Process.join) "
                     f"{(exited['t_ns'] - fault['t_ns']) / 1e6:.2f} ms after the kill: exit "
                     f"status {exited['exitcode']}, killed by {exited.get('signal')}. Until "
                     "then it was a zombie: dead, but still in the process table.")
        self.trial.keep_alive_until(lambda: self.cluster.nodes[victim].running,
                                    what=f"node {victim} restarted")
        self.trial.hops(2 * self.config.nodes)
        if any(r.cause != "bootstrap" for r in self.trial.recoveries_after(count)):
            self.trial.until_recovered(count)
        restarted = self.first(mark, lambda r: r["kind"] == RESTARTED)
        if restarted is not None:
            self.say(f"The supervisor restarts it at {self.at(restarted)}: a new process, pid "
                     f"{restarted['pid']}, same position and ID, fresh pipes to both "
                     "neighbours (their new ends are passed to them over their control "
                     "connections).")
        blocked = self.first(mark, lambda r: r["kind"] == TOKEN_BLOCKED)
        if blocked is not None:
            self.say(f"Meanwhile {self.node(blocked['pos'])} got the token and could not pass "
                     "it: its right link was down, so it kept it and passed it once the new "
                     "link came. A token is never written into a link known to be broken.")
        self.tell_recoveries(count, "The token was not lost: no election was needed.")

    def tell_recoveries(self, count: int, none: str) -> None:
        recoveries = [r for r in self.trial.recoveries_after(count) if r.cause != "bootstrap"]
        if not recoveries:
            self.say(none)
            return
        for recovery in recoveries:
            leader = ("no leader" if recovery.leader_id is None else
                      f"leader id {recovery.leader_id}, new token of epoch {recovery.epoch}")
            self.say(f"Recovery ({recovery.cause}): after {recovery.detect_ms:.0f} ms of "
                     f"silence, {recovery.snapshots} snapshot(s) counted "
                     f"{recovery.snapshot_tokens} token(s); rounds "
                     f"{', '.join(map(str, recovery.rounds)) or 'none'}, {leader}; "
                     f"{'ok' if recovery.ok else 'FAILED'} in {recovery.total_ms:.0f} ms.")

    def catch_the_leader(self) -> int:
        """SIGSTOP the holder, preferably while the holder is the leader."""
        leader = self.pipeline.recoveries[-1].leader_pos
        for _ in range(4 * self.config.nodes):
            pos = self.trial.catch_holder()
            if pos == leader:
                return pos
            self.cluster.resume(pos)
            self.trial.hops(1)
        return self.trial.catch_holder()

    def pause_the_holder(self) -> None:
        self.step("SIGSTOP: a node freezes and the others think it dead")
        count = len(self.pipeline.recoveries)
        old_epoch = self.pipeline.epoch
        leader_before = self.pipeline.recoveries[-1].leader_pos
        mark = len(self.history.records)
        pos = self.catch_the_leader()
        pid = self.cluster.nodes[pos].pid
        stop = [r for r in self.since(mark) if r["kind"] == FAULT
                and r.get("fault") == "SIGSTOP" and r["pid"] == pid][-1]
        who = "the leader, " if pos == leader_before else ""
        self.say(f"At {self.at(stop)} the harness sends SIGSTOP to {self.node(pos, pid=True)}, "
                 f"{who}while it holds the token of epoch {old_epoch}. A stopped process is "
                 "not dead: its pipes stay open, so nobody sees EOF. It is simply silent.")
        self.trial.keep_alive_until(lambda: self.cluster.nodes[pos].bypassed
                                    and any(r.ok for r in self.trial.recoveries_after(count)),
                                    what="the ring to bypass the stopped node and recover")
        records = self.since(mark)
        results = [r for r in records if r["kind"] == SNAPSHOT_RESULT]
        first = results[0] if results else None
        if first is not None and not first["complete"]:
            self.say(f"The token stops moving. At {self.at(first)}, after "
                     f"{(first['t_ns'] - stop['t_ns']) / 1e6:.0f} ms, the harness's snapshot "
                     f"gives up waiting: no part from {first['missing']}. To the others, "
                     f"p{pos} looks exactly like a dead node.")
        bypassed = next((r for r in records if r["kind"] == BYPASSED), None)
        if bypassed is not None:
            self.say(f"The OS says p{pos} is stopped, not dead, so the harness bypasses it: "
                     f"p{bypassed['left_pos']} now links straight to p{bypassed['right_pos']}.")
        rounds = [r for r in records if r["kind"] == ELECTION_ROUND]
        leaders = [r for r in records if r["kind"] == LEADER]
        if rounds and leaders:
            new = leaders[-1]
            self.say(f"A snapshot of the smaller ring finds no token, so election round "
                     f"{rounds[-1]['round']} runs among {rounds[-1]['candidate_ids']}: "
                     f"{self.node(new['pos'])} wins and creates a token of epoch "
                     f"{new['round']}. The ring works again without p{pos}.")
        else:
            self.tell_recoveries(count, "")

        self.step("SIGCONT: the old holder wakes up with a stale token")
        mark = len(self.history.records)
        new_epoch = self.pipeline.epoch
        self.cluster.resume(pos)
        self.trial.keep_alive_until(lambda: not self.cluster.nodes[pos].bypassed,
                                    what="the stopped node to rejoin")
        self.trial.keep_alive_until(lambda: any(
            r["kind"] in (TOKEN_FENCED, TOKEN_RECEIVED) and r["epoch"] < new_epoch
            for r in self.history.records[mark:]), what="the stale token to resurface")
        self.trial.hops(2 * self.config.nodes)
        cont = self.first(mark, lambda r: r["kind"] == FAULT and r.get("fault") == "SIGCONT")
        self.say(f"At {self.at(cont)} SIGCONT: p{pos} runs again as if nothing happened. It "
                 f"still holds the token of epoch {old_epoch}"
                 + (f" and still believes it leads round {old_epoch}" if who else "")
                 + f"; the ring has moved on to epoch {new_epoch}. The supervisor rejoins it.")
        fenced = self.first(mark, lambda r: r["kind"] == TOKEN_FENCED
                            and r["epoch"] < new_epoch)
        accepted = self.first(mark, lambda r: r["kind"] == TOKEN_RECEIVED
                              and r["epoch"] < new_epoch and r["pos"] != pos)
        if fenced is not None:
            self.say(f"It passes its old token on. At {self.at(fenced)} "
                     f"{self.node(fenced['pos'])}, which has seen epoch "
                     f"{fenced['node_epoch']}, drops it: token_fenced (epoch {fenced['epoch']} "
                     f"< {fenced['node_epoch']}). Fencing: one token is left, the new one.")
        elif accepted is not None:
            self.say(f"Fencing is off: at {self.at(accepted)} {self.node(accepted['pos'])} "
                     f"accepts the stale token of epoch {accepted['epoch']}. Two tokens now "
                     "circulate: two nodes can believe they hold the one token at once.")

    # --- the end --------------------------------------------------------------------

    def finish(self, diagram_path: str) -> None:
        records = self.history.records
        violations = invariants.check(records, nodes=self.config.nodes)
        title = f"ringemu demo · {self.config.nodes} nodes · ids {list(self.config.ids)}"
        try:
            svg = render_svg(records, title=title)
        except ValueError as bad:
            self.out.write(f"\nNo diagram: {bad}\n")
            return
        write_text_atomically(diagram_path, svg)
        self.out.write("\nThe end.\n")
        if violations:
            self.say("The checker found: "
                     + "; ".join(f"{v.invariant}: {v.detail}" for v in violations), 0)
        else:
            self.say("The checker went over the whole history: every invariant held (at "
                     "most one leader per round, one token after recovery, ...).", 0)
        self.say(f"Everything you just read is drawn in {diagram_path} (open it in a "
                 "browser): one line per node, time to the right, every message an arrow, "
                 f"the snapshots' cuts, the SIGKILL, the SIGSTOP band. The trace is "
                 f"{self.trace_path}; 'ringemu diagram {self.trace_path} --out FILE.svg "
                 "--window A:B' zooms in.", 0)
