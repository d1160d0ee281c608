"""`illudex serve --watch DIR`: the server indexes new pictures and shows new duplicates."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import save_picture
from tests.watch.conftest import wait_for

ILLUDEX = Path(sys.executable).with_name("illudex")


def test_serve_watch_indexes_and_notices(tmp_path: Path) -> None:
    root = tmp_path / "art"
    original = save_picture(root / "orig.png", seed=3, size=(256, 192))
    env = {**os.environ, "ILLUDEX_LIBRARY": str(tmp_path / "lib"), "COLUMNS": "300"}
    proc = subprocess.Popen([str(ILLUDEX), "serve", "--port", "0", "--watch", str(root)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        url = re.search(r"http://\S+/", line).group(0)  # type: ignore[union-attr]
        with httpx.Client(base_url=url, timeout=10) as http:
            def count() -> int:
                return int(http.get("/api/images", params={"limit": 1}).json()["total"])

            wait_for(lambda: count() == 1)
            shutil.copyfile(original, root / "copy.png")
            wait_for(lambda: count() == 2)
            wait_for(lambda: len(http.get("/api/watch/notices").json()["items"]) == 1)
            [notice] = http.get("/api/watch/notices").json()["items"]
            assert notice["new"] == [str(root / "copy.png")] and notice["id"] == 1
            assert http.get("/api/watch/notices", params={"after": 1}).json()["items"] == []
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        finally:
            proc.kill()
