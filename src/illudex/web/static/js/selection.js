// The chosen pictures, kept for the browser tab's session (tag edits and clustering
// act on them from any page).

export const selection = {
  ids: new Set(JSON.parse(sessionStorage.getItem("illudex.selection") || "[]")),
  listeners: new Set(),
  save() {
    sessionStorage.setItem("illudex.selection", JSON.stringify([...this.ids]));
    this.listeners.forEach((fn) => fn(this.ids));
  },
  set(ids) { this.ids = new Set(ids); this.save(); },
  toggle(id, on = !this.ids.has(id)) { if (on) this.ids.add(id); else this.ids.delete(id); this.save(); },
  clear() { this.ids.clear(); this.save(); },
  onChange(fn) { this.listeners.add(fn); return () => this.listeners.delete(fn); },
};
