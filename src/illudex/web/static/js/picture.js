// The picture page: the picture, its tags by category (score, source; add and remove),
// file facts, its duplicates and alternates, and similar pictures.
import { api } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { bytes, clear, date, el, isTyping, showError, splitTags, tile, toast } from "./ui.js";

const CATEGORY_ORDER = ["artist", "copyright", "character", "general", "meta", "rating"];

export async function render(root, { arg }) {
  const id = Number(arg);
  let item;
  try {
    item = await api.get(`/api/images/${id}`);
  } catch (e) { // shown in place: an unknown id is a page of its own, not a toast
    root.append(el("div", { class: "page" }, el("div", { class: "notice error-text", id: "picture-error", role: "alert" },
      e.status === 404 || e.status === 422 ? `There is no picture ${arg} in the catalog. ` : `${e.message} `,
      el("a", { href: "#/" + backQuery() }, "Back to the gallery"))));
    return null;
  }
  const view = el("div", { class: "picture-view", id: "picture-view" },
    el("img", { src: item.file, alt: item.name, id: "picture-img" }));
  view.addEventListener("click", () => view.classList.toggle("full"));
  const tagsBox = el("div", { class: "card", id: "picture-tags" });
  const dupesBox = el("div", { class: "card" }, el("h2", {}, "Duplicates & alternates"),
    el("p", { class: "muted" }, "Looking…"));
  const similarBox = el("div", { class: "card" }, el("h2", {}, "Similar pictures"),
    el("p", { class: "muted" }, "Looking…"));
  const { prev, next } = neighbours(id);
  const nav = el("div", { class: "row" },
    el("a", { class: "button", href: "#/" + backQuery() }, "← Gallery"),
    el("a", { class: "button", id: "more-like-this", href: `#/?q=${encodeURIComponent(`similar:${id}`)}`,
              title: "The gallery of pictures that look like this one" }, "More like this"),
    el("span", { class: "spacer" }),
    prev ? el("a", { class: "button", href: `#/image/${prev}`, title: "Previous (←)" }, "‹ Prev") : null,
    next ? el("a", { class: "button", href: `#/image/${next}`, title: "Next (→)" }, "Next ›") : null);
  const side = el("aside", { class: "side" },
    el("div", { class: "card" }, el("h1", { class: "mono" }, item.name), facts(item)),
    tagsBox, dupesBox);
  root.append(el("div", { class: "page" }, nav, el("div", { class: "picture" }, view, side),
    el("div", { class: "page-bottom" }, similarBox)));
  renderTags(tagsBox, item);
  loadDupes(dupesBox, id);
  loadSimilar(similarBox, id);
  const onKey = (event) => {
    if (isTyping(event)) return;
    if (event.key === "ArrowLeft" && prev) location.hash = `#/image/${prev}`;
    if (event.key === "ArrowRight" && next) location.hash = `#/image/${next}`;
    if (event.key === "Escape") location.hash = "#/" + backQuery();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

function listing() {
  try { return JSON.parse(sessionStorage.getItem("illudex.list") || "null"); } catch { return null; }
}

function backQuery() {
  const list = listing();
  return list && list.q ? `?q=${encodeURIComponent(list.q)}` : "";
}

function neighbours(id) {
  const list = listing();
  const ids = (list && list.ids) || [];
  const at = ids.indexOf(id);
  return { prev: at > 0 ? ids[at - 1] : null, next: at >= 0 && at < ids.length - 1 ? ids[at + 1] : null };
}

function facts(item) {
  const rows = [
    ["Folder", item.folder], ["Size", `${item.width} × ${item.height} px · ${bytes(item.size)}`],
    ["Format", item.format], ["Modified", date(item.mtime)], ["Content", item.digest.slice(0, 16)],
    ["Catalog id", String(item.id)],
  ];
  // Shown only once an aesthetic model has scored it (`illudex quality`).
  if (item.quality) rows.push(["Quality", qualityText(item.quality)]);
  if (!item.in_library) rows.push(["Note", "moved out of the library folders (trash?)"]);
  if (!item.exists) rows.push(["Note", "the file is not there any more"]);
  return el("dl", { class: "facts" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]),
    el("dt", {}), el("dd", {}, el("a", { href: item.file, target: "_blank", rel: "noopener" }, "Open the file")));
}

function qualityText(quality) {
  const score = quality.score.toFixed(2);
  return quality.label ? `${score} · ${quality.label}` : score;
}

function renderTags(box, item) {
  clear(box).append(el("h2", {}, "Tags"));
  if (item.tags === null) {
    box.append(el("p", { class: "muted" }, "Tags appear here once this illudex can read them."));
    return;
  }
  const byCategory = new Map();
  for (const t of item.tags) {
    if (!byCategory.has(t.category)) byCategory.set(t.category, []);
    byCategory.get(t.category).push(t);
  }
  const categories = [...byCategory.keys()].sort((a, b) => rank(a) - rank(b));
  if (!item.tags.length) box.append(el("p", { class: "muted" }, "No tags yet."));
  for (const category of categories) {
    const tags = byCategory.get(category).sort((a, b) => (b.score ?? 2) - (a.score ?? 2) || a.name.localeCompare(b.name));
    box.append(el("div", { class: `tag-group cat-${category}` }, el("h3", {}, category),
      tags.map((t) => el("span", { class: `tag cat-${category}`, dataset: { tag: t.name } },
        el("a", { class: "name", href: `#/?q=${encodeURIComponent(t.name)}` }, t.name),
        t.score !== null && t.score !== undefined ? el("span", { class: "score" }, `${Math.round(t.score * 100)}%`) : null,
        el("span", { class: "src", title: `source: ${t.source}` }, shortSource(t.source)),
        el("button", { title: `Remove ${t.name}`, "aria-label": `Remove ${t.name}`,
                       onclick: () => editTags(box, item, [], [t.name]) }, "×")))));
  }
  const input = el("input", { type: "text", id: "add-tag-input", placeholder: "add tags (comma or space between)",
                              "aria-label": "Add tags" });
  const form = el("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const names = splitTags(input.value);
    if (names.length) editTags(box, item, names, []);
  } }, el("span", { class: "ac grow" }, input), el("button", { type: "submit" }, "Add"));
  const captions = el("input", { type: "checkbox", id: "write-caption", checked: writeCaptions(),
                                 onchange: (e) => localStorage.setItem("illudex.writeCaptions", e.target.checked ? "1" : "") });
  box.append(form, el("div", { class: "row" },
    el("label", { class: "check-label muted" }, captions, "also write tag changes to the .txt caption"),
    el("button", { type: "button", id: "write-caption-now", title: "Write this picture's tags to its .txt caption now",
                   onclick: () => writeCaptionNow(item) }, "Write caption now")));
  attachAutocomplete(input, { separator: /[\s,]/ });
}

