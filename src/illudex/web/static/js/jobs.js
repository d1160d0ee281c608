// Jobs: scan (and tag / embed, where this illudex can) folders in the background, with
// live progress over server-sent events and the files that failed, each with its reason.
import { api } from "./api.js";
import { clear, date, el, plural, showError, toast } from "./ui.js";

const KIND_LABELS = { scan: "Scan (index new and changed files)", tag: "Tag (run the tagger)",
                      embed: "Embed (for similar-picture and text search)" };

export async function render(root) {
  const data = await api.get("/api/jobs");
  const live = el("div", { id: "job-live" });
  const history = el("div", { class: "card" });
  const kind = el("select", { id: "job-kind" }, data.kinds.map((k) => el("option", { value: k }, KIND_LABELS[k] || k)));
  const folders = el("textarea", { id: "job-folders", placeholder: "/home/me/Pictures/art (one folder per line)",
                                   spellcheck: "false" });
  folders.value = data.folders.join("\n");
  const form = el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); start(); } },
    el("h2", {}, "Start a job"),
    el("div", { class: "form-grid" }, el("label", {}, "What", kind)),
    el("label", { class: "muted" }, "Folders (full paths; empty: all library folders)"), folders,
    el("div", { class: "row" }, el("button", { class: "primary", type: "submit", id: "job-start" }, "Start")));
  root.append(el("div", { class: "page" }, el("h1", {}, "Jobs"),
    el("div", { class: "side" }, form, live, history)));
  let source = null;

  const watch = (job) => {
    if (source) source.close();
    clear(live);
    const view = jobView(job);
    live.append(view.node);
    if (["done", "failed", "cancelled"].includes(job.state)) return;
    source = new EventSource(`/api/jobs/${job.id}/events`);
    source.onmessage = (event) => {
      const snap = JSON.parse(event.data);
      view.update(snap);
      if (["done", "failed", "cancelled"].includes(snap.state)) {
        source.close();
        toast(`${snap.kind} ${snap.state}${snap.error_count ? ` (${plural(snap.error_count, "file")} skipped)` : ""}.`,
              { kind: snap.state === "failed" ? "error" : "info" });
        refreshHistory();
      }
    };
    source.addEventListener("end", () => source.close());
  };

  const refreshHistory = async () => {
    const fresh = await api.get("/api/jobs");
    clear(history).append(el("h2", {}, "Recent jobs"), fresh.jobs.length ? el("table", { class: "plain" },
      el("tr", {}, ["#", "What", "Folders", "State", "Files", "Errors", "Started"].map((h) => el("th", {}, h))),
      fresh.jobs.map((j) => el("tr", {},
        el("td", {}, String(j.id)), el("td", {}, j.kind), el("td", { class: "mono" }, j.paths.join(", ")),
        el("td", { class: `state-${j.state}` }, j.state), el("td", {}, `${j.done}/${j.total}`),
        el("td", {}, String(j.error_count)), el("td", {}, date(j.started)))))
      : el("p", { class: "muted" }, "No jobs yet."));
  };

  const start = async () => {
    const paths = folders.value.split("\n").map((p) => p.trim()).filter(Boolean);
    try {
      const job = await api.post("/api/jobs", { kind: kind.value, paths });
      watch(job);
      refreshHistory();
    } catch (e) { showError(e); }
  };

  if (!data.kinds.length) form.append(el("p", { class: "muted" }, "This illudex can run no jobs."));
  const running = data.jobs.find((j) => !["done", "failed", "cancelled"].includes(j.state));
  if (running) watch(running);
  await refreshHistory();
  return () => { if (source) source.close(); };
}

function jobView(job) {
  const bar = el("div");
  const counts = el("span", { class: "muted", id: "job-counts" });
  const state = el("strong", { id: "job-state" });
  const current = el("div", { class: "muted mono" });
  const message = el("div");
  const summary = el("div", { id: "job-summary" });
  const errors = el("tbody");
  const errorBox = el("details", { id: "job-errors", hidden: true, open: true },
    el("summary", {}, "Files that could not be read"),
    el("table", { class: "plain" }, el("thead", {}, el("tr", {}, el("th", {}, "File"), el("th", {}, "Problem"))), errors));
  const cancel = el("button", { class: "danger", onclick: () => api.post(`/api/jobs/${job.id}/cancel`).catch(showError) }, "Stop");
  const node = el("div", { class: "card" },
    el("div", { class: "row" }, el("h2", {}, `${job.kind} · job ${job.id}`), el("span", { class: "spacer" }), cancel),
    el("div", { class: "row" }, state, counts), el("div", { class: "progress" }, bar), current, message, summary, errorBox);
  let errorCount = 0;
  const update = (snap) => {
    state.textContent = snap.state;
    state.className = `state-${snap.state}`;
    counts.textContent = snap.total ? `${snap.done.toLocaleString()} / ${snap.total.toLocaleString()}` : "";
    bar.style.width = snap.total ? `${Math.round((100 * snap.done) / snap.total)}%` : (snap.state === "done" ? "100%" : "0");
    current.textContent = snap.state === "running" ? snap.current : "";
    message.textContent = snap.message || "";
    message.className = snap.state === "failed" ? "error-text" : "muted";
    cancel.hidden = ["done", "failed", "cancelled"].includes(snap.state);
    for (const e of snap.errors) {
      errors.append(el("tr", {}, el("td", { class: "mono" }, e.path), el("td", {}, e.error)));
      errorCount += 1;
    }
    errorBox.hidden = errorCount === 0;
    errorBox.querySelector("summary").textContent = `${plural(errorCount, "file")} could not be read`;
    const s = snap.summary || {};
    summary.textContent = Object.keys(s).length
      ? Object.entries(s).map(([k, v]) => `${k}: ${typeof v === "number" ? v.toLocaleString() : v}`).join(" · ") : "";
  };
  update(job);
  return { node, update };
}
