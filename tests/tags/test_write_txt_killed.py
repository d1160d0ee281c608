"""`tags write-txt` killed with SIGKILL at several points, then undone with the real
command: every caption back byte for byte, no `*.illudex-part` left anywhere."""

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

from illudex.journal import PART_SUFFIX
from illudex.library import Library

ILLUDEX = Path(sys.executable).with_name("illudex")
N_PICTURES = 150


@pytest.fixture
def captioned(tmp_path: Path) -> tuple[Path, Path]:
    """Pictures, half with captions of their own, scanned; every one tagged `extra`."""
    art, library = tmp_path / "art", tmp_path / "library"
    art.mkdir()
    for n in range(N_PICTURES):
        Image.new("RGB", (8, 8), (n, 255 - n, 7)).save(art / f"{n:03d}.png")
        if n % 2:
            (art / f"{n:03d}.txt").write_text(f"tag_{n}, solo")
    with Library.open(library) as lib:
        lib.workers = 1
        lib.scan([art])
        lib.tags.add(lib.image_ids([art]), ["extra"])
    return art, library


def _rows(catalog: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("SELECT COUNT(*) FROM journal WHERE op != 'tag-edit'"
                                ).fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def _captions(art: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(art.glob("*.txt"))}


@pytest.mark.parametrize("kill_after", [1, 40, 110])
def test_write_txt_killed_then_undone_leaves_every_caption_as_it_was(
    captioned: tuple[Path, Path], kill_after: int
) -> None:
    art, library = captioned
    before = _captions(art)
    command = subprocess.Popen(
        [str(ILLUDEX), "tags", "write-txt", "extra", "--library", str(library), "--yes"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while command.poll() is None and time.monotonic() < deadline:
            if _rows(library / "catalog.db") >= kill_after:
                break
            time.sleep(0.001)
        os.killpg(command.pid, signal.SIGKILL)
    finally:
        command.wait(timeout=30)
    assert command.returncode == -signal.SIGKILL, "it finished before the kill"

    undo = subprocess.run([str(ILLUDEX), "undo", "--library", str(library)],
                          capture_output=True, text=True, timeout=60)
    assert undo.returncode == 0 and "not undone" not in undo.stdout, undo.stdout + undo.stderr
    assert _captions(art) == before
    assert not list(art.parent.rglob(f"*{PART_SUFFIX}"))
