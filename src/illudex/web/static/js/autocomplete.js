// Tag autocomplete for any text input: completes the word under the cursor, showing
// why a tag matched (its alias, its translation, a near spelling) and how often it is used.
import { api, query } from "./api.js";
import { el, clear } from "./ui.js";

let unavailable = false; // the server lacks tag lookup (yet): stop asking

export function attachAutocomplete(input, { separator = /\s/, onPick = null } = {}) {
  const wrap = input.parentElement;
  wrap.classList.add("ac");
  const list = el("ul", { class: "ac-list", role: "listbox", hidden: true });
  wrap.append(list);
  let matches = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const word = () => {
    const upto = input.value.slice(0, input.selectionStart ?? input.value.length);
    let start = upto.length;
    while (start > 0 && !separator.test(upto[start - 1])) start -= 1;
    const raw = upto.slice(start);
    const prefix = raw.match(/^[-~]*/)[0];
    return { start: start + prefix.length, text: raw.slice(prefix.length), end: upto.length };
  };

  let moved = false; // the user went through the list with the arrows
  const close = () => { list.hidden = true; matches = []; active = -1; moved = false; };
  // The word typed is already a tag's full name: Enter should act, not complete it.
  const isCompleteTag = () => {
    const typed = word().text.trim().toLowerCase().replace(/\s+/g, "_");
    return typed !== "" && matches.some((m) => m.name === typed);
  };

  const render = () => {
    clear(list);
    matches.forEach((m, i) => {
      const why = m.via && m.via !== "name" ? `${m.via}: ${m.matched}` : (m.reason === "fuzzy" ? "did you mean" : "");
      list.append(el("li", { class: `${i === active ? "active" : ""} cat-${m.category || "general"}`,
                             role: "option", onmousedown: (e) => { e.preventDefault(); pick(i); } },
        el("span", { class: "name tag-name" }, m.name),
        why ? el("span", { class: "via" }, why) : null,
        el("span", { class: "count" }, (m.count ?? "").toLocaleString())));
    });
    list.hidden = matches.length === 0;
  };

  const pick = (i) => {
    const m = matches[i];
    if (!m) return;
    const w = word();
    const before = input.value.slice(0, w.start);
    const after = input.value.slice(w.end).replace(/^[^\s,]*/, "");
    const joiner = separator.test(",") ? ", " : " ";
    input.value = `${before}${m.name}${after ? after : joiner}`;
    const caret = before.length + m.name.length + (after ? 0 : joiner.length);
    input.setSelectionRange(caret, caret);
    close();
    if (onPick) onPick(m);
  };

  const lookup = async () => {
    const w = word();
    if (unavailable || w.text.length < 1 || w.text.includes(":")) { close(); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api.get(`/api/tags/complete${query({ q: w.text, limit: 10 })}`,
                                 { signal: controller.signal });
      matches = data.matches;
      active = matches.length ? 0 : -1;
      moved = false;
      render();
    } catch (e) {
      if (e.status === 501) unavailable = true;
      if (e.name !== "AbortError") close();
    }
  };

  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(lookup, 90); });
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (event) => {
    if (list.hidden) return;
    if (event.key === "Enter" && !moved && isCompleteTag()) { close(); return; } // Enter submits
    if (event.key === "ArrowDown" || event.key === "ArrowUp") moved = true;
    if (event.key === "ArrowDown") { active = (active + 1) % matches.length; render(); event.preventDefault(); }
    else if (event.key === "ArrowUp") { active = (active - 1 + matches.length) % matches.length; render(); event.preventDefault(); }
    else if (event.key === "Tab" || (event.key === "Enter" && active >= 0)) { pick(active); event.preventDefault(); event.stopPropagation(); }
    else if (event.key === "Escape") { close(); event.stopPropagation(); }
  });
  return { close };
}
