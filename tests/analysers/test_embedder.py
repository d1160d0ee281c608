"""Any ONNX image model as an embedder: `illudex.json` + model.onnx, stored under its name,
vectors equal to what the network gives on the same preprocessed input."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from illudex.analysers.embedder import OnnxEmbedder
from illudex.analysers.embedder_config import EmbedderPreprocess, read_config
from illudex.analysers.runner import load_embeddings
from illudex.library import Library
from illudex.models.errors import ModelCorrupt

W1 = np.arange(18, dtype=np.float32).reshape(3, 6) / 10 - 0.8
W2 = (np.arange(30, dtype=np.float32).reshape(6, 5) % 7) / 3 - 1
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
ROOT = Path(__file__).resolve().parents[2]
WHEELS = Path(os.environ.get("ILLUDEX_TEST_MODELS", ROOT / ".cache" / "test-models"))


def build_net(folder: Path, config: dict[str, object], layout: str = "NCHW") -> Path:
    """input → GlobalAveragePool → Flatten → MatMul+Relu ("feat") → Gemm → Softmax."""
    folder.mkdir(parents=True)
    shape = ["N", 3, 16, 16] if layout == "NCHW" else ["N", 16, 16, 3]
    nodes = [] if layout == "NCHW" else [
        helper.make_node("Transpose", ["input"], ["nchw"], perm=[0, 3, 1, 2])]
    first = "input" if layout == "NCHW" else "nchw"
    nodes += [
        helper.make_node("GlobalAveragePool", [first], ["pooled4"]),
        helper.make_node("Flatten", ["pooled4"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "w1"], ["pre"]),
        helper.make_node("Relu", ["pre"], ["feat"]),
        helper.make_node("Gemm", ["feat", "w2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 5])],
        [numpy_helper.from_array(W1, "w1"), numpy_helper.from_array(W2, "w2")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "illudex.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def direct_feat(image: Image.Image, size: int, colours: str = "RGB") -> np.ndarray:
    """The network's "feat" by hand: squash-resize, /255, mean/std, pool, MatMul, ReLU."""
    x = np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC),
                   np.float32)
    if colours == "BGR":
        x = x[..., ::-1]
    x = (x / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.maximum(x.mean(axis=(0, 1)) @ W1, 0)


def pictures(folder: Path) -> list[Path]:
    folder.mkdir()
    out = []
    for i, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200), (90, 90, 90)]):
        im = Image.new("RGB", (40, 24), colour)
        im.paste((255, 255, 0), (0, 0, 10 + 5 * i, 12))
        out.append(folder / f"p{i}.png")
        im.save(out[-1])
    return out


CONFIG = {"kind": "embedder", "layout": "NCHW", "size": 16, "resize": "squash",
          "colours": "RGB", "scale": 255, "mean": MEAN, "std": STD, "output": "penultimate"}


@pytest.mark.parametrize("layout,colours", [("NCHW", "RGB"), ("NHWC", "BGR")])
def test_embed_stores_the_penultimate_feature(
    tmp_path: Path, library: Library, layout: str, colours: str
) -> None:
    folder = build_net(tmp_path / "my-embedder",
                       {**CONFIG, "layout": layout, "colours": colours, "normalise": False},
                       layout)
    files = pictures(tmp_path / "pics")
    library.scan([tmp_path / "pics"])
    summary = library.models.embed([tmp_path / "pics"], model=str(folder))
    assert summary.done == 4 and summary.model == "my-embedder"
    ids, vectors = load_embeddings(library.conn, "my-embedder")
    assert vectors.shape == (4, 6)
    by_path = {library.images([int(i)])[int(i)].path: v for i, v in zip(ids, vectors, strict=True)}
    for path in files:
        expected = direct_feat(Image.open(path), 16, colours)
        np.testing.assert_allclose(by_path[str(path)], expected, rtol=1e-4, atol=1e-4)


