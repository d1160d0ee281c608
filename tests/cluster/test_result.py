"""The result's JSON form and its round trip."""

from __future__ import annotations

import json

import numpy as np

from illudex.cluster import Cluster, ClusterResult, MapData


def _result() -> ClusterResult:
    clusters = [Cluster(0, ["red_hair", "sword"], [1, 2], ["/p/1.png", "/p/2.png"]),
                Cluster(1, [], [3], ["/p/3.png"], tiny=True)]
    result = ClusterResult(clusters, [4], ["/p/4.png"], [5], ["/p/5.png"], {"k": 2})
    result.map = MapData(np.array([1, 2, 3, 4]), np.array([0.0, 0.1, 1.0, 0.5]),
                         np.array([0.0, 0.2, 1.0, 0.5]), np.array([0, 0, 1, -1]), "pca")
    return result


def test_to_dict_has_the_documented_keys_and_map() -> None:
    data = json.loads(_result().to_json())
    assert data["clusters"][0] == {
        "id": 0, "label": ["red_hair", "sword"], "files": ["/p/1.png", "/p/2.png"],
        "image_ids": [1, 2], "size": 2, "tiny": False, "label_details": []}
    assert data["outliers"] == ["/p/4.png"] and data["missing"] == ["/p/5.png"]
    assert data["metrics"] == {"k": 2}
    assert data["map"]["points"][3] == {"image_id": 4, "x": 0.5, "y": 0.5, "cluster": -1}
    assert "map" not in _result().to_dict(with_map=False)


def test_round_trip_and_cluster_lookup() -> None:
    result = _result()
    again = ClusterResult.from_dict(json.loads(result.to_json()))
    assert again.to_dict(with_map=False) == result.to_dict(with_map=False)
    assert again.cluster_of() == {1: 0, 2: 0, 3: 1, 4: -1}


def test_undecodable_paths_still_serialise() -> None:
    result = _result()
    result.clusters[0].files[0] = "/p/\udcff.png"  # os.fsdecode of a non-UTF-8 name
    text = result.to_json()
    text.encode("utf-8")
    assert json.loads(text)["clusters"][0]["files"][0] == "/p/\udcff.png"
