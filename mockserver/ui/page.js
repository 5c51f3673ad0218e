"use strict";
// The mockserver dashboard. Everything it shows is put in the page as text nodes (never as HTML):
// prompts, paths and bodies are user input.
const CONFIG = JSON.parse(document.getElementById("config").textContent);
const TOKEN = new URLSearchParams(location.search).get("token");
const AUTH = TOKEN ? { "x-mock-token": TOKEN } : {};
const BASE = String(CONFIG.base_url || "").replace(/\/+$/, "");
const POLL_MS = 1000;
const KEY_HEADERS = ["authorization", "x-api-key", "x-goog-api-key", "mj-api-secret", "api-key"];

// ---------------------------------------------------------------------------------------------
// Small helpers

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Replace a node's children (nulls skipped, arrays flattened, strings as text).
function fill(node, ...children) {
  node.replaceChildren(...el("div", {}, ...children).childNodes);
}

function pretty(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function statusClass(status) {
  return status ? "s" + String(status)[0] : "muted";
}

function clockTime(seconds) {
  if (typeof seconds !== "number") return "";
  return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

function notice(message, isError) {
  const box = document.getElementById("notice");
  box.textContent = message || "";
  box.hidden = !message;
  box.classList.toggle("error", Boolean(isError));
}

// Links on the emulator's public URL are served by this very server: fetch them from the page's origin.
function localUrl(raw) {
  if (typeof raw !== "string" || !raw) return null;
  let url;
  try { url = new URL(raw, location.href); } catch (e) { return null; }
  if (url.protocol !== "http:" && url.protocol !== "https:") return null;
  if (BASE && raw.startsWith(BASE + "/")) return location.origin + raw.slice(BASE.length);
  return url.href;
}

async function api(method, path, body) {
  const init = { method, headers: { ...AUTH }, cache: "no-store" };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
  if (!response.ok) {
    const err = data && data.error;
    const message = err ? (err.message || JSON.stringify(err)) : (typeof data === "string" ? data : response.statusText);
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

// Media behind a control token cannot be loaded by a bare <img src>: fetch it with the header instead.
function setSource(node, url) {
  if (!TOKEN || !url.startsWith(location.origin + "/")) {
    node.src = url;
    return;
  }
  fetch(url, { headers: AUTH })
    .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`${r.status}`))))
    .then((blob) => { node.src = URL.createObjectURL(blob); })
    .catch((e) => { node.title = `could not load ${url}: ${e.message}`; });
}

// ---------------------------------------------------------------------------------------------
// Views and polling

const views = {};
let current = null;

function show(name) {
  const link = Object.hasOwn(views, name) ? document.querySelector(`nav a[data-view="${name}"]`) : null;
  if (!link || link.hidden) name = CONFIG.emulator ? "journal" : "cassettes";
  current = name;
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.dataset.view !== name;
  for (const link of document.querySelectorAll("nav a")) link.classList.toggle("active", link.dataset.view === name);
  refresh();
}

async function refresh() {
  const view = views[current];
  try {
    if (CONFIG.emulator) await refreshClock();
    if (view && view.refresh) await view.refresh();
    if (document.getElementById("notice").classList.contains("error")) notice("");
  } catch (e) {
    notice(`could not reach the emulator: ${e.message}`, true);
  }
}

function poll() {
  if (document.visibilityState === "visible") refresh().finally(() => setTimeout(poll, POLL_MS));
  else setTimeout(poll, POLL_MS);
}

// ---------------------------------------------------------------------------------------------
// Clock and reset

async function refreshClock() {
  const clock = await api("GET", "/__mock/clock");
  document.getElementById("clock-now").textContent = clockTime(clock.now);
  document.getElementById("clock-speed").textContent = clock.speed === 0 ? "(stopped)" : `(×${clock.speed})`;
}

async function advance(seconds) {
  try {
    await api("POST", "/__mock/clock/advance", { seconds });
    notice("");
    await refresh();
  } catch (e) {
    notice(e.message, true);
  }
}

