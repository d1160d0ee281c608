"""A person's word on a pair: overrides the engine, is kept by content (so it survives
renames and moves), and is refused where it cannot be true (exact copies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from illudex.catalog.db import connect
from illudex.dupes import decisions
from illudex.errors import InvalidInput, NotFound
from illudex.library import Library
from illudex.sample import recolour


@pytest.fixture
def pairs(tmp_path: Path, make_picture) -> Path:
    """a.png with its smaller JPEG (near duplicates), a recoloured alternate, an unrelated
    picture, and an exact copy of a.png."""
    art = tmp_path / "art"
    a = make_picture(art / "a.png", size=(300, 200), seed=1)
    image = Image.open(a).convert("RGB")
    make_picture(art / "a_small.jpg", image=image.resize((150, 100), Image.Resampling.LANCZOS),
                 quality=85)
    make_picture(art / "a_recoloured.png", image=recolour(image, 90))
    make_picture(art / "other.png", size=(300, 200), seed=2)
    shutil.copy2(a, art / "a_copy.png")
    return art


def groups(lib: Library, art: Path) -> list[tuple[str, list[str]]]:
    lib.scan([art])
    return [(g.relation, sorted(Path(f.path).name for f in g.files))
            for g in lib.dupes.find([art]).groups]


def alternates(lib: Library, art: Path) -> list[list[str]]:
    return [sorted(Path(p.path).name for p in pair) for pair in lib.dupes.find([art]).alternates]


def test_decisions_are_stored_by_sorted_digest(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    decisions.mark(conn, "bbb", "aaa", "alternate")
    decisions.mark(conn, "aaa", "bbb", "not_duplicate")  # the later word counts
    assert decisions.load_decisions(conn) == {("aaa", "bbb"): "not_duplicate"}
    assert decisions.forget(conn, "bbb", "aaa") and decisions.load_decisions(conn) == {}
    assert not decisions.forget(conn, "aaa", "bbb")
    with pytest.raises(InvalidInput, match="same content"):
        decisions.mark(conn, "aaa", "aaa", "not_duplicate")
    with pytest.raises(InvalidInput, match="relation must be one of"):
        decisions.mark(conn, "aaa", "bbb", "cousin")
    conn.close()


def test_engine_finds_the_near_pair(library: Library, pairs: Path) -> None:
    assert groups(library, pairs) == [("near", ["a.png", "a_copy.png", "a_small.jpg"])]


def test_not_duplicate_splits_the_pair_for_good_even_after_renames(
    library: Library, pairs: Path
) -> None:
    groups(library, pairs)
    library.dupes.mark(pairs / "a.png", pairs / "a_small.jpg", "not_duplicate")
    assert groups(library, pairs) == [("exact", ["a.png", "a_copy.png"])]
    # Renamed and moved: the decision follows the content.
    (pairs / "a_small.jpg").rename(pairs / "renamed.jpg")
    (pairs / "sub").mkdir()
    (pairs / "a.png").rename(pairs / "sub" / "moved.png")
    assert groups(library, pairs) == [("exact", ["a_copy.png", "moved.png"])]


def test_exact_copies_cannot_be_marked_not_duplicate(library: Library, pairs: Path) -> None:
    library.scan([pairs])
    with pytest.raises(InvalidInput, match="same content"):
        library.dupes.mark(pairs / "a.png", pairs / "a_copy.png", "not_duplicate")
    assert decisions.load_decisions(library.conn) == {}


def test_alternate_and_duplicate_decisions(library: Library, pairs: Path) -> None:
    groups(library, pairs)
    library.dupes.mark(pairs / "a_small.jpg", pairs / "a.png", "alternate")
    library.dupes.mark(pairs / "other.png", pairs / "a_recoloured.png", "duplicate")
    assert groups(library, pairs) == [
        ("exact", ["a.png", "a_copy.png"]), ("near", ["a_recoloured.png", "other.png"])]
    # The person's alternate (beside whatever the engine says about the recoloured one).
    assert ["a.png", "a_small.jpg"] in alternates(library, pairs)


def test_marking_needs_catalogued_pictures(library: Library, pairs: Path) -> None:
    with pytest.raises(NotFound, match="not in the catalog"):
        library.dupes.mark(pairs / "a.png", pairs / "other.png", "not_duplicate")