def test_named_output_normalised_by_default(tmp_path: Path) -> None:
    folder = build_net(tmp_path / "net", {**CONFIG, "output": "probs", "name": "custom"})
    embedder = OnnxEmbedder.load(folder)
    image = Image.new("RGB", (16, 16), (10, 120, 240))
    vector = embedder.embed_images([image])[0]
    logits = direct_feat(image, 16) @ W2
    probs = np.exp(logits) / np.exp(logits).sum()
    assert embedder.name == "custom"
    np.testing.assert_allclose(vector, probs / np.linalg.norm(probs), rtol=1e-4, atol=1e-5)


def test_preprocess_modes() -> None:
    wide = Image.new("RGB", (40, 20), (255, 0, 0))
    padded = EmbedderPreprocess(20, "pad")(wide)
    assert padded.shape == (20, 20, 3) and tuple(padded[0, 10]) == (255, 255, 255)
    assert tuple(padded[10, 10]) == (255, 0, 0)
    cropped = EmbedderPreprocess(10, "crop")(wide)
    assert cropped.shape == (10, 10, 3) and (cropped == [255, 0, 0]).all()


@pytest.mark.parametrize("bad,message", [
    ({"resize": "zoom"}, "'resize' is 'zoom'"), ({"kind": "tagger"}, "'kind'"),
    ({"std": [1, 0, 1]}, "std non-zero"), ({"mean": [1, 2]}, "malformed"),
    ({"output": "nope"}, "no output 'nope'"),
])
def test_bad_configs_say_which_field(tmp_path: Path, bad: dict, message: str) -> None:
    folder = build_net(tmp_path / "net", {**CONFIG, **bad})
    with pytest.raises(ModelCorrupt, match=message):
        read_config(folder)
        OnnxEmbedder.load(folder)


def test_real_resnet_embedder_matches_the_network(tmp_path: Path, library: Library) -> None:
    """Optional (the anime-or-not wheel, see tests/models/test_real_resnet.py)."""
    import onnxruntime as ort

    wheels = sorted(WHEELS.glob("anime_or_not-*.whl")) if WHEELS.is_dir() else []
    if not wheels:
        pytest.skip(f"optional real-model test: no anime_or_not wheel in {WHEELS}")
    folder = tmp_path / "resnet18"
    folder.mkdir()
    with zipfile.ZipFile(wheels[-1]) as wheel:
        name = next(n for n in wheel.namelist() if n.endswith(".onnx"))
        (folder / "model.onnx").write_bytes(wheel.read(name))
    (folder / "illudex.json").write_text(json.dumps({**CONFIG, "size": 224}), encoding="utf-8")
    files = pictures(tmp_path / "pics")
    library.scan([tmp_path / "pics"])
    library.models.embed([tmp_path / "pics"], model=str(folder))
    ids, vectors = load_embeddings(library.conn, "resnet18")
    assert vectors.shape == (4, 512)
    # Directly: the network with its pooled feature added as an output, by onnx itself.
    model = onnx.load(str(folder / "model.onnx"))
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    model.graph.output.append(helper.make_tensor_value_info(gemm.input[0], TensorProto.FLOAT,
                                                            None))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    prep = read_config(folder)
    x = prep.to_input(np.stack([prep.preprocess(Image.open(p)) for p in files]))
    feats = session.run([gemm.input[0]], {session.get_inputs()[0].name: x})[0]
    feats = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    paths = [library.images([int(i)])[int(i)].path for i in ids]
    for path, vector in zip(paths, vectors, strict=True):
        np.testing.assert_allclose(vector, feats[[str(p) for p in files].index(path)],
                                   rtol=1e-4, atol=1e-5)


def test_embed_command_with_a_model_folder(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from illudex.cli import app

    folder = build_net(tmp_path / "my-embedder", CONFIG)
    pictures(tmp_path / "pics")
    env = {"ILLUDEX_LIBRARY": str(tmp_path / "library")}
    done = CliRunner().invoke(app, ["embed", str(tmp_path / "pics"), "--model", str(folder),
                                    "--json"], env=env)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["model"] == "my-embedder"
    assert json.loads(done.stdout)["done"] == 4
