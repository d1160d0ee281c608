"""The `Library` facade: one folder holding a catalog and its indexes, and every
operation the CLI, the REST API and the web UI offer.

    lib = Library.open()                 # $ILLUDEX_LIBRARY or the user's data dir
    lib.scan(["~/art"])                  # incremental
    report = lib.dupes(["~/art"])        # scans first if needed
    lib.resolve_dupes(report, trash=True)
    lib.undo()
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from illudex import history as journal_log
from illudex.catalog.db import connect
from illudex.catalog.folders import list_folders
from illudex.catalog.images import ImageRow, ids_under, row_by_path, rows_by_ids
from illudex.dupes import actions as dupe_actions
from illudex.dupes import decisions
from illudex.dupes.finder import DupesOptions, DupesReport, find_duplicates
from illudex.journal import Journal, UndoReport
from illudex.paths import sidecar_path
from illudex.picturefiles import DEFAULT_MAX_PIXELS
from illudex.scan.engine import ScanOptions, ScanReport, scan
from illudex.scan.worker import Analyser
from illudex.tags.sidecar import format_sidecar

if TYPE_CHECKING:  # heavy modules (numpy, scikit-learn) load only when a method needs them
    import numpy as np

    from illudex.analysers.runner import RunSummary
    from illudex.analysers.wd_tagger import TagOptions, TagResult
    from illudex.cluster import ClusterOptions, ClusterResult
    from illudex.dataset.chain import Dataset
    from illudex.dupes.align import PairAlignment
    from illudex.index import VectorIndex
    from illudex.learn.teach import TeachResult
    from illudex.search import SearchResult
    from illudex.search.planner import SimilarityClause
    from illudex.tags import exchange, lookup, vocabulary
    from illudex.tags.captions import CaptionOptions



ENV_LIBRARY = "ILLUDEX_LIBRARY"
PERCEPTUAL = "perceptual"  # search by picture with no model: the duplicate finder's features
CATALOG_NAME = "catalog.db"
Progress = Callable[[int, int, str], None]


class LibraryError(Exception):
    """A request the library cannot carry out, with the reason in words."""


def default_library_dir() -> Path:
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("illudex", appauthor=False))


def scan_analysers() -> tuple[Analyser, ...]:
    """The per-image analysers every scan runs in its decode workers."""
    from illudex.dupes import featurebytes, qualitybytes

    return (Analyser(featurebytes.NAME, featurebytes.VERSION, "illudex.dupes.features:extract"),
            Analyser(qualitybytes.NAME, qualitybytes.VERSION, "illudex.dupes.quality:extract",
                     takes_decoded=True))


class Library:
    def __init__(self, directory: Path, conn: sqlite3.Connection) -> None:
        self.dir = directory
        self.conn = conn
        self.journal = Journal(conn, directory)
        self.max_pixels = int(os.environ.get("ILLUDEX_MAX_PIXELS", DEFAULT_MAX_PIXELS))
        self.workers: int | None = None

    @classmethod
    def open(cls, directory: str | Path | None = None) -> Library:
        path = Path(directory).expanduser() if directory else default_library_dir()
        try:
            path.mkdir(parents=True, exist_ok=True)
            conn = connect(path / CATALOG_NAME)
        except (OSError, sqlite3.Error, RuntimeError) as e:  # RuntimeError: a newer schema
            raise LibraryError(f"cannot open the library at {path}: {e}") from None
        return cls(path.resolve(), conn)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- folders and scanning ------------------------------------------------------

    def folders(self) -> list[str]:
        return list_folders(self.conn)

    def scan(self, paths: Iterable[str | Path], progress: Progress | None = None) -> ScanReport:
        options = ScanOptions(
            analysers=scan_analysers(), workers=self.workers, max_pixels=self.max_pixels,
            exclude=frozenset({str(self.dir)}),
        )
        return scan(self.conn, [_absolute(p) for p in paths], options, progress)

    def image_ids(self, paths: Iterable[str | Path]) -> list[int]:
        """Catalogued pictures under `paths` (present in library folders)."""
        ids: set[int] = set()
        for path in paths:
            where = _absolute(path)
            if os.path.isfile(where):  # a picture named alone
                row = row_by_path(self.conn, where)
                ids.update([row.id] if row is not None and row.folder_id is not None else [])
            else:
                ids.update(ids_under(self.conn, where))
        return sorted(ids)

    def images(self, ids: Sequence[int]) -> dict[int, ImageRow]:
        return rows_by_ids(self.conn, ids)

    def image_at(self, path: str | Path) -> ImageRow:
        row = row_by_path(self.conn, _absolute(path))
        if row is None:
            raise LibraryError(f"{path}: not in the catalog (scan its folder first)")
        return row

    # --- duplicates ---------------------------------------------------------------

    def dupes(
        self,
        paths: Iterable[str | Path],
        options: DupesOptions | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> DupesReport:
        return find_duplicates(self.conn, self.image_ids(paths), options or DupesOptions(),
                               progress)

    def mark(self, a: str | Path, b: str | Path, relation: str) -> None:
        """Remember a person's decision on two pictures (never reported otherwise again)."""
        row_a, row_b = self.image_at(a), self.image_at(b)
        try:
            decisions.mark(self.conn, row_a.digest, row_b.digest, relation)
        except ValueError as e:
            raise LibraryError(str(e)) from None

    def forget(self, a: str | Path, b: str | Path) -> bool:
        """Drop a recorded decision about two pictures (True if there was one)."""
        return decisions.forget(self.conn, self.image_at(a).digest, self.image_at(b).digest)

    def choose_keeper(self, image_id: int, group: Sequence[int] = ()) -> ImageRow:
        """Make a picture the keeper of its duplicate group from now on (remembered by
        content, like `mark`); a keeper chosen before among `group` gives way."""
        rows = self.images([image_id, *group])
        if image_id not in rows:
            raise LibraryError(f"no picture with id {image_id} in the catalog")
        digests = [r.digest for r in rows.values()]
        decisions.choose_keeper(self.conn, rows[image_id].digest, digests)
        return rows[image_id]

    def forget_keeper(self, path: str | Path) -> bool:
        """Let the finder suggest the keeper again for this picture's group."""
        return decisions.forget_keeper(self.conn, self.image_at(path).digest)

    def plan_dupes(self, report: DupesReport, move_to: str | Path | None = None) -> list[
        dupe_actions.PlannedMove
    ]:
        return dupe_actions.plan(report, _absolute(move_to) if move_to else None)

    def resolve_dupes(
        self,
        moves: list[dupe_actions.PlannedMove],
        progress: Callable[[int, int], None] | None = None,
    ) -> dupe_actions.ActionResult:
        return dupe_actions.apply(self.journal, moves, progress)

    # --- tags --------------------------------------------------------------------------

    def tag_list(
        self, *, prefix: str | None = None, category: str | None = None, limit: int = 200,
        offset: int = 0, contains: str | None = None,
    ) -> list[vocabulary.Tag]:
        """Tags by count (or those starting with `prefix`, aliases resolved, or whose name
        holds `contains`)."""
        from illudex.tags import lookup, vocabulary

        if contains:
            return vocabulary.list_tags(self.conn, category=category, contains=contains,
                                        limit=limit, offset=offset)
        if prefix:
            matches = lookup.find(self.conn, prefix, limit=limit, category=category)
            return [m.tag for m in matches if m.reason in ("exact", "prefix")]
        return vocabulary.list_tags(self.conn, category=category, limit=limit, offset=offset)

    def find_tags(self, text: str, limit: int = 10) -> list[lookup.TagMatch]:
        """Fuzzy lookup: prefix, substring, typos, aliases and other languages."""
        from illudex.tags import lookup

        return lookup.find(self.conn, text, limit=limit)

    def tag_detail(self, name: str) -> vocabulary.TagDetail | None:
        from illudex.tags import vocabulary

        return vocabulary.get_tag(self.conn, name)

    def image_tags(self, image_id: int) -> list[ImageTag]:
        rows = self.conn.execute(
            "SELECT t.name, t.category, it.source, it.score FROM image_tags it "
            "JOIN tags t ON t.id = it.tag_id WHERE it.image_id = ? "
            "ORDER BY t.category, it.score DESC, t.name",
            (image_id,),
        )
        return [ImageTag(*r) for r in rows]

    def add_tags(self, image_ids: Sequence[int], names: Sequence[str]) -> int | None:
        from illudex.tags import edits as tag_edits

        return self.journal.tag_edit(
            f"add {', '.join(names)}",
            lambda: tag_edits.add_tags(self.conn, image_ids, names),
        )

    def remove_tags(self, image_ids: Sequence[int], names: Sequence[str]) -> int | None:
        from illudex.tags import edits as tag_edits

        return self.journal.tag_edit(
            f"remove {', '.join(names)}",
            lambda: tag_edits.remove_tags(self.conn, image_ids, names),
        )

    def replace_tag(self, image_ids: Sequence[int], old: str, new: str) -> int | None:
        from illudex.tags import edits as tag_edits

        return self.journal.tag_edit(
            f"replace {old} by {new}",
            lambda: tag_edits.replace_tag(self.conn, image_ids, old, new),
        )

    def merge_tags(self, keep: str, gone: str) -> int | None:
        from illudex.tags import edits as tag_edits

        return self.journal.tag_edit(
            f"merge {gone} into {keep}",
            lambda: tag_edits.merge_tags(self.conn, keep, gone),
        )

    def apply_implications(self, image_ids: Sequence[int] | None = None) -> int | None:
        from illudex.tags import edits as tag_edits

        return self.journal.tag_edit(
            "write implied tags",
            lambda: tag_edits.apply_implications(self.conn, image_ids),
        )

    def add_alias(self, alias: str, tag: str) -> int | None:
        from illudex.tags import vocabulary

        return self.journal.tag_edit(
            f"alias {alias} → {tag}",
            lambda: vocabulary.add_alias(self.conn, alias, tag),
        )

    def add_implication(self, tag: str, implied: str) -> None:
        from illudex.tags import vocabulary

        vocabulary.add_implication(self.conn, tag, implied)

    def add_translation(self, tag: str, lang: str, name: str) -> None:
        from illudex.tags import vocabulary

        vocabulary.add_translation(self.conn, tag, lang, name)

    def aliases(self) -> list[tuple[str, str]]:
        from illudex.tags import vocabulary

        return vocabulary.list_aliases(self.conn)

    def implications(self) -> list[tuple[str, str]]:
        from illudex.tags import vocabulary

        return vocabulary.list_implications(self.conn)

    def translations(self) -> list[tuple[str, str, str]]:
        from illudex.tags import vocabulary

        return vocabulary.list_translations(self.conn)

    def remove_alias(self, alias: str) -> bool:
        """Forget an alias; False when there was none."""
        from illudex.tags import vocabulary

        return vocabulary.remove_alias(self.conn, alias)

    def remove_implication(self, tag: str, implied: str) -> bool:
        from illudex.tags import vocabulary

        return vocabulary.remove_implication(self.conn, tag, implied)

    def remove_translation(self, tag: str, lang: str, name: str) -> bool:
        from illudex.tags import vocabulary

        return vocabulary.remove_translation(self.conn, tag, lang, name)

    def set_category(self, tag: str, category: str) -> vocabulary.Tag:
        from illudex.tags import vocabulary

        return vocabulary.set_category(self.conn, tag, category)

    def alias_impact(self, alias: str, tag: str) -> vocabulary.Impact:
        """Pictures `add_alias` would retag, and the alias it would replace (ask first)."""
        from illudex.tags import vocabulary

        return vocabulary.alias_impact(self.conn, alias, tag)

    def implication_impact(self, tag: str, implied: str) -> vocabulary.Impact:
        """Pictures `add_implication` would newly make match `implied` (ask first)."""
        from illudex.tags import vocabulary

        return vocabulary.implication_impact(self.conn, tag, implied)

    def rename_tag(self, old: str, new: str) -> int | None:
        """Rename a tag (the old name stays an alias), undoably; the journal action id."""
        from illudex.tags import vocabulary

        return self.journal.tag_edit(
            f"rename tag {old} to {new}",
            lambda: vocabulary.rename_tag(self.conn, old, new),
        )

    def tagged_images(self, name: str) -> list[int]:
        """Ids of the pictures that carry the tag `name` means (from any source)."""
        from illudex.tags import vocabulary

        return vocabulary.tagged_images(self.conn, name)

    def delete_tag(self, name: str) -> int | None:
        """Take a tag off every picture and forget it, undoably; the journal action id."""
        from illudex.tags import vocabulary

        return self.journal.tag_edit(
            f"delete tag {name}",
            lambda: vocabulary.delete_tag(self.conn, name),
        )

    def import_vocabulary(
        self, path: str | Path, kind: str | None = None
    ) -> dict[str, exchange.ImportReport]:
        """Import a CSV of one `kind` (tags, aliases, implications, translations), or a
        `.json` file holding the whole vocabulary; a report per kind."""
        from illudex.tags import exchange

        try:
            if Path(path).suffix.lower() == ".json":
                return exchange.import_json(self.conn, path)
            if kind is None:
                raise ValueError(f"{path}: say which kind of CSV it is: one of {exchange.KINDS}")
            return {kind: exchange.import_csv(self.conn, path, kind)}
        except (OSError, ValueError) as e:
            raise LibraryError(str(e)) from None

    def export_vocabulary(self, path: str | Path, kind: str | None = None) -> dict[str, int]:
        """Write a CSV of one `kind`, or the whole vocabulary to a `.json` file; rows per kind."""
        from illudex.tags import exchange

        try:
            if Path(path).suffix.lower() == ".json":
                data = exchange.export_json(self.conn, path)
                return {name: len(rows) for name, rows in data.items()}
            if kind is None:
                raise ValueError(f"{path}: say which kind to export: one of {exchange.KINDS}")
            return {kind: exchange.export_csv(self.conn, path, kind)}
        except (OSError, ValueError) as e:
            raise LibraryError(str(e)) from None

    def write_sidecars(
        self, image_ids: Sequence[int], *, progress: Callable[[int, int], None] | None = None
    ) -> int | None:
        """Write each picture's catalog tags to its `.txt` caption file, undoably."""
        from illudex.tags import edits as tag_edits

        wanted = {i: names for i, names in tag_edits.tags_for_sidecar(self.conn, image_ids)
                  .items() if names}  # no tags: nothing to write, never an empty file
        rows = self.images(list(wanted))
        if not wanted:
            return None
        with self.journal.action("write-txt", f"write {len(wanted)} caption file(s)") as action:
            for n, (image_id, names) in enumerate(sorted(wanted.items()), start=1):
                self.journal.write_text(
                    action, sidecar_path(rows[image_id].path), format_sidecar(names)
                )
                if progress:
                    progress(n, len(wanted))
        self._sidecars_written(rows.values())
        return action

    def _sidecars_written(self, rows: Iterable[ImageRow]) -> None:
        """The files we wrote are the catalog's own view: note their mtimes so the next
        scan does not read them back as new sidecar tags."""
        for row in rows:
            with contextlib.suppress(OSError):
                mtime = os.stat(sidecar_path(row.path)).st_mtime_ns
                self.conn.execute("UPDATE images SET sidecar_mtime_ns = ? WHERE id = ?",
                                  (mtime, row.id))

    # --- search --------------------------------------------------------------------------

    def search(self, query: str, *, limit: int | None = 100, offset: int = 0) -> SearchResult:
        """Pictures matching a query (tags, metatags, and similarity terms)."""
        from illudex.search.similar import search_query

        return search_query(self, query, limit=limit, offset=offset)

    # --- models: tags and embeddings ------------------------------------------------------

    def tag(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        options: TagOptions | None = None,
        device: str = "auto",
        progress: Callable[[int, int], None] | None = None,
        on_result: Callable[[TagResult], None] | None = None,
    ) -> RunSummary:
        """Tag the pictures under `paths` with a WD tagger (tags + embedding per picture)."""
        from illudex.analysers.runner import stored_result, tag_images
        from illudex.analysers.wd_tagger import DEFAULT_TAGGER
        from illudex.models.pool import shared

        tagger = shared().tagger(model or DEFAULT_TAGGER, device=device)
        images = self._id_paths(paths)
        seen: set[str] = set()

        def emit(result: TagResult) -> None:
            seen.add(result.path)
            if on_result:
                on_result(result)

        summary = tag_images(self.conn, images, tagger, options=options, progress=progress,
                             on_result=emit, workers=self.workers)
        if on_result:  # pictures done by an earlier run: their stored tags, for captions/JSON
            for image_id, path in images:
                if path not in seen:
                    on_result(stored_result(self.conn, image_id, path, tagger.name))
        self._remember("similar_model", tagger.name)
        # Search by an uploaded picture loads this model again, from any folder.
        self._remember(f"source:{tagger.name}", _model_source(model or DEFAULT_TAGGER))
        return summary

    def embed(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        device: str = "auto",
        progress: Callable[[int, int], None] | None = None,
    ) -> RunSummary:
        """Store image embeddings for the pictures under `paths`: CLIP (for `text:` search),
        or any ONNX model folder with an illudex.json (stored under its name)."""
        from illudex.analysers.clip import DEFAULT_CLIP
        from illudex.analysers.embedder import OnnxEmbedder, is_embedder_folder
        from illudex.analysers.runner import embed_images
        from illudex.models.pool import shared

        if model is not None and is_embedder_folder(model):
            custom = shared().get("embedder", str(model), device,
                                  lambda: OnnxEmbedder.load(model, device=device))
            return embed_images(self.conn, self._id_paths(paths), custom,  # type: ignore[arg-type]
                                progress=progress, workers=self.workers)
        clip = shared().clip(model or DEFAULT_CLIP, device=device)
        summary = embed_images(self.conn, self._id_paths(paths), clip, progress=progress,
                               workers=self.workers)
        self._remember("clip_model", _model_source(model or DEFAULT_CLIP))
        self._remember("clip_name", clip.name)  # the name its vectors are stored under
        return summary

    def quality_of(self, digest: str) -> dict[str, Any] | None:
        """The latest stored aesthetic score of a picture's content ({"quality", "raw",
        "label"}), None if no aesthetic model has scored it."""
        from illudex.catalog.modelresults import latest_quality

        return latest_quality(self.conn, digest)

    def score_quality(
        self,
        paths: Iterable[str | Path],
        *,
        model: str | None = None,
        device: str = "auto",
        rerun: bool = False,
        progress: Callable[[int, int], None] | None = None,
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
        rows = self.images(self.image_ids(paths))
        workers = (_default_workers(uses_gpu(scorer.classifier.session))
                   if self.workers is None else self.workers)
        return score_pictures(self.conn, [(rows[i].path, rows[i].digest) for i in sorted(rows)],
                              scorer, name, workers=workers, rerun=rerun, progress=progress)

    def write_captions(
        self, results: Sequence[TagResult], options: CaptionOptions, policy: str = "merge"
    ) -> int | None:
        """Write tagging results to same-name `.txt` files, undoably. `policy` for files
        that exist: merge (keep the user's tags, add the new), replace, or skip."""
        from illudex.tags.captions import format_caption, merge_caption

        with self.journal.action("write-txt", f"captions for {len(results)} picture(s)") as a:
            for result in results:
                txt = sidecar_path(result.path)
                existing = _read_text(txt)
                text = merge_caption(
                    existing,
                    format_caption(result.general, result.character, options, result.top_rating),
                    policy, first=options.trigger_words,  # type: ignore[arg-type]
                )
                if text is not None:
                    self.journal.write_text(a, txt, text)
        self._sidecars_written(
            r for r in (row_by_path(self.conn, res.path) for res in results) if r is not None
        )
        return a

    def teach_tag(
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

    def embedding_models(self) -> list[tuple[str, int]]:
        """Models with stored embeddings, and how many pictures each has."""
        return [(m, n) for m, n in self.conn.execute(
            "SELECT model, COUNT(*) FROM embeddings GROUP BY model ORDER BY COUNT(*) DESC, model"
        )]

    def vector_index(self, model: str) -> VectorIndex:
        from illudex.index import open_index

        if model == PERCEPTUAL:
            return self._perceptual_index()
        return open_index(self.dir, self.conn, model)

    def embed_text(self, text: str, model: str | None = None) -> np.ndarray:
        """A text query's CLIP embedding (the model the pictures were embedded with)."""
        from illudex.models.pool import shared

        name = model or self._recall("clip_model")
        if name is None:
            raise LibraryError("no CLIP embeddings yet: run `illudex embed PATH` first")
        return shared().clip(name).embed_text(text)

    def similar(self, image_id: int, *, limit: int = 50) -> list[tuple[int, float]]:
        """Pictures like this one, best first, cut off where they stop being related."""
        from illudex.search.planner import SimilarityClause
        from illudex.search.similar import rank, similarity_hits

        clause = SimilarityClause("image", image_id, None, False, 0)
        return rank(similarity_hits(self, clause))[:limit]

    def search_text(self, text: str, *, limit: int = 50) -> list[tuple[int, float]]:
        from illudex.search.planner import SimilarityClause
        from illudex.search.similar import rank, similarity_hits

        return rank(similarity_hits(self, SimilarityClause("text", text, None, False, 0)))[:limit]

    def search_by_upload(self, data: bytes, *, limit: int = 50) -> list[tuple[int, float]]:
        """Pictures like an uploaded one: its exact copies in the catalog first, then the
        similar ones past the relevance cut-off."""
        from illudex.search.similar import CANDIDATES, relevant

        exact = self._same_bytes(data)
        try:
            model, vector = self._vector_of_bytes(data)
            if not vector.any():
                raise LibraryError("the uploaded picture is one flat colour: it has no shapes "
                                   "to compare")
        except LibraryError:
            if exact:  # a file the catalog holds needs no decoding to be found
                return [(i, 1.0) for i in exact][:limit]
            raise
        index = self.vector_index(model)
        hits = relevant(index, vector, index.search(vector, CANDIDATES) if len(index) else [])
        return [*((i, 1.0) for i in exact), *((i, s) for i, s in hits if i not in exact)][:limit]

    def _same_bytes(self, data: bytes) -> list[int]:
        """Present pictures whose content digest is this upload's (as the scan hashes)."""
        import hashlib

        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        return [int(r[0]) for r in self.conn.execute(
            "SELECT id FROM images WHERE digest = ? AND folder_id IS NOT NULL ORDER BY id",
            (digest,))]

    def query_vector(self, clause: SimilarityClause) -> tuple[str, np.ndarray]:
        """(model, query vector) for a `similar:` or `text:` term."""
        import numpy as np

        if clause.kind == "text":
            return self._recall("clip_name") or "", self.embed_text(str(clause.target))
        image_id = self._target_id(clause.target)
        model = self._similarity_model()
        if model == PERCEPTUAL:
            vector = self._perceptual_vectors([image_id])[1][0]
            if not np.any(vector):
                from illudex.search.similar import SimilarityError

                raise SimilarityError(
                    f"picture {image_id} is a flat colour: it has no shapes to compare "
                    "without a model"
                )
            return model, vector
        row = self.conn.execute(
            "SELECT dim, vector FROM embeddings WHERE model = ? AND image_id = ?",
            (model, image_id),
        ).fetchone()
        if row is None:
            raise LibraryError(f"picture {image_id} has no {model} embedding yet: run "
                               f"`illudex tag` on its folder")
        return model, np.frombuffer(row[1], dtype="<f4", count=row[0])

    def _target_id(self, target: str | int) -> int:
        if isinstance(target, int) or (str(target).isascii() and str(target).isdigit()):
            return int(target)
        return self.image_at(str(target)).id

    def _similarity_model(self) -> str:
        """Embeddings of the model most pictures have; perceptual features otherwise."""
        preferred = self._recall("similar_model")
        models = dict(self.embedding_models())
        if preferred in models:
            return preferred
        return next(iter(models), PERCEPTUAL)

    def _perceptual_vectors(self, ids: Sequence[int] | None) -> tuple[np.ndarray, np.ndarray]:
        """Content thumbnails of the duplicate finder as vectors: search by picture with no
        model at all."""
        import numpy as np

        from illudex.dupes import features as feat
        from illudex.search.perceptual import picture_vectors

        sql = "SELECT image_id, data FROM features WHERE analyser = ? AND version = ?"
        params: list[object] = [feat.NAME, feat.VERSION]
        if ids is not None:
            sql += f" AND image_id IN ({','.join('?' * len(ids))})"
            params += list(ids)
        rows = self.conn.execute(sql + " ORDER BY image_id", params).fetchall()
        if not rows:
            raise LibraryError("no pictures with features: scan a folder first")
        vectors = picture_vectors([feat.decode(r[1]) for r in rows])
        return np.array([r[0] for r in rows], dtype=np.int64), vectors.astype(np.float32)

    def _perceptual_index(self) -> VectorIndex:
        import numpy as np

        from illudex.index import ExactIndex

        ids, vectors = self._perceptual_vectors(None)
        present = set(self.image_ids(self.folders()))
        # Flat pictures have no direction to compare: they match nothing without a model.
        keep = np.array([i in present for i in ids], dtype=bool) & vectors.any(axis=1)
        index = ExactIndex(vectors.shape[1])
        index.add(ids[keep], vectors[keep])
        return index

    def _vector_of_bytes(self, data: bytes) -> tuple[str, np.ndarray]:
        import io

        import numpy as np

        from illudex.imageio import DecodeError, decode_file

        model = self._similarity_model()
        try:
            # Perceptual features are compared with the scan's: decode the way it does.
            decoded = decode_file(io.BytesIO(data), "upload", max_pixels=self.max_pixels,
                                  coarse=model == PERCEPTUAL)
        except DecodeError as e:
            raise LibraryError(f"the uploaded file is not a usable picture: {e}") from None
        if model == PERCEPTUAL:
            from illudex.dupes import features as feat
            from illudex.search.perceptual import picture_vectors

            vector = picture_vectors([feat.decode(feat.extract(decoded.image))])[0]
            return model, vector.astype(np.float32)
        from illudex.models.pool import shared

        tagger = shared().tagger(self._recall(f"source:{model}") or model)
        _, feats = tagger.predict(tagger.preprocess(decoded.image)[None])
        if feats is None:
            raise LibraryError(f"model {model} gives no embedding")
        return model, feats[0]

    def _id_paths(self, paths: Iterable[str | Path]) -> list[tuple[int, str]]:
        rows = self.images(self.image_ids(paths))
        return [(i, rows[i].path) for i in sorted(rows)]

    def _remember(self, key: str, value: str) -> None:
        settings = self._settings()
        settings[key] = value
        tmp = self.dir / "settings.json.part"
        tmp.write_text(json.dumps(settings, indent=1), encoding="utf-8")
        os.replace(tmp, self.dir / "settings.json")

    def _recall(self, key: str) -> str | None:
        return self._settings().get(key)

    def _settings(self) -> dict[str, str]:
        try:
            return json.loads((self.dir / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    # --- files of chosen pictures ------------------------------------------------------

    def file_pictures(
        self, image_ids: Sequence[int], how: str, dest: str | Path | None = None
    ) -> tuple[int | None, list[dict[str, str]]]:
        """Trash, move or copy (`how`) these pictures with their captions, undoably.

        Returns the journal action and the files that could not be handled (with why).
        """
        from illudex.cluster.export import sidecars_of
        from illudex.filecheck import why_not
        from illudex.journal import JournalError

        if how not in ("trash", "move", "copy"):
            raise LibraryError(f"pictures can be trashed, moved or copied, not {how!r}")
        if how != "trash" and not dest:
            raise LibraryError(f"say which folder to {how} the pictures to")
        rows = self.images(list(image_ids))
        failed: list[dict[str, str]] = []
        where = f" to {dest}" if dest else ""
        with self.journal.action(f"pictures-{how}", f"{how} {len(rows)} picture(s){where}") as a:
            if dest:
                self.journal.make_folders(a, _absolute(dest))  # undo removes them again
            folders = self.folders()
            for row in rows.values():
                problem = why_not(row, folders)
                if problem:  # no longer the picture that was chosen: left alone
                    failed.append({"path": row.path, "error": f"left as it is: {problem}"})
                    continue
                for path in (Path(row.path), *sidecars_of(Path(row.path))):
                    try:
                        if how == "trash":
                            self.journal.trash(a, str(path))
                        else:
                            operation = self.journal.move if how == "move" else self.journal.copy
                            operation(a, str(path), os.path.join(_absolute(dest), path.name))
                    except (OSError, JournalError) as e:
                        failed.append({"path": str(path), "error": str(e)})
        return a, failed

    # --- clusters ------------------------------------------------------------------------

    def cluster(
        self,
        image_ids: Sequence[int],
        options: ClusterOptions | None = None,
        progress: Callable[[str, int, int | None], None] | None = None,
    ) -> ClusterResult:
        """Group pictures by tags and/or embeddings (raises ClusterError on bad input)."""
        from illudex.cluster import cluster_images

        return cluster_images(self.conn, list(image_ids), options, progress)

    def export_clusters(
        self, result: ClusterResult, dest: str | Path, *, mode: str = "copy",
        progress: Callable[[int, int], None] | None = None,
        clusters: Sequence[int] | None = None,
    ) -> int:
        """Put each cluster's pictures (and captions) in a folder named by its label
        (only the `clusters` named, when given); undo also removes the folders made."""
        from illudex.cluster import export_plan

        if mode not in ("move", "copy", "link"):
            raise LibraryError(f"export mode must be move, copy or link, not {mode!r}")
        plan = export_plan(result, _absolute(dest), clusters=clusters)
        if not plan:
            raise LibraryError("nothing to export: those clusters hold no pictures")
        operation = {"move": self.journal.move, "copy": self.journal.copy,
                     "link": self.journal.symlink}[mode]
        with self.journal.action(f"cluster-{mode}", f"{mode} {len(plan)} file(s) into "
                                 f"{dest}") as action:
            for folder in sorted({str(dst.parent) for _, dst in plan}):
                self.journal.make_folders(action, folder)
            for n, (src, dst) in enumerate(plan, start=1):
                operation(action, str(src), str(dst))  # the journal takes str
                if progress:
                    progress(n, len(plan))
        return action

    # --- journal -------------------------------------------------------------------

    def undo(self, action_id: int | None = None) -> UndoReport:
        return self.journal.undo(action_id)

    def history(self, limit: int = 20) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT id, kind, summary, created_at, state FROM actions ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()

    def actions(self, limit: int = 50, offset: int = 0) -> list[journal_log.ActionEntry]:
        """The journal, newest first: each action with what it moved or changed."""
        return journal_log.actions(self.conn, self.dir, limit, offset)

    def count_actions(self) -> int:
        return journal_log.count_actions(self.conn)

    def trash_contents(self, limit: int = 500) -> list[journal_log.TrashItem]:
        return journal_log.trash_contents(self.conn, self.dir, limit)

    def restore_from_trash(self, entries: Sequence[int]) -> journal_log.RestoreResult:
        """Put trashed pictures back (one undoable action); `entries` from trash_contents."""
        return journal_log.restore(self.conn, self.journal, self.dir, entries)

    def change_token(self) -> str:
        """Differs whenever pictures, the journal or duplicate decisions changed."""
        return journal_log.change_token(self.conn)

    def align_pair(self, a: int, b: int) -> PairAlignment | None:
        """Where two copies show the same content (crop boxes), for comparing them."""
        from illudex.dupes.align import align_pair  # numpy, OpenCV

        return align_pair(self.conn, a, b)

    def dataset(self, query: str | None = None, *, paths: Sequence[str | Path] = (),
                ids: Sequence[int] = (), booru: dict[str, object] | None = None) -> Dataset:
        """A training-set pipeline from a query, folders, chosen pictures or a booru
        search: `.attach(step, **params)...export(format, dir)` (illudex.dataset.chain)."""
        from illudex.dataset.chain import Dataset
        from illudex.dataset.spec import SourceSpec

        return Dataset(self, SourceSpec(query=query, paths=tuple(map(str, paths)),
                                        ids=tuple(ids), booru=booru))


@dataclass(frozen=True)
class ImageTag:
    name: str
    category: str
    source: str
    score: float | None


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _model_source(name_or_path: str) -> str:
    from illudex.models.registry import model_source

    return model_source(name_or_path)


def _absolute(path: str | Path) -> str:
    return os.path.abspath(os.path.expanduser(str(path)))
