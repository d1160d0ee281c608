"""`illudex dupes --trash --dry-run` shows every group's keeper, where the others go and
why; `illudex dupes keep FILE` makes a copy the keeper from then on."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import ImageFilter
from typer.testing import CliRunner

from illudex.cli import app
from tests.dupes.test_keeper_original import original_picture


def invoke(library: Path, *args: str | Path) -> str:
    result = CliRunner().invoke(app, [*map(str, args), "--library", str(library)])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_dry_run_shows_keeper_moves_and_reason_then_keep_changes_it(tmp_path: Path) -> None:
    art = tmp_path / "art"
    art.mkdir()
    im = original_picture()
    im.save(art / "a.png")
    im.filter(ImageFilter.GaussianBlur(1.2)).save(art / "b_blurred.png")
    lib = tmp_path / "lib"

    text = " ".join(invoke(lib, "dupes", art, "--trash", "--dry-run").split())
    assert "Dry run: nothing was moved" in text
    assert f"keep {art / 'a.png'}" in text and "why: the others: blurred" in text
    assert f"{art / 'b_blurred.png'} → trash" in text
    assert (art / "b_blurred.png").exists()

    moved = json.loads(invoke(lib, "dupes", art, "--move-to", tmp_path / "out", "--dry-run",
                              "--json"))
    assert moved["dry_run"] is True and moved["groups"][0]["reason"] == "the others: blurred"
    assert moved["planned"] == [{"from": str(art / "b_blurred.png"),
                                 "to": str(tmp_path / "out" / "b_blurred.png"),
                                 "keep": str(art / "a.png")}]

    assert "Keeper from now on" in invoke(lib, "dupes", "keep", art / "b_blurred.png")
    report = json.loads(invoke(lib, "dupes", art, "--json"))
    assert report["groups"][0]["keep"] == str(art / "b_blurred.png")
    assert report["groups"][0]["reason"] == "chosen by you"
    invoke(lib, "dupes", "keep", art / "b_blurred.png", "--forget")
    assert json.loads(invoke(lib, "dupes", art, "--json"))["groups"][0]["keep"] == \
        str(art / "a.png")
