// cuebox operator's page. Plain JS, no dependencies: the box serves it
// from its binary. State comes as Server-Sent Events (/api/live): "status"
// frames 25 times a second (what plays, meters, clock, lock, playhead) and
// "box" events (the box's event stream). Commands go to /api/act with the
// session's CSRF token.
"use strict";

const $ = (id) => document.getElementById(id);
const HOLD_MS = 600;
const MODES = { go: "go", stop: "stop", fade: "fade_out", pause: "pause", audition: "audition" };
const NOT_BANNERS = new Set(["showctl_refused", "api_refused", "api_closed"]);
const RANK = { view: 0, control: 1, edit: 2 };

const state = {
  role: null, csrf: null, layout: null, session: null,
  page: 0, tab: 0, followDeck: true, mode: "go", dual: false,
  deck: null, cells: new Map(), fading: new Set(), frames: 0, live: null,
  readyAt: null, lastFrame: null, warnings: [], editing: null,
};
// For tests and the benchmark: the page's own state and command path.
window.cuebox = state;

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": state.csrf || "" },
    body: JSON.stringify(body),
  };
  const res = await fetch(path, init);
  let data = {};
  try { data = await res.json(); } catch (_) { /* empty answer */ }
  if (res.status === 401 && path !== "/api/login") showLogin();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

// A command for now: the same path a tap takes.
state.act = async (command) => {
  try {
    return await api("/api/act", command);
  } catch (e) {
    banner(e.message);
    throw e;
  }
};

// The warnings banner: the latest few, newest first, until dismissed.
function banner(text) {
  state.warnings = [text, ...state.warnings.filter((w) => w !== text)].slice(0, 3);
  $("banner-text").textContent = state.warnings.join("\n");
  $("banner").hidden = false;
}

function showLogin() {
  if (state.live) { state.live.close(); state.live = null; }
  state.role = null;
  state.csrf = null;
  state.frames = 0;
  $("app").hidden = true;
  $("login").hidden = false;
  $("passcode").focus();
}

async function start(me) {
  state.role = me.role;
  state.csrf = me.csrf;
  $("login").hidden = true;
  $("app").hidden = false;
  $("role").textContent = me.role;
  const viewOnly = RANK[me.role] < RANK.control;
  document.body.classList.toggle("view-only", viewOnly);
  for (const b of document.querySelectorAll(".act, .go, .hold, .mode")) b.disabled = viewOnly;
  $("lock-button").disabled = viewOnly;
  $("levels").hidden = RANK[me.role] < RANK.edit;
  $("edit-mode").hidden = RANK[me.role] < RANK.edit;
  if (RANK[me.role] < RANK.edit && state.mode === "edit") pickMode("go");
  closeEditor();
  await loadLayout();
  follow();
}

async function loadLayout() {
  try {
    state.layout = await api("/api/layout");
  } catch (e) {
    state.layout = { pages: [] };
    banner(e.message);
  }
  drawPages();
}

function follow() {
  const live = new EventSource("/api/live");
  state.live = live;
  live.addEventListener("status", (e) => frame(JSON.parse(e.data)));
  live.addEventListener("box", (e) => boxEvent(JSON.parse(e.data)));
  live.addEventListener("lost", (e) => banner(`this page missed ${e.data} events (slow network)`));
  live.onerror = () => {
    // EventSource reconnects by itself; a session that ended needs a login.
    fetch("/api/me").then((r) => { if (r.status === 401) showLogin(); }).catch(() => {});
  };
}

function drawPages() {
  const pages = $("pages");
  pages.replaceChildren();
  const list = state.layout.pages || [];
  list.forEach((p, i) => {
    const b = document.createElement("button");
    b.textContent = p.name || `Page ${i + 1}`;
    b.dataset.page = i;
    b.addEventListener("click", () => { state.followDeck = false; show(i, state.tab); });
    pages.append(b);
  });
  if (list.length > 1) {
    // Dual page view: this page and the next side by side.
    const dual = document.createElement("button");
    dual.id = "dual";
    dual.textContent = "Dual";
    dual.classList.toggle("on", state.dual);
    dual.addEventListener("click", () => {
      state.dual = !state.dual;
      dual.classList.toggle("on", state.dual);
      show(state.page, state.tab);
    });
    pages.append(dual);
  }
  show(Math.min(state.page, Math.max(0, list.length - 1)), state.tab);
}

