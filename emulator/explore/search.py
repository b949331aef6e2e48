"""Breadth-first search of every reachable state, with the reductions that make it fit.

Theory of operation
-------------------
Breadth-first, so the first violation found is one of the shortest (fewest
steps) and the counterexample is that path, replayed for its events.

Reductions (each can be switched off, to measure it):

* *Canonical states*: a token's hop and the protocol's statistics are forgotten
  (model.py), so a circulating token is a finite cycle, not an infinite path.
  Without it the space is infinite; it cannot be switched off.
* *Symmetry* (``symmetry=True``): the protocols compare IDs, never use their
  values, and every field of a state is position-relative, so the ring rotated is
  the same world. Starting from every ID arrangement at once, a state is stored
  only as its least rotation: the arrangements fall into (N-1)! classes instead of
  N!, and so does everything after them.
* *Hash compaction* (``compact=True``): the visited set keeps a 64-bit hash of each
  canonical state, not the state (the frontier still holds whole states). With S
  states the chance that two collide (and one is wrongly skipped) is below
  S²/2^65.

Liveness (fault-free runs only): every transition is also kept as an edge; a
reachable state with nothing left to do, or a strongly connected set of states
none of which has "one token, one leader", is an execution that never recovers.
"""
from __future__ import annotations

import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional

from . import model
from .model import Config, Found, Step

_KINDS = ("deliver", "timer", "elect", "repair", "bypass", "rejoin", "resume",
          "crash", "restart", "drop", "duplicate", "pause", "snapshot", "heal", "loss",
          "dupmsg", "reorder", "cut")
_ON_CHANNEL = ("deliver",) + model.CHANNEL_FAULTS  # actions with a channel offset


def pack(action: tuple) -> int:
    kind = _KINDS.index(action[0])
    if action[0] == "elect":
        arg = sum(1 << p for p in action[1])
    elif action[0] in _ON_CHANNEL:
        off = action[2]  # negative: a leftward channel (model.py); 128 + |off| packed
        arg = off if off > 0 else 128 - off
    else:
        arg = 0
    pos = 0 if action[0] == "elect" else action[1]
    return (kind << 16) | (pos << 8) | arg


def unpack(code: int) -> tuple:
    kind, pos, arg = _KINDS[code >> 16], (code >> 8) & 0xFF, code & 0xFF
    if kind == "elect":
        return (kind, tuple(p for p in range(8) if arg >> p & 1))
    if kind in _ON_CHANNEL:
        return (kind, pos, arg if arg < 128 else 128 - arg)
    return (kind, pos)


def relabel(action: tuple, k: int, n: int) -> tuple:
    """An action named in a frame rotated by k, named in the original frame."""
    if action[0] == "elect":
        return ("elect", tuple(sorted((p + k) % n for p in action[1])))
    return (action[0], (action[1] + k) % n) + action[2:]


@dataclass
class Result:
    cfg: Config
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True              # False: --max-states stopped the search
    violation: Optional[Found] = None
    trace: list = field(default_factory=list)        # [Step], from an initial state
    initial_ids: tuple = ()                          # the arrangement the trace starts from
    cycle_from: Optional[int] = None                 # trace[cycle_from:] repeats forever
    goal_states: int = 0
    terminal_states: int = 0
    liveness_checked: bool = False