function setupClock() {
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => advance(Number(button.dataset.advance)));
  }
  document.getElementById("clock-go").addEventListener("click", () => {
    const raw = document.getElementById("clock-seconds").value.trim();
    // Sent as typed when it is not a number, so the server names the problem.
    advance(raw !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw);
  });
  const reset = document.getElementById("reset");
  let armed = null;
  reset.addEventListener("click", async () => {
    if (!armed) {
      reset.textContent = "really reset?";
      armed = setTimeout(() => { reset.textContent = "reset"; armed = null; }, 4000);
      return;
    }
    clearTimeout(armed); armed = null; reset.textContent = "reset";
    try {
      await api("POST", "/__mock/reset", {});
      journal.clear();
      await refresh();
    } catch (e) { notice(e.message, true); }
  });
}

// ---------------------------------------------------------------------------------------------
// Journal (live, server-sent events read with fetch so the control token header goes along)

function keyOf(entry) {
  const headers = entry.headers || {};
  for (const [name, value] of Object.entries(headers)) {
    if (KEY_HEADERS.includes(name.toLowerCase())) return String(value).replace(/^Bearer\s+/i, "");
  }
  const match = /(?:^|&)(?:key|api_key|apikey)=([^&]*)/.exec(entry.query || "");
  return match ? decodeURIComponent(match[1]) : "";
}

function curlOf(entry) {
  const quote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
  const query = entry.query ? "?" + entry.query : "";
  const parts = ["curl", "-X", entry.method, quote(location.origin + entry.path + query)];
  const skip = ["host", "content-length", "connection", "accept-encoding", "user-agent"];
  const form = entry.body && typeof entry.body === "object" && /multipart|form/.test(entry.headers["content-type"] || "");
  for (const [name, value] of Object.entries(entry.headers || {})) {
    const lower = name.toLowerCase();
    if (skip.includes(lower) || (form && lower === "content-type")) continue;
    if (String(value).includes("***")) {
      // The journal masks secrets; the command reads the key from the environment instead.
      const scheme = /^(\w+)\s/.exec(value);
      parts.push("-H", `"${name}: ${scheme ? scheme[1] + " " : ""}$API_KEY"`);
    } else {
      parts.push("-H", quote(`${name}: ${value}`));
    }
  }
  if (form) {
    for (const [name, value] of Object.entries(entry.body)) {
      for (const item of Array.isArray(value) ? value : [value]) parts.push("-F", quote(`${name}=${typeof item === "string" ? item : JSON.stringify(item)}`));
    }
  } else if (entry.body !== null && entry.body !== undefined && entry.body !== "") {
    parts.push("--data-raw", quote(typeof entry.body === "string" ? entry.body : JSON.stringify(entry.body)));
  }
  return parts.join(" ");
}

