"""Reading tag matrices and embeddings from a real catalog; building feature rows."""

from __future__ import annotations

import os

import numpy as np
import pytest

from illudex.cluster import ClusterError
from illudex.cluster.features import (
    alias_targets,
    balance_blocks,
    load_embeddings,
    load_paths,
    load_tag_matrix,
    tag_features,
)

from .conftest import Catalog


def _tags_of(matrix, row: int) -> set[str]:
    cols = matrix.matrix[row].indices
    return {matrix.tag_names[c] for c in cols}


def test_aliases_resolve_to_canonical_tags_through_chains(catalog: Catalog) -> None:
    catalog.alias("kancolle", "kantai_collection")
    catalog.tag_id("kantai_collection")
    # kc -> kancolle -> kantai_collection: both alias spellings end at the canonical tag.
    catalog.conn.execute("INSERT INTO tag_aliases(alias, tag_id) VALUES ('kc', ?)",
                         (catalog.tag_id("kancolle"),))
    a = catalog.add_image("a.png", ["kancolle", "smile"])
    b = catalog.add_image("b.png", ["kc"])
    c = catalog.add_image("c.png", ["kantai_collection"])
    assert set(alias_targets(catalog.conn).values()) == {catalog.tag_id("kantai_collection")}
    tags = load_tag_matrix(catalog.conn, [a, b, c])
    assert [_tags_of(tags, r) for r in range(3)] == [
        {"kantai_collection", "smile"}, {"kantai_collection"}, {"kantai_collection"}]
    assert "kancolle" not in tags.tag_names and "kc" not in tags.tag_names


def test_sources_count_once_and_categories_and_scores_filter(catalog: Catalog) -> None:
    image = catalog.add_image("a.png", ["smile"], source="sidecar")
    catalog.conn.execute("INSERT INTO image_tags VALUES (?, ?, 'model:wd', 0.9)",
                         (image, catalog.tag_id("smile")))
    catalog.conn.execute("INSERT INTO image_tags VALUES (?, ?, 'model:wd', 0.2)",
                         (image, catalog.tag_id("sky")))
    catalog.conn.execute("INSERT INTO image_tags VALUES (?, ?, 'model:wd', 0.99)",
                         (image, catalog.tag_id("general", category="rating")))
    tags = load_tag_matrix(catalog.conn, [image])
    assert tags.matrix.data.tolist() == [1.0, 1.0]  # smile once, sky; rating left out
    assert _tags_of(tags, 0) == {"smile", "sky"}
    assert _tags_of(load_tag_matrix(catalog.conn, [image], min_score=0.5), 0) == {"smile"}
    assert "general" in load_tag_matrix(catalog.conn, [image], exclude_categories=()).tag_names


def test_rows_follow_the_given_order_across_query_chunks(catalog: Catalog) -> None:
    ids = [catalog.add_image(f"{i}.png", [f"t{i % 7}"]) for i in range(2000)]
    order = list(reversed(ids))
    tags = load_tag_matrix(catalog.conn, order)
    assert tags.image_ids.tolist() == order
    assert _tags_of(tags, 0) == {f"t{1999 % 7}"}
    paths = load_paths(catalog.conn, order)
    assert len(paths) == 2000 and paths[ids[5]].endswith("5.png")


def test_undecodable_file_names_come_back_as_real_paths(catalog: Catalog) -> None:
    raw = b"/pics/\xff\xfe.png"
    cur = catalog.conn.execute(
        "INSERT INTO images(path, raw_path, size, mtime_ns, digest, added_at, scanned_at) "
        "VALUES ('/pics/\\xff\\xfe.png', ?, 1, 0, 'd', 0, 0)", (raw,))
    path = load_paths(catalog.conn, [cur.lastrowid])[cur.lastrowid]
    assert os.fsencode(path) == raw


def test_tag_features_drop_unshared_tags_and_empty_rows(catalog: Catalog) -> None:
    ids = [catalog.add_image("a.png", ["smile", "only_a"]),
           catalog.add_image("b.png", ["smile", "sky"]),
           catalog.add_image("c.png", ["only_c"])]
    tags = load_tag_matrix(catalog.conn, ids)
    rows, X, info = tag_features(tags, tfidf=True, svd_components=None, seed=0)
    assert rows.tolist() == [0, 1]  # c shares nothing
    assert info["tags"] == 4 and info["shared_tags"] == 1
    assert np.allclose(np.sqrt(X.multiply(X).sum(axis=1)), 1.0)


def test_svd_reduces_and_keeps_rows_unit_length(catalog: Catalog) -> None:
    catalog.add_characters(per_character=30)
    ids = [r[0] for r in catalog.conn.execute("SELECT id FROM images")]
    tags = load_tag_matrix(catalog.conn, ids)
    _, X, info = tag_features(tags, tfidf=False, svd_components=5, seed=0)
    assert X.shape == (90, 5) and info["svd"] == 5
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)


def test_embeddings_by_model_with_clear_errors(catalog: Catalog) -> None:
    a, b, c = (catalog.add_image(f"{n}.png") for n in "abc")
    catalog.embed(a, np.array([1.0, 0.0, 0.0]))
    catalog.embed(c, np.array([0.0, 2.0, 0.0]))
    catalog.embed(a, np.array([1.0, 1.0]), model="clip")
    ids, vectors, model = load_embeddings(catalog.conn, [c, b, a])
    assert model == "wd-test" and ids.tolist() == [a, c]  # the most used model
    assert vectors.dtype == np.float32 and vectors[1].tolist() == [0.0, 2.0, 0.0]
    with pytest.raises(ClusterError, match=r"no embeddings from model 'nope'.*clip"):
        load_embeddings(catalog.conn, [a], "nope")
    catalog.embed(b, np.array([1.0, 1.0, 1.0, 1.0]), model="clip")
    with pytest.raises(ClusterError, match="mixed sizes"):
        load_embeddings(catalog.conn, [a, b], "clip")


def test_balance_blocks_gives_each_block_its_weight_of_variance() -> None:
    rng = np.random.default_rng(0)
    big = rng.normal(scale=100.0, size=(50, 3))
    small = rng.normal(scale=0.01, size=(40, 20))
    X = balance_blocks([big, small], [1.0, 3.0], [np.arange(50), np.arange(10, 50)], 50)
    def variance(block: np.ndarray) -> float:
        return float(np.mean(np.sum(block**2, axis=1)))

    assert variance(X[:, :3]) == pytest.approx(1.0, rel=1e-4)
    assert variance(X[10:, 3:]) == pytest.approx(3.0, rel=1e-4)
    assert not X[:10, 3:].any()  # rows without the block sit at its mean
