"""`--engine` on the commands that run analysers: a wrong engine, or Ray missing, is one
line and exit 1 before any work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from illudex.cli import app


def run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["scan", "tag", "embed"])
def test_an_unknown_engine_is_refused(tmp_path: Path, command: str, make_picture) -> None:
    make_picture(tmp_path / "art" / "a.png")
    code, output = run(command, tmp_path / "art", "--engine", "spark",
                       "--library", tmp_path / "lib")
    assert code == 1
    assert "unknown engine 'spark'" in output
    assert "added" not in output


def test_ray_missing_says_what_to_install(tmp_path: Path, make_picture,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as on an install without the extra
    make_picture(tmp_path / "art" / "a.png")
    code, output = run("scan", tmp_path / "art", "--engine", "ray", "--library",
                       tmp_path / "lib")
    assert code == 1
    assert "pip install 'illudex[ray]'" in output
