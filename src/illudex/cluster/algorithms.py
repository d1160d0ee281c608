"""Clustering methods, their parameters (validated with clear errors) and how they fit.

Methods with a number of clusters (k-means, agglomerative, spectral) are wrapped as
"fitters" that share the expensive part across the values of k that `--k auto` tries:
agglomerative builds its tree once and cuts it per k; spectral computes its embedding
once and assigns labels per k. Density methods (OPTICS, HDBSCAN) choose their own
number of clusters and mark outliers with the label -1.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.linalg import qr, svd
from sklearn.cluster import HDBSCAN, OPTICS, KMeans, MiniBatchKMeans
from sklearn.manifold import spectral_embedding
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.neighbors import kneighbors_graph

from illudex.cluster.errors import ClusterError

# Above this many rows the k-means fit on the full set is mini-batch (when 'auto').
MINI_BATCH_FROM = 50_000


@dataclass(frozen=True)
class Param:
    """One parameter of a method: its type, default, allowed values or bounds."""

    kind: type | tuple[type, ...]
    default: Any
    help: str
    choices: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None
    allow_none: bool = False


@dataclass(frozen=True)
class MethodSpec:
    name: str
    needs_k: bool
    help: str
    params: dict[str, Param] = field(default_factory=dict)
    max_rows: int | None = None


METHODS: dict[str, MethodSpec] = {
    "kmeans": MethodSpec("kmeans", True, "k-means (mini-batch on large sets)", {
        "n_init": Param(int, 3, "runs with different seeds; the best is kept", low=1),
        "max_iter": Param(int, 300, "iterations per run", low=1),
        "tol": Param(float, 1e-4, "convergence tolerance", low=0.0),
        "mini_batch": Param((bool, str), "auto", "mini-batch k-means: true, false or "
                            f"'auto' (from {MINI_BATCH_FROM} images)",
                            choices=(True, False, "auto")),
        "batch_size": Param(int, 4096, "rows per mini-batch", low=16),
    }),
    "agglomerative": MethodSpec("agglomerative", True, "hierarchical, bottom-up", {
        "linkage": Param(str, "ward", "how cluster distances are measured",
                         choices=("ward", "average", "complete", "single")),
        "metric": Param(str, "euclidean", "point distance (ward needs euclidean)",
                        choices=("euclidean", "cosine", "cityblock")),
    }, max_rows=10_000),
    "spectral": MethodSpec("spectral", True, "graph-based; finds non-convex groups", {
        "affinity": Param(str, "nearest_neighbors", "how the graph is built",
                          choices=("nearest_neighbors", "rbf")),
        "n_neighbors": Param(int, 10, "neighbours per image (nearest_neighbors)", low=2),
        "gamma": Param(float, None, "rbf kernel width (default 1/features)", low=0.0,
                       allow_none=True),
        "assign_labels": Param(str, "kmeans", "how the embedding becomes labels",
                               choices=("kmeans", "cluster_qr")),
    }, max_rows=20_000),
    "optics": MethodSpec("optics", False, "density-based; leaves outliers unassigned", {
        "min_samples": Param(int, 5, "neighbours that make a point a core point", low=2),
        "xi": Param(float, 0.05, "steepness that separates clusters (cluster_method xi)",
                    low=0.0, high=1.0),
        "max_eps": Param(float, None, "largest neighbourhood radius", low=0.0,
                         allow_none=True),
        "cluster_method": Param(str, "xi", "how clusters are cut", choices=("xi", "dbscan")),
        "eps": Param(float, None, "radius for cluster_method dbscan", low=0.0,
                     allow_none=True),
        "metric": Param(str, "euclidean", "point distance", choices=("euclidean", "cosine")),
        "min_cluster_size": Param(int, None, "smallest cluster (default min_samples)", low=2,
                                  allow_none=True),
    }, max_rows=50_000),
    "hdbscan": MethodSpec("hdbscan", False, "density-based; leaves outliers unassigned", {
        "min_cluster_size": Param(int, 5, "smallest group called a cluster", low=2),
        "min_samples": Param(int, None, "how conservative (default min_cluster_size)", low=1,
                             allow_none=True),
        "cluster_selection_epsilon": Param(float, 0.0, "merge clusters closer than this",
                                           low=0.0),
        "cluster_selection_method": Param(str, "eom", "eom: stable clusters; leaf: small "
                                          "homogeneous ones", choices=("eom", "leaf")),
        "metric": Param(str, "euclidean", "point distance", choices=("euclidean", "manhattan")),
        "allow_single_cluster": Param(bool, False, "allow one cluster for all"),
    }),
}


def describe_methods() -> dict[str, dict[str, Any]]:
    """Methods and their parameters as plain data (for `--help` and the web UI)."""
    return {
        name: {
            "help": spec.help,
            "needs_k": spec.needs_k,
            "max_images": spec.max_rows,
            "params": {
                p: {"default": prm.default, "help": prm.help, "choices": list(prm.choices)}
                for p, prm in spec.params.items()
            },
        }
        for name, spec in METHODS.items()
    }


def validate_params(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """`params` checked against `method`'s spec and completed with defaults."""
    spec = METHODS[method]
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        raise ClusterError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for method {method!r}; "
            f"it takes: {', '.join(spec.params)}"
        )
    checked = {name: prm.default for name, prm in spec.params.items()}
    for name, value in params.items():
        checked[name] = _check_param(method, name, spec.params[name], value)
    if method == "agglomerative" and checked["linkage"] == "ward" and (
        checked["metric"] != "euclidean"
    ):
        raise ClusterError("agglomerative linkage 'ward' needs metric 'euclidean'; "
                           "use linkage 'average' or 'complete' for other metrics")
    if method == "optics" and checked["cluster_method"] == "dbscan" and checked["eps"] is None:
        raise ClusterError("optics with cluster_method 'dbscan' needs eps (a radius)")
    return checked


