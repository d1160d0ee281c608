// Clusters: run a clustering with its options (as a job), see the clusters as labelled
// grids and as a 2D map, and export them to folders.
import { api } from "./api.js";
import { selection } from "./selection.js";
import { clear, dialog, el, plural, showError, tile, toast } from "./ui.js";

const LAST_JOB = "illudex.clusterJob";

export async function render(root, { params }) {
  const page = el("div", { class: "page" }, el("h1", {}, "Clusters"));
  root.append(page);
  let methods = {};
  try {
    methods = (await api.get("/api/clusters/methods")).methods;
  } catch (e) { showError(e); }
  const out = el("div", { id: "cluster-result" });
  const status = el("div", { id: "cluster-status" });
  const fromSelection = params.selection === "1" && selection.ids.size > 1;
  page.append(optionsForm(methods, fromSelection, out, status), status, out);
  // The last result stays across browser sessions (the server keeps recent jobs).
  const last = params.job || localStorage.getItem(LAST_JOB);
  if (last) {
    showResult(out, Number(last)).catch((e) => {
      if (params.job) status.append(el("div", { class: "notice error-text" }, e.message));
      else localStorage.removeItem(LAST_JOB);
    });
  }
  return () => { if (out.source) out.source.close(); };
}

function field(label, control) {
  return el("label", {}, label, control);
}

function optionsForm(methods, fromSelection, out, status) {
  const names = Object.keys(methods);
  const q = el("input", { type: "text", placeholder: "query (empty: every picture)", id: "cluster-q" });
  const useSelection = el("input", { type: "checkbox", checked: fromSelection, id: "cluster-selection" });
  const by = el("select", { id: "cluster-by" }, ["tags", "embedding", "both"].map((v) => el("option", { value: v }, v)));
  const method = el("select", { id: "cluster-method" }, (names.length ? names : ["kmeans"]).map((v) => el("option", { value: v }, v)));
  const k = el("input", { type: "text", value: "auto", id: "cluster-k", "aria-label": "Number of clusters" });
  const map = el("select", { id: "cluster-map-kind" }, [["auto", "auto"], ["pca", "PCA"], ["tsne", "t-SNE"], ["", "none"]]
    .map(([v, l]) => el("option", { value: v }, l)));
  const minSize = el("input", { type: "number", min: 1, value: 3, id: "cluster-min" });
  const labelTags = el("input", { type: "number", min: 1, max: 10, value: 4 });
  const help = el("div", { class: "muted" });
  const showHelp = () => {
    const spec = methods[method.value];
    help.textContent = spec ? (spec.help || spec.description || "") : "";
  };
  method.addEventListener("change", showHelp);
  showHelp();
  const form = el("form", { class: "card", onsubmit: async (e) => {
    e.preventDefault();
    const kText = k.value.trim().toLowerCase();
    clear(status);
    if (kText && kText !== "auto" && !(/^\d+$/.test(kText) && Number(kText) >= 2)) {
      status.append(el("div", { class: "notice error-text", role: "alert" },
        `Clusters (k): give a whole number of 2 or more, or “auto” — not “${k.value.trim()}”.`));
      k.focus();
      return;
    }
    const body = {
      q: q.value.trim(), by: by.value, method: method.value,
      k: kText === "auto" || !kText ? "auto" : Number(kText), map: map.value || null,
      min_cluster_size: Number(minSize.value) || 3, label_tags: Number(labelTags.value) || 4,
    };
    if (useSelection.checked && selection.ids.size) body.ids = [...selection.ids];
    try {
      const job = await api.post("/api/clusters", body);
      follow(out, status, job);
    } catch (err) {
      status.append(el("div", { class: "notice error-text", role: "alert" }, err.message));
    }
  } },
    el("div", { class: "form-grid" },
      field("Pictures", q),
      el("label", { class: "check-label" }, useSelection, `use the selection (${selection.ids.size.toLocaleString()})`),
      field("Features", by), field("Method", method), field("Clusters (k)", k), field("Map", map),
      field("Smallest cluster", minSize), field("Label tags", labelTags)),
    help, el("div", { class: "row" }, el("button", { class: "primary", type: "submit", id: "cluster-run" }, "Run")));
  return form;
}

