// Datasets: a source (a query, the selection, a cluster), steps with their parameters, an
// exporter; preview the first pictures, build as a job with progress, open the report.
// The form is kept for the tab's session, so a look at another page loses nothing.
import { api } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { selection } from "./selection.js";
import { clear, el, plural, showError, toast } from "./ui.js";

const FORM_KEY = "illudex.datasetForm";
const LAST_JOB = "illudex.datasetJob";
const FINISHED = ["done", "failed", "stopped", "interrupted"];

export async function render(root, { params }) {
  const meta = await api.get("/api/datasets/steps");
  const form = initialForm(params);
  const page = el("div", { class: "page datasets" }, el("h1", {}, "Datasets"));
  root.append(page);
  const jobBox = el("div", { id: "ds-job" });
  const previewBox = el("div", { id: "ds-preview" });
  const general = el("div", { id: "ds-error", class: "error-text", role: "alert" });
  const save = () => sessionStorage.setItem(FORM_KEY, JSON.stringify(form));
  const ui = { form, meta, save, general, previewBox, jobBox, source: null };
  page.append(el("div", { class: "ds-layout" },
    el("div", { class: "side" }, sourceCard(ui), stepsCard(ui), exportCard(ui), actions(ui), general),
    el("div", { class: "side ds-results" }, jobBox, previewBox)));
  save();
  const last = params.job || localStorage.getItem(LAST_JOB);  // ?job=: from the jobs page
  if (last) showJob(ui, Number(last), { quiet: !params.job });
  return () => { if (ui.source) ui.source.close(); };
}

// The form: from the link that led here (a cluster, the selection, a query), else as left.
function initialForm(params) {
  let form = null;
  try { form = JSON.parse(sessionStorage.getItem(FORM_KEY) || "null"); } catch { form = null; }
  form = form || { source: { kind: "query", query: "" }, steps: [], export: { format: "kohya", dir: "", options: {} } };
  if (params.cluster) {
    const [job, cluster] = params.cluster.split(":").map(Number);
    form.source = { kind: "cluster", cluster_job: job, cluster, query: form.source.query || "" };
  } else if (params.selection === "1") {
    form.source = { kind: "ids", query: form.source.query || "" };
  } else if (params.q) {
    form.source = { kind: "query", query: params.q };
  }
  return form;
}

function fieldError(where) {
  return el("div", { class: "field-error error-text", dataset: { errorFor: where } });
}

// -- source ------------------------------------------------------------------------------

function sourceCard(ui) {
  const { form, save } = ui;
  const src = form.source;
  const radio = (kind, label, disabled = false) => el("label", { class: "ds-choice" },
    el("input", { type: "radio", name: "ds-source", value: kind, checked: src.kind === kind, disabled,
                  id: `ds-source-${kind}`, onchange: () => { src.kind = kind; save(); } }), label);
  const q = el("input", { type: "text", id: "ds-query", value: src.query || "", spellcheck: "false",
                          placeholder: "1girl solo -monochrome width:>=768", "aria-label": "Query",
                          oninput: () => { src.query = q.value; src.kind = "query"; check("query"); save(); } });
  const check = (kind) => { document.getElementById(`ds-source-${kind}`).checked = true; };
  const n = selection.ids.size;
  const cluster = src.cluster_job ? `cluster #${src.cluster} of clustering ${src.cluster_job}` : null;
  const card = el("section", { class: "card", dataset: { where: "source" } },
    el("h2", {}, "1 · Pictures"),
    el("div", { class: "ds-source" },
      el("div", { class: "ds-query-row" }, radio("query", "A query"), el("span", { class: "grow" }, q)),
      radio("ids", `The selection (${plural(n, "picture")})`, n === 0),
      cluster ? radio("cluster", `The pictures of ${cluster}`) : null),
    fieldError("source"));
  attachAutocomplete(q, { separator: /\s/ });
  return card;
}