class Explorer:
    def __init__(self, cfg: Config, *, symmetry: bool = True, compact: bool = True,
                 por: bool = True,
                 max_states: Optional[int] = None, liveness: Optional[bool] = None,
                 progress: Optional[Callable[[str], None]] = None) -> None:
        self.cfg = cfg
        self.symmetry = symmetry
        self.compact = compact
        self.por = por
        self.reduced = 0
        self.max_states = max_states
        self.liveness = cfg.fault_free if liveness is None else liveness
        self.progress = progress

    # --- keys --------------------------------------------------------------------

    def canon(self, state: tuple) -> tuple[tuple, int]:
        if self.symmetry:
            return model.canonical(state)
        return state, 0

    def key(self, state: tuple):
        if not self.compact:
            return state
        return hash(state)

    # --- the search -----------------------------------------------------------------

    def run(self) -> Result:
        cfg = self.cfg
        result = Result(cfg, liveness_checked=self.liveness)
        started = time.perf_counter()
        index: dict = {}
        parent = array("q")
        via = array("q")
        depth_of = array("l")
        edges: list[list[int]] = []
        goal = bytearray()
        frontier: deque = deque()

        def add(state: tuple, from_index: int, action_code: int, depth: int) -> tuple[int, bool]:
            k = self.key(state)
            found = index.get(k)
            if found is not None:
                return found, False
            i = len(parent)
            index[k] = i
            parent.append(from_index)
            via.append(action_code)
            depth_of.append(depth)
            if self.liveness:
                edges.append([])
                goal.append(model.one_token_one_leader(state))
            frontier.append((i, state))
            return i, True

        self._roots: dict[int, tuple] = {}
        for ids in cfg.arrangements:
            state = self.canon(model.initial_state(cfg, ids))[0]
            root, new = add(state, -1, -1, 0)
            if new:
                self._roots[root] = state
        violation: Optional[tuple[int, tuple, Found]] = None
        next_report = 100_000
        while frontier and violation is None:
            i, state = frontier.popleft()
            depth = depth_of[i]
            result.depth = max(result.depth, depth)
            actions = model.enabled(cfg, state)
            tried: dict = {}
            if self.por:
                single = self._ample(state, actions, index, tried)
                if single is not None:
                    action, work, child = single
                    result.transitions += 1
                    self.reduced += 1
                    j, _new = add(child, i, pack(action), depth + 1)
                    if self.liveness:
                        edges[i].append(j)
                    continue
            for action in actions:
                if action in tried:
                    work, child = tried[action]
                else:
                    work = model.successor(cfg, state, action)
                    child = None
                result.transitions += 1
                if work.found is not None:
                    violation = (i, action, work.found)
                    break
                if child is None:
                    child, _ = self.canon(work.state())
                j, _new = add(child, i, pack(action), depth + 1)
                if self.liveness:
                    edges[i].append(j)
            if self.max_states is not None and len(parent) >= self.max_states:
                result.complete = False
                break
            if self.progress is not None and len(parent) >= next_report:
                next_report += 100_000
                self.progress(f"{len(parent)} states, {result.transitions} transitions, "
                              f"depth {result.depth}, {time.perf_counter() - started:.1f} s")
        result.states = len(parent)
        if violation is not None:
            self._counterexample(result, violation, parent, via, depth_of)
        elif self.liveness and result.complete:
            self._liveness(result, parent, via, edges, goal, index)
        result.goal_states = sum(goal) if self.liveness else 0
        result.seconds = time.perf_counter() - started
        return result

    def _counterexample(self, result: Result, violation: tuple, parent, via,
                        depth_of) -> None:
        """The shortest path to the violating step, replayed for its events."""
        i, action, found = violation
        result.violation = found
        path = self._path(i, parent, via) + [action]
        result.depth = max(result.depth, depth_of[i] + 1)
        self._replay(result, i, parent, path)
        if found.invariant == "termination":
            self.lasso(result)

    def _ample(self, state: tuple, actions: list[tuple], index: dict, tried: dict):
        """Partial-order reduction: one invisible, independent step instead of all.

        ``model.ample_candidates`` picks deliveries ``t`` of an election message to a
        node p such that (C1, persistence) nothing else can touch p before t: no fault
        is left in the budget, no harness action is enabled or can become enabled
        before t (the patient harness waits for t's message), p has no other step
        (one non-empty channel, no timer) and every node that writes to p writes to
        t's channel (new messages queue behind t's). Steps of other nodes commute
        with t. Here: (C2) t must be invisible -- it takes, passes or fences no token
        and makes no leader, so no invariant can tell the orders apart -- and (C3,
        the cycle proviso) its successor must be new, so every cycle of the reduced
        graph has a fully expanded state. Otherwise every action is taken.
        """
        for action in model.ample_candidates(self.cfg, state, actions):
            work = model.successor(self.cfg, state, action)
            child = None if work.found is not None else self.canon(work.state())[0]
            tried[action] = (work, child)   # reused if every action is taken after all
            if work.visible or work.found is not None:
                continue
            if self.key(child) in index:
                continue
            return action, work, child
        return None

    # --- counterexamples ----------------------------------------------------------------

    def _path(self, i: int, parent, via) -> list[tuple]:
        codes = []
        while parent[i] != -1:
            codes.append(via[i])
            i = parent[i]
        return [unpack(c) for c in reversed(codes)]

    def _root(self, i: int, parent) -> int:
        while parent[i] != -1:
            i = parent[i]
        return i

    def _root_state(self, i: int, parent) -> tuple:
        """The canonical initial state the path to ``i`` starts at."""
        return self._roots[self._root(i, parent)]

    def _replay(self, result: Result, i: int, parent, path: list[tuple]) -> None:
        """Run the path again from its initial state, keeping hops and events, in the
        real frame (each action was named in the frame of its state's least rotation)."""
        start = self._root_state(i, parent)
        result.initial_ids = tuple(node[model.ID] for node in start[1])
        result.trace = self.replay(start, path)

    def replay(self, start: tuple, path: list[tuple]) -> list[Step]:
        n = self.cfg.n
        steps: list[Step] = []
        concrete = start
        for action in path:
            _, k = self.canon(strip(concrete))
            real = relabel(action, k, n)
            step, concrete = take(self.cfg, concrete, real)
            steps.append(step)
        self.final_state = concrete
        return steps

    def lasso(self, result: Result) -> None:
        """After a message was seen to circulate forever: keep delivering it until the
        world repeats, and mark where the repetition starts."""
        circulating = _circulating(result.trace[-1])
        if circulating is None:
            return
        state = self.final_state
        seen = {strip(state): len(result.trace)}
        for _ in range(4 * self.cfg.n):
            where = [(p, off) for p, node in enumerate(state[1]) for off, queue in node[model.CHANS]
                     if circulating in queue]
            if not where:
                return
            step, state = take(self.cfg, state, ("deliver",) + where[0])
            result.trace.append(step)
            stripped = strip(state)
            if stripped in seen:
                result.cycle_from = seen[stripped]
                return
            seen[stripped] = len(result.trace)

    # --- liveness (fault-free) --------------------------------------------------------------

    def _liveness(self, result: Result, parent, via, edges, goal, index) -> None:
        terminal = [i for i, out in enumerate(edges) if not out]
        result.terminal_states = len(terminal)
        stuck = [i for i in terminal if not goal[i]]
        if stuck:
            i = min(stuck, key=lambda s: len(self._path(s, parent, via)))
            result.violation = Found("liveness", (
                "an execution ends with nothing left to do and without one token, one "
                "leader"))
            self._replay(result, i, parent, self._path(i, parent, via))
            return
        for component in strongly_connected(edges):
            if len(component) == 1 and component[0] not in edges[component[0]]:
                continue
            if any(goal[s] for s in component):
                continue
            members = set(component)
            entry = min(component, key=lambda s: len(self._path(s, parent, via)))
            loop = _cycle_through(entry, edges, members)
            result.violation = Found("liveness", (
                f"a cycle of {len(loop)} steps never reaches one token, one leader: "
                "something circulates forever without progress"))
            prefix = self._path(entry, parent, via)
            # The loop's actions are not stored: find each edge's action again.
            actions = list(prefix)
            state_of = self._states_on(entry, parent, via)
            state = state_of
            for target in loop:
                action = self._action_to(state, target, index)
                actions.append(action)
                state = self.canon(model.successor(self.cfg, state, action).state())[0]
            result.cycle_from = len(prefix)
            self._replay(result, entry, parent, actions)
            return

    def _states_on(self, i: int, parent, via) -> tuple:
        """The canonical state with index ``i``, rebuilt along its path."""
        state = self._root_state(i, parent)
        for action in self._path(i, parent, via):
            state = self.canon(model.successor(self.cfg, state, action).state())[0]
        return state

    def _action_to(self, state: tuple, target: int, index: dict) -> tuple:
        for action in model.enabled(self.cfg, state):
            child = self.canon(model.successor(self.cfg, state, action).state())[0]
            if index.get(self.key(child)) == target:
                return action
        raise AssertionError("edge not found")


