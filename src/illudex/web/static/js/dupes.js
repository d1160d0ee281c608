// Duplicate review: one pair at a time (the keeper on the left), side by side at the same
// zoom, or flickering, swapped or as a difference image of the two lined up; decisions by
// keyboard; every step undoable (a toast's Undo undoes its own step); "apply all
// suggestions" after a summary by group. The pair shown lives in the URL
// (#/dupes?image=ID), and the page reloads itself when the pictures change elsewhere.
// Alternate pairs are reviewed on their own tab (#/dupes?tab=alternates).
import { api, query } from "./api.js";
import { bytes, clear, date, el, isTyping, plural, showError, toast, dialog } from "./ui.js";
import { renderAlternates } from "./alternates.js";

const CHECK_EVERY_MS = 10_000;  // how often a visible review asks whether anything changed

const KEYS = [
  ["←", "1", "Keep left", "keepLeft"], ["→", "2", "Keep right", "keepRight"],
  ["A", null, "Alternates", "alternates"], ["N", null, "Not duplicates", "notDuplicates"],
  ["S", "↓", "Skip", "skip"], ["Z", null, "Undo", "undo"],
];
const MODES = [["side", "Side by side"], ["flicker", "Flicker"], ["swap", "Swap"], ["diff", "Difference"]];
const ZOOMS = [["fit", "Fit"], ["1", "100%"], ["2", "200%"], ["4", "400%"]];

export async function render(root, { params }) {
  if (params.tab === "alternates") return renderAlternates(root);
  const r = {
    root, groups: [], alternates: [], gi: 0, left: null, pending: [], ri: 0, steps: [],
    mode: "side", zoom: "fit",  // on a phone the two panes stack (app.css)
    moveTo: sessionStorage.getItem("illudex.moveTo") || "",
    busy: false, flickerTimer: null, shown: 0, reviewed: 0, token: null, seq: 0, alive: true,
  };
  await load(r, { refresh: params.refresh === "1", image: Number(params.image) || null });
  const onKey = (event) => handleKey(event, r);
  const onFocus = () => { if (document.visibilityState === "visible") checkChanges(r); };
  const timer = setInterval(onFocus, CHECK_EVERY_MS);
  document.addEventListener("keydown", onKey);
  window.addEventListener("focus", onFocus);
  document.addEventListener("visibilitychange", onFocus);
  return () => {
    r.alive = false;
    document.removeEventListener("keydown", onKey);
    window.removeEventListener("focus", onFocus);
    document.removeEventListener("visibilitychange", onFocus);
    clearInterval(timer);
    clearInterval(r.flickerTimer);
  };
}

// `image`: show the group holding this picture (with it on the right if it is not the
// keeper); otherwise the first group nobody has acted on.
async function load(r, { refresh = false, image = null, quiet = false } = {}) {
  if (!quiet) {
    clear(r.root).append(el("div", { class: "page" }, el("p", { class: "muted" },
      refresh ? "Comparing pictures again…" : "Finding duplicates…")));
  }
  const data = await api.get(`/api/dupes${refresh ? "?refresh=1" : ""}`);
  if (!r.alive || !location.hash.startsWith("#/dupes")) return;  // gone to another page meanwhile
  r.groups = data.groups;
  r.alternates = data.alternates;
  r.token = data.token;
  if (refresh) r.steps = [];
  const holding = image ? r.groups.findIndex((g) => g.files.some((f) => f.id === image && f.in_library)) : -1;
  const first = holding >= 0 ? holding : r.groups.findIndex((g) => !g.touched);
  enterGroup(r, first < 0 ? r.groups.length : first);
  if (holding >= 0 && !r.left) advance(r);
  const at = r.pending.findIndex((f) => f.id === image);
  if (at >= 0) r.ri = at;
  draw(r);
}

