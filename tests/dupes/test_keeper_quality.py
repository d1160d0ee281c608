"""`illudex dupes --prefer quality`: the copy with the higher stored aesthetic score is
kept, unscored copies rank last, and the reason says so. Real library, real CLI; the
scores are written by the same catalog call the quality run uses."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from illudex.analysers.qualityrun import quality_recipe, result
from illudex.catalog import modelresults
from illudex.cli import app
from illudex.library import Library


def dupes(library: Path, folder: Path, *args: str) -> dict:
    done = CliRunner().invoke(app, ["dupes", str(folder), *args, "--json",
                                    "--library", str(library)])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def score(library: Path, scores: dict[Path, float]) -> None:
    lib = Library.open(library)
    try:
        rows = [result(lib.image_at(p).digest, {"quality": q, "raw": q * 6, "label": "good"})
                for p, q in scores.items()]
        modelresults.store(lib.conn, modelresults.QUALITY_KIND, quality_recipe("tiny"),
                           "tiny", rows)
    finally:
        lib.close()


def test_prefer_quality_keeps_the_higher_score(tmp_path: Path, make_picture) -> None:
    art = tmp_path / "art"
    big = make_picture(art / "a.png", size=(300, 200), seed=1)
    small = Image.open(big).convert("RGB").resize((150, 100), Image.Resampling.LANCZOS)
    jpeg = make_picture(art / "b_small.jpg", image=small, quality=85)
    lib = tmp_path / "lib"
    default = dupes(lib, art)["groups"][0]
    assert default["keep"] == str(big)  # the default keeper picks the original
    score(lib, {big: 0.41, jpeg: 0.83})
    [group] = dupes(lib, art, "--prefer", "quality")["groups"]
    assert group["keep"] == str(jpeg)
    assert group["reason"] == "higher quality score (0.83 vs 0.41)"
    assert dupes(lib, art)["groups"][0]["keep"] == str(big)  # still not in the default


def test_unscored_copies_rank_below_scored_ones(tmp_path: Path, make_picture) -> None:
    art = tmp_path / "art"
    big = make_picture(art / "a.png", size=(300, 200), seed=1)
    small = Image.open(big).convert("RGB").resize((150, 100), Image.Resampling.LANCZOS)
    jpeg = make_picture(art / "b_small.jpg", image=small, quality=85)
    lib = tmp_path / "lib"
    dupes(lib, art)
    score(lib, {jpeg: 0.05})  # a low score still beats none
    [group] = dupes(lib, art, "--prefer", "quality,older")["groups"]
    assert group["keep"] == str(jpeg)
    assert group["reason"] == "higher quality score (0.05 vs unscored)"
