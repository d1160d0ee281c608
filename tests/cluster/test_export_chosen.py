"""Exporting chosen clusters: only their folders, named as in a full export; undo of an
export through the journal takes away the folders it made."""

from __future__ import annotations

from pathlib import Path

from illudex.cluster import Cluster, ClusterResult, export_plan
from illudex.journal import Journal


def _touch(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    return str(path)


def test_plan_for_chosen_clusters_only(tmp_path: Path) -> None:
    a, b, c = (_touch(tmp_path / "src" / f"{n}.png") for n in "abc")
    result = ClusterResult([Cluster(0, ["red"], [1], [a]), Cluster(1, ["red"], [2], [b])],
                           [3], [c], [], [], {})
    full = export_plan(result, tmp_path / "out")
    one = export_plan(result, tmp_path / "out", clusters=[1])
    assert one == [(Path(b), tmp_path / "out" / "red_2" / "b.png")]  # same name as in full
    assert one[0] in full and len(full) == 3  # the full export also has the outliers
    assert export_plan(result, tmp_path / "out", clusters=[]) == []


def test_undo_removes_the_folders_an_action_made(tmp_path: Path) -> None:
    from illudex.catalog.db import connect

    conn = connect(tmp_path / "catalog.sqlite")
    (tmp_path / "library").mkdir()  # on the same device: undone copies go to its trash
    journal = Journal(conn, tmp_path / "library")
    src = _touch(tmp_path / "src" / "a.png")
    (tmp_path / "out").mkdir()
    keep = _touch(tmp_path / "out" / "theirs.txt")  # was there before: stays
    with journal.action("cluster-copy", "copy") as action:
        journal.make_folders(action, str(tmp_path / "out" / "new" / "deeper"))
        journal.copy(action, src, str(tmp_path / "out" / "new" / "deeper" / "a.png"))
    assert (tmp_path / "out" / "new" / "deeper" / "a.png").exists()
    report = journal.undo(action)
    assert not report.conflicts
    assert not (tmp_path / "out" / "new").exists() and Path(keep).exists()
