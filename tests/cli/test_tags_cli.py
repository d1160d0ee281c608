"""`illudex tags ...`: vocabulary commands and undoable batch edits, on a real library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from illudex.cli import app

FAMILIES = {
    "cat": ["cat", "animal", "whiskers"],
    "car": ["car", "vehicle", "wheel"],
}


@pytest.fixture
def pics(tmp_path: Path) -> dict[str, list[Path]]:
    """Four pictures per family with captions; one uncaptioned picture."""
    folder = tmp_path / "pics"
    folder.mkdir()
    made: dict[str, list[Path]] = {}
    for n, (family, tags) in enumerate(FAMILIES.items()):
        for i in range(4):
            path = folder / f"{family}{i}.png"
            Image.new("RGB", (32, 24), (60 * n, 40 * i, 90)).save(path)
            path.with_suffix(".txt").write_text(", ".join(tags), encoding="utf-8")
            made.setdefault(family, []).append(path)
    Image.new("RGB", (20, 20), (1, 2, 3)).save(folder / "bare.png")
    made["bare"] = [folder / "bare.png"]
    return made


@pytest.fixture
def cli(tmp_path: Path, pics: dict[str, list[Path]]):
    env = {"ILLUDEX_LIBRARY": str(tmp_path / "library"), "COLUMNS": "250"}
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    scanned = run("scan", str(tmp_path / "pics"), "--workers", "1")
    assert scanned.exit_code == 0, scanned.output
    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def total(cli, query: str) -> int:
    return json.loads(ok(cli("search", query, "--json")).stdout)["total"]


def tags_json(cli, *args: str):
    return json.loads(ok(cli("tags", *args, "--json")).stdout)


# --- vocabulary ----------------------------------------------------------------------


def test_list_by_count_and_prefix(cli) -> None:
    listed = tags_json(cli, "list")
    assert {t["name"]: t["count"] for t in listed} == {
        "cat": 4, "animal": 4, "whiskers": 4, "car": 4, "vehicle": 4, "wheel": 4}
    assert {t["name"] for t in tags_json(cli, "list", "--prefix", "wh")} == {"wheel", "whiskers"}


def test_alias_added_through_cli_is_searched(cli) -> None:
    assert total(cli, "kitty") == 0
    assert "unalias" in ok(cli("tags", "alias", "kitty", "cat")).stdout
    assert total(cli, "kitty") == 4
    assert "kitty" in tags_json(cli, "show", "cat")["aliases"]
    ok(cli("tags", "unalias", "kitty"))
    assert total(cli, "kitty") == 0
    missing = cli("tags", "unalias", "kitty")
    assert missing.exit_code == 1 and "no alias" in missing.stderr


def test_implication_searched_shown_and_applied(cli) -> None:
    ok(cli("tags", "imply", "cat", "mammal"))
    assert total(cli, "mammal") == 4  # search follows implications at once
    assert tags_json(cli, "show", "cat")["implies"] == ["mammal"]
    assert tags_json(cli, "show", "mammal")["implied_by"] == ["cat"]
    loop = cli("tags", "imply", "mammal", "cat")
    assert loop.exit_code == 1 and "loop" in loop.stderr
    assert "undo" in ok(cli("tags", "imply-apply", "--yes")).stdout
    assert tags_json(cli, "show", "mammal")["sources"] == {"implied": 4}
    ok(cli("undo"))
    assert tags_json(cli, "show", "mammal")["sources"] == {}
    ok(cli("tags", "unimply", "cat", "mammal"))
    assert total(cli, "mammal") == 0


def test_translation_and_typo_found(cli) -> None:
    ok(cli("tags", "translate", "cat", "ja", "猫"))
    found = tags_json(cli, "find", "猫")
    assert found[0]["name"] == "cat" and found[0]["via"] == "translation"
    assert total(cli, "猫") == 4
    typo = tags_json(cli, "find", "whiskrs")
    assert typo[0]["name"] == "whiskers" and typo[0]["reason"] == "fuzzy"
    human = ok(cli("tags", "find", "whiskrs")).stdout
    assert "typo (1 edit)" in human
    ok(cli("tags", "untranslate", "cat", "ja", "猫"))
    assert total(cli, "猫") == 0


def test_category_set_and_refused(cli) -> None:
    assert "was general" in ok(cli("tags", "category", "cat", "character")).stdout
    assert [t["name"] for t in tags_json(cli, "list", "--category", "character")] == ["cat"]
    bad = cli("tags", "category", "cat", "colour")
    assert bad.exit_code == 1 and "unknown tag category" in bad.stderr
    unknown = cli("tags", "show", "nosuchtag")
    assert unknown.exit_code == 1 and "tags find" in unknown.stderr


# --- batch edits ---------------------------------------------------------------------


def test_batch_add_then_undo(cli) -> None:
    dry = ok(cli("tags", "add", "car", "--tag", "fast", "--dry-run"))
    assert "4 picture(s)" in dry.stdout and "fast (new)" in dry.stdout
    assert total(cli, "fast") == 0
    refused = cli("tags", "add", "car", "--tag", "fast")  # no terminal, no --yes
    assert refused.exit_code == 1 and total(cli, "fast") == 0
    done = ok(cli("tags", "add", "car", "--tag", "fast", "--tag", "red", "--yes"))
    assert "illudex undo" in done.stdout
    assert total(cli, "fast red") == 4
    ok(cli("undo"))
    assert total(cli, "fast") == 0 and total(cli, "red") == 0


def test_remove_replace_and_merge_undo(cli) -> None:
    ok(cli("tags", "remove", "car", "--tag", "wheel", "--yes"))
    assert total(cli, "wheel") == 0
    ok(cli("undo"))
    assert total(cli, "wheel") == 4
    ok(cli("tags", "replace", "cat", "whiskers", "fur", "--yes"))
    assert total(cli, "fur") == 4 and total(cli, "whiskers") == 0
    ok(cli("undo"))
    assert total(cli, "whiskers") == 4 and total(cli, "fur") == 0
    ok(cli("tags", "merge", "vehicle", "car", "--yes"))
    assert tags_json(cli, "show", "car")["tag"]["name"] == "vehicle"  # car is an alias now
    ok(cli("undo"))
    assert tags_json(cli, "show", "car")["tag"]["name"] == "car"


def test_no_match_changes_nothing(cli) -> None:
    result = ok(cli("tags", "add", "nosuchtag", "--tag", "x", "--yes"))
    assert "nothing to do" in result.stdout
    assert total(cli, "x") == 0


def test_write_txt_writes_captions_and_undo_restores(cli, pics) -> None:
    car0, bare = pics["car"][0], pics["bare"][0]
    old = car0.with_suffix(".txt").read_text(encoding="utf-8")
    ok(cli("tags", "add", "car OR tags:0", "--tag", "fast", "--yes"))
    dry = ok(cli("tags", "write-txt", "fast", "--dry-run"))
    assert "4 replaced, 1 new" in dry.stdout
    assert car0.with_suffix(".txt").read_text(encoding="utf-8") == old
    ok(cli("tags", "write-txt", "fast", "--yes"))
    assert "fast" in car0.with_suffix(".txt").read_text(encoding="utf-8")
    assert bare.with_suffix(".txt").read_text(encoding="utf-8").strip() == "fast"
    ok(cli("undo"))
    assert car0.with_suffix(".txt").read_text(encoding="utf-8") == old
    assert not bare.with_suffix(".txt").exists()


# --- import and export -----------------------------------------------------------------


def test_import_booru_csv_and_json_round_trip(cli, tmp_path: Path) -> None:
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("antecedent_name,consequent_name,status\nkitten,cat,active\n"
                       "old_name,cat,deleted\n", encoding="utf-8")
    report = tags_json(cli, "import", str(aliases), "--kind", "aliases")
    assert report["aliases"]["applied"] == 1 and report["aliases"]["skipped"] == 1
    assert total(cli, "kitten") == 4
    no_kind = cli("tags", "import", str(aliases))
    assert no_kind.exit_code == 1 and "kind" in no_kind.stderr
    ok(cli("tags", "imply", "cat", "animal"))
    exported = tmp_path / "vocab.json"
    ok(cli("tags", "export", str(exported)))
    data = json.loads(exported.read_text(encoding="utf-8"))
    assert data["aliases"] == {"kitten": "cat"}
    assert data["implications"] == [["cat", "animal"]]
    csv_out = tmp_path / "implications.csv"
    ok(cli("tags", "export", str(csv_out), "--kind", "implications"))
    assert csv_out.read_text(encoding="utf-8").splitlines() == [
        "antecedent_name,consequent_name", "cat,animal"]
    fresh = CliRunner().invoke(app, ["tags", "import", str(exported), "--json"],
                               env={"ILLUDEX_LIBRARY": str(tmp_path / "fresh")})
    assert fresh.exit_code == 0, fresh.output
    shown = CliRunner().invoke(app, ["tags", "show", "kitten", "--json"],
                               env={"ILLUDEX_LIBRARY": str(tmp_path / "fresh")})
    assert json.loads(shown.stdout)["tag"]["name"] == "cat"
