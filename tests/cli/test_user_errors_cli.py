"""A bad option a person types reaches `illudex.cli`'s mapping as a project error, in the
real commands over a real library: one `error: …` line and exit status 1, never the
"internal error … please report it" line a bug gets. Before issue 11 a dataset step's
bad threshold and a picture path that was never scanned ended in plain exceptions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from illudex.cli import app


@pytest.fixture
def art(tmp_path: Path, make_picture) -> Path:
    make_picture(tmp_path / "art" / "a.png", seed=1)
    make_picture(tmp_path / "art" / "b.png", seed=2)
    return tmp_path / "art"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def refused(result: Result, *words: str) -> str:
    """One `error:` line from the mapping, exit 1, no exception escaping; the text."""
    text = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a bug
    assert text.startswith("error: ") and "internal error" not in text, result.output
    for word in words:
        assert word in text, result.output
    return text


@pytest.mark.parametrize(("step", "words"), [
    ('use = "dedupe"\nthreshold = 2', "threshold"),
    ('use = "dedupe"\nthreshold = "abc"', "threshold"),
    ('use = "face-count"\nconf = "abc"', "'abc'"),  # a number the step's check reads
])
def test_a_bad_step_parameter_in_a_dataset_spec(art: Path, tmp_path: Path, step: str,
                                                words: str) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[source]\npaths = ["{art}"]\n[[step]]\n{step}\n'
                    f'[export]\nformat = "kohya"\ndir = "{tmp_path / "out"}"\n')
    refused(run("dataset", "build", spec, "--dry-run", "--library", tmp_path / "lib"),
            "step " + step.split('"')[1], words)


def test_an_unknown_keeper_criterion(art: Path, tmp_path: Path) -> None:
    refused(run("dupes", art, "--prefer", "resolution,biggest", "--library", tmp_path / "lib"),
            "unknown keeper criterion 'biggest'", "resolution")


def test_a_vocabulary_file_of_the_wrong_shape(tmp_path: Path) -> None:
    document = tmp_path / "vocabulary.json"
    document.write_text(json.dumps({"aliases": [["a", "b"]]}))
    refused(run("tags", "import", document, "--library", tmp_path / "lib"),
            '"aliases" must be an object')
    table = tmp_path / "aliases.csv"
    table.write_text("antecedent_name,consequent_name\na,b\n")
    refused(run("tags", "import", table, "--library", tmp_path / "lib"),
            "say which kind of CSV it is")


def test_similar_to_a_picture_never_scanned(art: Path, tmp_path: Path) -> None:
    assert run("scan", art, "--library", tmp_path / "lib").exit_code == 0
    elsewhere = tmp_path / "elsewhere.png"
    refused(run("search", f'similar:"{elsewhere}"', "--library", tmp_path / "lib"),
            "not in the catalog")
