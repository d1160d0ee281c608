"""Job rows: written as a job runs, read back newest first, old finished ones forgotten."""

from __future__ import annotations

from pathlib import Path

from illudex.catalog import jobs as rows
from illudex.catalog.db import connect


def test_rows_round_trip_and_left_running_ones_become_resumable(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    done = rows.create(conn, "scan", {"paths": ["/a"]}, 1.0)
    rows.save(conn, rows.JobRow(id=done, kind="scan", params={}, state="done", done=5,
                                total=5, summary={"added": 5}, error_count=1,
                                errors=[{"path": "x.png", "error": "truncated"}],
                                finished=2.0))
    running = rows.create(conn, "tag", {"paths": ["/a"], "model": "m"}, 3.0)
    rows.save(conn, rows.JobRow(id=running, kind="tag", params={}, state="running"))
    assert [r.id for r in rows.recent(conn, 10)] == [running, done]
    back = rows.get(conn, done)
    assert back is not None and back.params == {"paths": ["/a"]}
    assert (back.summary, back.errors[0]["path"], back.finished) == ({"added": 5}, "x.png", 2.0)
    waiting = rows.interrupt_left_running(conn, "cut short")
    assert [(r.id, r.state, r.params["model"]) for r in waiting] == [(running, "interrupted", "m")]
    rows.settle(conn, running, "resumed as job 9")
    assert rows.interrupt_left_running(conn, "cut short") == []
    assert rows.get(conn, running).message == "resumed as job 9"  # type: ignore[union-attr]


def test_old_finished_jobs_are_forgotten_but_ids_are_never_reused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "catalog.db")
    first = rows.create(conn, "scan", {}, 0.0)  # left queued: kept until resumed
    ids = [rows.create(conn, "scan", {}, 0.0) for _ in range(rows.KEEP_ROWS + 5)]
    for job_id in ids:
        conn.execute("UPDATE jobs SET state = 'done' WHERE id = ?", (job_id,))
    last = rows.create(conn, "scan", {}, 0.0)
    kept = [r.id for r in rows.recent(conn, 10_000)]
    assert first in kept and ids[0] not in kept and len(kept) <= rows.KEEP_ROWS + 2
    conn.execute("DELETE FROM jobs WHERE id = ?", (last,))
    assert rows.create(conn, "scan", {}, 0.0) == last + 1
