// Tags: every tag with its count and category (rename, merge, delete, change category);
// aliases, implications and translations (add, edit, delete); batch edits on the
// current selection. A change that would retag pictures says how many and asks first.
import { api, query } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { selection } from "./selection.js";
import { clear, dialog, el, plural, showError, splitTags, toast } from "./ui.js";
import { undoEdits } from "./gallery.js";

const TABS = [["all", "All tags"], ["aliases", "Aliases"], ["implications", "Implications"],
              ["translations", "Translations"]];
const CATEGORIES = ["general", "character", "copyright", "artist", "meta", "rating"];

export async function render(root, { params }) {
  const tab = params.tab || "all";
  const body = el("div", { id: "tags-body" });
  root.append(el("div", { class: "page" },
    el("h1", {}, "Tags"),
    el("p", {}, el("a", { id: "tags-teach-link", href: "#/teach" }, "Teach a tag from examples →")),
    batchCard(),
    el("div", { class: "tabs" }, TABS.map(([key, label]) =>
      el("button", { class: key === tab ? "active" : "", onclick: () => { location.hash = `#/tags?tab=${key}`; } }, label))),
    body));
  try {
    await { all: allTags, aliases, implications, translations }[tab](body, params);
  } catch (e) {
    body.append(el("div", { class: "notice" }, e.status === 501 ? "Tags are not available in this illudex yet." : e.message));
  }
}

// POST a change; when the server answers 409 (it would retag pictures or replace an
// entry), show what it would do and send it again with confirm only if the user agrees.
export async function confirmed(url, body, title) {
  try {
    return await api.post(url, body);
  } catch (e) {
    if (e.status !== 409 || !e.data || !e.data.confirm) throw e;
    const facts = [];
    if (e.data.pictures) facts.push(el("p", { id: "confirm-count" }, `This changes the tags of ${plural(e.data.pictures, "picture")}.`));
    if (e.data.replaces) facts.push(el("p", {}, `It replaces the alias ${e.data.replaces}.`));
    facts.push(el("p", { class: "muted" }, "You can undo it afterwards."));
    const go = await dialog(title, el("div", { id: "confirm-body" }, facts),
      [{ label: "Cancel", value: false }, { label: "Go ahead", value: true, class: "primary" }]);
    if (!go) return null;
    return api.post(url, { ...body, confirm: true });
  }
}

// Undo every journal action a change made (captions first: they were written last).
async function undoActions(actions, after) {
  try {
    for (const action of actions.filter(Boolean)) await api.post("/api/undo", { action });
    toast("Undone.");
    if (after) await after();
  } catch (e) { showError(e); }
}

function captionNote(data) {
  if (data.captions_action) return ` Rewrote ${plural(data.captions, "caption file")}.`;
  return " Caption files were not touched.";
}

function batchCard() {
  const n = selection.ids.size;
  if (!n) {
    return el("p", { class: "muted" }, "Select pictures in the ", el("a", { href: "#/" }, "gallery"),
      " to add or remove tags on many at once.");
  }
  const add = el("input", { type: "text", placeholder: "tags to add", id: "batch-add" });
  const remove = el("input", { type: "text", placeholder: "tags to remove", id: "batch-remove" });
  const captions = el("input", { type: "checkbox", id: "batch-captions" });
  const form = el("form", { class: "card row", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const data = await api.post("/api/tags/batch", { ids: [...selection.ids], add: splitTags(add.value),
                                                        remove: splitTags(remove.value), captions: captions.checked });
      add.value = remove.value = "";
      toast(`Tags changed on ${plural(data.images, "picture")}.${captionNote(data)}`, { action: { label: "Undo", run: async () => {
        if (data.captions_action) await api.post("/api/undo", { action: data.captions_action }).catch(showError);
        await undoEdits(data.edits);
      } } });
    } catch (err) { showError(err); }
  } }, el("strong", {}, `${plural(n, "picture")} selected`), el("span", { class: "ac" }, add),
    el("span", { class: "ac" }, remove),
    el("label", { class: "check-label" }, captions, "write .txt captions"),
    el("button", { type: "submit", class: "primary" }, "Apply"),
    el("button", { type: "button", onclick: () => { selection.clear(); location.reload(); } }, "Clear selection"));
  attachAutocomplete(add, { separator: /[\s,]/ });
  attachAutocomplete(remove, { separator: /[\s,]/ });
  return form;
}