// Follow a run; the previous result stays on the page until the new one is ready.
function follow(out, status, job) {
  clear(status).append(el("div", { class: "card" }, el("p", { id: "cluster-progress" }, "Clustering…")));
  if (out.source) out.source.close();
  const source = new EventSource(`/api/jobs/${job.id}/events`);
  out.source = source;
  source.onmessage = (event) => {
    const snap = JSON.parse(event.data);
    const line = document.getElementById("cluster-progress");
    if (line) line.textContent = `${snap.state} · ${snap.current || ""} ${snap.total ? `${snap.done}/${snap.total}` : ""}`;
    if (snap.state === "done") {
      source.close();
      clear(status);
      localStorage.setItem(LAST_JOB, String(job.id));
      showResult(out, job.id).catch(showError);
    } else if (snap.state === "failed" || snap.state === "stopped" || snap.state === "interrupted") {
      source.close();
      clear(status).append(el("div", { class: "notice error-text", id: "cluster-failed", role: "alert" },
        `This run ${snap.state === "failed" ? "failed" : "was stopped"}: ${snap.message || snap.state}`,
        out.childElementCount ? el("div", { class: "muted" }, "The result below is the previous one.") : null));
    }
  };
}

async function showResult(out, jobId) {
  const data = await api.get(`/api/clusters/${jobId}`);
  const grids = el("div", { id: "cluster-grids" });
  const mapBox = el("div", { hidden: true });
  const tabs = el("div", { class: "tabs" },
    el("button", { class: "active", onclick: (e) => swap(e, grids, mapBox) }, "Grids"),
    el("button", { onclick: (e) => swap(e, mapBox, grids), disabled: !data.map, id: "map-tab" }, "Map"));
  const facts = metricsLine(data.metrics || {});
  clear(out).append(el("div", { class: "card" },
    el("div", { class: "row" }, el("h2", {}, plural(data.clusters.length, "cluster")),
      el("span", { class: "muted" }, facts), el("span", { class: "spacer" }), exportForm(jobId, grids)),
    (data.outlier_ids || []).length ? el("p", { class: "muted" }, `${plural(data.outlier_ids.length, "outlier")} (in no cluster)`) : null,
    tabs, grids, mapBox));
  for (const c of data.clusters) {
    const pick = el("input", { type: "checkbox", class: "cluster-pick", value: c.id, "aria-label": `Choose cluster #${c.id} for export` });
    grids.append(el("section", { class: "cluster", dataset: { cluster: c.id } },
      el("h3", {}, pick, el("span", {}, `#${c.id}`),
        c.label.map((t) => el("a", { class: "label-tag", href: `#/?q=${encodeURIComponent(t)}`, title: `Search ${t}` }, t)),
        el("span", { class: "muted" }, plural(c.size, "picture")), c.tiny ? el("span", { class: "muted" }, "(tiny)") : null,
        el("span", { class: "spacer" }),
        el("a", { class: "button open-cluster", href: `#/?cluster=${jobId}:${c.id}` }, "Open in gallery"),
        el("a", { class: "button to-dataset", href: `#/datasets?cluster=${jobId}:${c.id}`,
                  title: "Make a training set of this cluster" }, "Dataset…"),
        el("button", { class: "export-one", type: "button", onclick: () => exportClusters(jobId, [c.id]) }, "Export…")),
      el("div", { class: "grid small" }, c.preview.map((item) => tile(item, { size: 128 })))));
  }
  if (data.map) drawMap(mapBox, data);
}

function metricsLine(m) {
  const parts = [];
  const num = (v, digits = 3) => (typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString() : v.toFixed(digits)) : v);
  if (m.method) parts.push(`${m.method} by ${m.by || "tags"}${m.k_chosen_by ? ` (k ${m.k_chosen_by})` : ""}`);
  if (m.n_images !== undefined) parts.push(`${num(m.n_clustered ?? m.n_images)} of ${num(m.n_images)} pictures clustered`);
  if (m.n_missing) parts.push(`${num(m.n_missing)} without tags or embedding`);
  if (m.silhouette !== undefined && m.silhouette !== null) parts.push(`silhouette ${num(m.silhouette)}`);
  if (m.davies_bouldin !== undefined && m.davies_bouldin !== null) parts.push(`Davies–Bouldin ${num(m.davies_bouldin, 2)}`);
  if (m.seconds !== undefined) parts.push(`${num(m.seconds, 2)} s`);
  return parts.join(" · ");
}

function swap(event, show, hide) {
  show.hidden = false;
  hide.hidden = true;
  for (const b of event.target.parentElement.children) b.classList.toggle("active", b === event.target);
  window.dispatchEvent(new Event("resize"));
}

// Export the ticked clusters (or all): a folder per cluster, named by its label.
function exportForm(jobId, grids) {
  return el("div", { class: "row" }, el("button", { id: "export-clusters", type: "button", onclick: () => {
    const picked = [...grids.querySelectorAll(".cluster-pick:checked")].map((b) => Number(b.value));
    exportClusters(jobId, picked.length ? picked : null);
  } }, "Export…"));
}