// The pictures changed elsewhere (the CLI, a scan, another tab): compare again, staying
// at the same pair where it still exists.
async function checkChanges(r) {
  if (r.busy || !r.token || !r.alive) return;
  const seq = r.seq;
  let token;
  try { ({ token } = await api.get("/api/changes")); } catch { return; }
  if (token === r.token || seq !== r.seq || r.busy || !r.alive) return;
  r.busy = true;
  try {
    const right = r.pending[r.ri];
    await load(r, { refresh: true, image: right ? right.id : r.left && r.left.id, quiet: true });
    toast("The pictures changed elsewhere: the review is up to date again.");
  } catch (e) { showError(e); } finally { r.busy = false; }
}

function enterGroup(r, gi) {
  r.gi = gi;
  const group = r.groups[gi];
  if (!group) { r.left = null; r.pending = []; return; }
  const present = group.files.filter((f) => f.in_library);
  r.left = present.find((f) => f.id === group.keep) || present[0] || null;
  r.pending = present.filter((f) => r.left && f.id !== r.left.id);
  r.ri = 0;
  if (!r.left || !r.pending.length) r.left = null;
}

function snapshot(r) {
  return { gi: r.gi, left: r.left, pending: [...r.pending], ri: r.ri };
}

function restore(r, s) {
  Object.assign(r, { gi: s.gi, left: s.left, pending: s.pending, ri: s.ri });
}

function advance(r) {
  r.ri = Math.min(r.ri, Math.max(0, r.pending.length - 1));
  if (r.left && r.pending.length) return;
  let gi = r.gi + 1;
  while (gi < r.groups.length) {
    enterGroup(r, gi);
    if (r.left) return;
    gi += 1;
  }
  enterGroup(r, r.groups.length);
}

// --- drawing -----------------------------------------------------------------------

function draw(r) {
  clearInterval(r.flickerTimer);
  const page = el("div", { class: "page", id: "dupes-page" });
  clear(r.root).append(page);
  page.append(header(r));
  if (!r.groups.length) {
    page.append(el("div", { class: "notice" }, "No duplicates found in the library folders. ",
      el("a", { href: "#/jobs" }, "Scan a folder"), " first if you have not."));
    return;
  }
  const group = r.groups[r.gi];
  if (!group || !r.left) {
    page.append(el("div", { class: "notice", id: "dupes-done" },
      `All ${plural(r.groups.length, "group")} reviewed. `,
      r.steps.length ? "Use Undo (Z) to go back a step." : ""), keysBar(r));
    return;
  }
  const right = r.pending[r.ri];
  remember(right || r.left);
  page.append(el("div", { class: "review-head" },
    el("strong", { id: "group-title" }, `Group ${r.gi + 1} of ${r.groups.length}`),
    el("span", { class: "muted" }, `${group.relation === "exact" ? "exact copies" : "near duplicates"} · ${plural(group.files.length, "file")}`),
    el("span", { class: "spacer" }),
    el("label", { class: "row muted" }, "View", select(MODES, r.mode, (v) => { r.mode = v; draw(r); }, "mode-select")),
    el("label", { class: "row muted" }, "Zoom", select(ZOOMS, r.zoom, (v) => { r.zoom = v; draw(r); }, "zoom-select"))));
  page.append(keysBar(r), compare(r, group, r.left, right));
  if (group.files.length > 2) page.append(members(r, group, right));
}

// The pair shown goes into the URL (replaced, not pushed): Back from a picture opened
// from here comes back to it.
function remember(file) {
  const hash = file ? `#/dupes?image=${file.id}` : "#/dupes";
  if (location.hash !== hash) history.replaceState(history.state, "", hash);
}

