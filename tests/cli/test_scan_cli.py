"""`illudex scan`: the --json summary's exact shape, exit code 0 whatever the files hold,
the pixel limit option, and file names that are not UTF-8."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.cli import app

ILLUDEX = Path(sys.executable).with_name("illudex")
KEYS = ["added", "updated", "moved", "removed", "unchanged", "errors"]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def scan_json(runner: CliRunner, *args: str | Path) -> dict:
    result = runner.invoke(app, ["scan", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # nothing but the JSON on stdout


def test_json_summary_has_exactly_the_promised_shape(
    runner: CliRunner, tmp_path: Path, make_picture
) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png", seed=1)
    make_picture(art / "sub" / "b.jpg", seed=2)
    (art / "broken.png").write_text("not a picture")
    library = tmp_path / "lib"
    first = scan_json(runner, art, "--library", library, "--workers", "1")
    assert list(first) == KEYS
    assert first == {"added": 2, "updated": 0, "moved": 0, "removed": 0, "unchanged": 0,
                     "errors": [{"path": str(art / "broken.png"), "error":
                                 "not a picture Pillow can read (unknown or corrupt format)"}]}
    (art / "sub" / "b.jpg").rename(art / "c.jpg")
    (art / "a.png").unlink()
    make_picture(art / "d.png", seed=4)
    second = scan_json(runner, art, "--library", library, "--workers", "1")
    assert {k: second[k] for k in KEYS[:5]} == {"added": 1, "updated": 0, "moved": 1,
                                                "removed": 1, "unchanged": 0}


def test_library_comes_from_the_environment(
    runner: CliRunner, tmp_path: Path, make_picture, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_picture(tmp_path / "art" / "a.png")
    monkeypatch.setenv("ILLUDEX_LIBRARY", str(tmp_path / "envlib"))
    assert scan_json(runner, tmp_path / "art")["added"] == 1
    assert (tmp_path / "envlib" / "catalog.db").exists()


def test_table_output_lists_skipped_files(runner: CliRunner, tmp_path: Path, make_picture):
    make_picture(tmp_path / "art" / "a.png")
    (tmp_path / "art" / "empty.png").write_bytes(b"")
    result = runner.invoke(app, ["scan", str(tmp_path / "art"), "-L", str(tmp_path / "lib")])
    assert result.exit_code == 0
    assert "added" in result.stdout and "Files skipped" in result.stdout
    assert "empty file (0 bytes)" in result.stdout


def test_max_pixels_option(runner: CliRunner, tmp_path: Path, make_picture) -> None:
    make_picture(tmp_path / "art" / "big.png", size=(300, 300))
    report = scan_json(runner, tmp_path / "art", "-L", tmp_path / "lib", "--max-pixels", "50000")
    assert report["added"] == 0
    assert "over the limit of 50,000" in report["errors"][0]["error"]


def test_not_utf8_names_give_valid_json_on_a_strict_terminal(
    tmp_path: Path, make_picture
) -> None:
    """On a UTF-8 terminal whose Python encodes strictly (the usual desktop locale), odd
    bytes in a name must neither crash the command nor make the JSON invalid UTF-8."""
    art = tmp_path / "art"
    good = Path(os.fsdecode(os.fsencode(str(art)) + b"/good \xff.png"))
    make_picture(good)
    bad = Path(os.fsdecode(os.fsencode(str(art)) + b"/bad \xfe.png"))
    bad.write_bytes(b"broken")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict"}
    tables = subprocess.run([str(ILLUDEX), "dupes", str(art), "-L", str(tmp_path / "lib")],
                            capture_output=True, env=env, timeout=60)  # scans, shows tables
    assert tables.returncode == 0, tables.stderr.decode(errors="replace")
    done = subprocess.run([str(ILLUDEX), "scan", str(art), "--json", "-L", str(tmp_path / "lib")],
                          capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    report = json.loads(done.stdout.decode("utf-8"))  # strict: valid UTF-8
    assert report["unchanged"] == 1
    assert report["errors"][0]["path"] == str(bad)  # the exact name, via \u escapes


def test_interrupted_scan_says_how_to_resume(tmp_path: Path) -> None:
    art = tmp_path / "art"
    art.mkdir()
    for n in range(300):
        Image.new("RGB", (16, 16), (n % 256, 0, 0)).save(art / f"{n:03d}.png")
    catalog = tmp_path / "lib" / "catalog.db"
    scan = subprocess.Popen(
        [str(ILLUDEX), "scan", str(art), "-L", str(tmp_path / "lib"), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # A shell may start us with Ctrl-C ignored; the command must see it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while scan.poll() is None and time.monotonic() < deadline and not _scanning(catalog):
        time.sleep(0.01)
    scan.send_signal(signal.SIGINT)
    output, _ = scan.communicate(timeout=60)
    if scan.returncode == 0:
        pytest.skip("the scan finished before the interrupt")
    assert scan.returncode == 130, output
    assert "Interrupted" in output and "run the same command again to resume" in output
    assert "Traceback" not in output


def _scanning(catalog: Path) -> bool:
    """The scan has registered its folder, so it is past start-up."""
    try:
        conn = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("SELECT COUNT(*) FROM folders").fetchone()[0] > 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False
