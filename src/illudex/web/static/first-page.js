// The gallery's first page, asked for while the app's modules load, and only when the
// page opened is the gallery without a search (gallery.js takes it up).
(() => {
  const hash = location.hash.replace(/^#\/?/, "");
  if (hash === "" || hash === "?") {
    window.illudexFirstPage = fetch("/api/images?offset=0&limit=120",
                                    { headers: { Accept: "application/json" }, credentials: "same-origin" });
  }
})();
