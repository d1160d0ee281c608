"""From catalogued pictures to duplicate groups with a suggested keeper.

Exact copies (same content digest) are grouped by digest; one representative per
digest goes to the near-duplicate engine; the user's decisions (stored by digest, so
they survive renames) override what the engine says.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

from illudex.catalog import embeddings as embedding_rows
from illudex.catalog import features as feature_rows
from illudex.catalog import imagetags, modelresults
from illudex.catalog.images import ImageRow, rows_by_ids
from illudex.dupes import featurebytes as dupe_features
from illudex.dupes import qualitybytes
from illudex.dupes.cache import cached, fingerprint
from illudex.dupes.decisions import load_decisions, load_keepers
from illudex.dupes.keeper import DEFAULT_PREFERENCE, Candidate, choose_keeper
from illudex.dupes.relations import (
    DEFAULT_THRESHOLD,
    ENGINE_VERSION,
    Relation,
    build_groups,
)
from illudex.filecheck import one_per_file
from illudex.progress import ProgressCallback


@dataclass(frozen=True)
class DupesOptions:
    threshold: float = DEFAULT_THRESHOLD
    preference: tuple[str, ...] = DEFAULT_PREFERENCE
    include_near: bool = True


@dataclass
class DupeGroup:
    relation: str  # 'exact' (all the same bytes) | 'near'
    files: list[ImageRow]
    keep: ImageRow
    reason: str

    @property
    def others(self) -> list[ImageRow]:
        return [f for f in self.files if f.id != self.keep.id]


@dataclass
class DupesReport:
    groups: list[DupeGroup] = field(default_factory=list)
    alternates: list[tuple[ImageRow, ImageRow]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "groups": [
                {"relation": g.relation, "keep": g.keep.path, "reason": g.reason,
                 "files": [f.path for f in g.files]}
                for g in self.groups
            ],
            "alternates": [[a.path, b.path] for a, b in self.alternates],
            "errors": self.errors,
        }


def find_duplicates(
    conn: sqlite3.Connection,
    image_ids: Sequence[int],
    options: DupesOptions | None = None,
    progress: ProgressCallback | None = None,
) -> DupesReport:
    options = options or DupesOptions()
    rows = rows_by_ids(conn, image_ids)
    by_digest: dict[str, list[ImageRow]] = defaultdict(list)
    for row in sorted(rows.values(), key=lambda r: r.id):
        by_digest[row.digest].append(row)
    for digest, copies in by_digest.items():  # same bytes: perhaps one file, two names
        if len(copies) > 1:
            by_digest[digest] = one_per_file(copies)
    representative = {digest: copies[0].id for digest, copies in by_digest.items()}
    decisions = _decisions_by_id(conn, representative)
    relations = (
        _near_relations(conn, rows, sorted(representative.values()), options, progress)
        if options.include_near else []
    )
    groups, alternates = build_groups(sorted(representative.values()), relations, decisions)
    members_of = {rep: by_digest[rows[rep].digest] for rep in representative.values()}
    grouped_ids = [f.id for rep_ids in groups for rep in rep_ids for f in members_of[rep]]
    grouped_ids += [f.id for copies in by_digest.values() if len(copies) > 1 for f in copies]
    near_groups = [[f for rep in rep_ids for f in members_of[rep]] for rep_ids in groups]
    boxes = _content_boxes(conn, grouped_ids)
    facts = _KeeperFacts(
        _tag_counts(conn, grouped_ids),
        {i: (x1 - x0) * (y1 - y0) for i, (x0, y0, x1, y1) in boxes.items()},
        _verdicts(conn, near_groups, boxes) if "original" in options.preference else {},
        load_keepers(conn),
        # Read only when asked for: the default keeper picks the original, not the prettiest.
        modelresults.quality_scores(conn, [rows[i].digest for i in grouped_ids])
        if "quality" in options.preference else {},
    )
    report = DupesReport()
    grouped: set[int] = set()
    for rep_ids, files in zip(groups, near_groups, strict=True):
        report.groups.append(_group("near", files, facts, options))
        grouped.update(rep_ids)
    for rep in sorted(representative.values()):
        if rep not in grouped and len(members_of[rep]) > 1:
            report.groups.append(_group("exact", members_of[rep], facts, options))
    report.groups.sort(key=lambda g: min(f.path for f in g.files))
    # An alternate pair is shown between the copies one would keep.
    keeper_of = {f.id: g.keep for g in report.groups for f in g.files}
    report.alternates = sorted(
        {(keeper_of.get(a, rows[a]), keeper_of.get(b, rows[b])) for a, b in alternates},
        key=lambda pair: (pair[0].path, pair[1].path),
    )
    return report


@dataclass(frozen=True)
class _KeeperFacts:
    """What choosing keepers needs from the catalog, read once for every group."""

    tag_counts: dict[int, int]
    content: dict[int, float]
    verdicts: dict[int, tuple[float, str]]  # image id → (original score, defect)
    chosen: dict[str, float]  # keepers a person chose: digest → when
    quality: dict[str, float]  # stored aesthetic scores: digest → quality (0..1)


def _group(
    relation: str, files: list[ImageRow], facts: _KeeperFacts, options: DupesOptions
) -> DupeGroup:
    files = sorted(files, key=lambda f: f.path)
    if len({f.digest for f in files}) == 1:
        relation = "exact"
    chosen = [f for f in files if f.digest in facts.chosen]
    if chosen:  # a person's choice stands; the latest if the group holds several
        keep = max(chosen, key=lambda f: (facts.chosen[f.digest], -f.id))
        return DupeGroup(relation=relation, files=files, keep=keep, reason="chosen by you")
    candidates = {
        f.id: Candidate(f.path, f.width, f.height, f.format, f.size, f.mtime_ns,
                        facts.tag_counts.get(f.id, 0), facts.content.get(f.id, 1.0),
                        *facts.verdicts.get(f.id, (0.0, "")),
                        quality=facts.quality.get(f.digest))
        for f in files
    }
    best, reason = choose_keeper(list(candidates.values()), options.preference)
    keep = next(f for f in files if candidates[f.id] is best)
    return DupeGroup(relation=relation, files=files, keep=keep, reason=reason)


def _near_relations(
    conn: sqlite3.Connection,
    rows: dict[int, ImageRow],
    ids: list[int],
    options: DupesOptions,
    progress: ProgressCallback | None,
) -> list[Relation]:
    model = _embedding_model(conn, ids)
    key = fingerprint(
        (ENGINE_VERSION, dupe_features.VERSION, model or ""), options.threshold,
        [(i, rows[i].digest) for i in ids],
    )

    def compute() -> list[Relation]:
        from illudex.dupes.engine import find_relations  # the engine: numpy, OpenCV

        items = _features(conn, ids)
        extra = [_embeddings(conn, model, [i for i, _ in items])] if model else []
        return find_relations(items, threshold=options.threshold, progress=progress,
                              extra_spaces=extra)

    return cached(conn, key, compute, lambda d: Relation(**d))


def _embedding_model(conn: sqlite3.Connection, ids: list[int]) -> str | None:
    """A model that embedded every one of these pictures (its nearest neighbours widen
    the candidates: a tagger sees a redrawn copy as the same picture), or None."""
    return embedding_rows.model_covering(conn, ids)


def _embeddings(conn: sqlite3.Connection, model: str, ids: list[int]) -> np.ndarray:
    """`model`'s vectors for `ids`, one row per id in the order given."""
    found, vectors = embedding_rows.load(conn, model, ids)
    row_of = {int(image_id): n for n, image_id in enumerate(found)}
    return vectors[[row_of[i] for i in ids]]


