"""The CLI maps errors in one place (illudex.cli): a project error is one line on stderr
and exit status 1, from any command; a bug is one line naming the log file that holds
its traceback (ILLUDEX_DEBUG=1 shows the traceback instead), in a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from illudex.cli import _new_app, app
from illudex.errors import NotFound

BUG = """
import sys
import typer
import illudex.cli as cli

def boom(secret_token: str = typer.Option("")) -> None:
    '''A command with a bug.'''
    {}.pop("the key")

cli.SUBCOMMANDS["boom"] = boom
sys.argv = ["illudex", "boom", "--secret-token", "hunter2"]
cli.main()
"""


def test_a_project_error_is_one_line_from_any_command() -> None:
    single = _new_app()  # what `illudex` builds for one command

    @single.command("lookup")
    def lookup() -> None:
        raise NotFound("no tag [red]x[/red] in the vocabulary")

    single.command("other", hidden=True)(lambda: None)  # a group, as _app_for makes it
    result = CliRunner().invoke(single, ["lookup"])
    assert result.exit_code == 1
    assert not isinstance(result.exception, NotFound)  # mapped, not escaping
    assert result.output.strip() == "error: no tag [red]x[/red] in the vocabulary"  # as text


def test_a_real_refusal_goes_through_the_mapping(tmp_path: Path, make_picture) -> None:
    make_picture(tmp_path / "art" / "a.png", seed=1)
    lib = tmp_path / "lib"
    assert CliRunner().invoke(app, ["scan", str(tmp_path / "art"), "-L", str(lib)]).exit_code == 0
    # LibraryError (`dupes mark` had its own try/except before issue 11): same content.
    refused = CliRunner().invoke(app, ["dupes", "mark", str(tmp_path / "art" / "a.png"),
                                       str(tmp_path / "art" / "a.png"), "--duplicate",
                                       "-L", str(lib)])
    assert refused.exit_code == 1 and refused.output.startswith("error: "), refused.output
    assert "Traceback" not in refused.output


def run_bug(tmp_path: Path, debug: bool) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state"), "COLUMNS": "300"}
    env.pop("ILLUDEX_DEBUG", None)
    if debug:
        env["ILLUDEX_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-c", BUG], capture_output=True, text=True,
                          env=env, timeout=60)


def test_a_bug_is_one_line_and_its_traceback_goes_to_the_log(tmp_path: Path) -> None:
    result = run_bug(tmp_path, debug=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    log = tmp_path / "state" / "illudex" / "log" / "errors.log"
    assert "internal error (KeyError" in result.stderr and str(log) in result.stderr
    text = log.read_text()
    assert "Traceback" in text and "in boom" in text and "KeyError: 'the key'" in text
    assert "hunter2" not in text  # arguments may hold a token: only the command is named


def test_illudex_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run_bug(tmp_path, debug=True)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "KeyError" in result.stderr
