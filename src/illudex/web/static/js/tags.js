// Tags: every tag with its count and category; aliases, implications and translations;
// batch edits on the current selection.
import { api, query } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { selection } from "./selection.js";
import { clear, el, plural, showError, splitTags, toast } from "./ui.js";
import { undoEdits } from "./gallery.js";

const TABS = [["all", "All tags"], ["aliases", "Aliases"], ["implications", "Implications"],
              ["translations", "Translations"]];

export async function render(root, { params }) {
  const tab = params.tab || "all";
  const body = el("div", { id: "tags-body" });
  root.append(el("div", { class: "page" },
    el("h1", {}, "Tags"), batchCard(),
    el("div", { class: "tabs" }, TABS.map(([key, label]) =>
      el("button", { class: key === tab ? "active" : "", onclick: () => { location.hash = `#/tags?tab=${key}`; } }, label))),
    body));
  try {
    await { all: allTags, aliases, implications, translations }[tab](body);
  } catch (e) {
    body.append(el("div", { class: "notice" }, e.status === 501 ? "Tags are not available in this illudex yet." : e.message));
  }
}

function batchCard() {
  const n = selection.ids.size;
  if (!n) {
    return el("p", { class: "muted" }, "Select pictures in the ", el("a", { href: "#/" }, "gallery"),
      " to add or remove tags on many at once.");
  }
  const add = el("input", { type: "text", placeholder: "tags to add", id: "batch-add" });
  const remove = el("input", { type: "text", placeholder: "tags to remove", id: "batch-remove" });
  const form = el("form", { class: "card row", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const data = await api.post("/api/tags/batch", { ids: [...selection.ids], add: splitTags(add.value), remove: splitTags(remove.value) });
      add.value = remove.value = "";
      toast(`Tags changed on ${plural(data.images, "picture")}.`, { action: { label: "Undo", run: () => undoEdits(data.edits) } });
    } catch (err) { showError(err); }
  } }, el("strong", {}, `${plural(n, "picture")} selected`), el("span", { class: "ac" }, add),
    el("span", { class: "ac" }, remove), el("button", { type: "submit", class: "primary" }, "Apply"),
    el("button", { type: "button", onclick: () => { selection.clear(); location.reload(); } }, "Clear selection"));
  attachAutocomplete(add, { separator: /[\s,]/ });
  attachAutocomplete(remove, { separator: /[\s,]/ });
  return form;
}

async function allTags(body) {
  const filter = el("input", { type: "search", placeholder: "filter by prefix", id: "tag-filter" });
  const table = el("div");
  const load = async () => {
    const data = await api.get(`/api/tags${query({ prefix: filter.value.trim(), limit: 1000 })}`);
    clear(table).append(data.tags.length ? el("table", { class: "plain", id: "tag-table" },
      el("tr", {}, el("th", {}, "Tag"), el("th", {}, "Category"), el("th", {}, "Pictures")),
      data.tags.map((t) => el("tr", { class: `cat-${t.category}` },
        el("td", {}, el("a", { class: "tag-name", href: `#/?q=${encodeURIComponent(t.name)}` }, t.name)),
        el("td", { class: "muted" }, t.category), el("td", {}, (t.count ?? 0).toLocaleString()))))
      : el("p", { class: "muted" }, "No tags."));
  };
  let timer = null;
  filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(showError), 150); });
  body.append(el("div", { class: "row" }, filter), table);
  await load();
}

function pairForm(fields, submit) {
  const inputs = fields.map(([name, placeholder]) => el("input", { type: "text", name, placeholder, "aria-label": placeholder }));
  const form = el("form", { class: "row card", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await submit(...inputs.map((i) => i.value.trim()));
      inputs.forEach((i) => { i.value = ""; });
    } catch (err) { showError(err); }
  } }, inputs.map((i) => el("span", { class: "ac" }, i)), el("button", { type: "submit", class: "primary" }, "Add"));
  inputs.forEach((i, n) => { if (fields[n][2]) attachAutocomplete(i, { separator: /[\s,]/ }); });
  return form;
}

async function listing(body, title, url, key, columns, fields, post) {
  const table = el("div");
  const load = async () => {
    const data = await api.get(url);
    const rows = data[key];
    clear(table).append(rows.length ? el("table", { class: "plain" },
      el("tr", {}, columns.map(([, label]) => el("th", {}, label))),
      rows.map((r) => el("tr", {}, columns.map(([name]) => el("td", {}, String(r[name] ?? ""))))))
      : el("p", { class: "muted" }, `No ${title} yet.`));
  };
  body.append(pairForm(fields, async (...values) => {
    await api.post(url, post(...values));
    toast("Saved.");
    await load();
  }), table);
  await load();
}

function aliases(body) {
  return listing(body, "aliases", "/api/tags/aliases", "aliases", [["alias", "Alias"], ["tag", "Means"]],
    [["alias", "alias (e.g. kancolle)"], ["tag", "tag (e.g. kantai_collection)", true]],
    (alias, tag) => ({ alias, tag }));
}

function implications(body) {
  return listing(body, "implications", "/api/tags/implications", "implications",
    [["tag", "Tag"], ["implied", "Implies"]],
    [["tag", "tag (e.g. cat_ears)", true], ["implied", "implied tag (e.g. animal_ears)", true]],
    (tag, implied) => ({ tag, implied }));
}

function translations(body) {
  return listing(body, "translations", "/api/tags/translations", "translations",
    [["tag", "Tag"], ["lang", "Language"], ["name", "Name"]],
    [["tag", "tag", true], ["lang", "language (ja, zh …)"], ["name", "name in that language"]],
    (tag, lang, name) => ({ tag, lang, name }));
}
