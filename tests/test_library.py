"""The Library facade: where it lives, what it refuses with a clear reason, and which
pictures it counts as in the library."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from illudex.catalog.schema import MIGRATIONS
from illudex.cli import app
from illudex.errors import NotFound
from illudex.imageio import DEFAULT_MAX_PIXELS
from illudex.library import CATALOG_NAME, Library, LibraryError, default_library_dir


def test_open_creates_the_folder_and_a_migrated_catalog(tmp_path: Path) -> None:
    with Library.open(tmp_path / "new" / "lib") as lib:
        assert lib.dir == (tmp_path / "new" / "lib").resolve()
        assert lib.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert lib.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert lib.max_pixels == DEFAULT_MAX_PIXELS
    with pytest.raises(sqlite3.ProgrammingError):  # closed on leaving the block
        lib.conn.execute("SELECT 1")


def test_environment_chooses_library_and_pixel_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ILLUDEX_LIBRARY", str(tmp_path / "from-env"))
    monkeypatch.setenv("ILLUDEX_MAX_PIXELS", "1234")
    assert default_library_dir() == tmp_path / "from-env"
    with Library.open() as lib:
        assert lib.dir == (tmp_path / "from-env").resolve() and lib.max_pixels == 1234


@pytest.mark.parametrize("problem", ["file in the way", "not a database", "newer schema"])
def test_a_library_that_cannot_be_opened_says_why(tmp_path: Path, problem: str) -> None:
    where = tmp_path / "lib"
    if problem == "file in the way":
        where.write_text("I am a file")
        expected = "cannot open the library at"
    elif problem == "not a database":
        where.mkdir()
        (where / CATALOG_NAME).write_bytes(b"garbage" * 1000)
        expected = "file is not a database"
    else:
        where.mkdir()
        conn = sqlite3.connect(where / CATALOG_NAME)
        conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
        conn.close()
        expected = "upgrade illudex"
    with pytest.raises(LibraryError, match=expected):
        Library.open(where)
    # The command says the same, without a traceback.
    result = CliRunner().invoke(app, ["scan", str(tmp_path), "--library", str(where)])
    assert result.exit_code == 1 and expected in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_image_ids_are_pictures_in_library_folders(
    library: Library, tmp_path: Path, make_picture
) -> None:
    make_picture(tmp_path / "art" / "a.png", seed=1)
    make_picture(tmp_path / "art" / "sub" / "b.png", seed=2)
    make_picture(tmp_path / "elsewhere" / "c.png", seed=3)
    library.scan([tmp_path / "art" / "sub"])
    library.scan([tmp_path / "art"])  # the parent takes the nested folder over
    assert library.folders() == [str(tmp_path / "art")]
    all_ids = library.image_ids([tmp_path / "art"])
    assert len(all_ids) == 2
    assert library.image_ids([tmp_path / "art" / "sub"]) == [
        library.image_at(tmp_path / "art" / "sub" / "b.png").id]
    assert library.image_ids([tmp_path / "elsewhere"]) == []
    rows = library.images(all_ids)
    assert {Path(r.path).name for r in rows.values()} == {"a.png", "b.png"}
    with pytest.raises(NotFound, match="not in the catalog"):
        library.image_at(tmp_path / "elsewhere" / "c.png")


def test_history_lists_actions_newest_first(library: Library, tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    for n in range(3):
        with library.journal.action("test", f"action {n}") as action_id:
            library.journal.write_text(action_id, str(tmp_path / "x.txt"), str(n))
    assert [r.summary for r in library.history.actions(limit=2)] == ["action 2", "action 1"]


def test_the_facade_stays_a_facade() -> None:
    # Work belongs in the services it composes (issue 11): a method added here for
    # something a service does should go to that service instead.
    import illudex.library

    public = [name for name in vars(Library) if not name.startswith("_")]
    assert len(public) <= 30, public
    assert len(Path(illudex.library.__file__).read_text().splitlines()) <= 450
    services = {"tags", "vocabulary", "similarity", "dupes", "models", "files", "history"}
    assert services <= set(public)


def test_services_are_made_once_and_see_the_limits_set_later(library: Library) -> None:
    models, similarity = library.models, library.similarity
    assert library.models is models  # one service per library: its state is shared
    library.workers, library.max_pixels = 3, 5000  # what the CLI does after opening
    assert models.limits.workers == 3 and similarity.limits.max_pixels == 5000


def test_opening_a_library_and_reading_tags_and_history_loads_no_heavy_module(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from illudex.library import Library\n"
        f"with Library.open({str(tmp_path / 'lib')!r}) as lib:\n"
        "    lib.tags.listing(); lib.vocabulary.aliases(); lib.history.actions()\n"
        "    lib.dupes; lib.files; lib.models\n"
        "print(sorted(m for m in ('numpy', 'PIL', 'cv2', 'sklearn', 'onnxruntime')\n"
        "             if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]", out.stderr


def test_settings_are_remembered_across_openings(tmp_path: Path) -> None:
    with Library.open(tmp_path / "lib") as lib:
        assert lib.settings.get("similar_model") is None
        lib.settings.set("similar_model", "wd-vit")
        lib.settings.set("clip_name", "clip")
    with Library.open(tmp_path / "lib") as lib:
        assert lib.settings.get("similar_model") == "wd-vit"
        assert lib.settings.get("clip_name") == "clip"
    assert not list((tmp_path / "lib").glob("*.part"))  # replaced whole, nothing left over