const journal = {
  entries: new Map(),
  rows: new Map(),
  selected: null,
  last: 0,
  counting: false,

  clear() {
    this.entries.clear();
    this.rows.clear();
    this.selected = null;
    fill(document.querySelector("#journal-table tbody"));
    fill(document.getElementById("journal-detail"), el("p", { class: "muted" }, "Click a request to see it and its answer."));
    this.count();
  },

  matches(entry) {
    const op = document.getElementById("f-operation").value.trim().toLowerCase();
    const status = document.getElementById("f-status").value.trim().toLowerCase();
    const key = document.getElementById("f-key").value.trim();
    if (op && !String(entry.operation || "").toLowerCase().includes(op)) return false;
    if (status) {
      const got = String(entry.status ?? "");
      const wanted = status.replace(/x/g, "");
      if (status.includes("x") ? !got.startsWith(wanted) : got !== status) return false;
    }
    if (key && !keyOf(entry).includes(key)) return false;
    return true;
  },

  row(entry) {
    return el("tr", { "data-id": entry.id, onclick: () => this.select(entry.id) },
      el("td", {}, entry.id),
      el("td", {}, clockTime(entry.at)),
      el("td", {}, entry.method),
      el("td", { title: entry.path }, entry.path),
      el("td", {}, entry.operation || "–"),
      el("td", { class: statusClass(entry.status) }, entry.status ?? "…"),
      el("td", {}, keyOf(entry)));
  },

  put(entry) {
    const fresh = !this.entries.has(entry.id);
    this.entries.set(entry.id, entry);
    const body = document.querySelector("#journal-table tbody");
    const row = this.row(entry);
    row.hidden = !this.matches(entry);
    if (entry.id === this.selected) row.classList.add("selected");
    const old = this.rows.get(entry.id);
    if (old) old.replaceWith(row); else body.prepend(row);  // newest first
    this.rows.set(entry.id, row);
    if (!fresh && entry.id === this.selected) this.select(entry.id);
    this.count();
  },

  filter() {
    for (const [id, row] of this.rows) row.hidden = !this.matches(this.entries.get(id));
    this.count();
  },

  count() {
    // Once per frame: a backlog of a thousand entries arrives in one burst.
    if (this.counting) return;
    this.counting = true;
    requestAnimationFrame(() => {
      this.counting = false;
      const shown = [...this.rows.values()].filter((r) => !r.hidden).length;
      document.getElementById("journal-count").textContent = `${shown} of ${this.rows.size} requests`;
    });
  },

  select(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.selected = id;
    for (const row of this.rows.values()) row.classList.toggle("selected", Number(row.dataset.id) === id);
    const curl = curlOf(entry);
    const copy = el("button", { type: "button", onclick: () => copyText(curl, copy) }, "copy as curl");
    const answer = entry.answer;
    fill(document.getElementById("journal-detail"),
      el("h3", {}, `#${entry.id} ${entry.method} ${entry.path}`),
      el("p", { class: "meta" }, `${entry.operation || "no operation"} · ${clockTime(entry.at)} · `,
        el("span", { class: statusClass(entry.status) }, `status ${entry.status ?? "pending"}`)),
      copy,
      el("pre", { class: "curl" }, curl),
      el("h4", {}, "Request"),
      entry.query ? el("p", {}, "query: ", el("code", {}, entry.query)) : null,
      el("details", {}, el("summary", {}, "headers"), el("pre", {}, pretty(entry.headers))),
      el("pre", { class: "request-body" }, pretty(entry.body) || "(no body)"),
      el("h4", {}, "Answer"),
      answer
        ? [el("details", {}, el("summary", {}, "headers"), el("pre", {}, pretty(answer.headers))),
           el("pre", { class: "answer-body" }, pretty(answer.body) || "(no body)"),
           answer.media ? el("div", { class: "media" }, answerMedia(answer.media)) : null]
        : el("p", { class: "muted" }, "Answers are kept only while a dashboard is open; this request came before."));
  },

  async stream() {
    const live = document.getElementById("live");
    for (;;) {
      try {
        const response = await fetch(`/__mock/requests/stream?after=${this.last}`, { headers: AUTH, cache: "no-store" });
        if (!response.ok) throw new Error(`${response.status} ${await response.text()}`);
        live.textContent = "● live"; live.classList.add("on");
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            this.event(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
          }
        }
      } catch (e) {
        live.textContent = `reconnecting (${e.message})`; live.classList.remove("on");
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  },

  event(block) {
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (name === "clear") { this.clear(); return; }
    if (name !== "entry" || !data.length) return;
    const entry = JSON.parse(data.join("\n"));
    this.last = Math.max(this.last, entry.id);
    this.put(entry);
  },
};

// An audio, image or video answer (speech, an image file) as a player or a picture.
function answerMedia(media) {
  const kind = String(media.type).split("/")[0];
  const node = kind === "image" ? el("img", { alt: "the answer" }) : el(kind === "video" ? "video" : "audio", { controls: true });
  if (String(media.src).startsWith("data:")) node.src = media.src;
  return node;
}

async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.textContent = "copied";
  } catch (e) {
    // No clipboard (e.g. not a secure origin): select the command so it can be copied by hand.
    const range = document.createRange();
    range.selectNodeContents(button.nextElementSibling);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.textContent = "selected: press Ctrl+C";
  }
  setTimeout(() => { button.textContent = "copy as curl"; }, 2000);
}

