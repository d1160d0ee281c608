"""The `min-quality` dataset step: drops pictures under the aesthetic score, with the score
in the reason; reads what `illudex quality` stored (no model run) and stores what it ran.
Real pipeline, real library, real ONNX Runtime on a tiny aesthetic model."""

from __future__ import annotations

from pathlib import Path

import pytest

from illudex.analysers.quality import QualityScorer
from illudex.catalog import modelresults
from illudex.dataset.errors import DatasetError
from illudex.library import Library
from tests.analysers.test_quality import aesthetic
from tests.dataset.test_modelsteps import picture, run


@pytest.fixture
def art(tmp_path: Path) -> Path:
    folder = tmp_path / "art"
    picture(folder / "red.png", (64, 64), fill=(255, 0, 0))
    picture(folder / "grey.png", (64, 64), fill=(128, 128, 128))
    return folder


def test_drops_low_quality_with_the_score_in_the_reason(library: Library, art: Path,
                                                        tmp_path: Path) -> None:
    model = aesthetic(tmp_path / "aes")
    done = run(library, art, tmp_path / "out", [
        {"use": "min-quality", "model": str(model), "min": 0.7}])
    assert [i.name for i in done["items"]] == ["red"]
    assert done["items"][0].meta["quality"] > 0.9
    grey = QualityScorer.load(model).quality([_open(art / "grey.png")])[0]
    assert done["reasons"]["grey"] == f"quality {grey:.3f} < 0.7 (good)"  # the middle label
    row = modelresults.for_digest(library.conn, library.image_at(art / "grey.png").digest)
    assert [r["kind"] for r in row] == ["quality"]  # kept for search (quality:, sort:)
    assert [Path(p).stem for _i, p, _s in library.search("quality:<0.7").results] == ["grey"]


def test_reads_the_scores_illudex_quality_stored(library: Library, art: Path,
                                                 tmp_path: Path) -> None:
    model = aesthetic(tmp_path / "aes")
    library.scan([art])
    assert library.models.score_quality([art], model=str(model)).done == 2
    (model / "model.onnx").write_bytes(b"not a model any more")  # loading it would fail
    done = run(library, art, tmp_path / "out", [
        {"use": "min-quality", "model": str(model), "min": 0.7}])
    assert [i.name for i in done["items"]] == ["red"]
    with pytest.raises(DatasetError, match="min is between 0 and 1"):
        run(library, art, tmp_path / "out2", [{"use": "min-quality", "min": 7}])


def _open(path: Path):
    from PIL import Image

    return Image.open(path).convert("RGB")
