"""The batch pipeline, files → catalog: tags with scores and source, embeddings, model runs,
reruns, sidecar tags left alone, per-file errors, interrupted runs keeping finished work."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from illudex.analysers.clip import ClipModel
from illudex.analysers.runner import (
    embed_images,
    load_embeddings,
    stored_result,
    tag_images,
)
from illudex.analysers.wd_tagger import TagOptions, TagResult, WDTagger
from illudex.progress import Progress
from illudex.tags.captions import CaptionOptions, format_caption
from tests.fixtures.model_env import add_image
from tests.fixtures.onnx_models import build_tagger


def _library(folder: Path, conn: sqlite3.Connection) -> list[tuple[int, str]]:
    """Red PNG, green JPEG, mostly-transparent RGBA PNG, and one broken file, catalogued."""
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (300, 280), (255, 0, 0)).save(folder / "red.png")
    Image.new("RGB", (211, 240), (0, 255, 0)).save(folder / "green.jpg", quality=95)
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (0, 0, 8, 8))
    rgba.save(folder / "clear.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    names = ["red.png", "green.jpg", "clear.png", "broken.png"]
    return [(add_image(conn, folder / n), str(folder / n)) for n in names]


def _tags(conn: sqlite3.Connection, image_id: int, source: str) -> dict[str, float | None]:
    rows = conn.execute(
        "SELECT t.name, it.score FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE it.image_id = ? AND it.source = ?", (image_id, source))
    return {name: score for name, score in rows}


def test_files_to_tags_caption_and_vector(
    tmp_path: Path, tagger_dir: Path, catalog: sqlite3.Connection
) -> None:
    images = _library(tmp_path / "pics", catalog)
    tagger = WDTagger.load(tagger_dir)
    seen: list[TagResult] = []
    ticks: list[tuple[str, int, int | None]] = []
    summary = tag_images(catalog, images, tagger, workers=1, on_result=seen.append,
                         progress=lambda p: ticks.append((p.stage, p.done, p.total)))
    assert (summary.total, summary.done, summary.skipped) == (4, 3, 0)
    assert [path for path, _ in summary.errors] == [images[3][1]]
    assert summary.errors[0][1]  # the decoder's reason, in words
    assert ticks[-1] == ("tag", 4, 4)
    assert [r.path for r in seen] == [p for _, p in images[:3]]

    source = "model:tiny-tagger"
    red_id, green_id, clear_id, _ = (i for i, _ in images)
    red = _tags(catalog, red_id, source)
    assert red["red_theme"] == pytest.approx(seen[0].general["red_theme"])
    assert red["rating:general"] == pytest.approx(seen[0].rating["general"])
    assert "saber_(fate)" in _tags(catalog, green_id, source)
    assert "white_background" in _tags(catalog, clear_id, source)
    categories = dict(catalog.execute("SELECT name, category FROM tags"))
    assert categories["saber_(fate)"] == "character"
    assert categories["rating:general"] == "rating"
    assert categories["solo"] == "general"

    runs = catalog.execute("SELECT image_id, kind FROM model_runs WHERE model = 'tiny-tagger'")
    assert sorted(tuple(r) for r in runs) == sorted((i, k) for i in (red_id, green_id, clear_id)
                                  for k in ("tags", "embedding"))
    ids, vectors = load_embeddings(catalog, "tiny-tagger")
    assert ids.tolist() == [red_id, green_id, clear_id]
    assert vectors.shape == (3, 8) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors[1], seen[1].embedding, atol=1e-7)

    green = stored_result(catalog, green_id, images[1][1], "tiny-tagger")
    assert green.to_json() == seen[1].to_json() | {"rating": {"general": green.rating["general"]}}
    caption = format_caption(green.general, green.character, CaptionOptions())
    assert caption.startswith("saber \\(fate\\), solo")
    assert "^_^" in caption.split(", ")


def test_a_rerun_skips_done_images_and_a_new_model_retags(
    tmp_path: Path, tagger_dir: Path, catalog: sqlite3.Connection
) -> None:
    images = _library(tmp_path / "pics", catalog)[:3]
    tagger = WDTagger.load(tagger_dir)
    assert tag_images(catalog, images, tagger, workers=0).done == 3
    again = tag_images(catalog, images, tagger, workers=0)
    assert (again.done, again.skipped) == (0, 3)
    other = WDTagger.load(build_tagger(tmp_path / "other-tagger", size=64))
    assert tag_images(catalog, images, other, workers=0).done == 3
    sources = {r[0] for r in catalog.execute("SELECT DISTINCT source FROM image_tags")}
    assert sources == {"model:tiny-tagger", "model:other-tagger"}


def test_a_forced_rerun_replaces_only_this_models_rows(
    tmp_path: Path, tagger_dir: Path, catalog: sqlite3.Connection
) -> None:
    images = _library(tmp_path / "pics", catalog)[:1]
    image_id = images[0][0]
    solo = catalog.execute("INSERT INTO tags (name) VALUES ('solo')").lastrowid
    mine = catalog.execute("INSERT INTO tags (name) VALUES ('my_oc')").lastrowid
    catalog.executemany(
        "INSERT INTO image_tags (image_id, tag_id, source, score) VALUES (?, ?, ?, NULL)",
        [(image_id, solo, "sidecar"), (image_id, mine, "user")],
    )
    tagger = WDTagger.load(tagger_dir)
    tag_images(catalog, images, tagger, workers=0, options=TagOptions(general_threshold=0.3))
    assert "^_^" in _tags(catalog, image_id, "model:tiny-tagger")
    tag_images(catalog, images, tagger, workers=0,
               options=TagOptions(general_threshold=0.45, rerun=True))
    model_tags = _tags(catalog, image_id, "model:tiny-tagger")
    assert "^_^" not in model_tags and "solo" in model_tags
    assert _tags(catalog, image_id, "sidecar") == {"solo": None}
    assert _tags(catalog, image_id, "user") == {"my_oc": None}


def test_an_interrupted_run_keeps_its_finished_batches(
    tmp_path: Path, tagger_dir: Path, catalog: sqlite3.Connection
) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    images = []
    for i in range(7):
        path = folder / f"{i}.png"
        Image.new("RGB", (40, 30), (i * 30, 0, 0)).save(path)
        images.append((add_image(catalog, path), str(path)))
    tagger = WDTagger.load(tagger_dir)

    def stop_after_first_batch(progress: Progress) -> None:
        if progress.done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tag_images(catalog, images, tagger, workers=1, progress=stop_after_first_batch,
                   options=TagOptions(batch_size=3))
    done = catalog.execute("SELECT COUNT(*) FROM model_runs WHERE kind = 'tags'").fetchone()[0]
    assert done == 3
    assert not catalog.in_transaction
    rest = tag_images(catalog, images, tagger, workers=0, options=TagOptions(batch_size=3))
    assert (rest.done, rest.skipped) == (4, 3)


def test_images_removed_from_the_catalog_meanwhile_are_dropped(
    tmp_path: Path, tagger_dir: Path, catalog: sqlite3.Connection
) -> None:
    images = _library(tmp_path / "pics", catalog)[:2]
    catalog.execute("DELETE FROM images WHERE id = ?", (images[0][0],))
    summary = tag_images(catalog, images, WDTagger.load(tagger_dir), workers=0)
    assert summary.done == 2
    rows = catalog.execute("SELECT DISTINCT image_id FROM image_tags").fetchall()
    assert [r[0] for r in rows] == [images[1][0]]


def test_clip_embeddings_are_stored_and_searchable(
    tmp_path: Path, clip_dir: Path, catalog: sqlite3.Connection
) -> None:
    folder = tmp_path / "colours"
    folder.mkdir()
    images = []
    for name, rgb in {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}.items():
        Image.new("RGB", (90, 70), rgb).save(folder / f"{name}.png")
        images.append((add_image(catalog, folder / f"{name}.png"), str(folder / f"{name}.png")))
    model = ClipModel.load(clip_dir)
    summary = embed_images(catalog, images, model, workers=0)
    assert summary.done == 3 and not summary.errors
    assert embed_images(catalog, images, model, workers=0).skipped == 3
    ids, vectors = load_embeddings(catalog, "tiny-clip")
    assert ids.tolist() == [i for i, _ in images]
    best = ids[int(np.argmax(vectors @ model.embed_text("green")))]
    assert best == images[1][0]
