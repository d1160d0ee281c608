// The gallery: thumbnails of a query's pictures, loaded page by page as one scrolls;
// selection with click on the check mark, ctrl/cmd-click, shift-click, and select all.
import { api, query } from "./api.js";
import { selection } from "./selection.js";
import { attachAutocomplete } from "./autocomplete.js";
import { clear, dialog, el, isTyping, plural, showError, splitTags, tile, toast } from "./ui.js";

const PAGE = 120; // the preload in index.html asks for the same first page
const EAGER = 36; // thumbnails on a big first screen

export async function render(root, { params }) {
  const q = params.q || "";
  const [clusterJob, clusterId] = (params.cluster || "").split(":");
  const cluster = params.cluster ? { job: clusterJob, id: clusterId } : null;
  const state = { q, cluster, items: [], total: null, loading: false, anchor: null, done: false };
  const pageUrl = (offset) => (cluster
    ? `/api/clusters/${encodeURIComponent(cluster.job)}/members/${encodeURIComponent(cluster.id)}${query({ offset, limit: PAGE })}`
    : `/api/images${query({ q, offset, limit: PAGE })}`);
  const info = el("span", { class: "muted", id: "gallery-count" }, "Loading…");
  const warnings = el("div", { class: "muted" });
  const grid = el("div", { class: "grid", id: "gallery-grid" });
  const sentinel = el("div", { class: "sentinel" });
  const page = el("div", { class: "page" },
    el("div", { class: "gallery-head" },
      el("h1", { id: "gallery-title" }, cluster ? `Cluster #${cluster.id}` : q ? "Search" : "All pictures"), info,
      cluster ? el("a", { href: `#/clusters?job=${encodeURIComponent(cluster.job)}` }, "← back to the clusters") : null,
      el("span", { class: "spacer" }),
      pictureSearchButton(state, grid, info),
      el("button", { onclick: () => selectAll(state) }, "Select all")),
    warnings, grid, sentinel);
  root.append(page);

  const sync = () => {
    grid.classList.toggle("selecting", selection.ids.size > 0);
    for (const node of grid.children) node.classList.toggle("selected", selection.ids.has(Number(node.dataset.id)));
    renderSelectionBar();
  };

  grid.addEventListener("click", (event) => onTileClick(event, state, grid));
  grid.addEventListener("keydown", (event) => onTileKey(event, state, grid));
  const loadMore = async () => {
    if (state.loading || state.done) return;
    state.loading = true;
    try {
      const data = (!cluster && await firstPage(q, state.items.length)) || await api.get(pageUrl(state.items.length));
      if (data.ids) state.allIds = data.ids;
      if (data.label) document.getElementById("gallery-title").textContent = `Cluster #${cluster.id}: ${data.label.join(", ")}`;
      state.total = data.total;
      state.items.push(...data.items);
      const first = state.items.length === data.items.length;
      data.items.forEach((item, n) => {
        const node = tile(item, { eager: first && n < EAGER,
                                  badge: item.score !== null && item.score !== undefined ? item.score.toFixed(2) : null });
        node.append(el("button", { class: "check", title: "Select", "aria-label": "Select" }));
        grid.append(node);
      });
      state.done = data.items.length < PAGE || state.items.length >= data.total;
      info.textContent = plural(data.total, "picture");
      clear(warnings).append(...(data.warnings || []).map((w) => warningLine(w, q)));
      if (!data.total) grid.replaceWith(emptyNotice(q));
      sessionStorage.setItem("illudex.list", JSON.stringify({ q, ids: state.items.map((i) => i.id) }));
      sync();
    } catch (e) {
      info.textContent = "";
      if (!state.items.length) grid.replaceWith(errorNotice(e, q)); // in place, not a toast
      else showError(e);
      state.done = true;
    } finally {
      state.loading = false;
    }
    if (!state.done && sentinel.getBoundingClientRect().top < innerHeight + 800) loadMore();
  };
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadMore();
  }, { rootMargin: "800px" });
  observer.observe(sentinel);
  const unlisten = selection.onChange(sync);
  const onKey = (event) => {
    if (isTyping(event)) return;
    if ((event.ctrlKey || event.metaKey) && event.key === "a") { event.preventDefault(); selectAll(state); }
    if (event.key === "Escape") selection.clear();
  };
  document.addEventListener("keydown", onKey);
  await loadMore();
  return () => {
    observer.disconnect();
    unlisten();
    document.removeEventListener("keydown", onKey);
    document.getElementById("selection-bar").hidden = true;
  };
}