function sourceBody(form) {
  const src = form.source;
  if (src.kind === "ids") return { kind: "ids", ids: [...selection.ids] };
  if (src.kind === "cluster") return { kind: "cluster", cluster_job: src.cluster_job, cluster: src.cluster };
  return { kind: "query", query: src.query || "" };
}

// -- steps -------------------------------------------------------------------------------

function stepsCard(ui) {
  const { meta, form, save } = ui;
  const list = el("ol", { id: "ds-steps", class: "ds-steps" });
  const byName = Object.fromEntries(meta.steps.map((s) => [s.name, s]));
  const redraw = () => {
    clear(list).append(...form.steps.map((step, i) => stepNode(step, i, byName[step.use], move)));
    if (!form.steps.length) list.append(el("li", { class: "muted ds-none" }, "No steps: the pictures are exported as they are."));
  };
  const move = (i, delta) => {
    if (delta === 0) form.steps.splice(i, 1);
    else {
      const j = i + delta;
      if (j < 0 || j >= form.steps.length) return;
      [form.steps[i], form.steps[j]] = [form.steps[j], form.steps[i]];
    }
    save();
    redraw();
  };
  const pick = el("select", { id: "ds-add-step", "aria-label": "Step to add" },
    meta.steps.map((s) => el("option", { value: s.name, title: s.help }, `${s.name} — ${s.help}`)));
  const add = el("button", { type: "button", id: "ds-add", onclick: () => {
    form.steps.push({ use: pick.value, params: {} });
    save();
    redraw();
    list.lastElementChild.querySelector("input, select")?.focus();
  } }, "Add step");
  list.addEventListener("input", save);
  list.addEventListener("change", save);
  redraw();
  return el("section", { class: "card" }, el("h2", {}, "2 · Steps, in order"), list,
    el("div", { class: "row ds-add-row" }, pick, add));
}

function stepNode(step, i, info, move) {
  const where = `step-${i + 1}`;
  const params = (info && info.params) || [];
  const fields = params.map((p) => paramField(p, step.params, `${where}.${p.name}`));
  return el("li", { class: "ds-step", dataset: { where, use: step.use } },
    el("div", { class: "row" }, el("strong", {}, `${i + 1}. ${step.use}`),
      info ? el("span", { class: "badge-kind muted" }, info.kind) : el("span", { class: "error-text" }, "unknown step"),
      el("span", { class: "spacer" }),
      el("button", { type: "button", class: "icon", title: "Earlier", "aria-label": `Move step ${i + 1} up`, onclick: () => move(i, -1) }, "↑"),
      el("button", { type: "button", class: "icon", title: "Later", "aria-label": `Move step ${i + 1} down`, onclick: () => move(i, 1) }, "↓"),
      el("button", { type: "button", class: "icon ds-remove", title: "Remove", "aria-label": `Remove step ${i + 1}`, onclick: () => move(i, 0) }, "✕")),
    info && info.help ? el("div", { class: "muted ds-help" }, info.help) : null,
    fields.length ? el("div", { class: "form-grid" }, fields) : null,
    fieldError(where));
}

// A field for a parameter, by the type of its default; `values` holds what was typed.
function paramField(param, values, where) {
  const d = param.default;
  const name = where.replace(/[^a-z0-9]+/gi, "-");
  let control;
  if (typeof d === "boolean") {
    control = el("input", { type: "checkbox", id: `ds-${name}`, checked: values[param.name] ?? d,
                            onchange: () => { values[param.name] = control.checked; } });
    return el("label", { class: "check-label", title: param.help },
      control, param.name, fieldError(where));
  }
  const shown = d === null || d === undefined ? "" : Array.isArray(d) ? d.join(", ")
    : typeof d === "object" ? Object.entries(d).map(([k, v]) => `${k}=${v}`).join(", ") : String(d);
  control = el("input", { type: "text", id: `ds-${name}`, value: values[param.name] ?? "",
                          placeholder: shown || (param.help || ""), inputmode: typeof d === "number" ? "decimal" : null,
                          oninput: () => { values[param.name] = control.value; } });
  return el("label", { title: param.help },
    el("span", {}, param.name, param.help ? el("span", { class: "ds-param-help" }, ` · ${param.help}`) : null),
    control, fieldError(where));
}

