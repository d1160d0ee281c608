"""The `Library` facade: one folder holding a catalog and its indexes. The CLI, the REST
API and the web UI all start here.

    lib = Library.open()                       # $ILLUDEX_LIBRARY or the user's data dir
    lib.scan(["~/art"])                        # incremental
    report = lib.dupes.find(["~/art"])
    lib.dupes.resolve(lib.dupes.plan(report))  # trash all but the keepers
    lib.history.undo()

The library itself opens the folder, scans, finds pictures and runs the query language;
everything else is a service it composes, each owning its logic (the modules named):

    lib.tags        tags on pictures, whole-tag edits, caption files   (tags.service)
    lib.vocabulary  aliases, implications, translations, as files      (tags.service)
    lib.similarity  search by picture, upload or words; vector indexes (search.similar)
    lib.dupes       find, decide, plan, resolve, align                 (dupes.service)
    lib.models      tag, embed, score quality, teach a tag             (analysers.service)
    lib.files       trash, move, copy pictures; export clusters        (fileactions)
    lib.history     the journal, undo, the trash                       (history)

Services are made on first use, so opening a library loads no numpy, no model runtime.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from illudex import pictures
from illudex.catalog.db import connect
from illudex.catalog.folders import list_folders
from illudex.catalog.images import ImageRow, rows_by_ids
from illudex.errors import LibraryError
from illudex.journal import Journal
from illudex.progress import ProgressCallback
from illudex.scan.engine import ScanOptions, ScanReport, scan
from illudex.scan.worker import Analyser
from illudex.settings import RunLimits, Settings

if TYPE_CHECKING:  # heavy modules (numpy, scikit-learn) load only when a service needs them
    from illudex.analysers.service import ModelRuns
    from illudex.cluster import ClusterOptions, ClusterResult
    from illudex.dataset.chain import Dataset
    from illudex.dupes.service import DupesService
    from illudex.fileactions import PictureFiles
    from illudex.history import History
    from illudex.search import SearchResult
    from illudex.search.similar import Similarity
    from illudex.tags.service import TagService, VocabularyService

ENV_LIBRARY = "ILLUDEX_LIBRARY"
CATALOG_NAME = "catalog.db"
__all__ = ["CATALOG_NAME", "ENV_LIBRARY", "Library", "LibraryError", "default_library_dir",
           "scan_analysers"]


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
        self.settings = Settings(directory)
        self.limits = RunLimits.from_env()  # shared with the services that decode or run

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

    @property
    def workers(self) -> int | None:
        """Decode processes for scans and model runs (None: each picks its own)."""
        return self.limits.workers

    @workers.setter
    def workers(self, value: int | None) -> None:
        self.limits.workers = value

    @property
    def max_pixels(self) -> int:
        """Pictures larger than this are refused rather than decoded."""
        return self.limits.max_pixels

    @max_pixels.setter
    def max_pixels(self, value: int) -> None:
        self.limits.max_pixels = value

    # --- pictures: folders, scanning, finding, searching ---------------------------------

    def folders(self) -> list[str]:
        return list_folders(self.conn)

    def scan(self, paths: Iterable[str | Path],
             progress: ProgressCallback | None = None) -> ScanReport:
        options = ScanOptions(
            analysers=scan_analysers(), workers=self.workers, max_pixels=self.max_pixels,
            exclude=frozenset({str(self.dir)}),
            engine=self.limits.engine.file_results if self.limits.engine else None,
        )
        return scan(self.conn, [pictures.absolute(p) for p in paths], options, progress)

    def image_ids(self, paths: Iterable[str | Path]) -> list[int]:
        """Catalogued pictures under `paths` (present in library folders)."""
        return pictures.ids_at(self.conn, paths)

    def images(self, ids: Sequence[int]) -> dict[int, ImageRow]:
        return rows_by_ids(self.conn, ids)

    def image_at(self, path: str | Path) -> ImageRow:
        return pictures.picture_at(self.conn, path)

    def search(self, query: str, *, limit: int | None = 100, offset: int = 0) -> SearchResult:
        """Pictures matching a query (tags, metatags, and similarity terms)."""
        from illudex.search.similar import search_query

        return search_query(self.similarity, query, limit=limit, offset=offset)

    def cluster(
        self,
        image_ids: Sequence[int],
        options: ClusterOptions | None = None,
        progress: ProgressCallback | None = None,
    ) -> ClusterResult:
        """Group pictures by tags and/or embeddings (raises ClusterError on bad input);
        `lib.files.export_clusters` puts them in folders."""
        from illudex.cluster import cluster_images

        return cluster_images(self.conn, list(image_ids), options, progress)

    def dataset(self, query: str | None = None, *, paths: Sequence[str | Path] = (),
                ids: Sequence[int] = (), booru: dict[str, object] | None = None) -> Dataset:
        """A training-set pipeline from a query, folders, chosen pictures or a booru
        search: `.attach(step, **params)...export(format, dir)` (illudex.dataset.chain)."""
        from illudex.dataset.chain import Dataset
        from illudex.dataset.spec import SourceSpec

        return Dataset(self, SourceSpec(query=query, paths=tuple(map(str, paths)),
                                        ids=tuple(ids), booru=booru))

    # --- services (made on first use: their modules import numpy, models ...) ------------

    @cached_property
    def tags(self) -> TagService:
        from illudex.tags.service import TagService

        return TagService(self.conn, self.journal)

    @cached_property
    def vocabulary(self) -> VocabularyService:
        from illudex.tags.service import VocabularyService

        return VocabularyService(self.conn, self.journal)

    @cached_property
    def similarity(self) -> Similarity:
        from illudex.search.similar import Similarity

        return Similarity(self.dir, self.conn, self.settings, self.limits)

    @cached_property
    def dupes(self) -> DupesService:
        from illudex.dupes.service import DupesService

        return DupesService(self.conn, self.journal)

    @cached_property
    def models(self) -> ModelRuns:
        from illudex.analysers.service import ModelRuns

        return ModelRuns(self.conn, self.journal, self.settings, self.limits)

    @cached_property
    def files(self) -> PictureFiles:
        from illudex.fileactions import PictureFiles

        return PictureFiles(self.conn, self.journal)

    @cached_property
    def history(self) -> History:
        from illudex.history import History

        return History(self.dir, self.conn, self.journal)
