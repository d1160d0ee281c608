"""A library's model runs (`lib.models`): tag pictures, embed them, score their quality,
teach a tag from examples. Each run stores its results in the catalog; the library's
settings remember which model the pictures were tagged and embedded with, so search by
picture, by upload and by words use the same one later.

Models load through the shared pool (`illudex.models.pool`), on first use: importing
this module loads no model and no ONNX Runtime.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from illudex.catalog.images import rows_by_ids
from illudex.journal import Journal
from illudex.pictures import ids_at, paths_at
from illudex.progress import ProgressCallback
from illudex.settings import RunLimits, Settings

if TYPE_CHECKING:
    from illudex.analysers.runner import RunSummary
    from illudex.analysers.wd_tagger import TagOptions, TagResult
    from illudex.learn.teach import TeachResult


class ModelRuns:
    def __init__(self, conn: sqlite3.Connection, journal: Journal, settings: Settings,
                 limits: RunLimits) -> None:
        self.conn = conn
        self.journal = journal
        self.settings = settings
        self.limits = limits

    def tag(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        options: TagOptions | None = None,
        device: str = "auto",
        progress: ProgressCallback | None = None,
        on_result: Callable[[TagResult], None] | None = None,
    ) -> RunSummary:
        """Tag the pictures under `paths` with a WD tagger (tags + embedding per picture);
        `on_result` sees every picture's tags, those stored by an earlier run included."""
        from illudex.analysers.runner import stored_result, tag_images
        from illudex.analysers.wd_tagger import DEFAULT_TAGGER
        from illudex.models.pool import shared
        from illudex.models.registry import model_source

        tagger = shared().tagger(model or DEFAULT_TAGGER, device=device)
        images = paths_at(self.conn, paths)
        seen: set[str] = set()

        def emit(result: TagResult) -> None:
            seen.add(result.path)
            if on_result:
                on_result(result)

        if self.limits.engine is not None:  # the same run, inference on the engine's workers
            from illudex.engines import load_model

            load = partial(load_model, "tagger", model or DEFAULT_TAGGER, device)
            summary = self.limits.engine.tag_images(self.conn, images, tagger, load,
                                                    options=options, progress=progress,
                                                    on_result=emit)
        else:
            summary = tag_images(self.conn, images, tagger, options=options,
                                 progress=progress, on_result=emit, workers=self.limits.workers)
        if on_result:  # pictures done by an earlier run: their stored tags, for captions/JSON
            for image_id, path in images:
                if path not in seen:
                    on_result(stored_result(self.conn, image_id, path, tagger.name))
        self.settings.set("similar_model", tagger.name)
        # Search by an uploaded picture loads this model again, from any folder.
        self.settings.set(f"source:{tagger.name}", model_source(model or DEFAULT_TAGGER))
        return summary

    def embed(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        device: str = "auto",
        progress: ProgressCallback | None = None,
    ) -> RunSummary:
        """Store image embeddings for the pictures under `paths`: CLIP (for `text:` search),
        or any ONNX model folder with an illudex.json (stored under its name)."""
        from illudex.analysers.clip import DEFAULT_CLIP
        from illudex.analysers.embedder import OnnxEmbedder, is_embedder_folder
        from illudex.engines import load_model
        from illudex.models.pool import shared
        from illudex.models.registry import model_source

        images = paths_at(self.conn, paths)
        if model is not None and is_embedder_folder(model):
            custom = shared().get("embedder", str(model), device,
                                  lambda: OnnxEmbedder.load(model, device=device))
            return self._embed_with(images, custom,
                                    partial(load_model, "embedder", str(model), device), progress)
        clip = shared().clip(model or DEFAULT_CLIP, device=device)
        summary = self._embed_with(images, clip,
                                   partial(load_model, "clip", model or DEFAULT_CLIP, device),
                                   progress)
        self.settings.set("clip_model", model_source(model or DEFAULT_CLIP))
        self.settings.set("clip_name", clip.name)  # the name its vectors are stored under
        return summary

    def _embed_with(self, images: Sequence[tuple[int, str]], embedder: Any,
                    load: Callable[[], Any], progress: ProgressCallback | None) -> RunSummary:
        """One embedding run, on the engine's workers when one is set, else here."""
        from illudex.analysers.runner import embed_images

        if self.limits.engine is not None:
            return self.limits.engine.embed_images(self.conn, images, embedder, load,
                                                   progress=progress)
        return embed_images(self.conn, images, embedder, progress=progress,
                            workers=self.limits.workers)

    def score_quality(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        device: str = "auto",
        rerun: bool = False,
        progress: ProgressCallback | None = None,
    ) -> RunSummary:
        """Score the pictures under `paths` with an aesthetic model (`quality:` in search)."""
        from illudex.analysers.quality import DEFAULT_AESTHETIC, QualityScorer
        from illudex.analysers.qualityrun import score_pictures
        from illudex.analysers.runner import _default_workers
        from illudex.models.pool import shared
        from illudex.models.sessions import uses_gpu

        name = model or DEFAULT_AESTHETIC
        scorer = shared().get("quality", name, device,
                              lambda: QualityScorer.load(name, device=device))
        rows = rows_by_ids(self.conn, ids_at(self.conn, paths))
        workers = (_default_workers(uses_gpu(scorer.classifier.session))
                   if self.limits.workers is None else self.limits.workers)
        return score_pictures(self.conn, [(rows[i].path, rows[i].digest) for i in sorted(rows)],
                              scorer, name, workers=workers, rerun=rerun, progress=progress)

    def quality_of(self, digest: str) -> dict[str, Any] | None:
        """The latest stored aesthetic score of a picture's content ({"quality", "raw",
        "label"}), None if no aesthetic model has scored it."""
        from illudex.catalog.modelresults import latest_quality

        return latest_quality(self.conn, digest)

    def teach(
        self, tag: str, yes: Sequence[int], no: Sequence[int], *, model: str | None = None,
        apply_min: float | None = None,
    ) -> tuple[TeachResult, int | None]:
        """Teach `tag` from example pictures; with `apply_min`, write it (undoable action)."""
        from illudex.learn.apply import apply_learned
        from illudex.learn.teach import DEFAULT_MIN_SCORE, teach

        result = teach(self.conn, tag, yes, no, model=model,
                       min_score=DEFAULT_MIN_SCORE if apply_min is None else apply_min)
        if apply_min is None:
            return result, None
        chosen = result.to_apply(apply_min)
        return result, self.journal.tag_edit(
            f"learned {result.tag}", lambda: apply_learned(self.conn, result.tag, chosen))
