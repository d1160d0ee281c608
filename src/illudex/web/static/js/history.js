// History: every action in the journal with what it moved or changed and its state, Undo
// for each one; the trash's contents with Restore. Refreshes itself when the journal
// changes elsewhere (the CLI, another tab).
import { api } from "./api.js";
import { bytes, clear, date, el, plural, showError, toast } from "./ui.js";

const PAGE = 50;
const CHECK_EVERY_MS = 10_000;
const KINDS = {
  "dupes-trash": "Duplicates to the trash", "dupes-move": "Duplicates moved",
  "tag-edit": "Tag edit", "write-txt": "Captions written", restore: "Back from the trash",
};

export async function render(root) {
  const h = { root, shown: PAGE, token: null, alive: true, busy: false };
  await load(h);
  const check = async () => {
    if (!h.alive || h.busy || document.visibilityState !== "visible") return;
    try {
      const { token } = await api.get("/api/changes");
      if (token !== h.token && h.alive && !h.busy) await load(h);
    } catch { /* the next check will tell */ }
  };
  const timer = setInterval(check, CHECK_EVERY_MS);
  window.addEventListener("focus", check);
  return () => { h.alive = false; clearInterval(timer); window.removeEventListener("focus", check); };
}

async function load(h) {
  const [journal, trash] = await Promise.all([
    api.get(`/api/history?limit=${h.shown}`), api.get("/api/trash")]);
  h.token = journal.token;
  if (!h.alive || !location.hash.startsWith("#/history")) return;  // gone to another page
  const page = el("div", { class: "page", id: "history-page" },
    el("div", { class: "gallery-head" }, el("h1", {}, "History"),
      el("span", { class: "muted" }, `${plural(journal.total, "action")} · ${plural(trash.items.length, "picture")} in the trash`)),
    el("h2", {}, "Actions"),
    journal.actions.length ? actionList(h, journal.actions)
      : el("div", { class: "notice" }, "Nothing done yet: moves, trash and tag edits show up here."),
    journal.total > journal.actions.length
      ? el("button", { id: "history-more", onclick: () => { h.shown += PAGE; load(h).catch(showError); } }, "Show older")
      : null,
    el("h2", { class: "section" }, "Trash"),
    trashList(h, trash.items));
  clear(h.root).append(page);
}

function actionList(h, actions) {
  return el("div", { class: "history-list", id: "history-actions" }, actions.map((a) =>
    el("details", { class: `history-item is-${a.state}`, dataset: { id: a.id, state: a.state } },
      el("summary", {},
        el("span", { class: "when muted" }, date(a.created_at)),
        el("span", { class: "what" }, el("strong", {}, KINDS[a.kind] || a.kind), " ", el("span", {}, a.summary)),
        el("span", { class: `state ${a.state}` }, a.state === "undone" ? "undone" : a.state === "done" ? "done" : "unfinished"),
        el("button", { class: "undo", disabled: a.state === "undone",
                       onclick: (event) => { event.preventDefault(); undo(h, a); } }, "Undo")),
      el("div", { class: "ops mono" }, a.operations.map(operation),
        a.count > a.operations.length ? el("div", { class: "muted" }, `… and ${a.count - a.operations.length} more`) : null))));
}

function operation(op) {
  const text = op.op === "move" ? `${op.src} → ${op.to_trash ? "the trash" : op.dst}`
    : op.op === "write" ? `wrote ${op.src}` : op.op === "create" ? `made ${op.src}`
      : op.op === "tag-edit" ? `tag edit #${op.src}` : `${op.op} ${op.src || ""}`;
  return el("div", { class: `op ${op.state}` }, text, op.state === "undone" ? " (undone)" : "");
}

async function undo(h, action) {
  h.busy = true;
  try {
    const data = await api.post("/api/undo", { action: action.id });
    if (data.conflicts.length) toast(`Not all undone: ${data.conflicts[0]}`, { kind: "error" });
    else toast(`Undone: ${action.summary} (${plural(data.restored, "step")}).`);
    await load(h);
  } catch (e) { showError(e); } finally { h.busy = false; }
}

function trashList(h, items) {
  if (!items.length) return el("div", { class: "notice", id: "trash-empty" }, "The trash is empty.");
  const all = el("button", { id: "restore-all", onclick: () => restore(h, items) },
    `Restore all ${plural(items.length, "picture")}`);
  return el("div", { id: "trash" }, el("div", { class: "row" }, all),
    el("div", { class: "trash-grid" }, items.map((item) => {
      const img = item.image ? el("img", { src: `${item.image.thumb}&size=128`, alt: "", loading: "lazy" }) : null;
      const name = item.original.split("/").pop();
      return el("div", { class: "trash-item card", dataset: { entry: item.entry } },
        el("div", { class: "tile" }, img),
        el("div", { class: "name", title: item.original }, name),
        el("div", { class: "muted mono", title: item.original }, item.original.slice(0, -name.length - 1) || "/"),
        el("div", { class: "muted" }, `${bytes(item.size)} · ${date(item.trashed_at)}`,
          item.captions ? " · with its caption" : ""),
        el("button", { onclick: () => restore(h, [item]) }, "Restore"));
    })));
}

async function restore(h, items) {
  h.busy = true;
  try {
    const data = await api.post("/api/trash/restore", { entries: items.map((i) => i.entry) });
    if (data.failed.length) toast(`Not all restored: ${data.failed[0].path}: ${data.failed[0].error}`, { kind: "error" });
    else toast(`Restored ${plural(data.done.length, "picture")}.`);
    await load(h);
  } catch (e) { showError(e); } finally { h.busy = false; }
}
