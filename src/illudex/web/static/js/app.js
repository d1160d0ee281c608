// The one-page app: a hash router over the views, the search bar, and the selection
// (kept for the session, so tags can be edited on it from any page).
import { attachAutocomplete } from "./autocomplete.js";
import { showError } from "./ui.js";
export { selection } from "./selection.js";
import * as gallery from "./gallery.js";
import * as picture from "./picture.js";
import * as dupes from "./dupes.js";
import * as clusters from "./clusters.js";
import * as tags from "./tags.js";
import * as jobs from "./jobs.js";
import * as historyPage from "./history.js";  // not `history`: that is the browser's
import * as datasets from "./datasets.js";
import * as teach from "./teach.js";
import { startNotices } from "./notices.js";

const views = { gallery, image: picture, dupes, clusters, tags, jobs, history: historyPage, datasets, teach };
let cleanup = null;
let rendering = 0;

export function parseHash() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = Object.fromEntries(new URLSearchParams(search));
  const name = parts[0] || "gallery";
  return { name, arg: parts[1], params };
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const { name, arg, params } = parseHash();
  const view = views[name] || gallery;
  const token = ++rendering;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.view === (name === "image" ? "gallery" : name));
  }
  const searchInput = document.getElementById("search-input");
  if (name === "gallery" && document.activeElement !== searchInput) searchInput.value = params.q || "";
  const root = document.getElementById("view");
  root.replaceChildren();
  document.body.dataset.view = name;
  try {
    const done = await view.render(root, { arg, params });
    if (token === rendering) cleanup = done || null;
    else if (typeof done === "function") done();
  } catch (e) {
    showError(e);
  }
}

function setupSearch() {
  const form = document.getElementById("search-form");
  const input = document.getElementById("search-input");
  attachAutocomplete(input, { separator: /\s/ });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    go(q ? `#/?q=${encodeURIComponent(q)}` : "#/");
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "/" && !["INPUT", "TEXTAREA"].includes(document.activeElement.tagName)) {
      event.preventDefault();
      input.focus();
    }
  });
}

window.addEventListener("hashchange", route);
setupSearch();
route();
startNotices(go);