function header(r) {
  const moveTo = el("input", { type: "text", class: "move-to", value: r.moveTo, placeholder: "trash (default) or a folder",
                               "aria-label": "Where removed files go", title: "Removed files go to the trash, or to this folder" });
  moveTo.addEventListener("change", () => {
    r.moveTo = moveTo.value.trim();
    sessionStorage.setItem("illudex.moveTo", r.moveTo);
  });
  return el("div", { class: "gallery-head" },
    el("h1", {}, "Duplicates"),
    el("span", { class: "muted" }, `${plural(r.groups.length, "group")} · `,
      el("a", { href: "#/dupes?tab=alternates", id: "alternates-link" }, plural(r.alternates.length, "alternate pair"))),
    el("span", { class: "spacer" }),
    el("label", { class: "row muted" }, "Remove to", moveTo),
    el("button", { onclick: () => load(r, { refresh: true }).catch(showError) }, "Compare again"),
    el("button", { class: "primary", id: "apply-all", onclick: () => applyAll(r) }, "Apply all suggestions…"));
}

function select(options, value, onChange, id) {
  const node = el("select", { id }, options.map(([v, label]) =>
    el("option", { value: v, selected: v === value }, label)));
  node.addEventListener("change", () => { node.blur(); onChange(node.value); });
  return node;
}

function compare(r, group, left, right) {
  const sides = [left, right];
  if (r.mode === "side") {
    const panes = sides.map((f, i) => pane(r, group, f, sides[1 - i], i === 0 ? "left" : "right"));
    const box = el("div", { class: "compare", id: "compare" }, panes);
    syncScroll(panes.map((p) => p.querySelector(".pane-view")));
    return box;
  }
  if (r.mode === "diff") {
    const view = el("div", { class: "pane-view", id: "diff-view" });
    const node = el("div", { class: "pane" }, el("div", { class: "pane-head" },
      el("span", { class: "name" }, "Difference"), " ",
      el("span", { class: "muted", id: "diff-note" }, "bright where the two pictures differ, lined up (borders and crops left out)")), view);
    drawDifference(view, left, right);
    return el("div", { class: "compare single", id: "compare" }, node);
  }
  // flicker and swap: one pane showing one side at a time
  const node = pane(r, group, sides[r.shown], sides[1 - r.shown], r.shown ? "right" : "left");
  if (r.mode === "flicker") {
    r.flickerTimer = setInterval(() => { r.shown = 1 - r.shown; replacePane(r, group, sides); }, 600);
  }
  return el("div", { class: "compare single", id: "compare" }, node);
}

function replacePane(r, group, sides) {
  const box = document.getElementById("compare");
  if (!box) return;
  const old = box.querySelector(".pane-view");
  const keep = old ? [old.scrollLeft, old.scrollTop] : [0, 0];
  const node = pane(r, group, sides[r.shown], sides[1 - r.shown], r.shown ? "right" : "left");
  box.replaceChildren(node);
  const view = node.querySelector(".pane-view");
  [view.scrollLeft, view.scrollTop] = keep;
}

function pane(r, group, file, other, side) {
  const keeper = file.id === group.keep;
  const img = el("img", { src: file.file, alt: file.name, draggable: "false" });
  const view = el("div", { class: `pane-view ${r.zoom === "fit" ? "" : "zoomed"}` }, img);
  if (r.zoom !== "fit") {
    // Same zoom on both sides: both drawn as wide as the wider picture times the zoom.
    const width = Math.max(file.width, other.width) * Number(r.zoom);
    img.style.width = `${width}px`;
    img.style.height = `${Math.round(width * (file.height / Math.max(1, file.width)))}px`;
  }
  const cmp = (a, b) => (a > b ? "better" : a < b ? "worse" : "");
  return el("div", { class: `pane ${keeper ? "keeper" : ""}`, dataset: { side, id: file.id } },
    el("div", { class: "pane-head" },
      el("div", { class: "row" },
        el("span", { class: "muted" }, side === "left" ? "Left" : "Right"),
        el("span", { class: "name" }, file.name),
        el("span", { class: "spacer" }),
        el("a", { href: `#/image/${file.id}`, class: "muted" }, "open")),
      el("div", { class: "row" },
        el("span", { class: cmp(file.width * file.height, other.width * other.height) }, `${file.width}×${file.height}`),
        el("span", {}, bytes(file.size)),
        el("span", {}, file.format),
        el("span", { class: "muted date" }, date(file.mtime))),
      el("div", { class: "muted mono", title: file.path }, file.folder),
      // Both heads the same height, so both pictures get the same room.
      el("div", { class: keeper ? "why" : "muted" }, keeper ? `Suggested keeper: ${group.reason}` : "\u00a0")),
    view);
}

