"""`cluster_images`: catalog rows in, a labelled `ClusterResult` out.

Steps: check options → read features → check sizes → fit (choosing k when asked) →
number clusters by size → name them by their distinguishing tags → score → map.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from illudex.cluster.algorithms import METHODS, check_size, fit_density, make_fitter
from illudex.cluster.autok import KScore, choose_k, default_k_range, score_clustering
from illudex.cluster.errors import ClusterError
from illudex.cluster.features import (
    NO_FEATURES_HINT,
    Features,
    TagMatrix,
    balance_blocks,
    embedding_features,
    load_embeddings,
    load_paths,
    load_tag_matrix,
    tag_features,
)
from illudex.cluster.labels import cluster_tag_counts, label_clusters
from illudex.cluster.maps import compute_map
from illudex.cluster.options import ClusterOptions
from illudex.cluster.result import Cluster, ClusterResult
from illudex.progress import ProgressCallback, notify

_DENSE_LIMIT = 200_000_000  # cells; beyond this a dense copy of sparse features is refused


def cluster_images(
    conn: sqlite3.Connection,
    image_ids: Sequence[int],
    options: ClusterOptions | None = None,
    progress: ProgressCallback | None = None,
) -> ClusterResult:
    """Cluster the given catalog images; raises ClusterError on input it cannot use.

    `progress` is called as work advances; stages are 'features',
    'choosing k', 'clustering', 'labels' and 'map'.
    """
    options = options or ClusterOptions()
    params = options.validated_params()
    limits = (threadpool_limits(options.threads) if options.threads is not None
              else contextlib.nullcontext())
    with limits:
        return _run(conn, image_ids, options, params, progress)


def _run(conn: sqlite3.Connection, image_ids: Sequence[int], options: ClusterOptions,
         params: dict[str, Any], progress: ProgressCallback | None) -> ClusterResult:
    started = time.perf_counter()
    ids = _selected_ids(image_ids)
    paths = load_paths(conn, ids)
    _check_known(ids, paths)
    notify(progress, "features", 0, 1)
    feats = build_features(conn, ids, options)
    notify(progress, "features", 1, 1)
    X = _prepare_for(options.method, feats.X)
    n = X.shape[0]
    _check_counts(n, len(ids), options)
    check_size(options.method, n, params)
    raw, k_scores = _fit(X, options, params, progress)
    labels = _number_by_size(raw)
    notify(progress, "labels", 0, 1)
    result = _assemble(feats, labels, paths, options)
    notify(progress, "labels", 1, 1)
    result.metrics = _metrics(X, labels, feats, options, k_scores, len(ids), result)
    if options.map is not None:
        notify(progress, "map", 0, 1)
        result.map = compute_map(X, feats.image_ids, labels, options.map, options.seed)
        notify(progress, "map", 1, 1)
    result.metrics["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _selected_ids(image_ids: Sequence[int]) -> np.ndarray:
    ids = np.unique(np.asarray(list(image_ids), dtype=np.int64))
    if len(ids) == 0:
        raise ClusterError("no images to cluster: the selection is empty")
    if len(ids) == 1:
        raise ClusterError("only one image selected: clustering needs at least 2")
    return ids


def _check_known(ids: np.ndarray, paths: dict[int, str]) -> None:
    unknown = [int(i) for i in ids if int(i) not in paths]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise ClusterError(f"{len(unknown)} image id(s) are not in this catalog: {shown}")


def _check_counts(n: int, n_selected: int, options: ClusterOptions) -> None:
    if n == 1:
        raise ClusterError(
            f"only one of the {n_selected} images has features to cluster by "
            f"(--by {options.by}); clustering needs at least 2"
        )
    if isinstance(options.k, int) and options.k > n:
        raise ClusterError(
            f"k={options.k} is more than the {n} images that can be clustered: "
            f"choose k <= {n} or k 'auto'"
        )
    if options.k == "auto" and METHODS[options.method].needs_k and n < 3:
        raise ClusterError("choosing k automatically needs at least 3 images with features "
                           f"(this set has {n}): give k")


def build_features(conn: sqlite3.Connection, ids: np.ndarray, options: ClusterOptions) -> Features:
    """Feature rows for the images that have them; the others listed as missing."""
    tags = load_tag_matrix(conn, ids, options.exclude_categories, options.min_tag_score)
    if options.by == "tags":
        return _tag_only(ids, tags, options)
    e_ids, vectors, model = load_embeddings(conn, ids, options.embedding_model)
    if options.by == "embedding":
        if len(e_ids) == 0:
            raise ClusterError(
                f"none of the {len(ids)} images has an embedding: run `illudex tag` (the "
                f"tagger stores one per image) or cluster with --by tags"
            )
        X = embedding_features(vectors, options.svd_components, options.seed)
        missing = np.setdiff1d(ids, e_ids)
        return Features(e_ids, X, tags, [int(i) for i in missing],
                        info={"embedding_model": model, "dims": int(X.shape[1])})
    return _combined(ids, tags, e_ids, vectors, model, options)


def _tag_only(ids: np.ndarray, tags: TagMatrix, options: ClusterOptions) -> Features:
    has_tags = tags.matrix.getnnz(axis=1) > 0
    if not has_tags.any():
        raise ClusterError(f"none of the {len(ids)} images has tags: {NO_FEATURES_HINT} "
                           "(or cluster --by embedding if they have embeddings)")
    rows, X, info = tag_features(tags, options.tfidf, options.svd_components, options.seed)
    if len(rows) == 0:
        raise ClusterError(f"the {len(ids)} images share no tags, so there is nothing to "
                           "group them by: tag them (`illudex tag`) or cluster --by embedding")
    alone = np.setdiff1d(np.flatnonzero(has_tags), rows)
    return Features(ids[rows], X, tags, [int(i) for i in ids[~has_tags]],
                    [int(i) for i in ids[alone]], info={**info, "dims": int(X.shape[1])})


def _combined(ids: np.ndarray, tags: TagMatrix, e_ids: np.ndarray, vectors: np.ndarray,
              model: str, options: ClusterOptions) -> Features:
    """Tags and embeddings side by side; an image with only one of them is placed by it."""
    blocks: list[tuple[np.ndarray, np.ndarray]] = []  # (ids, rows)
    info: dict[str, object] = {"embedding_model": model}
    if tags.matrix.nnz:
        svd = options.svd_components if options.svd_components is not None else "auto"
        rows, tag_X, tag_info = tag_features(tags, options.tfidf, svd, options.seed)
        if len(rows):
            blocks.append((ids[rows], _dense(tag_X)))
            info.update(tag_info)
    if len(e_ids):
        blocks.append((e_ids, embedding_features(vectors, options.svd_components, options.seed)))
    if not blocks:
        raise ClusterError(f"none of the {len(ids)} images has tags or an embedding: "
                           f"{NO_FEATURES_HINT}")
    present = np.unique(np.concatenate([b[0] for b in blocks]))
    weights = options.weights if len(blocks) == 2 else (1.0,)
    X = balance_blocks([b[1] for b in blocks], weights, [np.searchsorted(present, b[0])
                                                           for b in blocks], len(present))
    info["dims"] = int(X.shape[1])
    return Features(present, X, tags, [int(i) for i in np.setdiff1d(ids, present)], info=info)


def _dense(X: np.ndarray | sp.csr_matrix) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X


def _prepare_for(method: str, X: np.ndarray | sp.csr_matrix) -> np.ndarray | sp.csr_matrix:
    """k-means and spectral take sparse rows; the others need them dense."""
    if not sp.issparse(X) or method in ("kmeans", "spectral"):
        return X
    if X.shape[0] * X.shape[1] > _DENSE_LIMIT:
        raise ClusterError(
            f"method {method!r} needs dense features and {X.shape[0]} images × "
            f"{X.shape[1]} tags is too large: set svd_components (e.g. 64)"
        )
    return X.toarray()


def _fit(
    X: np.ndarray | sp.csr_matrix, options: ClusterOptions, params: dict[str, Any],
    progress: ProgressCallback | None,
) -> tuple[np.ndarray, list[KScore]]:
    """Raw labels (-1 = outlier) and, when k was chosen, the scores of every k tried."""
    n = X.shape[0]
    if not METHODS[options.method].needs_k:
        notify(progress, "clustering", 0, 1)
        return fit_density(options.method, X, params), []
    if isinstance(options.k, int):
        notify(progress, "clustering", 0, 1)
        fitter = make_fitter(options.method, X, params, options.seed, options.k)
        return fitter.labels(options.k), []
    low, high = options.k_range or default_k_range(n)
    high = min(high, n - 1)
    if low > high:
        raise ClusterError(f"k_range {options.k_range} does not fit {n} images: "
                           f"k must stay below the number of images")
    sampled = options.method == "kmeans" and n > options.search_sample
    rows = _sample(n, options.search_sample, options.seed) if sampled else np.arange(n)
    search_X = X[rows] if sampled else X
    fitter = make_fitter(options.method, search_X, params, options.seed, high)
    found: dict[int, np.ndarray] = {}

    def labels_for(k: int) -> np.ndarray:
        found[k] = fitter.labels(k)
        return found[k]

    best, scores = choose_k(labels_for, search_X, (low, high), options.k_criterion,
                            options.silhouette_sample, options.seed,
                            progress)
    if not sampled:
        return found[best], scores
    notify(progress, "clustering", 0, 1)
    return fitter.labels_for(X, best), scores  # type: ignore[union-attr]


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _number_by_size(raw: np.ndarray) -> np.ndarray:
    """Cluster ids 0, 1, ... from largest to smallest (ties: first member first); -1 kept."""
    found = [c for c in np.unique(raw) if c >= 0]
    sizes = {c: int((raw == c).sum()) for c in found}
    first = {c: int(np.argmax(raw == c)) for c in found}
    order = sorted(found, key=lambda c: (-sizes[c], first[c]))
    mapping = np.full(int(raw.max(initial=-1)) + 2, -1, dtype=np.int64)
    for new, old in enumerate(order):
        mapping[old + 1] = new
    return mapping[raw + 1]


def _assemble(feats: Features, labels: np.ndarray, paths: dict[int, str],
              options: ClusterOptions) -> ClusterResult:
    n_clusters = int(labels.max(initial=-1)) + 1
    names = _cluster_names(feats, labels, n_clusters, options.label_tags)
    clusters = []
    for c in range(n_clusters):
        members = [int(i) for i in feats.image_ids[labels == c]]
        label, details = names[c]
        clusters.append(Cluster(c, label, members, [paths[i] for i in members],
                                len(members) < options.min_cluster_size, details))
    outliers = sorted([int(i) for i in feats.image_ids[labels < 0]] + feats.no_shared_tags)
    return ClusterResult(clusters, outliers, [paths[i] for i in outliers], feats.missing,
                         [paths[i] for i in feats.missing], {})


def _cluster_names(feats: Features, labels: np.ndarray, n_clusters: int,
                   max_tags: int) -> list[tuple[list[str], list[dict[str, object]]]]:
    tags = feats.tags
    if tags is None or tags.matrix.nnz == 0 or n_clusters == 0:
        return [([], [])] * n_clusters
    rows = np.searchsorted(tags.image_ids, feats.image_ids)
    counts, sizes = cluster_tag_counts(tags, rows, labels, n_clusters)
    named = label_clusters(counts, sizes, tags.tag_names, max_tags)
    return [([t.tag for t in tl], [t.as_dict() for t in tl]) for tl in named]


def _metrics(X: np.ndarray | sp.csr_matrix, labels: np.ndarray, feats: Features,
             options: ClusterOptions, k_scores: list[KScore], n_selected: int,
             result: ClusterResult) -> dict[str, Any]:
    inside = labels >= 0
    final = score_clustering(X[np.flatnonzero(inside)], labels[inside], len(result.clusters),
                             options.silhouette_sample, options.seed)
    chosen = "given" if isinstance(options.k, int) else (
        options.k_criterion if METHODS[options.method].needs_k else options.method)
    return {
        "method": options.method,
        "by": options.by,
        "k": len(result.clusters),
        "k_chosen_by": chosen,
        "n_images": n_selected,
        "n_clustered": int(inside.sum()),
        "n_outliers": len(result.outliers),
        "n_no_shared_tags": len(feats.no_shared_tags),
        "n_missing": len(result.missing),
        "n_tiny": sum(c.tiny for c in result.clusters),
        **{key: value for key, value in final.as_dict().items() if key not in ("k",)},
        "k_scores": [s.as_dict() for s in k_scores],
        "features": feats.info,
        "seed": options.seed,
    }