function show(page, tab) {
  state.page = page;
  state.tab = tab;
  const list = state.layout.pages || [];
  const p = list[page];
  for (const b of $("pages").children) {
    if (b.dataset.page !== undefined) b.classList.toggle("on", Number(b.dataset.page) === page);
  }
  const tabs = $("tabs");
  tabs.replaceChildren();
  const grid = $("grid");
  grid.replaceChildren();
  state.cells.clear();
  if (!p) return;
  p.tabs.forEach((t, i) => {
    const b = document.createElement("button");
    b.textContent = t.name || `Tab ${i + 1}`;
    b.dataset.tab = i;
    b.classList.toggle("on", i === tab);
    b.addEventListener("click", () => { state.followDeck = false; show(state.page, i); });
    tabs.append(b);
  });
  const shown = state.dual && list[page + 1] ? [page, page + 1] : [page];
  grid.classList.toggle("dual", shown.length > 1);
  for (const n of shown) grid.append(pane(list[n].tabs[tab], n));
  markDeck();
}

// One page's tab: its grid of buttons at its size.
function pane(t, page) {
  const el = document.createElement("div");
  el.className = "pane";
  el.dataset.page = page;
  el.style.gridTemplateColumns = `repeat(${t.cols}, minmax(88px, 1fr))`;
  const at = new Map(t.buttons.map((b) => [`${b.row}.${b.col}`, b]));
  for (let r = 1; r <= t.rows; r++) {
    for (let c = 1; c <= t.cols; c++) {
      const b = at.get(`${r}.${c}`);
      const cell = document.createElement("button");
      cell.className = "cell act";
      if (!b) {
        cell.classList.add("empty");
        cell.tabIndex = -1;
        el.append(cell);
        continue;
      }
      cell.classList.add(`group-${b.group}`);
      cell.dataset.clip = b.clip;
      cell.dataset.state = "idle";
      cell.disabled = RANK[state.role] < RANK.control;
      const name = document.createElement("span");
      name.className = "name";
      name.textContent = b.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      const cue = document.createElement("span");
      cue.textContent = `${b.group} · ${b.cue || ""}`;
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = clock(b.seconds);
      meta.append(cue, time);
      const bar = document.createElement("span");
      bar.className = "bar";
      cell.append(name, meta, bar);
      cell.addEventListener("click", () => tap(b.clip));
      el.append(cell);
      const entry = { el: cell, bar, time, seconds: b.seconds, state: "idle" };
      state.cells.set(b.clip, [...(state.cells.get(b.clip) || []), entry]);
    }
  }
  return el;
}

function tap(clip) {
  if (state.mode === "edit") {
    openEditor(clip);
    return;
  }
  const cell = (state.cells.get(clip) || [])[0];
  let cmd = MODES[state.mode];
  if (state.mode === "pause" && cell && cell.state === "paused") cmd = "resume";
  state.act({ cmd, clip }).catch(() => {});
}

