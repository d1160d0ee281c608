"""Search by likeness: pictures like a picture in the catalog, like an uploaded file, or
like a description in words (`lib.similarity`); and the query language's similarity terms
(`similar:`, `text:`), run against the vector index and combined with the tag and
metatag part as a filter (`search_query`).

Every likeness search keeps only the pictures that stand out from the collection for
that query (`relevant`: `illudex.index.relevance.cutoff`'s per-term `~min` floor, the
collection's own background scores and the largest gap, never above `OBVIOUS`), so an
unrelated picture is never returned just to fill a page.

Which vectors: the embeddings of the model most pictures have (the last tagger run
is preferred); with none, the duplicate finder's stored features (`PERCEPTUAL`), so
search by picture works right after a scan, with no model at all.
"""

from __future__ import annotations

import hashlib
import io
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from illudex.catalog import embeddings, features
from illudex.catalog.images import present_ids_with_digest
from illudex.errors import InvalidInput, LibraryError
from illudex.index import apply_cutoff, background_scores, cutoff
from illudex.pictures import picture_at, present_ids
from illudex.search import SearchResult, SimilarityClause, execute, parse, plan
from illudex.search.executor import ALL_IMAGES, posting_lists
from illudex.settings import RunLimits, Settings

if TYPE_CHECKING:
    from illudex.index import VectorIndex

CANDIDATES = 1000  # nearest neighbours considered per similarity search
# At or above this similarity a picture is an obvious match (the query's own copy, or a
# light edit of it): the relevance cut-off trims the tail, never these. A collection
# whose background scores spread wide can put its cut-off above 1 otherwise, and a
# picture would not even find itself (docs/decisions.md).
OBVIOUS = 0.9
PERCEPTUAL = "perceptual"  # search by picture with no model: the duplicate finder's features
Hits = list[tuple[int, float]]  # (image id, similarity), best first


class SimilarityError(InvalidInput):
    """A similarity term that cannot run (no embeddings, unknown picture ...)."""


