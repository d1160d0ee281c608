// Small DOM helpers shared by every view: element builder, toasts, dialogs, formats.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export function toast(message, { kind = "info", action = null, timeout = 5000 } = {}) {
  const box = document.getElementById("toasts");
  const item = el("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" },
    el("span", {}, message));
  if (action) {
    item.append(el("button", { onclick: () => { item.remove(); action.run(); } }, action.label));
  }
  box.append(item);
  setTimeout(() => item.remove(), action ? Math.max(timeout, 9000) : timeout);
  return item;
}

export function showError(error) {
  if (error && error.name === "AbortError") return;
  toast(error && error.message ? error.message : String(error), { kind: "error", timeout: 8000 });
}

// A dialog; resolves to the value of the button chosen (null on Escape or outside click).
// `focus`: the value of the button focused at first (default: the primary one); a dialog
// that does much at once focuses a harmless one, so that Enter does not confirm it.
export function dialog(title, body, buttons, { focus } = {}) {
  return new Promise((resolve) => {
    const back = el("div", { class: "modal-back" });
    const done = (value) => {
      back.remove();
      document.removeEventListener("keydown", onKey, true);
      resolve(value);
    };
    const onKey = (event) => {
      if (event.key === "Escape") { event.stopPropagation(); done(null); }
    };
    const row = el("div", { class: "buttons" },
      buttons.map((b, i) => el("button", { class: b.class || "", dataset: { index: i },
                                           onclick: () => done(b.value) }, b.label)));
    back.append(el("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title },
      el("h2", {}, title), body, row));
    back.addEventListener("click", (event) => { if (event.target === back) done(null); });
    document.addEventListener("keydown", onKey, true);
    document.body.append(back);
    const chosen = buttons.findIndex((b) => focus !== undefined && b.value === focus);
    const first = chosen >= 0 ? row.querySelector(`[data-index="${chosen}"]`)
      : row.querySelector(".primary") || row.querySelector("button");
    if (first) first.focus();
  });
}

export function bytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function date(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleString();
}

export function plural(n, word, many = `${word}s`) {
  return `${n.toLocaleString()} ${n === 1 ? word : many}`;
}

// A thumbnail tile linking to the picture page.
export function tile(item, { size = 256, badge = null, link = true, eager = false } = {}) {
  // The first screen loads at once; the rest as it scrolls into view.
  const img = el("img", { src: size === 256 ? item.thumb : `${item.thumb}&size=${size}`,
                          alt: item.name, loading: eager ? "eager" : "lazy", decoding: "async",
                          fetchpriority: eager ? "high" : null, draggable: "false" });
  const node = el(link ? "a" : "div", { class: "tile", href: link ? `#/image/${item.id}` : null,
                                        title: item.path, dataset: { id: item.id } }, img);
  img.addEventListener("error", () => node.classList.add("broken"), { once: true });
  if (badge) node.append(el("span", { class: "badge" }, badge));
  return node;
}

export function isTyping(event) {
  const target = event.target;
  return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

export function splitTags(text) {
  return text.split(/[,\s]+/).map((t) => t.trim()).filter(Boolean);
}
