"""Method parameters are validated with clear errors; every method separates clear groups."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from illudex.cluster import ClusterError, describe_methods
from illudex.cluster.algorithms import (
    METHODS,
    check_size,
    fit_density,
    make_fitter,
    validate_params,
)


def _blobs(per: int = 30, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10.0, size=(k, 5))
    truth = np.repeat(np.arange(k), per)
    return (centres[truth] + rng.normal(size=(k * per, 5))).astype(np.float32), truth


def test_defaults_fill_in_and_values_are_checked() -> None:
    assert validate_params("kmeans", {})["n_init"] == 3
    assert validate_params("hdbscan", {"min_cluster_size": 8})["min_cluster_size"] == 8
    assert validate_params("optics", {"xi": 0})["xi"] == 0.0  # int accepted for float
    cases = [
        ("kmeans", {"k": 3}, "unknown parameter.*'k'.*it takes: n_init"),
        ("kmeans", {"n_init": "many"}, "'n_init' of method 'kmeans' must be int"),
        ("kmeans", {"n_init": 0}, "must be at least 1"),
        ("kmeans", {"n_init": True}, "must be int"),
        ("kmeans", {"mini_batch": "sometimes"}, "must be one of True, False, 'auto'"),
        ("agglomerative", {"linkage": "ward", "metric": "cosine"}, "needs metric 'euclidean'"),
        ("optics", {"cluster_method": "dbscan"}, "needs eps"),
        ("optics", {"xi": 1.5}, "at most 1.0"),
        ("hdbscan", {"min_cluster_size": None}, "cannot be empty"),
    ]
    for method, params, message in cases:
        with pytest.raises(ClusterError, match=message):
            validate_params(method, params)


def test_describe_methods_lists_every_parameter() -> None:
    described = describe_methods()
    assert set(described) == set(METHODS)
    assert described["spectral"]["params"]["affinity"]["choices"] == ["nearest_neighbors", "rbf"]
    assert described["hdbscan"]["needs_k"] is False


def test_size_limits_name_a_method_that_scales() -> None:
    check_size("kmeans", 10**6, validate_params("kmeans", {}))
    with pytest.raises(ClusterError, match=r"at most 10000 images.*use method 'kmeans'"):
        check_size("agglomerative", 10_001, validate_params("agglomerative", {}))
    with pytest.raises(ClusterError, match="at most 5000"):
        check_size("spectral", 6_000, validate_params("spectral", {"affinity": "rbf"}))


@pytest.mark.parametrize("method,params", [
    ("kmeans", {}),
    ("kmeans", {"mini_batch": True, "batch_size": 32}),
    ("agglomerative", {}),
    ("agglomerative", {"linkage": "average", "metric": "cosine"}),
    ("spectral", {}),
    ("spectral", {"assign_labels": "cluster_qr"}),
    ("spectral", {"affinity": "rbf", "gamma": 0.01}),
])
def test_methods_with_k_separate_blobs(method: str, params: dict) -> None:
    X, truth = _blobs()
    fitter = make_fitter(method, X, validate_params(method, params), seed=0, k_max=5)
    assert adjusted_rand_score(truth, fitter.labels(3)) == pytest.approx(1.0)
    assert len(np.unique(fitter.labels(5))) == 5  # the shared part serves every k


def test_kmeans_refits_the_full_set_from_sample_centres() -> None:
    X, truth = _blobs(per=200)
    fitter = make_fitter("kmeans", X[::10], validate_params("kmeans", {}), seed=0, k_max=3)
    fitter.labels(3)
    assert adjusted_rand_score(truth, fitter.labels_for(X, 3)) == pytest.approx(1.0)


@pytest.mark.parametrize("method,params,far_outliers", [
    ("hdbscan", {"min_cluster_size": 5}, 3),
    # OPTICS-xi may count the far point just before a cluster (in its ordering) into it.
    ("optics", {"min_samples": 10}, 2),
    ("optics", {"cluster_method": "dbscan", "eps": 3.0, "min_samples": 5}, 3),
])
def test_density_methods_find_groups_and_mark_outliers(method: str, params: dict,
                                                       far_outliers: int) -> None:
    X, truth = _blobs()
    far = np.array([[500.0] * 5, [-500.0] * 5, [500, -500, 500, -500, 500]], np.float32)
    labels = fit_density(method, np.vstack([X, far]), validate_params(method, params))
    assert (labels[-3:] == -1).sum() >= far_outliers
    assert adjusted_rand_score(truth, labels[:-3]) > 0.9
