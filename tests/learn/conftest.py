"""A real library of drawn pictures whose stored embeddings encode a known concept."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from illudex.catalog import embeddings  # the writer every embedder uses
from illudex.library import Library

MODEL = "test-embedder"
DIM = 16


@dataclass
class Corpus:
    lib: Library
    folder: Path
    cats: list[int]  # pictures of the concept
    others: list[int]

    def path(self, image_id: int) -> str:
        return self.lib.images([image_id])[image_id].path


def store_vectors(lib: Library, model: str, vectors: dict[int, np.ndarray]) -> None:
    with lib.conn:
        embeddings.store(lib.conn, model, list(vectors.items()))


@pytest.fixture
def corpus(tmp_path: Path) -> Iterator[Corpus]:
    """60 scanned pictures: 10 "cats" whose vectors lean one way, 50 others; noisy."""
    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(60):
        Image.new("RGB", (24, 16), (i * 4, 100, 250 - i * 4)).save(folder / f"p{i:02d}.png")
    lib = Library.open(tmp_path / "library")
    lib.workers = 1
    lib.scan([folder])
    ids = lib.image_ids([folder])
    rng = np.random.default_rng(7)
    concept = rng.normal(size=DIM)
    vectors = {}
    for n, image_id in enumerate(ids):
        v = rng.normal(size=DIM) * 0.6 + (concept if n < 10 else -concept)
        vectors[image_id] = (v / np.linalg.norm(v)).astype(np.float32)
    store_vectors(lib, MODEL, vectors)
    yield Corpus(lib, folder, ids[:10], ids[10:])
    lib.close()
