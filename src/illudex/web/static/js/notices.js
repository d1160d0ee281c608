// Notices from a watcher (`illudex serve --watch`): a new duplicate shows as a toast with
// a way to the review. Only notices written after the page opened are shown.
import { api } from "./api.js";
import { toast } from "./ui.js";

const EVERY_MS = 5000;

export function startNotices(go) {
  let last = null;
  async function poll() {
    try {
      const data = await api.get(`/api/watch/notices?after=${last ?? 0}&limit=20`);
      if (last !== null) {
        for (const notice of data.items) show(notice, go);
      }
      last = data.last;
    } catch (e) {
      // The server may be restarting: try again at the next turn, quietly.
    }
    setTimeout(poll, EVERY_MS);
  }
  poll();
}

function show(notice, go) {
  if (notice.kind !== "duplicate") return;
  const names = notice.new.map((p) => p.split(/[\\/]/).pop()).join(", ");
  toast(`New duplicate: ${names}`, {
    action: { label: "Review", run: () => go("#/dupes?refresh=1") }, timeout: 15000,
  });
}
