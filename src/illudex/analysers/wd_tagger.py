"""The WD tagger (SmilingWolf): booru tags, ratings and an image embedding from one run.

Interface of the models (README, `illudex tag`): one NHWC float32 input of BGR values 0..255,
one output of sigmoid scores in the order of `selected_tags.csv`. The input of the final
classifier layer is exposed as a second output (see `illudex.models.graph`) and returned,
L2-normalised, as the embedding.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from illudex.analysers.preprocess import DEFAULT_SIZE, WDPreprocess
from illudex.models import hub
from illudex.models.errors import ModelCorrupt, ModelMismatch
from illudex.models.graph import with_embedding_output
from illudex.models.registry import DEFAULT_TAGGER, ModelSpec, resolve
from illudex.models.sessions import get_session, uses_gpu

# selected_tags.csv category numbers → the catalog's tag categories
CATEGORY_NAMES = {0: "general", 1: "artist", 3: "copyright", 4: "character", 5: "meta", 9: "rating"}
RATING_PREFIX = "rating:"


@dataclass(frozen=True)
class TagList:
    """The rows of selected_tags.csv: names and category numbers, in output order."""

    names: tuple[str, ...]
    categories: np.ndarray  # int, one per name

    def __len__(self) -> int:
        return len(self.names)

    def indexes(self, category: int) -> np.ndarray:
        return np.flatnonzero(self.categories == category)


def load_tag_list(path: str | Path) -> TagList:
    """Read selected_tags.csv (`tag_id,name,category,count`); `ModelCorrupt` if malformed."""
    path = Path(path)
    names: list[str] = []
    categories: list[int] = []
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"name", "category"} <= set(reader.fieldnames):
                raise ValueError(f"header is {reader.fieldnames}, expected name and category")
            for row in reader:
                names.append(row["name"])
                categories.append(int(row["category"]))
    except (OSError, ValueError, UnicodeDecodeError, csv.Error) as e:
        raise ModelCorrupt(
            f"tag list {str(path)!r} cannot be read ({e}): it should be the model's "
            "selected_tags.csv; download the model again or put the right file there"
        ) from e
    if not names:
        raise ModelCorrupt(f"tag list {str(path)!r} holds no tags")
    return TagList(tuple(names), np.asarray(categories, dtype=np.int16))


@dataclass(frozen=True)
class TagOptions:
    """How scores become kept tags. A tag is kept where score > threshold."""

    general_threshold: float = 0.35
    character_threshold: float = 0.85
    general_mcut: bool = False  # MCut picks the threshold per image
    character_mcut: bool = False
    batch_size: int | None = None  # None: 1 on CPU, 32 on GPU (a fixed-batch model wins)
    store_embeddings: bool = True
    rerun: bool = False  # re-tag images this model has already tagged


def mcut_threshold(scores: np.ndarray) -> float:
    """Maximum Cut Thresholding: the midpoint of the largest gap between sorted scores."""
    if scores.size < 2:
        return float(scores[0]) if scores.size else 1.0
    ordered = np.sort(scores)[::-1]
    gaps = ordered[:-1] - ordered[1:]
    t = int(np.argmax(gaps))
    return float((ordered[t] + ordered[t + 1]) / 2)


@dataclass
class TagResult:
    """The kept tags of one image, with scores, highest first; `to_json()` for `--json`."""

    path: str
    rating: dict[str, float] = field(default_factory=dict)
    general: dict[str, float] = field(default_factory=dict)
    character: dict[str, float] = field(default_factory=dict)
    embedding: np.ndarray | None = None  # L2-normalised, not serialised

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "rating": self.rating, "general": self.general,
            "character": self.character,
        }

    @property
    def top_rating(self) -> str | None:
        return max(self.rating, key=self.rating.__getitem__) if self.rating else None


class WDTagger:
    """A loaded WD tagger: `tag(images)` → `TagResult`s; `predict(batch)` → raw arrays."""

    def __init__(
        self, spec: ModelSpec, model_path: Path, tags: TagList, *, device: str = "auto",
        threads: int | None = None, embeddings: bool = True,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.tags = tags
        self.embedding_output: str | None = None
        path = model_path
        if embeddings:
            path, self.embedding_output = with_embedding_output(model_path)
        self.session = get_session(path, device=device, threads=threads)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.channels_first = len(inp.shape) == 4 and inp.shape[1] == 3 and inp.shape[3] != 3
        spatial = inp.shape[2] if self.channels_first else inp.shape[1]
        self.size = spatial if isinstance(spatial, int) and spatial > 0 else DEFAULT_SIZE
        batch = inp.shape[0] if inp.shape else None
        self.fixed_batch: int | None = batch if isinstance(batch, int) and batch > 0 else None
        self.output_name = self.session.get_outputs()[0].name
        self._check_width(self.session.get_outputs()[0].shape)
        self.preprocess = WDPreprocess(self.size)

    @classmethod
    def load(
        cls, name_or_path: str | Path = DEFAULT_TAGGER, *, device: str = "auto",
        threads: int | None = None, embeddings: bool = True, allow_download: bool = True,
    ) -> WDTagger:
        """Resolve, fetch if needed (progress shown), load a WD-layout tagger; errors are
        `ModelError`s. `illudex.analysers.taggers.load_tagger` also knows DeepDanbooru."""
        spec = resolve(name_or_path, kind="tagger")
        where = hub.ensure(spec, allow_download=allow_download)
        return cls.from_files(spec, where, device=device, threads=threads,
                              embeddings=embeddings)

    @classmethod
    def from_files(
        cls, spec: ModelSpec, where: Path, *, device: str = "auto",
        threads: int | None = None, embeddings: bool = True,
    ) -> WDTagger:
        """A tagger from its fetched files: a folder, or its model.onnx file."""
        if where.is_file():
            model_path, csv_path = where, where.with_name("selected_tags.csv")
        else:
            model_path, csv_path = where / "model.onnx", where / "selected_tags.csv"
        for needed in (model_path, csv_path):
            if not needed.exists():
                raise ModelCorrupt(
                    f"tagger {spec.name!r}: {str(needed)!r} is missing; a tagger needs "
                    "model.onnx and selected_tags.csv side by side"
                )
        tags = load_tag_list(csv_path)
        return cls(spec, model_path, tags, device=device, threads=threads, embeddings=embeddings)

    @property
    def default_batch(self) -> int:
        # CPU: one picture per run. A ViT-B/16 at 448 px ran 0.19 / 0.16 / 0.13 img/s at
        # batch 1 / 4 / 8 on 2 cores (bench/tagger_speed.py --sweep): bigger batches only
        # cost cache. GPUs want big batches.
        return self.fixed_batch or (32 if uses_gpu(self.session) else 1)

    def predict(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """uint8/float BGR NHWC batch → (scores [N, n_tags], embeddings [N, D] or None)."""
        x = batch.astype(np.float32, copy=False)
        if self.channels_first:
            x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        outputs = [self.output_name] + ([self.embedding_output] if self.embedding_output else [])
        step = self.fixed_batch or len(x)
        scores, feats = [], []
        for start in range(0, len(x), step):
            chunk = x[start : start + step]
            n = len(chunk)
            if self.fixed_batch and n < self.fixed_batch:  # pad a fixed batch, drop the padding
                pad = np.zeros((self.fixed_batch - n, *chunk.shape[1:]), np.float32)
                chunk = np.concatenate([chunk, pad])
            result = self.session.run(outputs, {self.input_name: chunk})
            scores.append(np.asarray(result[0])[:n])
            if self.embedding_output:
                feats.append(np.asarray(result[1]).reshape(len(chunk), -1)[:n])
        out = np.concatenate(scores).astype(np.float32, copy=False)
        self._check_width(out.shape)
        return out, (l2_normalise(np.concatenate(feats)) if feats else None)

    def tag(
        self, images: Sequence[Image.Image], paths: Sequence[str] | None = None,
        options: TagOptions | None = None,
    ) -> list[TagResult]:
        """Tag already-decoded pictures (RGB, alpha on white); batched as the model allows."""
        options = options or TagOptions()
        paths = paths or [""] * len(images)
        size = options.batch_size or self.default_batch
        out: list[TagResult] = []
        for start in range(0, len(images), size):
            batch = np.stack([self.preprocess(im) for im in images[start : start + size]])
            scores, feats = self.predict(batch)
            out += self.results(scores, feats, paths[start : start + size], options)
        return out

    def results(
        self, scores: np.ndarray, feats: np.ndarray | None, paths: Sequence[str],
        options: TagOptions,
    ) -> list[TagResult]:
        return [
            self.result(scores[i], None if feats is None else feats[i], paths[i], options)
            for i in range(len(paths))
        ]

    def result(
        self, scores: np.ndarray, feat: np.ndarray | None, path: str, options: TagOptions
    ) -> TagResult:
        """Scores of one image → its kept tags (thresholds or MCut), highest first."""
        ratings = self.tags.indexes(9)
        general = np.flatnonzero(~np.isin(self.tags.categories, (4, 9)))
        character = self.tags.indexes(4)
        g_thr = mcut_threshold(scores[general]) if options.general_mcut \
            else options.general_threshold
        c_thr = max(0.15, mcut_threshold(scores[character])) if options.character_mcut \
            else options.character_threshold
        return TagResult(
            path=path,
            rating={self.tags.names[i]: round(float(scores[i]), 4) for i in ratings},
            general=self._kept(scores, general, g_thr),
            character=self._kept(scores, character, c_thr),
            embedding=feat,
        )

    def _kept(self, scores: np.ndarray, idx: np.ndarray, threshold: float) -> dict[str, float]:
        chosen = idx[scores[idx] > threshold]
        chosen = chosen[np.argsort(-scores[chosen], kind="stable")]
        return {self.tags.names[i]: round(float(scores[i]), 4) for i in chosen}

    def category_of(self, name: str) -> str:
        return CATEGORY_NAMES.get(int(self.tags.categories[self._index()[name]]), "general")

    def _index(self) -> dict[str, int]:
        if not hasattr(self, "_name_index"):
            self._name_index = {n: i for i, n in enumerate(self.tags.names)}
        return self._name_index

    def _check_width(self, shape: Sequence[Any]) -> None:
        width = shape[-1] if len(shape) >= 2 else None
        if isinstance(width, int) and width != len(self.tags):
            raise ModelMismatch(
                f"tagger {self.name!r}: the model gives {width} scores per image but its "
                f"selected_tags.csv lists {len(self.tags)} tags: the two files come from "
                "different models; download the model again or put the matching csv there"
            )


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)
