"""Teaching a tag on a real catalog: fit, suggestions, review, apply, undo, corrections."""

from __future__ import annotations

import pytest

from illudex.learn.errors import TeachError
from illudex.learn.examples import learned_source
from tests.learn.conftest import MODEL, Corpus, store_vectors


def learned_rows(corpus: Corpus, tag: str = "cat") -> dict[int, float]:
    rows = corpus.lib.conn.execute(
        "SELECT it.image_id, it.score FROM image_tags it JOIN tags t ON t.id = it.tag_id "
        "WHERE t.name = ? AND it.source = ?", (tag, learned_source(tag))).fetchall()
    return {int(i): float(s) for i, s in rows}


def test_suggestions_are_the_concept_best_first(corpus: Corpus) -> None:
    result, action = corpus.lib.models.teach("Cat", corpus.cats[:3], corpus.others[:3])
    assert action is None and result.tag == "cat" and result.embedding == MODEL
    suggested = [s.id for s in result.suggestions]
    # Only cats; most of them (unlabelled pictures weigh in as weak 'no's, and a third of
    # this small corpus are cats).
    assert set(suggested) <= set(corpus.cats[3:]) and len(suggested) >= 5
    scores = [s.score for s in result.suggestions]
    assert scores == sorted(scores, reverse=True)
    assert result.cross_validation.precision == 1.0 and result.cross_validation.recall == 1.0


def test_json_shape_and_review_order(corpus: Corpus) -> None:
    result, _ = corpus.lib.models.teach("cat", corpus.cats[:2], corpus.others[:2])
    shown = result.to_json()
    assert set(shown) == {"tag", "embedding", "examples", "cross_validation", "suggestions",
                          "review"}
    assert shown["examples"] == {"yes": 2, "no": 2}
    assert set(shown["cross_validation"]) >= {"precision", "recall"}
    review = shown["review"]
    assert review and set(review[0]) == {"path", "id", "score"}
    gaps = [abs(r["score"] - 0.5) for r in review]
    assert gaps == sorted(gaps)  # most uncertain first
    examples = set(corpus.cats[:2] + corpus.others[:2])
    assert not examples & {r["id"] for r in review + shown["suggestions"]}
    assert review[0]["path"] == corpus.path(review[0]["id"])


def test_refuses_too_few_examples_and_missing_embeddings(corpus: Corpus) -> None:
    with pytest.raises(TeachError, match="too few examples"):
        corpus.lib.models.teach("cat", corpus.cats[:1], corpus.others[:3])
    with pytest.raises(TeachError, match="both as yes and as no"):
        corpus.lib.models.teach("cat", corpus.cats[:2], corpus.cats[1:3])
    with pytest.raises(TeachError, match="no embeddings from model 'clip'"):
        corpus.lib.models.teach("cat", corpus.cats[:2], corpus.others[:2], model="clip")
    corpus.lib.conn.execute("DELETE FROM embeddings")
    with pytest.raises(TeachError, match="no picture has an embedding"):
        corpus.lib.models.teach("cat", corpus.cats[:2], corpus.others[:2])


def test_prefers_the_embedding_that_covers_the_examples(corpus: Corpus) -> None:
    # A second model with more pictures overall but none of the examples.
    import numpy as np

    extra = {i: np.ones(4, np.float32) / 2 for i in corpus.others[2:]}
    store_vectors(corpus.lib, "aaa-wide", extra)
    result, _ = corpus.lib.models.teach("cat", corpus.cats[:2], corpus.others[:2])
    assert result.embedding == MODEL


def test_apply_is_undoable_and_reapply_replaces(corpus: Corpus) -> None:
    lib = corpus.lib
    _, first = lib.models.teach("cat", corpus.cats[:3], corpus.others[:3], apply_min=0.5)
    after_first = learned_rows(corpus)
    assert first is not None and set(after_first) == set(corpus.cats)
    assert all(0.5 <= s <= 1.0 for s in after_first.values())
    _, second = lib.models.teach("cat", corpus.cats[:5], corpus.others[:5], apply_min=0.99)
    after_second = learned_rows(corpus)
    assert set(after_second) <= set(corpus.cats) and after_second != after_first
    lib.history.undo(second)
    assert learned_rows(corpus) == after_first
    lib.history.undo(first)
    assert learned_rows(corpus) == {}


def test_corrections_become_examples(corpus: Corpus) -> None:
    lib = corpus.lib
    lib.models.teach("cat", corpus.cats[:3], corpus.others[:3], apply_min=0.5)
    wrong = corpus.cats[9]
    lib.tags.remove([wrong], ["cat"])  # a person says: not a cat
    lib.tags.add([corpus.cats[8]], ["cat"])  # and tags another by hand
    result, _ = lib.models.teach("cat", corpus.cats[:3], corpus.others[:3])
    assert wrong in result.no and corpus.cats[8] in result.yes
