"""Teach a tag from a few yes/no examples: fit on stored embeddings, score every picture.

The embedding is the stored model covering every example and the most pictures (or the
one asked for). Suggestions are the pictures it would tag, best first; `review` the most
uncertain ones (score nearest 0.5), whose labels teach the next round the most.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from illudex.analysers.runner import load_embeddings
from illudex.catalog.images import rows_by_ids
from illudex.cluster.features import embedding_models
from illudex.learn import classifier
from illudex.learn.classifier import MIN_PER_CLASS, CrossValidation, Scaling
from illudex.learn.errors import TeachError
from illudex.learn.examples import catalog_examples
from illudex.tags.vocabulary import normalize_tag

DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class Suggestion:
    id: int
    path: str
    score: float


@dataclass
class TeachResult:
    """What one round of teaching found; `scores` holds every picture's score (for apply)."""

    tag: str
    embedding: str
    yes: list[int]
    no: list[int]
    cross_validation: CrossValidation
    suggestions: list[Suggestion]
    review: list[Suggestion]
    scores: dict[int, float] = field(repr=False)

    def to_json(self) -> dict[str, object]:
        """The `illudex tags teach --json` shape (issue 16)."""
        def rows(items: list[Suggestion]) -> list[dict[str, object]]:
            return [{"path": s.path, "id": s.id, "score": round(s.score, 4)} for s in items]

        return {
            "tag": self.tag, "embedding": self.embedding,
            "examples": {"yes": len(self.yes), "no": len(self.no)},
            "cross_validation": {"precision": round(self.cross_validation.precision, 4),
                                 "recall": round(self.cross_validation.recall, 4),
                                 "folds": self.cross_validation.folds},
            "suggestions": rows(self.suggestions), "review": rows(self.review),
        }

    def to_apply(self, min_score: float = DEFAULT_MIN_SCORE) -> dict[int, float]:
        """Pictures to tag: every 'yes' example, and others scoring at least `min_score`."""
        chosen = {i: s for i, s in self.scores.items() if s >= min_score}
        chosen.update({i: max(self.scores.get(i, 1.0), min_score) for i in self.yes})
        for i in self.no:
            chosen.pop(i, None)
        return chosen


def teach(
    conn: sqlite3.Connection, tag: str, yes: Iterable[int], no: Iterable[int], *,
    model: str | None = None, limit: int = 50, review: int = 20,
    min_score: float = DEFAULT_MIN_SCORE,
) -> TeachResult:
    """Fit `tag` on these examples plus the catalog's own (people's tags, removed learned
    tags) and score every picture with an embedding from the chosen model."""
    name = normalize_tag(tag)
    yes_ids, no_ids = _examples(conn, name, yes, no)
    model = choose_embedding(conn, yes_ids | no_ids, model)
    ids, vectors = load_embeddings(conn, model)
    row_of = {int(i): n for n, i in enumerate(ids)}
    missing = sorted(i for i in yes_ids | no_ids if i not in row_of)
    if missing:
        raise TeachError(f"{len(missing)} example picture(s) have no {model!r} embedding "
                         f"(ids {missing[:5]}): run that model on them first")
    scale = Scaling.of(vectors)
    x_all = scale(vectors)
    ex = sorted(yes_ids) + sorted(no_ids)
    x = x_all[[row_of[i] for i in ex]]
    y = np.array([1] * len(yes_ids) + [0] * len(no_ids))
    background = x_all[_background(len(ids), [row_of[i] for i in ex])]
    cv = classifier.cross_validate(x, y, background)
    p = classifier.scores(classifier.fit(x, y, background), x_all)
    scores = {int(i): float(s) for i, s in zip(ids, p, strict=True)}
    return TeachResult(
        tag=name, embedding=model, yes=sorted(yes_ids), no=sorted(no_ids), cross_validation=cv,
        suggestions=_rank(conn, scores, set(ex), limit, min_score, uncertain=False),
        review=_rank(conn, scores, set(ex), review, 0.0, uncertain=True), scores=scores,
    )


def _background(n: int, examples: list[int]) -> np.ndarray:
    """Rows of up to BACKGROUND other pictures (weak 'no's); the same ones each round."""
    rest = np.setdiff1d(np.arange(n), examples)
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(rest, min(classifier.BACKGROUND, len(rest)), replace=False))


def choose_embedding(conn: sqlite3.Connection, examples: set[int], model: str | None) -> str:
    """`model` if stored; else the stored model covering all examples and most pictures."""
    models = embedding_models(conn)
    if not models:
        raise TeachError("no picture has an embedding yet: run `illudex tag PATH` (a WD "
                         "tagger stores one) or `illudex embed PATH` first")
    if model is not None:
        if model not in dict(models):
            known = ", ".join(m for m, _ in models)
            raise TeachError(f"no embeddings from model {model!r} (this catalog has: {known})")
        return model
    if len(models) == 1:
        return models[0][0]
    covering = [m for m, _ in models if _covers(conn, m, examples)]
    return covering[0] if covering else models[0][0]


def _covers(conn: sqlite3.Connection, model: str, ids: set[int]) -> bool:
    have = {int(i) for i in load_embeddings(conn, model)[0]}
    return ids <= have


def _examples(conn: sqlite3.Connection, tag: str, yes: Iterable[int], no: Iterable[int],
              ) -> tuple[set[int], set[int]]:
    yes_ids, no_ids = {int(i) for i in yes}, {int(i) for i in no}
    both = yes_ids & no_ids
    if both:
        raise TeachError(f"picture(s) {sorted(both)[:5]} are given both as yes and as no")
    from_yes, from_no = catalog_examples(conn, tag)
    yes_ids |= from_yes - no_ids
    no_ids |= from_no - yes_ids
    if len(yes_ids) < MIN_PER_CLASS or len(no_ids) < MIN_PER_CLASS:
        raise TeachError(f"too few examples to teach {tag!r}: {len(yes_ids)} yes and "
                         f"{len(no_ids)} no; give at least {MIN_PER_CLASS} of each")
    return yes_ids, no_ids


def _rank(conn: sqlite3.Connection, scores: dict[int, float], skip: set[int], limit: int,
          min_score: float, *, uncertain: bool) -> list[Suggestion]:
    pool = [(i, s) for i, s in scores.items() if i not in skip and s >= min_score]
    pool.sort(key=(lambda t: (abs(t[1] - 0.5), t[0])) if uncertain else (lambda t: (-t[1], t[0])))
    chosen = pool[:limit]
    rows = rows_by_ids(conn, [i for i, _ in chosen])
    return [Suggestion(i, rows[i].path, s) for i, s in chosen if i in rows]
