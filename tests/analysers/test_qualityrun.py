"""`illudex quality` stores an aesthetic score per picture in the catalog (model_results,
kind "quality"), and search filters and sorts by it (`quality:>=X`, `sort:-quality`).
Real library, real CLI, real ONNX Runtime on a tiny model of the deepghs aesthetic layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from illudex.analysers.quality import QualityScorer
from illudex.catalog import modelresults
from illudex.cli import app
from illudex.library import Library
from illudex.search import QuerySyntaxError, parse
from tests.analysers.test_quality import aesthetic

# Pure colour scores high, grey sits on "normal": four pictures, four distinct scores.
COLOURS = {"red": (255, 0, 0), "rose": (230, 120, 120), "dusk": (150, 130, 130),
           "grey": (128, 128, 128)}


@pytest.fixture
def art(tmp_path: Path) -> Path:
    folder = tmp_path / "art"
    folder.mkdir()
    for name, colour in COLOURS.items():
        Image.new("RGB", (64, 64), colour).save(folder / f"{name}.png")
    return folder


def expected(model: Path, art: Path) -> dict[str, float]:
    """The scores the model gives when run directly on the pictures."""
    scorer = QualityScorer.load(model)
    names = list(COLOURS)
    with_images = [Image.open(art / f"{n}.png").convert("RGB") for n in names]
    return dict(zip(names, scorer.quality(with_images), strict=True))


def stems(library: Library, query: str) -> list[str]:
    return [Path(path).stem for _id, path, _s in library.search(query, limit=100).results]


def test_cli_scores_and_search_filters_and_sorts(library: Library, art: Path,
                                                 tmp_path: Path) -> None:
    model = aesthetic(tmp_path / "aes")
    done = CliRunner().invoke(app, ["-L", str(library.dir), "quality", str(art),
                                    "--model", str(model), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.output[done.output.index("{"):])
    assert (report["done"], report["skipped"], report["errors"]) == (4, 0, [])
    want = expected(model, art)
    assert len({round(v, 3) for v in want.values()}) == 4  # the order below means something
    stored = {n: modelresults.for_digest(library.conn,
                                         library.image_at(art / f"{n}.png").digest)
              for n in COLOURS}
    for name, rows in stored.items():
        [row] = rows
        assert row["kind"] == "quality"
        assert row["data"]["quality"] == pytest.approx(want[name], abs=2e-4)
    best_first = sorted(want, key=want.__getitem__, reverse=True)
    assert stems(library, "sort:-quality") == best_first
    assert stems(library, "sort:quality") == best_first[::-1]
    cut = (want[best_first[1]] + want[best_first[2]]) / 2
    assert sorted(stems(library, f"quality:>={cut:.4f}")) == sorted(best_first[:2])
    assert sorted(stems(library, f"-quality:>={cut:.4f}")) == sorted(best_first[2:])
    again = CliRunner().invoke(app, ["-L", str(library.dir), "quality", str(art),
                                     "--model", str(model), "--json"])
    assert json.loads(again.output[again.output.index("{"):])["skipped"] == 4


def test_unscored_pictures_match_no_quality_and_sort_last(library: Library, art: Path,
                                                          tmp_path: Path) -> None:
    model = aesthetic(tmp_path / "aes")
    library.scan([art])
    library.workers = 2  # decoded in worker processes (prefetch.in_order)
    summary = library.models.score_quality([art / "red.png", art / "grey.png"], model=str(model))
    assert (summary.done, summary.errors) == (2, [])
    assert sorted(stems(library, "quality:>=0")) == ["grey", "red"]
    assert stems(library, "sort:-quality")[:2] == ["red", "grey"]
    assert sorted(stems(library, "sort:-quality")[2:]) == ["dusk", "rose"]  # unscored: last


def test_quality_syntax() -> None:
    assert parse("quality:>=0.7").root.range.lo == 0.7
    assert parse("sort:-quality").sort.descending
    with pytest.raises(QuerySyntaxError, match=r"quality:>=0\.7"):
        parse("quality:good")
