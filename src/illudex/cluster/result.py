"""The outcome of a clustering run, and its JSON form.

`ClusterResult.to_dict()` gives
`{"clusters": [{"id", "label", "files", ...}], "outliers": [...], "metrics": {...}}`
plus, where present, the images that had no features (`missing`) and the 2D map.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Cluster:
    """One cluster: label tags (most distinguishing first) and members (ids and paths)."""

    id: int
    label: list[str]
    image_ids: list[int]
    files: list[str]
    tiny: bool = False
    label_details: list[dict[str, object]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.image_ids)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "files": self.files,
                "image_ids": self.image_ids, "size": self.size, "tiny": self.tiny,
                "label_details": self.label_details}


@dataclass
class MapData:
    """A 2D picture of the clustering: one point per clustered image, x and y in [0, 1]."""

    image_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    cluster: np.ndarray  # cluster id, -1 for outliers
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "points": [
                {"image_id": int(i), "x": round(float(a), 5), "y": round(float(b), 5),
                 "cluster": int(c)}
                for i, a, b, c in zip(self.image_ids, self.x, self.y, self.cluster, strict=True)
            ],
        }


@dataclass
class ClusterResult:
    """Clusters (largest first), outliers, images without features, scores, optional map."""

    clusters: list[Cluster]
    outliers: list[int]
    outlier_files: list[str]
    missing: list[int]
    missing_files: list[str]
    metrics: dict[str, Any]
    map: MapData | None = None

    def cluster_of(self) -> dict[int, int]:
        """Image id → cluster id (-1 for outliers; images without features are absent)."""
        out = {i: c.id for c in self.clusters for i in c.image_ids}
        out.update({i: -1 for i in self.outliers})
        return out

    def to_dict(self, with_map: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "clusters": [c.to_dict() for c in self.clusters],
            "outliers": self.outlier_files,
            "outlier_ids": self.outliers,
            "missing": self.missing_files,
            "missing_ids": self.missing,
            "metrics": self.metrics,
        }
        if with_map and self.map is not None:
            data["map"] = self.map.to_dict()
        return data

    def to_json(self, with_map: bool = True, indent: int | None = None) -> str:
        text = json.dumps(self.to_dict(with_map), indent=indent, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A file name that is not valid UTF-8 (kept as surrogates): escape everything.
            text = json.dumps(self.to_dict(with_map), indent=indent, ensure_ascii=True)
        return text

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClusterResult:
        """Rebuild a result from `to_dict()` output (the map is not restored)."""
        clusters = [
            Cluster(int(c["id"]), list(c["label"]), [int(i) for i in c.get("image_ids", [])],
                    list(c["files"]), bool(c.get("tiny", False)),
                    list(c.get("label_details", [])))
            for c in data["clusters"]
        ]
        return cls(clusters, [int(i) for i in data.get("outlier_ids", [])],
                   list(data.get("outliers", [])), [int(i) for i in data.get("missing_ids", [])],
                   list(data.get("missing", [])), dict(data.get("metrics", {})))