def take(cfg: Config, state: tuple, action: tuple) -> tuple[Step, tuple]:
    """One action on a concrete state, with its events and a readable label."""
    label = describe_action(cfg, state, action)
    work = model.successor(cfg, state, action, keep_hops=True, record=True)
    return Step(action, work.events, label, work.found), work.state()


def _circulating(step: Step) -> Optional[tuple]:
    if step.action[0] != "deliver" or not step.message:
        return None
    return step.message


def describe_action(cfg: Config, state: tuple, action: tuple) -> str:
    nodes = state[1]

    def who(p: int) -> str:
        return f"node {p} (id {nodes[p][model.ID]})"

    kind = action[0]
    if kind == "deliver":
        p, off = action[1], action[2]
        head = dict(nodes[p][model.CHANS])[off][0]
        return f"{who(p)} receives {model.describe_message(head)} from node {(p - off) % cfg.n}"
    if kind == "timer":
        held = nodes[action[1]][model.PROTO][1]
        what = f"passes Token(epoch {held[0][0]}) on" if held else "has nothing to pass"
        return f"{who(action[1])}: hold timer fires, {what}"
    if kind == "elect":
        chosen = action[1]
        return (f"harness: token lost, election round {state[0][model.G_ROUNDS] + 1} at "
                f"positions {list(chosen)} (ids {[nodes[p][model.ID] for p in chosen]})")
    if kind in model.CHANNEL_FAULTS:
        p, off = action[1], action[2]
        queue = dict(nodes[p][model.CHANS])[off]
        link = f"link {(p - off) % cfg.n} -> {p}"
        head = model.describe_message(queue[0])
        if kind == "reorder":
            return (f"FAULT: {link} reorders: {model.describe_message(queue[1])} "
                    f"overtakes {head}")
        return f"FAULT: {link} {'loses' if kind == 'loss' else 'duplicates'} {head}"
    p = action[1]
    return {
        "snapshot": f"harness: snapshot from {who(p)} (it records, sends a marker right)",
        "heal": f"harness: heal the cut right link of {who(p)} with a fresh link",
        "cut": f"FAULT: cut the right link of {who(p)}",
        "repair": f"harness: restart dead {who(p)} (epoch from its state file)",
        "bypass": f"harness: bypass paused {who(p)}",
        "rejoin": f"harness: rejoin {who(p)}",
        "resume": f"{who(p)} resumes (SIGCONT)",
        "crash": f"FAULT: crash {who(p)} (SIGKILL)",
        "restart": f"FAULT: restart {who(p)} in place (SIGKILL, relaunch)",
        "drop": f"FAULT: {who(p)} drops the token it holds",
        "duplicate": f"FAULT: a duplicate token appears at {who(p)}",
        "pause": f"FAULT: pause {who(p)} (SIGSTOP)",
    }[kind]


