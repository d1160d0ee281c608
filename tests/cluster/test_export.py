"""Export plans: folders named by label, safe and unique; sidecars travel with images."""

from __future__ import annotations

from pathlib import Path

from illudex.cluster import Cluster, ClusterResult, export_plan, sanitise_name
from illudex.cluster.export import OUTLIER_FOLDER, folder_names


def _touch(path: Path, text: str = "") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def test_sanitise_for_every_filesystem() -> None:
    assert sanitise_name("fate/grand_order+saber_(fate)") == "fate_grand_order+saber_(fate)"
    assert sanitise_name('a:b*c?"d<e>|f\\g') == "a_b_c__d_e__f_g"
    assert sanitise_name("CON") == "cluster_CON"
    assert sanitise_name("  ..  ") == "cluster"
    assert sanitise_name("long hair . ") == "long_hair"
    assert len(sanitise_name("x" * 300)) == 80
    assert sanitise_name("艦これ") == "艦これ"


def test_folder_names_unique_case_insensitively() -> None:
    clusters = [Cluster(0, ["Red_hair"], [], []), Cluster(1, ["red_hair"], [], []),
                Cluster(2, [], [], []), Cluster(3, ["_outliers"], [], [])]
    names = folder_names(ClusterResult(clusters, [], [], [], [], {}))
    assert names == {0: "Red_hair", 1: "red_hair_2", 2: "cluster_02", 3: "_outliers_2"}


def test_plan_moves_sidecars_and_avoids_every_clash(tmp_path: Path) -> None:
    src = tmp_path / "src"
    a = _touch(src / "one" / "pic.png")
    _touch(src / "one" / "pic.txt", "red_hair")
    b = _touch(src / "two" / "pic.png")  # same name, other folder
    _touch(src / "two" / "pic.png.txt", "red_hair")  # the other sidecar convention
    c = _touch(src / "c.jpg")
    d = _touch(src / "d.webp")
    dest = tmp_path / "out"
    _touch(dest / "red_hair+sword" / "c.jpg")  # already there: must not be overwritten
    clusters = [Cluster(0, ["red_hair", "sword"], [1, 2, 3], [a, b, c])]
    result = ClusterResult(clusters, [4], [d], [], [], {})
    plan = export_plan(result, dest)
    folder = dest / "red_hair+sword"
    assert plan == [
        (Path(c), folder / "c_2.jpg"),
        (Path(a), folder / "pic.png"),
        (src / "one" / "pic.txt", folder / "pic.txt"),
        (Path(b), folder / "pic_2.png"),
        (src / "two" / "pic.png.txt", folder / "pic_2.png.txt"),
        (Path(d), dest / OUTLIER_FOLDER / "d.webp"),
    ]
    destinations = [dst for _, dst in plan]
    assert len(set(destinations)) == len(destinations)
    assert len(export_plan(result, dest, include_outliers=False)) == 5


def test_a_sidecar_shared_by_two_images_goes_once(tmp_path: Path) -> None:
    png = _touch(tmp_path / "a.png")
    jpg = _touch(tmp_path / "a.jpg")
    _touch(tmp_path / "a.txt")
    result = ClusterResult([Cluster(0, ["x"], [1, 2], [png, jpg])], [], [], [], [], {})
    sources = [src for src, _ in export_plan(result, tmp_path / "out")]
    assert sources.count(tmp_path / "a.txt") == 1 and len(sources) == 3
