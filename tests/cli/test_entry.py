"""The `illudex` executable builds only the command it runs (start-up is most of a re-run);
help and unknown names still see every command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from illudex.cli import SUBCOMMANDS, _app_for, app

ILLUDEX = Path(sys.executable).with_name("illudex")


def run(*args: str | Path, library: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ILLUDEX), *map(str, args)], capture_output=True, text=True,
                          env={"ILLUDEX_LIBRARY": str(library), "PATH": "/usr/bin:/bin",
                               "COLUMNS": "200"}, timeout=120)


def test_top_level_help_lists_every_command(tmp_path: Path) -> None:
    result = run("--help", library=tmp_path / "lib")
    assert result.returncode == 0, result.stderr
    for name in [*SUBCOMMANDS, "undo", "history", "version"]:
        assert name in result.stdout


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_a_named_command_gets_an_app_of_its_own(name: str) -> None:
    single = _app_for([name, "--help"])
    assert single is not app
    result = CliRunner().invoke(single, [name, "--help"], prog_name="illudex")
    assert result.exit_code == 0, result.output
    assert f"illudex {name}" in result.output


def test_help_and_unknown_names_get_the_whole_app() -> None:
    assert _app_for([]) is app
    assert _app_for(["--help"]) is app
    assert _app_for(["no-such-command"]) is app


def test_commands_run_through_the_single_command_app(tmp_path: Path, make_picture) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png", seed=1)
    make_picture(art / "b.png", seed=2)
    scanned = run("scan", art, "--json", library=tmp_path / "lib")
    assert scanned.returncode == 0, scanned.stderr
    assert json.loads(scanned.stdout)["added"] == 2
    found = run("dupes", art, "--json", library=tmp_path / "lib")
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["groups"] == []
    usage = run("dupes", "mark", "--help", library=tmp_path / "lib")
    assert usage.returncode == 0 and "illudex dupes mark" in usage.stdout
    unknown = run("no-such-command", library=tmp_path / "lib")
    assert unknown.returncode != 0 and "No such command" in unknown.stderr


def test_a_rerun_with_nothing_changed_loads_no_heavy_module(tmp_path: Path, make_picture) -> None:
    art = tmp_path / "art"
    make_picture(art / "a.png", seed=1)
    shutil.copy(art / "a.png", art / "b.png")
    assert run("dupes", art, "--json", library=tmp_path / "lib").returncode == 0
    probe = (
        "import sys, json\n"
        f"sys.argv = ['illudex', 'dupes', {str(art)!r}, '--json']\n"
        "from illudex.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ['PIL', 'numpy', 'cv2', 'multiprocessing', 'pydantic', 'sklearn']\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={"ILLUDEX_LIBRARY": str(tmp_path / "lib"), "PATH": "/usr/bin"},
                            timeout=120)
    assert result.returncode == 0, result.stderr
    report, loaded = result.stdout.strip().rsplit("\n", 1)
    assert len(json.loads(report)["groups"]) == 1  # answered, from the cache
    assert json.loads(loaded) == []