// -- export ------------------------------------------------------------------------------

function exportCard(ui) {
  const { meta, form, save } = ui;
  const ex = form.export;
  const format = el("select", { id: "ds-format", onchange: () => { ex.format = format.value; sync(); save(); } },
    meta.formats.map((f) => el("option", { value: f, selected: f === ex.format }, f)));
  const dir = el("input", { type: "text", id: "ds-dir", value: ex.dir || "", spellcheck: "false",
                            placeholder: "/full/path/of/a/new/folder", required: true,
                            oninput: () => { ex.dir = dir.value; save(); } });
  const main = ["name", "repeats", "mode"];
  const option = (p) => {
    const field = paramField(p, ex.options, `export.${p.name}`);
    field.dataset.formats = p.formats.join(" ");
    if (p.name === "mode") {
      const select = el("select", { id: "ds-export-mode" }, meta.modes.map((m) => el("option", { value: m, selected: (ex.options.mode || p.default) === m }, m)));
      select.addEventListener("change", () => { ex.options.mode = select.value; save(); });
      field.querySelector("input").replaceWith(select);
    }
    return field;
  };
  const first = meta.options.filter((p) => main.includes(p.name)).map(option);
  const rest = meta.options.filter((p) => !main.includes(p.name)).map(option);
  const sync = () => {
    for (const field of [...first, ...rest]) field.hidden = !field.dataset.formats.split(" ").includes(format.value);
  };
  sync();
  const card = el("section", { class: "card" }, el("h2", {}, "3 · Export"),
    el("div", { class: "form-grid" },
      el("label", {}, "Format", format, fieldError("export.format")),
      el("label", { class: "ds-dir" }, "Folder (full path; made if missing)", dir, fieldError("export.dir")),
      first),
    el("details", { class: "ds-more" }, el("summary", {}, "More options"), el("div", { class: "form-grid" }, rest)),
    fieldError("export"));
  card.addEventListener("input", save);
  return card;
}

// -- preview and build -------------------------------------------------------------------

function body(ui) {
  const ex = ui.form.export;
  return {
    source: sourceBody(ui.form),
    steps: ui.form.steps.map((s) => ({ use: s.use, params: { ...s.params } })),
    export: { format: ex.format, dir: (ex.dir || "").trim(), options: { ...ex.options } },
  };
}

function actions(ui) {
  const sample = el("input", { type: "number", id: "ds-sample", min: 1, max: 100, value: 24, "aria-label": "Pictures to preview" });
  const previewButton = el("button", { type: "button", id: "ds-preview-run", onclick: async () => {
    if (!clearErrors(ui)) return;
    previewButton.disabled = true;
    clear(ui.previewBox).append(el("div", { class: "card muted" }, "Working out the first pictures…"));
    try {
      const data = await api.post("/api/datasets/preview", { ...body(ui), sample: Number(sample.value) || 24 });
      showPreview(ui.previewBox, data);
      ui.previewBox.scrollIntoView({ block: "nearest" });
    } catch (e) {
      clear(ui.previewBox);
      placeError(ui, e);
    } finally { previewButton.disabled = false; }
  } }, "Preview");
  const build = el("button", { type: "button", class: "primary", id: "ds-build", onclick: async () => {
    if (!clearErrors(ui)) return;
    const data = body(ui);
    if (!data.export.dir) {
      placeError(ui, { message: "Choose the folder to write the dataset to (its full path).", data: { where: "export.dir" } });
      return;
    }
    try {
      const job = await api.post("/api/datasets", data);
      localStorage.setItem(LAST_JOB, String(job.id));
      await showJob(ui, job.id);
      ui.jobBox.scrollIntoView({ block: "nearest" });  // on a phone it is below the form
    } catch (e) { placeError(ui, e); }
  } }, "Build dataset");
  return el("div", { class: "row ds-actions" }, el("label", { class: "row muted" }, "Preview the first", sample, "pictures"),
    previewButton, el("span", { class: "spacer" }), build);
}

