"""How fast the web gallery shows its first screen on a 100 000-picture library.

The catalog rows are written straight into a fresh catalog (scanning 100 000 real files
would measure the scanner, not the gallery); only the pictures on the first screen get
real files and cached thumbnails. Headless Chromium then loads the gallery several times
(a fresh browser context each time, so nothing comes from the browser's cache) and we
take the time from navigation start to the moment every thumbnail on the first screen
has been drawn. The same is measured on a 1 000-picture library in the same run: the
ratio says how much the library's size costs.

    .venv/bin/python bench/web_gallery.py [--images 100000] [--loads 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

from illudex.catalog.db import connect
from illudex.library import Library
from illudex.thumbs import thumbnail
from illudex.web import create_app
from illudex.web.background import BackgroundServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 860}
FIRST_SCREEN = 120  # one page of the gallery: more than a laptop screen shows
FIRST_SCREEN_DRAWN = """() => {
  const imgs = [...document.querySelectorAll('#gallery-grid .tile img')]
    .filter(i => i.getBoundingClientRect().top < innerHeight);
  return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)
    ? performance.now() : false;
}"""


def make_library(root: Path, n_images: int) -> Path:
    """A catalog of `n_images` rows under one library folder; returns the library dir."""
    lib_dir, art = root / "library", root / "art"
    lib_dir.mkdir(parents=True)
    art.mkdir()
    conn = connect(lib_dir / "catalog.db")
    now = time.time()
    conn.execute("BEGIN")
    folder_id = conn.execute("INSERT INTO folders (path, added_at) VALUES (?, ?)",
                             (str(art), now)).lastrowid
    conn.executemany(
        "INSERT INTO images (path, folder_id, size, mtime_ns, digest, width, height, format, "
        "mode, added_at, scanned_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        ((f"{art}/d{i // 1000:03d}/pic_{i:06d}.png", folder_id, 1000 + i, 1, f"{i:032x}",
          640, 800, "PNG", "RGB", now, now) for i in range(n_images)),
    )
    conn.execute("COMMIT")
    conn.close()
    return lib_dir


def give_first_screen_files(lib_dir: Path) -> int:
    """Real files and cached thumbnails for the gallery's first page, in its order."""
    with Library.open(lib_dir) as lib:
        ids = [hit_id(h) for h in lib.search("", limit=FIRST_SCREEN).results]
        rows = lib.images(ids)
        for n, image_id in enumerate(ids):
            path = Path(rows[image_id].path)
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (640, 800), ((n * 37) % 256, (n * 91) % 256, 180)).save(path)
            st = path.stat()
            lib.conn.execute("UPDATE images SET size = ?, mtime_ns = ? WHERE id = ?",
                             (st.st_size, st.st_mtime_ns, image_id))
            thumbnail(lib, image_id)
    return len(ids)


def hit_id(hit: object) -> int:
    return int(hit.id) if hasattr(hit, "id") else int(hit[0])  # type: ignore[index,attr-defined]


def measure(url: str, loads: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(loads):
            context = browser.new_context(viewport=VIEWPORT)
            page = context.new_page()
            page.goto(url, wait_until="commit")
            drawn = page.wait_for_function(FIRST_SCREEN_DRAWN, timeout=30_000, polling="raf")
            times.append(float(drawn.json_value()) / 1000)
            context.close()
        browser.close()
    return times


def api_listing_ms(url: str, repeats: int = 9) -> float:
    times = []
    with httpx.Client() as client:
        for _ in range(repeats):
            t = time.perf_counter()
            client.get(url + "api/images", params={"limit": FIRST_SCREEN}).raise_for_status()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run(n_images: int, loads: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory(prefix="illudex-bench-") as tmp:
        t = time.perf_counter()
        lib_dir = make_library(Path(tmp), n_images)
        made = time.perf_counter() - t
        first = give_first_screen_files(lib_dir)
        with BackgroundServer(create_app(lib_dir)) as server:
            time.sleep(1.0)  # as a person would: the server warms its caches as it starts
            cold = measure(server.url, 1)[0]
            warm = measure(server.url, loads)
            listing = api_listing_ms(server.url)
        median = statistics.median(warm)
        print(f"{n_images:>7,} pictures (catalog made in {made:.1f} s, {first} first-screen "
              f"files): first load {cold * 1000:.0f} ms; then median {median * 1000:.0f} ms "
              f"(min {min(warm) * 1000:.0f}, max {max(warm) * 1000:.0f}, {loads} loads); "
              f"/api/images?limit={FIRST_SCREEN} median {listing:.1f} ms")
        return cold, median, listing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=1_000)
    parser.add_argument("--loads", type=int, default=7)
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"{CHROMIUM} is missing: apt-get install chromium")
    _, base, base_api = run(args.baseline, args.loads)
    cold, big, big_api = run(args.images, args.loads)
    print(f"first screen, {args.images:,} vs {args.baseline:,} pictures: "
          f"{big * 1000:.0f} ms vs {base * 1000:.0f} ms (ratio {big / base:.2f}); "
          f"listing API ratio {big_api / base_api:.2f}")
    verdict = "PASS" if big < 1.0 else "OVER"
    print(f"{verdict}: median first screen {big * 1000:.0f} ms on {args.images:,} pictures "
          f"(target < 1000 ms; the very first load after start {cold * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