views.journal = {
  setup() {
    for (const id of ["f-operation", "f-status", "f-key"]) document.getElementById(id).addEventListener("input", () => journal.filter());
    document.getElementById("journal-clear").addEventListener("click", async () => {
      try { await api("DELETE", "/__mock/requests"); journal.clear(); } catch (e) { notice(e.message, true); }
    });
    journal.count();
    journal.stream();
  },
};

// ---------------------------------------------------------------------------------------------
// Tasks: state, progress, plan and the media a finished task links to

const MEDIA_EXT = { image: /\.(png|jpe?g|webp|gif|svg)(\?|$)/i, audio: /\.(mp3|wav|ogg|m4a|aac|flac)(\?|$)/i, video: /\.(mp4|webm|mov)(\?|$)/i };

function mediaKind(key, url) {
  for (const [kind, pattern] of Object.entries(MEDIA_EXT)) if (pattern.test(url)) return kind;
  const name = key.toLowerCase();
  if (name.includes("video")) return "video";
  if (name.includes("audio") || name.includes("song")) return "audio";
  if (name.includes("image") || name.includes("img") || name.includes("thumbnail") || name.includes("cover")) return "image";
  return null;
}

// Every media link in a vendor's task JSON, found by key name or file extension.
function findMedia(value, key, out, seen) {
  if (typeof value === "string") {
    if (/^https?:\/\//.test(value) && !seen.has(value)) {
      const kind = mediaKind(key, value);
      if (kind) { seen.add(value); out.push({ kind, url: value, key }); }
    }
  } else if (Array.isArray(value)) {
    for (const item of value) findMedia(item, key, out, seen);
  } else if (value && typeof value === "object") {
    for (const [name, item] of Object.entries(value)) findMedia(item, name, out, seen);
  }
  return out;
}

function mediaNode(item) {
  const url = localUrl(item.url);
  if (!url) return null;
  let node;
  if (item.kind === "image") node = el("img", { alt: `${item.key} of the task`, loading: "lazy" });
  else if (item.kind === "audio") node = el("audio", { controls: true, preload: "none" });
  else node = el("video", { controls: true, preload: "metadata", muted: true });
  node.dataset.kind = item.kind;
  setSource(node, url);
  return node;
}

function promptOf(task) {
  const view = task.view || {};
  return view.prompt || view.promptEn || (view.metadata && view.metadata.prompt) || (view.data && view.data.prompt) || "";
}