def strip(state: tuple) -> tuple:
    """The state with every hop forgotten, as the search stores it."""
    glob, nodes = state
    out = []
    for node in nodes:
        node = list(node)
        proto = node[model.PROTO]
        if proto:
            node[model.PROTO] = proto[:1] + (tuple((e, 0) for e, _ in proto[1]),) + proto[2:]
        node[model.CHANS] = tuple(
            (off, tuple((m[0], m[1], 0) if m[0] == "T" else m for m in queue))
            for off, queue in node[model.CHANS])
        out.append(tuple(node))
    return (glob, tuple(out))


def strongly_connected(edges: list[list[int]]) -> list[list[int]]:
    """Tarjan's algorithm, iterative."""
    n = len(edges)
    index_of = [-1] * n
    low = [0] * n
    on_stack = bytearray(n)
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index_of[root] != -1:
            continue
        work = [(root, 0)]
        while work:
            v, pos = work.pop()
            if pos == 0:
                index_of[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack[v] = 1
            recurse = False
            out = edges[v]
            while pos < len(out):
                w = out[pos]
                pos += 1
                if index_of[w] == -1:
                    work.append((v, pos))
                    work.append((w, 0))
                    recurse = True
                    break
                if on_stack[w]:
                    low[v] = min(low[v], index_of[w])
            if recurse:
                continue
            if low[v] == index_of[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack[w] = 0
                    component.append(w)
                    if w == v:
                        break
                components.append(component)
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
    return components


def _cycle_through(entry: int, edges, members: set) -> list[int]:
    """A shortest path entry -> ... -> entry inside the component (as target indices)."""
    previous = {}
    queue = deque([entry])
    while queue:
        v = queue.popleft()
        for w in edges[v]:
            if w not in members:
                continue
            if w == entry:
                path = [entry]
                while v != entry:
                    path.append(v)
                    v = previous[v]
                return list(reversed(path))
            if w not in previous:
                previous[w] = v
                queue.append(w)
    raise AssertionError("no cycle in a strongly connected component")
