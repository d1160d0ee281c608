"""Clustering images by their tags and/or embeddings, with readable labels.

Entry point: `cluster_images(conn, image_ids, ClusterOptions(...))` → `ClusterResult`.
Then `export_plan(result, dest)` for folders named by label, and `save_map_png` /
`render_map` for a picture of the clusters.
"""

from illudex.cluster.algorithms import describe_methods
from illudex.cluster.errors import ClusterError
from illudex.cluster.export import export_plan, folder_names, sanitise_name
from illudex.cluster.maps import render_map, save_map_png
from illudex.cluster.options import ClusterOptions
from illudex.cluster.pipeline import cluster_images
from illudex.cluster.result import Cluster, ClusterResult, MapData

__all__ = [
    "Cluster",
    "ClusterError",
    "ClusterOptions",
    "ClusterResult",
    "MapData",
    "cluster_images",
    "describe_methods",
    "export_plan",
    "folder_names",
    "render_map",
    "sanitise_name",
    "save_map_png",
]
