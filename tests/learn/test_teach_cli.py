"""`illudex tags teach` on a real library: examples by id, path and query; --json; --apply."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from illudex.cli import app
from tests.learn.conftest import Corpus


def run(corpus: Corpus, *args: str):
    env = {"ILLUDEX_LIBRARY": str(corpus.lib.dir), "COLUMNS": "250"}
    return CliRunner().invoke(app, ["tags", "teach", *args], env=env)


def test_json_with_ids_paths_and_apply(corpus: Corpus) -> None:
    yes = [str(corpus.cats[0]), corpus.path(corpus.cats[1]), str(corpus.cats[2])]
    no = [str(i) for i in corpus.others[:3]]
    args = ["cat", *[a for y in yes for a in ("--yes", y)], *[a for n in no for a in ("--no", n)]]
    shown = run(corpus, *args, "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    assert data["examples"] == {"yes": 3, "no": 3} and data["applied"] is None
    suggested = {s["id"] for s in data["suggestions"]}
    assert suggested <= set(corpus.cats[3:]) and len(suggested) >= 5
    applied = run(corpus, *args, "--apply", "--min", "0.6", "--json")
    assert applied.exit_code == 0, applied.output
    info = json.loads(applied.stdout)["applied"]
    assert info["action"] and info["images"] >= 3
    undo = CliRunner().invoke(app, ["undo", "--json"],
                              env={"ILLUDEX_LIBRARY": str(corpus.lib.dir)})
    assert json.loads(undo.stdout)["action"] == info["action"]


def test_text_output_and_clear_refusal(corpus: Corpus) -> None:
    shown = run(corpus, "cat", "--yes", str(corpus.cats[0]), "--yes", str(corpus.cats[1]),
                "--no", str(corpus.others[0]), "--no", str(corpus.others[1]))
    assert shown.exit_code == 0, shown.output
    assert "cross-validated precision" in shown.output and "Label these next" in shown.output
    refused = run(corpus, "cat", "--yes", str(corpus.cats[0]), "--no", str(corpus.others[0]))
    assert refused.exit_code == 1 and "too few examples" in refused.output
