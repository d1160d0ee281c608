"""`illudex dupes`: the --json shapes, dry runs, confirmation, --prefer, `mark`, `undo`,
`history`, and the same answer from two fresh libraries."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.cli import app
from illudex.sample import make_sample


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def art(tmp_path: Path, make_picture) -> Path:
    """a.png with a caption, its exact copy, its half-size JPEG, and an unrelated picture."""
    folder = tmp_path / "art"
    a = make_picture(folder / "a.png", size=(300, 200), seed=1)
    (folder / "a.txt").write_text("1girl, smile")
    shutil.copy2(a, folder / "b_copy.png")
    (folder / "b_copy.txt").write_text("copy")
    small = Image.open(a).convert("RGB").resize((150, 100), Image.Resampling.LANCZOS)
    make_picture(folder / "c_small.jpg", image=small, quality=85)
    make_picture(folder / "other.png", size=(300, 200), seed=2)
    return folder


def invoke(runner: CliRunner, library: Path, *args: str | Path, code: int = 0):
    result = runner.invoke(app, [*map(str, args), "--library", str(library)])
    assert result.exit_code == code, result.output
    return result


def dupes_json(runner: CliRunner, library: Path, *args: str | Path) -> dict:
    return json.loads(invoke(runner, library, "dupes", *args, "--json").stdout)


def files_in(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_json_report_shape(runner: CliRunner, tmp_path: Path, art: Path) -> None:
    report = dupes_json(runner, tmp_path / "lib", art)
    assert list(report) == ["groups", "alternates", "errors"]
    assert report["groups"] == [{
        "relation": "near", "keep": str(art / "a.png"),
        # The half-size JPEG is an edited copy; between the exact copies, the tags decide.
        "reason": "the others: downscaled (150×100 vs 300×200); then more tags (2 vs 1)",
        "files": [str(art / "a.png"), str(art / "b_copy.png"), str(art / "c_small.jpg")]}]
    assert report["alternates"] == [] and report["errors"] == []
    exact = dupes_json(runner, tmp_path / "lib", "find", art, "--exact-only")
    assert [(g["relation"], g["files"]) for g in exact["groups"]] == [
        ("exact", [str(art / "a.png"), str(art / "b_copy.png")])]


def test_dry_run_moves_nothing_and_shows_the_plan(
    runner: CliRunner, tmp_path: Path, art: Path
) -> None:
    before = files_in(art)
    report = dupes_json(runner, tmp_path / "lib", art, "--trash", "--dry-run")
    assert files_in(art) == before
    assert report["dry_run"] is True and report["action"] is None and report["done"] == []
    assert report["planned"] == [
        {"from": str(art / "b_copy.png"), "to": "trash", "keep": str(art / "a.png")},
        {"from": str(art / "c_small.jpg"), "to": "trash", "keep": str(art / "a.png")}]
    table = invoke(runner, tmp_path / "lib", "dupes", art, "--move-to", tmp_path / "d",
                   "--dry-run")
    assert "Dry run: nothing was moved" in table.stdout and files_in(art) == before
    assert not (tmp_path / "d").exists()


def test_without_yes_a_script_is_refused(runner: CliRunner, tmp_path: Path, art: Path):
    before = files_in(art)
    result = invoke(runner, tmp_path / "lib", "dupes", art, "--trash", code=1)
    assert "not a terminal: add --yes" in result.output
    assert files_in(art) == before


def test_trash_then_undo_restores_files_and_history(
    runner: CliRunner, tmp_path: Path, art: Path
) -> None:
    lib = tmp_path / "lib"
    before = {p.name: p.read_bytes() for p in art.iterdir()}
    done = dupes_json(runner, lib, art, "--trash", "--yes")
    assert done["dry_run"] is False and done["failed"] == []
    assert [Path(d["from"]).name for d in done["done"]] == ["b_copy.png", "c_small.jpg"]
    assert files_in(art) == {"a.png", "a.txt", "other.png"}  # b_copy.txt went with its picture

    history = json.loads(invoke(runner, lib, "history", "--json").stdout)
    assert [(h["id"], h["kind"], h["state"]) for h in history] == [
        (done["action"], "dupes-trash", "done")]
    undo = json.loads(invoke(runner, lib, "undo", "--json").stdout)
    assert undo == {"action": done["action"], "kind": "dupes-trash", "restored": 3,
                    "conflicts": []}
    assert {p.name: p.read_bytes() for p in art.iterdir()} == before
    assert json.loads(invoke(runner, lib, "history", "--json").stdout)[0]["state"] == "undone"
    assert "Nothing to undo" in invoke(runner, lib, "undo").stdout


def test_move_to_a_folder(runner: CliRunner, tmp_path: Path, art: Path) -> None:
    result = invoke(runner, tmp_path / "lib", "dupes", art, "--move-to", tmp_path / "d", "-y")
    assert "Moved 2 file(s)" in result.stdout
    assert files_in(tmp_path / "d") == {"b_copy.png", "b_copy.txt", "c_small.jpg"}


def test_prefer_changes_the_keeper(runner: CliRunner, tmp_path: Path, art: Path) -> None:
    later = (art / "a.png").stat().st_mtime_ns + 10**10
    os.utime(art / "b_copy.png", ns=(later, later))
    report = dupes_json(runner, tmp_path / "lib", art, "--prefer", "shorter-path,older")
    assert report["groups"][0]["keep"] == str(art / "a.png")
    report = dupes_json(runner, tmp_path / "lib", art, "--prefer", "lossless,newer")
    assert report["groups"][0]["keep"] == str(art / "b_copy.png")  # written after a.png
    bad = invoke(runner, tmp_path / "lib", "dupes", art, "--prefer", "prettiest", code=1)
    assert "unknown keeper criterion 'prettiest'" in bad.output


def test_trash_and_move_to_together_is_refused(runner: CliRunner, tmp_path: Path, art: Path):
    result = invoke(runner, tmp_path / "lib", "dupes", art, "--trash", "--move-to",
                    tmp_path / "d", "--yes", code=1)
    assert "choose one of --trash and --move-to" in result.output


def test_mark(runner: CliRunner, tmp_path: Path, art: Path) -> None:
    lib = tmp_path / "lib"
    dupes_json(runner, lib, art)  # scans
    refused = invoke(runner, lib, "dupes", "mark", art / "a.png", art / "b_copy.png",
                     "--not-duplicate", code=1)
    assert "same content" in refused.output
    invoke(runner, lib, "dupes", "mark", art / "a.png", art / "c_small.jpg", "--not-duplicate")
    report = dupes_json(runner, lib, art)
    assert [g["files"] for g in report["groups"]] == [[str(art / "a.png"),
                                                       str(art / "b_copy.png")]]
    assert "exactly one of" in invoke(runner, lib, "dupes", "mark", art / "a.png",
                                      art / "other.png", code=1).output
    missing = invoke(runner, lib, "dupes", "mark", art / "a.png", tmp_path / "nope.png",
                     "--alternate", code=2)
    assert "no such file or folder" in missing.output
    (tmp_path / "elsewhere.png").write_bytes((art / "a.png").read_bytes())
    unknown = invoke(runner, lib, "dupes", "mark", art / "a.png", tmp_path / "elsewhere.png",
                     "--alternate", code=1)
    assert "not in the catalog" in " ".join(unknown.output.split())


def test_two_fresh_libraries_give_identical_json(runner: CliRunner, tmp_path: Path) -> None:
    sample = make_sample(tmp_path / "sample", n=4)
    outputs = [invoke(runner, tmp_path / f"lib{n}", "dupes", sample, "--json").stdout
               for n in (1, 2)]
    assert outputs[0] == outputs[1]
    report = json.loads(outputs[0])
    assert len(report["groups"]) >= 2
    assert len(report["errors"]) == 2  # the sample's empty and text "pictures"
