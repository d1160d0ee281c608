"""`illudex cluster`: three tag families in, three named clusters out; export and undo."""

from __future__ import annotations

import json
import re
from itertools import combinations
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from illudex.cli import app

FAMILIES = {
    "cat": ["cat", "animal", "whiskers"],
    "car": ["car", "vehicle", "wheel"],
    "tree": ["tree", "plant", "leaf"],
}
# Two of four family extras per picture: no two pictures share a caption, so only the
# families (not identical captions) make clusters.
EXTRAS = {
    "cat": ["tabby", "kitten", "calico", "paw"],
    "car": ["sedan", "truck", "road", "engine"],
    "tree": ["oak", "pine", "bark", "branch"],
}


def make_pictures(folder: Path, per_family: int = 6, captions: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, (family, tags) in enumerate(FAMILIES.items()):
        pairs = list(combinations(EXTRAS[family], 2))
        for i in range(per_family):
            path = folder / f"{family}{i}.png"
            Image.new("RGB", (32, 24), (40 * n, 30 * i, 90)).save(path)
            if captions:
                caption = ", ".join([*tags, *pairs[i]])
                path.with_suffix(".txt").write_text(caption, encoding="utf-8")


@pytest.fixture
def pics(tmp_path: Path) -> Path:
    make_pictures(tmp_path / "pics")
    return tmp_path / "pics"


@pytest.fixture
def cli(tmp_path: Path):
    env = {"ILLUDEX_LIBRARY": str(tmp_path / "library"), "COLUMNS": "250"}
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return run


def cluster_json(cli, *args: str) -> dict:
    result = cli("cluster", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def family_of(path: str) -> str:
    return re.match(r"[a-z]+", Path(path).name).group()


def assert_three_families(data: dict) -> None:
    assert len(data["clusters"]) == 3
    for cluster in data["clusters"]:
        families = {family_of(f) for f in cluster["files"]}
        assert len(families) == 1
        family = families.pop()
        assert len(cluster["files"]) == 6
        assert set(cluster["label"][:3]) == set(FAMILIES[family])
    assert data["outliers"] == []


def test_three_families_with_k_3(cli, pics: Path) -> None:
    data = cluster_json(cli, str(pics), "--k", "3")
    assert_three_families(data)
    assert {"clusters", "outliers", "metrics"} <= set(data)
    assert {"id", "label", "files"} <= set(data["clusters"][0])
    assert data["metrics"]["k"] == 3 and data["metrics"]["k_chosen_by"] == "given"
    assert all(Path(f).is_absolute() for c in data["clusters"] for f in c["files"])


def test_three_families_with_k_auto_and_scores(cli, pics: Path) -> None:
    data = cluster_json(cli, str(pics))
    assert_three_families(data)
    tried = {s["k"] for s in data["metrics"]["k_scores"]}
    assert {2, 3, 4} <= tried
    human = cli("cluster", str(pics), "--method", "agglomerative")
    assert human.exit_code == 0, human.output
    assert "Each k tried" in human.stdout
    assert "animal, cat, whiskers" in human.stdout


def test_query_selects_the_pictures(cli, pics: Path) -> None:
    assert cli("scan", str(pics), "--workers", "1").exit_code == 0
    data = cluster_json(cli, "cat OR car", "--k", "2")
    files = [Path(f).name for c in data["clusters"] for f in c["files"]]
    assert len(files) == 12 and not any(f.startswith("tree") for f in files)


def test_map_png_is_written(cli, pics: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.png"
    assert cli("cluster", str(pics), "--k", "3", "--map", str(out)).exit_code == 0
    with Image.open(out) as im:
        assert im.format == "PNG" and im.width > 100


def test_export_copy_into_label_folders_and_undo(cli, pics: Path, tmp_path: Path) -> None:
    dest = tmp_path / "sorted"
    dry = cli("cluster", str(pics), "--k", "3", "--export", str(dest), "--dry-run")
    assert dry.exit_code == 0 and "would copy 36 file(s)" in dry.stdout
    assert not dest.exists()
    done = cli("cluster", str(pics), "--k", "3", "--export", str(dest), "--copy", "--yes")
    assert done.exit_code == 0, done.output
    assert "illudex undo" in done.stdout
    folders = sorted(dest.iterdir())
    assert len(folders) == 3
    for folder in folders:  # named by the label: its family's tags
        family = family_of(next(folder.iterdir()).name)
        assert set(folder.name.split("+")) == set(FAMILIES[family])  # label_tags=3
        assert {p.name for p in folder.iterdir()} == {
            f"{family}{i}{ext}" for i in range(6) for ext in (".png", ".txt")}
    assert (pics / "cat0.png").exists()  # copied, not moved
    assert cli("undo").exit_code == 0
    assert not [p for p in dest.rglob("*") if p.is_file()]
    assert (pics / "cat0.png").exists() and (pics / "cat0.txt").exists()


def test_export_needs_one_mode(cli, pics: Path, tmp_path: Path) -> None:
    result = cli("cluster", str(pics), "--export", str(tmp_path / "x"), "--move", "--link")
    assert result.exit_code == 1 and "one of --move, --copy and --link" in result.stderr


def test_single_picture_is_refused(cli, tmp_path: Path) -> None:
    folder = tmp_path / "one"
    folder.mkdir()
    Image.new("RGB", (20, 20)).save(folder / "a.png")
    (folder / "a.txt").write_text("cat", encoding="utf-8")
    result = cli("cluster", str(folder))
    assert result.exit_code == 1 and "at least 2" in result.stderr
    assert "Traceback" not in result.output


def test_pictures_without_tags_are_refused(cli, tmp_path: Path) -> None:
    make_pictures(tmp_path / "bare", per_family=2, captions=False)
    result = cli("cluster", str(tmp_path / "bare"))
    assert result.exit_code == 1
    assert "tag" in result.stderr and "Traceback" not in result.output


def test_bad_options_are_explained(cli, pics: Path) -> None:
    unknown = cli("cluster", str(pics), "--method", "hdbscan", "--param", "bogus=1")
    assert unknown.exit_code == 1 and "bogus" in unknown.stderr
    k_for_density = cli("cluster", str(pics), "--method", "hdbscan", "--k", "3")
    assert k_for_density.exit_code == 1 and "leave k at 'auto'" in k_for_density.stderr
    assert cli("cluster", str(pics), "--k", "three").exit_code == 1
    density = cluster_json(cli, str(pics), "--method", "hdbscan",
                           "--param", "min_cluster_size=3")
    assert density["metrics"]["method"] == "hdbscan" and len(density["clusters"]) >= 2


def test_methods_lists_parameters(cli) -> None:
    result = cli("cluster", "methods")
    assert result.exit_code == 0
    for name in ("kmeans", "agglomerative", "spectral", "optics", "hdbscan", "min_cluster_size"):
        assert name in result.stdout