class Similarity:
    """Likeness searches over one catalog's vectors, each cut off where the results stop
    being related (one rule for all: `_relevant`)."""

    def __init__(self, library_dir: Path, conn: sqlite3.Connection, settings: Settings,
                 limits: RunLimits) -> None:
        self.dir = library_dir
        self.conn = conn
        self.settings = settings
        self.limits = limits

    def like_picture(self, image_id: int, *, limit: int = 50) -> Hits:
        """Pictures like this catalogued one (never itself), best first."""
        return rank(self.hits(SimilarityClause("image", image_id, None, False, 0)))[:limit]

    def like_text(self, text: str, *, limit: int = 50) -> Hits:
        """Pictures that match a description in words (needs CLIP embeddings)."""
        return rank(self.hits(SimilarityClause("text", text, None, False, 0)))[:limit]

    def like_upload(self, data: bytes, *, limit: int = 50) -> Hits:
        """Pictures like an uploaded file: its exact copies in the catalog first (score 1),
        then the similar ones."""
        exact = present_ids_with_digest(self.conn, _digest(data))
        try:
            model, vector = self._vector_of_bytes(data)
            if not vector.any():
                raise LibraryError("the uploaded picture is one flat colour: it has no shapes "
                                   "to compare")
        except LibraryError:
            if exact:  # a file the catalog holds needs no decoding to be found
                return [(i, 1.0) for i in exact][:limit]
            raise
        similar = [(i, s) for i, s in self._relevant(model, vector) if i not in exact]
        return [*((i, 1.0) for i in exact), *similar][:limit]

    def hits(self, clause: SimilarityClause) -> dict[int, float]:
        """Image id → similarity for the pictures that pass the term's relevance cut-off
        (a picture named by id is not its own hit)."""
        model, query = self.query_vector(clause)
        kept = self._relevant(model, query, clause.min_score)
        if clause.kind == "image" and isinstance(clause.target, int):
            kept = [(i, s) for i, s in kept if i != clause.target]
        return dict(kept)

    def query_vector(self, clause: SimilarityClause) -> tuple[str, np.ndarray]:
        """(model, query vector) for a `similar:` or `text:` term."""
        if clause.kind == "text":
            return self.settings.get("clip_name") or "", self.embed_text(str(clause.target))
        image_id = self._target_id(clause.target)
        model = self._model()
        if model == PERCEPTUAL:
            vector = self._perceptual_vectors([image_id])[1][0]
            if not np.any(vector):
                raise SimilarityError(
                    f"picture {image_id} is a flat colour: it has no shapes to compare "
                    "without a model"
                )
            return model, vector
        found = embeddings.vector(self.conn, model, image_id)
        if found is None:
            raise LibraryError(f"picture {image_id} has no {model} embedding yet: run "
                               f"`illudex tag` on its folder")
        return model, found

    def embedding_models(self) -> list[tuple[str, int]]:
        """Models with stored embeddings, and how many pictures each has."""
        return embeddings.models(self.conn)

    def vector_index(self, model: str) -> VectorIndex:
        from illudex.index.backend import SETTING, open_vector_index

        if model == PERCEPTUAL:
            return self._perceptual_index()
        # Embedded (usearch) unless the library's `vectors` setting names Milvus.
        return open_vector_index(self.dir, self.conn, model, self.settings.get(SETTING))

    def embed_text(self, text: str, model: str | None = None) -> np.ndarray:
        """A text query's CLIP embedding (the model the pictures were embedded with)."""
        from illudex.models.pool import shared

        name = model or self.settings.get("clip_model")
        if name is None:
            raise LibraryError("no CLIP embeddings yet: run `illudex embed PATH` first")
        return shared().clip(name).embed_text(text)

    def _relevant(self, model: str, query: np.ndarray, min_score: float | None = None) -> Hits:
        index = self.vector_index(model)
        found = index.search(query, CANDIDATES) if len(index) else []
        return relevant(index, query, found, min_score=min_score)

    def _target_id(self, target: str | int) -> int:
        if isinstance(target, int) or (str(target).isascii() and str(target).isdigit()):
            return int(target)
        return picture_at(self.conn, str(target)).id

    def _model(self) -> str:
        """Embeddings of the model most pictures have; perceptual features otherwise."""
        preferred = self.settings.get("similar_model")
        models = dict(self.embedding_models())
        if preferred in models:
            return preferred
        return next(iter(models), PERCEPTUAL)

    def _perceptual_vectors(self, ids: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
        """Content thumbnails of the duplicate finder as vectors: search by picture with no
        model at all."""
        from illudex.dupes import features as feat
        from illudex.search.perceptual import picture_vectors

        rows = features.data(self.conn, feat.NAME, feat.VERSION, ids)
        if not rows:
            raise LibraryError("no pictures with features: scan a folder first")
        vectors = picture_vectors([feat.decode(data) for _, data in rows])
        return np.array([i for i, _ in rows], dtype=np.int64), vectors.astype(np.float32)

    def _perceptual_index(self) -> VectorIndex:
        from illudex.index import ExactIndex

        ids, vectors = self._perceptual_vectors(None)
        present = set(present_ids(self.conn))
        # Flat pictures have no direction to compare: they match nothing without a model.
        keep = np.array([i in present for i in ids], dtype=bool) & vectors.any(axis=1)
        index = ExactIndex(vectors.shape[1])
        index.add(ids[keep], vectors[keep])
        return index

    def _vector_of_bytes(self, data: bytes) -> tuple[str, np.ndarray]:
        from illudex.imageio import DecodeError, decode_file

        model = self._model()
        try:
            # Perceptual features are compared with the scan's: decode the way it does.
            decoded = decode_file(io.BytesIO(data), "upload", max_pixels=self.limits.max_pixels,
                                  coarse=model == PERCEPTUAL)
        except DecodeError as e:
            raise LibraryError(f"the uploaded file is not a usable picture: {e}") from None
        if model == PERCEPTUAL:
            from illudex.dupes import features as feat
            from illudex.search.perceptual import picture_vectors

            vector = picture_vectors([feat.decode(feat.extract(decoded.image))])[0]
            return model, vector.astype(np.float32)
        from illudex.models.pool import shared

        tagger = shared().tagger(self.settings.get(f"source:{model}") or model)
        _, feats = tagger.predict(tagger.preprocess(decoded.image)[None])
        if feats is None:
            raise LibraryError(f"model {model} gives no embedding")
        return model, feats[0]


def search_query(similarity: Similarity, query: str, *, limit: int | None = 100,
                 offset: int = 0) -> SearchResult:
    """Pictures matching a query: its tag and metatag part, within what its similarity
    terms keep (each term cut off on its own; a picture is as similar as its weakest)."""
    conn = similarity.conn
    the_plan = plan(conn, parse(query))
    if not the_plan.similarity:
        return execute(conn, the_plan, limit=limit, offset=offset)
    within: dict[int, float] | None = None
    excluded: set[int] = set()
    for clause in the_plan.similarity:
        hits = similarity.hits(clause)
        if clause.negated:
            excluded.update(hits)
        elif within is None:
            within = hits
        else:  # both must hold
            within = {i: min(s, within[i]) for i, s in hits.items() if i in within}
    if within is None:
        everything = posting_lists(conn, [ALL_IMAGES])[ALL_IMAGES]
        within = {int(i): 0.0 for i in everything}
    for image_id in excluded:
        within.pop(image_id, None)
    return execute(conn, the_plan, limit=limit, offset=offset, within=within)


def relevant(index: VectorIndex, query: np.ndarray, results: Hits,
             min_score: float | None = None) -> Hits:
    """The results (best first) that pass the relevance cut-off; obvious matches always
    do, unless the person asked for a stricter `min_score`."""
    if not results:
        return []
    scores = np.array([s for _, s in results], dtype=np.float32)
    threshold = min(cutoff(scores, min_score=min_score,
                           background=background_scores(index, query)), OBVIOUS)
    if min_score is not None:
        threshold = max(threshold, min_score)
    return apply_cutoff(results, threshold)


def rank(hits: Mapping[int, float]) -> Hits:
    return sorted(hits.items(), key=lambda item: (-item[1], item[0]))


def _digest(data: bytes) -> str:
    """The content digest the scan gives a file with these bytes."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