def _check_param(method: str, name: str, prm: Param, value: Any) -> Any:
    where = f"parameter {name!r} of method {method!r}"
    if value is None:
        if prm.allow_none:
            return None
        raise ClusterError(f"{where} cannot be empty ({prm.help})")
    if prm.kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    kinds = prm.kind if isinstance(prm.kind, tuple) else (prm.kind,)
    wrong_bool = isinstance(value, bool) and bool not in kinds
    if wrong_bool or not isinstance(value, kinds):
        wanted = " or ".join(k.__name__ for k in kinds)
        raise ClusterError(f"{where} must be {wanted}, not {value!r} ({prm.help})")
    if prm.choices and value not in prm.choices:
        shown = ", ".join(repr(c) for c in prm.choices)
        raise ClusterError(f"{where} must be one of {shown}, not {value!r}")
    if prm.low is not None and value < prm.low:
        raise ClusterError(f"{where} must be at least {prm.low}, not {value!r}")
    if prm.high is not None and value > prm.high:
        raise ClusterError(f"{where} must be at most {prm.high}, not {value!r}")
    return value


def check_size(method: str, n_rows: int, params: dict[str, Any]) -> None:
    """Refuse sizes a method cannot handle in memory, naming one that can."""
    limit = METHODS[method].max_rows
    if method == "spectral" and params["affinity"] == "rbf":
        limit = 5_000
    if limit is not None and n_rows > limit:
        raise ClusterError(
            f"method {method!r} handles at most {limit} images here (it needs memory growing "
            f"with the square of the count); this set has {n_rows}: use method 'kmeans' "
            f"(or 'hdbscan') for large sets"
        )


