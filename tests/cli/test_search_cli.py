"""`illudex search`: a real library in tmp_path, pictures with .txt captions as tags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from illudex.cli import app
from illudex.search import QuerySyntaxError, parse

FAMILIES = {
    "cat": ["cat", "animal", "whiskers"],
    "car": ["car", "vehicle", "wheel"],
    "tree": ["tree", "plant", "leaf"],
}


def make_family_pictures(folder: Path, per_family: int = 6) -> dict[str, list[Path]]:
    """Small PNGs whose captions name their family's tags, plus red or blue."""
    folder.mkdir(parents=True, exist_ok=True)
    made: dict[str, list[Path]] = {}
    for n, (family, tags) in enumerate(FAMILIES.items()):
        for i in range(per_family):
            path = folder / f"{family}{i}.png"
            Image.new("RGB", (32 + i, 24), (40 * n, 30 * i, 90)).save(path)
            colour = "red" if i % 2 == 0 else "blue"
            path.with_suffix(".txt").write_text(", ".join([*tags, colour]), encoding="utf-8")
            made.setdefault(family, []).append(path)
    return made


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, list[Path]]:
    return make_family_pictures(tmp_path / "pics")


@pytest.fixture
def cli(tmp_path: Path, pics: dict[str, list[Path]]):
    """`cli(*args)` runs illudex on a library in tmp_path where `pics` are scanned."""
    env = {"ILLUDEX_LIBRARY": str(tmp_path / "library"), "COLUMNS": "250"}
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    scanned = run("scan", str(tmp_path / "pics"), "--workers", "1")
    assert scanned.exit_code == 0, scanned.output
    return run


def search_json(cli, *args: str) -> dict:
    result = cli("search", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def names(data: dict) -> set[str]:
    return {Path(r["path"]).name for r in data["results"]}


def test_json_shape_and_tags_from_captions(cli, pics) -> None:
    data = search_json(cli, "cat")
    assert set(data) <= {"results", "total", "warnings"}
    assert data["total"] == 6
    assert {tuple(sorted(r)) for r in data["results"]} == {("id", "path", "score")}
    assert {r["path"] for r in data["results"]} == {str(p.resolve()) for p in pics["cat"]}
    assert all(isinstance(r["id"], int) for r in data["results"])


def test_query_language(cli) -> None:
    assert names(search_json(cli, "cat red")) == {"cat0.png", "cat2.png", "cat4.png"}
    assert names(search_json(cli, "(cat OR car) -red")) == {
        "cat1.png", "cat3.png", "cat5.png", "car1.png", "car3.png", "car5.png"}
    assert search_json(cli, "whisk*")["total"] == 6
    assert names(search_json(cli, "tree width:>=36")) == {"tree4.png", "tree5.png"}


def test_limit_and_offset_page_through_all(cli) -> None:
    first = search_json(cli, "red sort:path", "--limit", "4")
    rest = search_json(cli, "red sort:path", "--limit", "4", "--offset", "4")
    assert first["total"] == rest["total"] == 9
    assert len(first["results"]) == 4 and len(rest["results"]) == 4
    assert not names(first) & names(rest)


def test_human_view_lists_files_and_total(cli) -> None:
    result = cli("search", "car")
    assert result.exit_code == 0, result.output
    assert "car0.png" in result.stdout and "of 6" in result.stdout
    assert "33×24" in result.stdout  # pixels of car1.png


def test_syntax_error_shows_caret_and_exits_2(cli) -> None:
    query = "cat (dog OR"
    with pytest.raises(QuerySyntaxError) as expected:
        parse(query)
    result = cli("search", query)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    at = lines.index(f"  {query}")
    assert lines[at + 1].index("^") == 2 + expected.value.position
    assert "Traceback" not in result.output


def test_unplannable_query_exits_2_with_reason(cli) -> None:
    result = cli("search", "folder:relative/dir")
    assert result.exit_code == 2
    assert "absolute" in result.stderr


def test_unknown_tag_suggests_nearest(cli) -> None:
    result = cli("search", "catt")
    assert result.exit_code == 0
    assert "did you mean cat" in result.stdout
    assert search_json(cli, "catt")["warnings"]


def test_in_scans_and_restricts_to_folder(cli, tmp_path: Path) -> None:
    other = make_family_pictures(tmp_path / "other", per_family=2)
    data = search_json(cli, "cat OR car", "--in", str(tmp_path / "other"))
    assert {r["path"] for r in data["results"]} == {
        str(p.resolve()) for p in other["cat"] + other["car"]}
    assert search_json(cli, "cat")["total"] == 8  # the other folder is in the library now


def test_similarity_without_embeddings_says_what_to_run(cli, pics) -> None:
    result = cli("search", f'similar:"{pics["cat"][0]}"')
    assert result.exit_code != 0
    assert "illudex embed" in result.stderr
    assert "Traceback" not in result.output
