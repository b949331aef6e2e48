// ringemu view: replay a recorded run in the browser. The data (events, paired
// messages, holdings, lives, the time axis, the checker's verdict) is computed in
// Python (harness/teach/view/model.py); this script folds the events up to the
// cursor into each node's state, draws the ring at that instant and the
// space-time diagram with a cursor, and drives the controls. No network.
(function () {
  "use strict";
  // A link's state for the details panel: up, or down and why (link_down's cause).
  const LINK_DOWN_WHY = { eof: "EOF", send_failed: "EPIPE", cut: "cut by the harness",
                          never_wired: "started without it" };
  const linkState = (down) => (down ? `DOWN (${LINK_DOWN_WHY[down] || down})` : "up");
  const D = JSON.parse(document.getElementById("rundata").textContent);
  const N = D.nodes;
  const EV = D.events;                       // [t, pos, kind index, pid, id, extra|0]
  const NE = EV.length;
  const T = new Float64Array(NE);
  for (let i = 0; i < NE; i++) T[i] = EV[i][0];
  const K = {};                              // script name -> kind index (-1: absent)
  for (const [name, kind] of Object.entries(D.K)) K[name] = D.kinds.indexOf(kind);
  const kindName = (i) => D.kinds[EV[i][2]];
  const extra = (i) => EV[i][5] || {};
  const ids = {};
  for (const [p, id] of Object.entries(D.ids)) ids[+p] = id;
  const SPAN = D.span;
  const HOP = D.axis.hop_ns;
  const LOST_SHOW = Math.max(2 * HOP, 1e6);          // how long a lost message is drawn
  const FLASH = Math.max(3 * HOP, 0.004 * SPAN, 2e6); // how long a fault flashes
  const C = D.colours;
  const MSGCOL = { token: C.token, marker: C.marker, candidate: C.candidate, elected: C.elected };

  // --- messages, holdings, lives: arrays with prefix max of their end, for
  // "what is open at t" by a backward scan that stops as soon as nothing can be.
  const MSG = D.messages.map((m) => ({
    kind: D.messageKinds[m[0]], src: m[1], dst: m[2], sent: m[3], recv: m[4],
    right: m[5] === 1, label: m[6], outcome: m[7], tag: m[8],
    end: m[4] >= 0 ? m[4] : m[3] + LOST_SHOW,
  }));
  MSG.sort((a, b) => a.sent - b.sent);
  const MSG_SENT = Float64Array.from(MSG, (m) => m.sent);
  const MSG_MAXEND = prefixMax(MSG.map((m) => m.end));
  const HOLDS = Array.from({ length: N }, () => []);
  for (const h of D.holds) HOLDS[h[0]].push({ epoch: h[1], start: h[2], end: h[3] < 0 ? Infinity : h[3], stale: h[4] });
  const HOLD_START = HOLDS.map((hs) => Float64Array.from(hs, (h) => h.start));
  const HOLD_MAXEND = HOLDS.map((hs) => prefixMax(hs.map((h) => h.end)));
  const BY_POS = Array.from({ length: N }, () => []);
  for (let i = 0; i < NE; i++) if (EV[i][1] >= 0 && EV[i][1] < N) BY_POS[EV[i][1]].push(i);

  function prefixMax(values) {
    const out = new Float64Array(values.length);
    let m = -Infinity;
    for (let i = 0; i < values.length; i++) { m = Math.max(m, values[i]); out[i] = m; }
    return out;
  }
  function upper(arr, x) {           // first index with arr[i] > x
    let lo = 0, hi = arr.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] <= x) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function openAt(starts, maxEnd, t, test) {
    const found = [];
    for (let j = upper(starts, t) - 1; j >= 0 && maxEnd[j] > t; j--) if (test(j)) found.push(j);
    return found.reverse();
  }
  const inFlight = (t) => openAt(MSG_SENT, MSG_MAXEND, t, (j) => MSG[j].end > t).map((j) => MSG[j]);
  const holdsAt = (p, t) => openAt(HOLD_START[p], HOLD_MAXEND[p], t, (j) => HOLDS[p][j].end > t)
    .map((j) => HOLDS[p][j]);

  // --- the time axis: trace time t <-> axis time u, silences cut down to breaks
  const KT = D.axis.knots.map((k) => k[0]), KU = D.axis.knots.map((k) => k[1]);
  const U_END = KU[KU.length - 1] || 1;
  function uOf(t) { return interp(KT, KU, t); }
  function tOf(u) { return interp(KU, KT, u); }
  function interp(xs, ys, x) {
    if (x <= xs[0]) return ys[0];
    const n = xs.length;
    if (x >= xs[n - 1]) return ys[n - 1];
    const i = upper(xs, x);
    const x0 = xs[i - 1], x1 = xs[i];
    return x1 === x0 ? ys[i] : ys[i - 1] + (ys[i] - ys[i - 1]) * (x - x0) / (x1 - x0);
  }
  const ms = (t) => (t / 1e6).toFixed(3) + " ms";

  // --- node state: a fold over the events, with a checkpoint every CP events
  const CP = 512;
  function freshState() {
    return {
      epoch: 0, round: 0, result: null, recovered: 0, stopping: false,
      nodes: Array.from({ length: N }, (_, p) => ({
        pos: p, id: ids[p], pid: 0, inc: 1, life: "none", exit: "", restarted: false,
        bypassed: false, role: "waiting", round: 0, epoch: 0, fence: 0, leader: null,
        snap: null, lastSnap: null, downL: false, downR: false,
      })),
    };
  }
  function cloneState(s) {
    return Object.assign({}, s, { nodes: s.nodes.map((n) => Object.assign({}, n)) });
  }
  function apply(s, i) {
    const e = EV[i], k = e[2], x = e[5] || {};
    const n = s.nodes[e[1]];
    if (!n) return;
    const mine = e[3] === n.pid || n.pid === 0 || e[3] === 0;
    const seeRound = (r) => {       // a newer round starts afresh; a round is an epoch
      if (r > n.round) { n.round = r; n.role = "waiting"; n.leader = null; }
      n.fence = Math.max(n.fence, r);
    };
    // A new process at this position. It may have been started outside the ring (the
    // harness bypassed the dead one): then it stays bypassed until it rejoins.
    const restart = (inc) => Object.assign(n, { pid: e[3], inc, life: "up", restarted: true,
      role: "waiting", snap: null, downL: false, downR: false, leader: null });
    if (k === K.NODE_STARTED) {
      // a new process at this position (the explorer's traces have no pids: it says so)
      if (x.restart || (n.pid !== 0 && n.pid !== e[3])) restart(n.inc + 1);
      else { n.pid = e[3]; if (n.life === "none") n.life = "up"; }
      if (x.epoch) { n.epoch = Math.max(n.epoch, x.epoch); n.fence = Math.max(n.fence, x.epoch); }
    } else if (k === K.RESTARTED) {
      if (n.pid !== e[3] || n.life !== "up") restart(x.incarnation || n.inc + 1);
      else n.inc = x.incarnation || n.inc;
      if (!x.outside) n.bypassed = false;            // restarted in place, in the ring
    } else if (k === K.NODE_EXITED) {
      if (mine) { n.life = x.exitcode === 0 ? "exited" : "reaped"; n.exit = x.signal || ("status " + x.exitcode); }
    } else if (k === K.NODE_STOPPING) {
      if (x.reason === "shutdown") s.stopping = true;
    } else if (k === K.FAULT) {
      if (!mine) return;
      if (x.fault === "SIGSTOP") n.life = "stopped";
      else if (x.fault === "SIGCONT" && n.life === "stopped") n.life = "up";
      else if (x.fault === "SIGKILL" || x.fault === "SIGTERM") n.life = "killed";
    } else if (k === K.RESUMED) { if (n.life === "stopped") n.life = "up"; }
    else if (k === K.BYPASSED) n.bypassed = true;
    else if (k === K.REJOINED) n.bypassed = false;
    else if (k === K.LINK_DOWN) {  // the cause, not just "down": only eof is an EOF
      const cause = x.cause || "eof";
      if (x.side === "left") n.downL = cause; else n.downR = cause;
    }
    else if (k === K.REWIRED) { if (x.side === "left") n.downL = false; else n.downR = false; }
    else if (k === K.ELECTION_START) seeRound(x.round);
    else if (k === K.CANDIDATE) { seeRound(x.round); n.role = "candidate"; }
    else if (k === K.CANDIDATE_FORWARDED) { if (x.round >= n.round) { seeRound(x.round); n.role = "not_leader"; } }
    else if (k === K.CANDIDATE_SWALLOWED) seeRound(x.round);
    else if (k === K.LEADER) { seeRound(x.round); n.role = "leader"; n.leader = n.id; }
    else if (k === K.ELECTED) {
      if (x.round >= n.round) { seeRound(x.round); n.leader = x.leader_id; n.role = x.leader_id === n.id ? "leader" : "not_leader"; }
    } else if (k === K.ELECTION_COMPLETE) n.leader = x.leader_id;
    else if (k === K.ELECTION_ROUND) s.round = Math.max(s.round, x.round);
    else if (k === K.TOKEN_CREATED) { s.epoch = Math.max(s.epoch, x.epoch); n.epoch = Math.max(n.epoch, x.epoch); n.fence = Math.max(n.fence, x.epoch); }
    else if (k === K.TOKEN_RECEIVED || k === K.TOKEN_INJECTED || k === K.TOKEN_RETURNED) { n.epoch = Math.max(n.epoch, x.epoch); n.fence = Math.max(n.fence, x.epoch); }
    else if (k === K.TOKEN_FENCED) n.fence = Math.max(n.fence, x.node_epoch || 0);
    else if (k === K.SNAPSHOT_STARTED || (k === K.MARKER_RECEIVED && x.first)) n.snap = x.sid;
    else if (k === K.SNAPSHOT_PART) { n.snap = null; n.lastSnap = { sid: x.sid, tokens: (x.tokens || []).length }; }
    else if (k === K.SNAPSHOT_RESULT) s.result = x;
    else if (k === K.RECOVERED) s.recovered += 1;
  }
  const checkpoints = [];
  (function buildCheckpoints() {
    const s = freshState();
    for (let i = 0; i < NE; i++) {
      if (i % CP === 0) checkpoints.push(cloneState(s));
      apply(s, i);
    }
  })();
  let cache = { count: 0, state: freshState() };
  function stateAfter(count) {       // the state after the first `count` events
    if (!(cache.count <= count && count - cache.count < CP)) {
      const c = Math.floor(count / CP);
      cache = { count: c * CP, state: cloneState(checkpoints[Math.min(c, checkpoints.length - 1)] || freshState()) };
      if (c >= checkpoints.length) cache.count = (checkpoints.length - 1) * CP;
    }
    for (; cache.count < count; cache.count++) apply(cache.state, cache.count);
    return cache.state;
  }

  // --- view state
  const view = {
    t: 0, i: -1, onEvent: false, selected: null, playing: false, speed: 0,
    v0: 0, v1: U_END, hidden: new Set(), highlight: new Set(), matches: null,
  };

  // --- the ring --------------------------------------------------------------------
  const SVGNS = "http://www.w3.org/2000/svg";
  const ring = document.getElementById("ring");
  // Up to 24 nodes each gets two lines of words beside it; beyond, a number and colour,
  // so the ring may fill the pane and the nodes be as large as their spacing allows.
  const SMALL = N > 24;
  const CX = 260, CY = 260, R = N <= 16 ? 185 : SMALL ? 228 : 205;
  const NR = Math.max(6, Math.min(26, Math.PI * R / N * (SMALL ? 0.78 : 0.62)));
  ring.setAttribute("viewBox", SMALL ? "0 0 520 520" : "-100 -5 720 530");
  const DELTA = Math.min(11, Math.max(4, NR * 0.55));
  const angle = (p) => -Math.PI / 2 + 2 * Math.PI * p / N;
  const at = (a, r) => [CX + r * Math.cos(a), CY + r * Math.sin(a)];
  const f1 = (v) => v.toFixed(1);
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  function arcPath(p, q, r) {        // clockwise from p to q along radius r
    const a = angle(p), b = angle(q) + (q <= p ? 2 * Math.PI : 0);
    const [x0, y0] = at(a, r), [x1, y1] = at(b, r);
    return `M${f1(x0)},${f1(y0)} A${r},${r} 0 ${b - a > Math.PI ? 1 : 0} 1 ${f1(x1)},${f1(y1)}`;
  }
  function star(x, y, r) {
    const pts = [];
    for (let i = 0; i < 10; i++) {
      const rad = i % 2 === 0 ? r : r * 0.45, a = -Math.PI / 2 + i * Math.PI / 5;
      pts.push(f1(x + rad * Math.cos(a)) + "," + f1(y + rad * Math.sin(a)));
    }
    return pts.join(" ");
  }
  const nodeEls = [], linkEls = [];
  (function buildRing() {
    let html = `<g id="links">`;
    for (let p = 0; p < N; p++) html += `<path class="link" data-from="${p}" d="${arcPath(p, (p + 1) % N, R)}"/>`;
    html += `</g><g id="bypasslinks"></g><g id="nodes">`;
    const small = SMALL;
    const idSize = Math.min(14, NR * 0.85), subSize = small ? 7.5 : 10.5;
    for (let p = 0; p < N; p++) {
      const a = angle(p), [x, y] = at(a, R), [lx, ly0] = at(a, R + NR + (small ? 9 : 12));
      const cos = Math.cos(a), anchor = small || Math.abs(cos) < 0.35 ? "middle" : cos > 0 ? "start" : "end";
      // labels sit outside the ring: beside the node at the sides, above / below it at the top / bottom
      const ly = ly0 + (small ? 3 : Math.sin(a) > 0.35 ? 8 : Math.sin(a) < -0.35 ? -16 : -4);
      const [sx, sy] = at(a, R - NR - (small ? 6 : 9));
      html += `<g class="node" data-pos="${p}" data-id="${ids[p]}" transform="translate(${f1(x)},${f1(y)})">` +
        `<title>p${p} · id ${ids[p]}</title>` +
        `<circle class="role" r="${f1(NR + 3.5)}"/><circle class="body" r="${f1(NR)}"/>` +
        `<text class="idtext" style="font-size:${f1(idSize)}px">${ids[p]}</text>` +
        `<polygon class="star" points="${star(NR * 0.75, -NR * 0.75, Math.max(5, NR * 0.45))}" display="none"/>` +
        `<text class="sub" x="${f1(lx - x)}" y="${f1(ly - y)}" style="font-size:${subSize}px;text-anchor:${anchor}">` +
        `<tspan class="l1" x="${f1(lx - x)}">p${p}</tspan>` +
        (small ? "" : `<tspan class="l2" x="${f1(lx - x)}" dy="1.15em"></tspan>`) + `</text>` +
        `<g class="tokenbadge" display="none" transform="translate(${f1(sx - x)},${f1(sy - y)})">` +
        `<circle r="${f1(Math.max(6, NR * 0.5))}"/><text style="font-size:${f1(Math.max(7, NR * 0.45))}px"></text></g>` +
        `</g>`;
    }
    html += `</g><g id="inflight"></g><g id="flashes"></g>` +
      `<text class="centre big" id="c1" x="${CX}" y="${CY - 22}"></text>` +
      `<text class="centre" id="c2" x="${CX}" y="${CY}"></text>` +
      `<text class="centre" id="c3" x="${CX}" y="${CY + 18}"></text>` +
      `<text class="centre" id="c4" x="${CX}" y="${CY + 36}"></text>`;
    ring.innerHTML = html;
    ring.querySelectorAll(".node").forEach((g) => {
      nodeEls.push(g);
      g.addEventListener("click", (ev) => {
        const p = +g.dataset.pos;
        if (ev.shiftKey) toggle(view.highlight, p); else if (ev.altKey) toggle(view.hidden, p);
        else select(view.selected === p ? null : p);
      });
    });
    ring.querySelectorAll(".link").forEach((l) => linkEls.push(l));
  })();

  function lifeWord(n, long) {
    if (long && n.life === "killed") return "killed, not yet reaped: a zombie until the harness joins it";
    if (long && n.life === "stopped") return "STOPPED (SIGSTOP): alive, but runs no code";
    return { none: "not started", up: n.restarted ? `restarted (↻${n.inc})` : "up", stopped: "STOPPED",
      killed: "killed, not reaped", reaped: `dead (${n.exit})`, exited: "exited" }[n.life] || n.life;
  }
  function drawRing() {
    const s = stateAfter(view.i + 1), t = view.t;
    for (let p = 0; p < N; p++) {
      const n = s.nodes[p], g = nodeEls[p];
      const holds = holdsAt(p, t);
      const ds = g.dataset;
      ds.life = n.life; ds.pid = n.pid; ds.role = n.role; ds.round = n.round; ds.epoch = n.epoch;
      ds.fence = n.fence; ds.bypassed = n.bypassed; ds.restarted = n.restarted; ds.inc = n.inc;
      ds.holds = holds.map((h) => h.epoch).join(",");
      g.classList.toggle("selected", view.selected === p);
      g.classList.toggle("hl", view.highlight.has(p));
      g.classList.toggle("hidden", view.hidden.has(p));
      g.querySelector(".star").setAttribute("display", n.role === "leader" ? "inline" : "none");
      const l1 = g.querySelector(".l1"), l2 = g.querySelector(".l2");
      if (l2) {
        l1.textContent = `p${p}` + (n.pid ? ` · pid ${n.pid}` : "");
        const words = [];
        if (n.life !== "up" || n.restarted) words.push(lifeWord(n));
        if (n.bypassed) words.push("bypassed");
        if (n.role !== "waiting" && n.life !== "reaped") words.push(n.role === "not_leader" ? "not leader" : `${n.role} r${n.round}`);
        if (n.snap) words.push("recording");
        l2.textContent = words.join(" · ");
      }
      const badge = g.querySelector(".tokenbadge");
      if (holds.length) {
        const stale = holds.every((h) => h.stale >= 0 && h.stale <= t);
        badge.setAttribute("display", "inline");
        badge.classList.toggle("stale", stale);
        badge.querySelector("text").textContent = holds.map((h) => "e" + h.epoch).join("+");
      } else badge.setAttribute("display", "none");
      g.querySelector("title").textContent = `p${p} · id ${ids[p]} · pid ${n.pid} · ${lifeWord(n)} · ${n.role} · round ${n.round} · epoch ${n.epoch}`;
    }
    for (let p = 0; p < N; p++) {
      const q = (p + 1) % N;
      linkEls[p].classList.toggle("down", s.nodes[p].downR || s.nodes[q].downL);
    }
    let by = "";
    for (let p = 0; p < N; p++) {
      if (!s.nodes[p].bypassed) continue;
      let a = (p - 1 + N) % N, b = (p + 1) % N;
      while (s.nodes[a].bypassed && a !== p) a = (a - 1 + N) % N;
      while (s.nodes[b].bypassed && b !== p) b = (b + 1) % N;
      by += `<path class="link bypass" d="${arcPath(a, b, R - NR - 14)}"/>`;
    }
    document.getElementById("bypasslinks").innerHTML = by;
    drawInFlight(t, s.epoch);
    drawFlashes(t);
    const c = [`t = ${ms(t)}`, `epoch ${s.epoch} · round ${s.round}`,
      s.result ? `last snapshot: ${s.result.complete ? s.result.tokens + " token(s)" : "incomplete"}` : "",
      s.recovered ? `recovered ×${s.recovered}` : ""];
    for (let j = 0; j < 4; j++) document.getElementById("c" + (j + 1)).textContent = c[j];
  }
  function drawInFlight(t, epoch) {
    let html = "";
    const many = inFlight(t);
    for (const m of many.slice(0, 600)) {
      const right = m.right;
      const dst = m.dst >= 0 ? m.dst : (right ? (m.src + 1) % N : (m.src - 1 + N) % N);
      let steps = right ? (dst - m.src + N) % N : (m.src - dst + N) % N;
      if (steps === 0 && m.dst !== m.src) steps = N;   // a returned pass stays at its sender
      const frac = m.dst >= 0 ? Math.min(1, Math.max(0, (t - m.sent) / Math.max(1, m.recv - m.sent))) : 0.5;
      const a = angle(m.src) + (right ? 1 : -1) * (2 * Math.PI / N) * steps * frac;
      const r = m.kind === "token" ? R : m.kind === "marker" ? (right ? R - DELTA : R - 1.9 * DELTA) : R + DELTA;
      const [x, y] = at(a, r);
      const col = MSGCOL[m.kind], lost = m.dst < 0;
      let shape;
      const s = Math.max(5, NR * 0.42);
      const stale = m.kind === "token" && +m.tag.slice(1) < epoch;   // older than the current epoch
      if (m.kind === "token") shape = `<circle r="${f1(s)}" fill="${stale ? C.stale : col}" stroke="#7a5c00"/><text style="font-size:${f1(Math.max(7, s * 0.95))}px" fill="${stale ? "#fff" : "#000"}">${esc(m.tag)}</text>`;
      else if (m.kind === "marker") shape = `<rect x="-3.5" y="-3.5" width="7" height="7" transform="rotate(45)" fill="${col}"/>`;
      else {
        const w = Math.max(14, 7 * m.tag.length + 6);
        shape = `<rect x="${-w / 2}" y="-7" width="${w}" height="14" rx="4" fill="${col}"/><text style="font-size:10px" fill="#fff">${esc(m.tag)}</text>`;
      }
      if (lost) shape += `<path d="M-6,-6 L6,6 M6,-6 L-6,6" stroke="#d62728" stroke-width="2.2"/>`;
      const faded = (view.highlight.size && !view.highlight.has(m.src) && !view.highlight.has(dst)) || view.hidden.has(m.src);
      html += `<g class="msg ${m.kind}${lost ? " lost" : ""}${stale ? " stale" : ""}" data-kind="${m.kind}" data-src="${m.src}" data-dst="${m.dst}" ` +
        `data-tag="${esc(m.tag)}" transform="translate(${f1(x)},${f1(y)})"${faded ? ' opacity="0.2"' : ""}>` +
        `<title>${esc(m.label)}: ${lost ? "never received" : m.outcome + " at p" + m.dst}</title>${shape}</g>`;
    }
    document.getElementById("inflight").innerHTML = html;
  }
  const FLASH_KINDS = [K.FAULT, K.MESSAGE_LOST, K.NODE_EXITED];
  function drawFlashes(t) {
    const hi = view.i, lo = Math.max(0, upper(T, t - FLASH));
    const what = new Map();           // node -> what struck it, oldest first
    for (let i = lo; i <= hi; i++) {
      const k = EV[i][2], p = EV[i][1];
      if (!FLASH_KINDS.includes(k) || p < 0 || p >= N) continue;
      const x = extra(i);
      if (k === K.NODE_EXITED && x.exitcode === 0) continue;
      const text = k === K.FAULT ? x.fault : k === K.MESSAGE_LOST ? "send failed" : "reaped";
      if (!what.has(p)) what.set(p, []);
      if (!what.get(p).includes(text)) what.get(p).push(text);
    }
    let html = "";
    for (const [p, texts] of what) {
      const [px, py] = at(angle(p), R);
      const label = texts.join(" → ");
      html += `<g class="flash" data-pos="${p}" data-what="${esc(label)}" transform="translate(${f1(px)},${f1(py)})">` +
        `<polygon points="${star(0, 0, NR + 12)}" opacity="0.55"/>` +
        `<text y="${f1(NR + 24)}" style="font-size:11px">${esc(label)}</text></g>`;
    }
    document.getElementById("flashes").innerHTML = html;
  }

  // --- the space-time diagram (canvas, decimated) --------------------------------------
  const canvas = document.getElementById("diagram");
  const cursorEl = document.getElementById("cursor");
  const ctx = canvas.getContext("2d");
  const GUTTER = N > 24 ? 44 : 78, TOP = 30, BOTTOM = 8, RIGHT = 12;
  let geo = null;
  function rowsShown() { const r = []; for (let p = 0; p < N; p++) if (!view.hidden.has(p)) r.push(p); return r; }
  function layout() {
    const w = canvas.clientWidth, h = canvas.clientHeight, dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
    }
    const rows = rowsShown();
    const rowH = Math.max(2, (h - TOP - BOTTOM) / Math.max(1, rows.length + 0.6));
    const y = new Float64Array(N).fill(NaN);
    rows.forEach((p, j) => { y[p] = TOP + rowH * (j + 0.8); });
    geo = { w, h, dpr, rows, rowH, y, plotW: w - GUTTER - RIGHT };
  }
  const xOfU = (u) => GUTTER + (u - view.v0) / (view.v1 - view.v0) * geo.plotW;
  const uOfX = (x) => view.v0 + (x - GUTTER) / geo.plotW * (view.v1 - view.v0);
  const xOf = (t) => xOfU(uOf(t));
  let drawStats = { messages: 0, skipped: 0, ms: 0 };

  // One frame of the diagram: every piece reads the visible window `f` (times t0..t1,
  // rows y[], the dimming rule) and draws only what falls inside it.
  function drawDiagram() {
    const started = performance.now();
    layout();
    const { w, h, dpr, rows, rowH, y } = geo;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, w, h);
    const hl = view.highlight.size > 0;
    const f = {
      t0: tOf(view.v0), t1: tOf(view.v1), y, rowH, bottom: TOP + rowH * (rows.length + 0.6),
      dim: (p, q) => hl && !view.highlight.has(p) && !(q !== undefined && view.highlight.has(q)),
    };
    ctx.save();
    ctx.beginPath(); ctx.rect(GUTTER - 4, 0, geo.plotW + 8, h); ctx.clip();
    const parts = {}; let mark = performance.now();
    const lap = (name) => { const now = performance.now(); parts[name] = +(now - mark).toFixed(1); mark = now; };
    drawTicks(f.t0, f.t1, f.bottom);
    drawBreaks(f);
    drawLives(f);
    drawHolds(f);
    drawCuts(f);
    lap("background");
    drawMessages(f.t0, f.t1, y, rowH, f.dim, f.bottom);
    lap("messages");
    drawMarks(f.t0, f.t1, y, rowH);
    drawMatches(f.t0, f.t1);
    lap("marks");
    ctx.restore();
    drawRowLabels(f, rows);
    drawStats.parts = parts;
    drawStats.ms = performance.now() - started;
    document.getElementById("diagnote").textContent =
      `${drawStats.messages} messages drawn` + (drawStats.skipped ? `, ${drawStats.skipped} merged at this zoom` : "") +
      ` · ${rows.length}/${N} nodes shown`;
    placeCursor();
  }
  function drawBreaks(f) {            // the cut-out silences, labelled where there is room
    ctx.font = "10px sans-serif";
    let lastLabel = -1e9;
    for (const [a, b] of D.axis.breaks) {
      const xa = xOf(a), xb = xOf(b);
      if (xb < GUTTER || xa > geo.w) continue;
      ctx.fillStyle = "#eeeeee"; ctx.fillRect(xa, TOP - 4, xb - xa, f.bottom - TOP + 4);
      ctx.fillStyle = "#666";
      const label = `≈ ${((b - a) / 1e6).toFixed(0)} ms of silence ≈`;
      const width = ctx.measureText(label).width;
      if (xb - xa > width + 4) { if (xa > lastLabel) { ctx.fillText(label, xa + 2, TOP + 8); lastLabel = xa + width; } }
      else if ((xa + xb) / 2 - lastLabel > 14) {   // upright, unless it would touch the last one
        ctx.save(); ctx.translate((xa + xb) / 2 + 3, TOP + 4); ctx.rotate(Math.PI / 2); ctx.fillText(label, 0, 0); ctx.restore();
        lastLabel = (xa + xb) / 2;
      }
    }
  }
  function drawLives(f) {             // SIGSTOP bands, process lives (dying: dashed red), bypasses
    const { y, rowH, t0, t1 } = f;
    ctx.fillStyle = "rgba(158,202,225,0.5)";
    for (const [p, a, b] of D.stops) {
      const e = b < 0 ? SPAN : b;
      if (isNaN(y[p]) || e < t0 || a > t1) continue;
      ctx.fillRect(xOf(a), y[p] - rowH * 0.4, Math.max(1.5, xOf(e) - xOf(a)), rowH * 0.8);
    }
    ctx.lineWidth = Math.min(1.6, Math.max(0.6, rowH / 10));
    for (const [p, , start, end, , killed] of D.lives) {
      const e = end < 0 ? SPAN : end;
      if (isNaN(y[p]) || e < t0 || start > t1) continue;
      const k = killed >= 0 ? Math.min(Math.max(killed, start), e) : e;
      ctx.globalAlpha = f.dim(p) ? 0.3 : 1;
      ctx.strokeStyle = "#555"; ctx.setLineDash([]);
      line(xOf(start), y[p], xOf(k), y[p]);
      if (k < e) { ctx.strokeStyle = C.kill; ctx.setLineDash([2, 2]); line(xOf(k), y[p], xOf(e), y[p]); ctx.setLineDash([]); }
    }
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#aaa"; ctx.setLineDash([6, 3]);
    for (const [p, a, b] of D.bypass) {
      if (isNaN(y[p])) continue;
      const lift = Math.min(5, rowH * 0.2);
      line(xOf(a), y[p] - lift, xOf(b < 0 ? SPAN : b), y[p] - lift);
    }
    ctx.setLineDash([]);
  }
  function drawHolds(f) {             // who holds a token (stale: brown), batched per colour
    const { y, t0, t1 } = f;
    ctx.lineWidth = Math.max(2, Math.min(6, f.rowH * 0.22));
    const paths = { fresh: new Path2D(), stale: new Path2D(), freshDim: new Path2D(), staleDim: new Path2D() };
    for (let p = 0; p < N; p++) {
      if (isNaN(y[p])) continue;
      const which = f.dim(p) ? "Dim" : "";
      // decimated: holds less than 2 px apart are drawn as one run
      let run = null;
      const flush = () => { if (run) { run.path.moveTo(run.a, y[p]); run.path.lineTo(run.b, y[p]); } };
      for (const hd of HOLDS[p]) {
        if (hd.end < t0 || hd.start > t1) continue;
        const xa = xOf(hd.start), xb = Math.max(xOf(Math.min(hd.end, SPAN)), xa + 1.5);
        const path = paths[(hd.stale >= 0 ? "stale" : "fresh") + which];
        if (run && run.path === path && xa - run.b < 2) { run.b = Math.max(run.b, xb); continue; }
        flush();
        run = { path, a: xa, b: xb };
      }
      flush();
    }
    for (const [name, colour] of [["fresh", "rgba(230,180,34,0.6)"], ["stale", "rgba(160,67,42,0.6)"]]) {
      ctx.strokeStyle = colour;
      ctx.globalAlpha = 1; ctx.stroke(paths[name]);
      ctx.globalAlpha = 0.3; ctx.stroke(paths[name + "Dim"]);
    }
    ctx.globalAlpha = 1;
  }
  function drawCuts(f) {              // each snapshot's cut through the visible rows
    ctx.strokeStyle = C.cut; ctx.lineWidth = 1.8; ctx.setLineDash([7, 4]);
    for (const cut of D.cuts) {
      const pts = cut.points.filter(([p]) => !isNaN(f.y[p]));
      if (!pts.length || pts[pts.length - 1][1] < f.t0 || pts[0][1] > f.t1) continue;
      ctx.beginPath();
      pts.forEach(([p, t], j) => (j ? ctx.lineTo(xOf(t), f.y[p]) : ctx.moveTo(xOf(t), f.y[p])));
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }
  function drawRowLabels(f, rows) {
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, GUTTER - 4, geo.h);
    const size = Math.max(7, Math.min(12, f.rowH * 0.75));
    ctx.font = `bold ${size}px sans-serif`; ctx.textBaseline = "middle";
    const every = Math.ceil(9 / Math.max(1, f.rowH));
    rows.forEach((p, j) => {
      if (j % every) return;
      ctx.fillStyle = view.highlight.has(p) ? "#e6550d" : view.selected === p ? "#000" : "#333";
      ctx.fillText(N > 24 ? `p${p}` : `p${p} · id ${ids[p]}`, 4, f.y[p]);
    });
    ctx.textBaseline = "alphabetic";
  }
  function line(x0, y0, x1, y1) { ctx.beginPath(); ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke(); }
  function drawTicks(t0, t1, bottom) {
    const pxPerMs = geo.plotW / ((view.v1 - view.v0) / 1e6);
    let step = 0.001;
    for (const s of [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000, 300000]) {
      step = s; if (s * pxPerMs >= 80) break;
    }
    ctx.font = "10px sans-serif"; ctx.fillStyle = "#666"; ctx.strokeStyle = "#e4e4e4"; ctx.lineWidth = 1;
    let lastX = -1e9, count = 0;
    for (let tm = Math.floor(t0 / 1e6 / step) * step; tm <= t1 / 1e6 && count < 400; tm += step, count++) {
      const t = tm * 1e6;
      if (t < t0 || D.axis.breaks.some(([a, b]) => t > a && t < b)) continue;
      const x = xOf(t);
      if (x - lastX < 70) continue;
      lastX = x;
      line(x, TOP - 6, x, bottom);
      const digits = step < 0.01 ? 3 : step < 0.1 ? 2 : step < 1 ? 1 : 0;
      ctx.fillText(step >= 1000 ? `${+(tm / 1000).toFixed(3)} s` : tm.toFixed(digits) + " ms", x + 2, TOP - 10);
    }
    // violations on the axis
    ctx.fillStyle = "#d62728";
    for (const v of D.verdict.violations || []) {
      if (v.t === null || v.t < t0 || v.t > t1) continue;
      const x = xOf(v.t);
      ctx.beginPath(); ctx.moveTo(x - 5, 2); ctx.lineTo(x + 5, 2); ctx.lineTo(x, 11); ctx.fill();
    }
  }
  // Messages are batched: one path per (kind, dimmed, lost) for the lines and one for
  // the heads, stroked once each; a software canvas pays per stroke, not per segment.
  const ENDS_IN_A_BAR = new Set(["swallowed", "dropped", "stale", "fenced"]);
  const KIND_NO = { token: 0, marker: 1, candidate: 2, elected: 3 };
  function drawMessages(t0, t1, y, rowH, dim, bottom) {
    const seen = new Set(), batches = new Map();
    let drawn = 0, skipped = 0;
    const headLen = Math.min(7, Math.max(3, rowH * 0.3));
    const batch = (kind, dimmed, lost) => {
      const key = kind + (dimmed ? "-dim" : "") + (lost ? "-lost" : "");
      let b = batches.get(key);
      if (!b) batches.set(key, b = { kind, dimmed, lost, lines: new Path2D(), heads: new Path2D(), bars: new Path2D() });
      return b;
    };
    const seg = (path, x0, y0, x1, y1) => { path.moveTo(x0, y0); path.lineTo(x1, y1); };
    for (let j = upper(MSG_SENT, t1) - 1; j >= 0 && MSG_MAXEND[j] >= t0; j--) {
      const m = MSG[j];
      if (m.end < t0) continue;
      if (isNaN(y[m.src]) || (m.dst >= 0 && isNaN(y[m.dst]))) continue;
      const x1 = xOf(m.sent);
      // one message per link and kind in every 3 px: the rest would be drawn on top of it
      const key = ((KIND_NO[m.kind] * 1024 + m.src) * 1024 + (m.dst + 1)) * 1e6 + Math.round(x1 / 3);
      if (seen.has(key)) { skipped++; continue; }
      seen.add(key);
      drawn++;
      const y1 = y[m.src];
      const b = batch(m.kind, dim(m.src, m.dst), m.dst < 0);
      if (m.dst < 0) {
        const dy = Math.min(rowH * 0.45, 12) * (m.right ? 1 : -1);
        seg(b.lines, x1, y1, x1 + 10, y1 + dy);
        seg(b.bars, x1 + 7, y1 + dy - 3, x1 + 13, y1 + dy + 3); seg(b.bars, x1 + 13, y1 + dy - 3, x1 + 7, y1 + dy + 3);
        continue;
      }
      const x2 = xOf(m.recv), y2 = y[m.dst];
      const wraps = (m.right && m.dst <= m.src) || (!m.right && m.dst >= m.src);
      let hx = x1, hy = y1;
      if (wraps) {
        const xm = (x1 + x2) / 2, exitY = m.right ? bottom : TOP - 2, enterY = m.right ? TOP - 2 : bottom;
        seg(b.lines, x1, y1, xm, exitY);
        hx = xm; hy = enterY;
      }
      seg(b.lines, hx, hy, x2, y2);
      head(b, hx, hy, x2, y2, headLen, m);
    }
    for (const b of batches.values()) {
      ctx.globalAlpha = b.dimmed ? 0.12 : b.kind === "marker" ? 0.7 : 1;
      ctx.strokeStyle = ctx.fillStyle = MSGCOL[b.kind];
      ctx.lineWidth = b.kind === "token" ? 1.6 : b.kind === "marker" ? 0.9 : 1.3;
      ctx.setLineDash(b.lost ? [3, 2] : []);
      ctx.stroke(b.lines);
      ctx.setLineDash([]);
      ctx.fill(b.heads);
      ctx.lineWidth = 2;
      if (b.lost) ctx.strokeStyle = C.kill;
      ctx.stroke(b.bars);
    }
    ctx.globalAlpha = 1;
    drawStats.messages = drawn; drawStats.skipped = skipped;
  }
  function head(b, x1, y1, x2, y2, len, m) {
    const dx = x2 - x1, dy = y2 - y1, d = Math.hypot(dx, dy);
    if (d < 3 * len) return;
    const ux = dx / d, uy = dy / d;
    if (ENDS_IN_A_BAR.has(m.outcome)) {
      b.bars.moveTo(x2 - uy * len * 0.7, y2 + ux * len * 0.7);
      b.bars.lineTo(x2 + uy * len * 0.7, y2 - ux * len * 0.7);
      return;
    }
    b.heads.moveTo(x2, y2);
    b.heads.lineTo(x2 - ux * len - uy * len * 0.45, y2 - uy * len + ux * len * 0.45);
    b.heads.lineTo(x2 - ux * len + uy * len * 0.45, y2 - uy * len - ux * len * 0.45);
    // no closePath: fill closes each head, and closePath makes a long path quadratic here
  }
  function drawMarks(t0, t1, y, rowH) {
    const lo = upper(T, t0 - 1) , hi = upper(T, t1);
    const seen = new Set();
    const r = Math.max(2.5, Math.min(5, rowH * 0.22));
    const labelEnd = new Float64Array(N).fill(-1e9);   // a label only where the row has room
    const label = (p, x, yy, text, colour) => {
      if (rowH <= 14) return;
      ctx.font = "bold 9px sans-serif";
      if (x + 3 < labelEnd[p]) return;
      ctx.fillStyle = colour; ctx.fillText(text, x + 3, yy - r - 3);
      labelEnd[p] = x + 3 + ctx.measureText(text).width + 4;
    };
    for (let i = lo; i < hi; i++) {
      const e = EV[i], k = e[2], p = e[1];
      if (p < 0 || p >= N || isNaN(y[p])) continue;
      let what = null;
      if (k === K.FAULT || k === K.RESTARTED || k === K.LEADER || k === K.TOKEN_CREATED || k === K.TOKEN_FENCED ||
          k === K.TOKEN_DROPPED || k === K.TOKEN_INJECTED || k === K.LINK_DOWN || k === K.MESSAGE_LOST ||
          (k === K.NODE_EXITED && (e[5] || {}).exitcode !== 0)) what = k;
      if (what === null) continue;
      if (k === K.LINK_DOWN && view.stopT !== undefined && e[0] >= view.stopT) continue;
      const x = xOf(e[0]), yy = y[p];
      const key = k + "|" + p + "|" + Math.round(x);
      if (seen.has(key)) continue;
      seen.add(key);
      const xx = e[5] || {};
      ctx.lineWidth = 2;
      if (k === K.FAULT) {
        if (xx.fault === "SIGSTOP" || xx.fault === "SIGCONT") {
          ctx.strokeStyle = "#21618c"; line(x, yy - rowH * 0.42, x, yy + rowH * 0.42);
        } else {
          ctx.strokeStyle = xx.fault === "SIGTERM" ? C.term : C.kill;
          line(x - r, yy - r, x + r, yy + r); line(x + r, yy - r, x - r, yy + r);
        }
        label(p, x, yy, String(xx.fault), C.kill);
      } else if (k === K.RESTARTED) {
        ctx.fillStyle = C.restart; circle(x, yy, r);
        label(p, x, yy, `↻ pid ${e[3]}`, C.restart);
      } else if (k === K.LEADER) {
        ctx.fillStyle = "#f2c12e"; ctx.strokeStyle = "#7a5c00"; ctx.lineWidth = 0.8;
        ctx.beginPath();
        star(x, yy, r * 1.5).split(" ").forEach((pt, j) => { const [a, b] = pt.split(","); j ? ctx.lineTo(+a, +b) : ctx.moveTo(+a, +b); });
        ctx.closePath(); ctx.fill(); ctx.stroke();
      } else if (k === K.TOKEN_CREATED || k === K.TOKEN_INJECTED) {
        ctx.fillStyle = C.token; circle(x, yy, r);
        if (k === K.TOKEN_INJECTED) { ctx.strokeStyle = C.kill; ctx.lineWidth = 1.5; ctx.stroke(); }
      } else if (k === K.TOKEN_FENCED || k === K.TOKEN_DROPPED) {
        ctx.fillStyle = "#fff"; ctx.strokeStyle = C.stale; ctx.lineWidth = 1.6; circle(x, yy, r); ctx.stroke();
        line(x - r * 0.7, yy + r * 0.7, x + r * 0.7, yy - r * 0.7);
      } else if (k === K.LINK_DOWN) {
        ctx.fillStyle = C.eof; ctx.beginPath();
        const up = xx.side === "left";
        ctx.moveTo(x - r * 0.8, yy + (up ? -2 : 2)); ctx.lineTo(x, yy + (up ? -2 - r * 1.5 : 2 + r * 1.5)); ctx.lineTo(x + r * 0.8, yy + (up ? -2 : 2)); ctx.fill();
      } else if (k === K.MESSAGE_LOST) {
        ctx.strokeStyle = C.kill; line(x - r, yy - r, x + r, yy + r); line(x + r, yy - r, x - r, yy + r);
      } else {
        ctx.fillStyle = "#222"; ctx.fillRect(x - r * 0.7, yy - r * 0.7, r * 1.4, r * 1.4);
      }
    }
  }
  function circle(x, y, r) { ctx.beginPath(); ctx.arc(x, y, r, 0, 2 * Math.PI); ctx.fill(); }
  function drawMatches(t0, t1) {
    if (!view.matches || !view.matches.length) return;
    ctx.fillStyle = "#ff7f0e";
    let last = -1;
    for (const i of view.matches) {
      if (T[i] < t0) continue;
      if (T[i] > t1) break;
      const x = Math.round(xOf(T[i]));
      if (x === last) continue;
      last = x;
      ctx.fillRect(x - 1, TOP - 5, 2, 6);
    }
  }
  function placeCursor() {
    const x = xOf(view.t);
    cursorEl.style.display = x < GUTTER - 2 || x > geo.w - RIGHT + 2 ? "none" : "block";
    cursorEl.style.left = x + "px";
    cursorEl.dataset.x = x.toFixed(1);
  }
  // shutdown: the EOFs of the orderly stop are not news
  (function () {
    for (let i = 0; i < NE; i++) {
      if (EV[i][2] === K.RING_STOPPING || (EV[i][2] === K.NODE_STOPPING && (EV[i][5] || {}).reason === "shutdown")) { view.stopT = T[i]; break; }
    }
  })();

  // --- the diagram's mouse: click = cursor, drag = pan, wheel = zoom, hover = tip
  let drag = null;
  const tip = document.getElementById("hovertip");
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.offsetX, v0: view.v0, v1: view.v1, moved: false }; });
  window.addEventListener("mouseup", (ev) => {
    if (drag && !drag.moved && ev.target === canvas) setTime(tOf(uOfX(ev.offsetX)));
    drag = null;
  });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag) {
      const dx = ev.offsetX - drag.x;
      if (Math.abs(dx) > 3) drag.moved = true;
      if (drag.moved) {
        const du = -dx / geo.plotW * (drag.v1 - drag.v0);
        setView(drag.v0 + du, drag.v1 + du);
      }
      return;
    }
    hover(ev.offsetX, ev.offsetY);
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    zoom(ev.deltaY < 0 ? 1 / 1.3 : 1.3, uOfX(ev.offsetX));
  }, { passive: false });
  function hover(x, y) {
    const row = geo.rows.find((p) => Math.abs(geo.y[p] - y) <= Math.max(4, geo.rowH / 2));
    if (row === undefined) { tip.hidden = true; return; }
    const ta = tOf(uOfX(x - 5)), tb = tOf(uOfX(x + 5));
    const list = BY_POS[row];
    let best = null;
    for (let a = lowerIdx(list, ta); a < list.length && T[list[a]] <= tb; a++) {
      const i = list[a];
      if (best === null || Math.abs(xOf(T[i]) - x) < Math.abs(xOf(T[best]) - x)) best = i;
    }
    if (best === null) { tip.hidden = true; return; }
    tip.hidden = false;
    tip.textContent = describe(best);
    tip.style.left = Math.min(x + 12, geo.w - 300) + "px";
    tip.style.top = (y + 14) + "px";
  }
  function lowerIdx(list, t) {       // first position in list (event indices) with T >= t
    let lo = 0, hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (T[list[mid]] < t) lo = mid + 1; else hi = mid; }
    return lo;
  }
  function setView(v0, v1) {
    const span = Math.min(U_END, Math.max(v1 - v0, 1000));
    v0 = Math.max(0, Math.min(v0, U_END - span));
    view.v0 = v0; view.v1 = v0 + span;
    scheduleDiagram();
  }
  function zoom(factor, around) {
    if (around === undefined) around = uOf(view.t);
    setView(around - (around - view.v0) * factor, around + (view.v1 - around) * factor);
  }
  let diagramQueued = false;
  function scheduleDiagram() {
    if (diagramQueued) return;
    diagramQueued = true;
    requestAnimationFrame(() => { diagramQueued = false; drawDiagram(); });
  }

  // --- describing events
  function fields(i) {
    const x = EV[i][5];
    if (!x) return "";
    return Object.entries(x).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
  }
  function describe(i) {
    const e = EV[i];
    return `${ms(e[0])}  p${e[1]} (id ${ids[e[1]] ?? e[4]}, pid ${e[3]})  ${kindName(i)}  ${fields(i)}`;
  }

  // --- the cursor ---------------------------------------------------------------------
  function setTime(t, opts) {
    view.t = Math.max(0, Math.min(SPAN, t));
    view.i = upper(T, view.t) - 1;
    view.onEvent = false;
    update(opts);
  }
  function setIndex(i, opts) {
    i = Math.max(-1, Math.min(NE - 1, i));
    view.i = i; view.t = i >= 0 ? T[i] : 0; view.onEvent = i >= 0;
    update(opts);
  }
  const scrub = document.getElementById("scrubber");
  function update(opts) {
    const started = performance.now();
    drawRing();
    placeCursor();
    if (!(opts && opts.keepView)) follow();
    if (!(opts && opts.fromScrubber)) scrub.value = Math.round(uOf(view.t) / U_END * 1e6);
    document.getElementById("clock").textContent = `${ms(view.t)} / ${ms(SPAN)}`;
    document.getElementById("eventline").textContent = view.i >= 0
      ? `event ${view.i + 1} of ${NE}${view.onEvent ? "" : " (last before the cursor)"}: ${describe(view.i)}` : `before the first event (${NE} events)`;
    if (view.selected !== null && (!view.playing || performance.now() - lastPanel > 250)) drawPanel();
    scheduleHash();
    view.lastUpdateMs = performance.now() - started;
  }
  function follow() {
    const u = uOf(view.t), span = view.v1 - view.v0;
    if (u < view.v0 || u > view.v1) setView(u - span * (view.playing ? 0.1 : 0.5), u + span * (view.playing ? 0.9 : 0.5));
  }
  scrub.addEventListener("input", () => setTime(tOf(scrub.value / 1e6 * U_END), { fromScrubber: true }));

  // --- stepping and kinds of events
  const GROUP = {};
  for (const [g, kinds] of Object.entries(D.groups)) GROUP[g] = new Set(kinds.map((k) => D.kinds.indexOf(k)).filter((k) => k >= 0));
  function stepGroup(group, dir) {
    if (group === "violation") {
      const ts = (D.verdict.violations || []).map((v) => v.t).filter((t) => t !== null).sort((a, b) => a - b);
      const t = dir > 0 ? ts.find((v) => v > view.t) : ts.reverse().find((v) => v < view.t);
      if (t !== undefined) setIndex(upper(T, t) - 1);
      return;
    }
    const set = GROUP[group];
    for (let i = view.i + dir; i >= 0 && i < NE; i += dir) if (set.has(EV[i][2])) { setIndex(i); return; }
  }
  document.querySelectorAll("button[data-group]").forEach((b) => b.addEventListener("click", (ev) => stepGroup(b.dataset.group, ev.shiftKey ? -1 : 1)));
  document.getElementById("first").onclick = () => setIndex(0);
  document.getElementById("prev").onclick = () => setIndex(view.i - (view.onEvent ? 1 : 0));
  document.getElementById("next").onclick = () => setIndex(view.i + 1);

  // --- play
  const SPEEDS = [0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1];
  const speedEl = document.getElementById("speed");
  SPEEDS.forEach((s, j) => { const o = document.createElement("option"); o.value = j; o.textContent = s >= 1 ? "real time" : `${s}× real time`; speedEl.appendChild(o); });
  // the fastest speed that still takes about 15 s or more for the whole run
  view.speed = Math.max(0, SPEEDS.map((s) => U_END / (1e6 * s) >= 15000).lastIndexOf(true));
  speedEl.value = view.speed;
  speedEl.onchange = () => { view.speed = +speedEl.value; };
  const playEl = document.getElementById("play");
  let lastFrame = 0, lastPanel = 0;
  function play(on) {
    view.playing = on === undefined ? !view.playing : on;
    playEl.textContent = view.playing ? "⏸" : "▶";
    if (view.playing) {
      if (view.t >= SPAN) setIndex(0);
      lastFrame = performance.now();
      requestAnimationFrame(frame);
    } else update();
  }
  function frame(now) {
    if (!view.playing) return;
    const du = (now - lastFrame) * 1e6 * SPEEDS[view.speed];
    lastFrame = now;
    const t = tOf(uOf(view.t) + du);
    setTime(t);
    if (t >= SPAN) { play(false); return; }
    requestAnimationFrame(frame);
  }
  playEl.onclick = () => play();

  // --- search: never decimated, every event is looked at
  const searchEl = document.getElementById("search"), searchInfo = document.getElementById("searchinfo");
  function compile(text) {
    const tests = [];
    for (const term of text.trim().split(/\s+/).filter(Boolean)) {
      const m = term.match(/^([a-z_]+)[:=](.+)$/i);
      if (m) {
        const key = m[1].toLowerCase(), val = m[2], num = Number(val);
        if (key === "kind") tests.push((i) => kindName(i).includes(val));
        else if (key === "node" || key === "pos" || key === "p") tests.push((i) => EV[i][1] === num);
        else if (key === "id") tests.push((i) => { const x = extra(i); return ids[EV[i][1]] === num || EV[i][4] === num || x.candidate_id === num || x.leader_id === num; });
        else if (key === "pid") tests.push((i) => EV[i][3] === num);
        else tests.push((i) => { const v = extra(i)[key]; return v !== undefined && (v === num || String(v) === val || JSON.stringify(v) === val); });
      } else if (/^p\d+$/.test(term)) { const p = +term.slice(1); tests.push((i) => EV[i][1] === p); }
      else { const low = term.toLowerCase(); tests.push((i) => kindName(i).includes(low) || (EV[i][5] !== 0 && JSON.stringify(EV[i][5]).toLowerCase().includes(low))); }
    }
    return tests;
  }
  function runSearch() {
    const tests = compile(searchEl.value);
    if (!tests.length) { view.matches = null; searchInfo.textContent = ""; scheduleDiagram(); return; }
    const found = [];
    for (let i = 0; i < NE; i++) { let ok = true; for (const test of tests) if (!test(i)) { ok = false; break; } if (ok) found.push(i); }
    view.matches = Int32Array.from(found);
    searchInfo.textContent = found.length ? `${found.length} matching events (Enter: next, shift+Enter: previous)` : "no matching event";
    scheduleDiagram();
  }
  function stepMatch(dir) {
    if (!view.matches || !view.matches.length) return;
    const ms_ = view.matches;
    let i = dir > 0 ? ms_.find((j) => j > view.i) : [...ms_].reverse().find((j) => j < view.i);
    if (i === undefined) i = dir > 0 ? ms_[0] : ms_[ms_.length - 1];     // wrap around
    setIndex(i);
    const pos = ms_.indexOf(i);
    searchInfo.textContent = `match ${pos + 1} of ${ms_.length}: ${kindName(i)} at p${EV[i][1]}`;
  }
  let searchTimer = 0;
  searchEl.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 120); });
  searchEl.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { clearTimeout(searchTimer); if (!view.matches) runSearch(); stepMatch(ev.shiftKey ? -1 : 1); ev.preventDefault(); }
    if (ev.key === "Escape") searchEl.blur();
  });

  // --- hide / highlight
  function parseSet(text) {
    const out = new Set();
    for (const part of text.split(",").map((s) => s.trim()).filter(Boolean)) {
      const m = part.match(/^p?(\d+)(?:-p?(\d+))?$/);
      if (!m) return null;
      const a = +m[1], b = m[2] === undefined ? a : +m[2];
      for (let p = Math.min(a, b); p <= Math.max(a, b) && p < N; p++) out.add(p);
    }
    return out;
  }
  const hlEl = document.getElementById("highlight"), hideEl = document.getElementById("hide");
  function setsChanged(el, which) {
    const parsed = parseSet(el.value);
    el.style.borderColor = parsed ? "" : "#d62728";
    if (!parsed) return;
    view[which] = parsed;
    drawRing(); scheduleDiagram();
  }
  hlEl.addEventListener("input", () => setsChanged(hlEl, "highlight"));
  hideEl.addEventListener("input", () => setsChanged(hideEl, "hidden"));
  function showSet(el, set) { el.value = [...set].sort((a, b) => a - b).join(","); el.style.borderColor = ""; }
  function toggle(set, p) {
    if (set.has(p)) set.delete(p); else set.add(p);
    showSet(hlEl, view.highlight); showSet(hideEl, view.hidden);
    drawRing(); scheduleDiagram();
  }

  // --- the node panel
  const panel = document.getElementById("nodepanel");
  function select(p) {
    view.selected = p;
    panel.hidden = p === null;
    if (p !== null) drawPanel();
    drawRing(); scheduleDiagram(); scheduleHash();
  }
  function drawPanel() {
    lastPanel = performance.now();
    const p = view.selected, s = stateAfter(view.i + 1), n = s.nodes[p], holds = holdsAt(p, view.t);
    const list = BY_POS[p], upto = upper(list, view.i);   // this node's events up to the cursor
    const from = Math.max(0, upto - 300);
    const harness = new Set(D.harnessKinds);
    let rows = "";
    for (let a = from; a < upto; a++) {
      const i = list[a];
      rows += `<div data-i="${i}" class="${harness.has(kindName(i)) ? "harness" : ""}">${(T[i] / 1e6).toFixed(3).padStart(10)}  ${esc(kindName(i))}  ${esc(fields(i))}</div>`;
    }
    const st = [
      ["life", lifeWord(n, true)], ["pid", n.pid + (n.inc > 1 ? ` (incarnation ${n.inc})` : "")],
      ["role", n.role.replace("_", " ")], ["round", n.round], ["epoch (highest token seen)", n.epoch],
      ["fence (highest epoch or round seen)", n.fence],
      ["holds", holds.length ? holds.map((h) => `token e${h.epoch}` + (h.stale >= 0 && h.stale <= view.t ? " (stale)" : "")).join(", ") : "no token"],
      ["leader known", n.leader ?? "-"], ["bypassed", n.bypassed ? "yes" : "no"],
      ["links", `left ${linkState(n.downL)}, right ${linkState(n.downR)}`],
      ["snapshot", n.snap ? `recording (${n.snap})` : n.lastSnap ? `last part (${n.lastSnap.sid}): ${n.lastSnap.tokens} token(s)` : "-"],
    ];
    panel.innerHTML = `<h2>p${p} · id ${ids[p]} <button data-act="hl">${view.highlight.has(p) ? "unhighlight" : "highlight"}</button> ` +
      `<button data-act="hide">${view.hidden.has(p) ? "show" : "hide"}</button> <button data-act="close">close</button></h2>` +
      `<table class="state">${st.map(([a, b]) => `<tr><td>${a}</td><td data-field="${a.split(" ")[0]}"><b>${esc(b)}</b></td></tr>`).join("")}</table>` +
      `<div>events up to the cursor (${upto}${upto > 300 ? ", the last 300 shown" : ""}):</div><div class="log">${rows}</div>`;
    const log = panel.querySelector(".log");
    log.scrollTop = log.scrollHeight;
    panel.scrollTop = panel.scrollHeight;
  }
  panel.addEventListener("click", (ev) => {
    const row = ev.target.closest("[data-i]");
    if (row) { setIndex(+row.dataset.i); return; }
    const act = ev.target.dataset && ev.target.dataset.act;
    if (act === "close") select(null);
    else if (act === "hl") { toggle(view.highlight, view.selected); drawPanel(); }
    else if (act === "hide") { toggle(view.hidden, view.selected); drawPanel(); }
  });

  // --- the verdict
  (function drawVerdict() {
    const v = D.verdict, el = document.getElementById("verdict");
    const list = v.violations || [];
    const src = v.source ? ` (${esc(v.source)})` : "";
    if (!list.length) {
      el.className = v.complete === false ? "unjudged" : "ok";
      el.innerHTML = `✓ checker${src}: every invariant held` + (v.checked ? ` — ${esc(v.checked.join(", "))}` : "") +
        (v.note ? `<div class="note">${esc(v.note)}</div>` : "");
    } else {
      el.className = "bad";
      el.innerHTML = `✗ checker${src}: ${list.length} violation${list.length > 1 ? "s" : ""}<ol>` +
        list.map((x) => `<li>${x.t === null ? "" : `<a data-t="${x.t}" href="#t=${(x.t / 1e6).toFixed(6)}">${ms(x.t)}</a> `}` +
          `<b>${esc(x.invariant)}</b>: ${esc(x.detail)}</li>`).join("") + `</ol>` +
        (v.note ? `<div class="note">${esc(v.note)}</div>` : "");
      el.style.paddingLeft = "8px";
      el.querySelectorAll("a[data-t]").forEach((a) => a.addEventListener("click", (ev) => { ev.preventDefault(); setIndex(upper(T, +a.dataset.t) - 1); }));
    }
    const counts = {};
    for (const m of MSG) counts[m.kind] = (counts[m.kind] || 0) + 1;
    document.getElementById("subtitle").textContent = `${N} nodes · ${NE} events · ` +
      D.messageKinds.filter((k) => counts[k]).map((k) => `${counts[k]} ${k}`).join(", ") + ` messages · ${ms(SPAN)}`;
    document.getElementById("ringlegend").innerHTML =
      `<span style="color:${C.token}">● token</span><span style="color:${C.marker}">◆ marker</span>` +
      `<span style="color:${C.candidate}">▬ candidate ID</span><span style="color:${C.elected}">▬ ★ announcement</span>` +
      `<span style="color:#21618c">● stopped</span><span style="color:#d62728">● killed, not reaped</span>` +
      `<span>● dead (reaped)</span><span style="color:#e6a800">★ leader</span><span style="color:#1f6fb4">◯ candidate</span>` +
      `<span style="color:#8b1a1a">- - link down</span> · click a node; shift-click highlights, alt-click hides`;
  })();

  // --- the address holds the instant
  let hashTimer = 0;
  function fragment() {
    return `t=${(view.t / 1e6).toFixed(6)}` + (view.onEvent ? `&e=${view.i}` : "") + (view.selected !== null ? `&node=${view.selected}` : "");
  }
  function scheduleHash() {           // throttled: at most one write per interval, the latest
    if (hashTimer) return;
    hashTimer = setTimeout(() => {
      hashTimer = 0;
      const want = "#" + fragment();
      if (location.hash === want) return;
      try { history.replaceState(null, "", want); } catch (err) { location.replace(want); }
    }, view.playing ? 400 : 60);
  }
  function readHash() {
    const args = new URLSearchParams(location.hash.slice(1));
    const node = args.get("node");
    if (node !== null && +node >= 0 && +node < N) { view.selected = +node; panel.hidden = false; }
    if (args.has("e") && args.get("e") !== "" && Number.isInteger(+args.get("e"))) setIndex(+args.get("e"));
    else if (args.has("t") && isFinite(parseFloat(args.get("t")))) setTime(parseFloat(args.get("t")) * 1e6);
    else setIndex(-1);
  }
  window.addEventListener("hashchange", readHash);

  // --- keys
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "INPUT" && ev.target.type !== "range") return;
    if (ev.ctrlKey || ev.metaKey) return;
    const back = ev.shiftKey ? -1 : 1;
    const k = ev.key;
    let done = true;
    if (k === " ") play();
    else if (k === "ArrowRight") setIndex(view.i + (ev.shiftKey ? 10 : 1));
    else if (k === "ArrowLeft") setIndex(view.i - (ev.shiftKey ? 10 : (view.onEvent ? 1 : 0)));
    else if (k === "Home") setIndex(0);
    else if (k === "End") setIndex(NE - 1);
    else if ("fFsSeEtTvV".includes(k) && k.length === 1) stepGroup({ f: "fault", s: "snapshot", e: "election", t: "token", v: "violation" }[k.toLowerCase()], back);
    else if (k === "n" || k === "N") stepMatch(back);
    else if (k === "/") searchEl.focus();
    else if (k === "[") { view.speed = Math.max(0, view.speed - 1); speedEl.value = view.speed; }
    else if (k === "]") { view.speed = Math.min(SPEEDS.length - 1, view.speed + 1); speedEl.value = view.speed; }
    else if (k === "+" || k === "=") zoom(1 / 1.5);
    else if (k === "-") zoom(1.5);
    else if (k === "0") setView(0, U_END);
    else if (k === "h" && view.selected !== null) { toggle(view.highlight, view.selected); drawPanel(); }
    else if (k === "x" && view.selected !== null) { toggle(view.hidden, view.selected); drawPanel(); }
    else if (k === "Escape") { select(null); document.getElementById("helpbox").hidden = true; }
    else if (k === "?") { const hb = document.getElementById("helpbox"); hb.hidden = !hb.hidden; }
    else done = false;
    if (done) ev.preventDefault();
  });
  document.getElementById("help").onclick = () => { const hb = document.getElementById("helpbox"); hb.hidden = !hb.hidden; };
  document.getElementById("zoomin").onclick = () => zoom(1 / 1.5);
  document.getElementById("zoomout").onclick = () => zoom(1.5);
  document.getElementById("zoomfit").onclick = () => setView(0, U_END);
  window.addEventListener("resize", scheduleDiagram);

  // --- start
  layout();
  readHash();
  drawDiagram();
  window.ringview = {
    ready: true, loadMs: performance.now(), events: NE, messages: MSG.length,
    setTime, setIndex, get view() { return view; }, drawStats: () => drawStats,
    nodeState: (p) => Object.assign({}, stateAfter(view.i + 1).nodes[p]),
    timeOf: (u) => tOf(u), xOfTime: (t) => xOf(t), uEnd: U_END, redraw: drawDiagram,
    search: (text) => { searchEl.value = text; runSearch(); return view.matches ? view.matches.length : 0; },
  };
  document.body.dataset.ready = "true";
})();
