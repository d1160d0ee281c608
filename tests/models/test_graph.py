"""Exposing the classifier's input as a second output: found, cached, really computed."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from illudex.models.errors import ModelCorrupt
from illudex.models.graph import find_embedding_tensor, with_embedding_output
from tests.fixtures.onnx_models import build_tagger, tiny_features


@pytest.mark.parametrize("gemm", [False, True])
def test_the_classifier_input_is_found_and_exposed(tmp_path: Path, gemm: bool) -> None:
    folder = build_tagger(tmp_path / "t", size=16, gemm=gemm)
    assert find_embedding_tensor(onnx.load(str(folder / "model.onnx")).graph) == "features"
    exposed, name = with_embedding_output(folder / "model.onnx")
    assert name == "features"
    assert exposed.parent == tmp_path / "illudex-cache" / "exposed"
    session = ort.InferenceSession(str(exposed), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["predictions_sigmoid", "features"]
    x = np.zeros((2, 16, 16, 3), np.float32)
    x[0, ..., 2] = 255.0  # red (BGR)
    x[1] = 255.0
    scores, feats = session.run(None, {"input": x})
    assert scores.shape == (2, 12)
    means = x.mean(axis=(1, 2)) / 255.0
    np.testing.assert_allclose(feats, tiny_features(means), atol=1e-6)


def test_the_exposed_model_is_made_once_and_reused(tmp_path: Path) -> None:
    model = build_tagger(tmp_path / "t", size=16) / "model.onnx"
    exposed, _ = with_embedding_output(model)
    made = exposed.stat().st_mtime_ns
    again, name = with_embedding_output(model)
    assert (again, name) == (exposed, "features")
    assert again.stat().st_mtime_ns == made
    os.utime(model, ns=(made + 10**9, made + 10**9))  # the model changed: a new copy
    newer, _ = with_embedding_output(model)
    assert newer != exposed and newer.exists()


def test_a_model_without_a_classifier_is_left_alone(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])], "no_classifier",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    assert with_embedding_output(path) == (path.resolve(), None)
    assert with_embedding_output(path) == (path.resolve(), None)  # the marker answers


def test_flatten_gemm_softmax_head_like_a_resnet() -> None:
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["x"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["flat"]),
            helper.make_node("Gemm", ["flat", "w", "b"], ["logits"], transB=1),
            helper.make_node("Softmax", ["logits"], ["probs"]),
        ],
        "resnet_head",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 2, 2])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(np.ones((3, 4), np.float32), "w"),
         numpy_helper.from_array(np.zeros(3, np.float32), "b")],
    )
    assert find_embedding_tensor(graph) == "flat"


def test_garbage_model_bytes_are_reported_as_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "model.onnx"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))  # fixed: never a valid proto
    with pytest.raises(ModelCorrupt, match="not a readable ONNX model"):
        with_embedding_output(bad)