function rank(category) {
  const at = CATEGORY_ORDER.indexOf(category);
  return at < 0 ? CATEGORY_ORDER.length : at;
}

function shortSource(source) {
  if (!source) return "";
  if (source.startsWith("model:")) return "model";
  return source;
}

function writeCaptions() {
  return localStorage.getItem("illudex.writeCaptions") === "1";
}

async function writeCaptionNow(item) {
  try {
    const data = await api.post("/api/tags/batch", { ids: [item.id], add: [], remove: [], captions: true });
    toast(data.captions ? "Caption file written." : "Nothing to write (no tags).", data.captions_action ? {
      action: { label: "Undo", run: () => api.post("/api/undo", { action: data.captions_action })
        .then(() => toast("Caption put back.")).catch(showError) } } : {});
  } catch (e) { showError(e); }
}

async function editTags(box, item, add, remove) {
  try {
    const data = await api.post("/api/tags/batch", { ids: [item.id], add, remove, captions: writeCaptions() });
    const fresh = await api.get(`/api/images/${item.id}`);
    renderTags(box, fresh);
    const note = data.captions_action ? " The .txt caption was rewritten." : " The .txt caption was not touched.";
    toast((add.length ? `Added ${add.join(", ")}.` : `Removed ${remove.join(", ")}.`) + note, {
      action: { label: "Undo", run: async () => {
        try {
          if (data.captions_action) await api.post("/api/undo", { action: data.captions_action });
          for (const edit of [...data.edits].reverse()) await api.post("/api/tags/undo", { edit });
          renderTags(box, await api.get(`/api/images/${item.id}`));
        } catch (e) { showError(e); }
      } } });
  } catch (e) { showError(e); }
}

async function loadDupes(box, id) {
  try {
    const data = await api.get(`/api/images/${id}/dupes`);
    clear(box).append(el("h2", {}, "Duplicates & alternates"));
    const dupes = data.duplicates.flatMap((g) => g.files.map((f) => ({ f, keep: g.keep === f.id })));
    if (!dupes.length && !data.alternates.length) {
      box.append(el("p", { class: "muted" }, "None found."));
      return;
    }
    if (dupes.length) {
      box.append(el("h3", {}, "Duplicates"),
        el("div", { class: "grid small" }, dupes.map(({ f, keep }) => tile(f, { badge: keep ? "keeper" : null }))),
        el("p", {}, el("a", { href: `#/dupes?image=${id}`, id: "review-dupes" }, "Review duplicates →")));
    }
    if (data.alternates.length) {
      box.append(el("h3", {}, "Alternates"), el("div", { class: "grid small" }, data.alternates.map((f) => tile(f))));
    }
  } catch (e) {
    clear(box).append(el("h2", {}, "Duplicates & alternates"), el("p", { class: "muted" }, e.message));
  }
}

async function loadSimilar(box, id) {
  try {
    const data = await api.get(`/api/images/${id}/similar?limit=24`);
    clear(box).append(el("h2", {}, "Similar pictures"));
    box.append(data.items.length
      ? el("div", { class: "grid small" }, data.items.map((f) => tile(f, { badge: f.score.toFixed(2) })))
      : el("p", { class: "muted" }, "None found."));
  } catch (e) {
    clear(box).append(el("h2", {}, "Similar pictures"),
      el("p", { class: "muted" }, e.status === 501 ? "Similar pictures need embeddings (run an embed job)." : e.message));
  }
}
