// Teach a tag: give a few yes/no examples (the selection, or searches), see what the
// learned tag would take (best first) and the pictures it is least sure of; label those
// with Y / N (or the buttons), teach again, and apply when the cross-validated precision
// and recall look right. Applying is one undoable action (History).
import { api } from "./api.js";
import { selection } from "./selection.js";
import { clear, el, plural, showError, tile, toast } from "./ui.js";

export async function render(root, { params }) {
  const h = { root, yes: new Set(selection.ids), no: new Set(), tag: params.tag || "", result: null };
  const tagInput = el("input", { id: "teach-tag", type: "text", value: h.tag, placeholder: "tag to teach", required: true, spellcheck: "false" });
  const yesQuery = el("input", { id: "teach-yes-query", type: "search", placeholder: "yes: pictures matching (optional)" });
  const noQuery = el("input", { id: "teach-no-query", type: "search", placeholder: "no: pictures matching (optional)" });
  const run = () => teach(h, { tag: tagInput.value.trim(), yes_query: yesQuery.value, no_query: noQuery.value });
  const form = el("form", { class: "teach-form", id: "teach-form",
                            onsubmit: (event) => { event.preventDefault(); run().catch(showError); } },
    tagInput, yesQuery, noQuery, el("button", { id: "teach-run", type: "submit", class: "primary" }, "Teach"));
  h.status = el("p", { id: "teach-status", class: "muted" },
    h.yes.size ? `${plural(h.yes.size, "selected picture")} count as yes.` : "Select some pictures in the gallery, or give searches, for the first examples.");
  h.body = el("div", { id: "teach-body" });
  clear(root).append(el("div", { class: "page", id: "teach-page" },
    el("div", { class: "gallery-head" }, el("h1", {}, "Teach a tag")), form, h.status, h.body));
  const onKey = (event) => label(h, event);
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

async function teach(h, { tag, yes_query = "", no_query = "", apply = false, min = 0.5 }) {
  if (tag !== h.tag) { h.tag = tag; }
  const data = await api.post("/api/teach", { tag, yes: [...h.yes], no: [...h.no], yes_query, no_query, apply, min });
  data.yes_ids.forEach((id) => h.yes.add(id));
  data.no_ids.forEach((id) => h.no.add(id));
  h.result = data;
  show(h);
  if (data.applied) {
    toast(`Tagged ${plural(data.applied.images, "picture")} ${data.tag} (learned); History can undo it.`);
  }
}

function show(h) {
  const r = h.result;
  const cv = r.cross_validation;
  h.status.textContent = `${r.tag} on ${r.embedding} embeddings · ${r.examples.yes} yes / ${r.examples.no} no · ` +
    `cross-validated precision ${cv.precision.toFixed(2)}, recall ${cv.recall.toFixed(2)}`;
  const min = el("input", { id: "teach-min", type: "number", min: "0", max: "1", step: "0.05", value: "0.5" });
  clear(h.body).append(
    el("div", { class: "teach-actions" },
      el("button", { id: "teach-again", onclick: () => teach(h, { tag: h.tag }).catch(showError) }, "Teach again"),
      el("label", {}, "Apply at score ≥ ", min),
      el("button", { id: "teach-apply", class: "primary",
                     onclick: () => teach(h, { tag: h.tag, apply: true, min: Number(min.value) }).catch(showError) }, "Apply")),
    el("h2", {}, "Label these next (least sure first) — Y yes, N no"),
    grid(h, r.review, "teach-review"),
    el("h2", { class: "section" }, `Would tag (${r.suggestions.length} best shown)`),
    grid(h, r.suggestions, "teach-suggestions"));
}

function grid(h, items, id) {
  if (!items.length) return el("div", { class: "notice", id }, "Nothing here.");
  return el("div", { class: "grid", id }, items.map((item) => {
    const node = tile(item, { link: false, badge: item.score.toFixed(2) });
    node.tabIndex = 0;
    mark(h, node);
    node.append(el("span", { class: "teach-buttons" },
      el("button", { class: "teach-yes", onclick: () => setLabel(h, node, "yes") }, "Yes"),
      el("button", { class: "teach-no", onclick: () => setLabel(h, node, "no") }, "No")));
    return node;
  }));
}

function setLabel(h, node, which) {
  const id = Number(node.dataset.id);
  (which === "yes" ? h.no : h.yes).delete(id);
  (which === "yes" ? h.yes : h.no).add(id);
  for (const same of document.querySelectorAll(`#teach-body .tile[data-id="${id}"]`)) mark(h, same);
}

function mark(h, node) {
  const id = Number(node.dataset.id);
  node.classList.toggle("is-yes", h.yes.has(id));
  node.classList.toggle("is-no", h.no.has(id));
  node.dataset.label = h.yes.has(id) ? "yes" : h.no.has(id) ? "no" : "";
}

function label(h, event) {
  const node = document.activeElement;
  if (!node || !node.classList || !node.classList.contains("tile") || !h.body.contains(node)) return;
  const key = event.key.toLowerCase();
  if (key !== "y" && key !== "n") return;
  event.preventDefault();
  setLabel(h, node, key === "y" ? "yes" : "no");
  const tiles = [...h.body.querySelectorAll(".tile")];
  const next = tiles[tiles.indexOf(node) + 1];
  if (next) next.focus();
}