function clearErrors(ui) {
  ui.general.textContent = "";
  for (const node of document.querySelectorAll(".datasets .field-error")) node.textContent = "";
  for (const node of document.querySelectorAll(".datasets [aria-invalid]")) node.removeAttribute("aria-invalid");
  return true;
}

// The server names the field a problem is about: the sentence goes beside it.
function placeError(ui, error) {
  let where = (error.data && error.data.where) || "";
  let box = null;
  while (where && !box) {
    box = document.querySelector(`.datasets .field-error[data-error-for="${CSS.escape(where)}"]`);
    if (!box) where = where.includes(".") ? where.slice(0, where.lastIndexOf(".")) : "";
  }
  box = box || ui.general;
  box.textContent = error.message;
  const control = box.closest("label")?.querySelector("input, select");
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.closest("details")?.setAttribute("open", "");
    control.focus();
  }
  box.scrollIntoView({ block: "nearest" });
}

function showPreview(box, data) {
  const byStep = new Map();
  for (const d of data.dropped) {
    if (!byStep.has(d.step)) byStep.set(d.step, []);
    byStep.get(d.step).push(d);
  }
  const picture = (item, note, cls) => el("figure", { class: `ds-pic ${cls}`, title: `${item.path || item.name}\n${note}` },
    framed(item.changed || item.thumb, item.name, item.out_width, item.out_height, item.boxes),
    item.parent ? el("div", { class: "ds-parent" }, el("div", { class: "muted" }, "cut from:"),
      framed(item.parent.src, `the picture ${item.out_name || item.name} was cut from`,
        item.parent.width, item.parent.height, item.parent.boxes)) : null,
    el("figcaption", {}, el("div", { class: "name" }, item.out_name || item.name), el("div", { class: "muted" }, note)));
  clear(box).append(el("section", { class: "card" },
    el("h2", {}, `Preview: the first ${plural(data.sample, "picture")} of ${data.total.toLocaleString()}`),
    el("p", { id: "ds-preview-counts" }, `${data.kept.length.toLocaleString()} kept, ${data.dropped.length.toLocaleString()} dropped`,
      data.errors.length ? `, ${plural(data.errors.length, "error")}` : "", "."),
    el("h3", {}, `Kept (${data.kept.length})`),
    el("div", { class: "ds-pics", id: "ds-kept" }, data.kept.map((i) => picture(i, `${i.out_width}×${i.out_height} · ${i.caption || "(no caption)"}`, "kept"))),
    [...byStep].map(([step, items]) => el("div", { class: "ds-dropped", dataset: { step } },
      el("h3", {}, `Dropped by ${step} (${items.length})`),
      el("div", { class: "ds-pics" }, items.map((i) => picture(i, i.reason, "dropped"))))),
    data.errors.length ? el("ul", { class: "error-text" }, data.errors.map((e) => el("li", {}, `${e.path}: ${e.error}`))) : null));
}

// A picture with what the model steps found drawn over it: boxes are fractions of the
// picture (0..1), so they sit right on a thumbnail of any size.
function framed(src, alt, width, height, boxes) {
  const pct = (v) => `${(v * 100).toFixed(2)}%`;
  const frame = el("div", { class: `ds-frame ${width >= height ? "wide" : "tall"}` },
    el("img", { src, alt, loading: "lazy" }),
    (boxes || []).map((b) => {
      const node = el("div", { class: `ds-box ds-box-${b.kind}`, title: b.label, dataset: { kind: b.kind } },
        el("span", {}, b.label));
      Object.assign(node.style, { left: pct(b.box[0]), top: pct(b.box[1]),
        width: pct(b.box[2] - b.box[0]), height: pct(b.box[3] - b.box[1]) });
      return node;
    }));
  if (width > 0 && height > 0) frame.style.aspectRatio = `${width} / ${height}`;
  return el("div", { class: "ds-cell" }, frame);
}

