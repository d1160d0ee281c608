// Duplicate review: one pair at a time (the keeper on the left), side by side at the same
// zoom, or flickering, swapped or as a difference image; decisions by keyboard; every
// step undoable; "apply all suggestions" after a summary.
import { api, query } from "./api.js";
import { bytes, clear, date, el, isTyping, plural, showError, toast, dialog } from "./ui.js";

const KEYS = [
  ["←", "1", "Keep left", "keepLeft"], ["→", "2", "Keep right", "keepRight"],
  ["A", null, "Alternates", "alternates"], ["N", null, "Not duplicates", "notDuplicates"],
  ["S", "↓", "Skip", "skip"], ["Z", null, "Undo", "undo"],
];
const MODES = [["side", "Side by side"], ["flicker", "Flicker"], ["swap", "Swap"], ["diff", "Difference"]];
const ZOOMS = [["fit", "Fit"], ["1", "100%"], ["2", "200%"], ["4", "400%"]];

export async function render(root, { params }) {
  const r = {
    root, groups: [], alternates: [], gi: 0, left: null, pending: [], ri: 0, steps: [],
    mode: "side", zoom: "fit", moveTo: sessionStorage.getItem("illudex.moveTo") || "",
    busy: false, flickerTimer: null, shown: 0, reviewed: 0,
  };
  await load(r, params.refresh === "1");
  const onKey = (event) => handleKey(event, r);
  document.addEventListener("keydown", onKey);
  return () => {
    document.removeEventListener("keydown", onKey);
    clearInterval(r.flickerTimer);
  };
}

async function load(r, refresh = false) {
  clear(r.root).append(el("div", { class: "page" }, el("p", { class: "muted" },
    refresh ? "Comparing pictures again…" : "Finding duplicates…")));
  const data = await api.get(`/api/dupes${refresh ? "?refresh=1" : ""}`);
  r.groups = data.groups;
  r.alternates = data.alternates;
  r.steps = [];
  const first = r.groups.findIndex((g) => !g.touched);
  enterGroup(r, first < 0 ? r.groups.length : first);
  draw(r);
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
  page.append(el("div", { class: "review-head" },
    el("strong", { id: "group-title" }, `Group ${r.gi + 1} of ${r.groups.length}`),
    el("span", { class: "muted" }, `${group.relation === "exact" ? "exact copies" : "near duplicates"} · ${plural(group.files.length, "file")}`),
    el("span", { class: "spacer" }),
    el("label", { class: "row muted" }, "View", select(MODES, r.mode, (v) => { r.mode = v; draw(r); }, "mode-select")),
    el("label", { class: "row muted" }, "Zoom", select(ZOOMS, r.zoom, (v) => { r.zoom = v; draw(r); }, "zoom-select"))));
  page.append(keysBar(r), compare(r, group, r.left, right));
  if (group.files.length > 2) page.append(members(r, group, right));
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
    el("span", { class: "muted" }, `${plural(r.groups.length, "group")} · ${plural(r.alternates.length, "alternate pair")}`),
    el("span", { class: "spacer" }),
    el("label", { class: "row muted" }, "Remove to", moveTo),
    el("button", { onclick: () => load(r, true).catch(showError) }, "Compare again"),
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
      el("span", { class: "muted" }, "bright where the two pictures differ (scaled to the same size)")), view);
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

async function drawDifference(view, left, right) {
  const load = (src) => new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("cannot load the picture"));
    img.src = src;
  });
  try {
    const [a, b] = await Promise.all([load(left.file), load(right.file)]);
    const scale = Math.min(1, 1024 / Math.max(a.naturalWidth, a.naturalHeight));
    const w = Math.max(1, Math.round(a.naturalWidth * scale));
    const h = Math.max(1, Math.round(a.naturalHeight * scale));
    const pixels = (img) => {
      const c = document.createElement("canvas");
      c.width = w; c.height = h;
      const ctx = c.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(img, 0, 0, w, h);
      return ctx.getImageData(0, 0, w, h);
    };
    const pa = pixels(a);
    const pb = pixels(b);
    const canvas = el("canvas", { width: w, height: h });
    const out = canvas.getContext("2d").createImageData(w, h);
    for (let i = 0; i < pa.data.length; i += 4) {
      const d = Math.abs(pa.data[i] - pb.data[i]) + Math.abs(pa.data[i + 1] - pb.data[i + 1]) + Math.abs(pa.data[i + 2] - pb.data[i + 2]);
      const v = Math.min(255, d * 2);
      out.data[i] = v; out.data[i + 1] = Math.min(255, v * 0.6); out.data[i + 2] = 0; out.data[i + 3] = 255;
    }
    canvas.getContext("2d").putImageData(out, 0, 0);
    view.replaceChildren(canvas);
  } catch (e) {
    view.replaceChildren(el("p", { class: "muted pad" }, e.message));
  }
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

