"""``ringemu demo``: a small real ring walks through the article, step by step.

Each step makes something really happen (start the processes, bootstrap the
token, SIGKILL a node, SIGSTOP the holder, SIGCONT it) and then tells what the
history recorded, in one or two sentences per event, at a pace a person can
follow. Every sentence is built from a record: the positions, IDs, pids,
candidates, rounds, epochs and milliseconds are the ones this run produced.
While the story pauses, the ring keeps running (and the harness keeps watching
it). At the end the whole run is drawn as a space-time diagram.

``--fast`` skips the pauses (the tests use it). ``--step`` waits for Enter
after each step (for a classroom) and prints the ``ringemu diagram --window``
that draws that step; the ring keeps running while it waits.

The story is whatever the run did: a SIGKILL may land while the token is held
by the victim or on its way to it (then it dies unread), or elsewhere; the
election may be won by a smaller ID because the larger ones did not stand.
Each branch is told from the records, in the article's words (no leader, two
leaders, idempotent).
"""
from __future__ import annotations

import dataclasses
import math
import random
import select
import sys
import textwrap
import time
from typing import Callable, TextIO

from emulator.protocol.algorithms import TITLES
from emulator.protocol.messages import SEND_FAILED
from emulator.records import (
    Record,
    BYPASSED, CANDIDATE, CANDIDATE_FORWARDED, CANDIDATE_SWALLOWED, ELECTED, ELECTION_ROUND,
    ELECTION_SENT, FAULT, LEADER, LEADER_DEPOSED, LINK_DOWN, NODE_EXITED, NODE_STARTED,
    RESTARTED, SNAPSHOT_PART, SNAPSHOT_RESULT, SNAPSHOT_STARTED, TASK_STEP, TOKEN_BLOCKED,
    TOKEN_CREATED, TOKEN_FENCED, TOKEN_PASSED, TOKEN_RECEIVED, TOKEN_RETURNED,
)

from .. import invariants
from ..config import RingConfig
from .diagram import candidate_id, render_svg
from ..chaos.scenarios import catch_the_leader_at_work
from ..chaos.trial import DEADLINE_S, ScenarioError, Trial
from ..files import write_text_atomically
from ..interrupts import Terminated, exit_status
from ..ring import Ring

DEMO_NODES = 5


