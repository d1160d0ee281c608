"""`illudex watch` as a process: SIGTERM stops it cleanly, kill -9 loses and repeats nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import save_picture
from tests.watch.conftest import wait_for

ILLUDEX = Path(sys.executable).with_name("illudex")
READY = "up to date; watching for changes"


def start(root: Path, library: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "ILLUDEX_LIBRARY": str(library)}
    return subprocess.Popen(
        [str(ILLUDEX), "watch", str(root), "--settle", "0.6", "--log-file", str(log), *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def log_has(log: Path, text: str, times: int = 1) -> bool:
    return log.exists() and log.read_text().count(text) >= times


def pictures(library: Path) -> list[str]:
    conn = sqlite3.connect(library / "catalog.db", timeout=30)
    try:
        return sorted(r[0] for r in conn.execute(
            "SELECT path FROM images WHERE folder_id IS NOT NULL"))
    finally:
        conn.close()


def notices(library: Path) -> list[dict[str, object]]:
    path = library / "watch" / "notices.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_sigterm_stops_cleanly(tmp_path: Path) -> None:
    root, library, log = tmp_path / "art", tmp_path / "lib", tmp_path / "watch.log"
    save_picture(root / "a.png", seed=1)
    proc = start(root, library, log)
    try:
        wait_for(lambda: log_has(log, READY))
        save_picture(root / "b.png", seed=2)
        wait_for(lambda: len(pictures(library)) == 2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        proc.wait()
    text = log.read_text()
    assert "stopped: " in text and "Traceback" not in text
    assert "Traceback" not in proc.stderr.read().decode()  # type: ignore[union-attr]


def test_kill_9_then_restart_loses_and_repeats_nothing(tmp_path: Path) -> None:
    root, library, log = tmp_path / "art", tmp_path / "lib", tmp_path / "watch.log"
    original = save_picture(root / "orig.png", seed=3, size=(256, 192))
    proc = start(root, library, log, "--dupes")
    try:
        wait_for(lambda: log_has(log, READY))
        shutil.copyfile(original, root / "copy1.png")
        for n in range(4):
            save_picture(root / f"new{n}.png", seed=10 + n)
        wait_for(lambda: len(pictures(library)) == 6 and len(notices(library)) == 1)
        save_picture(root / "late.png", seed=20)  # maybe read, maybe not, when the kill comes
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # While it is down: one more picture, one more copy, one picture gone.
    save_picture(root / "while-down.png", seed=21)
    shutil.copyfile(original, root / "copy2.png")
    (root / "new0.png").unlink()
    proc = start(root, library, log, "--dupes")
    try:
        wait_for(lambda: log_has(log, READY, times=2))
        on_disk = sorted(str(p) for p in root.iterdir())
        assert pictures(library) == on_disk  # each picture once, nothing gone missing
        found = notices(library)
        assert len(found) == 2  # the first copy's notice is not written again
        assert found[1]["new"] == [str(root / "copy2.png")]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_watch_takes_folders_only(tmp_path: Path) -> None:
    picture = save_picture(tmp_path / "a.png")
    result = subprocess.run([str(ILLUDEX), "watch", str(picture)], capture_output=True,
                            text=True, timeout=60,
                            env={**os.environ, "ILLUDEX_LIBRARY": str(tmp_path / "lib")})
    assert result.returncode == 2 and "not a folder" in " ".join(result.stderr.split())