function syncScroll(views) {
  let lock = false;
  for (const view of views) {
    view.addEventListener("scroll", () => {
      if (lock) return;
      lock = true;
      for (const other of views) if (other !== view) { other.scrollLeft = view.scrollLeft; other.scrollTop = view.scrollTop; }
      requestAnimationFrame(() => { lock = false; });
    });
  }
}

// The two pictures lined up as the duplicate finder lines them up (the part of each frame
// showing the same content), polished here by a pixel or two, then subtracted.
async function drawDifference(view, left, right) {
  try {
    const [a, b, boxes] = await Promise.all([loadImage(left.file), loadImage(right.file),
      api.get(`/api/dupes/align${query({ a: left.id, b: right.id })}`).catch(() => null)]);
    const boxA = pixelBox(a, boxes ? boxes.a : [0, 0, 1, 1]);
    const boxB = pixelBox(b, boxes ? boxes.b : [0, 0, 1, 1]);
    const scale = Math.min(1, 1024 / Math.max(boxA[2], boxA[3]));
    const w = Math.max(1, Math.round(boxA[2] * scale));
    const h = Math.max(1, Math.round(boxA[3] * scale));
    const pa = pixels(a, boxA, w, h);
    const best = polish(pa, b, boxB, w, h);
    const canvas = el("canvas", { width: w, height: h, dataset: { mean: best.mean.toFixed(2),
                                                                    method: boxes ? boxes.method : "none" } });
    const out = canvas.getContext("2d").createImageData(w, h);
    const d = difference(pa, best.pixels);
    for (let i = 0, p = 0; p < d.length; i += 4, p += 1) {
      const v = Math.min(255, d[p] * 2);
      out.data[i] = v; out.data[i + 1] = Math.min(255, v * 0.6); out.data[i + 2] = 0; out.data[i + 3] = 255;
    }
    canvas.getContext("2d").putImageData(out, 0, 0);
    view.replaceChildren(canvas);
  } catch (e) {
    view.replaceChildren(el("p", { class: "muted pad" }, e.message));
  }
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot load the picture"));
    img.src = src;
  });
}

function pixelBox(img, [x0, y0, x1, y1]) {
  const W = img.naturalWidth, H = img.naturalHeight;
  return [x0 * W, y0 * H, Math.max(1, (x1 - x0) * W), Math.max(1, (y1 - y0) * H)];
}

