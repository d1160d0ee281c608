"""Editing ONNX graphs: expose the input of a classifier's last layer as a second output.

A tagger's final layer is MatMul/Gemm (+ bias) → Sigmoid; its input is the pooled image
feature, a learned embedding. Adding that tensor to the graph outputs gives tags and
embedding from one run. The edited model is written once to illudex's cache, keyed by the
original file's path, size and mtime, and reused after that.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import onnx
from onnx import helper

from illudex.models.cache import cache_dir
from illudex.models.errors import ModelCorrupt

# Nodes between the classifier layer and the output that keep the layer's meaning.
_PASS_THROUGH = {"Sigmoid", "Softmax", "Identity", "Cast", "Reshape", "Flatten", "Squeeze"}
_CLASSIFIERS = {"MatMul", "Gemm"}
_EXTERNAL_DATA_LIMIT = 1_800_000_000  # protobuf cannot serialise 2 GiB in one message


def with_embedding_output(model_path: str | Path) -> tuple[Path, str | None]:
    """(model to load, embedding output name); (original, None) where no classifier is found."""
    model_path = Path(model_path).resolve()
    stat = model_path.stat()
    key = hashlib.sha1(f"{model_path}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    folder = cache_dir() / "exposed"
    target = folder / f"{model_path.stem}-{key[:16]}.onnx"
    marker = target.with_suffix(".none")
    if marker.exists():
        return model_path, None
    if target.exists():
        return target, _second_output(target)
    model = load_model(model_path)
    name = find_embedding_tensor(model.graph)
    folder.mkdir(parents=True, exist_ok=True)
    if name is None:
        marker.write_text("no MatMul/Gemm classifier found before the output\n")
        return model_path, None
    if name not in {o.name for o in model.graph.output}:
        model.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    _save_atomically(model, target)
    return target, name


def load_model(path: Path) -> onnx.ModelProto:
    """`onnx.load` with a readable error for files that are not ONNX models."""
    try:
        return onnx.load(str(path))
    except Exception as e:  # protobuf DecodeError, truncated external data ...
        raise ModelCorrupt(
            f"model file {str(path)!r} is not a readable ONNX model ({type(e).__name__}: "
            f"{str(e)[:200]}). It may be a truncated download: delete it and download it "
            "again (`illudex models download NAME`), or point to a good copy."
        ) from e


def find_embedding_tensor(graph: onnx.GraphProto) -> str | None:
    """The input tensor of the last MatMul/Gemm feeding the first graph output, or None."""
    producers = {out: node for node in graph.node for out in node.output}
    constants = {i.name for i in graph.initializer} | {
        n.output[0] for n in graph.node if n.op_type == "Constant"
    }
    name = graph.output[0].name
    for _ in range(16):  # a short walk: the classifier sits right before the output
        node = producers.get(name)
        if node is None:
            return None
        if node.op_type in _CLASSIFIERS:
            features = [i for i in node.input[:2] if i not in constants]
            return features[0] if features else None
        if node.op_type == "Add":  # the bias of MatMul + Add
            others = [i for i in node.input if i not in constants]
            if len(others) != 1:
                return None
            name = others[0]
        elif node.op_type in _PASS_THROUGH:
            name = node.input[0]
        else:
            return None
    return None


def _second_output(path: Path) -> str | None:
    model = onnx.load(str(path), load_external_data=False)
    return model.graph.output[1].name if len(model.graph.output) > 1 else None


def _save_atomically(model: onnx.ModelProto, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    external = model.ByteSize() > _EXTERNAL_DATA_LIMIT
    if external:
        data_name = target.name + ".data"
        onnx.save_model(model, str(tmp), save_as_external_data=True, location=data_name)
    else:
        onnx.save_model(model, str(tmp))
    os.replace(tmp, target)