async function allTags(body, params) {
  const filter = el("input", { type: "search", placeholder: "filter: any part of the name", id: "tag-filter",
                               "aria-label": "Filter tags", value: params.filter || "" });
  const table = el("div");
  const load = async () => {
    const data = await api.get(`/api/tags${query({ contains: filter.value.trim(), limit: 1000 })}`);
    clear(table).append(data.tags.length ? el("table", { class: "plain", id: "tag-table" },
      el("tr", {}, el("th", {}, "Tag"), el("th", {}, "Category"), el("th", {}, "Pictures"), el("th", {}, "")),
      data.tags.map((t) => tagRow(t, load)))
      : el("p", { class: "muted" }, filter.value.trim() ? `No tag name contains “${filter.value.trim()}”.` : "No tags."));
  };
  let timer = null;
  filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => load().catch(showError), 150); });
  body.append(el("div", { class: "row" }, filter), table);
  await load();
}

function tagRow(t, reload) {
  const category = el("select", { "aria-label": `Category of ${t.name}`, class: "tag-category" },
    CATEGORIES.map((c) => el("option", { value: c, selected: c === t.category }, c)));
  category.addEventListener("change", async () => {
    try {
      await api.post("/api/tags/category", { name: t.name, category: category.value });
      toast(`${t.name} is now ${category.value}.`);
      await reload();
    } catch (e) { showError(e); }
  });
  return el("tr", { class: `cat-${t.category}`, dataset: { tag: t.name } },
    el("td", {}, el("a", { class: "tag-name", href: `#/?q=${encodeURIComponent(t.name)}` }, t.name)),
    el("td", {}, category), el("td", {}, (t.count ?? 0).toLocaleString()),
    el("td", { class: "row-actions" },
      el("button", { class: "rename", onclick: () => changeTag(t, "rename", reload) }, "Rename"),
      el("button", { class: "merge", onclick: () => changeTag(t, "merge", reload) }, "Merge…"),
      el("button", { class: "delete danger", onclick: () => changeTag(t, "delete", reload) }, "Delete")));
}

// Rename, merge or delete a tag: ask for the name, then (the server counts) confirm.
async function changeTag(t, how, reload) {
  const name = el("input", { type: "text", id: "change-name", value: how === "rename" ? t.name : "",
                             "aria-label": how === "rename" ? "New name" : "Merge into" });
  const captions = el("input", { type: "checkbox", id: "change-captions" });
  const text = { rename: `New name for ${t.name} (the old name stays as an alias):`,
                 merge: `Merge ${t.name} into which tag? Its pictures get that tag; ${t.name} becomes an alias.`,
                 delete: `Delete ${t.name}? It is taken off ${plural(t.count ?? 0, "picture")}, with its aliases, implications and translations.` }[how];
  const form = el("div", { class: "stack" }, el("p", {}, text),
    how === "delete" ? null : el("span", { class: "ac" }, name),
    el("label", { class: "check-label" }, captions, "also rewrite the .txt captions of these pictures"));
  if (how === "merge") attachAutocomplete(name, { separator: /[\s,]/ });
  const title = { rename: "Rename tag", merge: "Merge tag", delete: "Delete tag" }[how];
  const ok = await dialog(title, form, [{ label: "Cancel", value: false },
    { label: title.split(" ")[0], value: true, class: how === "delete" ? "danger" : "primary" }]);
  if (!ok) return;
  const body = { name: t.name, captions: captions.checked };
  if (how === "rename") body.new = name.value.trim();
  if (how === "merge") body.into = splitTags(name.value)[0] || "";
  try {
    const data = await confirmed("/api/tags/change", body, `${title}: ${t.name}`);
    if (!data) return;
    toast(`${data.summary}: ${plural(data.pictures, "picture")} changed.${captionNote(data)}`, {
      action: { label: "Undo", run: () => undoActions([data.captions_action, data.action], reload) } });
    await reload();
  } catch (e) { showError(e); }
}

function pairForm(fields, submit) {
  const inputs = fields.map(([name, placeholder]) => el("input", { type: "text", name, placeholder, "aria-label": placeholder }));
  const button = el("button", { type: "submit", class: "primary" }, "Add");
  const form = el("form", { class: "row card", onsubmit: async (e) => {
    e.preventDefault();
    try {
      if (await submit(...inputs.map((i) => i.value.trim()))) {
        inputs.forEach((i) => { i.value = ""; });
        button.textContent = "Add";
        form.editing = null;
      }
    } catch (err) { showError(err); }
  } }, inputs.map((i) => el("span", { class: "ac" }, i)), button);
  inputs.forEach((i, n) => { if (fields[n][2]) attachAutocomplete(i, { separator: /[\s,]/ }); });
  // Edit a row: its values go into the form; saving deletes the old row first.
  form.edit = (row, keys) => {
    keys.forEach((k, n) => { inputs[n].value = row[k]; });
    form.editing = row;
    button.textContent = "Save";
    inputs[0].focus();
  };
  return form;
}

