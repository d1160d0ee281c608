"""Every command refuses bad input with a clear message and a non-zero exit, never a
traceback: empty or missing paths, an empty library, numbers past 64 bits, nan, deep
queries, JSON of the wrong shape; global options before the command; files wherever
folders are accepted."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from illudex.cli import app, command_name
from tests.fixtures.onnx_models import build_tagger

HUGE = "99999999999999999999"


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


def refused(result: Result, *words: str) -> None:
    """A clean refusal: non-zero, a message, no exception escaping the command."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception), result.output)
    assert "Traceback" not in result.output
    text = " ".join(result.output.replace("│", " ").split())  # unwrap Rich's error panel
    for word in words:
        assert word in text, result.output


@pytest.fixture
def art(tmp_path: Path, make_picture) -> Path:
    make_picture(tmp_path / "art" / "a.png", seed=1)
    make_picture(tmp_path / "art" / "b.png", seed=2)
    return tmp_path / "art"


@pytest.fixture
def library(tmp_path: Path, art: Path) -> Path:
    result = run("scan", art, "--library", tmp_path / "lib", "--workers", "1")
    assert result.exit_code == 0, result.output
    return tmp_path / "lib"


PATH_COMMANDS = [["scan"], ["dupes"], ["dupes", "find"], ["tag"], ["embed"],
                 ["dupes", "mark", "{art}/a.png"], ["tags", "import"]]


