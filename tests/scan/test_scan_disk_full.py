"""A library disk that fills up during a scan: one clear line, no traceback, the catalog
whole, and the next scan (with space again) resumes. Uses a real small tmpfs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.fixtures.small_disk import fill, small_disk

ILLUDEX = Path(sys.executable).with_name("illudex")


def illudex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ILLUDEX), *args], capture_output=True, text=True, timeout=300)


def test_a_scan_that_fills_the_library_disk_stops_with_one_line(
    tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    for n in range(60):
        make_picture(art / f"{n:03d}.png", size=(64, 48), seed=n)
    with small_disk(tmp_path / "disk", 1024) as disk:
        library = disk / "library"
        assert illudex("history", "--library", str(library)).returncode == 0
        filler = fill(disk, leave=96 * 1024)  # room to open the catalog, not to fill it

        full = illudex("scan", str(art), "--library", str(library), "--workers", "1")
        assert full.returncode == 1
        assert "disk full" in full.stderr and "Traceback" not in full.stderr, full.stderr
        assert full.stderr.startswith("error: disk full") and full.stderr.count("error") == 1

        filler.unlink()
        again = illudex("scan", str(art), "--library", str(library), "--json")
        assert again.returncode == 0, again.stderr
        conn = sqlite3.connect(library / "catalog.db")
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 60
        finally:
            conn.close()