async function exportClusters(jobId, clusters) {
  const dest = el("input", { type: "text", id: "export-dest", placeholder: "/full/path/of/a/folder",
                             value: localStorage.getItem("illudex.exportDest") || "", "aria-label": "Export to folder" });
  const mode = el("select", { id: "export-mode", "aria-label": "How" }, [["copy", "copy"], ["link", "link (symbolic)"], ["move", "move"]]
    .map(([v, l]) => el("option", { value: v }, l)));
  const what = clusters ? (clusters.length === 1 ? `cluster #${clusters[0]}` : `clusters ${clusters.map((c) => `#${c}`).join(", ")}`) : "every cluster (and the outliers)";
  const ok = await dialog(`Export ${what}`, el("div", { class: "stack" },
    el("p", {}, "A folder per cluster, named by its label, is made in this folder:"), dest,
    el("label", {}, "How ", mode), el("p", { class: "muted" }, "Undo removes the copies and the folders it made.")),
    [{ label: "Cancel", value: false }, { label: "Export", value: true, class: "primary" }]);
  if (!ok || !dest.value.trim()) return;
  localStorage.setItem("illudex.exportDest", dest.value.trim());
  try {
    const data = await api.post(`/api/clusters/${jobId}/export`, { dest: dest.value.trim(), mode: mode.value, clusters });
    toast(`Exported ${what} to ${data.dest} (${data.mode}).`, data.action ? {
      action: { label: "Undo", run: () => api.post("/api/undo", { action: data.action })
        .then(() => toast("Export undone.")).catch(showError) } } : {});
  } catch (err) { showError(err); }
}

function palette(n) {
  return Array.from({ length: Math.max(n, 1) }, (_, i) => `hsl(${Math.round((360 * i) / Math.max(n, 1))} 70% 50%)`);
}

function drawMap(box, data) {
  const canvas = el("canvas", { id: "cluster-map" });
  const tip = el("div", { class: "map-tip", hidden: true });
  box.append(el("div", { class: "map-wrap" }, canvas, tip),
    el("p", { class: "muted" }, `${data.map.method} map: each dot a picture, coloured by cluster; click one to open it.`));
  const points = data.map.points;
  const colours = palette(data.clusters.length);
  const thumbs = new Map(data.clusters.flatMap((c) => c.preview.map((p) => [p.id, p])));
  const labels = new Map(data.clusters.map((c) => [c.id, c.label.slice(0, 2).join(", ")]));
  let placed = [];
  const draw = () => {
    const width = canvas.clientWidth || 800;
    const height = canvas.clientHeight || Math.round(width / 1.6);
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const pad = 16;
    placed = points.map((p) => ({ ...p, px: pad + p.x * (width - 2 * pad), py: pad + (1 - p.y) * (height - 2 * pad) }));
    for (const p of placed) {
      ctx.fillStyle = p.cluster < 0 ? "rgba(128,128,128,.5)" : colours[p.cluster % colours.length];
      ctx.strokeStyle = "rgba(255,255,255,.9)";
      ctx.beginPath();
      ctx.arc(p.px, p.py, 6, 0, Math.PI * 2);
      ctx.fill();
      ctx.stroke();
    }
    ctx.font = "600 12px system-ui, sans-serif";
    for (const c of data.clusters) {
      const mine = placed.filter((p) => p.cluster === c.id);
      if (!mine.length) continue;
      const cx = mine.reduce((s, p) => s + p.px, 0) / mine.length;
      const cy = mine.reduce((s, p) => s + p.py, 0) / mine.length;
      const text = labels.get(c.id) || `#${c.id}`;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = "rgba(255,255,255,.85)";
      ctx.fillRect(cx + 8, cy - 22, w + 10, 18);
      ctx.fillStyle = colours[c.id % colours.length];
      ctx.fillText(text, cx + 13, cy - 9);
    }
  };
  const nearest = (event) => {
    const rect = canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const y = event.clientY - rect.top;
    let best = null;
    let bestD = 100;
    for (const p of placed) {
      const d = (p.px - x) ** 2 + (p.py - y) ** 2;
      if (d < bestD) { best = p; bestD = d; }
    }
    return { best, x, y };
  };
  canvas.addEventListener("mousemove", (event) => {
    const { best, x, y } = nearest(event);
    if (!best) { tip.hidden = true; return; }
    const item = thumbs.get(best.image_id);
    clear(tip).append(item ? el("img", { src: `${item.thumb}&size=128`, alt: "" }) : null,
      el("div", {}, `#${best.cluster} ${labels.get(best.cluster) || ""}`));
    tip.hidden = false;
    tip.style.left = `${Math.min(x + 12, canvas.clientWidth - 150)}px`;
    tip.style.top = `${y + 12}px`;
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (event) => {
    const { best } = nearest(event);
    if (best) location.hash = `#/image/${best.image_id}`;
  });
  window.addEventListener("resize", draw);
  requestAnimationFrame(draw);
}
