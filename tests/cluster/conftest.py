"""Fixtures for clustering tests: real catalogs in tmp_path with tagged images."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from illudex.catalog.db import connect

# Three "characters": the tags that set each apart, and how many images each has.
CHARACTERS = {
    "miku": ["aqua_hair", "twintails", "vocaloid", "necktie"],
    "reimu": ["black_hair", "hair_bow", "touhou", "miko"],
    "saber": ["blonde_hair", "armor", "fate/stay_night", "green_eyes"],
}
GENERAL = ["1girl", "solo", "smile", "looking_at_viewer", "blush", "open_mouth", "sky",
           "standing", "sitting", "outdoors", "simple_background", "upper_body"]


class Catalog:
    """A real catalog with helpers to add images, tags, aliases and embeddings."""

    def __init__(self, root: Path):
        self.root = root
        self.conn: sqlite3.Connection = connect(root / "catalog.db")

    def tag_id(self, name: str, category: str = "general") -> int:
        self.conn.execute("INSERT OR IGNORE INTO tags(name, category) VALUES (?, ?)",
                          (name, category))
        return int(self.conn.execute("SELECT id FROM tags WHERE name = ?", (name,)).fetchone()[0])

    def add_image(self, name: str, tags: Sequence[str] = (), source: str = "sidecar",
                  score: float | None = None) -> int:
        path = self.root / "pictures" / name
        cur = self.conn.execute(
            "INSERT INTO images(path, size, mtime_ns, digest, added_at, scanned_at) "
            "VALUES (?, 1, 0, ?, 0, 0)", (str(path), name))
        image_id = int(cur.lastrowid)
        for tag in tags:
            self.conn.execute(
                "INSERT OR IGNORE INTO image_tags(image_id, tag_id, source, score) "
                "VALUES (?, ?, ?, ?)", (image_id, self.tag_id(tag), source, score))
        return image_id

    def alias(self, alias: str, canonical: str) -> None:
        self.conn.execute("INSERT INTO tag_aliases(alias, tag_id) VALUES (?, ?)",
                          (alias, self.tag_id(canonical)))

    def embed(self, image_id: int, vector: np.ndarray, model: str = "wd-test") -> None:
        blob = np.asarray(vector, dtype="<f4").tobytes()
        self.conn.execute("INSERT INTO embeddings(image_id, model, dim, vector) "
                          "VALUES (?, ?, ?, ?)", (image_id, model, len(vector), blob))

    def add_characters(self, per_character: int = 12, seed: int = 0,
                       dropout: float = 0.2) -> dict[str, list[int]]:
        """Images of the three characters: their core tags (some dropped) + random general."""
        rng = np.random.default_rng(seed)
        groups: dict[str, list[int]] = {}
        for who, core in CHARACTERS.items():
            for i in range(per_character):
                kept = [t for t in core if rng.random() > dropout] or core[:1]
                general = list(rng.choice(GENERAL, size=4, replace=False))
                groups.setdefault(who, []).append(
                    self.add_image(f"{who}_{i:02d}.png", [*kept, *general]))
        return groups


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[Catalog]:
    cat = Catalog(tmp_path)
    yield cat
    cat.conn.close()
