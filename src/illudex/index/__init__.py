"""Vector indexes: search by picture over a model's embeddings.

`open_index(library_dir, conn, model)` gives a `VectorIndex` in sync with the catalog
(exact for small collections, a usearch HNSW file next to the catalog for large ones);
`relevance.cutoff` decides where results stop being related. The Milvus backend lives in
`illudex.index.milvus` and needs the optional `pymilvus` package.
"""

from illudex.index.relevance import apply_cutoff, background_scores, cutoff
from illudex.index.vectors import (
    EXACT_MAX_VECTORS,
    ExactIndex,
    HnswIndex,
    IndexFileError,
    VectorIndex,
    build_from_catalog,
    index_path,
    open_index,
    sync_with_catalog,
)

__all__ = [
    "EXACT_MAX_VECTORS",
    "ExactIndex",
    "HnswIndex",
    "IndexFileError",
    "VectorIndex",
    "apply_cutoff",
    "background_scores",
    "build_from_catalog",
    "cutoff",
    "index_path",
    "open_index",
    "sync_with_catalog",
]
