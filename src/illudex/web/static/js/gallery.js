// The gallery: thumbnails of a query's pictures, loaded page by page as one scrolls;
// selection with click on the check mark, ctrl/cmd-click, shift-click, and select all.
import { api, query } from "./api.js";
import { selection } from "./selection.js";
import { attachAutocomplete } from "./autocomplete.js";
import { clear, el, isTyping, plural, showError, splitTags, tile, toast } from "./ui.js";

const PAGE = 120; // the preload in index.html asks for the same first page
const EAGER = 36; // thumbnails on a big first screen

export async function render(root, { params }) {
  const q = params.q || "";
  const state = { q, items: [], total: null, loading: false, anchor: null, done: false };
  const info = el("span", { class: "muted", id: "gallery-count" }, "Loading…");
  const warnings = el("div", { class: "muted" });
  const grid = el("div", { class: "grid", id: "gallery-grid" });
  const sentinel = el("div", { class: "sentinel" });
  const page = el("div", { class: "page" },
    el("div", { class: "gallery-head" },
      el("h1", { id: "gallery-title" }, q ? "Search" : "All pictures"), info,
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
  const loadMore = async () => {
    if (state.loading || state.done) return;
    state.loading = true;
    try {
      const data = await api.get(`/api/images${query({ q, offset: state.items.length, limit: PAGE })}`);
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
      clear(warnings).append(...(data.warnings || []).map((w) => el("div", {}, w)));
      if (!data.total) grid.replaceWith(emptyNotice(q));
      sessionStorage.setItem("illudex.list", JSON.stringify({ q, ids: state.items.map((i) => i.id) }));
      sync();
    } catch (e) {
      info.textContent = "";
      showError(e);
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

function emptyNotice(q) {
  return el("div", { class: "notice" }, q
    ? "No picture matches this search."
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

async function selectAll(state) {
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
    el("button", { onclick: () => { location.hash = "#/clusters?selection=1"; } }, "Cluster"),
    el("button", { onclick: () => selection.clear() }, "Clear"));
  attachAutocomplete(addInput, { separator: /[\s,]/ });
  attachAutocomplete(removeInput, { separator: /[\s,]/ });
}

export async function undoEdits(edits) {
  try {
    for (const edit of [...edits].reverse()) await api.post("/api/tags/undo", { edit });
    toast("Tag change undone.");
  } catch (e) { showError(e); }
}