@pytest.mark.parametrize("command", PATH_COMMANDS, ids=" ".join)
def test_an_empty_path_is_refused(command: list[str], art: Path, library: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(art)  # an empty path must not mean this folder
    words = [c.format(art=art) for c in command]
    refused(run(*words, "", "--library", library), "empty path")


@pytest.mark.parametrize("command", PATH_COMMANDS, ids=" ".join)
def test_a_missing_path_is_refused(command: list[str], art: Path, library: Path) -> None:
    words = [c.format(art=art) for c in command]
    refused(run(*words, art / "nowhere", "--library", library), "no such file or folder")


def test_cluster_refuses_an_empty_target(art: Path, library: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(art)
    refused(run("cluster", "", "--library", library), "empty")


def test_search_in_a_missing_folder_is_refused(art: Path, library: Path) -> None:
    refused(run("search", "a", "--in", art / "nowhere", "--library", library), "no such")


@pytest.mark.parametrize("argv", [["scan", "{art}"], ["search", "x"], ["history"], ["undo"],
                                  ["tags", "list"], ["dupes", "{art}"]])
def test_an_empty_library_is_refused(argv: list[str], art: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(art)  # would become a library
    refused(run(*[a.format(art=art) for a in argv], "--library", ""), "empty path")
    refused(run("--library", "", *[a.format(art=art) for a in argv]), "empty path")
    assert not (art / "catalog.db").exists()


def test_the_library_option_may_come_before_the_command(tmp_path: Path, art: Path) -> None:
    library = tmp_path / "first"
    scanned = run("--library", library, "scan", art, "--json")
    assert scanned.exit_code == 0, scanned.output
    assert (library / "catalog.db").exists()
    found = run("-L", library, "search", "", "--json")
    assert json.loads(found.stdout)["total"] == 2
    # The command's own option wins; nothing leaks into the next command.
    other = run("--library", library, "search", "", "--json", "--library", tmp_path / "o")
    assert json.loads(other.stdout)["total"] == 0
    assert command_name(["--library", "x", "scan", "y"]) == "scan"
    assert command_name(["--library=x", "search"]) == "search"


def test_a_file_is_accepted_wherever_a_folder_is(tmp_path: Path, art: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    library = tmp_path / "lib"
    scanned = run("scan", art / "a.png", "--library", library, "--json")
    assert scanned.exit_code == 0, scanned.output
    assert json.loads(scanned.stdout)["added"] == 1
    again = run("scan", art / "a.png", "--library", library, "--json")
    assert json.loads(again.stdout)["unchanged"] == 1
    tagger = build_tagger(tmp_path / "tiny-tagger")
    tagged = run("tag", art / "b.png", "--model", tagger, "--library", library, "--json")
    assert tagged.exit_code == 0, tagged.output
    assert [r["path"] for r in json.loads(tagged.stdout)["images"]] == [str(art / "b.png")]
    dupes = run("dupes", art / "a.png", art / "b.png", "--library", library, "--json")
    assert dupes.exit_code == 0, dupes.output


def test_a_file_that_is_no_picture_is_refused(tmp_path: Path, art: Path) -> None:
    (art / "notes.md").write_text("hello")
    refused(run("scan", art / "notes.md", "--library", tmp_path / "lib"), "not a picture")


@pytest.mark.parametrize("value", ["nan", "inf", "-0.5", "1.5", "0"])
def test_dupes_threshold_out_of_range_is_refused(value: str, art: Path,
                                                 library: Path) -> None:
    refused(run("dupes", art, "--threshold", value, "--library", library))


@pytest.mark.parametrize("argv", [["undo", HUGE], ["undo", "-1"], ["search", f"similar:{HUGE}"],
                                  ["search", f"x limit:{HUGE}"], ["search", "x", "--limit", HUGE],
                                  ["search", "(" * 2000], ["search", "-" * 5000 + "a"],
                                  ["tags", "list", "--limit", HUGE],
                                  ["scan", "{art}", "--max-pixels", HUGE]])
def test_numbers_and_queries_out_of_range_are_refused(argv: list[str], art: Path,
                                                      library: Path) -> None:
    refused(run(*[a.format(art=art) for a in argv], "--library", library))


def test_tags_import_of_the_wrong_shape_is_refused_clearly(tmp_path: Path,
                                                           library: Path) -> None:
    bad = tmp_path / "v.json"
    bad.write_text(json.dumps({"tags": [5, {"name": 3}], "aliases": {"a": None}}))
    result = run("tags", "import", bad, "--library", library)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert "refused" in result.output
    bad.write_text(json.dumps({"aliases": [["a", "b"]]}))
    refused(run("tags", "import", bad, "--library", library), "must be")


def test_move_to_where_every_move_fails_exits_non_zero(tmp_path: Path, art: Path,
                                                       library: Path) -> None:
    (art / "copy.png").write_bytes((art / "a.png").read_bytes())
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run("dupes", art, "--move-to", blocker, "--yes", "--library", library)
    refused(result)
    assert (art / "copy.png").exists() and (art / "a.png").exists()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(limit=st.integers(min_value=-(2**70), max_value=2**70),
       offset=st.integers(min_value=-(2**70), max_value=2**70))
def test_any_search_page_is_answered_or_refused(library: Path, limit: int, offset: int) -> None:
    result = run("search", "", "--limit", str(limit), "--offset", str(offset),
                 "--library", library, "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert (result.exit_code == 0) == (1 <= limit < 2**63 and 0 <= offset < 2**63)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(threshold=st.floats(allow_nan=True, allow_infinity=True))
def test_any_threshold_is_used_or_refused(art: Path, library: Path, threshold: float) -> None:
    result = run("dupes", art, "--threshold", repr(threshold), "--library", library, "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert (result.exit_code == 0) == (not math.isnan(threshold) and 0 < threshold <= 1)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(action=st.integers(min_value=-(2**70), max_value=2**70))
def test_any_undo_id_is_answered_or_refused(library: Path, action: int) -> None:
    result = run("undo", str(action), "--library", library, "--json")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output


@pytest.mark.parametrize("argv", [["cluster", "{art}", "--seed", HUGE],
                                  ["cluster", "{art}", "--seed", "-5"],
                                  ["cluster", "{art}", "--export", "", "--yes"],
                                  ["cluster", "{art}", "--map", ""],
                                  ["tag", "{art}", "--general", "nan"],
                                  ["tag", "{art}", "--character", "2"],
                                  ["tag", "{art}", "--model", ""],
                                  ["embed", "{art}", "--model", ""],
                                  ["tags", "export", ""]])
def test_siblings_of_the_reported_inputs_are_refused(argv: list[str], art: Path, library: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(art)  # an empty --export must not export into this folder
    before = sorted(p.name for p in art.iterdir())
    refused(run(*[a.format(art=art) for a in argv], "--library", library))
    assert sorted(p.name for p in art.iterdir()) == before


@pytest.mark.parametrize("argv", [["models", "info", ""], ["models", "download", ""]])
def test_an_empty_model_name_is_refused(argv: list[str]) -> None:
    refused(run(*argv), "empty model name")