class Demo:
    def __init__(self, config: RingConfig, *, seed: int, candidates: int | None,
                 trace_path: str, pace: float, out: TextIO = sys.stdout,
                 step_by_step: bool = False, keys: TextIO = sys.stdin) -> None:
        # The leader's task runs, so that the SIGSTOP can show the article's ending.
        self.config = dataclasses.replace(config, task=True)
        self.pace = pace
        self.out = out
        self.trace_path = trace_path
        self.step_by_step = step_by_step
        self.keys = keys
        self.ring = Ring(self.config, seed=seed, candidates=candidates, trace_path=trace_path)
        self.history = self.ring.history
        self.cluster = self.ring.cluster
        self.pipeline = self.ring.pipeline
        self.trial = Trial(self.ring, random.Random(seed))
        self.rng = random.Random(seed)
        self.start_ns = time.monotonic_ns()
        self.steps = 0
        self.running = False
        self.told_ns: list[int] = []  # the instants this step's sentences named

    # --- telling --------------------------------------------------------------------

    def say(self, text: str, pause_s: float = 1.6) -> None:
        self.out.write(textwrap.fill(text, width=78, initial_indent="  ",
                                     subsequent_indent="  ") + "\n")
        self.out.flush()
        self.wait(pause_s)

    def step(self, title: str) -> None:
        self.end_step()
        self.steps += 1
        self.out.write(f"\n{self.steps}. {title}\n")
        self.out.flush()
        self.wait(0.8)

    def end_step(self) -> None:
        """In --step mode: the window that draws the step just told, then wait for
        Enter (the ring keeps running meanwhile)."""
        told, self.told_ns = self.told_ns, []
        if not self.step_by_step or not self.steps:
            return
        if told:
            lo = max(0.0, math.floor(self.ms(min(told)) - 2))
            hi = math.ceil(self.ms(max(told)) + 2)
            self.out.write(f"  [drawn by: ringemu diagram {self.trace_path} --out "
                           f"step-{self.steps}.svg --window {lo:.0f}:{hi:.0f}]\n")
        self.out.write("  [Enter: next step]\n")
        self.out.flush()
        self.wait_for_enter()

    def wait_for_enter(self) -> None:
        def pressed() -> bool:
            ready, _, _ = select.select([self.keys], [], [], 0)
            if ready:
                self.keys.readline()  # '' at end of input: go on
            return bool(ready)

        if self.running:
            self.pipeline.run_until(pressed, 24 * 3600)
        else:
            self.keys.readline()

    def wait(self, seconds: float) -> None:
        """A pause for the reader; the ring (and the harness watching it) goes on."""
        if self.pace <= 0:
            return
        if self.running:
            self.trial.keep_alive_for(seconds * self.pace)
        else:
            time.sleep(seconds * self.pace)

    def ms(self, t_ns: int) -> float:
        """Milliseconds since the first event: the diagram's time axis."""
        records = self.history.records
        origin = min(r["t_ns"] for r in records) if records else self.start_ns
        return (t_ns - origin) / 1e6

    def at(self, r: Record) -> str:
        self.told_ns.append(r["t_ns"])
        return f"{self.ms(r['t_ns']):.1f} ms"

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
            self.pause_the_leader()
        except ScenarioError as stuck:
            self.out.write(f"\nThe demo could not go on: {stuck}\n")
            status = 1
        except (KeyboardInterrupt, Terminated) as interrupt:
            self.out.write("\nInterrupted: stopping the ring.\n")
            status = exit_status(interrupt)
        finally:
            if status == 0:
                self.end_step()
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
                 "the candidates' IDs and the leader's announcement travel to the right. "
                 "The leader has a task: one step per lap of its token, written to a "
                 "store the harness owns.", 2.5)

    def start_the_ring(self) -> None:
        self.step("The ring starts, with no token")
        mark = len(self.history.records)
        self.ring.start()
        n = self.config.nodes
        self.cluster.wait_until(lambda: len(self.since(mark, NODE_STARTED)) >= n, DEADLINE_S)
        started = self.since(mark, NODE_STARTED)
        pids = ", ".join(f"p{r['pos']} pid {r['pid']}" for r in sorted(started,
                                                                      key=lambda r: r["pos"]))
        self.at(started[0])
        self.say(f"{len(started)} processes are running ({pids}); the last one was up "
                 f"{self.at(started[-1])} after the start. Nobody holds a token, and there "
                 "is no leader: a new ring has neither, so bootstrapping is just "
                 "recovering from a lost token.")

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
        self.tell_ids_travelling(records, number, set(round_["candidate_pos"]))

        self.step("The largest ID comes home")
        leader = next((r for r in records if r["kind"] == LEADER and r["round"] == number),
                      None)
        if leader is None:
            self.say("No candidate's ID came home in time: the round was abandoned.")
            return
        self.say(f"At {self.at(leader)} {self.node(leader['pos'])} receives its own ID back: "
                 f"it went all the way round, so no candidate had a larger one. "
                 f"{self.node(leader['pos'])} is the leader of round {number}.")
        self.tell_token_made(records, number, leader, recovery)

    def tell_token_made(self, records: list[Record], number: int, leader: Record,
                        recovery) -> None:
        self.step("The leader makes the token")
        created = next(r for r in records if r["kind"] == TOKEN_CREATED)
        elected = [r for r in records if r["kind"] == ELECTED and r["round"] == number]
        self.say(f"It creates the token with epoch {created['epoch']} (the round number) at "
                 f"{self.at(created)}, and announces itself: {len(elected)} nodes passed the "
                 f"'Elected {leader['id']}' message on, so every node knows who leads.")
        step = self.first(0, lambda r: r["kind"] == TASK_STEP and r["pid"] == leader["pid"])
        if step is not None:
            self.say(f"At {self.at(step)}, when its first hold of the token ends, it "
                     f"finishes step {step['step']} of its task: it writes 'step "
                     f"{step['step']}' to the store, then tells the ring by passing the "
                     "token on, marked 'done: 1'. One step per lap from now on.")
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
        for r in [round_, *candidates]:
            self.at(r)
        self.say(f"The harness starts election round {number} at arbitrary nodes: {names}. "
                 + (f"{len(candidates)} of them become candidates and send their own ID to "
                    "the " + ("right." if self.config.algorithm in ("cr", "lelann", "peterson")
                              else "right and to the left.")
                    if len(candidates) != 1 else "It becomes a candidate and sends its own "
                    "ID on: with one candidate, the election only has to bring that ID home."))

    def tell_ids_travelling(self, records: list[Record], number: int,
                            standing: set[int]) -> None:
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
                why = ("a candidate with a smaller ID" if r["pos"] in standing
                       else "not a candidate")
                self.say(f"{self.at(r)}: ID {cid} passes p{r['pos']} (id {me}, {why}), "
                         "which forwards it and knows now it will not lead.", 0.7)
            if len(shown) < len(moves) and r is shown[5]:
                self.say(f"... {len(moves) - len(shown)} more of the same kind ...", 0.7)
        sends = [r for r in records if r["kind"] in (CANDIDATE, CANDIDATE_FORWARDED)
                 and r["round"] == number]
        swallowed = sum(r["kind"] == CANDIDATE_SWALLOWED for r in moves)
        self.say(f"In all, the IDs made {len(sends)} hops, one message each (a candidate's "
                 "own send, then every forward; an ID's last hop is the one into the node "
                 f"that swallows it, or, for the winner, home), and {swallowed} were "
                 "swallowed.", 1.2)

    # --- SIGKILL ------------------------------------------------------------------------

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
        self.tell_eof_and_reap(mark, fault, pid, left, right)
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
        self.tell_token_fate(mark, fault, victim, pid, left)
        self.tell_recoveries(count, "The token was not lost: no election was needed.")

    def tell_eof_and_reap(self, mark: int, fault: Record, pid: int, left: int,
                          right: int) -> None:
        for r in self.since(mark, LINK_DOWN):
            if r["pos"] not in (left, right):
                continue
            later = f"{(r['t_ns'] - fault['t_ns']) / 1e6:.2f} ms later {self.node(r['pos'])}"
            if r.get("cause") == SEND_FAILED:  # it wrote before it read: the same news
                self.say(f"{later} fails to write on its {r['side']} link (EPIPE): the "
                         "kernel closed the dead process's end of the pipe, so nobody can "
                         "read what it sends.", 1.2)
            else:
                self.say(f"{later} reads end-of-file on its {r['side']} link: the kernel "
                         "closed the dead process's end of the pipe, and nobody else holds "
                         "a copy of it.", 1.2)
                self.at(r)
        exited = self.first(mark, lambda r: r["kind"] == NODE_EXITED and r["pid"] == pid)
        if exited is not None:
            self.say(f"The harness reaps it (Process.join) "
                     f"{(exited['t_ns'] - fault['t_ns']) / 1e6:.2f} ms after the kill: "
                     f"multiprocessing reports exit code {exited['exitcode']}, its way of "
                     f"saying 'killed by {exited.get('signal')}'. Until then it was a "
                     "zombie: dead, but still in the process table.")
            self.at(exited)

    def tell_token_fate(self, mark: int, fault: Record, victim: int, pid: int,
                        left: int) -> None:
        """Where the token was when the SIGKILL landed, told from the records. A dying
        process keeps its pipes until the kernel has torn it down: a send in between
        succeeds, so the window lasts until the victim's exit, not just the signal."""
        exited = self.first(mark, lambda r: r["kind"] == NODE_EXITED and r["pid"] == pid)
        until = exited["t_ns"] if exited is not None else fault["t_ns"]
        before = [r for r in self.history.records if r["kind"] in (
            TOKEN_PASSED, TOKEN_RECEIVED, TOKEN_CREATED) and r["t_ns"] <= until]
        last = max(before, key=lambda r: r["t_ns"], default=None)
        blocked = self.first(mark, lambda r: r["kind"] in (TOKEN_BLOCKED, TOKEN_RETURNED))
        if last is not None and last["kind"] == TOKEN_PASSED and last["pos"] == left:
            if last["t_ns"] > fault["t_ns"]:
                when = (f"{(last['t_ns'] - fault['t_ns']) / 1e6:.2f} ms after the SIGKILL "
                        f"was sent: p{victim} was dying but not yet gone (the kernel had not "
                        "yet closed its end of the pipe), so the send succeeded")
            else:
                when = "just before the SIGKILL, and the send succeeded"
            self.say(f"The token was in flight: {self.node(left)} passed it to p{victim} at "
                     f"{self.at(last)}, {when}. The bytes sat in the victim's socket, unread, "
                     "and died with it: a successful send is not delivery. Nobody can know "
                     "the token is gone; the ring just falls silent.")
        elif last is not None and last["pid"] == pid:
            self.say(f"p{victim} held the token when it died (it received it at "
                     f"{self.at(last)}): the token died with the process. Nobody can know; "
                     "the ring just falls silent.")
        elif blocked is not None:
            verb = ("could not pass it: its right link was down" if blocked["kind"] ==
                    TOKEN_BLOCKED else "tried to pass it, and the kernel refused the bytes "
                    "(EPIPE), so it took it back")
            self.say(f"Meanwhile {self.node(blocked['pos'])} got the token and {verb}; it "
                     "kept it and passed it once the new link came. A token is never "
                     "written into a link known to be broken.")
            self.at(blocked)

    def tell_recoveries(self, count: int, none: str) -> None:
        recoveries = [r for r in self.trial.recoveries_after(count) if r.cause != "bootstrap"]
        if not recoveries:
            self.say(none)
            return
        for recovery in recoveries:
            if not recovery.rounds:
                self.say(f"After {recovery.detect_ms:.0f} ms of silence the harness counted "
                         f"again: {recovery.snapshot_tokens} token(s), so no election (a "
                         "false alarm costs one snapshot).")
                continue
            self.say(f"After {recovery.detect_ms:.0f} ms of silence (the detection timeout) a "
                     f"snapshot counts {recovery.snapshot_tokens} token(s): lost. Until a new "
                     "leader makes a new token, the ring has no token, and for its task, no "
                     "leader at work.")
            for number in recovery.rounds:
                self.tell_election(number)

    def tell_election(self, number: int) -> None:
        """Who stood in round ``number``, who won, and why a larger ID did not."""
        round_ = self.first(0, lambda r: r["kind"] == ELECTION_ROUND and r["round"] == number)
        leader = self.first(0, lambda r: r["kind"] == LEADER and r["round"] == number)
        if round_ is None:
            return
        names = ", ".join(f"p{p} (id {i})" for p, i in zip(round_["candidate_pos"],
                                                            round_["candidate_ids"]))
        if leader is None:
            self.say(f"Election round {number} at {names} did not complete in time: it was "
                     "abandoned, and the next round starts over.")
            return
        which = ("the only candidate" if len(round_["candidate_ids"]) == 1
                 else "the largest of them")
        self.say(f"Election round {number} starts at {self.at(round_)} at {names}: "
                 f"{self.node(leader['pos'])} wins, {which}, and creates a token of epoch "
                 f"{number}.")
        self.tell_larger_ids(leader, round_)
        self.tell_task_catch_up(leader)

    def tell_task_catch_up(self, leader: Record) -> None:
        """A new leader repeats the steps the last token it saw did not tell it about."""
        repeats = [r for r in self.since(0) if r["kind"] == TASK_STEP
                   and r["pid"] == leader["pid"] and r["outcome"] == "duplicate"
                   and r["epoch"] == leader["round"]]
        if not repeats:
            return
        steps = ", ".join(str(r["step"]) for r in repeats)
        restarted = any(r["kind"] == RESTARTED and r["pid"] == leader["pid"]
                        for r in self.history.records)
        if restarted:
            why = ("it was restarted since it last saw a token (a restart keeps only the "
                   "highest epoch), so it starts its task over")
        else:
            done = [r for r in self.since(0) if r["kind"] == TASK_STEP
                    and r["outcome"] == "applied" and r["step"] == repeats[0]["step"]]
            by = (f"p{done[0]['pos']} (id {done[0]['id']}), leader of epoch "
                  f"{done[0]['epoch']}, had done step {done[0]['step']}" if done
                  else "its step had been done")
            why = (f"{by}, but the token that would have told the ring was lost: done, not "
                   "told. The new leader knows only what the last token it saw told it, so "
                   "it does the step again")
        they = "it" if len(repeats) == 1 else "they"
        self.say(f"Its task: {why}. The store refuses step{'s' if len(repeats) > 1 else ''} "
                 f"{steps} as done already (each step has a key: the step is idempotent); "
                 f"without that key {they} would now be done twice.")
        for r in repeats:
            self.at(r)

    def tell_larger_ids(self, leader: Record, round_: Record) -> None:
        larger = [h for h in self.cluster.nodes if h.node_id > leader["id"]]
        reasons: dict[str, list[str]] = {}
        for handle in larger:
            exits = [r["t_ns"] for r in self.history.records if r["kind"] == NODE_EXITED
                     and r["pos"] == handle.pos and r["t_ns"] < round_["t_ns"]]
            back = [r["t_ns"] for r in self.history.records if r["kind"] == RESTARTED
                    and r["pos"] == handle.pos and exits and r["t_ns"] > max(exits)]
            if exits and (not back or min(back) > round_["t_ns"]):
                why = "it was dead, not yet restarted, when the round began"
            elif handle.bypassed or handle.suspended:
                why = "frozen and bypassed, so it could not stand"
            else:
                why = ("alive, but not chosen as a candidate (the election finds the "
                       "largest candidate, not the largest node)")
            reasons.setdefault(why, []).append(f"p{handle.pos} (id {handle.node_id})")
        if reasons:
            self.say("Larger IDs did not stand: " + "; ".join(
                f"{', '.join(names)}, {why}" for why, names in reasons.items()) + ".")

    # --- SIGSTOP and SIGCONT: no leader, then two ----------------------------------------

    def pause_the_leader(self) -> None:
        self.step("SIGSTOP: a node freezes (the leader, at work); the others think it dead")
        count = len(self.pipeline.recoveries)
        old_epoch = self.pipeline.epoch
        mark = len(self.history.records)
        pos = catch_the_leader_at_work(self.trial)
        pid = self.cluster.nodes[pos].pid
        self.tell_catches(mark, pid)
        stop = [r for r in self.since(mark) if r["kind"] == FAULT
                and r.get("fault") == "SIGSTOP" and r["pid"] == pid][-1]
        took = [r for r in self.since(0) if r["pid"] == pid and r["t_ns"] < stop["t_ns"]
                and r["kind"] in (TOKEN_RECEIVED, TOKEN_CREATED)]
        # A created token carries no task field in its record: the creator's count is in
        # its first pass.
        passes = [r for r in self.since(0) if r["pid"] == pid and r["kind"] == TOKEN_PASSED]
        done = took[-1].get("task") if took and took[-1]["kind"] == TOKEN_RECEIVED else None
        if done is None:
            done = passes[-1].get("task", 0) if passes else 0
        working = done + 1
        self.say(f"At {self.at(stop)} the harness sends SIGSTOP to {self.node(pos, pid=True)}, "
                 f"the leader, while it holds the token of epoch {old_epoch} and works on "
                 f"step {working} of its task (it writes the step when its hold ends, then "
                 "tells the ring). A stopped process is not dead: its pipes stay open, so "
                 "nobody sees EOF. It is simply silent.")
        self.trial.keep_alive_until(lambda: self.cluster.nodes[pos].bypassed
                                    and any(r.ok for r in self.trial.recoveries_after(count)),
                                    what="the ring to bypass the stopped node and recover")
        self.tell_bypass_and_new_leader(mark, stop, pos)
        self.resume_the_old_leader(pos, pid, old_epoch, working)

    def tell_catches(self, mark: int, pid: int) -> None:
        catches = [r for r in self.since(mark) if r["kind"] == FAULT
                   and r.get("fault") == "SIGSTOP" and r["pid"] != pid]
        if not catches:
            return
        names = ", ".join(f"p{r['pos']}" for r in catches)
        self.say(f"To freeze the leader at work, the harness first *catches* holders: it "
                 "SIGSTOPs whoever holds the token, reads what that node reported, and if it "
                 f"is not the leader at work, SIGCONTs it at once. It caught {names} that way "
                 f"first ({len(catches)} stop(s) of about a millisecond: the thin blue bands "
                 "in the diagram). They cost nothing: a stop that short is just a slow hop.")
        for r in catches:
            self.at(r)

    def tell_bypass_and_new_leader(self, mark: int, stop: Record, pos: int) -> None:
        records = self.since(mark)
        results = [r for r in records if r["kind"] == SNAPSHOT_RESULT
                   and r["t_ns"] > stop["t_ns"]]
        first = results[0] if results else None
        if first is not None and not first["complete"]:
            self.say(f"The token stops moving, and the leader with it. At {self.at(first)}, "
                     f"after {(first['t_ns'] - stop['t_ns']) / 1e6:.0f} ms, the harness's "
                     f"snapshot gives up waiting: no part from {first['missing']}. To the "
                     f"others, p{pos} looks exactly like a dead node: the ring has no leader.")
        bypassed = next((r for r in records if r["kind"] == BYPASSED), None)
        if bypassed is not None:
            self.say(f"The OS says p{pos} is stopped, not dead, so the harness bypasses it: "
                     f"p{bypassed['left_pos']} now links straight to p{bypassed['right_pos']}.")
            self.at(bypassed)
        for number in sorted({r["round"] for r in records if r["kind"] == ELECTION_ROUND}):
            self.tell_election(number)
        new = [r for r in records if r["kind"] == LEADER]
        if new:
            step = self.first(mark, lambda r: r["kind"] == TASK_STEP
                              and r["pid"] == new[-1]["pid"])
            if step is not None:
                self.say(f"The new leader takes up the task where the last token it saw left "
                         f"it: at {self.at(step)} it does step {step['step']} "
                         f"({step['outcome']}). It cannot know that p{pos} was working on "
                         "that very step.")

    def resume_the_old_leader(self, pos: int, pid: int, old_epoch: int,
                              working: int | None) -> None:
        self.step("SIGCONT: the old holder wakes up: two leaders, for a moment")
        mark = len(self.history.records)
        new_epoch = self.pipeline.epoch
        self.cluster.resume(pos)
        # Poll only until it acted, as pause-leader does: it finishes its step first.
        self.cluster.wait_until(lambda: self.first(mark, lambda r: r["pid"] == pid and r[
            "kind"] in (TASK_STEP, TOKEN_PASSED, TOKEN_FENCED)) is not None, DEADLINE_S)
        self.trial.keep_alive_until(lambda: not self.cluster.nodes[pos].bypassed,
                                    what="the stopped node to rejoin")
        self.trial.keep_alive_until(lambda: any(
            r["kind"] in (TOKEN_FENCED, TOKEN_RECEIVED) and r["epoch"] < new_epoch
            for r in self.history.records[mark:]), what="the stale token to resurface")
        self.trial.hops(2 * self.config.nodes)
        cont = self.first(mark, lambda r: r["kind"] == FAULT and r.get("fault") == "SIGCONT")
        self.say(f"At {self.at(cont)} SIGCONT: p{pos} runs again as if nothing happened. It "
                 f"still holds the token of epoch {old_epoch} and still believes it leads "
                 f"round {old_epoch}; the ring has moved on to epoch {new_epoch} and has "
                 "another leader. Two leaders.")
        self.tell_the_stale_step(mark, pid, pos)
        self.tell_the_stale_token(mark, new_epoch)

    def tell_the_stale_step(self, mark: int, pid: int, pos: int) -> None:
        step = self.first(mark, lambda r: r["kind"] == TASK_STEP and r["pid"] == pid)
        deposed = self.first(mark, lambda r: r["kind"] == LEADER_DEPOSED and r["pid"] == pid)
        if step is None:
            return
        if step["outcome"] == "stale":
            self.say(f"Its hold ended while it was stopped, so the first thing it does is "
                     f"finish step {step['step']}: at {self.at(step)} the store refuses it, "
                     f"because it has seen epoch {step['store_epoch']} (fencing at the store). "
                     f"That refusal is how p{pos} learns it was deposed. Step "
                     f"{step['step']} is in the store once: a step the store applies at most "
                     "once is idempotent, so two leaders doing it is harmless.")
        elif step["outcome"] == "duplicate":
            self.say(f"It finishes step {step['step']}: the store refuses it as a duplicate "
                     "(each step has a key: idempotency). The step is done once.")
        else:
            self.say(f"It finishes step {step['step']} and the store takes it: the step is now "
                     "done twice. Without idempotency or fencing at the store, two leaders "
                     "do the same work twice.")
        if deposed is not None and step["outcome"] != "stale":
            self.say(f"At {self.at(deposed)} a token of epoch {deposed['epoch']} reaches it: "
                     "now it knows it was deposed.")

    def tell_the_stale_token(self, mark: int, new_epoch: int) -> None:
        fenced = self.first(mark, lambda r: r["kind"] == TOKEN_FENCED
                            and r["epoch"] < new_epoch)
        accepted = self.first(mark, lambda r: r["kind"] == TOKEN_RECEIVED
                              and r["epoch"] < new_epoch)
        if fenced is not None:
            self.say(f"It passes its old token on. At {self.at(fenced)} "
                     f"{self.node(fenced['pos'])}, which has seen epoch "
                     f"{fenced['node_epoch']}, drops it: token_fenced (epoch {fenced['epoch']} "
                     f"< {fenced['node_epoch']}). Fencing: one token is left, the new one. "
                     "The supervisor rejoins the old leader, now an ordinary node.")
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
                 f"the snapshots' cuts, the SIGKILL, the SIGSTOP bands. The trace is "
                 f"{self.trace_path}; 'ringemu diagram {self.trace_path} --out FILE.svg "
                 "--window A:B' zooms in.", 0)
