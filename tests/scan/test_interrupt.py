"""A scan killed with SIGKILL part-way keeps its finished work, leaves a sound catalog, and
the next scan resumes: the rest counted as added, the finished files as unchanged."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from illudex.library import Library, scan_analysers

N_FILES = 300
ILLUDEX = Path(sys.executable).with_name("illudex")

# Kill the whole process group (scan and its decode workers) from inside the progress
# callback after `kill_at` files: as sudden as a power cut for the process, and exactly
# reproducible. Batches of 40 files (no time-based commits) make the count predictable.
KILLED_SCAN = """
import os, signal, sys
import illudex.scan.engine
illudex.scan.engine.COMMIT_EVERY_FILES = 40
illudex.scan.engine.COMMIT_EVERY_SECONDS = 3600.0
from illudex.library import Library

library, folder, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])

def progress(report):
    if report.done == kill_at:
        os.killpg(os.getpgrp(), signal.SIGKILL)

lib = Library.open(library)
lib.workers = 2
lib.scan([folder], progress=progress)
print("finished without being killed")
"""


@pytest.fixture(scope="module")
def many_pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("many")
    for n in range(N_FILES):
        sub = folder / f"part{n // 100}"
        sub.mkdir(exist_ok=True)
        Image.new("RGB", (24, 16), (n % 256, (n * 7) % 256, (n * 13) % 256)).save(
            sub / f"{n:03d}.png")
    return folder


def check_catalog(library_dir: Path) -> int:
    """The catalog opens, passes SQLite's integrity check, and every row is a real file
    with its true size. Returns the number of rows."""
    with Library.open(library_dir) as lib:
        assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert lib.conn.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = lib.conn.execute("SELECT path, size FROM images").fetchall()
        for path, size in rows:
            assert os.path.getsize(path) == size
        features = lib.conn.execute("SELECT COUNT(*) FROM features").fetchone()[0]
        assert features == len(rows) * len(scan_analysers())  # no half-stored picture
        return len(rows)


def resume(library_dir: Path, folder: Path, finished: int) -> None:
    with Library.open(library_dir) as lib:
        lib.workers = 1  # a pool costs seconds to start; the killed runs used one
        report = lib.scan([folder])
    assert report.errors == []
    assert (report.added, report.unchanged) == (N_FILES - finished, finished)
    assert (report.updated, report.moved, report.removed) == (0, 0, 0)
    assert check_catalog(library_dir) == N_FILES


def test_scan_killed_part_way_resumes(tmp_path: Path, many_pictures: Path) -> None:
    library_dir = tmp_path / "library"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_SCAN, str(library_dir), str(many_pictures), "150"],
        start_new_session=True, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    finished = check_catalog(library_dir)
    assert finished == 120  # three whole batches of 40; the fourth was lost, not half-kept
    resume(library_dir, many_pictures, finished)


def test_scan_command_killed_at_an_unplanned_moment_resumes(
    tmp_path: Path, many_pictures: Path
) -> None:
    """A timed kill of the real command, as soon as its first batch is in the catalog."""
    library_dir = tmp_path / "library"
    scan = subprocess.Popen(
        [str(ILLUDEX), "scan", str(many_pictures), "--library", str(library_dir), "--json",
         "--workers", "2"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while scan.poll() is None and time.monotonic() < deadline:
            if _catalogued(library_dir / "catalog.db"):
                break
            time.sleep(0.005)
        os.killpg(scan.pid, signal.SIGKILL)
    finally:
        scan.wait(timeout=30)
    finished = check_catalog(library_dir)
    assert finished > 0
    resume(library_dir, many_pictures, finished)


def _catalogued(catalog: Path) -> bool:
    if not catalog.exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("SELECT COUNT(*) FROM images").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # not created yet, or mid-migration