class KMeansFitter:
    """k-means per k; remembers centres so a fit on a sample can seed the full fit."""

    def __init__(self, X: np.ndarray | sp.csr_matrix, params: dict[str, Any], seed: int):
        self.X, self.params, self.seed = X, params, seed
        self.centers: dict[int, np.ndarray] = {}

    def labels(self, k: int) -> np.ndarray:
        model = self._model(k, self.X.shape[0], init="k-means++", n_init=self.params["n_init"])
        model.fit(self.X)
        self.centers[k] = model.cluster_centers_
        return model.labels_

    def labels_for(self, X: np.ndarray | sp.csr_matrix, k: int) -> np.ndarray:
        """Fit `X` (the full set) starting from the centres found on the sample."""
        model = self._model(k, X.shape[0], init=self.centers[k], n_init=1)
        return model.fit(X).labels_

    def _model(self, k: int, n_rows: int, init: Any, n_init: int) -> KMeans | MiniBatchKMeans:
        mini = self.params["mini_batch"]
        use_mini = mini is True or (mini == "auto" and n_rows >= MINI_BATCH_FROM)
        common = {"n_clusters": k, "init": init, "n_init": n_init, "random_state": self.seed,
                  "max_iter": self.params["max_iter"], "tol": self.params["tol"]}
        if use_mini:
            return MiniBatchKMeans(batch_size=self.params["batch_size"], **common)
        return KMeans(**common)


class AgglomerativeFitter:
    """One hierarchical tree, cut into k clusters for each k asked."""

    def __init__(self, X: np.ndarray, params: dict[str, Any], seed: int):
        self.tree = linkage(_dense(X), method=params["linkage"], metric=params["metric"])

    def labels(self, k: int) -> np.ndarray:
        return fcluster(self.tree, t=k, criterion="maxclust").astype(np.int64) - 1


class SpectralFitter:
    """One spectral embedding (as many dimensions as the largest k); labels per k."""

    def __init__(self, X: np.ndarray, params: dict[str, Any], seed: int, k_max: int):
        self.params, self.seed = params, seed
        affinity = _affinity(X, params)
        with warnings.catch_warnings():
            # A graph in several pieces is fine here: the pieces become clusters.
            warnings.simplefilter("ignore", UserWarning)
            self.maps = spectral_embedding(
                affinity, n_components=k_max, random_state=seed, drop_first=False
            )

    def labels(self, k: int) -> np.ndarray:
        maps = self.maps[:, :k]
        if self.params["assign_labels"] == "cluster_qr":
            return _cluster_qr(maps)
        return KMeans(n_clusters=k, n_init=10, random_state=self.seed).fit(maps).labels_


def _affinity(X: np.ndarray, params: dict[str, Any]) -> np.ndarray | sp.csr_matrix:
    if params["affinity"] == "rbf":
        return rbf_kernel(_dense(X), gamma=params["gamma"])
    n_neighbors = min(params["n_neighbors"], X.shape[0] - 1)
    graph = kneighbors_graph(X, n_neighbors=n_neighbors, include_self=True)
    return 0.5 * (graph + graph.T)


def _cluster_qr(vectors: np.ndarray) -> np.ndarray:
    """Labels from a spectral embedding by column-pivoted QR (Damle et al.; no randomness)."""
    k = vectors.shape[1]
    _, _, pivots = qr(vectors.T, pivoting=True)
    left, _, right = svd(vectors[pivots[:k], :].T)
    return np.abs(vectors @ (left @ right.conj())).argmax(axis=1)


def make_fitter(
    method: str, X: np.ndarray | sp.csr_matrix, params: dict[str, Any], seed: int, k_max: int
) -> KMeansFitter | AgglomerativeFitter | SpectralFitter:
    """The fitter that gives labels per k for a method that needs k."""
    if method == "kmeans":
        return KMeansFitter(X, params, seed)
    if method == "agglomerative":
        return AgglomerativeFitter(X, params, seed)
    if method == "spectral":
        return SpectralFitter(X, params, seed, k_max)
    raise ClusterError(f"method {method!r} does not take a number of clusters")


def fit_density(method: str, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Labels from OPTICS or HDBSCAN; -1 marks an outlier."""
    given = {key: value for key, value in params.items() if value is not None}
    builders: dict[str, Callable[[], Any]] = {
        "optics": lambda: OPTICS(**given),
        "hdbscan": lambda: HDBSCAN(copy=True, **params),
    }
    return np.asarray(builders[method]().fit(_dense(X)).labels_, dtype=np.int64)


def _dense(X: np.ndarray | sp.csr_matrix) -> np.ndarray:
    return X.toarray() if sp.issparse(X) else X
