"""End to end: catalog rows in, labelled clusters out; and every kind of bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from illudex.cluster import ClusterError, ClusterOptions, cluster_images

from .conftest import CHARACTERS, Catalog


def _agreement(result, groups: dict[str, list[int]]) -> float:
    of = result.cluster_of()
    truth, found = [], []
    for g, (_, ids) in enumerate(sorted(groups.items())):
        truth += [g] * len(ids)
        found += [of.get(i, -1) for i in ids]
    return adjusted_rand_score(truth, found)


def test_tags_recover_characters_with_distinguishing_labels(catalog: Catalog) -> None:
    groups = catalog.add_characters()
    ids = [i for g in groups.values() for i in g]
    result = cluster_images(catalog.conn, ids, ClusterOptions(seed=1))
    assert result.metrics["k"] == 3
    assert _agreement(result, groups) == pytest.approx(1.0)
    for cluster in result.clusters:
        members = set(cluster.image_ids)
        who = next(w for w, g in groups.items() if members <= set(g))
        assert cluster.label, "every cluster is named"
        assert set(cluster.label) <= set(CHARACTERS[who])  # never "1girl" or "solo"
        assert len(cluster.files) == len(cluster.image_ids)
        assert all(f.endswith(".png") and f.startswith(str(catalog.root)) for f in cluster.files)
    scores = result.metrics["k_scores"]
    assert [s["k"] for s in scores] == list(range(2, 13))  # 2 .. 2·√36
    assert all(s["silhouette"] is not None for s in scores)


def test_serialises_to_the_documented_shape(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=6)
    ids = [i for g in groups.values() for i in g]
    data = json.loads(cluster_images(catalog.conn, ids, ClusterOptions(k=3)).to_json())
    assert set(data) >= {"clusters", "outliers", "metrics"}
    first = data["clusters"][0]
    assert isinstance(first["id"], int) and isinstance(first["label"], list)
    assert all(isinstance(f, str) for f in first["files"])
    assert data["metrics"]["k"] == 3 and data["metrics"]["k_chosen_by"] == "given"


def test_same_seed_same_result_whatever_the_input_order(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=10, dropout=0.5)
    ids = [i for g in groups.values() for i in g]
    options = ClusterOptions(seed=5, k=4)
    first = cluster_images(catalog.conn, ids, options).to_dict()
    again = cluster_images(catalog.conn, list(reversed(ids)), options).to_dict()
    first["metrics"].pop("seconds"), again["metrics"].pop("seconds")
    assert first == again
    threaded = cluster_images(catalog.conn, ids, ClusterOptions(seed=5, k=4, threads=None))
    assert [c["image_ids"] for c in first["clusters"]] == [c.image_ids for c in threaded.clusters]


def test_aliases_are_resolved_before_clustering(catalog: Catalog) -> None:
    # Half of one character's images spell its hair colour with an alias: still one cluster.
    catalog.alias("blond_hair", "blonde_hair")
    ids = []
    for i in range(8):
        hair = "blond_hair" if i % 2 else "blonde_hair"
        ids.append(catalog.add_image(f"a{i}.png", [hair, "smile"]))
        ids.append(catalog.add_image(f"b{i}.png", ["black_hair", "smile"]))
    result = cluster_images(catalog.conn, ids, ClusterOptions(k=2))
    labels = sorted(c.label[0] for c in result.clusters)
    assert labels == ["black_hair", "blonde_hair"]
    assert sorted(c.size for c in result.clusters) == [8, 8]


def test_images_without_tags_are_listed_as_missing(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=6)
    bare = catalog.add_image("bare.png")
    lonely = catalog.add_image("lonely.png", ["unique_tag_nobody_else_has"])
    ids = [bare, lonely, *[i for g in groups.values() for i in g]]
    result = cluster_images(catalog.conn, ids, ClusterOptions(k=3))
    assert result.missing == [bare]
    assert result.outliers == [lonely]  # tagged, but shares nothing with anyone
    assert result.metrics["n_missing"] == 1 and result.metrics["n_no_shared_tags"] == 1
    assert sum(c.size for c in result.clusters) == len(ids) - 2


def test_tiny_clusters_are_flagged(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=8, dropout=0.0)
    odd = [catalog.add_image(f"odd{i}.png", ["mecha", "robot", "no_humans"]) for i in range(2)]
    ids = [*odd, *[i for g in groups.values() for i in g]]
    result = cluster_images(catalog.conn, ids, ClusterOptions(k=4, min_cluster_size=3))
    tiny = [c for c in result.clusters if c.tiny]
    assert [sorted(c.image_ids) for c in tiny] == [sorted(odd)]
    assert result.clusters[-1].tiny  # numbered by size: the smallest comes last
    assert result.metrics["n_tiny"] == 1


def test_hdbscan_reports_outliers(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=15, dropout=0.1)
    strays = [catalog.add_image(f"stray{i}.png", [f"rare_{i}", f"rare_{i + 1}", "smile"])
              for i in range(4)]
    ids = [*strays, *[i for g in groups.values() for i in g]]
    options = ClusterOptions(method="hdbscan", params={"min_cluster_size": 5})
    result = cluster_images(catalog.conn, ids, options)
    assert set(strays) <= set(result.outliers)
    assert result.metrics["k_chosen_by"] == "hdbscan"
    assert result.metrics["n_outliers"] == len(result.outliers) >= 4
    assert len(result.clusters) >= 3


@pytest.mark.parametrize("method", ["agglomerative", "spectral", "optics"])
def test_other_methods_find_the_characters(catalog: Catalog, method: str) -> None:
    groups = catalog.add_characters(per_character=12, dropout=0.1)
    ids = [i for g in groups.values() for i in g]
    k = "auto" if method == "optics" else 3
    params = {"min_samples": 4} if method == "optics" else {}
    result = cluster_images(catalog.conn, ids, ClusterOptions(method=method, k=k,
                                                                params=params))
    assert _agreement(result, groups) > 0.8


def _embed_groups(catalog: Catalog, groups: dict[str, list[int]], seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(groups), 16))
    for centre, ids in zip(centres, groups.values(), strict=True):
        for i in ids:
            catalog.embed(i, centre + 0.05 * rng.normal(size=16))


def test_clusters_by_embedding_and_labels_from_tags(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=8)
    _embed_groups(catalog, groups)
    ids = [i for g in groups.values() for i in g]
    result = cluster_images(catalog.conn, ids, ClusterOptions(by="embedding"))
    assert result.metrics["features"]["embedding_model"] == "wd-test"
    assert _agreement(result, groups) == pytest.approx(1.0)
    assert all(c.label for c in result.clusters)


def test_both_places_images_with_only_one_kind_of_feature(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=8)
    _embed_groups(catalog, {k: v[:-1] for k, v in groups.items()})  # last ones: tags only
    ids = [i for g in groups.values() for i in g]
    result = cluster_images(catalog.conn, ids, ClusterOptions(by="both", k=3))
    assert result.missing == []
    assert _agreement(result, groups) == pytest.approx(1.0)


def test_map_and_progress(catalog: Catalog) -> None:
    groups = catalog.add_characters(per_character=6)
    ids = [i for g in groups.values() for i in g]
    stages: list[str] = []
    result = cluster_images(catalog.conn, ids, ClusterOptions(k=3, map="auto"),
                            progress=lambda p: stages.append(p.stage))
    assert result.map is not None and result.map.method == "tsne"
    assert sorted(result.map.image_ids.tolist()) == sorted(ids)
    assert {"features", "labels", "map"} <= set(stages)
    points = result.to_dict()["map"]["points"]
    assert len(points) == len(ids) and all(0 <= p["x"] <= 1 for p in points)


# --- bad input -----------------------------------------------------------------------


def test_empty_and_single_selections(catalog: Catalog) -> None:
    only = catalog.add_image("one.png", ["smile"])
    with pytest.raises(ClusterError, match="selection is empty"):
        cluster_images(catalog.conn, [], ClusterOptions())
    with pytest.raises(ClusterError, match="only one image selected"):
        cluster_images(catalog.conn, [only, only], ClusterOptions())


def test_no_tags_and_no_embeddings_says_what_to_run(catalog: Catalog) -> None:
    ids = [catalog.add_image(f"{i}.png") for i in range(5)]
    for by in ("tags", "both"):
        with pytest.raises(ClusterError, match=r"illudex tag.*sidecar \.txt"):
            cluster_images(catalog.conn, ids, ClusterOptions(by=by))
    with pytest.raises(ClusterError, match="none of the 5 images has an embedding"):
        cluster_images(catalog.conn, ids, ClusterOptions(by="embedding"))


def test_k_larger_than_the_set(catalog: Catalog) -> None:
    ids = [catalog.add_image(f"{i}.png", ["smile", f"t{i % 2}"]) for i in range(4)]
    with pytest.raises(ClusterError, match="k=9 is more than the 4 images"):
        cluster_images(catalog.conn, ids, ClusterOptions(k=9))


def test_unknown_ids_and_bad_options(catalog: Catalog) -> None:
    ids = [catalog.add_image(f"{i}.png", ["smile", "sky"]) for i in range(3)]
    with pytest.raises(ClusterError, match="not in this catalog: 999"):
        cluster_images(catalog.conn, [*ids, 999], ClusterOptions())
    with pytest.raises(ClusterError, match="unknown method 'dbscan'"):
        cluster_images(catalog.conn, ids, ClusterOptions(method="dbscan"))
    with pytest.raises(ClusterError, match="finds the number of clusters itself"):
        cluster_images(catalog.conn, ids, ClusterOptions(method="hdbscan", k=3))
    with pytest.raises(ClusterError, match="unknown parameter"):
        cluster_images(catalog.conn, ids, ClusterOptions(params={"n_clusters": 3}))
    with pytest.raises(ClusterError, match="k_range"):
        cluster_images(catalog.conn, ids, ClusterOptions(k_range=(5, 3)))
    with pytest.raises(ClusterError, match="svd_components"):
        cluster_images(catalog.conn, ids, ClusterOptions(svd_components=1))
    with pytest.raises(ClusterError, match="threads"):
        cluster_images(catalog.conn, ids, ClusterOptions(threads=0))
    with pytest.raises(ClusterError, match="unknown by 'pixels'"):
        cluster_images(catalog.conn, ids, ClusterOptions(by="pixels"))