async function showJob(ui, jobId, { quiet = false } = {}) {
  let job;
  try { job = await api.get(`/api/datasets/${jobId}`); } catch (e) {
    if (quiet) localStorage.removeItem(LAST_JOB); else showError(e);
    return;
  }
  const bar = el("div");
  const state = el("strong", { id: "ds-job-state" });
  const counts = el("span", { class: "muted" });
  const result = el("div", { id: "ds-result" });
  const stop = el("button", { class: "danger", type: "button", onclick: () => api.post(`/api/jobs/${jobId}/cancel`).catch(showError) }, "Stop");
  clear(ui.jobBox).append(el("section", { class: "card" },
    el("div", { class: "row" }, el("h2", {}, `Build · job ${jobId}`), el("span", { class: "spacer" }), stop),
    el("div", { class: "row" }, state, counts), el("div", { class: "progress" }, bar), result));
  const update = (snap) => {
    state.textContent = snap.state;
    state.className = `state-${snap.state}`;
    counts.textContent = snap.total ? `${snap.current || ""} ${snap.done.toLocaleString()} / ${snap.total.toLocaleString()}` : (snap.current || "");
    bar.style.width = snap.total ? `${Math.round((100 * snap.done) / snap.total)}%` : (snap.state === "done" ? "100%" : "0");
    stop.hidden = FINISHED.includes(snap.state);
    if (snap.state === "failed" || snap.state === "stopped" || snap.state === "interrupted") {
      clear(result).append(el("p", { class: "error-text", id: "ds-job-failed" }, snap.message || snap.state));
    }
  };
  update(job);
  if (job.state === "done") { showResult(result, job); return; }
  if (FINISHED.includes(job.state)) return;
  if (ui.source) ui.source.close();
  const source = new EventSource(`/api/jobs/${jobId}/events`);
  ui.source = source;
  source.onmessage = async (event) => {
    const snap = JSON.parse(event.data);
    update(snap);
    if (!FINISHED.includes(snap.state)) return;
    source.close();
    if (snap.state === "done") {
      const done = await api.get(`/api/datasets/${jobId}`).catch(showError);
      if (done) { showResult(result, done); toast(`Dataset built: ${plural(done.result.exported, "picture")}.`); }
    }
  };
  source.addEventListener("end", () => source.close());
}

function showResult(box, job) {
  const r = job.result;
  const dropped = Object.entries(r.dropped);
  clear(box).append(...[
    el("p", { id: "ds-summary" }, `Exported ${plural(r.exported, "picture")} to `, el("span", { class: "mono" }, r.out), "."),
    dropped.length ? el("p", { class: "muted" }, "Dropped: ", dropped.map(([s, n]) => `${s} ${n}`).join(", "), ".")
      : el("p", { class: "muted" }, "Nothing dropped."),
    job.report_url ? el("a", { class: "button primary", id: "ds-report", href: job.report_url, target: "_blank", rel: "noopener" }, "Open the report") : null,
    r.errors.length ? el("details", { open: true }, el("summary", {}, plural(r.errors.length, "error")),
      el("ul", {}, r.errors.map((e) => el("li", {}, el("span", { class: "mono" }, e.path), `: ${e.error}`)))) : null,
    job.spec_toml ? el("details", { class: "ds-spec" }, el("summary", {}, "The same build as a spec file (illudex dataset build SPEC.toml)"),
      el("pre", { class: "mono", id: "ds-spec-toml" }, job.spec_toml)) : null,
  ].filter(Boolean));
}
