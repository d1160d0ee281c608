"""DeepDanbooru taggers: a project folder (model.onnx, tags.txt, category files) tags and
embeds through the same path as a WD tagger, on a tiny ONNX model of the real layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from illudex.analysers.deepdanbooru import DeepDanbooruPreprocess, DeepDanbooruTagger
from illudex.analysers.runner import load_embeddings
from illudex.analysers.taggers import load_tagger
from illudex.library import Library
from illudex.models.errors import ModelCorrupt

SIZE = 32  # the real models take 512²; the size is read from the model's input
TAGS = ["1girl", "red_theme", "hatsune_miku", "rating:safe", "rating:questionable",
        "rating:explicit"]
# Logits on the mean R, G, B (0..1) of the picture.
W = np.array([[0, 0, 0], [10, -5, -5], [-5, 10, -5], [0, 0, 0], [0, 0, 0], [0, 0, 0]],
             np.float32).T
B = np.array([2, -3, -1, 1, -1, -3], np.float32)


def build_dd(folder: Path) -> Path:
    folder.mkdir()
    nodes = [
        helper.make_node("Transpose", ["input_1"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("GlobalAveragePool", ["nchw"], ["pooled4"]),
        helper.make_node("Flatten", ["pooled4"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w"], ["mm"]),
        helper.make_node("Add", ["mm", "b"], ["logits"]),
        helper.make_node("Sigmoid", ["logits"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes, "dd", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT,
                                                    ["N", SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", len(TAGS)])],
        [numpy_helper.from_array(W, "w"), numpy_helper.from_array(B, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "tags.txt").write_text("\n".join(TAGS) + "\n", encoding="utf-8")
    (folder / "tags-character.txt").write_text("hatsune_miku\n", encoding="utf-8")
    (folder / "tags-general.txt").write_text("1girl\nred_theme\n", encoding="utf-8")
    return folder


def sigmoid(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def test_tags_ratings_and_embedding_through_the_library(tmp_path: Path,
                                                         library: Library) -> None:
    dd = build_dd(tmp_path / "my-deepdanbooru")
    pics = tmp_path / "pics"
    pics.mkdir()
    Image.new("RGB", (40, 20), (255, 0, 0)).save(pics / "red.png")
    Image.new("RGB", (20, 20), (0, 255, 0)).save(pics / "green.png")
    library.scan([pics])
    summary = library.models.tag([pics], model=str(dd))
    assert summary.done == 2 and summary.model == "my-deepdanbooru"
    red = {(t.name, t.category, t.source): t.score
           for t in library.tags.of_image(library.image_at(pics / "red.png").id)}
    source = "model:my-deepdanbooru"
    assert red[("red_theme", "general", source)] == pytest.approx(sigmoid(7), abs=1e-3)
    assert red[("rating:safe", "rating", source)] == pytest.approx(sigmoid(1), abs=1e-3)
    green = {(t.name, t.category) for t in library.tags.of_image(library.image_at(
        pics / "green.png").id)}
    assert ("hatsune_miku", "character") in green  # sigmoid(4) = 0.98 > 0.85: kept
    ids, vectors = load_embeddings(library.conn, "my-deepdanbooru")
    assert vectors.shape == (2, 3)
    by_id = dict(zip(ids.tolist(), vectors, strict=True))
    # A red picture padded by repeating its (red) edges: pooled RGB (1, 0, 0).
    np.testing.assert_allclose(by_id[library.image_at(pics / "red.png").id], [1, 0, 0],
                               atol=1e-4)


def test_loaded_by_the_tagger_loader(tmp_path: Path) -> None:
    tagger = load_tagger(build_dd(tmp_path / "dd"))
    assert isinstance(tagger, DeepDanbooruTagger) and tagger.size == SIZE
    assert tagger.tags.names[3:] == ("safe", "questionable", "explicit")
    assert tagger.category_of("hatsune_miku") == "character"


def test_preprocess_keeps_aspect_and_repeats_edges() -> None:
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 40, 6))  # a red top band
    x = DeepDanbooruPreprocess(32)(im)
    assert x.shape == (32, 32, 3)
    assert tuple(x[0, 16]) == (255, 0, 0)  # the top edge repeated upwards
    assert tuple(x[-1, 16]) == (0, 0, 255)


def test_missing_tags_file_is_clear(tmp_path: Path) -> None:
    folder = build_dd(tmp_path / "dd")
    (folder / "tags.txt").write_text("", encoding="utf-8")
    with pytest.raises(ModelCorrupt, match="holds no tags"):
        load_tagger(folder)