def _features(conn: sqlite3.Connection, ids: list[int]) -> list[tuple[int, bytes]]:
    # Read them all and filter here: a run usually covers most of the library.
    wanted = set(ids)
    return [(image_id, data) for image_id, data
            in feature_rows.data(conn, dupe_features.NAME, dupe_features.VERSION)
            if image_id in wanted]


@dataclass(frozen=True)
class _Judged:
    image_id: int
    score: float
    defect: str


def _verdicts(
    conn: sqlite3.Connection, groups: list[list[ImageRow]],
    boxes: dict[int, tuple[float, float, float, float]],
) -> dict[int, tuple[float, str]]:
    """Which copy of each group the others were made from (`dupes.original`), cached
    like the relations: a re-run over the same groups loads no numpy."""
    items = [(f.id, f"{f.digest}:{n}") for n, files in enumerate(groups) for f in files]
    key = fingerprint(("keeper", qualitybytes.VERSION, dupe_features.VERSION), 0.0, items)

    def compute() -> list[_Judged]:
        from illudex.dupes import original, quality  # numpy

        records = {
            image_id: quality.decode(data) for image_id, data in feature_rows.data(
                conn, qualitybytes.NAME, qualitybytes.VERSION, [i for i, _ in items])
        }
        out = []
        for files in groups:
            copies = [original.Copy(str(f.id), f.width, f.height, f.format,
                                    boxes.get(f.id, (0.0, 0.0, 1.0, 1.0)), records.get(f.id))
                      for f in files if len({g.digest for g in files}) > 1]
            for key_, verdict in original.judge(copies).items() if copies else ():
                out.append(_Judged(int(key_), verdict.score, verdict.defect))
        return out

    return {j.image_id: (j.score, j.defect)
            for j in cached(conn, key, compute, lambda d: _Judged(**d), "dupe_keeper_cache")}


def _content_boxes(
    conn: sqlite3.Connection, ids: list[int]
) -> dict[int, tuple[float, float, float, float]]:
    """Each frame's content inside its trimmed borders, from the stored features."""
    # The box is in the header: read only that.
    return {image_id: dupe_features.content_box(data) for image_id, data in feature_rows.data(
        conn, dupe_features.NAME, dupe_features.VERSION, ids, prefix=dupe_features.HEADER_SIZE)}


def _tag_counts(conn: sqlite3.Connection, ids: list[int]) -> dict[int, int]:
    return imagetags.tag_counts(conn, ids)


def _decisions_by_id(
    conn: sqlite3.Connection, representative: dict[str, int]
) -> dict[tuple[int, int], str]:
    out: dict[tuple[int, int], str] = {}
    for (digest_a, digest_b), relation in load_decisions(conn).items():
        a, b = representative.get(digest_a), representative.get(digest_b)
        if a is not None and b is not None and a != b:
            out[(min(a, b), max(a, b))] = relation
    return out