const tasks = {
  cards: new Map(),

  card(task) {
    const media = el("div", { class: "media" });
    const plan = el("details", { ontoggle: (e) => { if (e.target.open) this.plan(task.id, plan); } }, el("summary", {}, "plan and raw view"));
    const node = el("article", { class: "card task", "data-id": task.id },
      el("h3", {}, `${task.vendor} · ${task.kind}`),
      el("p", { class: "meta" }, task.id),
      el("p", { class: "prompt" }),
      el("p", { class: "state" }),
      el("progress", { max: 100, value: 0 }),
      el("p", { class: "meta times" }),
      media, plan);
    node.media = media;
    node.mediaKey = "";
    return node;
  },

  update(node, task, now) {
    node.querySelector(".prompt").textContent = promptOf(task);
    fill(node.querySelector(".state"),
      el("b", { class: task.phase === "failed" ? "s5" : task.phase === "succeeded" ? "s2" : "" }, task.status),
      ` ${task.phase} · ${task.progress}%`, task.scenario && task.scenario !== "success" ? ` · scenario ${task.scenario}` : "");
    node.querySelector("progress").value = task.progress || 0;
    const ago = (t) => (typeof t === "number" ? `${Math.round(now - t)} s ago` : "–");
    node.querySelector(".times").textContent = `submitted ${ago(task.submitted_at)} · started ${ago(task.started_at)} · finished ${ago(task.finished_at)}`;
    const found = findMedia(task.view, "", [], new Set());
    const signature = found.map((m) => m.url).join(" ");
    if (signature !== node.mediaKey) {  // rebuilt only when the links change, so players keep playing
      node.mediaKey = signature;
      fill(node.media, ...found.map(mediaNode).filter(Boolean));
    }
  },

  async plan(id, details) {
    try {
      const task = await api("GET", `/__mock/tasks/${encodeURIComponent(id)}`);
      const rows = (task.plan || []).map((step) => el("tr", { class: step.reached ? "" : "muted" },
        el("td", {}, `+${step.after_seconds} s`), el("td", {}, step.status), el("td", {}, step.phase),
        el("td", {}, `${step.progress}%`), el("td", {}, step.reached ? "✓" : ""), el("td", {}, step.detail || "")));
      fill(details, el("summary", {}, "plan and raw view"),
        el("table", { class: "list" }, el("thead", {}, el("tr", {}, ["after", "status", "phase", "progress", "reached", "detail"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
        el("pre", {}, pretty(task.view)));
    } catch (e) { details.append(el("p", { class: "s5" }, e.message)); }
  },
};

views.tasks = {
  async refresh() {
    const data = await api("GET", "/__mock/tasks?limit=200");
    const list = document.getElementById("tasks-list");
    document.getElementById("tasks-count").textContent = `${data.count} of ${data.total ?? data.count} tasks`;
    const keep = new Set();
    const ordered = [...data.tasks].reverse();  // newest first
    ordered.forEach((task, position) => {
      keep.add(task.id);
      let node = tasks.cards.get(task.id);
      if (!node) { node = tasks.card(task); tasks.cards.set(task.id, node); }
      tasks.update(node, task, data.now);
      if (list.children[position] !== node) list.insertBefore(node, list.children[position] || null);
    });
    for (const [id, node] of tasks.cards) if (!keep.has(id)) { node.remove(); tasks.cards.delete(id); }
    if (!data.tasks.length) fill(list, el("p", { class: "muted" }, "No tasks yet."));
    else list.querySelectorAll(":scope > p").forEach((p) => p.remove());
  },
};

// ---------------------------------------------------------------------------------------------
// Callbacks

views.callbacks = {
  async refresh() {
    const data = await api("GET", "/__mock/callbacks?limit=500");
    document.getElementById("callbacks-totals").textContent =
      `${data.count} attempts shown · ${data.attempts ?? 0} in all · ${data.delivered ?? 0} delivered · ${data.failed ?? 0} failed`;
    const rows = [...data.callbacks].reverse().map((a) => el("tr", {},
      el("td", {}, a.seq ?? ""), el("td", {}, a.task), el("td", {}, a.vendor || ""), el("td", { title: a.url }, a.url),
      el("td", {}, a.step), el("td", {}, a.status), el("td", {}, a.attempt),
      el("td", { class: a.ok ? "s2" : "s5" }, a.ok ? `delivered (${a.http_status})` : `${a.error || a.http_status || "failed"}${a.final ? " · gave up" : " · will retry"}`),
      el("td", {}, clockTime(a.at)), el("td", {}, a.elapsed_ms ?? "")));
    const body = document.querySelector("#callbacks-table tbody");
    fill(body, ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 10, class: "muted" }, "No callback attempts yet."))]));
  },
};

// ---------------------------------------------------------------------------------------------
// Faults and stubs: listed, added from a form, deleted

function formRule(form) {
  const rule = {};
  for (const field of form.querySelectorAll("input, textarea")) {
    const raw = field.value.trim();
    if (!raw || field.name === "extra") continue;
    // A number field that is not a number goes as typed: the server names the field it refuses.
    rule[field.name] = field.hasAttribute("data-number") && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  }
  const extra = form.elements.extra.value.trim();
  if (extra) {
    let parsed;
    try { parsed = JSON.parse(extra); } catch (e) { throw new Error(`more fields: not JSON (${e.message})`); }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("more fields: must be a JSON object");
    Object.assign(rule, parsed);
  }
  return rule;
}

