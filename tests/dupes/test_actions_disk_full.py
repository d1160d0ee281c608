"""Duplicate actions on a full disk (a real small tmpfs): one clear reason, no traceback,
no half-made `*.illudex-part` files, every file whole in one place, and undo brings all
back once there is space again."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from PIL import Image

from illudex.journal import PART_SUFFIX
from tests.fixtures.small_disk import fill, small_disk

ILLUDEX = Path(sys.executable).with_name("illudex")


def illudex(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ILLUDEX), *args], capture_output=True, text=True, timeout=300)


def snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def noise_copies(folder: Path, n: int, side: int) -> None:
    """`n` byte-identical copies of one picture of noise (PNG cannot shrink it)."""
    rnd = random.Random(5)
    data = bytes(rnd.getrandbits(8) for _ in range(side * side * 3))
    folder.mkdir(parents=True)
    Image.frombytes("RGB", (side, side), data).save(folder / "000.png")
    for k in range(1, n):
        (folder / f"{k:03d}.png").write_bytes((folder / "000.png").read_bytes())


def assert_no_part_files(*roots: Path) -> None:
    for root in roots:
        assert not list(root.rglob(f"*{PART_SUFFIX}")), root


def test_move_to_a_full_disk_stops_cleanly_and_undo_restores(tmp_path: Path) -> None:
    art, library = tmp_path / "art", tmp_path / "library"
    noise_copies(art, 8, 160)  # about 77 KB each
    before = snapshot(art)
    assert illudex("scan", str(art), "--library", str(library)).returncode == 0
    with small_disk(tmp_path / "disk", 256) as disk:
        done = illudex("dupes", str(art), "--library", str(library), "--move-to",
                       str(disk / "dupes"), "--yes", "--json")
        assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
        result = json.loads(done.stdout)
        assert result["stopped"].startswith("disk full")
        assert 0 < len(result["done"]) < 7
        assert "No space left" in result["failed"][-1]["error"]
        assert_no_part_files(disk, art)
        # Every file whole, in one place.
        moved = {Path(d["to"]).name: Path(d["to"]).read_bytes() for d in result["done"]}
        assert all(data == before["000.png"] for data in moved.values())
        assert len(snapshot(art)) + len(moved) == len(before)

        undo = illudex("undo", "--library", str(library), "--json")
        assert undo.returncode == 0 and json.loads(undo.stdout)["conflicts"] == []
        assert snapshot(art) == before
        assert_no_part_files(disk, art)


def test_trash_with_a_full_library_disk_stops_cleanly_and_undo_restores(
    tmp_path: Path
) -> None:
    art = tmp_path / "art"
    noise_copies(art, 40, 16)
    before = snapshot(art)
    with small_disk(tmp_path / "disk", 1024) as disk:
        library = disk / "library"
        assert illudex("dupes", str(art), "--library", str(library)).returncode == 0
        filler = fill(disk, leave=64 * 1024)  # room to open the catalog, no more

        done = illudex("dupes", str(art), "--library", str(library), "--trash", "--yes")
        assert done.returncode == 1, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and "disk full" in done.stderr, done.stderr
        left = snapshot(art)
        if len(left) == len(before):  # full before the first move could be journalled
            assert "nothing was moved" in done.stderr
        assert all(data == before["000.png"] for data in left.values())
        trashed = list((art / ".illudex-trash").rglob("*.png"))
        assert len(trashed) + len(left) == len(before)
        assert_no_part_files(disk, art)

        filler.unlink()
        undo = illudex("undo", "--library", str(library), "--json")
        assert undo.returncode == 0 and json.loads(undo.stdout)["conflicts"] == []
        assert snapshot(art) == before