function clock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function timecode(seconds, fps = 25) {
  const f = Math.floor(seconds * fps);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(f / (3600 * fps)))}:${pad(Math.floor(f / (60 * fps)) % 60)}:${pad(Math.floor(f / fps) % 60)}:${pad(f % fps)}`;
}

function frame(f) {
  state.frames += 1;
  state.lastFrame = f;
  const s = f.status || {};
  if (s.session !== state.session) {
    const first = state.session === null;
    state.session = s.session;
    if (!first) loadLayout();
  }
  $("session").textContent = s.session || "no session";
  // The timebase's source and its timecode (the chased source's), and
  // whether it is locked to it; the show time while no clock runs.
  const c = f.clock;
  $("clock-source").textContent = c ? c.source : s.clock_source || "free";
  $("timecode").textContent = c ? c.timecode : timecode(s.show_seconds || 0);
  $("clock-state").textContent = c && c.state !== "free" ? c.state : "";
  $("clock-state").dataset.state = c ? c.state : "";
  $("editor-save").disabled = !!f.locked;
  $("dsp").textContent = `${Math.round((s.dsp_load || 0) * 100)}%`;
  $("xruns").textContent = s.xruns || 0;
  $("lock").hidden = !f.locked;
  $("lock-button").textContent = f.locked ? "Unlock" : "Lock";
  if (s.problem) banner(s.problem);
  for (const input of $("levels").querySelectorAll("input")) {
    // A locked show refuses edits: the sliders say so.
    input.disabled = !!f.locked;
    const db = (f.levels || {})[input.dataset.group];
    if (db !== undefined && document.activeElement !== input) {
      input.value = db;
      input.nextElementSibling.textContent = Number(db).toFixed(1);
    }
  }
  const playing = new Map();
  for (const p of s.playing || []) playing.set(p.clip, p);
  // The earliest start of each clip still to come.
  const queued = new Map();
  for (const q of s.queued || []) if (!queued.has(q.clip)) queued.set(q.clip, q);
  for (const [clip, cells] of state.cells) {
    const p = playing.get(clip);
    const q = queued.get(clip);
    let st = "idle";
    if (p) st = p.paused ? "paused" : state.fading.has(clip) ? "fading" : "playing";
    else if (q) st = "queued";
    for (const cell of cells) {
      if (cell.state !== st) {
        cell.state = st;
        cell.el.dataset.state = st;
      }
      const pos = p ? p.position : 0;
      const share = cell.seconds > 0 ? Math.min(1, pos / cell.seconds) : 0;
      cell.bar.style.transform = `scaleX(${share})`;
      cell.el.dataset.progress = share.toFixed(4);
      cell.time.textContent = p ? `-${clock(cell.seconds - pos)}`
        : q ? `in ${q.due_in.toFixed(1)} s` : clock(cell.seconds);
      cell.el.dataset.queued = q ? q.at_sample : "";
    }
  }
  for (const clip of state.fading) if (!playing.has(clip)) state.fading.delete(clip);
  meters(s.meters || []);
  deck(f.deck);
  if (state.readyAt === null) state.readyAt = performance.now();
}

function deck(d) {
  if (!d) return;
  const moved = !state.deck || state.deck.page !== d.page || state.deck.tab !== d.tab || state.deck.cue !== d.cue;
  state.deck = d;
  if (!moved) return;
  $("next-cue").textContent = d.cue ? `${d.cue}` : d.end ? "end of tab" : "–";
  if (state.followDeck && (state.page !== d.page - 1 || state.tab !== d.tab - 1)) {
    show(d.page - 1, d.tab - 1);
  } else {
    markDeck();
  }
}

function markDeck() {
  const d = state.deck;
  for (const b of $("pages").children) b.classList.toggle("deck", !!d && Number(b.dataset.page) === d.page - 1);
  for (const b of $("tabs").children) b.classList.toggle("deck", !!d && state.page === d.page - 1 && Number(b.dataset.tab) === d.tab - 1);
  for (const [clip, cells] of state.cells) for (const c of cells) c.el.classList.toggle("next", !!d && d.clip === clip);
}

const DB_FLOOR = -60;
const height = (db) => Math.max(0, Math.min(1, (db - DB_FLOOR) / -DB_FLOOR));

function meters(list) {
  const box = $("meters");
  if (box.children.length !== list.length) {
    box.replaceChildren();
    for (const m of list) {
      const meter = document.createElement("div");
      meter.className = "meter";
      meter.dataset.bus = m.bus;
      const chans = document.createElement("div");
      chans.className = "chans";
      for (let i = 0; i < m.channels.length; i++) {
        const c = document.createElement("div");
        c.className = "chan";
        for (const k of ["peak", "rms", "hold"]) {
          const e = document.createElement("div");
          e.className = k;
          c.append(e);
        }
        c.addEventListener("click", () => c.classList.remove("clip"));
        chans.append(c);
      }
      const label = document.createElement("span");
      label.textContent = m.bus;
      meter.append(chans, label);
      box.append(meter);
    }
  }
  list.forEach((m, i) => {
    const meter = box.children[i];
    let top = DB_FLOOR;
    m.channels.forEach((ch, j) => {
      const c = meter.firstChild.children[j];
      if (!c) return;
      c.children[0].style.transform = `scaleY(${height(ch.peak_dbfs)})`;
      c.children[1].style.transform = `scaleY(${height(ch.rms_dbfs)})`;
      c.children[2].style.bottom = `${height(ch.hold_dbfs) * 100}%`;
      if (ch.peak_dbfs >= -0.1) c.classList.add("clip");
      top = Math.max(top, ch.peak_dbfs);
    });
    meter.dataset.peak = top.toFixed(1);
  });
}

function boxEvent(e) {
  if (e.event === "accepted" && e.command) {
    if (e.command.cmd === "fade_out") state.fading.add(e.command.clip);
    if (e.command.cmd === "fade_all") {
      for (const [clip, cells] of state.cells) if (cells[0].state === "playing") state.fading.add(clip);
    }
  }
  if (e.event === "stopped") state.fading.delete(e.clip);
  if (e.event === "lock") $("lock").hidden = !e.locked;
  if (e.event === "clock_switch") {
    // A failover is worth a glance even when it went well.
    banner(`clock: ${e.from || "flywheel"} → ${e.to || "flywheel"} (${e.reason})`);
  }
  if (e.trouble && !NOT_BANNERS.has(e.event)) {
    const why = e.detail || e.reason || e.why || "";
    banner(`${e.event.replace(/_/g, " ")}${e.clip ? ` ${e.clip}` : ""}${why ? `: ${why}` : ""}`);
  }
}

// The clip editor (an edit login's Edit mode): the clip's level and fade
// times as the box plays them; Save sends what changed, with the show's
// edit generation they were read at.
async function openEditor(clip) {
  try {
    const v = await api(`/api/clip/${encodeURIComponent(clip)}`);
    state.editing = v;
    $("editor-name").textContent = v.name;
    $("edit-level").value = v.level_db;
    $("edit-fade-in").value = v.fade_in;
    $("edit-fade-out").value = v.fade_out;
    $("editor-error").textContent = "";
    $("editor").hidden = false;
  } catch (e) {
    banner(e.message);
  }
}

function closeEditor() {
  state.editing = null;
  $("editor").hidden = true;
}

// An edit of a clip, as the editor's Save sends it: what the box did.
state.edit = (body) => api("/api/edit", body);

async function saveEditor() {
  const v = state.editing;
  if (!v) return;
  const body = { clip: v.clip, generation: v.generation };
  for (const [key, id] of [["level_db", "edit-level"], ["fade_in", "edit-fade-in"], ["fade_out", "edit-fade-out"]]) {
    const n = Number($(id).value);
    if (n !== v[key]) body[key] = n;
  }
  try {
    await state.edit(body);
    closeEditor();
  } catch (e) {
    $("editor-error").textContent = e.message;
    // Read again: another edit came first, or the show changed.
    try { state.editing = await api(`/api/clip/${encodeURIComponent(v.clip)}`); } catch (_) { /* said above */ }
  }
}

function pickMode(mode) {
  state.mode = mode;
  for (const o of document.querySelectorAll(".mode")) o.classList.toggle("on", o.dataset.mode === mode);
  if (mode !== "edit") closeEditor();
}

function holdToConfirm(button) {
  const fill = button.querySelector(".fill");
  let timer = null;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
    fill.style.transition = "none";
    fill.style.transform = "scaleX(0)";
  };
  button.addEventListener("pointerdown", (e) => {
    if (button.disabled) return;
    e.preventDefault();
    fill.style.transition = `transform ${HOLD_MS}ms linear`;
    fill.style.transform = "scaleX(1)";
    timer = setTimeout(() => {
      cancel();
      state.act({ cmd: button.dataset.cmd }).catch(() => {});
    }, HOLD_MS);
  });
  for (const ev of ["pointerup", "pointerleave", "pointercancel"]) button.addEventListener(ev, cancel);
  button.addEventListener("contextmenu", (e) => e.preventDefault());
}

function wire() {
  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    try {
      const me = await api("/api/login", { passcode: $("passcode").value });
      $("passcode").value = "";
      await start(me);
    } catch (err) {
      $("login-error").textContent = err.message;
    }
  });
  $("logout").addEventListener("click", async () => {
    try { await api("/api/logout", {}); } finally { showLogin(); }
  });
  $("lock-button").addEventListener("click", () => {
    const locked = state.lastFrame && state.lastFrame.locked;
    state.act({ cmd: locked ? "unlock" : "lock" }).catch(() => {});
  });
  $("banner-close").addEventListener("click", () => {
    state.warnings = [];
    $("banner").hidden = true;
  });
  $("go").addEventListener("click", () => state.act({ cmd: "go_next" }).catch(() => {}));
  for (const m of document.querySelectorAll(".mode")) m.addEventListener("click", () => pickMode(m.dataset.mode));
  $("editor").addEventListener("submit", (e) => { e.preventDefault(); saveEditor(); });
  $("editor-close").addEventListener("click", closeEditor);
  for (const h of document.querySelectorAll(".hold")) holdToConfirm(h);
  for (const input of $("levels").querySelectorAll("input")) {
    input.addEventListener("input", () => { input.nextElementSibling.textContent = Number(input.value).toFixed(1); });
    input.addEventListener("change", () => {
      state.act({ cmd: "group_level", group: input.dataset.group, level_db: Number(input.value) }).catch(() => {});
    });
  }
  document.addEventListener("keydown", (e) => {
    if ($("app").hidden || e.target.tagName === "INPUT" || RANK[state.role] < RANK.control) return;
    if (e.code === "Space") {
      e.preventDefault();
      if (!e.repeat) state.act({ cmd: "go_next" }).catch(() => {});
    } else if (e.key === "Escape") {
      e.preventDefault();
      state.act({ cmd: "stop_all" }).catch(() => {});
    }
  });
}

wire();
fetch("/api/me")
  .then((r) => (r.ok ? r.json().then(start) : showLogin()))
  .catch(showLogin);