function ruleList(kind) {
  return {
    async refresh() {
      const data = await api("GET", `/__mock/${kind}`);
      const list = document.getElementById(`${kind}-list`);
      const items = [...data[kind]].reverse();
      fill(list, ...(items.length ? items.map((rule) => el("article", { class: "card rule", "data-id": rule.id },
        el("h3", {}, rule.id, " ",
          el("button", { type: "button", class: "danger", onclick: async () => {
            try { await api("DELETE", `/__mock/${kind}/${encodeURIComponent(rule.id)}`); await this.refresh(); } catch (e) { notice(e.message, true); }
          } }, "delete")),
        el("pre", {}, pretty(rule)))) : [el("p", { class: "muted" }, `No ${kind}.`)]));
    },
    setup() {
      const form = document.getElementById(`${kind.slice(0, -1)}-form`);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const out = form.querySelector(".form-error");
        try {
          await api("POST", `/__mock/${kind}`, formRule(form));
          out.textContent = "";
          form.reset();
          await this.refresh();
        } catch (e) { out.textContent = e.message; }
      });
    },
  };
}

const faultList = ruleList("faults");
const stubList = ruleList("stubs");
views.rules = {
  setup() { faultList.setup(); stubList.setup(); },
  async refresh() { await faultList.refresh(); await stubList.refresh(); },
};

// ---------------------------------------------------------------------------------------------
// Cassettes (replay and record): what was played, recorded and missed

views.cassettes = {
  async refresh() {
    const data = await api("GET", "/__mock/cassettes");
    const summary = document.getElementById("cassettes-summary");
    fill(summary,
      el("p", {}, `mode ${data.mode} · ${data.interactions} interactions · played ${data.played} · recorded ${data.recorded} · handed to the emulator ${data.fallbacks} · missed ${data.misses.length}`),
      el("ul", {}, (data.cassettes || []).map((c) => el("li", {}, el("code", {}, c)))),
      data.recording_to ? el("p", {}, "recording to ", el("code", {}, data.recording_to)) : null);
    const misses = document.getElementById("misses-list");
    fill(misses, ...(data.misses.length ? [...data.misses].reverse().map((m) => el("article", { class: "card miss" },
      el("h3", {}, `${m.method} ${m.path}`),
      (m.nearest || []).length
        ? el("table", { class: "list" }, el("thead", {}, el("tr", {}, ["nearest recording", "request", "failed", "why"].map((h) => el("th", {}, h)))),
            el("tbody", {}, m.nearest.map((n) => el("tr", {}, el("td", { title: n.where }, n.where), el("td", {}, `${n.method} ${n.path}`),
              el("td", {}, n.failed.join(", ")), el("td", { title: n.reasons.join("\n") }, n.reasons.join("; "))))))
        : el("p", { class: "muted" }, "nothing recorded to compare with"),
      el("details", {}, el("summary", {}, "explanation"), el("pre", {}, m.explanation)))) : [el("p", { class: "muted" }, "No misses.")]));
    const listed = await api("GET", "/__mock/cassettes/interactions");
    const rows = listed.interactions.map((i) => el("tr", {},
      el("td", { title: i.where }, i.where), el("td", {}, i.method), el("td", { title: i.path }, i.path),
      el("td", { class: statusClass(i.status) }, i.status), el("td", { class: i.played ? "yes" : "no" }, i.played ? "played" : "not yet")));
    fill(document.querySelector("#interactions-table tbody"), ...rows);
  },
};

// ---------------------------------------------------------------------------------------------

function start() {
  document.getElementById("mode").textContent = CONFIG.mode === "emulator" ? `${CONFIG.version || ""}` : `${CONFIG.mode} · ${CONFIG.version || ""}`;
  fill(document.getElementById("operations"), ...(CONFIG.operations || []).map((op) => el("option", { value: op })));
  for (const link of document.querySelectorAll("nav a")) {
    const name = link.dataset.view;
    link.hidden = name === "cassettes" ? !CONFIG.cassettes : !CONFIG.emulator;
  }
  document.getElementById("clock-bar").hidden = !CONFIG.emulator;
  if (CONFIG.emulator) {
    setupClock();
    views.journal.setup();
    views.rules.setup();
  }
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || (CONFIG.emulator ? "journal" : "cassettes"));
  setTimeout(poll, POLL_MS);
}

start();