async function listing(body, { title, url, key, columns, fields, post, keyOf }) {
  const table = el("div");
  let form = null;
  const load = async () => {
    const data = await api.get(url);
    const rows = data[key];
    clear(table).append(rows.length ? el("table", { class: "plain", id: `${key}-table` },
      el("tr", {}, columns.map(([, label]) => el("th", {}, label)), el("th", {}, "")),
      rows.map((r) => el("tr", {}, columns.map(([name]) => el("td", {}, String(r[name] ?? ""))),
        el("td", { class: "row-actions" },
          el("button", { class: "edit", onclick: () => form.edit(r, columns.map(([c]) => c)) }, "Edit"),
          el("button", { class: "delete danger", onclick: () => removeRow(r) }, "Delete")))))
      : el("p", { class: "muted" }, `No ${title} yet.`));
  };
  const removeRow = async (r) => {
    try {
      await api.post(`${url}/delete`, keyOf(r));
      toast(`Deleted ${columns.map(([c]) => r[c]).join(" → ")}.`, { action: { label: "Undo", run: async () => {
        try { await api.post(url, { ...post(...columns.map(([c]) => r[c])), confirm: true }); await load(); } catch (e) { showError(e); }
      } } });
      await load();
    } catch (e) { showError(e); }
  };
  form = pairForm(fields, async (...values) => {
    const editing = form.editing;
    if (editing) await api.post(`${url}/delete`, keyOf(editing));
    let data;
    try {
      data = await confirmed(url, post(...values), `Add ${title === "aliases" ? "alias" : title.replace(/s$/, "")}`);
    } catch (e) {
      if (editing) await api.post(url, { ...post(...columns.map(([c]) => editing[c])), confirm: true }).catch(() => {});
      throw e;
    }
    if (!data) {
      if (editing) await api.post(url, { ...post(...columns.map(([c]) => editing[c])), confirm: true });
      return false;
    }
    // Undo: a merge through the journal; otherwise take the new row away (and put back
    // the alias it replaced).
    const undo = data.action ? () => undoActions([data.action], load) : async () => {
      try {
        await api.post(`${url}/delete`, keyOf(post(...values)));
        const old = data.replaced && data.replaced.split(" → ")[1];
        if (old) await api.post(url, { ...post(values[0], old), confirm: true });
        toast("Undone.");
        await load();
      } catch (e) { showError(e); }
    };
    toast(data.pictures ? `Saved: ${plural(data.pictures, "picture")} affected.` : "Saved.",
      { action: { label: "Undo", run: undo } });
    await load();
    return true;
  });
  body.append(form, table);
  await load();
}

function aliases(body) {
  return listing(body, { title: "aliases", url: "/api/tags/aliases", key: "aliases",
    columns: [["alias", "Alias"], ["tag", "Means"]],
    fields: [["alias", "alias (e.g. kancolle)"], ["tag", "tag (e.g. kantai_collection)", true]],
    post: (alias, tag) => ({ alias, tag }), keyOf: (r) => ({ alias: r.alias }) });
}

function implications(body) {
  return listing(body, { title: "implications", url: "/api/tags/implications", key: "implications",
    columns: [["tag", "Tag"], ["implied", "Implies"]],
    fields: [["tag", "tag (e.g. cat_ears)", true], ["implied", "implied tag (e.g. animal_ears)", true]],
    post: (tag, implied) => ({ tag, implied }), keyOf: (r) => ({ tag: r.tag, implied: r.implied }) });
}

function translations(body) {
  return listing(body, { title: "translations", url: "/api/tags/translations", key: "translations",
    columns: [["tag", "Tag"], ["lang", "Language"], ["name", "Name"]],
    fields: [["tag", "tag", true], ["lang", "language (ja, zh …)"], ["name", "name in that language"]],
    post: (tag, lang, name) => ({ tag, lang, name }), keyOf: (r) => ({ tag: r.tag, lang: r.lang, name: r.name }) });
}
