// Alternate pairs (the same drawing with a part changed: a recolour, an added prop), side
// by side, each marked as duplicates, alternates or unrelated — and unmarked again.
import { api } from "./api.js";
import { bytes, clear, el, plural, showError, toast } from "./ui.js";

const CHOICES = [["duplicate", "Duplicates"], ["alternate", "Alternates"], ["not_duplicate", "Unrelated"]];
const SAID = { duplicate: "Marked as duplicates", alternate: "Marked as alternates",
               not_duplicate: "Marked as unrelated" };

export async function renderAlternates(root) {
  clear(root).append(el("div", { class: "page" }, el("p", { class: "muted" }, "Finding alternates…")));
  const data = await api.get("/api/dupes");
  const page = el("div", { class: "page", id: "alternates-page" },
    el("div", { class: "gallery-head" },
      el("h1", {}, "Alternates"),
      el("span", { class: "muted" }, `${plural(data.alternates.length, "pair")}: the same picture with a part changed`),
      el("span", { class: "spacer" }),
      el("a", { href: "#/dupes", class: "button" }, "← Duplicate groups")));
  if (!data.alternates.length) {
    page.append(el("div", { class: "notice" }, "No alternate pairs found in the library folders."));
  }
  page.append(el("div", { class: "alt-list" }, data.alternates.map(([a, b]) => pairRow(a, b))));
  clear(root).append(page);
}

function pairRow(a, b) {
  const state = el("span", { class: "muted alt-state" });
  const buttons = CHOICES.map(([relation, label]) =>
    el("button", { dataset: { relation }, onclick: () => decide(row, a, b, relation, state) }, label));
  const row = el("div", { class: "alt-pair card", dataset: { a: a.id, b: b.id } },
    el("div", { class: "alt-sides" }, side(a), side(b)),
    el("div", { class: "row" }, buttons, state));
  return row;
}

function side(file) {
  return el("a", { class: "alt-side", href: `#/image/${file.id}`, title: file.path },
    el("img", { src: `${file.thumb}&size=512`, alt: file.name, loading: "lazy" }),
    el("div", { class: "name" }, file.name),
    el("div", { class: "muted" }, `${file.width}×${file.height} · ${bytes(file.size)} · ${file.format}`));
}

async function decide(row, a, b, relation, state) {
  try {
    await api.post("/api/dupes/mark", { a: a.id, b: b.id, relation });
    row.dataset.marked = relation;
    for (const button of row.querySelectorAll("button[data-relation]")) {
      button.classList.toggle("primary", button.dataset.relation === relation);
    }
    state.replaceChildren(SAID[relation], " ",
      el("button", { class: "link", onclick: () => forget(row, a, b, state) }, "Undo"));
    toast(`${SAID[relation]}.`);
  } catch (e) { showError(e); }
}

async function forget(row, a, b, state) {
  try {
    await api.post("/api/dupes/unmark", { a: a.id, b: b.id });
    delete row.dataset.marked;
    for (const button of row.querySelectorAll("button[data-relation]")) button.classList.remove("primary");
    state.replaceChildren();
    toast("Decision forgotten.");
  } catch (e) { showError(e); }
}