async function act(r, action) {
  if (r.busy) return;
  if (action !== "undo" && !r.left) return;
  r.busy = true;
  try {
    await ACTIONS[action](r);
    draw(r);
  } catch (e) {
    showError(e);
  } finally {
    r.busy = false;
  }
}

const ACTIONS = {
  async keepLeft(r) { await resolve(r, r.left, r.pending[r.ri]); },
  async keepRight(r) { await resolve(r, r.pending[r.ri], r.left); },
  async alternates(r) { await mark(r, "alternate"); },
  async notDuplicates(r) { await mark(r, "not_duplicate"); },
  async skip(r) {
    r.steps.push({ kind: "skip", before: snapshot(r) });
    r.pending = [];
    advance(r);
  },
  async undo(r) {
    const step = r.steps.pop();
    if (!step) return;
    if (step.kind === "file") {
      const data = await api.post("/api/undo", { action: step.action });
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
    restore(r, step.before);
  },
};

async function resolve(r, keep, remove) {
  const before = snapshot(r);
  const data = await api.post("/api/dupes/resolve", { keep: keep.id, remove: [remove.id], move_to: r.moveTo || null });
  if (data.failed.length) throw new Error(`${data.failed[0].path}: ${data.failed[0].error}`);
  r.steps.push({ kind: "file", action: data.action, before });
  r.pending = r.pending.filter((f) => f.id !== remove.id && f.id !== keep.id);
  r.left = keep;
  toast(`Kept ${keep.name}; ${remove.name} moved to ${r.moveTo || "the trash"}.`, {
    action: { label: "Undo", run: () => act(r, "undo") } });
  advance(r);
}

async function mark(r, relation) {
  const before = snapshot(r);
  const right = r.pending[r.ri];
  await api.post("/api/dupes/mark", { a: r.left.id, b: right.id, relation });
  r.steps.push({ kind: "mark", a: r.left.id, b: right.id, before });
  r.pending = r.pending.filter((f) => f.id !== right.id);
  toast(relation === "alternate" ? "Marked as alternates." : "Marked as not duplicates.");
  advance(r);
}

async function applyAll(r) {
  try {
    const plan = await api.get(`/api/dupes/plan${query({ move_to: r.moveTo })}`);
    if (!plan.files) { toast("Nothing left to apply: every group was reviewed or is gone."); return; }
    const where = r.moveTo ? `to ${r.moveTo}` : "to the trash";
    const body = el("div", { id: "apply-summary" },
      el("p", {}, `Move ${plural(plan.files, "file")} (${bytes(plan.bytes)}) from ${plural(plan.groups, "group")} ${where}. `,
        "The suggested keepers stay where they are; groups you acted on are left out. ",
        "This is one action: Undo puts everything back."),
      el("div", { class: "scroll-list mono" }, plan.moves.slice(0, 300).map((m) =>
        el("div", {}, `${m.from} → ${m.to}`)),
        plan.moves.length > 300 ? el("div", {}, `… and ${plan.moves.length - 300} more`) : null));
    const choice = await dialog("Apply all suggestions?", body, [
      { label: "Cancel", value: null }, { label: `Move ${plural(plan.files, "file")}`, value: "go", class: "primary" }]);
    if (choice !== "go") return;
    const data = await api.post("/api/dupes/apply", { plan: plan.plan, move_to: r.moveTo || null });
    toast(`Moved ${plural(data.done.length, "file")}${data.failed.length ? `; ${data.failed.length} failed` : ""}.`, {
      action: { label: "Undo", run: async () => {
        try { await api.post("/api/undo", { action: data.action }); toast("Put back."); await load(r); } catch (e) { showError(e); }
      } } });
    await load(r);
  } catch (e) { showError(e); }
}
