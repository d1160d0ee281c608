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
  const models = data.models || {};
  const model = el("select", { id: "job-model", "aria-label": "Model" });
  const general = el("input", { type: "number", id: "job-general", min: 0.01, max: 0.99, step: 0.01, placeholder: "0.35" });
  const character = el("input", { type: "number", id: "job-character", min: 0.01, max: 0.99, step: 0.01, placeholder: "0.85" });
  const modelRow = el("label", {}, "Model", model);
  const thresholds = [el("label", { title: "Keep a general tag when its score is above this" }, "General threshold", general),
                      el("label", { title: "Keep a character tag when its score is above this" }, "Character threshold", character)];
  const syncKind = () => {
    const list = models[kind.value] || [];
    modelRow.hidden = !list.length;
    thresholds.forEach((t) => { t.hidden = kind.value !== "tag"; });
    clear(model).append(...list.map((m) => el("option", { value: m.name, selected: m.default },
      `${m.name}${m.available ? "" : " (not on this machine)"}`)));
  };
  kind.addEventListener("change", syncKind);
  const form = el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); start(); } },
    el("h2", {}, "Start a job"),
    el("div", { class: "form-grid" }, el("label", {}, "What", kind), modelRow, ...thresholds),
    el("label", { class: "muted" }, "Folders (full paths; empty: all library folders)"), folders,
    el("div", { class: "row" }, el("button", { class: "primary", type: "submit", id: "job-start" }, "Start")),
    el("div", { id: "job-form-error", class: "error-text", role: "alert" }));
  syncKind();
  root.append(el("div", { class: "page" }, el("h1", {}, "Jobs"),
    el("div", { class: "side" }, form, live, history)));
  let source = null;

  const watch = (job) => {
    if (source) source.close();
    clear(live);
    const view = jobView(job);
    live.append(view.node);
    if (["done", "failed", "stopped", "interrupted"].includes(job.state)) return;
    source = new EventSource(`/api/jobs/${job.id}/events`);
    source.onmessage = (event) => {
      const snap = JSON.parse(event.data);
      view.update(snap);
      if (["done", "failed", "stopped", "interrupted"].includes(snap.state)) {
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
    clear(history).append(el("h2", {}, "Recent jobs"), fresh.jobs.length ? el("div", { class: "jobs-table-wrap" }, el("table", { class: "plain", id: "job-history" },
      el("tr", {}, ["#", "What", "Folders", "State", "Files", "Errors", "Started"].map((h) => el("th", {}, h))),
      fresh.jobs.map((j) => el("tr", { dataset: { job: j.id } },
        el("td", {}, String(j.id)),
        el("td", {}, j.kind === "cluster" && j.state === "done"
          ? el("a", { href: `#/clusters?job=${j.id}`, class: "open-result" }, "cluster: open result")
          : j.kind === "dataset" ? el("a", { href: `#/datasets?job=${j.id}`, class: "open-result" }, "dataset: open") : j.kind),
        el("td", { class: "mono" }, j.paths.join(", ")),
        el("td", { class: `state-${j.state}` }, j.state,
          j.message && j.state !== "done" ? el("div", { class: "job-reason", title: j.detail || "" }, j.message) : null),
        el("td", {}, j.total ? `${j.done.toLocaleString()} / ${j.total.toLocaleString()}` : "–"),
        el("td", {}, String(j.error_count)), el("td", {}, date(j.started))))))
      : el("p", { class: "muted" }, "No jobs yet."));
  };

  const start = async () => {
    const paths = folders.value.split("\n").map((p) => p.trim()).filter(Boolean);
    const body = { kind: kind.value, paths };
    if (!modelRow.hidden && model.value) body.model = model.value;
    if (kind.value === "tag") {
      if (general.value) body.general_threshold = Number(general.value);
      if (character.value) body.character_threshold = Number(character.value);
    }
    const problem = document.getElementById("job-form-error");
    problem.textContent = "";
    try {
      const job = await api.post("/api/jobs", body);
      watch(job);
      refreshHistory();
    } catch (e) { problem.textContent = e.message; } // in place, at once
  };

  if (!data.kinds.length) form.append(el("p", { class: "muted" }, "This illudex can run no jobs."));
  const running = data.jobs.find((j) => !["done", "failed", "stopped", "interrupted"].includes(j.state));
  if (running) watch(running);
  else if (data.jobs[0] && data.jobs[0].state === "failed") watch(data.jobs[0]); // its reason stays
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
    message.title = snap.detail || "";
    message.className = snap.state === "failed" ? "error-text" : "muted";
    cancel.hidden = ["done", "failed", "stopped", "interrupted"].includes(snap.state);
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