// Search by a picture from this computer: choose it, or drop it on the gallery.
function pictureSearchButton(state, grid, info) {
  const input = el("input", { type: "file", accept: "image/*", hidden: true, id: "upload-input" });
  const run = async (file) => {
    if (!file) return;
    info.textContent = `Looking for pictures like ${file.name}…`;
    try {
      const data = await api.post("/api/search/upload?limit=120", file);
      state.items = data.items;
      state.done = true;
      grid.replaceChildren(...data.items.map((item) => {
        const node = tile(item, { eager: true, badge: item.score.toFixed(2) });
        node.append(el("button", { class: "check", title: "Select", "aria-label": "Select" }));
        return node;
      }));
      info.textContent = `${plural(data.items.length, "picture")} like ${file.name}`;
      document.getElementById("gallery-title").textContent = "By picture";
      sessionStorage.setItem("illudex.list", JSON.stringify({ q: "", ids: data.items.map((i) => i.id) }));
    } catch (e) { info.textContent = ""; showError(e); }
  };
  input.addEventListener("change", () => run(input.files[0]));
  grid.addEventListener("dragover", (e) => e.preventDefault());
  grid.addEventListener("drop", (e) => { e.preventDefault(); run(e.dataTransfer.files[0]); });
  return el("span", {}, input, el("button", { onclick: () => input.click(), title: "Find pictures like one from this computer (or drop it here)" }, "By picture…"));
}

// The first page the little script in index.html asked for while this one loaded.
async function firstPage(q, offset) {
  const early = window.illudexFirstPage;
  window.illudexFirstPage = null;
  if (!early || q || offset) return null;
  try {
    const response = await early;
    return response.ok ? await response.json() : null;
  } catch { return null; }
}

// A search warning; "did you mean" guesses become links to the corrected search.
function warningLine(text, q) {
  const unknown = text.match(/no tag named '([^']+)'/);
  const guesses = text.match(/did you mean ([^?]+)\?/);
  if (!unknown || !guesses) return el("div", { class: "warning" }, text);
  const words = q.split(/\s+/);
  const fixed = (guess) => words.map((w) => (w.replace(/^[-~]/, "") === unknown[1] ? w.replace(unknown[1], guess) : w)).join(" ");
  return el("div", { class: "warning" }, `No tag named “${unknown[1]}”. Did you mean `,
    guesses[1].split(/,\s*/).map((g, n) => [n ? ", " : "", el("a", { class: "did-you-mean", href: `#/?q=${encodeURIComponent(fixed(g))}` }, g)]),
    "?");
}

function errorNotice(e, q) {
  const text = String(e.message || e).replace(/^query: /, "");
  const [first, ...rest] = text.split("\n");
  return el("div", { class: "notice error-text", id: "gallery-error", role: "alert" },
    el("strong", {}, e.status === 400 && q ? "This search cannot be read: " : "The pictures could not be listed: "), first,
    rest.length ? el("pre", { class: "mono" }, rest.join("\n")) : null,
    q ? el("p", {}, el("a", { href: "#/" }, "Show all pictures")) : null);
}

function emptyNotice(q) {
  return el("div", { class: "notice", id: "gallery-empty" }, q
    ? el("span", {}, "No picture matches this search. ", el("a", { href: "#/" }, "Show all pictures"))
    : el("span", {}, "The library is empty. Index a folder on the ", el("a", { href: "#/jobs" }, "Jobs"),
         " page (or run ", el("code", {}, "illudex scan FOLDER"), ")."));
}

function onTileClick(event, state, grid) {
  const node = event.target.closest(".tile");
  if (!node) return;
  const id = Number(node.dataset.id);
  const onCheck = event.target.classList.contains("check");
  const selecting = selection.ids.size > 0;
  if (!(onCheck || event.shiftKey || event.ctrlKey || event.metaKey || selecting)) return; // open it
  event.preventDefault();
  if (event.shiftKey && state.anchor !== null) {
    const ids = state.items.map((i) => i.id);
    const [a, b] = [ids.indexOf(state.anchor), ids.indexOf(id)].sort((x, y) => x - y);
    if (a >= 0) { ids.slice(a, b + 1).forEach((i) => selection.ids.add(i)); selection.save(); }
  } else {
    selection.toggle(id);
  }
  state.anchor = id;
  grid.focus?.();
}

// Keyboard: arrows move between tiles, Space (or x) selects the focused one, with Shift
// a range; Enter opens it (it is a link).
function onTileKey(event, state, grid) {
  const node = event.target.closest(".tile");
  if (!node) return;
  const tiles = [...grid.querySelectorAll(".tile")];
  const at = tiles.indexOf(node);
  if (event.key === " " || event.key === "x") {
    event.preventDefault();
    const id = Number(node.dataset.id);
    if (event.shiftKey && state.anchor !== null) {
      const ids = state.items.map((i) => i.id);
      const [a, b] = [ids.indexOf(state.anchor), ids.indexOf(id)].sort((x, y) => x - y);
      if (a >= 0) { ids.slice(a, b + 1).forEach((i) => selection.ids.add(i)); selection.save(); }
    } else selection.toggle(id);
    state.anchor = id;
    return;
  }
  const top = node.offsetTop;
  const perRow = tiles.filter((t) => t.offsetTop === top).length || 1;
  const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: perRow, ArrowUp: -perRow }[event.key];
  if (step === undefined) return;
  const next = tiles[at + step];
  if (next) { event.preventDefault(); next.focus(); }
}

