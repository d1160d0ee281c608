"""Feature matrices for clustering, read from the catalog.

Tags become a sparse image × tag presence matrix (aliases resolved to their canonical
tag, rating/meta tags left out by default), weighted by TF-IDF or kept as counts and
optionally reduced by truncated SVD. Embeddings are read per model. `build_features`
combines them as `ClusterOptions.by` asks, scaling each block so neither dominates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from illudex.catalog import embeddings as embedding_rows
from illudex.catalog import imagetags, tagrows
from illudex.catalog.images import paths_by_ids
from illudex.cluster.errors import ClusterError

_SVD_AUTO_DIMS = 64

NO_FEATURES_HINT = (
    "run `illudex tag` on them (needs the WD tagger model) or add sidecar .txt files "
    "with their tags next to the images and re-scan"
)


@dataclass(frozen=True)
class TagMatrix:
    """Tag presence per image: row i is `image_ids[i]`, column j is `tag_names[j]`."""

    image_ids: np.ndarray
    matrix: sp.csr_matrix
    tag_names: list[str]


@dataclass
class Features:
    """What the algorithms cluster: `X[i]` describes image `image_ids[i]`."""

    image_ids: np.ndarray
    X: np.ndarray | sp.csr_matrix
    tags: TagMatrix | None
    missing: list[int] = field(default_factory=list)
    no_shared_tags: list[int] = field(default_factory=list)
    info: dict[str, object] = field(default_factory=dict)


def load_paths(conn: sqlite3.Connection, image_ids: Sequence[int]) -> dict[int, str]:
    """Real filesystem path per image id (undecodable names restored from raw_path)."""
    return paths_by_ids(conn, image_ids)


def alias_targets(conn: sqlite3.Connection) -> dict[int, int]:
    """Map each tag id whose name is an alias to the id of its canonical tag (chains followed)."""
    direct = tagrows.alias_links(conn)
    resolved: dict[int, int] = {}
    for start in direct:
        seen = {start}
        target = direct[start]
        # Follow alias → alias chains; a cycle stops at the last tag not yet seen.
        while target in direct and direct[target] not in seen:
            seen.add(target)
            target = direct[target]
        resolved[start] = target
    return resolved


def load_tag_matrix(
    conn: sqlite3.Connection,
    image_ids: Sequence[int],
    exclude_categories: Sequence[str] = ("rating", "meta"),
    min_score: float | None = None,
) -> TagMatrix:
    """Binary image × tag matrix for `image_ids` (in that order), aliases resolved.

    A tag given by several sources (sidecar, model, user) counts once. Model tags scored
    below `min_score` are skipped; tags from people (score NULL) always count.
    """
    ids = np.asarray(image_ids, dtype=np.int64)
    row_of = {int(i): r for r, i in enumerate(ids)}
    found = imagetags.pairs(conn, ids, min_score)
    rows = [row_of[image_id] for image_id, _ in found]
    cols = [tag_id for _, tag_id in found]
    return _presence_matrix(conn, ids, np.asarray(rows, dtype=np.int64),
                            np.asarray(cols, dtype=np.int64), exclude_categories)


def _presence_matrix(
    conn: sqlite3.Connection,
    ids: np.ndarray,
    rows: np.ndarray,
    tag_ids: np.ndarray,
    exclude_categories: Sequence[str],
) -> TagMatrix:
    aliases = alias_targets(conn)
    if aliases and len(tag_ids):
        lookup = np.arange(max(int(tag_ids.max()), *aliases) + 1, dtype=np.int64)
        lookup[list(aliases)] = list(aliases.values())
        tag_ids = lookup[tag_ids]
    names = tagrows.names_and_categories(conn)
    used = np.unique(tag_ids)
    excluded = set(exclude_categories)
    kept = np.array([t for t in used if names[int(t)][1] not in excluded], dtype=np.int64)
    keep_mask = np.isin(tag_ids, kept)
    col = np.searchsorted(kept, tag_ids[keep_mask])
    matrix = sp.csr_matrix(
        (np.ones(len(col), np.float32), (rows[keep_mask], col)), shape=(len(ids), len(kept))
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # several sources or merged aliases: still one presence
    return TagMatrix(ids, matrix, [names[int(t)][0] for t in kept])


def embedding_models(conn: sqlite3.Connection) -> list[tuple[str, int]]:
    """(model, number of images) for every model with stored embeddings, most used first."""
    return embedding_rows.models(conn)


def load_embeddings(
    conn: sqlite3.Connection, image_ids: Sequence[int], model: str | None = None
) -> tuple[np.ndarray, np.ndarray, str]:
    """(ids that have one, float32 matrix, model name) for `model` (default: the most used)."""
    models = embedding_models(conn)
    if not models:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.float32), model or ""
    if model is None:
        model = models[0][0]
    elif model not in dict(models):
        known = ", ".join(m for m, _ in models)
        raise ClusterError(f"no embeddings from model {model!r} in this catalog (it has: {known})")
    try:
        ids, matrix = embedding_rows.load(conn, model, image_ids)
    except embedding_rows.EmbeddingError as e:
        raise ClusterError(f"embeddings of model {model!r} have mixed sizes {e.dims}: "
                           "re-run that model") from e
    return ids, matrix, model


def tag_features(
    tags: TagMatrix, tfidf: bool, svd_components: int | str | None, seed: int, min_df: int = 2
) -> tuple[np.ndarray, np.ndarray | sp.csr_matrix, dict[str, object]]:
    """(row indices into `tags` that have shared tags, their feature rows, info).

    Tags on fewer than `min_df` images cannot bring two images together, so they are
    dropped; rows left empty have nothing in common with any other image.
    """
    counts = tags.matrix
    df = np.asarray(counts.sum(axis=0)).ravel()
    shared = np.flatnonzero(df >= min_df)
    X = counts[:, shared].tocsr()
    rows = np.flatnonzero(X.getnnz(axis=1) > 0)
    X = X[rows]
    weighted = TfidfTransformer(norm="l2").fit_transform(X) if tfidf else normalize(X)
    X = weighted.astype(np.float32)
    dims = _svd_dims(svd_components, X.shape)
    if dims:
        X = reduce_dims(X, dims, seed)
    info = {"tags": int(counts.shape[1]), "shared_tags": len(shared), "svd": dims or None}
    return rows, X, info


def _svd_dims(svd_components: int | str | None, shape: tuple[int, int]) -> int:
    n_rows, n_cols = shape
    limit = min(n_rows, n_cols) - 1
    if svd_components is None or svd_components == 0 or limit < 2:
        return 0
    if svd_components == "auto":
        return min(_SVD_AUTO_DIMS, limit) if n_cols > _SVD_AUTO_DIMS else 0
    return min(int(svd_components), limit)


def reduce_dims(X: np.ndarray | sp.csr_matrix, dims: int, seed: int) -> np.ndarray:
    """Truncated SVD to `dims`, rows re-normalised (LSA: cosine geometry kept)."""
    svd = TruncatedSVD(n_components=dims, algorithm="randomized", n_iter=5, random_state=seed)
    return normalize(svd.fit_transform(X)).astype(np.float32)


def embedding_features(
    vectors: np.ndarray, svd_components: int | str | None, seed: int
) -> np.ndarray:
    """Embeddings L2-normalised (cosine geometry), optionally reduced."""
    X = normalize(vectors.astype(np.float32))
    dims = _svd_dims(svd_components, X.shape) if svd_components != "auto" else 0
    return reduce_dims(X - X.mean(axis=0), dims, seed) if dims else X


def balance_blocks(
    blocks: Sequence[np.ndarray],
    weights: Sequence[float],
    positions: Sequence[np.ndarray],
    n_rows: int,
) -> np.ndarray:
    """Blocks side by side, each centred and scaled to total variance = its weight.

    Distances then draw on each block in proportion to its weight, whatever its
    dimension or spread (embeddings are often all alike; tags much less so). Block b
    fills rows `positions[b]`; rows it lacks get its mean (zero after centring), so an
    image with only one kind of feature is placed by that kind alone.
    """
    parts = []
    for block, weight, rows in zip(blocks, weights, positions, strict=True):
        centred = block - block.mean(axis=0)
        spread = float(np.sqrt(np.mean(np.sum(centred * centred, axis=1)))) or 1.0
        part = np.zeros((n_rows, block.shape[1]), np.float32)
        part[rows] = centred * (np.sqrt(weight) / spread)
        parts.append(part)
    return np.hstack(parts)