function pixels(img, [x, y, w, h], width, height) {
  const c = document.createElement("canvas");
  c.width = width; c.height = height;
  const ctx = c.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(img, x, y, w, h, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

function difference(pa, pb) {
  const out = new Uint16Array(pa.data.length / 4);
  for (let i = 0, p = 0; i < pa.data.length; i += 4, p += 1) {
    out[p] = Math.abs(pa.data[i] - pb.data[i]) + Math.abs(pa.data[i + 1] - pb.data[i + 1])
      + Math.abs(pa.data[i + 2] - pb.data[i + 2]);
  }
  return out;
}

function meanOf(d) {
  let sum = 0;
  for (let p = 0; p < d.length; p += 1) sum += d[p];
  return sum / Math.max(1, d.length);
}

// The finder's boxes come from small thumbnails (a few pixels off on a big picture): move
// each edge of b's box while the difference shrinks, on a small copy, in steps from two
// small pixels down to a quarter of one.
function polish(pa, b, box, w, h) {
  const small = Math.min(1, 256 / Math.max(w, h));
  const sw = Math.max(1, Math.round(w * small)), sh = Math.max(1, Math.round(h * small));
  const target = pixels(canvasOf(pa), [0, 0, w, h], sw, sh);
  const score = (bx) => meanOf(difference(target, pixels(b, bx, sw, sh)));
  let current = [...box];
  let bestScore = score(current);
  for (const step of [2, 1, 0.5, 0.25]) {
    const px = [box[2] / sw * step, box[3] / sh * step];  // in b's pixels, per axis
    for (let round = 0; round < 8; round += 1) {
      let improved = false;
      for (const [edge, sign] of [[0, 1], [0, -1], [1, 1], [1, -1], [2, 1], [2, -1], [3, 1], [3, -1]]) {
        const tried = [...current];
        const d = sign * px[edge % 2];
        tried[edge] += d;
        if (edge < 2) tried[edge + 2] -= d;  // move the near edge, keep the far one
        const s = score(tried);
        if (s < bestScore - 0.01) { bestScore = s; current = tried; improved = true; }
      }
      if (!improved) break;
    }
  }
  // Judged on the small copy: keep it only if it is better at full size too (a blurred
  // copy can look better a little off on the small one).
  const start = pixels(b, box, w, h);
  const full = pixels(b, current, w, h);
  const [m0, m1] = [meanOf(difference(pa, start)), meanOf(difference(pa, full))];
  return m1 <= m0 ? { pixels: full, mean: m1 } : { pixels: start, mean: m0 };
}

function canvasOf(imageData) {
  const c = document.createElement("canvas");
  c.width = imageData.width; c.height = imageData.height;
  c.getContext("2d").putImageData(imageData, 0, 0);
  return c;
}

function members(r, group, right) {
  const decided = new Set(group.files.map((f) => f.id));
  decided.delete(r.left.id);
  r.pending.forEach((f) => decided.delete(f.id));
  return el("div", { class: "members", "aria-label": "Pictures of this group" }, group.files.map((f) => {
    const node = el("div", { class: "tile", title: f.path, dataset: { id: f.id } },
      el("img", { src: f.thumb + "&size=128", alt: f.name, loading: "lazy" }));
    if (f.id === r.left.id) node.classList.add("left");
    else if (right && f.id === right.id) node.classList.add("right");
    if (decided.has(f.id) || !f.in_library) node.classList.add("gone");
    const at = r.pending.findIndex((p) => p.id === f.id);
    if (at >= 0) node.addEventListener("click", () => { r.ri = at; draw(r); });
    return node;
  }));
}

function keysBar(r) {
  return el("div", { class: "keys", id: "dupes-keys" }, KEYS.map(([key, alt, label, action]) =>
    el("button", { dataset: { action }, onclick: () => act(r, action),
                   disabled: action === "undo" ? !r.steps.length : !r.left },
      el("kbd", {}, key), alt ? el("kbd", {}, alt) : null, label)),
    el("span", { class: "legend" }, el("kbd", {}, "F"), " flicker ", el("kbd", {}, "D"), " difference ",
      el("kbd", {}, "X"), " swap ", el("kbd", {}, "+"), el("kbd", {}, "−"), " zoom"));
}

// --- actions -----------------------------------------------------------------------

function handleKey(event, r) {
  if (isTyping(event) || event.altKey || document.querySelector(".modal-back")) return;
  const key = event.key;
  const map = { ArrowLeft: "keepLeft", 1: "keepLeft", ArrowRight: "keepRight", 2: "keepRight",
                a: "alternates", n: "notDuplicates", s: "skip", ArrowDown: "skip", z: "undo" };
  if ((event.ctrlKey || event.metaKey) && key !== "z") return;
  if (map[key]) { event.preventDefault(); act(r, map[key]); return; }
  if (key === "f") setMode(r, r.mode === "flicker" ? "side" : "flicker");
  else if (key === "d") setMode(r, r.mode === "diff" ? "side" : "diff");
  else if (key === "x" || key === " ") {
    event.preventDefault();
    if (r.mode === "side" || r.mode === "diff") r.mode = "swap";
    r.shown = 1 - r.shown;
    draw(r);
  } else if (key === "+" || key === "=") zoomStep(r, 1);
  else if (key === "-") zoomStep(r, -1);
  else if (key === "0") { r.zoom = "fit"; draw(r); }
}

function setMode(r, mode) { r.mode = mode; r.shown = 0; draw(r); }

function zoomStep(r, step) {
  const order = ZOOMS.map(([v]) => v);
  r.zoom = order[Math.max(0, Math.min(order.length - 1, order.indexOf(r.zoom) + step))];
  draw(r);
}

async function act(r, action, arg) {
  if (r.busy) return;
  if (action !== "undo" && !r.left) return;
  r.busy = true;
  r.seq += 1;
  try {
    await ACTIONS[action](r, arg);
    if (r.alive) draw(r);
  } catch (e) {
    showError(e);
  } finally {
    r.busy = false;
  }
}

const ACTIONS = {
  async keepLeft(r) { await resolve(r, r.left, r.pending[r.ri]); },
  async keepRight(r) {
    await rememberKeeper(r.pending[r.ri]);
    await resolve(r, r.pending[r.ri], r.left);
  },
  async alternates(r) { await mark(r, "alternate"); },
  async notDuplicates(r) { await mark(r, "not_duplicate"); },
  async skip(r) {
    r.steps.push({ kind: "skip", before: snapshot(r) });
    r.pending = [];
    advance(r);
  },
  // `step`: a particular step (a toast's Undo); by default the last one (Z).
  async undo(r, step = null) {
    const latest = !step || step === r.steps[r.steps.length - 1];
    if (step && !r.steps.includes(step)) { toast("That step was already undone."); return; }
    step = step || r.steps[r.steps.length - 1];
    if (!step) return;
    r.steps.splice(r.steps.indexOf(step), 1);
    if (step.kind === "file") {
      const data = await api.post("/api/undo", { action: step.action });
      r.token = data.token;
      if (data.conflicts.length) toast(`Not all undone: ${data.conflicts[0]}`, { kind: "error" });
      else toast(`Put back ${plural(data.restored, "file")}.`);
    } else if (step.kind === "mark") {
      try {
        await api.post("/api/dupes/unmark", { a: step.a, b: step.b });
      } catch (e) {
        if (e.status !== 501) throw e;
        toast("The decision stays recorded (this illudex cannot forget decisions yet).");
      }
    }
    if (latest) { restore(r, step.before); return; }
    // An older step: the later ones stay done; show the undone pair again.
    await load(r, { image: step.removed, quiet: true });
  },
};

// The person kept the other copy: remembered as this group's keeper (POST /api/dupes/keeper,
// where this illudex has it), like their other decisions.
async function rememberKeeper(file) {
  try {
    await api.post("/api/dupes/keeper", { keep: file.id });
  } catch (e) {
    if (![404, 405, 501].includes(e.status)) throw e;
  }
}

async function resolve(r, keep, remove) {
  const before = snapshot(r);
  const data = await api.post("/api/dupes/resolve", { keep: keep.id, remove: [remove.id], move_to: r.moveTo || null });
  r.token = data.token;
  if (data.failed.length) throw new Error(`${data.failed[0].path}: ${data.failed[0].error}`);
  const step = { kind: "file", action: data.action, removed: remove.id, before };
  r.steps.push(step);
  r.pending = r.pending.filter((f) => f.id !== remove.id && f.id !== keep.id);
  r.left = keep;
  // This toast's Undo undoes this step, whatever was done after it.
  toast(`Kept ${keep.name}; ${remove.name} moved to ${r.moveTo || "the trash"}.`, {
    action: { label: "Undo", run: () => act(r, "undo", step) } });
  advance(r);
}

async function mark(r, relation) {
  const before = snapshot(r);
  const right = r.pending[r.ri];
  const data = await api.post("/api/dupes/mark", { a: r.left.id, b: right.id, relation });
  r.token = data.token;
  r.steps.push({ kind: "mark", a: r.left.id, b: right.id, removed: right.id, before });
  r.pending = r.pending.filter((f) => f.id !== right.id);
  toast(relation === "alternate" ? "Marked as alternates." : "Marked as not duplicates.");
  advance(r);
}

async function applyAll(r) {
  try {
    const plan = await api.get(`/api/dupes/plan${query({ move_to: r.moveTo })}`);
    if (!plan.files) { toast("Nothing left to apply: every group was reviewed or is gone."); return; }
    const skip = new Set();
    const body = applySummary(r, plan, skip);
    const choice = await dialog("Apply all suggestions?", body, [
      { label: "Cancel", value: null }, { label: moveLabel(plan, skip), value: "go", class: "primary" }],
      { focus: null });  // Enter must not move hundreds of files: Cancel has the focus
    if (choice !== "go") return;
    if (skip.size === plan.review.length) { toast("Every group was left out: nothing moved."); return; }
    r.seq += 1;
    const data = await api.post("/api/dupes/apply", { plan: plan.plan, move_to: r.moveTo || null, skip: [...skip] });
    r.token = data.token;
    toast(`Moved ${plural(data.done.length, "file")}${data.failed.length ? `; ${data.failed.length} failed` : ""}.`, {
      action: { label: "Undo", run: async () => {
        try {
          const undone = await api.post("/api/undo", { action: data.action });
          r.token = undone.token;
          toast("Put back.");
          await load(r);
        } catch (e) { showError(e); }
      } } });
    await load(r);
  } catch (e) { showError(e); }
}

function moveLabel(plan, skip) {
  const files = plan.review.filter((g) => !skip.has(g.index)).reduce((n, g) => n + g.remove.length, 0);
  return `Move ${plural(files, "file")}`;
}

// Every group as thumbnails: the keeper, then what goes, with the reason; untick a group
// to leave it as it is.
function applySummary(r, plan, skip) {
  const where = r.moveTo ? `to ${r.moveTo}` : "to the trash";
  const count = el("p", { id: "apply-count" });
  const update = () => {
    const kept = plan.review.filter((g) => !skip.has(g.index));
    const files = kept.reduce((n, g) => n + g.remove.length, 0);
    const size = kept.reduce((n, g) => n + g.bytes, 0);
    count.textContent = `Move ${plural(files, "file")} (${bytes(size)}) from ${plural(kept.length, "group")} ${where}. `
      + "The keepers (green) stay where they are; groups you acted on are left out. "
      + "This is one action: Undo, here or on the History page, puts everything back.";
    const button = document.querySelector(".modal button.primary");
    if (button) button.textContent = moveLabel(plan, skip);
  };
  const rows = plan.review.map((g) => {
    const box = el("input", { type: "checkbox", checked: true, "aria-label": `Apply group ${g.index + 1}` });
    const row = el("div", { class: "apply-group", dataset: { index: g.index } },
      el("label", { class: "apply-check" }, box),
      el("div", { class: "apply-files" },
        applyTile(g.keep, "keep"), el("span", { class: "arrow", "aria-hidden": "true" }, "→"),
        g.remove.map((f) => applyTile(f, "goes"))),
      el("div", { class: "apply-why" },
        el("div", {}, el("strong", {}, g.keep.name), " kept"),
        el("div", { class: "muted" }, g.reason),
        el("div", { class: "muted" }, `${plural(g.remove.length, "file")} go · ${bytes(g.bytes)}`)));
    box.addEventListener("change", () => {
      if (box.checked) skip.delete(g.index); else skip.add(g.index);
      row.classList.toggle("skipped", !box.checked);
      update();
    });
    return row;
  });
  const body = el("div", { id: "apply-summary" }, count, el("div", { class: "apply-list" }, rows));
  update();
  return body;
}

function applyTile(file, role) {
  return el("a", { class: `tile ${role}`, href: `#/image/${file.id}`, target: "_blank", title: file.path },
    el("img", { src: `${file.thumb}&size=128`, alt: file.name, loading: "lazy" }),
    el("span", { class: "badge" }, role === "keep" ? "keep" : "goes"));
}