async function selectAll(state) {
  if (state.allIds) {
    selection.set(state.allIds);
    toast(`Selected ${plural(state.allIds.length, "picture")}.`);
    return;
  }
  try {
    const data = await api.get(`/api/images/ids${query({ q: state.q })}`);
    selection.set(data.ids);
    toast(`Selected ${plural(data.ids.length, "picture")}.`);
  } catch (e) { showError(e); }
}

export function renderSelectionBar() {
  const bar = document.getElementById("selection-bar");
  const n = selection.ids.size;
  bar.hidden = n === 0;
  if (!n) return;
  clear(bar);
  const addInput = el("input", { type: "text", placeholder: "add tags", "aria-label": "Tags to add" });
  const removeInput = el("input", { type: "text", placeholder: "remove tags", "aria-label": "Tags to remove" });
  const apply = async () => {
    const add = splitTags(addInput.value);
    const remove = splitTags(removeInput.value);
    if (!add.length && !remove.length) { addInput.focus(); return; }
    try {
      const ids = [...selection.ids];
      const data = await api.post("/api/tags/batch", { ids, add, remove });
      addInput.value = removeInput.value = "";
      toast(`Tags changed on ${plural(data.images, "picture")}.`, {
        action: { label: "Undo", run: () => undoEdits(data.edits) } });
    } catch (e) { showError(e); }
  };
  const form = el("form", { class: "row", onsubmit: (e) => { e.preventDefault(); apply(); } },
    el("span", { class: "ac" }, addInput), el("span", { class: "ac" }, removeInput),
    el("button", { type: "submit" }, "Apply"));
  bar.append(el("span", { class: "count" }, `${n.toLocaleString()} selected`), form,
    el("button", { id: "sel-trash", class: "danger", onclick: () => fileSelection("trash") }, "Trash"),
    el("button", { id: "sel-move", onclick: () => fileSelection("move") }, "Move…"),
    el("button", { id: "sel-export", onclick: () => fileSelection("copy") }, "Export…"),
    el("button", { onclick: () => { location.hash = "#/clusters?selection=1"; } }, "Cluster"),
    el("button", { id: "sel-dataset", title: "Make a training set of the selection",
                   onclick: () => { location.hash = "#/datasets?selection=1"; } }, "Dataset…"),
    el("button", { onclick: () => selection.clear() }, "Clear"));
  attachAutocomplete(addInput, { separator: /[\s,]/ });
  attachAutocomplete(removeInput, { separator: /[\s,]/ });
}

// Trash, move or export (copy) the selection with their captions; one Undo puts it back.
async function fileSelection(how) {
  const ids = [...selection.ids];
  let dest = null;
  if (how !== "trash") {
    const input = el("input", { type: "text", id: "files-dest", placeholder: "/full/path/of/a/folder",
                                value: localStorage.getItem("illudex.filesDest") || "", "aria-label": "Folder" });
    const verb = how === "move" ? "Move" : "Export (copy)";
    const ok = await dialog(`${verb} ${plural(ids.length, "picture")}`, el("div", {},
      el("p", {}, `${verb} the selected pictures, with their .txt captions, into this folder (made if missing):`), input),
      [{ label: "Cancel", value: false }, { label: how === "move" ? "Move" : "Export", value: true, class: "primary" }]);
    dest = input.value.trim();
    if (!ok || !dest) return;
    localStorage.setItem("illudex.filesDest", dest);
  } else {
    const ok = await dialog(`Trash ${plural(ids.length, "picture")}`, el("p", {},
      "Move the selected pictures (and their captions) to the library's trash? Undo puts them back."),
      [{ label: "Cancel", value: false }, { label: "Trash", value: true, class: "danger" }]);
    if (!ok) return;
  }
  try {
    const data = await api.post("/api/images/files", { ids, how, dest });
    const done = { trash: "Moved to the trash", move: `Moved to ${data.dest}`, copy: `Exported to ${data.dest}` }[how];
    const failed = data.failed.length ? ` (${plural(data.failed.length, "file")} failed: ${data.failed[0].error})` : "";
    if (how !== "copy") selection.clear();
    toast(`${done}: ${plural(data.pictures, "picture")}${failed}.`, { kind: failed ? "error" : "info", action: data.action ? {
      label: "Undo", run: () => api.post("/api/undo", { action: data.action })
        .then(() => { toast("Put back."); if (how !== "copy") rerender(); }).catch(showError) } : null });
    if (how !== "copy") {
      const gone = new Set(ids);
      document.querySelectorAll("#gallery-grid .tile").forEach((t) => { if (gone.has(Number(t.dataset.id))) t.remove(); });
    }
  } catch (e) { showError(e); }
}

function rerender() {
  window.dispatchEvent(new HashChangeEvent("hashchange")); // the router draws the page again
}

export async function undoEdits(edits) {
  try {
    for (const edit of [...edits].reverse()) await api.post("/api/tags/undo", { edit });
    toast("Tag change undone.");
  } catch (e) { showError(e); }
}
